"""Writes under faults and on the owner's layout: nothing lost, nothing harmed (issue 12)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from click.testing import CliRunner

from sheetcrm.cli import cli
from tests.writer_helpers import contract_tables

AT = "2026-11-20 14:00"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def log(runner: CliRunner, book: Path, *extra: str, summary: str = "Called back"):
    args = ["log", "-w", str(book), "--customer", "C-0001", "--channel", "phone"]
    args += ["--type", "support", "--summary", summary, "--date", AT, *extra]
    result = runner.invoke(cli, args)
    assert "Traceback" not in result.output
    return result


def calamine_rows(path: Path, sheet: str) -> list[list]:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    return book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def table_ref(path: Path, sheet: str) -> str:
    wb = openpyxl.load_workbook(path)
    (table,) = wb[sheet].tables.values()
    return table.ref


# ------------------------------------------------------------------ 12.5 the owner's layout


def test_a_note_below_the_table_stays_and_the_record_goes_right_under_it(runner, tmp_path):
    book = contract_tables(tmp_path / "crm.xlsx", cells={"A8": "Note to self"})
    result = log(runner, book)
    assert result.exit_code == 0, result.output
    rows = calamine_rows(book, "Interactions")
    assert rows[3][0] == "I-0003" and rows[3][7] == "Called back"  # Excel row 4
    assert rows[7][0] == "Note to self" and all(v == "" for v in rows[7][1:])
    assert all(v == "" for r in rows[4:7] for v in r)
    assert table_ref(book, "Interactions") == "A1:L4"  # not widened over the note


@pytest.mark.parametrize(
    ("cells", "merge", "expected"),
    [
        ({"A4": "TOTAL", "J4": "=SUM(J2:J3)"}, None, "Interactions!A4 holds 'TOTAL'"),
        ({"H4": "Note to self"}, None, "Interactions!H4 holds 'Note to self'"),
        ({}, "A4:L4", "Interactions!A4:L4 is merged"),
    ],
)
def test_the_owners_cells_right_under_the_table_are_refused_by_cell(
    runner, tmp_path, cells, merge, expected
):
    book = contract_tables(tmp_path / "crm.xlsx", cells=cells, merge=merge)
    before = sha(book)
    result = log(runner, book)
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "right under the table" in result.output
    assert sha(book) == before
    assert not (tmp_path / "backups").exists()


def test_rows_in_a_fresh_workbook_are_not_bold_like_the_header(runner, tmp_path):
    book = tmp_path / "crm.xlsx"
    assert runner.invoke(cli, ["init", str(book)]).exit_code == 0
    csv = tmp_path / "staff.csv"
    csv.write_text("name,email,department,active\nKari,kari@example.com,Workshop,yes\n")
    result = runner.invoke(cli, ["-w", str(book), "import", "Staff", str(csv)])
    assert result.exit_code == 0, result.output
    ws = openpyxl.load_workbook(book)["Staff"]
    assert ws["A1"].font.b  # the header is bold...
    assert ws["A2"].value == "Kari"
    for cell in ws[2]:
        assert not cell.font.b, cell.coordinate  # ...a record is not
        assert cell.fill.fgColor.rgb in (None, "00000000"), cell.coordinate
    assert ws.row_dimensions[2].height in (None, 15)


# ------------------------------------------------------------------ 12.6 Excel's cell limit


def test_text_over_excels_cell_limit_is_refused_at_write(runner, tmp_path):
    book = contract_tables(tmp_path / "crm.xlsx")
    before = sha(book)
    result = log(runner, book, summary="x" * 32_768)
    assert result.exit_code == 2, result.output
    assert "summary" in result.output and "32,767" in result.output
    assert sha(book) == before
    # the limit itself is fine, counted as Excel counts (an emoji is two)
    assert log(runner, book, summary="x" * 32_767).exit_code == 0
    assert len(calamine_rows(book, "Interactions")[3][7]) == 32_767
    result = log(runner, book, summary="😀" * 16_384)
    assert result.exit_code == 2 and "32,768 characters" in result.output


def test_text_over_excels_cell_limit_is_flagged_by_validate(runner, tmp_path):
    from tests.conftest import VALID, write_book

    records = {k: [dict(r) for r in v] for k, v in VALID.items()}
    records["Customers"][0]["notes"] = "LONG-NOTE"
    records["Interactions"][1]["summary"] = "LONG-SUMMARY"
    book = write_book(tmp_path / "crm.xlsx", records)
    # xlsxwriter and openpyxl cut text at the limit; other tools do not: edit the XML
    long_texts = {
        b"LONG-SUMMARY": b"y" * 40_000,
        b"LONG-NOTE": ("n" * 16_000 + "😀" * 8_400).encode(),  # over in UTF-16 units only
    }
    with zipfile.ZipFile(book) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    for name, data in members.items():
        for old, new in long_texts.items():
            members[name] = data = data.replace(b">" + old + b"<", b">" + new + b"<")
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    result = CliRunner().invoke(
        cli, ["validate", "-w", str(book), "--format", "json", "--as-of", AT]
    )
    import json

    problems = json.loads(result.output)["problems"]
    found = {(p["sheet"], p["cell"]) for p in problems if p["code"] == "text_too_long"}
    assert found == {("Interactions", "H3"), ("Customers", "J2")}
    assert result.exit_code == 1


# ------------------------------------------------------------------ 12.7 _xHHHH_ escaping


@pytest.mark.parametrize(
    "text", ["_x005F_x0041_", "_x0041_", "a_x0041__x0042_b", "_x005f_", "__x0041___", "_xABCD"]
)
def test_text_that_looks_like_an_excel_escape_round_trips(runner, tmp_path, text):
    book = contract_tables(tmp_path / "crm.xlsx")
    result = log(runner, book, summary=text)
    assert result.exit_code == 0, result.output
    assert calamine_rows(book, "Interactions")[3][7] == text
    # openpyxl hands inline text over as stored, _xHHHH_ undecoded: decoding it as Excel
    # does (left to right, each sequence once) must give the text back.
    from openpyxl.utils.escape import unescape

    stored = openpyxl.load_workbook(book)["Interactions"]["H4"].value
    assert unescape(stored) == text
