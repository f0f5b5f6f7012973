"""What merging two customer rows changes: pure, so --dry-run and the real write agree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sheetcrm.contract import SHEET_BY_NAME
from sheetcrm.workbook.book import Book, is_missing
from sheetcrm.workbook.duplicates import is_merged, merged_into

__all__ = ["REFERRING", "MergePlan", "is_merged", "merged_into", "plan_merge"]

# The sheets whose rows point at a customer by id.
REFERRING = ("Interactions", "Complaints", "Sales")


@dataclass(slots=True)
class MergePlan:
    keep: dict[str, Any]
    other: dict[str, Any]
    moved: dict[str, list[int]] = field(default_factory=dict)  # sheet -> Excel rows re-pointed
    moved_ids: dict[str, list[str]] = field(default_factory=dict)  # sheet -> their record ids
    filled: dict[str, Any] = field(default_factory=dict)  # KEEP's blank cells filled from OTHER
    other_cells: dict[str, Any] = field(default_factory=dict)  # OTHER's row, marked merged
    removed: bool = False  # Settings merged_customers = remove: OTHER's row is emptied


def plan_merge(book: Book, keep: dict[str, Any], other: dict[str, Any], today: date) -> MergePlan:
    plan = MergePlan(keep, other)
    other_id = str(other["customer_id"])
    for sheet in REFERRING:
        frame = book.frames[sheet]
        hits = frame[frame["customer_id"].astype(str) == other_id]
        if len(hits):
            key = SHEET_BY_NAME[sheet].key
            plan.moved[sheet] = [int(r) for r in hits["excel_row"]]
            plan.moved_ids[sheet] = [str(v) for v in hits[key]]
    for column in SHEET_BY_NAME["Customers"].columns:
        name = column.name
        if name == "customer_id":
            continue
        if is_missing(keep.get(name)) and not is_missing(other.get(name)):
            plan.filled[name] = other[name]
    # A wish not to be contacted, given under either row, holds for the person.
    if other.get("do_not_contact") is True and keep.get("do_not_contact") is not True:
        plan.filled["do_not_contact"] = True
    stamp = f"merged into {keep['customer_id']} on {today:%Y-%m-%d}"
    notes = other.get("notes")
    plan.other_cells = {
        "do_not_contact": True,
        "notes": f"{notes}\n{stamp}" if isinstance(notes, str) and notes.strip() else stamp,
    }
    return plan
