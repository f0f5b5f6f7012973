"""sheetcrm.xlsx.package: in-memory package editing that leaves everything else byte-identical."""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
import zipfile
from pathlib import Path

import openpyxl
import pytest
import python_calamine as pc

from sheetcrm.contract import normalize_header
from sheetcrm.errors import SheetCRMError
from sheetcrm.workbook.naming import package, package_from_path
from sheetcrm.xlsx.package import Package, excel_serial
from tests.writer_helpers import HEADERS, ROWS, build_workbook, parts

_ROOT = Path(__file__).resolve().parent.parent
CORPUS = _ROOT.parent / "shared" / "corpus" / "xlsx-real"
if not CORPUS.is_dir():  # CI checks out the repo with shared/ beside it
    CORPUS = _ROOT.parent.parent / "shared" / "corpus" / "xlsx-real"
SHEET = "xl/worksheets/sheet1.xml"
TABLE = "xl/tables/table1.xml"
LAST = len(ROWS) + 1  # Excel row of the last record in the fixture

NEW = {
    "interaction_id": "I-0004",
    "date": dt.datetime(2026, 11, 5, 8, 15),
    "customer_id": "C-0003",
    "staff": "Jane",
    "channel": "phone",
    "type": "support",
    "summary": "Called back about the invoice",
    "satisfaction": 4,
    "follow_up_on": dt.date(2026, 12, 1),
}


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return build_workbook(tmp_path / "crm.xlsx")


def _save(pkg: Package, path: Path) -> Path:
    path.write_bytes(pkg.to_bytes())
    return path


def _calamine(path: Path | bytes, sheet: str = "Interactions") -> list[list[object]]:
    wb = (
        pc.CalamineWorkbook.from_path(str(path))
        if isinstance(path, Path)
        else pc.CalamineWorkbook.from_filelike(io.BytesIO(path))
    )
    return wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def _openpyxl(path: Path, sheet: str = "Interactions"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return openpyxl.load_workbook(path)[sheet]


def test_append_and_update_touch_only_what_they_must(book: Path, tmp_path: Path) -> None:
    before = parts(book)
    pkg = package_from_path(book)
    assert pkg.append_rows("Interactions", [NEW]) == [LAST + 1]
    pkg.update_cells("Interactions", 3, {"outcome": "follow_up_needed"})
    after = parts(_save(pkg, tmp_path / "out.xlsx"))
    assert list(after) == list(before)  # same members, same order
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {SHEET, TABLE}  # no new style; xlsxwriter already set fullCalcOnLoad
    assert b'fullCalcOnLoad="1"' in after["xl/workbook.xml"]
    # the untouched records are byte-identical inside the sheet part too
    row2 = re.search(rb'<row r="2".*?</row>', before[SHEET]).group(0)
    assert row2 in after[SHEET]


def test_new_row_reads_back_with_calamine_and_openpyxl(book: Path, tmp_path: Path) -> None:
    pkg = package_from_path(book)
    pkg.append_rows("Interactions", [NEW])
    out = _save(pkg, tmp_path / "out.xlsx")
    rows = _calamine(out)
    new = rows[LAST]
    assert new[:5] == ["I-0004", dt.datetime(2026, 11, 5, 8, 15), "C-0003", "Jane", "phone"]
    assert new[7] == "Called back about the invoice"
    assert new[9] == 4 and new[10] == dt.date(2026, 12, 1)
    assert rows[:LAST] == _calamine(book)[:LAST]
    ws = _openpyxl(out)
    assert ws.cell(LAST + 1, 2).value == dt.datetime(2026, 11, 5, 8, 15)
    assert ws.cell(LAST + 1, 11).value == dt.datetime(2026, 12, 1)
    for col in range(1, len(HEADERS) + 1):  # every new cell is styled like the one above
        assert ws.cell(LAST + 1, col).style_id == ws.cell(LAST, col).style_id, col
    assert ws.cell(LAST + 1, 11).number_format == "dd.mm.yyyy"


def test_new_records_reuse_formatted_empty_rows(book: Path, tmp_path: Path) -> None:
    pkg = package_from_path(book)
    numbers = pkg.append_rows("Interactions", [NEW, {**NEW, "interaction_id": "I-0005"}])
    assert numbers == [LAST + 1, LAST + 2]  # not after the formatted empty rows
    data = pkg.read(SHEET)
    assert len(re.findall(rb'<row r="%d"' % (LAST + 1), data)) == 1
    assert re.search(rb'<row r="%d"' % (LAST + 3), data)  # the last empty row is kept
    out = _save(pkg, tmp_path / "out.xlsx")
    assert [r[0] for r in _calamine(out)[1:]] == ["I-0001", "I-0002", "I-0003", "I-0004", "I-0005"]


def test_table_validation_and_formats_grow_with_the_rows(book: Path) -> None:
    pkg = package_from_path(book)
    pkg.append_rows("Interactions", [NEW] * 5)
    end = LAST + 5  # past the formatted empty rows
    table = pkg.read(TABLE).decode()
    assert f'ref="A1:L{end}"' in table and f'<autoFilter ref="A1:L{end}"/>' in table
    sheet = pkg.read(SHEET).decode()
    assert '<dataValidation type="list"' in sheet and f'sqref="E2:E{end}"' in sheet
    assert f'<conditionalFormatting sqref="J2:J{end}">' in sheet
    assert f'<conditionalFormatting sqref="I2:I{end}">' in sheet
    assert f"<xm:sqref>J2:J{end}</xm:sqref>" in sheet  # the x14 data bar
    assert "<xm:sqref>O1</xm:sqref>" in sheet  # the sparkline stays where it is
    assert f'<dimension ref="A1:N{end}"/>' in sheet


def test_calc_on_load_is_added(book: Path) -> None:
    pkg = package_from_path(book)
    wb = pkg.read("xl/workbook.xml")
    pkg.write("xl/workbook.xml", re.sub(rb"<calcPr[^>]*/>", b"", wb))
    pkg.append_rows("Interactions", [NEW])
    calc = b'</definedNames><calcPr fullCalcOnLoad="1"/></workbook>'
    assert calc in pkg.read("xl/workbook.xml")


FORMULA_LIKE = ["=1+1", "@SUM(A1)", "+47 99 99 99 99", "-5", '=HYPERLINK("http://x")', "\tx"]


def test_formula_like_text_stays_text(book: Path, tmp_path: Path) -> None:
    pkg = package_from_path(book)
    rows = [{**NEW, "summary": text} for text in FORMULA_LIKE]
    numbers = pkg.append_rows("Interactions", rows)
    out = _save(pkg, tmp_path / "out.xlsx")
    got = _calamine(out)
    ws = _openpyxl(out)
    for text, r in zip(FORMULA_LIKE, numbers, strict=True):
        assert got[r - 1][7] == text
        cell = ws.cell(r, 8)
        assert cell.data_type == "s" and cell.value == text
        assert cell.quotePrefix  # Excel keeps it text when the owner edits it
        assert ws.cell(r, 8).alignment.wrap_text  # the column's own format is kept
    assert parts(out)["xl/styles.xml"].count(b'quotePrefix="1"') == 1  # one clone, re-used
    # a second run re-uses the clone made by the first
    pkg2 = package_from_path(out)
    pkg2.append_rows("Interactions", [{**NEW, "summary": "=2"}])
    assert "xl/styles.xml" not in pkg2.changed


TEXTS = [
    "line one\nline two\r\nline three\rend",
    "emoji 😀👍🏽 and a flag 🇳🇴",
    "עברית שלום and العربية مرحبا",
    "x" * 30_000,
    "  spaces kept  ",
    "<b>not markup</b> & \"quotes\" 'single'",
    "literal _x0041_ escape",
]


def test_text_round_trips_exactly(book: Path, tmp_path: Path) -> None:
    pkg = package_from_path(book)
    numbers = pkg.append_rows("Interactions", [{**NEW, "summary": t} for t in TEXTS])
    out = _save(pkg, tmp_path / "out.xlsx")
    got = _calamine(out)
    ws = _openpyxl(out)
    for text, r in zip(TEXTS, numbers, strict=True):
        assert got[r - 1][7] == text
        if "_x" not in text:  # openpyxl does not decode Excel's _xHHHH_ escapes
            assert ws.cell(r, 8).value == text


@pytest.mark.parametrize("bad", ["bell\x07", "nul\x00", "esc\x1b[0m", "lone \ud800", "\ufffe"])
def test_characters_xml_cannot_hold_are_refused(book: Path, bad: str) -> None:
    pkg = package_from_path(book)
    with pytest.raises(SheetCRMError) as err:
        pkg.append_rows("Interactions", [{**NEW, "summary": bad}])
    assert "summary" in str(err.value) and "U+" in str(err.value)
    assert not pkg.changed


def test_values_of_every_kind(book: Path, tmp_path: Path) -> None:
    pkg = package_from_path(book)
    r = pkg.append_rows(
        "Interactions",
        [{"interaction_id": 12345678901, "staff": True, "channel": False, "satisfaction": 2.5,
          "summary": None, "outcome": "", "complaint_id": -0.125}],
    )[0]  # fmt: skip
    out = _save(pkg, tmp_path / "out.xlsx")
    row = _calamine(out)[r - 1]
    assert row[0] == 12345678901 and row[3] is True and row[4] is False
    assert row[9] == 2.5 and row[7] == "" and row[8] == "" and row[11] == -0.125
    assert re.search(rb'<c r="H%d" s="3"/>' % r, pkg.read(SHEET))  # empty but styled
    with pytest.raises(SheetCRMError):
        pkg.append_rows("Interactions", [{"satisfaction": float("nan")}])


def test_dates_honour_date1904(tmp_path: Path) -> None:
    book = build_workbook(tmp_path / "mac.xlsx", date1904=True)
    pkg = package_from_path(book)
    assert pkg.date1904
    r = pkg.append_rows("Interactions", [NEW])[0]
    out = _save(pkg, tmp_path / "out.xlsx")
    row = _calamine(out)[r - 1]
    assert row[1] == dt.datetime(2026, 11, 5, 8, 15) and row[10] == dt.date(2026, 12, 1)
    assert _openpyxl(out).cell(r, 2).value == dt.datetime(2026, 11, 5, 8, 15)
    assert excel_serial(dt.date(2026, 12, 1), True) + 1462 == excel_serial(dt.date(2026, 12, 1))


def test_date_in_a_column_without_date_format_gets_one(book: Path, tmp_path: Path) -> None:
    pkg = package_from_path(book)
    pkg.append_rows(
        "Interactions", [{"staff": dt.datetime(2026, 1, 2, 3, 4), "type": dt.date(2026, 1, 2)}]
    )
    assert "xl/styles.xml" in pkg.changed
    out = _save(pkg, tmp_path / "out.xlsx")
    ws = _openpyxl(out)
    assert ws.cell(LAST + 1, 4).number_format == "yyyy-mm-dd hh:mm"
    assert ws.cell(LAST + 1, 7).number_format == "yyyy-mm-dd"
    assert _calamine(out)[LAST][6] == dt.date(2026, 1, 2)


def test_update_keeps_style_and_other_cells(book: Path, tmp_path: Path) -> None:
    pkg = package_from_path(book)
    values = {"outcome": "escalated", "follow_up_on": dt.date(2026, 1, 5),
              "complaint_id": "K-0009", "summary": None}  # fmt: skip
    pkg.update_cells("Interactions", 3, values)
    out = _save(pkg, tmp_path / "out.xlsx")
    before, after = _calamine(book), _calamine(out)
    assert after[2][8:12] == ["escalated", 5.0, dt.date(2026, 1, 5), "K-0009"]
    assert after[2][7] == ""
    assert after[2][:7] == before[2][:7]
    assert after[:2] == before[:2] and after[3:] == before[3:]
    ws_before, ws_after = _openpyxl(book), _openpyxl(out)
    for col in range(1, 13):
        assert ws_after.cell(3, col).style_id == ws_before.cell(3, col).style_id


def test_unknown_column_is_an_error_unless_ensured(book: Path, tmp_path: Path) -> None:
    pkg = package_from_path(book)
    with pytest.raises(SheetCRMError, match="no column"):
        pkg.append_rows("Interactions", [{"mood": "happy"}])
    with pytest.raises(SheetCRMError, match="no sheet"):
        pkg.append_rows("Nope", [NEW])
    assert pkg.ensure_columns("Interactions", ["Mood", "summary"]) == ["Mood"]
    r = pkg.append_rows("Interactions", [{**NEW, "mood": "happy"}])[0]
    table = pkg.read(TABLE).decode()
    assert f'ref="A1:M{r}"' in table and '<tableColumn id="13" name="Mood"/>' in table
    assert 'tableColumns count="13"' in table
    out = _save(pkg, tmp_path / "out.xlsx")
    rows = _calamine(out)
    assert rows[0][12] == "Mood" and rows[r - 1][12] == "happy"
    assert _openpyxl(out).tables["Interactions"].ref == f"A1:M{r}"


def test_header_matching_is_loose(book: Path) -> None:
    pkg = package_from_path(book)
    row, names = pkg.headers("Interactions")
    assert row == 1 and names[2] == "Customer ID"
    assert pkg.column_of("Interactions", "follow_up_on") == 10
    assert pkg.column_of("Interactions", "Follow-up on") == 10


def test_add_sheet(book: Path, tmp_path: Path) -> None:
    before = parts(book)
    pkg = package_from_path(book)
    pkg.add_sheet("Notices", ["When", "Notice"], [[dt.datetime(2026, 1, 1, 9), "=hi"]], [18, 40])
    out = _save(pkg, tmp_path / "out.xlsx")
    after = parts(out)
    changed = {n for n in before if before[n] != after[n]}
    assert changed <= {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                       "xl/styles.xml"}  # fmt: skip
    assert _calamine(out, "Notices") == [["When", "Notice"], [dt.datetime(2026, 1, 1, 9), "=hi"]]
    ws = _openpyxl(out, "Notices")
    assert ws.freeze_panes == "A2" and ws.cell(2, 2).data_type == "s"
    table = next(iter(ws.tables.values()))
    assert table.ref == "A1:B2" and table.tableStyleInfo.name == "TableStyleMedium2"
    again = package(out.read_bytes())
    assert again.sheet_names[-1] == "Notices"
    again.append_rows("Notices", [{"notice": "second"}])
    assert _calamine(again.to_bytes(), "Notices")[2][1] == "second"
    with pytest.raises(SheetCRMError):
        again.add_sheet("notices", ["x"])


@pytest.mark.parametrize(
    "data",
    [b"", b"not a zip", b"PK\x03\x04broken", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600],
)
def test_not_a_workbook(data: bytes) -> None:
    with pytest.raises(SheetCRMError):
        package(data)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus of real workbooks is absent")
def test_xml_bomb_is_refused() -> None:
    with pytest.raises(SheetCRMError, match="entit"):
        pkg = package((CORPUS / "poi-poc-xmlbomb.xlsx").read_bytes())
        pkg.headers(pkg.sheet_names[0])


def test_xml_bomb_is_refused_without_the_corpus(book: Path) -> None:
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    data = parts(book)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, body in data.items():
            zf.writestr(name, body.replace(b"?>", b"?>" + bomb, 1) if name == SHEET else body)
    pkg = package(out.getvalue())
    with pytest.raises(SheetCRMError, match="entit"):
        pkg.headers("Interactions")


def test_a_workbook_part_elsewhere_is_found_through_the_package_relationships(
    book: Path,
) -> None:
    """The workbook part is wherever _rels/.rels says, not necessarily xl/workbook.xml."""
    data = parts(book)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, body in data.items():
            if name == "_rels/.rels":
                body = body.replace(b"xl/workbook.xml", b"xl/book.xml")
            if name == "[Content_Types].xml":
                body = body.replace(b"/xl/workbook.xml", b"/xl/book.xml")
            zf.writestr({"xl/workbook.xml": "xl/book.xml"}.get(name, name), body)
            if name == "xl/_rels/workbook.xml.rels":
                zf.writestr("xl/_rels/book.xml.rels", body)
    pkg = package(out.getvalue())
    assert pkg.workbook_part == "xl/book.xml"
    assert pkg.sheet_part("Interactions") == SHEET
    pkg.add_sheet("Notes", ["note"])
    rels = pkg.read("xl/_rels/book.xml.rels")
    assert b"worksheets/sheet" in rels and pkg.has("xl/worksheets/sheet2.xml")


def _corpus() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.iterdir() if p.suffix in (".xlsx", ".xlsm"))


def _members(data: bytes) -> dict[str, bytes]:
    """Each member unpacked, or its stored bytes where it cannot be (a damaged member is
    copied as it is, never repaired or dropped)."""
    from sheetcrm.xlsx.zipstore import raw_member

    out = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            try:
                out[info.filename] = zf.read(info)
            except zipfile.BadZipFile:
                out[info.filename] = b"stored:" + raw_member(io.BytesIO(data), info)
    return out


@pytest.mark.parametrize("path", _corpus(), ids=lambda p: p.name)
def test_corpus_append(path: Path) -> None:
    data = path.read_bytes()
    try:
        pkg = package(data, path.name)
        sheet = next(s.name for s in pkg.sheets if s.kind == "worksheet")
        header_row, names = pkg.headers(sheet)
    except SheetCRMError:
        return  # refused cleanly: that is the promise
    try:
        cal = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
        cal.get_sheet_by_name(sheet).to_python()
    except Exception:
        pytest.skip("calamine cannot read this workbook either")
    keys: dict[str, int] = {}
    for col, text in names.items():
        if normalize_header(text) and normalize_header(text) not in {
            normalize_header(k) for k in keys
        }:
            keys[text] = col
    values = {k: f"sheetcrm {i}" for i, k in enumerate(list(keys)[:3])}
    try:
        r = pkg.append_rows(sheet, [values])[0]
    except SheetCRMError as exc:
        # a totals row, a full sheet, or the owner's cells right under the table
        assert "totals row" in str(exc) or "full" in str(exc) or exc.problem.code == "in_the_way"
        return
    out = pkg.to_bytes()
    after, before = _members(out), _members(data)
    assert list(after) == list(before)
    allowed = {pkg.sheet_part(sheet), pkg.workbook_part, pkg.styles.part or ""}
    allowed |= {t.part for t in pkg._tables(sheet)}
    assert {n for n in before if before[n] != after[n]} <= allowed
    got = pc.CalamineWorkbook.from_filelike(io.BytesIO(out)).get_sheet_by_name(sheet)
    rows = got.to_python(skip_empty_area=False)
    for key, value in values.items():
        assert rows[r - 1][keys[key]] == value
    assert r > header_row


def test_header_cells_are_read_as_xml_cdata_and_comments_included(tmp_path: Path) -> None:
    """The header decides which column is which, so it is parsed as XML (in the scope of
    the worksheet's namespaces), not matched as text: a CDATA section or a comment
    inside a header cell's text is still that text, as calamine and Excel read it."""
    from tests.test_other_writers import _hand_made

    path = tmp_path / "cdata.xlsx"
    _hand_made(path)
    members = parts(path)
    members["book/sheets/one.xml"] = (
        members["book/sheets/one.xml"]
        .replace(b"<x:t>Name</x:t>", b"<x:t><![CDATA[Na]]><!-- typed by Kari -->me</x:t>")
        .replace(b"<x:t>E-mail</x:t>", b"<x:t>E-<!-- c -->mail</x:t>")
    )
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    pkg = package_from_path(path)
    assert pkg.headers("Customers") == (1, {0: "Name", 1: "E-mail", 2: "Phone", 3: "Notes"})
    from sheetcrm.workbook.reader import sheet_table

    assert sheet_table(path.read_bytes(), "Customers")[0] == ["Name", "E-mail", "Phone", "Notes"]
    assert pkg.column_of("Customers", "email") == 1


def test_shared_string_headers_are_read_as_xml_and_an_empty_entry_keeps_indices(
    tmp_path: Path,
) -> None:
    """<si/> is an entry of its own (splitting on </si> shifted every later index), and a
    shared header in CDATA or in rich-text runs (with a phonetic run) reads as its text."""
    from tests.test_other_writers import MAIN, _hand_made

    path = tmp_path / "shared.xlsx"
    _hand_made(path)
    members = parts(path)
    sst = (
        f'<?xml version="1.0"?><x:sst xmlns:x="{MAIN}" count="3" uniqueCount="3"><x:si/>'
        "<x:si><x:t><![CDATA[Name]]></x:t></x:si>"
        "<x:si><x:r><x:t>E-</x:t></x:r><x:r><x:t>mail</x:t></x:r>"
        '<x:rPh sb="0" eb="1"><x:t>ime-ru</x:t></x:rPh></x:si></x:sst>'
    ).encode()
    sheet = members["book/sheets/one.xml"]
    sheet = sheet.replace(
        b'<x:c r="A1" t="inlineStr"><x:is><x:t>Name</x:t></x:is></x:c>',
        b'<x:c r="A1" t="s"><x:v>1</x:v></x:c>',
    ).replace(
        b'<x:c r="B1" t="inlineStr"><x:is><x:t>E-mail</x:t></x:is></x:c>',
        b'<x:c r="B1" t="s"><x:v>2</x:v></x:c>',
    )
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
    members["book/sheets/one.xml"] = sheet
    members["book/shared.xml"] = sst
    members["book/_rels/main.xml.rels"] = members["book/_rels/main.xml.rels"].replace(
        b"</Relationships>",
        f'<Relationship Id="R9" Type="{rel}" Target="shared.xml"/></Relationships>'.encode(),
    )
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    pkg = package_from_path(path)
    assert pkg.headers("Customers") == (1, {0: "Name", 1: "E-mail", 2: "Phone", 3: "Notes"})
