"""A large sheet laid out in two halves side by side reads exactly as the whole sheet.

The halves (sheetcrm/workbook/halves.py) are only a faster way to the same rows,
so every test compares them with calamine's layout of the whole sheet: on real
workbooks other tools wrote, on sheets made to differ between the halves (first
and last used columns, empty rows at the cut), and through read_book with every
sheet cut. Sheets that cannot be cut safely are not, and a half calamine refuses
leaves the whole sheet to be read (and its verdict told).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from sheetcrm.workbook import halves, reader
from sheetcrm.workbook.naming import package_from_path
from tests.test_bad_files import _corpus_files
from tests.test_file_safety import _rewrite


def _whole_and_halves(path: Path, name: str) -> tuple[list, list] | None:
    """A sheet's rows laid out whole and in two halves, or None when it is not cut."""
    pkg, wb = reader.open_package(path)
    try:
        part = pkg.sheet_part(name)
        xml = pkg.read(part)
        where = halves.cut(xml)
        extent = reader.safety.sheet_extent(lambda: io.BytesIO(xml))
        if where is None or not extent.usual or not halves.usual_names(pkg):
            return None
        try:
            whole = list(reader._rows_of(pkg, name, wb.get_sheet_by_name(name)))
        except reader.calamine.CalamineError:
            # A sheet calamine refuses whole is refused in halves too (then the reader
            # lays out the whole sheet, whose message is the one told).
            with pytest.raises(reader.calamine.CalamineError):
                list(halves.rows(halves.lay_out(pkg, part, name, xml, where)))
            return [], []
        cut = list(halves.rows(halves.lay_out(pkg, part, name, xml, where)))
        return whole, cut
    finally:
        wb.close()


@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: p.name)
def test_every_sheet_of_a_real_workbook_reads_the_same_in_halves(path):
    try:
        _pkg, wb = reader.open_package(path)
    except Exception:
        pytest.skip("not a workbook sheetcrm reads (encrypted, damaged, a bomb)")
    names = [m.name for m in wb.sheets_metadata if m.typ == reader.calamine.SheetTypeEnum.WorkSheet]
    wb.close()
    compared = 0
    for name in names:
        try:
            pair = _whole_and_halves(path, name)
        except reader.SheetCRMError:
            continue  # a sheet refused whole is refused in halves too (see below)
        if pair is None:
            continue
        whole, cut = pair
        assert cut == whole, name
        compared += 1
    if not compared:
        pytest.skip("no sheet here is written in a way that is cut")


def _book_with(tmp_path: Path, rows_xml: bytes) -> Path:
    """The sample workbook with the Interactions sheet's rows replaced."""
    from tests.conftest import SAMPLE

    path = tmp_path / "crm.xlsx"
    path.write_bytes(SAMPLE.read_bytes())
    part = package_from_path(path).sheet_part("Interactions")

    def change(data: bytes) -> bytes:
        start = data.index(b"<sheetData>") + len(b"<sheetData>")
        end = data.index(b"</sheetData>")
        return data[:start] + rows_xml + data[end:]

    _rewrite(path, part, change)
    return path


def _row(r: int, cells: dict[str, str]) -> bytes:
    body = b"".join(
        b'<c r="%s%d" t="inlineStr"><is><t>%s</t></is></c>' % (col.encode(), r, text.encode())
        for col, text in cells.items()
    )
    return b'<row r="%d">%s</row>' % (r, body)


@pytest.mark.parametrize(
    "shape",
    ["second narrower", "second wider", "second starts at C", "empty rows at the cut", "one row"],
)
def test_halves_that_differ_read_as_the_whole(tmp_path, shape):
    header = {"A": "interaction_id", "B": "date", "C": "customer_id", "D": "summary"}
    rows = [_row(1, header)]
    n = 40
    for r in range(2, n + 2):
        cells = {"A": f"I-{r}", "B": "2026-11-02", "C": "C-0001", "D": f"note {r}"}
        late = r > n // 2 + 1
        if shape == "second narrower" and late:
            cells.pop("D")
        if shape == "second wider" and late:
            cells["F"] = "extra"
        if shape == "second starts at C" and late:
            cells = {"C": "C-0001", "D": f"note {r}"}
        rows.append(_row(r, cells))
    if shape == "empty rows at the cut":
        rows = rows[: n // 2] + [_row(r + 30, {"A": f"I-{r}"}) for r in range(n // 2, n)]
    if shape == "one row":
        rows = rows[:2]
    path = _book_with(tmp_path, b"".join(rows))
    pair = _whole_and_halves(path, "Interactions")
    if shape == "one row":
        assert pair is None or pair[0] == pair[1]
        return
    assert pair is not None
    whole, cut = pair
    assert cut == whole
    assert len({len(r) for r in cut}) == 1  # all one width, as calamine lays a sheet out


@pytest.mark.parametrize(
    "rows_xml",
    [
        b'<row spans="1:1"><c r="A1"><v>1</v></c></row><row spans="1:1"><c r="A2"><v>2</v></c>'
        b'</row><row spans="1:1"><c r="A3"><v>3</v></c></row>',
        b'<row r="1"><c r="A1" t="inlineStr"><is><t><![CDATA[</row><row r="9">]]></t></is></c>'
        b'</row><row r="2"><c r="A2"><v>2</v></c></row><row r="3"><c r="A3"><v>3</v></c></row>',
    ],
    ids=["rows without their number", "CDATA"],
)
def test_a_sheet_that_cannot_be_cut_safely_is_not(rows_xml):
    xml = b"<worksheet><sheetData>" + rows_xml + b"</sheetData></worksheet>"
    assert halves.cut(xml) is None
    prefixed = b"<x:worksheet><x:sheetData>" + rows_xml + b"</x:sheetData></x:worksheet>"
    assert halves.cut(prefixed) is None


@pytest.mark.parametrize("bangs", [0, 3, 5000])
def test_cdata_is_found_wherever_it_is_among_exclamation_marks(monkeypatch, bangs):
    """halves._has_cdata says what ``b"<![CDATA[" in xml`` says, with few or many "!"
    before the marker (the search by "!" gives way to the whole marker after _BANGS)."""
    monkeypatch.setattr(halves, "_BANGS", 50)
    filler = b"<c><t>Great!</t></c>" * bangs
    marker = b"<t><![CDATA[x]]></t>"
    for xml in (
        filler,
        b"!" + filler,
        marker + filler,
        filler + marker,
        filler + marker + filler,
        filler + b"<!-- note -->" + b"![CDATA[" + b"<![CDATA" + filler,
        b"!<![CDATA[",
        b"<![CDATA[",
    ):
        assert halves._has_cdata(xml) == (b"<![CDATA[" in xml), xml[:60]


@pytest.fixture
def cut(monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    """The names of the sheets laid out in halves, as they are."""
    names: list[str] = []
    laid_out = halves.lay_out

    def counted(*args):  # type: ignore[no-untyped-def]
        names.append(args[2])
        return laid_out(*args)

    monkeypatch.setattr(halves, "lay_out", counted)
    return names


def test_read_book_with_every_sheet_cut_reads_what_it_reads_whole(sample_book, monkeypatch, cut):
    whole = reader.read_book(sample_book)
    monkeypatch.setattr(reader, "_HALVES_FROM", 0)
    again = reader.read_book(sample_book)
    assert {"Customers", "Interactions", "Sales"} <= set(cut)
    assert list(again.sheets) == list(whole.sheets)
    for name, sheet in whole.sheets.items():
        other = again.sheets[name]
        assert (other.columns, other.excel_rows, other.letters) == (
            sheet.columns,
            sheet.excel_rows,
            sheet.letters,
        ), name


def test_a_half_calamine_refuses_leaves_the_whole_sheet_to_tell(sample_book, monkeypatch):
    whole = reader.read_book(sample_book)
    monkeypatch.setattr(reader, "_HALVES_FROM", 0)

    def refused(*args):  # type: ignore[no-untyped-def]
        raise reader.calamine.CalamineError("a half calamine did not like")

    monkeypatch.setattr(halves, "_laid_out", refused)
    again = reader.read_book(sample_book)
    for name, sheet in whole.sheets.items():
        assert again.sheets[name].columns == sheet.columns, name


def test_a_half_package_holds_only_what_calamine_reads(sample_book):
    pkg = package_from_path(sample_book)
    part = pkg.sheet_part("Interactions")
    xml = pkg.read(part)
    where = halves.cut(xml)
    assert where is not None and halves.usual_names(pkg)
    view = memoryview(xml)
    data = halves._package(pkg, part, (view[: where.at], view[where.end :]))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        assert part in names and "xl/workbook.xml" in names
        assert not any(n.startswith("xl/worksheets/") and n != part for n in names)
        assert zf.read(part) == xml[: where.at] + xml[where.end :]


def test_a_read_of_large_sheets_together_is_not_cut(sample_book, monkeypatch):
    """At a million rows the read's peak memory is near its bound: halves hold a sheet's
    XML twice more, so a read whose sheets together exceed the window is not cut."""
    monkeypatch.setattr(reader, "_HALVES_FROM", 0)
    monkeypatch.setattr(reader, "_AHEAD_BYTES", 1000)

    def not_cut(*args):  # type: ignore[no-untyped-def]
        raise AssertionError(f"{args[2]} was cut")

    monkeypatch.setattr(halves, "lay_out", not_cut)
    whole = reader.read_book(sample_book)
    assert whole.sheets["Interactions"].excel_rows


def test_beside_imports_only_large_sheets_are_cut(sample_book, monkeypatch, cut):
    """A command importing pandas beside the read keeps the second core busy: there the
    halves of a small sheet only take turns with the import, so only large ones are cut."""
    from sheetcrm.workbook.validation import load

    monkeypatch.setattr(reader, "_HALVES_FROM", 0)
    monkeypatch.setattr(reader, "_HALVES_BESIDE_IMPORTS_FROM", 10**9)
    for importing in (True, False):
        cut.clear()
        reading = reader.start_reading(sample_book, ["Interactions"], importing=importing)
        book, _ = load(sample_book, sheets=["Interactions"], reading=reading)
        assert book.table("Interactions").excel_rows
        assert ("Interactions" in cut) is not importing
