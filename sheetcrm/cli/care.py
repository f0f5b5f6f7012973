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
    from sheetcrm.rules.duplicates import THRESHOLD, find_duplicates
    from sheetcrm.rules.merge import is_merged

    path = resolve_workbook(ctx, workbook)
    book = load_book(path)
    customers = book.customers.dropna(subset=["customer_id"])
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
    from sheetcrm.merge import merge_customers

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
        click.echo(f"  {k['customer_id']} {column}: (empty) -> {value}")
    click.echo(
        f"  {o['customer_id']} kept, marked do_not_contact with the note: "
        f"{str(plan.other_cells['notes']).splitlines()[-1]}"
    )
    if dry_run:
        click.echo("Dry run: nothing was written.")
        return
    report_write(done)
