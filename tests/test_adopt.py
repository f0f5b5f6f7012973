"""``init --into`` adopts the owner's own workbook: their sheets, their words, their rows.

Workbooks are made the way owners make them (openpyxl, xlsxwriter with an Excel
Table, Norwegian headers) and checked after adoption with two readers.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from datetime import date, datetime, time
from pathlib import Path

import openpyxl
import pytest
import python_calamine
import xlsxwriter

from sheetcrm.cli import cli
from sheetcrm.contract import SHEETS, column_for_header, find_sheet, match_headers

AS_OF = "2026-11-20"


def values(path: Path) -> dict[str, list[list]]:
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    return {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def problems(runner, path: Path) -> list[dict]:
    result = runner.invoke(cli, ["validate", "-w", str(path), "--format", "json", "--as-of", AS_OF])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)["problems"]


@pytest.fixture
def openpyxl_book(tmp_path: Path) -> Path:
    """What an owner's own openpyxl export looks like: a customer list and a stock list."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Customers"
    ws.append(["Name", "E-mail", "Phone", "Notes"])
    ws.append(["Jane Doe", "jane@example.com", "+47 912 34 567", "  likes blue"])
    ws.append(["Ola Nordmann", "ola@example.com", None, None])
    ws.append(["Åse Ødegård", "ase@example.no", "41234567", "Bestilte 3 sykler"])
    stock = wb.create_sheet("Stock")
    stock.append(["Item", "Qty", "Price"])
    stock.append(["Bike", 3, 1290.5])
    stock["D2"] = "=B2*C2"
    path = tmp_path / "owner.xlsx"
    wb.save(path)
    return path


@pytest.fixture
def norwegian_book(tmp_path: Path) -> Path:
    """An xlsxwriter workbook with Norwegian headers in an Excel Table, and an owner column."""
    path = tmp_path / "kunder.xlsx"
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet("Kunder")
    day = book.add_format({"num_format": "dd.mm.yyyy"})
    headers = ["Navn", "E-post", "Tlf", "Kunde siden", "Notater", "Bedrift", "Ansvarlig"]
    rows = [
        ["Kari Nordmann", "kari@example.no", "99887766", date(2020, 5, 1), "fast kunde", "", "Per"],
        ["Per Hansen", "per@example.no", "", None, "", "Hansen AS", ""],
    ]
    ws.add_table(
        0,
        0,
        len(rows),
        len(headers) - 1,
        {"name": "Kundeliste", "columns": [{"header": h} for h in headers]},
    )
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row):
            if isinstance(v, date):
                ws.write_datetime(r, c, datetime.combine(v, time()), day)
            elif v:
                ws.write_string(r, c, v)
    ws.data_validation(1, 6, 100, 6, {"validate": "list", "source": ["Per", "Kari"]})
    book.add_worksheet("Lager").write_string(0, 0, "Vare")
    book.close()
    return path


# ------------------------------------------------------------------------- the contract


def test_synonyms_live_in_the_contract_and_names_beat_synonyms():
    customers = find_sheet("Kunder")
    assert customers is not None and customers.name == "Customers"
    assert find_sheet("Customer list") is customers and find_sheet("Stock") is None
    words = {"E-mail": "email", "Email": "email", "E-post": "email", "Navn": "name",
             "Kunde": "name", "Mobile": "phone", "Tlf": "phone", "Mobil": "phone",
             "Telefon": "phone", "Customer since": "since", "Kunde siden": "since",
             "Notater": "notes", "Firma": "company", "Bedrift": "company"}  # fmt: skip
    for text, column in words.items():
        assert column_for_header(customers, text) == column, text
    # A column named as the contract names it wins over a synonym further left.
    assert match_headers(customers, [(0, "Navn"), (1, "name")]) == {"name": 1}
    # Every synonym points at a real column of its sheet.
    from sheetcrm.contract import HEADER_SYNONYMS, SHEET_BY_NAME

    for sheet, columns in HEADER_SYNONYMS.items():
        assert set(columns) <= set(SHEET_BY_NAME[sheet].column_by_name), sheet


# ------------------------------------------------------------------------- openpyxl


def test_openpyxl_customer_list_is_adopted_and_validates(runner, openpyxl_book):
    before_values = values(openpyxl_book)
    before_parts = parts(openpyxl_book)

    bare = runner.invoke(cli, ["init", "--into", str(openpyxl_book), "--dry-run"])
    assert bare.exit_code == 0, bare.output
    assert "stage stays empty in 3 rows (rows 2-4)" in bare.stdout
    args = ["init", "--into", str(openpyxl_book), "--default", "owner=Kari", "--default",
            "stage=Customer"]  # fmt: skip
    dry = runner.invoke(cli, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert parts(openpyxl_book) == before_parts, "--dry-run wrote to the workbook"
    assert "nothing written" in dry.stdout
    assert "Customers: give 3 rows without an id the ids C-0001 to C-0003" in dry.stdout
    assert "Notices: add the sheet" in dry.stdout
    assert "stays empty" not in dry.stdout
    assert "'Stock'" in dry.stdout

    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    # --dry-run printed exactly what was then done
    planned = [ln.strip() for ln in dry.stdout.splitlines()[1:]]
    done = [ln.strip() for ln in result.stdout.splitlines()[1:-1]]
    assert done == planned

    assert problems(runner, openpyxl_book) == []

    after = values(openpyxl_book)
    assert after["Stock"] == before_values["Stock"]
    customers = after["Customers"]
    assert customers[0][:4] == ["Name", "E-mail", "Phone", "Notes"]  # the owner's columns stay
    header = customers[0]
    assert header[4:] == [
        "customer_id", "company", "preferred_channel", "owner", "stage", "segment", "since",
        "do_not_contact",
    ]  # fmt: skip
    for old, new in zip(before_values["Customers"], customers, strict=True):
        assert new[:4] == old
    col = {name: header.index(name) for name in header}
    assert [r[col["customer_id"]] for r in customers[1:]] == ["C-0001", "C-0002", "C-0003"]
    assert {r[col["owner"]] for r in customers[1:]} == {"Kari"}
    assert {r[col["stage"]] for r in customers[1:]} == {"customer"}
    assert after["Staff"][1][0] == "Kari"
    assert set(after) >= {s.name for s in SHEETS}

    after_parts = parts(openpyxl_book)
    assert set(before_parts) <= set(after_parts)
    changed = {n for n in before_parts if after_parts[n] != before_parts[n]}
    assert changed <= {
        "xl/worksheets/sheet1.xml",  # Customers: new columns, ids, defaults, drop-downs
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "[Content_Types].xml",
        "xl/styles.xml",
        "docProps/app.xml",
    }, changed
    assert "xl/worksheets/sheet2.xml" not in changed  # Stock, byte for byte

    # A second reader sees the drop-downs and the formula the owner had.
    wb = openpyxl.load_workbook(openpyxl_book)
    assert wb["Stock"]["D2"].value == "=B2*C2"
    rules = {str(dv.sqref): dv for dv in wb["Customers"].data_validations.dataValidation}
    stage = next(dv for ref, dv in rules.items() if ref.startswith("I2"))
    assert stage.type == "list" and "prospect" in stage.formula1
    owner = next(dv for ref, dv in rules.items() if ref.startswith("H2"))
    assert owner.formula1 == "Staff!$A$2:$A$5000"
    assert wb["Customers"].column_dimensions["K"].number_format == "yyyy-mm-dd"

    again = runner.invoke(cli, ["init", "--into", str(openpyxl_book)])
    assert again.exit_code == 0 and "nothing was changed" in again.stdout, again.output


def test_log_and_customer_add_work_on_the_adopted_openpyxl_book(runner, openpyxl_book):
    runner.invoke(
        cli, ["init", "--into", str(openpyxl_book), "--default", "owner=Kari",
              "--default", "stage=customer"],
    )  # fmt: skip
    log = runner.invoke(
        cli,
        ["log", "-w", str(openpyxl_book), "--customer", "C-0002", "--channel", "phone",
         "--type", "enquiry", "--summary", "Asked about tyres", "--staff", "Kari",
         "--date", "2026-11-19 10:00"],
    )  # fmt: skip
    assert log.exit_code == 0, log.output
    assert problems(runner, openpyxl_book) == []


# ------------------------------------------------------------------------- Norwegian


def test_norwegian_table_is_adopted_widened_and_named_by_validate(runner, norwegian_book):
    result = runner.invoke(cli, ["init", "--into", str(norwegian_book)])
    assert result.exit_code == 0, result.output
    assert "'Navn' as name" in result.stdout and "'E-post' as email" in result.stdout
    assert "'Ansvarlig' as owner" in result.stdout

    found = problems(runner, norwegian_book)
    # Only what the owner alone can supply is left: an owner for Per, every stage.
    assert {p["code"] for p in found} == {"missing_value"}, found
    assert sorted(p["cell"] for p in found) == ["G3", "J2", "J3"]
    assert all(p["sheet"] == "Kunder" for p in found)

    wb = openpyxl.load_workbook(norwegian_book)
    ws = wb["Kunder"]
    header = [c.value for c in ws[1]]
    assert header[:7] == ["Navn", "E-post", "Tlf", "Kunde siden", "Notater", "Bedrift", "Ansvarlig"]
    assert ws.tables["Kundeliste"].ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}3"
    assert [c.name for c in ws.tables["Kundeliste"].tableColumns][7:] == header[7:]
    # The owner's own drop-down on Ansvarlig stays the only one there.
    on_g = [dv for dv in ws.data_validations.dataValidation if str(dv.sqref).startswith("G")]
    assert len(on_g) == 1 and on_g[0].formula1 == '"Per,Kari"'
    assert ws["D2"].number_format == "dd.mm.yyyy"  # the owner's format untouched
    assert [r[0] for r in values(norwegian_book)["Staff"][1:]] == ["Per"]

    fill = runner.invoke(
        cli,
        ["init", "--into", str(norwegian_book), "--default", "owner=Kari", "--default",
         "stage=prospect"],
    )  # fmt: skip
    assert fill.exit_code == 0, fill.output
    assert "fill the empty owner of 1 row with 'Kari' (row 3)" in fill.stdout
    assert problems(runner, norwegian_book) == []
    rows = values(norwegian_book)["Kunder"]
    assert rows[1][6] == "Per" and rows[2][6] == "Kari"  # only the empty cell was filled

    # Writes go to the owner's own columns: E-post, not a new "email" column.
    add = runner.invoke(
        cli,
        ["customer", "add", "-w", str(norwegian_book), "--name", "Liv Berg",
         "--email", "liv@example.no", "--owner", "Kari"],
    )  # fmt: skip
    assert add.exit_code == 0, add.output
    rows = values(norwegian_book)["Kunder"]
    assert len(rows[0]) == len(header) and rows[-1][:2] == ["Liv Berg", "liv@example.no"]


def test_a_bad_default_is_refused_and_nothing_is_written(runner, openpyxl_book):
    before = parts(openpyxl_book)
    result = runner.invoke(cli, ["init", "--into", str(openpyxl_book), "--default", "stage=vip"])
    assert result.exit_code == 2
    assert "stage=vip is not one of" in result.stderr and "Traceback" not in result.output
    unknown = runner.invoke(cli, ["init", "--into", str(openpyxl_book), "--default", "colour=red"])
    assert unknown.exit_code == 2 and "COLUMN=VALUE" in unknown.stderr
    assert parts(openpyxl_book) == before


def test_existing_ids_are_continued_not_restarted(runner, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Customer list"
    ws.append(["Customer ID", "Customer name", "Email", "Owner", "Stage"])
    ws.append(["K-17", "Jane", "jane@example.com", "Kari", "customer"])
    ws.append([None, "Ola", "ola@example.com", "Kari", "customer"])
    path = tmp_path / "list.xlsx"
    wb.save(path)
    result = runner.invoke(cli, ["init", "--into", str(path)])
    assert result.exit_code == 0, result.output
    rows = values(path)["Customer list"]
    assert [r[0] for r in rows[1:]] == ["K-17", "K-18"]
    assert problems(runner, path) == []


# ------------------------------------------------------------------------- named by headings


def pandas_book(path: Path, *, with_formula: bool = False) -> Path:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "Name": ["Jane Doe", "Ola Nordmann"],
            "Email": ["jane@example.com", "ola@example.com"],
            "Mobile": ["+47 912 34 567", "+47 413 00 000"],
            "Owner": ["Kari", "Per"],
        }
    )
    frame.to_excel(path, index=False)  # pandas calls the sheet Sheet1
    if with_formula:
        wb = openpyxl.load_workbook(path)
        wb.create_sheet("Summary")["A1"] = "=COUNTA(Sheet1!A:A)-1"
        wb.save(path)
    return path


def test_a_customer_list_on_sheet1_is_found_by_its_headings_and_renamed(runner, tmp_path):
    path = pandas_book(tmp_path / "pandas.xlsx")
    before = values(path)["Sheet1"]
    result = runner.invoke(cli, ["init", "--into", str(path), "--default", "stage=customer"])
    assert result.exit_code == 0, result.output
    assert "rename your sheet 'Sheet1' to 'Customers'" in result.stdout
    assert problems(runner, path) == []
    after = values(path)
    assert "Sheet1" not in after
    assert [r[:4] for r in after["Customers"]] == before
    assert [r[0] for r in after["Staff"][1:]] == ["Kari", "Per"]
    assert openpyxl.load_workbook(path).sheetnames[0] == "Customers"


def test_a_list_that_formulas_name_is_not_renamed_but_explained(runner, tmp_path):
    path = pandas_book(tmp_path / "pandas.xlsx", with_formula=True)
    result = runner.invoke(cli, ["init", "--into", str(path)])
    assert result.exit_code == 0, result.output
    assert "formulas refer to it by name; rename it 'Customers' in Excel" in result.stdout
    wb = openpyxl.load_workbook(path)
    assert "Sheet1" in wb.sheetnames and "Customers" not in wb.sheetnames
    assert wb["Summary"]["A1"].value == "=COUNTA(Sheet1!A:A)-1"


@pytest.mark.slow
def test_a_big_customer_list_is_adopted(runner, tmp_path):
    """20,000 customers without ids are adopted, every one given an id. (It once took
    minutes, row by row; how long it takes is bench/run.py's ``adopt`` case, not a timed
    test.)"""
    path = tmp_path / "big.xlsx"
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet("Customers")
    ws.write_row(0, 0, ["Name", "Email", "Owner"])
    for i in range(1, 20_001):
        ws.write_row(i, 0, [f"Person {i}", f"p{i}@example.com", "Kari"])
    book.close()
    result = runner.invoke(cli, ["init", "--into", str(path), "--default", "stage=customer"])
    assert result.exit_code == 0, result.output
    got = values(path)["Customers"]
    header = got[0]
    ids = [r[header.index("customer_id")] for r in got[1:]]
    assert ids[0] == "C-0001" and ids[-1] == "C-20000"
    assert len(set(ids)) == 20_000 and {r[header.index("stage")] for r in got[1:]} == {"customer"}
    assert [r[:3] for r in got[1:3]] == [
        ["Person 1", "p1@example.com", "Kari"],
        ["Person 2", "p2@example.com", "Kari"],
    ]


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice (soffice) is not installed")
def test_a_libreoffice_saved_workbook_is_adopted(runner, tmp_path):
    """The owner's list as LibreOffice Calc saves it (its own XML style and styles part)."""
    src = tmp_path / "src.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Kunder"
    ws.append(["Navn", "E-post", "Mobil", "Notater"])
    ws.append(["Kari Nordmann", "kari@example.no", "99887766", "fast kunde"])
    ws.append(["Per Hansen", "per@example.no", None, None])
    wb.create_sheet("Stock").append(["Item", "Qty"])
    wb.save(src)
    out = tmp_path / "out"
    subprocess.run(
        ["soffice", "--headless", "--norestore",
         f"-env:UserInstallation=file://{tmp_path / 'profile'}",
         "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(src)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    path = out / "src.xlsx"
    before = values(path)
    result = runner.invoke(
        cli, ["init", "--into", str(path), "--default", "owner=Kari", "--default", "stage=customer"]
    )
    assert result.exit_code == 0, result.output
    assert problems(runner, path) == []
    after = values(path)
    assert after["Stock"] == before["Stock"]
    assert [r[:4] for r in after["Kunder"]] == before["Kunder"]


def test_an_empty_staff_sheet_is_named_not_filled(runner, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Customers"
    ws.append(["Name", "Email", "Owner", "Stage"])
    ws.append(["Jane", "jane@example.com", "Kari", "customer"])
    wb.create_sheet("Staff")  # made, never filled in
    path = tmp_path / "empty-staff.xlsx"
    wb.save(path)
    result = runner.invoke(cli, ["init", "--into", str(path)])
    assert result.exit_code == 0, result.output
    assert "Staff: left as it is: it has no header row" in result.stdout
    found = problems(runner, path)
    # Left for the owner: the headings of Staff, and so Kari is not on it yet.
    assert {p["code"] for p in found if p["severity"] == "error"} == {
        "missing_column",
        "unknown_reference",
    }, found
    assert values(path)["Customers"][1][:4] == ["Jane", "jane@example.com", "Kari", "customer"]
