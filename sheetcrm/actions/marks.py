"""``--mark``: showing findings inside the workbook, where the owner looks.

``overdue --mark`` keeps two columns on the Complaints sheet, ``due_by`` (the
next target still to meet) and ``sla`` (breached, due soon, on track, met, met
late), that the owner can sort and filter, and colours breached rows red and
due-soon rows amber. ``validate --mark`` keeps a *CRM problems* sheet whose
rows link to the cells at fault and colours those cells. Both replace what
the previous run marked and touch nothing else, through the part-level writer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from sheetcrm.contract import SHEETS
from sheetcrm.errors import Problem, Report, column_letter, quote_sheet
from sheetcrm.rules import sla
from sheetcrm.workbook import writer
from sheetcrm.workbook.book import Book
from sheetcrm.workbook.reader import read_book
from sheetcrm.workbook.validation import load, validate

MARKER = "sheetcrm"
AUTHOR = "sheetcrm"  # the author of our notes: how the next run tells them from the owner's
PROBLEMS_SHEET = "CRM problems"
# Plain columns, in the order an owner reads them; the code (for looking it up) last.
PROBLEM_COLUMNS = ["where", "kind", "what is wrong", "how to fix", "code"]
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
        header_row, headers = tx.headers("Complaints")
        letter = column_letter(tx.column_of("Complaints", "sla"))
        last_col = column_letter(max(headers))
        first = header_row + 1
        last = max([*marks, first])
        area = f"A{first}:{last_col}{last}"
        tx.highlight(
            "Complaints",
            MARKER,
            [
                (area, f'${letter}{first}="breached"', *RED),
                (area, f'${letter}{first}="due soon"', *AMBER),
            ],
        )
    return Marked(len(marks), tx.backup)


def mark_problems(
    path: Path, as_of: datetime, explain: Callable[[Problem], Problem] | None = None
) -> tuple[Book, Report, Marked]:
    """Validate, then show the problems in the workbook; returns what validate found.

    The *CRM problems* sheet (the tab Excel opens on) lists each problem with a
    link to its cell; each bad cell is coloured and carries a note explaining
    it. A clean workbook loses the sheet, the colours and the notes again. The
    owner's own notes stay as they are. ``explain`` lets the caller word each
    problem's hint its own way (the CLI names its commands there), in the workbook
    and in the report returned alike.
    """
    with writer.edit(path) as tx:
        raw = read_book(path)
        book, report = validate(raw, as_of=as_of, likely_duplicates=True)
        if explain is not None:
            report = Report(report.workbook, [explain(p) for p in report.problems])
        tx.backups_to_keep = book.settings.backups_to_keep
        names = [raw.sheets[s.name].name for s in SHEETS if s.name in raw.sheets]
        for name in names:
            tx.clear_notes(name, AUTHOR)
        if report.problems:
            rows: list[list[object]] = []
            links: dict[str, str] = {}
            for i, p in enumerate(report.problems, start=2):
                rows.append([p.where, p.severity, p.message, p.hint or "", p.code])
                if p.sheet and p.cell:
                    links[f"A{i}"] = f"{quote_sheet(p.sheet)}!{p.cell}"
            part = tx.replace_sheet(
                PROBLEMS_SHEET, PROBLEM_COLUMNS, rows, [24, 9, 70, 60, 18], links
            )
            tx.style_header(part)
            tx.make_active(PROBLEMS_SHEET)
        else:
            tx.remove_sheet(PROBLEMS_SHEET)
        for name in names:
            rules = []
            texts: dict[str, list[str]] = {}
            for severity, colours in (("error", RED), ("warning", AMBER)):
                cells = [
                    p.cell
                    for p in report.problems
                    if p.sheet == name and p.cell and p.severity == severity
                ]
                if cells:
                    rules.append((" ".join(cells[:MAX_COLOURED_CELLS]), "TRUE", *colours))
            for p in report.problems:
                if p.sheet == name and p.cell and len(texts) < MAX_COLOURED_CELLS:
                    fix = f"\nTo fix: {p.hint}" if p.hint else ""
                    texts.setdefault(p.cell, []).append(f"{p.severity}: {p.message}{fix}")
            tx.highlight(name, MARKER, rules)
            tx.add_notes(name, AUTHOR, {c: "\n\n".join(t) for c, t in texts.items()})
    return book, report, Marked(len(report.problems), tx.backup)
