"""The ``sheetcrm`` command: Click only. Parse, call the library, print, choose the exit code.

Exit codes (documented in the README): 0 done, 1 findings need attention
(errors in the workbook, breached complaints), 2 could not do it (usage, bad
file, refused write), 3 the workbook is open in Excel (try again later).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from sheetcrm import __version__
from sheetcrm.contract import VOCABULARIES
from sheetcrm.errors import Problem, Report, SheetCRMError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FINDINGS, EXIT_CANNOT, EXIT_OPEN = 0, 1, 2, 3


class SheetCRMGroup(click.Group):
    """Turns the library's one exception into one clear message on stderr and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SheetCRMError as e:
            if _debug(ctx):
                raise
            _print_error(e)
            ctx.exit(e.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing was written.", err=True)
            ctx.exit(130)
        except Exception as e:  # promise: no tracebacks for users
            if _debug(ctx):
                raise
            click.echo(
                f"Error: sheetcrm hit an unexpected problem ({type(e).__name__}: {e}). "
                "Nothing was written.\n  hint: run the command again with --debug and "
                "send the output to whoever looks after sheetcrm",
                err=True,
            )
            ctx.exit(EXIT_CANNOT)


def _debug(ctx: click.Context) -> bool:
    return bool(ctx.find_root().params.get("debug")) or bool(os.environ.get("SHEETCRM_DEBUG"))


def _print_error(e: SheetCRMError) -> None:
    problems = e.problems
    click.echo(f"Error: {problems[0]}", err=True)
    for p in problems[1:]:
        click.echo(f"  {p}", err=True)


@click.group(cls=SheetCRMGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-w",
    "--workbook",
    "workbook",
    envvar="SHEETCRM_WORKBOOK",
    type=click.Path(dir_okay=True, path_type=Path),
    help="The CRM workbook (.xlsx). Also SHEETCRM_WORKBOOK.",
)
@click.option("--debug", is_flag=True, hidden=True, help="Show tracebacks.")
@click.version_option(__version__, "--version", prog_name="sheetcrm")
@click.pass_context
def cli(ctx: click.Context, workbook: Path | None, debug: bool) -> None:
    """sheetcrm: a CRM whose record store is one Excel workbook.

    \b
    Example:
        sheetcrm init crm.xlsx --sample
        sheetcrm -w crm.xlsx validate
    """
    ctx.ensure_object(dict)
    ctx.obj["workbook"] = workbook


def workbook_option(f: F) -> F:
    """``-w/--workbook`` on a command too: ``sheetcrm validate -w crm.xlsx`` works."""
    return click.option(
        "-w",
        "--workbook",
        "workbook",
        type=click.Path(dir_okay=True, path_type=Path),
        default=None,
        help="The CRM workbook (.xlsx). Also SHEETCRM_WORKBOOK.",
    )(f)


def resolve_workbook(ctx: click.Context, workbook: Path | None) -> Path:
    path = workbook or (ctx.obj or {}).get("workbook")
    if path is None:
        raise click.UsageError(
            "which workbook? Give -w crm.xlsx (or set SHEETCRM_WORKBOOK=crm.xlsx)", ctx
        )
    return Path(path)


def as_of_option(f: F) -> F:
    return click.option(
        "--as-of",
        "as_of",
        type=click.DateTime(["%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"]),
        default=None,
        help="Pretend it is this local date-time (default: now).",
    )(f)


def now_or(as_of: datetime | None) -> datetime:
    """The one place sheetcrm reads the clock."""
    return as_of if as_of is not None else datetime.now().replace(microsecond=0)


# ---------------------------------------------------------------------------- init


@cli.command()
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option("--sample", is_flag=True, help="Fill it with a realistic bicycle shop.")
@click.option(
    "--into",
    "into",
    type=click.Path(path_type=Path),
    default=None,
    help="Add the missing CRM sheets to a workbook you already have.",
)
def init(path: Path | None, sample: bool, into: Path | None) -> None:
    """Create a new CRM workbook with every sheet, drop-down and table.

    \b
    Example:
        sheetcrm init crm.xlsx --sample
        sheetcrm init --into "Our customers.xlsx"
    """
    from sheetcrm import newbook
    from sheetcrm import sample as sample_data

    if into is not None:
        from sheetcrm.records import adopt

        done = adopt(into)
        for note in done.notes:
            click.echo(f"{into.name}: {note}")
        if not done.notes:
            click.echo(f"{into.name} already has every CRM sheet; nothing was changed.")
        _backup_note(done)
        return
    if path is None:
        raise click.UsageError("give the path of the new workbook, e.g. sheetcrm init crm.xlsx")
    if path.suffix.lower() != ".xlsx":
        raise click.BadParameter("the workbook name must end in .xlsx", param_hint="PATH")
    if sample:
        sample_data.write_sample_workbook(path)
    else:
        newbook.create_workbook(path)
    what = "with a sample bicycle shop" if sample else "with empty sheets"
    click.echo(f"Created {path} {what}. Open it in Excel, or check it with:")
    click.echo(f"  sheetcrm validate -w {path}")


# ------------------------------------------------------------------------- validate


@cli.command()
@workbook_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="How to print the problems.",
)
@as_of_option
@click.option(
    "--mark",
    is_flag=True,
    help="Also list the problems on a 'CRM problems' sheet and colour the cells.",
)
@click.pass_context
def validate(
    ctx: click.Context, workbook: Path | None, fmt: str, as_of: datetime | None, mark: bool
) -> None:
    """Check the workbook and explain every problem by sheet and cell.

    Exit code 0 when there are no errors (warnings allowed), 1 when there are.

    \b
    Example:
        sheetcrm validate -w crm.xlsx
        sheetcrm validate -w crm.xlsx --format json > problems.json
        sheetcrm validate -w crm.xlsx --mark
    """
    from sheetcrm.validation import load

    path = resolve_workbook(ctx, workbook)
    when = now_or(as_of)
    done = None
    if mark:  # validates under the write lock, so the marks match what is printed
        from sheetcrm.marks import mark_problems

        book, report, done = mark_problems(path, when)
    else:
        book, report = load(str(path), as_of=when)
    if fmt == "json":
        click.echo(report.dumps())
    else:
        _print_report(report, path, book.record_count(), len(book.sheet_names))
    if done is not None:
        from sheetcrm.marks import PROBLEMS_SHEET

        click.echo(
            f"Marked {_count(done.rows, 'problem')} in {path.name}: see "
            f"the '{PROBLEMS_SHEET}' sheet.",
            err=True,
        )
        _backup_note(done)
    ctx.exit(EXIT_FINDINGS if report.errors else EXIT_OK)


def _print_report(report: Report, path: Path, records: int, sheets: int) -> None:
    current: str | None = None
    for p in report:
        if p.sheet != current:
            current = p.sheet
            click.echo(click.style(current or "Workbook", bold=True))
        _print_problem(p)
    errors, warnings = len(report.errors), len(report.warnings)
    if errors:
        parts = [_count(errors, "error")]
        if warnings:
            parts.append(_count(warnings, "warning"))
        click.echo(click.style(f"✗ {path.name}: {', '.join(parts)}", fg="red", bold=True))
    elif warnings:
        click.echo(
            click.style(
                f"✓ {path.name}: {sheets} sheets, {records:,} records, no errors, "
                + _count(warnings, "warning"),
                fg="yellow",
                bold=True,
            )
        )
    else:
        click.echo(
            click.style(
                f"✓ {path.name}: {sheets} sheets, {records:,} records, no problems",
                fg="green",
                bold=True,
            )
        )


def _print_problem(p: Problem) -> None:
    colour = "red" if p.severity == "error" else "yellow"
    where = p.where or "(workbook)"
    click.echo(f"  {where}  {click.style(p.severity, fg=colour)}: {p.message}")
    if p.hint:
        click.echo(f"      {click.style('fix:', dim=True)} {p.hint}")


# -------------------------------------------------------------------------- helpers


def load_book(path: Path, as_of: datetime | None = None):  # type: ignore[no-untyped-def]
    """Read and validate; refuse to compute on a workbook whose errors would skew the answer."""
    from sheetcrm.validation import load

    book, report = load(str(path), as_of=as_of)
    fatal = [p for p in report.errors if p.code in ("missing_sheet", "missing_column")]
    if fatal:
        raise SheetCRMError(
            Problem(
                fatal[0].code,
                f"{path.name} cannot be used until this is fixed: {fatal[0]}",
                hint=f"run: sheetcrm validate -w {path}",
            ),
        )
    if report.errors:
        n = len(report.errors)
        click.echo(
            f"Note: {path.name} has {_count(n, 'error')}; rows with bad cells are counted "
            f"as far as they can be. See: sheetcrm validate -w {path}",
            err=True,
        )
    return book


def _owner_option(f: F) -> F:
    return click.option("--owner", default=None, help="Only this staff member's.")(f)


def _table_or_json(f: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help="Output format.",
    )(f)


# -------------------------------------------------------------------------- overdue


@cli.command()
@workbook_option
@as_of_option
@_owner_option
@_table_or_json
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

    from sheetcrm import console, sla

    path = resolve_workbook(ctx, workbook)
    when = now_or(as_of)
    book = load_book(path, when)
    breaches = sla.overdue(book, when, owner=owner)
    if fmt == "json":
        click.echo(json.dumps([b.to_json() for b in breaches], ensure_ascii=False, indent=2))
    elif not breaches:
        click.echo(f"No complaint is breached or due soon at {when:%Y-%m-%d %H:%M}.")
    else:
        for line in console.overdue_lines(breaches, book):
            click.echo(line)
    if mark:
        from sheetcrm.marks import mark_overdue

        done = mark_overdue(path, when)
        click.echo(
            f"Marked {done.rows} complaints in {path.name}: see the due_by and sla "
            "columns on the Complaints sheet.",
            err=True,
        )
        _backup_note(done)
    ctx.exit(EXIT_FINDINGS if any(b.state == "breached" for b in breaches) else EXIT_OK)


# ------------------------------------------------------------------------ followups


@cli.command()
@workbook_option
@as_of_option
@_owner_option
@_table_or_json
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

    from sheetcrm import console
    from sheetcrm import followups as rules

    path = resolve_workbook(ctx, workbook)
    when = now_or(as_of)
    book = load_book(path, when)
    found = rules.due(book, when, owner=owner, include_suppressed=show_all)
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

    from sheetcrm import console, history

    path = resolve_workbook(ctx, workbook)
    when = now_or(as_of)
    book = load_book(path, when)
    found = history.find_customers(book, who)
    if found.one is None:
        if found.matches:
            click.echo(f"{len(found.matches)} customers match {who!r}; name one of them:")
            for record in found.matches:
                click.echo(f"  {history.describe(record)}")
            ctx.exit(EXIT_CANNOT)
        hint = ""
        if found.suggestions:
            hint = (
                "did you mean " + " or ".join(history.describe(r) for r in found.suggestions) + "?"
            )
        raise SheetCRMError(
            Problem(
                "unknown_customer",
                f"no customer matches {who!r}",
                hint=hint or "check the Customers sheet",
            )
        )
    data = history.story(book, found.one["customer_id"], when)
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        from sheetcrm.templates import md_escape

        for line in console.story_markdown(data, md_escape if fmt == "md" else str):
            click.echo(line)


# ----------------------------------------------------------------------------- writes

_CHOICE = {
    name: click.Choice(list(values), case_sensitive=False) for name, values in VOCABULARIES.items()
}
_WHEN = click.DateTime(["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"])


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _backup_note(done: Any) -> None:
    if done.backup is not None:
        click.echo(click.style(f"  previous version kept as {done.backup}", dim=True), err=True)


def _report_write(done: Any, path: Path | None = None, when: datetime | None = None) -> None:
    for warning in done.warnings:
        click.echo(click.style(f"Warning: {warning}", fg="yellow"), err=True)
    for note in done.notes:
        click.echo(note)
    _backup_note(done)
    if done.notices and path is not None and when is not None:
        _send_notices_now(path, done.notices, when)


def _send_notices_now(path: Path, notice_ids: list[str], when: datetime) -> None:
    """A department hears at once when mail is set up; otherwise the notice waits, queued."""
    from sheetcrm import mail, outbox

    config = mail.SmtpConfig.from_env()
    if config is None:
        click.echo(
            f"Notice {', '.join(notice_ids)} is queued in the Notices sheet; "
            "`sheetcrm email` will send it."
        )
        return
    try:
        book = load_book(path, when)
        notices = outbox.notice_messages(book, config.sender, only=notice_ids)
        done = outbox.deliver(path, [], notices, config, when=when)
    except SheetCRMError as e:
        click.echo(
            click.style(
                f"Warning: the notice could not be sent now ({e.problem.message}); "
                "it stays queued and `sheetcrm email` will send it.",
                fg="yellow",
            ),
            err=True,
        )
        return
    for key in done.result.sent:
        click.echo(f"  sent {key}")
    for key, reason in done.result.failed.items():
        click.echo(click.style(f"Warning: {key} was not sent: {reason}", fg="yellow"), err=True)


@cli.command("log")
@workbook_option
@click.option("--customer", help="Customer id, email or name.")
@click.option("--channel", type=_CHOICE["channel"])
@click.option("--type", "type_", type=_CHOICE["type"])
@click.option("--summary", help="What was said or done.")
@click.option(
    "--staff",
    envvar="SHEETCRM_STAFF",
    help="Who (default SHEETCRM_STAFF, else the customer's owner).",
)
@click.option("--direction", type=_CHOICE["direction"])
@click.option("--outcome", type=_CHOICE["outcome"])
@click.option("--satisfaction", type=click.IntRange(1, 5))
@click.option("--follow-up-on", "follow_up_on", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--complaint", "complaint_id", help="The complaint this contact is about.")
@click.option("--date", "when", type=_WHEN, help="When it happened (default now).")
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
) -> None:
    """Record a call, email, visit or any other contact with a customer.

    With no --summary on a terminal, asks for whatever is missing.

    \b
    Example:
        sheetcrm log -w crm.xlsx --customer C-0012 --channel phone --type support \\
            --summary "Gears slip; booked a service for Tuesday" --follow-up-on 2026-11-27
    """
    from sheetcrm.records import log_interaction

    path = resolve_workbook(ctx, workbook)
    if summary is None and _stdin_is_terminal():
        customer = customer or click.prompt("Customer (id, email or name)")
        channel = channel or click.prompt("Channel", type=_CHOICE["channel"])
        type_ = type_ or click.prompt("Type", type=_CHOICE["type"])
        summary = click.prompt("Summary")
    missing = [
        f"--{n}"
        for n, v in (
            ("customer", customer),
            ("channel", channel),
            ("type", type_),
            ("summary", summary),
        )
        if not v
    ]
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
    done = log_interaction(path, fields, when=now_or(when))
    rec = done.record
    click.echo(
        f"Logged {rec['interaction_id']}: {rec['type']} by {rec['channel']} with "
        f"{rec['customer_id']} {rec['customer_name'] or ''} ({rec['staff']})."
    )
    _report_write(done)


@customer.command("add")
@workbook_option
@click.option("--name", required=True)
@click.option("--email")
@click.option("--phone")
@click.option("--company")
@click.option("--preferred-channel", "preferred_channel", type=_CHOICE["channel"])
@click.option("--owner", help="The staff member who owns the relationship.")
@click.option("--stage", type=_CHOICE["stage"], default="prospect", show_default=True)
@click.option("--segment")
@click.option(
    "--allow-duplicate-email",
    is_flag=True,
    help="Add them even if another customer has this email.",
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
    as_of: datetime | None,
) -> None:
    """Add a customer (refuses an email another customer already has).

    \b
    Example:
        sheetcrm customer add -w crm.xlsx --name "Jane Doe" --email jane@example.com \\
            --owner Kari --stage customer
    """
    from sheetcrm.records import add_customer

    path = resolve_workbook(ctx, workbook)
    owner = owner or os.environ.get("SHEETCRM_STAFF")
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
    done = add_customer(
        path, fields, allow_duplicate_email=allow_duplicate_email, today=now_or(as_of).date()
    )
    click.echo(
        f"Added {done.record['customer_id']} {done.record['name']} "
        f"(owner {done.record['owner']}, {done.record['stage']})."
    )
    _report_write(done)


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
@click.option("--severity", required=True, type=_CHOICE["severity"])
@click.option("--summary", required=True)
@click.option("--owner", help="Who handles it (default the customer's owner).")
@click.option("--channel", type=_CHOICE["channel"], help="How it came in.")
@click.option("--category", help="e.g. billing, repair quality, delivery.")
@click.option("--notify", "notify", help="A department (Staff sheet) to tell.")
@click.option("--staff", envvar="SHEETCRM_STAFF", help="Who took it (default the owner).")
@click.option(
    "--resolved-now",
    "resolution",
    metavar="RESOLUTION",
    help="Resolved in this same contact (first-contact resolution): how.",
)
@click.option("--at", "when", type=_WHEN, help="When it came in (default now).")
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
    from sheetcrm.records import open_complaint

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
    _report_write(done, path, now_or(when))


@complaint.command("respond")
@click.argument("complaint_id")
@workbook_option
@click.option("--at", "when", type=_WHEN, help="When (default now).")
@click.pass_context
def complaint_respond(
    ctx: click.Context, complaint_id: str, workbook: Path | None, when: datetime | None
) -> None:
    """Record the first response to a complaint.

    \b
    Example:
        sheetcrm complaint respond K-0041 -w crm.xlsx --at "2026-11-20 10:15"
    """
    from sheetcrm.records import update_complaint

    done = update_complaint(
        resolve_workbook(ctx, workbook), complaint_id, when=now_or(when), respond=True
    )
    click.echo(
        f"{done.ids[0]}: first response recorded at {done.record['first_response']:%Y-%m-%d %H:%M}."
    )
    _report_write(done)


@complaint.command("resolve")
@click.argument("complaint_id")
@workbook_option
@click.option("--resolution", required=True, help="What was done.")
@click.option("--notify", "notify", help="A department (Staff sheet) to tell, e.g. Finance.")
@click.option("--at", "when", type=_WHEN, help="When (default now).")
@click.pass_context
def complaint_resolve(
    ctx: click.Context,
    complaint_id: str,
    workbook: Path | None,
    resolution: str,
    notify: str | None,
    when: datetime | None,
) -> None:
    """Record how and when a complaint was resolved.

    \b
    Example:
        sheetcrm complaint resolve K-0041 -w crm.xlsx --resolution "Refunded the double charge" \\
            --notify Finance
    """
    from sheetcrm.records import update_complaint

    path = resolve_workbook(ctx, workbook)
    at = now_or(when)
    done = update_complaint(path, complaint_id, when=at, resolution=resolution, notify=notify)
    click.echo(f"{done.ids[0]}: resolved at {done.record['resolved']:%Y-%m-%d %H:%M}.")
    _report_write(done, path, at)


@cli.command("import")
@click.argument("sheet")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@workbook_option
@click.option("--dry-run", is_flag=True, help="Check every row; write nothing.")
@as_of_option
@click.pass_context
def import_cmd(
    ctx: click.Context,
    sheet: str,
    csv_file: Path,
    workbook: Path | None,
    dry_run: bool,
    as_of: datetime | None,
) -> None:
    """Append every row of a CSV file to a sheet, or none if any row is wrong.

    Headers match the contract loosely; rows without an id get new ones.

    \b
    Example:
        sheetcrm import Customers new-customers.csv -w crm.xlsx --dry-run
    """
    from sheetcrm.records import import_rows

    path = resolve_workbook(ctx, workbook)

    def progress(batches: Any) -> Any:
        if len(batches) < 3 or not sys.stderr.isatty():
            return batches
        return click.progressbar(batches, label="Writing", file=sys.stderr)

    done = import_rows(
        path,
        sheet,
        csv_file,
        dry_run=dry_run,
        as_of=now_or(as_of),
        progress=lambda b: _iterate(progress(b)),
    )
    if not dry_run and done.ids:
        click.echo(f"Imported {len(done.ids)} rows into {sheet} ({done.ids[0]} to {done.ids[-1]}).")
    _report_write(done)


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _iterate(batches: Any) -> Any:
    if hasattr(batches, "__enter__"):
        with batches as bar:
            yield from bar
    else:
        yield from batches


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


def _templates_folder(path: Path, given: Path | None, book: Any) -> Path | None:
    """--templates, else Settings templates_dir (relative to the workbook's folder)."""
    if given is not None:
        folder = given
    elif book.settings.templates_dir:
        folder = path.parent / book.settings.templates_dir
    else:
        return None
    if not folder.is_dir():
        raise SheetCRMError(
            Problem(
                "missing_file",
                f"the templates folder {folder} does not exist",
                hint="create it with: sheetcrm templates export FOLDER",
            )
        )
    return folder


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
    help="Comma-separated: html, docx, md, txt.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the files (default: reports/ beside the workbook).",
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
    """
    from sheetcrm import reports
    from sheetcrm.render_worker import RenderWorker

    path = resolve_workbook(ctx, workbook)
    when = now_or(as_of)
    if week and (start or end):
        raise click.UsageError("give either --week or --from/--to, not both", ctx)
    if bool(start) != bool(end):
        raise click.UsageError("--from and --to go together", ctx)
    # Started first: it imports the chart and Word libraries while the workbook is read.
    worker = RenderWorker() if _formats(formats) != ("md",) else None
    try:
        book = load_book(path, when)
        if start and end:
            period = reports.custom_period(start.date(), end.date())
        else:
            period = reports.week_period(book, when, week)
        folder = _templates_folder(path, templates, book)
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
    from sheetcrm.reports import export_templates

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
    templates: Path | None,
    as_of: datetime | None,
) -> None:
    """Email the weekly summary, staff digests and waiting department notices.

    The summary goes in the body (text and HTML, charts included) with the Word
    report attached. Nothing is ever sent twice: a re-run after a failure sends
    only what did not go.

    \b
    Example:
        sheetcrm email -w crm.xlsx --per-owner
        sheetcrm email -w crm.xlsx --to owner@example.com --dry-run outbox
    """
    from sheetcrm import mail, outbox, reports

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
    book = load_book(path, when)
    period = reports.week_period(book, when, week)
    folder = _templates_folder(path, templates, book)
    recipients = list(to) or list(book.settings.report_recipients)
    if not recipients and not per_owner:
        raise click.UsageError(
            "nobody to send the summary to: give --to ADDRESS or set "
            "report_recipients on the Settings sheet",
            ctx,
        )
    messages = (
        outbox.weekly_messages(
            book, period, when, recipients, sender, attach=kinds, templates_dir=folder
        )
        if recipients
        else []
    )
    if per_owner:
        messages += outbox.digest_messages(book, period, when, sender, templates_dir=folder)
    notices = outbox.notice_messages(book, sender)
    if dry_run is not None:
        everything = [*messages, *(o for n in notices for o in n.outgoing)]
        files = mail.write_eml(everything, dry_run)
        click.echo(f"Wrote {_count(len(files), 'message')} to {dry_run}; nothing was sent.")
        for file in files:
            click.echo(f"  {file}")
        return
    assert config is not None
    done = outbox.deliver(path, messages, notices, config, when=when)
    result = done.result
    click.echo(
        f"Sent {len(result.sent)} messages through {config.describe()}"
        + (f"; {len(result.skipped)} had already been sent" if result.skipped else "")
        + "."
    )
    for key in result.sent:
        click.echo(f"  sent {key}")
    if done.notices_sent:
        click.echo(f"Marked notices {', '.join(done.notices_sent)} as sent in {path.name}.")
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


# ------------------------------------------------------------------------- contract


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["md"]), default="md", show_default=True)
def contract(fmt: str) -> None:
    """Print the workbook contract: every sheet, column, type and rule.

    \b
    Example:
        sheetcrm contract > contract.md
    """
    from sheetcrm.contract import to_markdown

    click.echo(to_markdown(), nl=False)


def main() -> None:
    # Windows consoles default to a code page that cannot print ✓ or Ø.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            with contextlib.suppress(ValueError, OSError):
                stream.reconfigure(errors="replace")  # type: ignore[union-attr]
    cli(prog_name="sheetcrm")
