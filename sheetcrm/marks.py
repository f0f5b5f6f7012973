"""``--mark``: showing findings inside the workbook, where the owner looks.

``overdue --mark`` keeps two columns on the Complaints sheet, ``due_by`` (the
next target still to meet) and ``sla`` (breached, due soon, on track, met, met
late), that the owner can sort and filter, and colours breached rows red and
due-soon rows amber. ``validate --mark`` keeps a *CRM problems* sheet whose
rows link to the cells at fault and colours those cells. Both replace what
the previous run marked and touch nothing else, through the part-level writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from sheetcrm import sla, writer
from sheetcrm.book import Book
from sheetcrm.contract import SHEETS
from sheetcrm.errors import Report, column_letter, quote_sheet
from sheetcrm.reader import read_book
from sheetcrm.validation import load, validate

MARKER = "sheetcrm"
PROBLEMS_SHEET = "CRM problems"
RED = ("FFC7CE", "9C0006")
AMBER = ("FFEB9C", "9C5700")
_LABELS = {
    "breached": "breached",
    "due_soon": "due soon",
    "on_track": "on track",
    "met": "met",
    "met_late": "met late",
    "closed_unmet": "",
}
_RANK = ["breached", "due_soon", "on_track", "met_late", "met", "closed_unmet"]
# Excel refuses very long range lists in one rule; past this many cells the
# Problems sheet still lists every problem, only the colouring stops.
MAX_COLOURED_CELLS = 2000


@dataclass(slots=True)
class Marked:
    rows: int
    backup: Path | None


def complaint_marks(book_targets: pd.DataFrame) -> dict[int, tuple[datetime | None, str]]:
    """Excel row -> (due_by, sla label) for every complaint with a running or finished clock."""
    marks: dict[int, tuple[datetime | None, str]] = {}
    for row, group in book_targets.groupby("excel_row"):
        pending = group[group["state"].isin(["breached", "due_soon", "on_track"])]
        due = pending["due"].min() if len(pending) else None
        worst = min(group["state"], key=_RANK.index)
        marks[int(row)] = (None if due is None else due.to_pydatetime(), _LABELS[worst])
    return marks


def mark_overdue(path: Path, as_of: datetime) -> Marked:
    with writer.edit(path) as tx:
        book, _ = load(str(path))
        tx.backups_to_keep = book.settings.backups_to_keep
        marks = complaint_marks(sla.targets(book, as_of))
        tx.ensure_columns("Complaints", ["due_by", "sla"])
        for row, (due, label) in sorted(marks.items()):
            tx.update("Complaints", row, {"due_by": due, "sla": label})
        pkg = tx.package
        header_row, headers = pkg.headers("Complaints")
        letter = column_letter(pkg.column_of("Complaints", "sla"))
        last_col = column_letter(max(headers))
        first = header_row + 1
        last = max([*marks, first])
        area = f"A{first}:{last_col}{last}"
        pkg.highlight(
            "Complaints",
            MARKER,
            [
                (area, f'${letter}{first}="breached"', *RED),
                (area, f'${letter}{first}="due soon"', *AMBER),
            ],
        )
    return Marked(len(marks), tx.backup)


def mark_problems(path: Path, as_of: datetime) -> tuple[Book, Report, Marked]:
    """Validate, then write the problems into the workbook; returns what validate found."""
    with writer.edit(path) as tx:
        raw = read_book(path)
        book, report = validate(raw, as_of=as_of)
        tx.backups_to_keep = book.settings.backups_to_keep
        headers = ["severity", "sheet", "cell", "column", "code", "message", "what to do"]
        rows: list[list[object]] = []
        links: dict[str, str] = {}
        for i, p in enumerate(report.problems, start=2):
            rows.append(
                [
                    p.severity,
                    p.sheet or "",
                    p.cell or "",
                    p.column or "",
                    p.code,
                    p.message,
                    p.hint or "",
                ]
            )
            if p.sheet and p.cell:
                links[f"C{i}"] = f"{quote_sheet(p.sheet)}!{p.cell}"
        if not rows:
            rows.append(["ok", "", "", "", "", f"No problems at {as_of:%Y-%m-%d %H:%M}", ""])
        tx.package.replace_sheet(PROBLEMS_SHEET, headers, rows, [9, 14, 8, 16, 16, 70, 60], links)
        for spec in SHEETS:
            name = raw.sheets[spec.name].name if spec.name in raw.sheets else None
            if name is None:
                continue
            rules = []
            for severity, colours in (("error", RED), ("warning", AMBER)):
                cells = [
                    p.cell
                    for p in report.problems
                    if p.sheet == name and p.cell and p.severity == severity
                ]
                if cells:
                    rules.append((" ".join(cells[:MAX_COLOURED_CELLS]), "TRUE", *colours))
            tx.package.highlight(name, MARKER, rules)
    return book, report, Marked(len(report.problems), tx.backup)
