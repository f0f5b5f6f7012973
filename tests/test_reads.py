"""The read commands compute from only what they need, and give the same answers for it.

``overdue`` reads the Complaints and Customers (not 100,000 interactions) and works
out due times only for complaints that can still be pending; ``followups`` and
``customer show`` take the customer-value fit from a cache beside the workbook when
its inputs are unchanged. Each shortcut is checked here against the long way.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sheetcrm.cli import cli
from sheetcrm.rules import sla
from sheetcrm.workbook.validation import load


def _pending_the_long_way(book, as_of: datetime) -> list[tuple]:
    """Breached and due-soon targets from the due times of every complaint, as sla.overdue
    orders them."""
    frame = sla.targets(book, as_of)
    frame = frame[frame["state"].isin(["breached", "due_soon"])]
    rows = [
        (r.state != "breached", r.owner or "", r.due, r.complaint_id, r.target, round(r.minutes))
        for r in frame.itertuples(index=False)
    ]
    return sorted(rows, key=lambda r: r[:4])


@pytest.mark.parametrize("book_kind", ["sample", "sla"])
def test_overdue_equals_the_pending_targets_of_every_complaint(
    book_kind: str, sample_book: Path, sla_book: Path
) -> None:
    path = sample_book if book_kind == "sample" else sla_book
    book, _ = load(path)
    opened = book.complaints["opened"].dropna()
    first, last = opened.min().to_pydatetime(), opened.max().to_pydatetime()
    # Every 29 hours from before the first complaint to well after the last: moments in
    # and out of business hours, with complaints open, just closed and long closed.
    moments, at = [], first - timedelta(days=2)
    while at <= last + timedelta(days=40):
        moments.append(at.replace(second=0, microsecond=0))
        at += timedelta(hours=29)
    assert len(moments) > 20
    listed = 0
    for as_of in moments:
        quick = [
            (b.state != "breached", b.owner, b.due, b.complaint_id, b.target, b.minutes)
            for b in sla.overdue(book, as_of)
        ]
        assert quick == _pending_the_long_way(book, as_of), as_of
        listed += len(quick)
    assert listed > 0  # the comparison saw breaches, not only empty lists


def _edited(path: Path, name: str, edit) -> Path:  # type: ignore[no-untyped-def]
    import openpyxl

    wb = openpyxl.load_workbook(path)
    edit(wb)
    out = path.with_name(name)
    wb.save(out)
    return out


def test_overdue_is_not_held_up_by_a_sheet_it_does_not_read(runner, sla_book: Path) -> None:
    """An unreadable date on Interactions is validate's business, not overdue's: the same
    answer and no note. A bad cell on a sheet overdue reads is noted, naming what was read."""
    argv = ["overdue", "--as-of", "2026-11-20 15:00", "--format", "json"]
    clean = runner.invoke(cli, [*argv, "-w", str(sla_book)])
    assert clean.exit_code == 1 and clean.stderr == ""

    def bad_interaction(wb) -> None:  # type: ignore[no-untyped-def]
        ws = wb["Interactions"]
        headers = [c.value for c in ws[1]]
        row = {"interaction_id": "I-1", "date": "03/04/2026", "customer_id": "C-1"}
        row |= {"staff": "Kari", "channel": "phone", "type": "support", "summary": "Brakes"}
        ws.append([row.get(h) for h in headers])

    other = _edited(sla_book, "other.xlsx", bad_interaction)
    assert runner.invoke(cli, ["validate", "-w", str(other)]).exit_code == 1  # it is an error
    result = runner.invoke(cli, [*argv, "-w", str(other)])
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout) == json.loads(clean.stdout)
    assert result.stderr == ""

    def bad_complaint(wb) -> None:  # type: ignore[no-untyped-def]
        ws = wb["Complaints"]
        column = [c.value for c in ws[1]].index("severity") + 1
        ws.cell(row=6, column=column, value="whenever")  # K-4, long resolved: same list

    third = _edited(sla_book, "third.xlsx", bad_complaint)
    result = runner.invoke(cli, [*argv, "-w", str(third)])
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout) == json.loads(clean.stdout)
    assert "Note: the sheets of third.xlsx this command reads have 1 error" in result.stderr
