"""Orders: ``sale``, so revenue and repeat purchases are recorded without opening Excel."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from sheetcrm.cli.app import (
    CHOICE,
    WHEN,
    cli,
    now_or,
    report_write,
    resolve_workbook,
    workbook_option,
)


@cli.command("sale")
@workbook_option
@click.option("--customer", required=True, help="Customer id, email or name.")
@click.option(
    "--amount",
    required=True,
    type=click.FloatRange(min=0),
    help="What the customer paid, in the workbook's currency.",
)
@click.option("--item", "--product", "product", help="What was sold (the Sales product column).")
@click.option(
    "--staff",
    envvar="SHEETCRM_STAFF",
    help="Who sold it (default SHEETCRM_STAFF, else the customer's owner).",
)
@click.option("--at", "--date", "when", type=WHEN, help="When it was sold (default now).")
@click.option("--log", "log", is_flag=True, help="Also log the sale as a contact in Interactions.")
@click.option("--channel", type=CHOICE["channel"], help="With --log: how (default in_person).")
@click.option("--summary", help="With --log: what was said (default names the order).")
@click.pass_context
def sale(
    ctx: click.Context,
    workbook: Path | None,
    customer: str,
    amount: float,
    product: str | None,
    staff: str | None,
    when: datetime | None,
    log: bool,
    channel: str | None,
    summary: str | None,
) -> None:
    """Record a sale on the Sales sheet (and, with --log, the contact too, in one write).

    \b
    Example:
        sheetcrm sale -w crm.xlsx --customer yuki --amount 1290 --item "Service"
        sheetcrm sale -w crm.xlsx --customer C-0012 --amount 450 --at "2026-11-20 14:30" --log
    """
    from sheetcrm.actions.records import money, record_sale

    path = resolve_workbook(ctx, workbook)
    if not log and (channel or summary):
        raise click.UsageError("--channel and --summary belong to the logged contact: add --log")
    fields = {"customer": customer, "amount": amount, "product": product, "staff": staff}
    done = record_sale(path, fields, when=now_or(when), log=log, channel=channel, summary=summary)
    order = done.record["order"]
    name = done.record.get("customer_name") or ""
    what = f" ({order['product']})" if order.get("product") else ""
    click.echo(
        f"Recorded sale {order['order_id']}: {money(order['amount'])}{what} to "
        f"{order['customer_id']} {name} on {order['date']:%Y-%m-%d}, sold by {order['staff']}."
    )
    if log:
        click.echo(f"Logged {done.record['interaction_id']}: sale by {done.record['channel']}.")
    report_write(done)
