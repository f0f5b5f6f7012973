"""``sheetcrm inbox``: log the CRM mailbox's mail, and deal with senders to review."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from sheetcrm.cli.app import (
    EXIT_FINDINGS,
    SheetCRMGroup,
    as_of_option,
    cli,
    now_or,
    plural,
    resolve_workbook,
    workbook_option,
)


def imap_url_option(f):  # type: ignore[no-untyped-def]
    return click.option(
        "--imap-url",
        envvar="SHEETCRM_IMAP_URL",
        help="e.g. imaps://crm%40example.com@imap.example.com/INBOX (else SHEETCRM_IMAP_*).",
    )(f)


def run_inbox(path: Path, imap_url: str | None, when: datetime) -> bool:
    """Read the mailbox and say what happened (also used by ``email --with-inbox``).

    True when something needs the owner (a survey answer whose token was forged).
    """
    from sheetcrm.delivery import inbox as lib

    config = lib.imap_config(imap_url)
    result = lib.run(path, config, when=when)
    click.echo(
        f"Read {config.describe()}: logged {plural(len(result.logged), 'message')}, "
        f"{len(result.review)} to review, {len(result.skipped)} skipped"
        + (f", {result.already} logged before" if result.already else "")
        + "."
    )
    for ids, m in result.logged:
        click.echo(f"  {ids}: {m.sender} {m.subject!r}")
    for line in result.survey_answers:
        click.echo(f"  survey {line}")
    for m in result.review:
        click.echo(
            f"  to review: {m.sender} {m.subject!r} (sheet 'To review'; "
            f"sheetcrm inbox add {m.sender} --name ... or sheetcrm inbox ignore {m.sender})"
        )
    for m, why in result.skipped:
        click.echo(f"  skipped: {m.sender} {m.subject!r}: {why}")
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    return bool(result.warnings)


@cli.group(cls=SheetCRMGroup, invoke_without_command=True)
@workbook_option
@imap_url_option
@as_of_option
@click.pass_context
def inbox(
    ctx: click.Context, workbook: Path | None, imap_url: str | None, as_of: datetime | None
) -> None:
    """Log every e-mail with a customer from the CRM mailbox as an interaction.

    Staff BCC the CRM mailbox (or a rule copies mail there). Each message from
    or to a customer becomes an Interactions row; the whole message is kept in
    mail/ beside the workbook. Handled messages move to the folder
    sheetcrm/logged; unknown senders go to the "To review" sheet. A re-run never
    logs a message twice. Survey answers are recognised and counted once.
    Exit 1 when something needs you (a survey answer with a forged token).

    \b
    Example:
        sheetcrm inbox -w crm.xlsx
        sheetcrm inbox add ola@example.com --name "Ola Nordmann" -w crm.xlsx
        sheetcrm inbox ignore newsletter@example.com -w crm.xlsx
    """
    if ctx.invoked_subcommand is not None:
        return
    if run_inbox(resolve_workbook(ctx, workbook), imap_url, now_or(as_of)):
        ctx.exit(EXIT_FINDINGS)  # logged, but something needs the owner's eye


@inbox.command("add")
@click.argument("address")
@click.option("--name", help="The customer's name (default: the name on their e-mail).")
@click.option("--owner", help="Who looks after them (default: the first staff member).")
@workbook_option
@as_of_option
@click.pass_context
def inbox_add(
    ctx: click.Context,
    address: str,
    name: str | None,
    owner: str | None,
    workbook: Path | None,
    as_of: datetime | None,
) -> None:
    """Add a sender from the "To review" sheet as a customer, and log their kept e-mail.

    \b
    Example:
        sheetcrm inbox add ola@example.com --name "Ola Nordmann" -w crm.xlsx
    """
    from sheetcrm.actions.records import add_customer
    from sheetcrm.delivery import inbox as lib
    from sheetcrm.workbook.validation import load

    path = resolve_workbook(ctx, workbook)
    when = now_or(as_of)
    address = address.strip().lower()
    log = lib.InboxLog(lib.log_path(path))
    seen_name = next(
        (
            lib.parse_message((path.parent / e["file"]).read_bytes()).sender_name
            for e in log.messages.values()
            if e.get("from") == address and (path.parent / e.get("file", "")).is_file()
        ),
        "",
    )
    book, _ = load(path, sheets=["Staff"])
    default_owner = next(iter(book.staff["name"].dropna()), None)
    done = add_customer(
        path,
        {
            "name": name or seen_name or address,
            "email": address,
            "owner": owner or default_owner,
            "stage": "prospect",
        },
        today=when.date(),
    )
    click.echo(f"Added {done.ids[0]} {name or seen_name or address} ({address}).")
    result = lib.relog(path, address, when=when)
    for ids, m in result.logged:
        click.echo(f"  logged {ids}: {m.subject!r}")
    lib.mark_review(path, address, f"added as {done.ids[0]}")


@inbox.command("ignore")
@click.argument("address")
@workbook_option
@click.pass_context
def inbox_ignore(ctx: click.Context, address: str, workbook: Path | None) -> None:
    """Never log or review mail from ADDRESS again (a newsletter, a supplier).

    \b
    Example:
        sheetcrm inbox ignore newsletter@example.com -w crm.xlsx
    """
    from sheetcrm.delivery import inbox as lib

    marked = lib.ignore(resolve_workbook(ctx, workbook), address)
    click.echo(
        f"Mail from {address.strip().lower()} will be skipped from now on"
        + (f"; marked {plural(marked, 'row')} on 'To review' as ignored." if marked else ".")
    )
