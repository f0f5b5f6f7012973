"""``sheetcrm import``: a CSV as Excel really saves it, imported once however often it is run."""

from __future__ import annotations

import csv
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
import python_calamine

from sheetcrm.cli import cli
from tests.conftest import CORPUS

AS_OF = "2026-11-20"

# What Excel in a Norwegian locale writes for "CSV (semikolonseparert)": Windows-1252, ';'.
NORWEGIAN = (
    "Navn;E-post;Telefon;Kunde siden;Notater;Ansvarlig\r\n"
    "Kåre Ærlig;kare@example.no;99887766;2024-03-01;Liker blå sykler;Kari\r\n"
    "Jane Doe;jane@example.com;;;;Kari\r\n"
)


def rows(path: Path, sheet: str = "Customers") -> list[list]:
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    return wb.get_sheet_by_name(sheet).to_python()


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def invoke(runner, *args: str, code: int = 0):
    result = runner.invoke(cli, list(args))
    assert "Traceback" not in result.output
    assert result.exit_code == code, result.output
    return result


@pytest.fixture
def book(runner, tmp_path: Path) -> Path:
    """A fresh init workbook with Kari and Per on the Staff sheet."""
    path = tmp_path / "crm.xlsx"
    invoke(runner, "init", str(path))
    staff = tmp_path / "staff.csv"
    staff.write_text("name,active\nKari,yes\nPer,yes\n", encoding="utf-8")
    invoke(runner, "import", "Staff", str(staff), "-w", str(path))
    return path


def write(tmp_path: Path, text: str, encoding: str = "cp1252", name: str = "kunder.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_windows_1252_semicolon_file_is_read_and_said_so(runner, book, tmp_path):
    csv_path = write(tmp_path, NORWEGIAN)
    result = invoke(
        runner, "import", "Customers", str(csv_path), "-w", str(book), "--default", "stage=customer"
    )
    assert "as Windows-1252 text separated by ';'" in result.stdout
    assert "Imported 2 rows into Customers (C-0001 to C-0002)" in result.stdout
    ws = openpyxl.load_workbook(book)["Customers"]
    header = [c.value for c in ws[1]]
    kare = {h: c.value for h, c in zip(header, ws[2], strict=False)}
    assert kare["name"] == "Kåre Ærlig" and kare["email"] == "kare@example.no"
    assert kare["notes"] == "Liker blå sykler" and kare["owner"] == "Kari"
    assert kare["since"] == datetime(2024, 3, 1)  # "Kunde siden" is since, stored as a date
    assert kare["stage"] == "customer"  # from --default
    assert invoke(runner, "validate", "-w", str(book), "--as-of", AS_OF).exit_code == 0


@pytest.mark.parametrize(
    ("encoding", "bom", "sep", "said"),
    [
        ("utf-8", b"\xef\xbb\xbf", "\t", "UTF-8 with BOM text separated by tabs"),
        ("utf-8", b"", ",", "UTF-8 text separated by ','"),
        ("cp1252", b"", ",", "Windows-1252 text separated by ','"),
    ],
)
def test_encodings_and_separators(runner, book, tmp_path, encoding, bom, sep, said):
    text = sep.join(["Name", "Email", "Owner", "Stage", "Notes"]) + "\n"
    text += sep.join(["Åse Ødegård", "ase@example.no", "Per", "client", '"a, b; c"']) + "\n"
    path = tmp_path / "in.csv"
    path.write_bytes(bom + text.encode(encoding))
    result = invoke(runner, "import", "Customers", str(path), "-w", str(book))
    assert said in result.stdout
    row = rows(book)[1]
    assert row[1] == "Åse Ødegård" and row[3] == "ase@example.no" and row[-1] == "a, b; c"


def test_reimport_skips_and_counts_and_writes_nothing(runner, book, tmp_path):
    csv_path = write(tmp_path, NORWEGIAN)
    args = ["import", "Customers", str(csv_path), "-w", str(book), "--default", "stage=customer"]
    invoke(runner, *args)
    before = parts(book)
    again = invoke(runner, *args)
    assert "Skipped 2 rows already in Customers (same id or email; lines 2, 3)" in again.stdout
    assert "--update" in again.stdout and "Nothing new to import" in again.stdout
    assert parts(book) == before
    assert len(rows(book)) == 3

    # Same people, different case in the address, plus one new: only the new one is added.
    more = (
        NORWEGIAN.replace("jane@example.com", "JANE@Example.com")
        + "Nils;nils@example.no;;;;Per\r\n"
    )
    result = invoke(runner, *args[:2], str(write(tmp_path, more, name="more.csv")), *args[3:])
    assert "Imported 1 row into Customers (C-0003)" in result.stdout
    assert "Skipped 2 rows" in result.stdout
    assert [r[1] for r in rows(book)[1:]] == ["Kåre Ærlig", "Jane Doe", "Nils"]


def test_update_changes_only_the_cells_that_differ(runner, book, tmp_path):
    invoke(
        runner, "import", "Customers", str(write(tmp_path, NORWEGIAN)), "-w", str(book),
        "--default", "stage=customer",
    )  # fmt: skip
    before = rows(book)
    changed = "E-post;Notater;Telefon\r\nkare@example.no;Vil ha katalog;\r\n"
    path = write(tmp_path, changed, name="changes.csv")
    dry = invoke(runner, "import", "Customers", str(path), "-w", str(book), "--update", "--dry-run")
    assert "1 row already in Customers would be updated: C-0001" in dry.stdout
    result = invoke(runner, "import", "Customers", str(path), "-w", str(book), "--update")
    assert "1 row already in Customers updated: C-0001" in result.stdout
    after = rows(book)
    header = after[0]
    assert after[1][header.index("notes")] == "Vil ha katalog"
    # Every other cell is as before: an empty CSV cell does not clear the phone.
    for i, (old, new) in enumerate(zip(before[1], after[1], strict=True)):
        if header[i] != "notes":
            assert old == new, header[i]
    assert after[2] == before[2]


def test_allow_duplicates_adds_a_shared_email_with_a_new_id(runner, book, tmp_path):
    csv_path = write(tmp_path, NORWEGIAN)
    args = ["import", "Customers", str(csv_path), "-w", str(book), "--default", "stage=prospect"]
    invoke(runner, *args)
    forced = invoke(runner, *args, "--allow-duplicates")
    assert "Imported 2 rows into Customers (C-0003 to C-0004)" in forced.stdout
    assert "also the email of C-0001" in forced.stderr
    both = invoke(runner, *args, "--allow-duplicates", "--update", code=2)
    assert "not both" in both.output


def test_errors_are_sorted_by_line_and_nothing_is_written(runner, book, tmp_path):
    text = (
        "name,email,owner,stage\n"
        "Ann,ann@example.com,Kari,vip\n"  # line 2: stage
        "Bo,not-an-address,Kari,customer\n"  # line 3: email (a column left of stage)
        '"Cy\nwith a second line",cy@example.com,Nobody,customer\n'  # lines 4-5: owner
        "Di,di@example.com,Kari,vip\n"  # line 6: stage
    )
    path = write(tmp_path, text, encoding="utf-8")
    before = parts(book)
    result = invoke(runner, "import", "Customers", str(path), "-w", str(book), code=2)
    lines = [ln.strip() for ln in result.stderr.splitlines() if ln.strip().startswith("line ")]
    assert [ln.split(",")[0] for ln in lines] == ["line 2", "line 3", "line 4", "line 6"]
    assert lines[1].startswith("line 3, email")
    assert parts(book) == before


def test_dry_run_shows_the_first_rows_as_written(runner, book, tmp_path):
    csv_path = write(tmp_path, NORWEGIAN)
    before = parts(book)
    result = invoke(
        runner, "import", "Customers", str(csv_path), "-w", str(book), "--dry-run",
        "--default", "stage=customer",
    )  # fmt: skip
    assert "2 rows would be added to Customers; nothing was written (--dry-run)" in result.stdout
    shown = [ln for ln in result.stdout.splitlines() if ln.startswith("  customer_id: ")]
    assert shown[0].startswith("  customer_id: C-0001 | name: Kåre Ærlig | email: kare@example.no")
    assert "since: 2024-03-01" in shown[0] and "stage: customer" in shown[0]
    assert parts(book) == before


def test_rows_repeated_in_the_file_are_added_once(runner, book, tmp_path):
    text = "name,email,owner,stage\nAnn,ann@example.com,Kari,customer\n"
    text += "Ann,ANN@example.com,Kari,customer\n"
    result = invoke(
        runner, "import", "Customers", str(write(tmp_path, text, "utf-8")), "-w", str(book)
    )
    assert "Imported 1 row " in result.stdout
    assert "Skipped 1 row repeated in the file (line 3)" in result.stdout


@pytest.mark.skipif(
    not (CORPUS / "crm-samples" / "chinook").is_dir(), reason="crm-samples corpus not present"
)
def test_chinook_customers_import_once(runner, book, tmp_path):
    """The real Chinook customer table as exported: FirstName/LastName, Email, Phone, Company."""
    src = CORPUS / "crm-samples" / "chinook" / "Customer.csv"
    with src.open(encoding="utf-8") as fh:
        expected = list(csv.DictReader(fh))
    args = ["import", "Customers", str(src), "-w", str(book), "--default", "owner=Kari",
            "--default", "stage=customer"]  # fmt: skip
    first = invoke(runner, *args)
    assert "as UTF-8 text separated by ','" in first.stdout
    assert f"Imported {len(expected)} rows" in first.stdout
    assert "SupportRepId" in first.stderr  # named as ignored, not silently dropped
    got = rows(book)
    header = got[0]
    by_email = {r[header.index("email")]: r for r in got[1:]}
    for person in expected:
        row = by_email[person["Email"]]
        assert row[header.index("name")] == f"{person['FirstName']} {person['LastName']}"
        assert row[header.index("company")] == person["Company"]
        assert str(row[header.index("customer_id")]) == person["CustomerId"]
    again = invoke(runner, *args)
    assert f"Skipped {len(expected)} rows already in Customers" in again.stdout
    assert len(rows(book)) == len(expected) + 1
    assert invoke(runner, "validate", "-w", str(book), "--as-of", AS_OF).exit_code == 0


def test_a_workbook_given_as_the_csv_is_refused_plainly(runner, book, tmp_path):
    result = invoke(runner, "import", "Customers", str(book), "-w", str(book), code=2)
    assert "crm.xlsx is an Excel workbook, not a CSV file" in result.stderr
    assert "Save As > CSV" in result.stderr


def test_a_default_for_another_sheet_is_refused(runner, book, tmp_path):
    csv_path = write(tmp_path, NORWEGIAN)
    result = invoke(
        runner, "import", "Customers", str(csv_path), "-w", str(book), "--default", "severity=high",
        code=2,
    )  # fmt: skip
    assert "default severity= is not a column of the Customers sheet" in result.stderr
    assert len(rows(book)) == 1
