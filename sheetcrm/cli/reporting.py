"""The weekly report and mail: ``report``, ``templates export`` and ``email``."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import click

from sheetcrm.cli.app import (
    EXIT_FINDINGS,
    F,
    SheetCRMGroup,
    as_of_option,
    cli,
    load_book,
    now_or,
    plural,
    resolve_workbook,
    workbook_option,
)
from sheetcrm.cli.inbox import imap_url_option, run_inbox
from sheetcrm.errors import Problem, SheetCRMError, WorkbookOpenError

# --------------------------------------------------------------------------- report


def _week_option(f: F) -> F:
    return click.option(
        "--week", help="An ISO week such as 2026-W47 (default: the last complete week)."
    )(f)


def _templates_option(f: F) -> F:
    return click.option(
        "--templates",
        "templates",
        type=click.Path(file_okay=False, path_type=Path),
        help="Your own templates folder; a file not in it comes from the built-in ones.",
    )(f)


def _formats(value: str) -> tuple[str, ...]:
    return tuple(f.strip().lower() for f in value.split(",") if f.strip())


@cli.command()
@workbook_option
@_week_option
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First day instead.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last day (with --from).")
@click.option(
    "--format",
    "formats",
    default="html,docx,md",
    show_default=True,
    help="Comma-separated: html, docx, md, txt, json (the figures, for checking).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path, allow_dash=True),
    help="Folder for the files (default: reports/ beside the workbook); "
    "- prints --format json to the screen.",
)
@_templates_option
@as_of_option
@click.pass_context
def report(
    ctx: click.Context,
    workbook: Path | None,
    week: str | None,
    start: datetime | None,
    end: datetime | None,
    formats: str,
    out_dir: Path | None,
    templates: Path | None,
    as_of: datetime | None,
) -> None:
    """Write the weekly report as a web page, a Word document and Markdown.

    \b
    Example:
        sheetcrm report -w crm.xlsx
        sheetcrm report -w crm.xlsx --week 2026-W46 --format html --out ~/Desktop
        sheetcrm report -w crm.xlsx --format json --out -
    """
    from sheetcrm.report import documents, fits

    path = resolve_workbook(ctx, workbook)
    when = now_or(as_of)
    if week and (start or end):
        raise click.UsageError("give either --week or --from/--to, not both", ctx)
    if bool(start) != bool(end):
        raise click.UsageError("--from and --to go together", ctx)
    to_screen = out_dir is not None and str(out_dir) == "-"
    if to_screen and _formats(formats) != ("json",):
        raise click.UsageError("--out - prints only --format json; give a folder for the rest", ctx)
    # Started first: it imports the chart and Word libraries while the workbook is read,
    # and this process the libraries of the figures (after the fork: sheetcrm.background).
    # Only for the page and the Word document: the Markdown and text reports show no
    # charts unless the owner's own templates do, and then this process draws them.
    needs_worker = bool({"html", "docx"} & set(_formats(formats)))
    worker = documents.start_worker() if needs_worker else None
    try:
        book = load_book(path, when, meanwhile=fits.libraries(path, when.date()))
        from sheetcrm.report import render as reports
        from sheetcrm.report.templates import owner_templates

        if start and end:
            period = reports.custom_period(start.date(), end.date())
        else:
            period = reports.week_period(book, when, week)
        if to_screen:
            context = reports.build_context(book, period, when, with_charts=False, shorten=False)
            click.echo(reports.figures_json(context), nl=False)
            return
        folder = owner_templates(path, templates, book)
        written = reports.write_reports(
            book,
            period,
            when,
            _formats(formats),
            out_dir=out_dir or path.parent / "reports",
            templates_dir=folder,
            worker=worker,
        )
    finally:
        if worker is not None:
            worker.close()
    click.echo(
        f"Weekly report for {period.label} ({period.start:%Y-%m-%d} to {period.end:%Y-%m-%d}):"
    )
    for file in written:
        click.echo(f"  {file}")


@cli.group(cls=SheetCRMGroup)
def templates() -> None:
    """The report templates, for owners who want to change how reports look.

    \b
    Example:
        sheetcrm templates export my-templates
    """


@templates.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def templates_export(folder: Path) -> None:
    """Copy the built-in templates into FOLDER to edit; use them with --templates FOLDER.

    \b
    Example:
        sheetcrm templates export my-templates
        sheetcrm report -w crm.xlsx --templates my-templates
    """
    from sheetcrm.report.render import export_templates

    written = export_templates(folder)
    click.echo(f"Copied {len(written)} templates into {folder}. Edit them, then run:")
    click.echo(f"  sheetcrm report -w crm.xlsx --templates {folder}")


# ---------------------------------------------------------------------------- email


@cli.command()
@workbook_option
@_week_option
@click.option(
    "--to",
    "to",
    multiple=True,
    help="Send the summary here (repeatable); default Settings report_recipients.",
)
@click.option(
    "--per-owner",
    is_flag=True,
    help="Also send each active staff member with an email their own digest.",
)
@click.option(
    "--attach",
    default="docx",
    show_default=True,
    help="Reports to attach: docx, html, both (docx,html) or none.",
)
@click.option(
    "--dry-run",
    "dry_run",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each message as an .eml file in this folder; send nothing.",
)
@click.option(
    "--smtp-url",
    envvar="SHEETCRM_SMTP_URL",
    help="e.g. smtp+starttls://user@smtp.example.com:587 (else SHEETCRM_SMTP_*).",
)
@click.option(
    "--resend",
    "resend",
    multiple=True,
    metavar="KEY",
    help="Send this message again although it was (or may have been) sent; repeatable.",
)
@click.option(
    "--with-inbox",
    "with_inbox",
    is_flag=True,
    help="First log the CRM mailbox's new mail (sheetcrm inbox), so one job does both.",
)
@imap_url_option
@_templates_option
@as_of_option
@click.pass_context
def email(
    ctx: click.Context,
    workbook: Path | None,
    week: str | None,
    to: tuple[str, ...],
    per_owner: bool,
    attach: str,
    dry_run: Path | None,
    smtp_url: str | None,
    resend: tuple[str, ...],
    with_inbox: bool,
    imap_url: str | None,
    templates: Path | None,
    as_of: datetime | None,
) -> None:
    """Email the weekly summary, staff digests and waiting department notices.

    The summary goes in the body (text and HTML, charts included) with the Word
    report attached. Nothing is ever sent twice: a re-run after a failure sends
    only what did not go. A message whose server reply was lost "may have been
    sent" and goes again only with --resend KEY. Exit 1 when something needs
    you (such a message, or a staff address that had to be skipped).

    \b
    Example:
        sheetcrm email -w crm.xlsx --per-owner
        sheetcrm email -w crm.xlsx --to owner@example.com --dry-run outbox
        sheetcrm email -w crm.xlsx --per-owner --resend digest:2026-W47:kari@example.com
    """
    from sheetcrm.delivery import mail, outbox, survey
    from sheetcrm.report import render as reports
    from sheetcrm.report.templates import owner_templates

    path = resolve_workbook(ctx, workbook)
    when = now_or(as_of)
    kinds = [k for k in _formats(attach) if k != "none"]
    unknown = [k for k in kinds if k not in outbox.ATTACHMENTS]
    if unknown:
        raise click.BadParameter(
            f"cannot attach {', '.join(unknown)}; choose docx or html", param_hint="--attach"
        )
    config = None if dry_run else outbox.smtp_config(smtp_url)
    sender = (
        config.sender if config else (os.environ.get("SHEETCRM_SMTP_FROM") or outbox.DRY_RUN_SENDER)
    )
    inbox_waits = None
    if with_inbox:
        try:
            run_inbox(path, imap_url, when)
        except WorkbookOpenError as e:  # the mail still goes; the mailbox waits for the next run
            inbox_waits = e
            click.echo(f"Warning: the mailbox was not read: {e.problem.message}", err=True)
    from sheetcrm.report import fits

    # The figures' libraries imported beside the read, as for `report`.
    book = load_book(path, when, meanwhile=fits.libraries(path, when.date()))
    period = reports.week_period(book, when, week)
    folder = owner_templates(path, templates, book)
    recipients = list(to) or list(book.settings.report_recipients)
    if not recipients and dry_run is not None:
        # A preview needs nobody to send to: a new workbook has no recipients yet.
        recipients = [sender]
        click.echo(
            f"Note: no report_recipients on the Settings sheet yet, so the preview is "
            f"addressed to {sender}. Set report_recipients (or give --to) to send it.",
            err=True,
        )
    if not recipients and not per_owner:
        raise click.UsageError(
            "nobody to send the summary to: give --to ADDRESS or set "
            "report_recipients on the Settings sheet",
            ctx,
        )
    run = outbox.email_messages(
        path,
        book,
        period,
        when,
        sender,
        recipients,
        per_owner=per_owner,
        attach=kinds,
        templates_dir=folder,
    )
    messages, notices, skipped = run.messages, run.notices, run.skipped
    for line in run.waiting:
        click.echo(line)
    if dry_run is not None:
        everything = [*messages, *(o for n in notices for o in n.outgoing)]
        files = mail.write_eml(everything, dry_run)
        click.echo(f"Wrote {plural(len(files), 'message')} to {dry_run}; nothing was sent.")
        for file in files:
            click.echo(f"  {file}")
        _report_skipped(ctx, skipped)
        return
    assert config is not None
    done = outbox.deliver(path, messages, notices, config, when=when, resend=resend)
    result = done.result
    click.echo(
        f"Sent {len(result.sent)} messages through {config.describe()}"
        + (f"; {len(result.skipped)} had already been sent" if result.skipped else "")
        + "."
    )
    for key in result.sent:
        click.echo(f"  sent {key}")
    logged = survey.record_sent(path, when)
    if logged:
        click.echo(f"Logged the surveys sent as {', '.join(logged)} in {path.name}.")
    if done.notices_sent:
        click.echo(f"Marked notices {', '.join(done.notices_sent)} as sent in {path.name}.")
    for key in result.uncertain:
        click.echo(
            f"Warning: {key} may have been sent: the server's answer was lost after the "
            "message went, so it is not sent again on its own. Ask the recipient; if it did "
            f"not arrive, run the same command with --resend {key}",
            err=True,
        )
    if result.failed:
        for key, reason in result.failed.items():
            click.echo(f"  NOT sent {key}: {reason}", err=True)
        raise SheetCRMError(
            Problem(
                "smtp_failed",
                f"{len(result.failed)} message(s) were refused by the mail server",
                hint="correct the addresses, then run the same command again: only what was not "
                "sent goes out",
            )
        )
    if inbox_waits is not None:
        ctx.exit(inbox_waits.exit_code)
    _report_skipped(ctx, skipped, findings=bool(result.uncertain))


def _report_skipped(ctx: click.Context, skipped: list[Problem], findings: bool = False) -> None:
    """Name each staff row skipped for its address; exit 1 when anything needs the owner."""
    for problem in skipped:
        click.echo(f"Warning: {problem}", err=True)
    if skipped or findings:
        ctx.exit(EXIT_FINDINGS)
