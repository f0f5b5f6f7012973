"""The workbook itself: ``init``, ``validate``, ``import`` and ``contract``."""

from __future__ import annotations

import dataclasses
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from sheetcrm.cli.app import (
    EXIT_FINDINGS,
    EXIT_OK,
    as_of_option,
    backup_note,
    cli,
    cli_problem,
    now_or,
    plural,
    report_write,
    resolve_workbook,
    workbook_option,
)
from sheetcrm.errors import Problem, Report, SheetCRMError

# ---------------------------------------------------------------------------- init


@cli.command()
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option("--sample", is_flag=True, help="Fill it with a realistic bicycle shop.")
@click.option(
    "--into",
    "into",
    type=click.Path(path_type=Path),
    default=None,
    help="Adopt a workbook you already have: your sheets, columns and rows are kept.",
)
@click.option(
    "--default",
    "defaults",
    multiple=True,
    metavar="COLUMN=VALUE",
    help="With --into: fill empty cells of a column, e.g. --default owner=Kari.",
)
@click.option("--dry-run", is_flag=True, help="With --into: show what would change; write nothing.")
def init(
    path: Path | None,
    sample: bool,
    into: Path | None,
    defaults: tuple[str, ...],
    dry_run: bool,
) -> None:
    """Create a new CRM workbook with every sheet, drop-down and table.

    With --into, adopt a workbook you already have instead: sheets and columns
    are recognised by their names in English or Norwegian (Kunder, E-post,
    Tlf ...), missing CRM columns are added after yours, rows without an id
    get one, and the missing CRM sheets are added.

    \b
    Example:
        sheetcrm init crm.xlsx --sample
        sheetcrm init --into "Our customers.xlsx" --dry-run
        sheetcrm init --into "Our customers.xlsx" --default owner=Kari --default stage=customer
    """
    from sheetcrm.workbook import newbook
    from sheetcrm.workbook import sample as sample_data

    if into is not None:
        from sheetcrm.actions.adopt import adopt, parse_defaults

        if path is not None:
            raise click.UsageError("give either PATH (a new workbook) or --into (yours), not both")
        done = adopt(into, parse_defaults(defaults), dry_run=dry_run)
        lines = done.lines()
        if not done.changes:
            for line in lines:
                click.echo(f"{into.name}: {line}")
            click.echo(f"{into.name} already has every CRM sheet and column; nothing was changed.")
            return
        if dry_run:
            click.echo(f"{into.name}: these changes would be made (--dry-run, nothing written):")
        else:
            click.echo(f"{into.name}: adopted; these changes were made:")
        for line in lines:
            click.echo(f"  {line}")
        if not dry_run:
            click.echo(f"Check it with: sheetcrm validate -w {into}")
        backup_note(done)
        return
    if defaults or dry_run:
        raise click.UsageError("--default and --dry-run go with --into")
    if path is None:
        raise click.UsageError("give the path of the new workbook, e.g. sheetcrm init crm.xlsx")
    if path.suffix.lower() != ".xlsx":
        raise click.BadParameter("the workbook name must end in .xlsx", param_hint="PATH")
    try:
        if sample:
            sample_data.write_sample_workbook(path)
        else:
            newbook.create_workbook(path)
    except SheetCRMError as e:
        if e.problem.code != "file_exists":
            raise
        # the library does not know the command line; here the way to adopt it is --into
        message = (
            f"{path.name} already exists; choose another name "
            "or use --into to add the missing sheets to it"
        )
        raise SheetCRMError(dataclasses.replace(e.problem, message=message)) from None
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
    path = resolve_workbook(ctx, workbook)
    when = now_or(as_of)
    done = None
    if mark:  # validates under the write lock, so the marks match what is printed
        from sheetcrm.actions.marks import mark_problems

        book, report, done = mark_problems(path, when, explain=cli_problem)
    else:
        from sheetcrm.workbook.reader import start_reading

        # calamine starts on the workbook before the checks are imported: they load beside
        # it. (Not rapidfuzz in a thread as well: two threads importing at once slowed the
        # read down by more than the import takes.)
        reading = start_reading(path)
        from sheetcrm.workbook.validation import load

        book, report = load(str(path), as_of=when, likely_duplicates=True, reading=reading)
        # the hints as the command line says them: its commands and options (issue 15)
        report = Report(report.workbook, [cli_problem(p) for p in report.problems])
    if fmt == "json":
        click.echo(report.dumps())
    else:
        _print_report(report, path, book.record_count(), len(book.sheet_names))
    if done is not None:
        from sheetcrm.actions.marks import PROBLEMS_SHEET

        if done.rows:
            click.echo(
                f"Marked {plural(done.rows, 'problem')} in {path.name}: see "
                f"the '{PROBLEMS_SHEET}' sheet, and hover over a coloured cell.",
                err=True,
            )
        else:
            click.echo(
                f"Nothing to mark in {path.name}: no '{PROBLEMS_SHEET}' sheet, "
                "coloured cells or notes of ours are left.",
                err=True,
            )
        backup_note(done)
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
        parts = [plural(errors, "error")]
        if warnings:
            parts.append(plural(warnings, "warning"))
        click.echo(click.style(f"✗ {path.name}: {', '.join(parts)}", fg="red", bold=True))
    elif warnings:
        click.echo(
            click.style(
                f"✓ {path.name}: {sheets} sheets, {records:,} records, no errors, "
                + plural(warnings, "warning"),
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


# --------------------------------------------------------------------------- import


@cli.command("import")
@click.argument("sheet")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@workbook_option
@click.option("--dry-run", is_flag=True, help="Check every row and show the first; write nothing.")
@click.option(
    "--update",
    is_flag=True,
    help="Update rows already in the sheet (same id, or a customer's email) instead of skipping.",
)
@click.option(
    "--allow-duplicates",
    is_flag=True,
    help="Add rows whose email is already there anyway (ids are never used twice).",
)
@click.option(
    "--default",
    "defaults",
    multiple=True,
    metavar="COLUMN=VALUE",
    help="A value for rows that leave a column empty, e.g. --default owner=Kari.",
)
@as_of_option
@click.pass_context
def import_cmd(
    ctx: click.Context,
    sheet: str,
    csv_file: Path,
    workbook: Path | None,
    dry_run: bool,
    update: bool,
    allow_duplicates: bool,
    defaults: tuple[str, ...],
    as_of: datetime | None,
) -> None:
    """Add every row of a CSV file to a sheet, or none if any row is wrong.

    The separator (comma, semicolon or tab) and the encoding (UTF-8 or
    Windows-1252) are found by themselves. Headers match the sheet's columns in
    English or Norwegian (E-post, Kunde siden ...); rows without an id get new
    ones. Rows already in the sheet (same id, or a customer with the same
    email) are skipped, so importing a file twice adds nothing twice.

    \b
    Example:
        sheetcrm import Customers new-customers.csv -w crm.xlsx --dry-run
        sheetcrm import Customers customers.csv -w crm.xlsx --default owner=Kari --update
    """
    from sheetcrm.actions.adopt import parse_defaults
    from sheetcrm.actions.records import import_rows

    if update and allow_duplicates:
        raise click.UsageError("choose --update or --allow-duplicates, not both")
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
        update=update,
        allow_duplicates=allow_duplicates,
        defaults=parse_defaults(defaults),
    )
    if done.encoding:
        separator = "tabs" if done.separator == "tab" else f"'{done.separator}'"
        click.echo(f"Read {csv_file.name} as {done.encoding} text separated by {separator}.")
    target = done.sheet or sheet
    if dry_run:
        if done.ids:
            click.echo(
                f"{plural(len(done.ids), 'row')} would be added to {target}; "
                "nothing was written (--dry-run). The first as they would be written:"
            )
            for record in done.preview:
                click.echo("  " + " | ".join(f"{k}: {_shown(v)}" for k, v in record.items()))
        else:
            click.echo(f"No new rows for {target}; nothing was written (--dry-run).")
    elif done.ids:
        ids = done.ids[0] if len(done.ids) == 1 else f"{done.ids[0]} to {done.ids[-1]}"
        click.echo(f"Imported {plural(len(done.ids), 'row')} into {sheet} ({ids}).")
    if done.updated:
        verb = "would be updated" if dry_run else "updated"
        click.echo(
            f"{plural(len(done.updated), 'row')} already in {target} {verb}: "
            + ", ".join(done.updated[:10])
            + (f" and {len(done.updated) - 10} more" if len(done.updated) > 10 else "")
        )
    if done.skipped:
        click.echo(
            f"Skipped {plural(len(done.skipped), 'row')} already in {target} "
            f"(same id or email; {_lines(done.skipped)}): "
            "add --update to update them, or --allow-duplicates to add them anyway."
        )
    repeated = [line for line in done.repeated if line not in done.skipped]
    if repeated:
        click.echo(
            f"Skipped {plural(len(repeated), 'row')} repeated in the file ({_lines(repeated)})."
        )
    if not dry_run and not done.ids and not done.updated and done.encoding:
        click.echo(f"Nothing new to import; {target} was not changed.")
    report_write(done)


def _shown(value: Any) -> str:
    if isinstance(value, datetime):
        return (
            f"{value:%Y-%m-%d %H:%M}"
            if value.time() != datetime.min.time()
            else f"{value:%Y-%m-%d}"
        )
    return str(value)


def _lines(lines: list[int]) -> str:
    if len(lines) == 1:
        return f"line {lines[0]}"
    shown = ", ".join(str(n) for n in lines[:8])
    return f"lines {shown}" + (f" and {len(lines) - 8} more" if len(lines) > 8 else "")


def _iterate(batches: Any) -> Any:
    if hasattr(batches, "__enter__"):
        with batches as bar:
            yield from bar
    else:
        yield from batches


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
