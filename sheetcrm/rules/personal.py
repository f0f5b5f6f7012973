"""One customer's personal data in a Book: what to hand over, and what erasing changes.

Pure: a Book and a customer in, plain data out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sheetcrm.contract import ERASED
from sheetcrm.workbook.book import Book, as_records, is_missing

__all__ = ["ERASED", "Erasure", "held", "plan_erasure", "traces"]

# Cells of the customer's own row that say who they are or how to reach them.
PERSONAL = ("name", "company", "email", "phone", "preferred_channel", "notes")
# Free text on their interactions and complaints: what they said, in their words.
FREE_TEXT = {"Interactions": ("summary",), "Complaints": ("summary", "resolution")}
# What an erased required text reads; the row stays so it is still counted.


def held(book: Book, customer_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every contract row about the customer, sheet by sheet (the workbook's order)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for sheet in ("Customers", "Interactions", "Complaints", "Sales"):
        frame = book.frames[sheet]
        out[sheet] = as_records(frame[frame["customer_id"].astype(str) == customer_id])
    complaints = {str(r["complaint_id"]) for r in out["Complaints"]}
    notices = book.frames["Notices"]
    out["Notices"] = as_records(notices[notices["complaint_id"].astype(str).isin(complaints)])
    return out


def traces(customer: dict[str, Any]) -> list[str]:
    """The texts that identify the person in any file: name, e-mail, phone (as typed)."""
    found: list[str] = []
    for key in ("name", "email", "phone"):
        value = customer.get(key)
        if not is_missing(value) and len(str(value).strip()) >= 3:
            found.append(str(value).strip())
    phone = customer.get("phone")
    if not is_missing(phone):
        digits = re.sub(r"\D", "", str(phone))
        if len(digits) >= 8:
            found.append(digits)
    return found


@dataclass(slots=True)
class Erasure:
    """The cells erasing one customer changes: sheet -> Excel row -> {column: new value}."""

    customer_id: str
    cells: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    old_texts: set[str] = field(default_factory=set)  # the texts erased, to purge copies of


def plan_erasure(book: Book, customer: dict[str, Any]) -> Erasure:
    """Their row loses name, contact details and notes; their interactions and complaints
    keep date, channel, type, outcome and status (so every figure still counts them) but
    lose what was said."""
    cid = str(customer["customer_id"])
    plan = Erasure(cid)
    row: dict[str, Any] = {"name": ERASED, "do_not_contact": "yes"}
    for column in PERSONAL:
        if not is_missing(customer.get(column)):
            plan.old_texts.add(str(customer[column]))
            if column != "name":
                row[column] = None
    plan.cells["Customers"] = {int(customer["excel_row"]): row}
    for sheet, columns in FREE_TEXT.items():
        frame = book.frames[sheet]
        mine = frame[frame["customer_id"].astype(str) == cid]
        for record in mine.to_dict("records"):
            change = {}
            for column in columns:
                if not is_missing(record.get(column)):
                    plan.old_texts.add(str(record[column]))
                    # A required text gets a placeholder; an optional one is emptied.
                    change[column] = ERASED if column == "summary" else None
            if change:
                plan.cells.setdefault(sheet, {})[int(record["excel_row"])] = change
    return plan
