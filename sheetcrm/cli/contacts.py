"""Customers and contacts: ``log``, ``customer add/show`` and ``followups``."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from sheetcrm.cli.app import (
    CHOICE,
    DAY,
    EXIT_CANNOT,
    WHEN,
    SheetCRMGroup,
    as_of_option,
    cli,
    cli_problem,
    load_book,
    now_or,
    owner_option,
    report_write,
    resolve_workbook,
    table_or_json,
    workbook_option,
)
from sheetcrm.errors import SheetCRMError

# The record sheets the follow-ups and a customer's story are computed from (not the
# Notices queue, nor anything else the owner keeps in the workbook).
STORY_SHEETS = ["Customers", "Interactions", "Complaints", "Sales"]

# ------------------------------------------------------------------------ followups


@cli.command()
@workbook_option
@as_of_option
@owner_option
@table_or_json
@click.option(
    "--all", "show_all", is_flag=True, help="Also list the customers not to contact now, and why."
)
@click.pass_context
def followups(
    ctx: click.Context,
    workbook: Path | None,
    as_of: datetime | None,
    owner: str | None,
    fmt: str,
    show_all: bool,
) -> None:
    """Whom to contact today and how, respecting cool-down and do-not-contact.

    \b
    Example:
        sheetcrm followups -w crm.xlsx --as-of 2026-11-20
        sheetcrm followups -w crm.xlsx --owner Kari --all
    """
    import json

    from sheetcrm.cli import views as console

    path = resolve_workbook(ctx, workbook)
    when = now_or(as_of)
    book = load_book(path, when, sheets=STORY_SHEETS, meanwhile=["pandas"])
    from sheetcrm.report import fits
    from sheetcrm.rules import followups as rules

    # The fit kept beside the workbook, if any; the list shows no expected orders.
    worth = fits.estimate(book, when.date(), orders=False)
    found = rules.due(book, when, owner=owner, include_suppressed=show_all, worth=worth)
    if fmt == "json":
        click.echo(json.dumps([s.to_json() for s in found], ensure_ascii=False, indent=2))
    elif not found:
        click.echo(f"Nobody needs a follow-up on {when:%Y-%m-%d}.")
    else:
        for line in console.followup_lines(found):
            click.echo(line)


# ------------------------------------------------------------------------- customer


@cli.group(cls=SheetCRMGroup)
def customer() -> None:
    """Look up or add customers.

    \b
    Example:
        sheetcrm customer show "Jane Doe" -w crm.xlsx
    """


_NO_CUSTOMERS_YET = (
    "No customers recorded yet: the Customers sheet is empty. "
    "Add one with: sheetcrm customer add --name ..."
)


@customer.command("show")
@click.argument("who")
@workbook_option
@as_of_option
@click.option(
    "--format", "fmt", type=click.Choice(["text", "md", "json"]), default="text", show_default=True
)
@click.pass_context
def customer_show(
    ctx: click.Context, who: str, workbook: Path | None, as_of: datetime | None, fmt: str
) -> None:
    """One customer's whole story: details, open complaints, timeline, figures.

    WHO is a customer id, an email, or (part of) a name.

    \b
    Example:
        sheetcrm customer show C-0012 -w crm.xlsx
        sheetcrm customer show "jane@example.com" -w crm.xlsx --format json
    """
    import json

    from sheetcrm.cli import views as console
    from sheetcrm.workbook import find

    path = resolve_workbook(ctx, workbook)
    when = now_or(as_of)
    from sheetcrm.report import fits

    meanwhile = fits.libraries(path, when.date())
    book = load_book(path, when, sheets=STORY_SHEETS, meanwhile=meanwhile)
    from sheetcrm.rules import history

    if book.customers["customer_id"].isna().all():
        # A new workbook: nobody to look up yet is an empty state, not a mistake in WHO.
        click.echo("null" if fmt == "json" else _NO_CUSTOMERS_YET)
        return
    found = find.find_customers(book, who)
    if found.one is None:
        if found.matches:
            click.echo(f"{len(found.matches)} customers match {who!r}; name one of them:")
            for record in found.matches:
                click.echo(f"  {find.describe(record)}")
            ctx.exit(EXIT_CANNOT)
        raise find.no_match(who, found)
    worth = fits.estimate(book, when.date())  # the fit kept beside the workbook, if any
    data = history.story(book, found.one["customer_id"], when, worth=worth)
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_json_value))
    else:
        escape: Callable[[Any], str] = str
        if fmt == "md":  # the report's templates (jinja2, babel) only for Markdown
            from sheetcrm.report.templates import md_escape

            escape = md_escape
        for line in console.story_markdown(data, escape):
            click.echo(line)
        # The whole e-mails `sheetcrm inbox` logged, kept beside the workbook (issue 16).
        from sheetcrm.delivery.inboxlog import kept_emails

        kept = kept_emails(path, [str(t.get("id")) for t in data.get("timeline", [])])
        if kept:
            click.echo("")
            click.echo("E-mails kept (open with your mail program):")
            for iid, file in kept:
                click.echo(f"  {iid}: {file}")


# ------------------------------------------------------------------------------ log


@cli.command("log")
@workbook_option
@click.option("--customer", help="Customer id, email or name.")
@click.option("--channel", type=CHOICE["channel"])
@click.option("--type", "type_", type=CHOICE["type"])
@click.option("--summary", help="What was said or done.")
@click.option(
    "--staff",
    envvar="SHEETCRM_STAFF",
    help="Who (default SHEETCRM_STAFF, else the customer's owner).",
)
@click.option("--direction", type=CHOICE["direction"])
@click.option("--outcome", type=CHOICE["outcome"])
@click.option("--satisfaction", type=click.IntRange(1, 5))
@click.option("--follow-up-on", "follow_up_on", type=DAY, help="When to contact them next.")
@click.option("--complaint", "complaint_id", help="The complaint this contact is about.")
@click.option("--at", "--date", "when", type=WHEN, help="When it happened (default now).")
@click.option(
    "--amount",
    type=click.FloatRange(min=0),
    help="With --type sale: what they paid; the order goes on the Sales sheet too.",
)
@click.option("--item", "--product", "product", help="With --amount: what was sold.")
@click.pass_context
def log_cmd(
    ctx: click.Context,
    workbook: Path | None,
    customer: str | None,
    channel: str | None,
    type_: str | None,
    summary: str | None,
    staff: str | None,
    direction: str | None,
    outcome: str | None,
    satisfaction: int | None,
    follow_up_on: datetime | None,
    complaint_id: str | None,
    when: datetime | None,
    amount: float | None,
    product: str | None,
) -> None:
    """Record a call, email, visit or any other contact with a customer.

    With no --summary on a terminal, asks for whatever is missing. Plain words
    work for the channel: call, visit, in person, mail, text.

    \b
    Example:
        sheetcrm log -w crm.xlsx --customer C-0012 --channel call --type support \\
            --summary "Gears slip; booked a service for Tuesday" --follow-up-on 2026-11-27
        sheetcrm log -w crm.xlsx --customer yuki --channel visit --type sale --amount 1290 \\
            --item "Service" --at "2026-11-20 14:30"
    """
    from sheetcrm.actions.records import log_interaction, money

    path = resolve_workbook(ctx, workbook)
    if amount is None and product:
        raise click.UsageError("--item goes with --amount (what was sold, for how much)", ctx)
    if amount is not None and type_ not in (None, "sale"):
        raise click.UsageError(f"--amount records a sale; this contact is a {type_}", ctx)
    if amount is not None:
        type_ = "sale"
    if summary is None and amount is None and _stdin_is_terminal():
        customer = customer or click.prompt("Customer (id, email or name)")
        channel = channel or click.prompt("Channel", type=CHOICE["channel"])
        type_ = type_ or click.prompt("Type", type=CHOICE["type"])
        summary = click.prompt("Summary")
    needed = [("customer", customer), ("channel", channel), ("type", type_)]
    if amount is None:  # a sale's summary names the order unless one is given
        needed.append(("summary", summary))
    missing = [f"--{n}" for n, v in needed if not v]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)}", ctx)
    fields = {
        "customer": customer,
        "channel": channel,
        "type": type_,
        "summary": summary,
        "staff": staff,
        "direction": direction,
        "outcome": outcome,
        "satisfaction": satisfaction,
        "complaint_id": complaint_id,
        "follow_up_on": follow_up_on.date() if follow_up_on else None,
    }
    sale = None if amount is None else {"amount": amount, "product": product}
    done = log_interaction(path, fields, when=now_or(when), sale=sale)
    rec = done.record
    click.echo(
        f"Logged {rec['interaction_id']}: {rec['type']} by {rec['channel']} with "
        f"{rec['customer_id']} {rec['customer_name'] or ''} ({rec['staff']})."
    )
    if "order" in rec:
        order = rec["order"]
        click.echo(
            f"Recorded sale {order['order_id']}: {money(order['amount'])} on the Sales sheet."
        )
    elif type_ == "sale":
        click.echo(
            click.style(
                "Warning: no --amount, so nothing went on the Sales sheet and revenue does "
                "not count this sale. Record it with: sheetcrm sale --customer "
                f"{rec['customer_id']} --amount AMOUNT",
                fg="yellow",
            ),
            err=True,
        )
    report_write(done)


@customer.command("add")
@workbook_option
@click.option("--name", required=True)
@click.option("--email")
@click.option("--phone")
@click.option("--company")
@click.option("--preferred-channel", "preferred_channel", type=CHOICE["channel"])
@click.option("--owner", help="The staff member who owns the relationship.")
@click.option("--stage", type=CHOICE["stage"], default="prospect", show_default=True)
@click.option("--segment")
@click.option(
    "--allow-duplicate-email",
    is_flag=True,
    help="Add them even if another customer has this email.",
)
@click.option(
    "--add-staff",
    is_flag=True,
    help="Put the owner on the Staff sheet too if they are not there yet.",
)
@as_of_option
@click.pass_context
def customer_add(
    ctx: click.Context,
    workbook: Path | None,
    name: str,
    email: str | None,
    phone: str | None,
    company: str | None,
    preferred_channel: str | None,
    owner: str | None,
    stage: str,
    segment: str | None,
    allow_duplicate_email: bool,
    add_staff: bool,
    as_of: datetime | None,
) -> None:
    """Add a customer (refuses an email another customer already has).

    An owner not yet on the Staff sheet is offered to be added (asked on a
    terminal; in a script add --add-staff).

    \b
    Example:
        sheetcrm customer add -w crm.xlsx --name "Jane Doe" --email jane@example.com \\
            --owner Kari --stage customer
    """
    from sheetcrm.actions.records import add_customer

    path = resolve_workbook(ctx, workbook)
    owner = (owner or os.environ.get("SHEETCRM_STAFF") or "").strip()
    if not owner:
        raise click.UsageError("who owns this customer? give --owner NAME", ctx)
    fields = {
        "name": name,
        "email": email,
        "phone": phone,
        "company": company,
        "preferred_channel": preferred_channel,
        "owner": owner,
        "stage": stage,
        "segment": segment,
    }
    today = now_or(as_of).date()
    try:
        done = add_customer(
            path,
            fields,
            allow_duplicate_email=allow_duplicate_email,
            today=today,
            add_staff=add_staff,
        )
    except SheetCRMError as e:
        if e.problem.code != "unknown_staff" or not _stdin_is_terminal():
            raise
        click.echo(f"{owner} is not on the Staff sheet yet ({cli_problem(e.problem).hint}).")
        # A likely typo (a close name exists) must not become a new colleague on Enter.
        typo = e.problem.remedy == "add_staff_or_typo"
        if not click.confirm(f"Add {owner} to the Staff sheet now?", default=not typo):
            raise
        done = add_customer(
            path, fields, allow_duplicate_email=allow_duplicate_email, today=today, add_staff=True
        )
    click.echo(
        f"Added {done.record['customer_id']} {done.record['name']} "
        f"(owner {done.record['owner']}, {done.record['stage']})."
    )
    report_write(done)


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _parse_sets(ctx: click.Context, sets: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(
                f"--set {item!r} needs COLUMN=VALUE, e.g. --set stage=advocate", ctx
            )
        out[key.strip()] = value.strip()
    return out


def _shown(value: object) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "strftime"):
        return f"{value:%Y-%m-%d}"
    text = str(value)
    return text if len(text) <= 60 else "…" + text[-59:].replace("\n", " ")


@customer.command("edit")
@click.argument("who")
@workbook_option
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="COLUMN=VALUE",
    help="A new value (repeatable); an empty value clears the cell.",
)
@click.option("--note", help="Added to the customer's notes, dated today.")
@click.option(
    "--allow-duplicate-email",
    is_flag=True,
    help="Keep the new email even if another customer has it.",
)
@as_of_option
@click.pass_context
def customer_edit(
    ctx: click.Context,
    who: str,
    workbook: Path | None,
    sets: tuple[str, ...],
    note: str | None,
    allow_duplicate_email: bool,
    as_of: datetime | None,
) -> None:
    """Change a customer's details, checked as `customer add` checks them.

    WHO is a customer id, an email, or (part of) a name. Prints each change
    as old -> new; only the cells that change are written.

    \b
    Example:
        sheetcrm customer edit C-0012 -w crm.xlsx --set do_not_contact=yes \\
            --set stage=advocate --note "Asked for no more calls"
        sheetcrm customer edit "jane@example.com" -w crm.xlsx --set owner=Per
    """
    from sheetcrm.actions.records import edit_customer

    if not sets and not note:
        raise click.UsageError("nothing to change: give --set COLUMN=VALUE or --note TEXT", ctx)
    path = resolve_workbook(ctx, workbook)
    done = edit_customer(
        path,
        who,
        _parse_sets(ctx, sets),
        note=note,
        today=now_or(as_of).date(),
        allow_duplicate_email=allow_duplicate_email,
    )
    rec = done.record
    if rec["changes"]:
        click.echo(f"Changed {rec['customer_id']} {rec['customer_name'] or ''}:")
        for column, old, new in rec["changes"]:
            click.echo(f"  {column}: {_shown(old)} -> {_shown(new)}")
    report_write(done)


def _json_value(value: object) -> object:
    """numpy's scalars as plain JSON (a yes/no cell is true, not the text "True")."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    return str(value)
