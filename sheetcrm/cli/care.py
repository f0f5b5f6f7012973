"""Caring for customers' data: ``customer duplicates``, ``merge``, ``export`` and ``erase``."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from sheetcrm.cli.app import (
    EXIT_FINDINGS,
    as_of_option,
    load_book,
    now_or,
    report_write,
    resolve_workbook,
    workbook_option,
)
from sheetcrm.cli.contacts import customer


@customer.command("duplicates")
@workbook_option
@click.option(
    "--min-score",
    type=click.FloatRange(0, 100),
    default=None,
    help="List pairs scoring at least this (0-100; default 80).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_context
def customer_duplicates(
    ctx: click.Context, workbook: Path | None, min_score: float | None, fmt: str
) -> None:
    """Customers who are probably one person typed in twice.

    Names reordered or misspelt, e-mails differing in case or dots, phones with
    or without spaces or +47: each pair with a score and the reasons. Exit 1
    when there are any. Merge a pair with `sheetcrm customer merge KEEP OTHER`.

    \b
    Example:
        sheetcrm customer duplicates -w crm.xlsx
    """
    from sheetcrm.actions.merge import with_addresses
    from sheetcrm.workbook.duplicates import THRESHOLD, find_duplicates, is_merged

    path = resolve_workbook(ctx, workbook)
    book = load_book(path, sheets=["Customers"])
    customers = with_addresses(path, book).dropna(subset=["customer_id"])
    customers = customers[~is_merged(customers)]
    pairs = find_duplicates(customers, THRESHOLD if min_score is None else min_score)
    names = dict(zip(customers["customer_id"].astype(str), customers["name"], strict=True))
    if fmt == "json":
        data = [
            {
                "keep": p.first,
                "other": p.second,
                "keep_name": names.get(p.first),
                "other_name": names.get(p.second),
                "score": p.score,
                "reasons": list(p.reasons),
            }
            for p in pairs
        ]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    elif not pairs:
        click.echo("No likely duplicate customers.")
    else:
        click.echo(f"{len(pairs)} likely duplicate pair(s), most likely first:")
        for p in pairs:
            click.echo(
                f"  {p.score:5.1f}  {p.first} {names.get(p.first)}  =  "
                f"{p.second} {names.get(p.second)}  ({', '.join(p.reasons)})"
            )
        click.echo(f"Merge one with: sheetcrm customer merge {pairs[0].first} {pairs[0].second}")
    if pairs:
        ctx.exit(EXIT_FINDINGS)


@customer.command("merge")
@click.argument("keep")
@click.argument("other")
@workbook_option
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@as_of_option
@click.pass_context
def customer_merge(
    ctx: click.Context,
    keep: str,
    other: str,
    workbook: Path | None,
    dry_run: bool,
    as_of: datetime | None,
) -> None:
    """Make two customer rows one: OTHER's history moves to KEEP.

    Every interaction, complaint and sale of OTHER then belongs to KEEP; KEEP's
    empty cells are filled from OTHER; OTHER's row stays, marked do-not-contact
    with a note saying it was merged. One write, with a backup.

    \b
    Example:
        sheetcrm customer merge C-0012 C-0047 -w crm.xlsx --dry-run
    """
    from sheetcrm.actions.merge import merge_customers

    path = resolve_workbook(ctx, workbook)
    plan, done = merge_customers(path, keep, other, today=now_or(as_of).date(), dry_run=dry_run)
    k, o = plan.keep, plan.other
    head = "Would merge" if dry_run else "Merged"
    click.echo(
        f"{head} {o['customer_id']} {o.get('name')} into {k['customer_id']} {k.get('name')}:"
    )
    for sheet, ids in plan.moved_ids.items():
        click.echo(f"  {sheet}: {len(ids)} moved ({', '.join(ids)})")
    if not plan.moved_ids:
        click.echo("  no interactions, complaints or sales to move")
    for column, value in plan.filled.items():
        old = k.get(column)
        shown = "yes" if value is True else value
        was = "no" if old is False else "(empty)"
        click.echo(f"  {k['customer_id']} {column}: {was} -> {shown}")
    if plan.removed:
        click.echo(
            f"  {o['customer_id']}'s row {'would be' if dry_run else 'was'} emptied "
            "(Settings: merged_customers = remove)"
        )
    else:
        click.echo(
            f"  {o['customer_id']} kept, marked do_not_contact with the note: "
            f"{str(plan.other_cells['notes']).splitlines()[-1]}"
        )
    if dry_run:
        click.echo("Dry run: nothing was written.")
        return
    report_write(done)


@customer.command("export")
@click.argument("who")
@workbook_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The folder to write the copy into.",
)
@click.pass_context
def customer_export(ctx: click.Context, who: str, workbook: Path | None, out_dir: Path) -> None:
    """A copy of everything held on one customer, for them to have.

    Their rows from every sheet as JSON and as a readable web page, their
    notices, and copies of the e-mails kept beside the workbook that mention them.

    \b
    Example:
        sheetcrm customer export C-0012 -w crm.xlsx --out export-C-0012
    """
    from sheetcrm.actions.customer_data import export_customer

    path = resolve_workbook(ctx, workbook)
    done = export_customer(path, who, out_dir)
    click.echo(f"Everything held on {done.customer_id} {done.name}:")
    for sheet, n in done.rows.items():
        click.echo(f"  {sheet}: {n} row(s)")
    click.echo(f"  e-mails kept beside the workbook that mention them: {len(done.emails)}")
    if done.elsewhere:
        click.echo(
            "  other cells that mention them (included in the copy): "
            + ", ".join(done.elsewhere[:20])
            + (" ..." if len(done.elsewhere) > 20 else "")
        )
    click.echo("Written:")
    for p in done.files:
        click.echo(f"  {p}")


@customer.command("erase")
@click.argument("who")
@workbook_option
@click.option("--dry-run", is_flag=True, help="Show what would be erased; change nothing.")
@click.pass_context
def customer_erase(ctx: click.Context, who: str, workbook: Path | None, dry_run: bool) -> None:
    """Erase one customer everywhere sheetcrm keeps copies (the right to be forgotten).

    Their row keeps only its id, owner, stage and dates; their interactions and
    complaints stay counted but lose what was said. Backups, reports and kept
    e-mails that mention them are deleted, and a fresh backup is kept.

    \b
    Example:
        sheetcrm customer erase C-0012 -w crm.xlsx --dry-run
    """
    from sheetcrm.actions.customer_data import OUT_OF_REACH, erase_customer

    path = resolve_workbook(ctx, workbook)
    done = erase_customer(path, who, dry_run=dry_run)
    verb = "Would erase" if dry_run else "Erased"
    click.echo(f"{verb} {done.customer_id} {done.name}:")
    for sheet, rows in done.cells.items():
        what = "name, contact details and notes" if sheet == "Customers" else "what was said"
        click.echo(f"  {sheet}: {len(rows)} row(s), {what} (rows {', '.join(map(str, rows))})")
    if done.deleted:
        click.echo(f"  {'would delete' if dry_run else 'deleted'} {len(done.deleted)} file(s):")
        for p in done.deleted:
            click.echo(f"    {p}")
    for key in done.sent_log_keys:
        click.echo(f"  sent log entry removed: {key}")
    if done.backup is not None:
        click.echo(f"  a fresh backup of the erased workbook: {done.backup}")
    if done.elsewhere:
        click.echo(
            "Still mentioned in cells sheetcrm does not change (check them by hand): "
            + ", ".join(done.elsewhere)
        )
    click.echo("sheetcrm cannot reach, so ask for these by hand if they matter:")
    for line in OUT_OF_REACH:
        click.echo(f"  - {line}")
    if dry_run:
        click.echo("Dry run: nothing was changed.")
