"""Complaints and their service levels: ``complaint open/respond/resolve`` and ``overdue``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from sheetcrm.cli.app import (
    CHOICE,
    EXIT_FINDINGS,
    EXIT_OK,
    WHEN,
    SheetCRMGroup,
    as_of_option,
    backup_note,
    cli,
    load_book,
    now_or,
    owner_option,
    report_write,
    resolve_workbook,
    table_or_json,
    workbook_option,
)

# -------------------------------------------------------------------------- overdue


@cli.command()
@workbook_option
@as_of_option
@owner_option
@table_or_json
@click.option(
    "--mark",
    is_flag=True,
    help="Also write due_by and sla columns on the Complaints sheet, rows coloured.",
)
@click.pass_context
def overdue(
    ctx: click.Context,
    workbook: Path | None,
    as_of: datetime | None,
    owner: str | None,
    fmt: str,
    mark: bool,
) -> None:
    """Complaints that breached their service level or are about to.

    Breached first, grouped by owner, with how late or how long is left.
    Exit code 1 when anything is breached, so a scheduled job can alert.

    \b
    Example:
        sheetcrm overdue -w crm.xlsx --as-of "2026-11-20 15:00"
        sheetcrm overdue -w crm.xlsx --owner Kari --format json
        sheetcrm overdue -w crm.xlsx --mark
    """
    import json

    from sheetcrm.cli import views as console

    path = resolve_workbook(ctx, workbook)
    when = now_or(as_of)
    # The complaints, and the customers to name: not the interactions or the sales.
    book = load_book(path, when, sheets=["Complaints", "Customers"])
    from sheetcrm.rules import sla

    breaches = sla.overdue(book, when, owner=owner)
    if fmt == "json":
        click.echo(json.dumps([b.to_json() for b in breaches], ensure_ascii=False, indent=2))
    elif not breaches:
        click.echo(f"No complaint is breached or due soon at {when:%Y-%m-%d %H:%M}.")
    else:
        for line in console.overdue_lines(breaches, book):
            click.echo(line)
    if mark:
        from sheetcrm.actions.marks import mark_overdue

        done = mark_overdue(path, when)
        click.echo(
            f"Marked {done.rows} complaints in {path.name}: see the due_by and sla "
            "columns on the Complaints sheet.",
            err=True,
        )
        backup_note(done)
    ctx.exit(EXIT_FINDINGS if any(b.state == "breached" for b in breaches) else EXIT_OK)


# ------------------------------------------------------------------------ complaint


@cli.group(cls=SheetCRMGroup)
def complaint() -> None:
    """Open, answer and resolve complaints.

    \b
    Example:
        sheetcrm complaint open -w crm.xlsx --customer C-0012 --severity high \\
            --summary "Charged twice for the service"
        sheetcrm complaint resolve K-0041 -w crm.xlsx --resolution "Refunded" --notify Finance
    """


@complaint.command("open")
@workbook_option
@click.option("--customer", required=True, help="Customer id, email or name.")
@click.option("--severity", required=True, type=CHOICE["severity"])
@click.option("--summary", required=True)
@click.option("--owner", help="Who handles it (default the customer's owner).")
@click.option(
    "--channel",
    type=CHOICE["channel"],
    help="How it came in (default their preferred channel, else phone).",
)
@click.option("--category", help="e.g. billing, repair quality, delivery.")
@click.option("--notify", "notify", help="A department (Staff sheet) to tell.")
@click.option("--staff", envvar="SHEETCRM_STAFF", help="Who took it (default the owner).")
@click.option(
    "--resolved-now",
    "resolution",
    metavar="RESOLUTION",
    help="Resolved in this same contact (first-contact resolution): how.",
)
@click.option("--at", "--date", "when", type=WHEN, help="When it came in (default now).")
@click.pass_context
def complaint_open(
    ctx: click.Context,
    workbook: Path | None,
    customer: str,
    severity: str,
    summary: str,
    owner: str | None,
    channel: str | None,
    category: str | None,
    notify: str | None,
    staff: str | None,
    resolution: str | None,
    when: datetime | None,
) -> None:
    """Record a complaint and the contact in which it was received.

    Prints when the first response and the resolution are due.

    \b
    Example:
        sheetcrm complaint open -w crm.xlsx --customer "Jane Doe" --severity high \\
            --summary "Brakes squeal after service" --category "repair quality"
    """
    from sheetcrm.actions.records import open_complaint

    path = resolve_workbook(ctx, workbook)
    fields = {
        "customer": customer,
        "severity": severity,
        "summary": summary,
        "owner": owner,
        "channel": channel,
        "category": category,
        "notify_department": notify,
        "staff": staff,
    }
    done = open_complaint(path, fields, when=now_or(when), resolution=resolution)
    k = done.record
    click.echo(
        f"Opened {k['complaint_id']} ({k['severity']}) for {k['customer_id']} "
        f"{k['customer_name'] or ''}, owner {k['owner']}."
    )
    if resolution:
        click.echo("Resolved in the same contact: first-contact resolution.")
    else:
        due = k["due"]
        click.echo(f"  first response due {due['first_response']:%a %Y-%m-%d %H:%M}")
        click.echo(f"  resolution due     {due['resolution']:%a %Y-%m-%d %H:%M}")
    report_write(done, path, now_or(when))


@complaint.command("respond")
@click.argument("complaint_id")
@workbook_option
@click.option("--summary", help="What was said to the customer.")
@click.option(
    "--channel",
    type=CHOICE["channel"],
    help="How (default the complaint's channel); plain words work: call, mail, visit.",
)
@click.option(
    "--staff", envvar="SHEETCRM_STAFF", help="Who answered (default the complaint's owner)."
)
@click.option("--at", "--date", "when", type=WHEN, help="When (default now).")
@click.pass_context
def complaint_respond(
    ctx: click.Context,
    complaint_id: str,
    workbook: Path | None,
    summary: str | None,
    channel: str | None,
    staff: str | None,
    when: datetime | None,
) -> None:
    """Record the first response to a complaint, and what was said, as a contact.

    The response is logged in Interactions (linked to the complaint), so whoever
    talks to the customer next sees it in `customer show`.

    \b
    Example:
        sheetcrm complaint respond K-0041 -w crm.xlsx --at "2026-11-20 10:15" \\
            --channel call --summary "Apologised; refund on its way"
    """
    from sheetcrm.actions.records import update_complaint

    done = update_complaint(
        resolve_workbook(ctx, workbook),
        complaint_id,
        when=now_or(when),
        respond=True,
        contact={"summary": summary, "channel": channel, "staff": staff},
    )
    said = done.record["interaction"]
    click.echo(
        f"{done.ids[0]}: first response recorded at {done.record['first_response']:%Y-%m-%d %H:%M}"
        f" (logged {said['interaction_id']}, {said['channel']}, {said['staff']})."
    )
    report_write(done)


@complaint.command("resolve")
@click.argument("complaint_id")
@workbook_option
@click.option("--resolution", required=True, help="What was done.")
@click.option("--notify", "notify", help="A department (Staff sheet) to tell, e.g. Finance.")
@click.option("--summary", help="What was said to the customer; logs the contact in Interactions.")
@click.option("--channel", type=CHOICE["channel"], help="With --summary: how.")
@click.option("--staff", envvar="SHEETCRM_STAFF", help="With --summary: who.")
@click.option("--at", "--date", "when", type=WHEN, help="When (default now).")
@click.pass_context
def complaint_resolve(
    ctx: click.Context,
    complaint_id: str,
    workbook: Path | None,
    resolution: str,
    notify: str | None,
    summary: str | None,
    channel: str | None,
    staff: str | None,
    when: datetime | None,
) -> None:
    """Record how and when a complaint was resolved.

    \b
    Example:
        sheetcrm complaint resolve K-0041 -w crm.xlsx --resolution "Refunded the double charge" \\
            --notify Finance --summary "Called to say the refund is done" --channel call
    """
    from sheetcrm.actions.records import update_complaint

    path = resolve_workbook(ctx, workbook)
    at = now_or(when)
    if channel and not summary:
        raise click.UsageError("--channel goes with --summary (what was said, and how)", ctx)
    done = update_complaint(
        path,
        complaint_id,
        when=at,
        resolution=resolution,
        notify=notify,
        contact={"summary": summary, "channel": channel, "staff": staff},
    )
    click.echo(f"{done.ids[0]}: resolved at {done.record['resolved']:%Y-%m-%d %H:%M}.")
    if "interaction" in done.record:
        click.echo(f"Logged {done.record['interaction']['interaction_id']}.")
    report_write(done, path, at)
