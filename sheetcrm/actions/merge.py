"""``customer merge``: one person typed in twice becomes one customer again, in one write."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from sheetcrm.actions.records import (
    Written,
    _for_update,
    _settings_backups,
    find_one_customer,
    load,
)
from sheetcrm.errors import Problem, SheetCRMError
from sheetcrm.rules.merge import REFERRING, MergePlan, merged_into, plan_merge
from sheetcrm.workbook import writer
from sheetcrm.workbook.book import Book

_SHEETS = ["Customers", *REFERRING]


def _plan(book: Book, keep_text: str, other_text: str, today: date) -> MergePlan:
    keep = find_one_customer(book, keep_text)
    other = find_one_customer(book, other_text)
    if keep["customer_id"] == other["customer_id"]:
        raise SheetCRMError(
            Problem(
                "merge_refused",
                f"{keep_text} and {other_text} are the same customer "
                f"({keep['customer_id']}); nothing was written",
                hint="name two different customers: the one to keep first",
            )
        )
    for who, rec in (("keep", keep), ("merge", other)):
        target = merged_into(rec.get("notes"))
        if target is not None:
            raise SheetCRMError(
                Problem(
                    "merge_refused",
                    f"{rec['customer_id']} was already merged into {target}; nothing was written",
                    sheet=book.sheet_names.get("Customers", "Customers"),
                    row=int(rec["excel_row"]),
                    hint=f"{who} {target} instead",
                )
            )
    return plan_merge(book, keep, other, today)


def merge_customers(
    path: Path, keep: str, other: str, *, today: date, dry_run: bool = False
) -> tuple[MergePlan, Written]:
    """Move OTHER's interactions, complaints and sales to KEEP and mark OTHER merged.

    OTHER's row stays (marked do_not_contact, with a dated note saying where it
    went) so that nothing the owner typed about them is lost, and old reports
    that name its id still make sense.
    """
    result = Written()
    if dry_run:
        book, _ = load(path, sheets=_SHEETS)
        plan = _plan(book, keep, other, today)
        plan.removed = book.settings.merged_customers == "remove"
        return plan, result
    with writer.edit(path) as tx:
        book, _ = load(path, sheets=_SHEETS)
        _settings_backups(tx, book)
        plan = _plan(book, keep, other, today)
        keep_id = str(plan.keep["customer_id"])
        for sheet, rows in plan.moved.items():
            tx.update_rows(sheet, {r: {"customer_id": keep_id} for r in rows})
            result.rows[sheet] = list(rows)
        plan.removed = book.settings.merged_customers == "remove"
        tx.ensure_columns("Customers", [*plan.filled, *([] if plan.removed else plan.other_cells)])
        if plan.filled:
            tx.update(
                "Customers", int(plan.keep["excel_row"]), _for_update(plan.filled, plan.filled)
            )
        if plan.removed:
            # Emptied, not deleted: rows below keep their numbers, so the owner's
            # formulas and notes that point at them still point at the same customers.
            _, header = tx.headers("Customers")
            tx.update(
                "Customers",
                int(plan.other["excel_row"]),
                {str(h): None for h in header.values() if h},
            )
        else:
            tx.update(
                "Customers",
                int(plan.other["excel_row"]),
                _for_update(plan.other_cells, plan.other_cells),
            )
        result.rows["Customers"] = [int(plan.keep["excel_row"]), int(plan.other["excel_row"])]
        result.ids = [keep_id, str(plan.other["customer_id"])]
    result.backup = tx.backup
    return plan, result


# The owner's own address columns, by their header (any case, spaces or underscores).
_ADDRESS_HEADERS = ("address", "adresse", "streetaddress", "street", "gateadresse", "postadresse")
_PLACE_HEADERS = ("city", "town", "poststed", "sted", "by", "postcode", "postalcode", "postnummer")


def with_addresses(path: Path, book: Book) -> pd.DataFrame:
    """The Customers frame, plus an ``address`` column when the owner keeps one.

    The contract has no address, but many owners add one; it is read here, by
    header, only for matching duplicates (with the town or post code beside it).
    """
    from sheetcrm.contract import SHEET_BY_NAME, normalize_header
    from sheetcrm.workbook.reader import _find_header, open_package, sheet_rows

    customers = book.customers
    name = book.sheet_names.get("Customers")
    if name is None or customers.empty:
        return customers
    pkg, wb = open_package(path)
    try:
        rows = sheet_rows(pkg, wb, name)
    finally:
        wb.close()
    head = _find_header(SHEET_BY_NAME["Customers"], rows)
    if head is None:
        return customers
    headers = [normalize_header(v) if isinstance(v, str) else "" for v in rows[head]]
    street = [i for i, h in enumerate(headers) if h in _ADDRESS_HEADERS]
    if not street:
        return customers
    place = [i for i, h in enumerate(headers) if h in _PLACE_HEADERS]
    frame = pd.DataFrame(rows[head + 1 :])
    if frame.empty:
        return customers
    parts = frame[[street[0], *place]].astype(str).replace({"None": "", "nan": ""})
    address = parts.agg(" ".join, axis=1).str.strip()
    address.index = range(head + 2, head + 2 + len(frame))  # Excel row numbers
    out = customers.copy()
    out["address"] = out["excel_row"].map(address).where(lambda s: s.str.len() > 0, None)
    return out
