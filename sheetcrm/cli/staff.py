"""Who works here: ``staff add``, ``staff list`` and ``staff leave``."""

from __future__ import annotations

from pathlib import Path

import click

from sheetcrm.cli.app import (
    SheetCRMGroup,
    cli,
    load_book,
    report_write,
    resolve_workbook,
    table_or_json,
    workbook_option,
)


@cli.group(cls=SheetCRMGroup)
def staff() -> None:
    """Add staff, list them, and mark those who left.

    \b
    Example:
        sheetcrm staff add Kari -w crm.xlsx --email kari@example.com --department Workshop
        sheetcrm staff leave Per -w crm.xlsx --reassign-to Kari
    """


@staff.command("add")
@click.argument("name")
@workbook_option
@click.option("--email", help="Their work email (for notices to their department).")
@click.option("--department", help="e.g. Workshop, Sales, Finance.")
@click.pass_context
def staff_add(
    ctx: click.Context,
    name: str,
    workbook: Path | None,
    email: str | None,
    department: str | None,
) -> None:
    """Add a staff member to the Staff sheet (or make one who left active again).

    \b
    Example:
        sheetcrm staff add "Kari Nordmann" -w crm.xlsx --email kari@example.com \\
            --department Workshop
    """
    from sheetcrm.actions.records import add_staff

    done = add_staff(
        resolve_workbook(ctx, workbook), name.strip(), email=email, department=department
    )
    rec = done.record
    extra = ", ".join(str(rec[k]) for k in ("email", "department") if rec.get(k))
    click.echo(f"Added {rec['name']} to Staff{f' ({extra})' if extra else ''}.")
    report_write(done)


@staff.command("list")
@workbook_option
@table_or_json
@click.option("--all", "show_all", is_flag=True, help="Also those who left (inactive).")
@click.pass_context
def staff_list(ctx: click.Context, workbook: Path | None, fmt: str, show_all: bool) -> None:
    """Staff with how many customers and open complaints each one owns.

    \b
    Example:
        sheetcrm staff list -w crm.xlsx
        sheetcrm staff list -w crm.xlsx --all --format json
    """
    import json

    from sheetcrm.actions.records import is_inactive
    from sheetcrm.contract import OPEN_STATUSES

    book = load_book(resolve_workbook(ctx, workbook), sheets=["Customers", "Complaints"])
    owners = book.customers["owner"].value_counts()
    k = book.complaints
    open_k = k[k["status"].isin(OPEN_STATUSES)]["owner"].value_counts()
    people = []
    for _, row in book.staff.sort_values("name").iterrows():
        active = not is_inactive(row["active"])
        if not active and not show_all:
            continue
        people.append(
            {
                "name": row["name"],
                "email": None if row.isna()["email"] else row["email"],
                "department": None if row.isna()["department"] else row["department"],
                "active": active,
                "customers": int(owners.get(row["name"], 0)),
                "open_complaints": int(open_k.get(row["name"], 0)),
            }
        )
    if fmt == "json":
        click.echo(json.dumps(people, ensure_ascii=False, indent=2))
        return
    if not people:
        click.echo("Nobody is on the Staff sheet yet. Add someone with: sheetcrm staff add NAME")
        return
    click.echo(
        f"{'name':<16} {'department':<14} {'email':<28} {'customers':>9} {'open complaints':>15}"
    )
    for p in people:
        left = "" if p["active"] else "  (left)"
        click.echo(
            f"{p['name']:<16} {p['department'] or '':<14} {p['email'] or '':<28} "
            f"{p['customers']:>9} {p['open_complaints']:>15}{left}"
        )


@staff.command("leave")
@click.argument("name")
@workbook_option
@click.option(
    "--reassign-to",
    "reassign_to",
    metavar="NAME",
    help="Hand their customers and open complaints to this staff member in the same write.",
)
@click.pass_context
def staff_leave(
    ctx: click.Context, name: str, workbook: Path | None, reassign_to: str | None
) -> None:
    """Mark a staff member as gone (inactive) and list what they still own.

    Their past contacts keep their name. Without --reassign-to, the customers
    and open complaints they own are listed so you can hand them over with
    `sheetcrm customer edit ID --set owner=NAME`.

    \b
    Example:
        sheetcrm staff leave Per -w crm.xlsx
        sheetcrm staff leave Per -w crm.xlsx --reassign-to Kari
    """
    from sheetcrm.actions.records import leave_staff

    done = leave_staff(resolve_workbook(ctx, workbook), name, reassign_to=reassign_to)
    if "Staff" in done.written.rows:
        click.echo(f"{done.name} is now marked inactive on the Staff sheet.")
    if done.reassigned_to:
        click.echo(
            f"Handed {len(done.customers)} customers and {len(done.complaints)} open "
            f"complaints to {done.reassigned_to}."
        )
    elif done.customers or done.complaints:
        click.echo(f"{done.name} still owns these; give each a new owner:")
        for c in done.customers:
            click.echo(
                f"  customer {c['customer_id']} {c['name']}: "
                f"sheetcrm customer edit {c['customer_id']} --set owner=NAME"
            )
        for k in done.complaints:
            click.echo(f"  complaint {k['complaint_id']} ({k['status']}): {k['summary']}")
        click.echo("  or hand everything over at once: add --reassign-to NAME")
    else:
        click.echo(f"{done.name} owns no customers and no open complaints.")
    report_write(done.written)
