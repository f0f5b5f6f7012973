"""`overdue --mark` and `validate --mark`: findings shown inside the workbook, nothing else."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from sheetcrm.cli import cli
from tests.test_cli_service import AS_OF
from tests.test_cli_write import build_decorated, changed_parts, rows_of, sheet_part, table_part
from tests.writer_helpers import parts


@pytest.fixture
def decorated(tmp_path):
    return build_decorated(tmp_path / "crm.xlsx")


def formulas(path, sheet):
    ws = openpyxl.load_workbook(path)[sheet]
    return sorted(
        (str(cf.sqref), r.formula[0]) for cf in ws.conditional_formatting for r in cf.rules
    )


def test_overdue_mark_writes_due_by_and_sla(runner, sla_book):
    before = parts(sla_book)
    result = runner.invoke(cli, ["overdue", "-w", str(sla_book), "--as-of", AS_OF, "--mark"])
    assert result.exit_code == 1, result.output
    assert "Marked 5 complaints" in result.stderr
    changed = changed_parts(before, parts(sla_book))
    assert changed <= {sheet_part(sla_book, "Complaints"), "xl/styles.xml"}
    rows = rows_of(sla_book, "Complaints")
    header = rows[0]
    assert header[-2:] == ["due_by", "sla"]
    marks = {r[0]: (r[-2], r[-1]) for r in rows[1:]}
    assert marks == {
        "K-1": (dt.datetime(2026, 11, 20, 12), "breached"),  # first response, 3 h late
        "K-2": (dt.datetime(2026, 11, 20, 16), "due soon"),
        "K-5": (dt.datetime(2026, 11, 18, 17), "breached"),
        "K-3": (dt.datetime(2026, 12, 1, 10), "on track"),
        "K-4": ("", "met late"),
    }
    assert formulas(sla_book, "Complaints") == [
        ("A2:L6", 'AND($L2="breached",N("sheetcrm")=0)'),
        ("A2:L6", 'AND($L2="due soon",N("sheetcrm")=0)'),
    ]
    # A later run replaces the marks instead of piling up rules.
    later = runner.invoke(
        cli, ["overdue", "-w", str(sla_book), "--as-of", "2026-12-02 12:00", "--mark"]
    )
    assert later.exit_code == 1
    assert {r[0]: r[-1] for r in rows_of(sla_book, "Complaints")[1:]}["K-3"] == "breached"
    assert len(formulas(sla_book, "Complaints")) == 2


def test_overdue_mark_keeps_the_owners_decorations(runner, decorated):
    before = parts(decorated)
    runner.invoke(cli, ["overdue", "-w", str(decorated), "--as-of", AS_OF, "--mark"])
    changed = changed_parts(before, parts(decorated))
    assert changed <= {
        sheet_part(decorated, "Complaints"),
        table_part(decorated, "Complaints"),
        "xl/styles.xml",
    }
    table = openpyxl.load_workbook(decorated)["Complaints"].tables["Complaints"]
    assert table.ref == "A1:O2"  # the Table grew to take the two new columns


def test_validate_mark_lists_problems_with_links_and_colours_cells(
    runner, make_book, valid_records
):
    valid_records["Interactions"][0]["channel"] = "fax"
    valid_records["Interactions"][1]["date"] = "03/04/2026"
    path = make_book(valid_records)
    result = runner.invoke(cli, ["validate", "-w", str(path), "--mark", "--as-of", AS_OF])
    assert result.exit_code == 1
    assert "Marked 2 problems" in result.stderr
    rows = rows_of(path, "CRM problems")
    assert rows[0] == ["where", "kind", "what is wrong", "how to fix", "code"]
    assert [(r[0], r[1], r[4]) for r in rows[1:]] == [
        ("Interactions!E2", "error", "not_in_list"),
        ("Interactions!B3", "error", "ambiguous_date"),
    ]
    wb = openpyxl.load_workbook(path)
    assert wb["CRM problems"]["A2"].hyperlink.location == "Interactions!E2"
    assert formulas(path, "Interactions") == [("B3 E2", 'AND(TRUE,N("sheetcrm")=0)')]
    # The marks do not count as problems, and a second run replaces them.
    again = runner.invoke(cli, ["validate", "-w", str(path), "--mark", "--as-of", AS_OF])
    assert "Marked 2 problems" in again.stderr
    assert len(rows_of(path, "CRM problems")) == 3
    assert len(formulas(path, "Interactions")) == 1


def test_validate_mark_on_a_clean_workbook(runner, make_book):
    path = make_book()
    result = runner.invoke(cli, ["validate", "-w", str(path), "--mark", "--as-of", AS_OF])
    assert result.exit_code == 0
    # Nothing to show: no problems sheet is made (one left from before is removed).
    assert "CRM problems" not in openpyxl.load_workbook(path).sheetnames
    assert formulas(path, "Interactions") == []
