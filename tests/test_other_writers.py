"""Workbooks written by other tools: opened, adopted and written with the same fidelity.

Each writer available here makes the same small owner workbook (a customer list
with the owner's own headers and a Stock sheet sheetcrm has no business with);
every command that writes runs on it through the CLI; then openpyxl and calamine
check that every original part is still there, the Stock sheet is byte-identical,
every original value is kept, the new records read back, and every XML part is
namespace-well-formed (an undeclared prefix is exactly what a careless splice makes).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import python_calamine as pc
import xlsxwriter
from click.testing import CliRunner
from lxml import etree

from sheetcrm.cli import cli
from sheetcrm.workbook.reader import sheet_table
from tests.conftest import CORPUS

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
X14AC = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"

CUSTOMERS = [
    ["Name", "E-mail", "Phone", "Notes"],
    ["Jane Doe", "jane@example.com", "+47 912 34 567", "VIP"],
    ["Ola Nordmann", "ola@example.com", "+47 913 00 000", "pays late"],
]
STOCK = [["Item", "Qty"], ["Bell", 3], ["Pump", 12]]


# --------------------------------------------------------------------------- the writers


def _openpyxl(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Customers"
    for row in CUSTOMERS:
        ws.append(row)
    stock = wb.create_sheet("Stock")
    for row in STOCK:
        stock.append(row)
    wb.save(path)


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        pd.DataFrame(CUSTOMERS[1:], columns=CUSTOMERS[0]),
        pd.DataFrame(STOCK[1:], columns=STOCK[0]),
    )


def _pandas(engine: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        customers, stock = _frames()
        with pd.ExcelWriter(path, engine=engine) as w:
            customers.to_excel(w, sheet_name="Customers", index=False)
            stock.to_excel(w, sheet_name="Stock", index=False)

    return write


def _xlsxwriter(path: Path) -> None:
    wb = xlsxwriter.Workbook(str(path))
    for name, rows in (("Customers", CUSTOMERS), ("Stock", STOCK)):
        ws = wb.add_worksheet(name)
        for i, row in enumerate(rows):
            ws.write_row(i, 0, row)
    wb.close()


def _libreoffice(path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed here")
    source = path.with_name("made-by-openpyxl.xlsx")
    _openpyxl(source)
    out = path.parent / "lo-out"
    profile = path.parent / "lo-profile"  # its own profile: parallel runs do not collide
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    shutil.move(out / source.name, path)


def _cell(ref: str, value: object) -> str:
    if isinstance(value, int | float):
        return f'<x:c r="{ref}"><x:v>{value}</x:v></x:c>'
    return f'<x:c r="{ref}" t="inlineStr"><x:is><x:t>{value}</x:t></x:is></x:c>'


def _sheet(rows: list[list[object]]) -> str:
    # inline strings, no <dimension>, no spans, the main namespace under the prefix x:,
    # and an attribute whose namespace is declared on the row itself
    body = "".join(
        f'<x:row r="{r}" xmlns:x14ac="{X14AC}" x14ac:dyDescent="0.25">'
        + "".join(_cell(f"{chr(65 + c)}{r}", v) for c, v in enumerate(row))
        + "</x:row>"
        for r, row in enumerate(rows, start=1)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><x:worksheet xmlns:x="{MAIN}">'
        f"<x:sheetData>{body}</x:sheetData></x:worksheet>"
    )


def _hand_made(path: Path) -> None:
    """What .NET writers produce: prefixes x: and d3p1:, the relationships namespace
    declared on <sheets> (not the root), the workbook part at book/main.xml (found only
    through _rels/.rels), absolute targets, styles with neither numFmts nor dxfs."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
            'openxmlformats.org/package/2006/content-types"><Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/book/main.xml" ContentType="{CT}.sheet.main+xml"/>'
            f'<Override PartName="/book/sheets/one.xml" ContentType="{CT}.worksheet+xml"/>'
            f'<Override PartName="/book/sheets/two.xml" ContentType="{CT}.worksheet+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{CT}.styles+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
            f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="book/main.xml"/>'
            "</Relationships>",
        )
        z.writestr(
            "book/main.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><x:workbook xmlns:x="{MAIN}">'
            f'<x:sheets xmlns:d3p1="{REL}"><x:sheet name="Customers" sheetId="1" d3p1:id="R1"/>'
            '<x:sheet name="Stock" sheetId="2" d3p1:id="R2"/></x:sheets></x:workbook>',
        )
        z.writestr(
            "book/_rels/main.xml.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
            f'<Relationship Id="R1" Type="{REL}/worksheet" Target="sheets/one.xml"/>'
            f'<Relationship Id="R2" Type="{REL}/worksheet" Target="/book/sheets/two.xml"/>'
            f'<Relationship Id="R3" Type="{REL}/styles" Target="/xl/styles.xml"/></Relationships>',
        )
        z.writestr("book/sheets/one.xml", _sheet(CUSTOMERS))  # type: ignore[arg-type]
        z.writestr("book/sheets/two.xml", _sheet(STOCK))
        z.writestr(
            "xl/styles.xml",  # where openpyxl looks, whatever the relationships say
            f'<?xml version="1.0" encoding="UTF-8"?><x:styleSheet xmlns:x="{MAIN}">'
            '<x:fonts count="1"><x:font><x:sz val="11"/><x:name val="Calibri"/></x:font>'
            '</x:fonts><x:fills count="2"><x:fill><x:patternFill patternType="none"/></x:fill>'
            '<x:fill><x:patternFill patternType="gray125"/></x:fill></x:fills>'
            '<x:borders count="1"><x:border><x:left/><x:right/><x:top/><x:bottom/>'
            '<x:diagonal/></x:border></x:borders><x:cellStyleXfs count="1"><x:xf numFmtId="0" '
            'fontId="0" fillId="0" borderId="0"/></x:cellStyleXfs><x:cellXfs count="1">'
            '<x:xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></x:cellXfs>'
            "</x:styleSheet>",
        )


WRITERS: dict[str, Callable[[Path], None]] = {
    "openpyxl": _openpyxl,
    "pandas-openpyxl": _pandas("openpyxl"),
    "pandas-xlsxwriter": _pandas("xlsxwriter"),
    "xlsxwriter": _xlsxwriter,
    "libreoffice": _libreoffice,
    "hand-made-x-prefix": _hand_made,
}


# --------------------------------------------------------------------------- checks


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}


def _sheet_part(parts: dict[str, bytes], sheet: str) -> str:
    """The part holding ``sheet``, found as a reader must: _rels/.rels, workbook, its rels."""
    wb_part = _wb_part(parts)
    wb = etree.fromstring(parts[wb_part])
    rid = next(
        el.get(f"{{{REL}}}id") for el in wb.iter(f"{{{MAIN}}}sheet") if el.get("name") == sheet
    )
    folder, name = wb_part.rsplit("/", 1)
    wb_rels = etree.fromstring(parts[f"{folder}/_rels/{name}.rels"])
    target = next(el.get("Target") for el in wb_rels if el.get("Id") == rid)
    return target.lstrip("/") if target.startswith("/") else f"{folder}/{target}"


def _values(path: Path, sheet: str) -> tuple[list[list[object]], list[list[object]]]:
    """The sheet's values as openpyxl and as calamine read them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path)
    by_openpyxl = [list(r) for r in wb[sheet].iter_rows(values_only=True)]
    try:
        book = pc.CalamineWorkbook.from_path(str(path))
    except pc.CalamineError:
        # calamine looks for xl/workbook.xml only; sheetcrm's reader hands it the
        # package laid out the usual way, which is what is checked here then
        return by_openpyxl, sheet_table(path.read_bytes(), sheet)
    return by_openpyxl, book.get_sheet_by_name(sheet).to_python()


def _invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert "Traceback" not in result.output
    assert "unexpected problem" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code in (0, 1), f"{args[0]}: {result.output}"
    return result.output


@pytest.fixture(params=list(WRITERS), ids=list(WRITERS))
def owner_book(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / f"{request.param}.xlsx"
    WRITERS[request.param](path)
    return path


def test_every_writers_workbook_is_adopted_and_written_keeping_everything(
    owner_book: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    before = _parts(owner_book)
    stock_part = _sheet_part(before, "Stock")
    w = str(owner_book)

    _invoke(runner, "init", "--into", w)
    staff = tmp_path / "staff.csv"
    staff.write_text("name,email,department,active\nKari,kari@example.com,Workshop,yes\n")
    _invoke(runner, "import", "Staff", str(staff), "-w", w)
    customers = tmp_path / "customers.csv"
    customers.write_text("name,email,owner,stage\nKnut Hansen,knut@example.com,Kari,customer\n")
    _invoke(runner, "import", "Customers", str(customers), "-w", w)
    _invoke(
        runner, "log", "-w", w, "--customer", "knut@example.com", "--channel", "phone",
        "--type", "support", "--summary", "Gears slip", "--staff", "Kari",
        "--date", "2026-11-20 10:00",
    )  # fmt: skip
    _invoke(
        runner, "complaint", "open", "-w", w, "--customer", "knut@example.com",
        "--severity", "high", "--summary", "Double billed", "--notify", "Workshop",
        "--at", "2026-11-20 11:00",
    )  # fmt: skip
    _invoke(runner, "validate", "-w", w, "--mark")

    after = _parts(owner_book)
    # every original part is still there; the sheet sheetcrm had no business with is untouched
    assert set(before) <= set(after)

    # validate --mark makes its problems sheet the one Excel opens on, so another sheet
    # may lose its tabSelected flag; nothing else of it may change
    def unselected(xml: bytes) -> bytes:
        return re.sub(rb'\stabSelected="[^"]*"', b"", xml)

    assert unselected(after[stock_part]) == unselected(before[stock_part])
    # every part is namespace-well-formed XML: no prefix used without its declaration
    for name, data in after.items():
        if name.endswith((".xml", ".rels")):
            etree.fromstring(data)  # raises on "Namespace prefix r ... is not defined"
    # each sheet sheetcrm added is listed in the main namespace with its relationship id
    wb_root = etree.fromstring(after[_wb_part(after)])
    sheets = list(wb_root.iter(f"{{{MAIN}}}sheet"))
    assert {"Customers", "Stock", "Interactions", "Complaints", "Staff"} <= {
        s.get("name") for s in sheets
    }
    assert all(s.get(f"{{{REL}}}id") for s in sheets)

    # the owner's values, as two independent readers see them
    for sheet, rows in (("Stock", STOCK), ("Customers", CUSTOMERS)):
        by_openpyxl, by_calamine = _values(owner_book, sheet)
        for r, row in enumerate(rows):
            assert by_openpyxl[r][: len(row)] == row, (sheet, r)
            assert [v if v != "" else None for v in by_calamine[r][: len(row)]] == [
                float(v) if isinstance(v, int) else v for v in row
            ], (sheet, r)
    # the new records, as both readers see them
    for sheet, text in (
        ("Customers", "Knut Hansen"),
        ("Interactions", "Gears slip"),
        ("Complaints", "Double billed"),
    ):
        by_openpyxl, by_calamine = _values(owner_book, sheet)
        assert any(text in row for row in by_openpyxl), sheet
        assert any(text in row for row in by_calamine), sheet


def _wb_part(parts: dict[str, bytes]) -> str:
    rels = etree.fromstring(parts["_rels/.rels"])
    return next(
        el.get("Target").lstrip("/")
        for el in rels
        if el.get("Type", "").endswith("/officeDocument")
    )


# --------------------------------------------------------------------------- the real corpus


def _corpus_files() -> list[Path]:
    folder = CORPUS / "xlsx-real"
    return sorted(folder.glob("*.xls*")) if folder.is_dir() else []


@pytest.mark.skipif(not _corpus_files(), reason=f"the shared corpus is not at {CORPUS}")
@pytest.mark.parametrize("source", _corpus_files(), ids=lambda p: p.name)
def test_real_workbooks_validate_and_take_a_write_without_an_unexpected_problem(
    source: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    path = tmp_path / source.name
    shutil.copyfile(source, path)
    for args in (
        ["validate", "-w", str(path)],
        ["init", "--into", str(path)],
        ["validate", "-w", str(path)],
    ):
        result = runner.invoke(cli, args)
        assert "Traceback" not in result.output
        assert "unexpected problem" not in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert result.exit_code in (0, 1, 2), result.output
        if result.exit_code == 2:  # refused: one located line naming the file, and a hint
            assert result.stderr.startswith("Error: ") and source.name in result.stderr
            break
