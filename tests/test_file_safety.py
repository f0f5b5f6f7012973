"""Hostile and damaged files: every limit refuses the same way for reads and for writes.

The limits live in sheetcrm/safety.py. Each test builds the file that crosses one
limit, runs a read command (validate) and a write command (log) through the CLI,
and checks both refuse with the same located message, exit 2, and write nothing.
The used-area tests run in a real subprocess under a memory limit: what they
guard against is the process itself being killed (calamine aborts on a failed
allocation), which CliRunner cannot observe.
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sheetcrm.cli import cli
from sheetcrm.workbook.naming import package, package_from_path
from sheetcrm.workbook.reader import sheet_table
from sheetcrm.xlsx import safety

ROOT = Path(__file__).resolve().parent.parent
LOG = [
    "log", "--customer", "C-0001", "--channel", "phone", "--type", "support",
    "--summary", "Called back", "--staff", "Kari", "--date", "2026-11-20 10:00",
]  # fmt: skip


def _rewrite(path: Path, part: str, change) -> None:  # type: ignore[no-untyped-def]
    """Rewrite one member of the zip at ``path`` (the others as they were)."""
    with zipfile.ZipFile(path) as src:
        members = [(i, src.read(i)) for i in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in members:
            dst.writestr(info.filename, change(data) if info.filename == part else data)


def _declare_size(path: Path, sizes: dict[str, int]) -> None:
    """Make the zip's directory claim other uncompressed sizes (as a crafted file does)."""
    data = bytearray(path.read_bytes())
    for name, size in sizes.items():
        raw = name.encode()
        at = data.find(b"PK\x01\x02" + b"\x00" * 0)  # central directory entries
        while at >= 0:
            name_len = struct.unpack_from("<H", data, at + 28)[0]
            if data[at + 46 : at + 46 + name_len] == raw:
                struct.pack_into("<I", data, at + 24, size)
                break
            at = data.find(b"PK\x01\x02", at + 4)
        else:
            raise AssertionError(f"{name} not in the central directory")
    path.write_bytes(bytes(data))


def _both_refuse(runner, path: Path, *words: str) -> str:  # type: ignore[no-untyped-def]
    """validate and log refuse ``path`` in the same words; nothing is written."""
    before = path.read_bytes()
    read = runner.invoke(cli, ["validate", "-w", str(path)])
    write = runner.invoke(cli, [*LOG, "-w", str(path)])
    for result in (read, write):
        assert "Traceback" not in result.output
        assert "unexpected problem" not in result.output, result.output
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("Error: ") and path.name in result.stderr
        for word in words:
            assert word in result.stderr, result.stderr
    assert read.stderr == write.stderr
    assert path.read_bytes() == before
    assert not (path.parent / "backups").exists()
    return read.stderr


@pytest.fixture
def book(make_book) -> Path:  # type: ignore[no-untyped-def]
    return make_book()


def _part(path: Path, sheet: str = "Interactions") -> str:
    return package_from_path(path).sheet_part(sheet)


# --------------------------------------------------------------------------- zip limits


def test_a_part_packed_beyond_the_ratio_is_refused_by_reads_and_writes(runner, book):
    # 12 MB of XML packed about 1,000 times: under the old 50 MB threshold, so it was read
    part = _part(book)
    _rewrite(book, part, lambda d: d.replace(b"<sheetData>", b"<sheetData>" + b" " * 12 * 2**20))
    err = _both_refuse(runner, book, "zip bomb", part, "times")
    assert f"under {safety.LIMITS.ratio}" in err


def test_a_part_larger_than_the_part_limit_is_refused_before_unpacking(runner, book):
    part = _part(book)
    _declare_size(book, {part: safety.LIMITS.part_bytes + 1})
    _both_refuse(runner, book, "zip bomb", part, "per part")


def test_parts_larger_together_than_the_total_limit_are_refused(runner, book):
    each = safety.LIMITS.part_bytes - 1  # every part within its own limit
    with zipfile.ZipFile(book) as z:
        names = [i.filename for i in z.infolist()][:3]
    _declare_size(book, dict.fromkeys(names, each))
    _both_refuse(runner, book, "zip bomb", "in all")


def test_xml_entity_declarations_are_refused_by_reads_and_writes(runner, book):
    part = _part(book, "Customers")
    bomb = b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
    _rewrite(book, part, lambda d: d.replace(b"?>", b"?>" + bomb, 1))
    _both_refuse(runner, book, "XML bomb", part)


def test_the_limits_are_the_same_for_the_package_writer(book):
    """Package (what every write goes through) applies check_archive itself too."""
    part = _part(book)
    _declare_size(book, {part: safety.LIMITS.part_bytes + 1})
    with pytest.raises(Exception, match="per part") as info:
        package(book.read_bytes(), book.name)
    assert info.value.problems[0].code == "unsafe_workbook"  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- damaged members


def _damage(path: Path, part: str, at: float = 0.5) -> None:
    """Flip bytes ``at`` a fraction into a member's compressed data (sizes stay right)."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(part)
    data = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    middle = start + int(info.compress_size * at)
    for i in range(middle, min(middle + 16, start + info.compress_size)):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def test_a_damaged_member_gets_a_located_message_not_an_unexpected_problem(runner, book):
    part = _part(book)
    _rewrite(book, part, lambda d: d + b"<!-- " + os.urandom(4000).hex().encode() + b" -->")
    _damage(book, part)
    err = _both_refuse(runner, book, "damaged", part, "backup")
    assert "damaged_part" not in err  # the code is for --format json, not for the owner


def test_a_damaged_shared_strings_part_is_named_too(runner, book):
    """A part calamine reads on its own (not scanned first) is found by its checksum."""
    part = "xl/sharedStrings.xml"
    _damage(book, part, at=0)
    _both_refuse(runner, book, "damaged", part, "backup")


# --------------------------------------------------------------------------- used area

_RUN = """
import resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from sheetcrm.cli import main
sys.argv = ["sheetcrm", *sys.argv[2:]]
main()
"""
MEMORY = 3 * 1024**3  # the whole command, interpreter and libraries included


def _run_limited(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", _RUN, str(MEMORY), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def _stray_cell(path: Path, ref: str, dimension: str | None = None) -> None:
    col = ref.rstrip("0123456789")
    row = ref[len(col) :]
    cell = f'<row r="{row}"><c r="{ref}" t="inlineStr"><is><t>oops</t></is></c></row>'

    def change(data: bytes) -> bytes:
        data = data.replace(b"</sheetData>", cell.encode() + b"</sheetData>")
        if dimension is not None:  # a dimension that does not tell the truth
            data = re.sub(
                rb'<dimension ref="[^"]*"/>', f'<dimension ref="{dimension}"/>'.encode(), data
            )
        return data

    _rewrite(path, _part(path), change)


@pytest.mark.parametrize(
    ("ref", "dimension"),
    [("XFD1048576", None), ("XFD20000", None), ("XFD20000", "A1:L3")],
    ids=["XFD1048576", "XFD20000", "XFD20000-dimension-lies"],
)
def test_a_far_stray_cell_is_left_out_and_the_sheet_read_without_a_crash(book, ref, dimension):
    """calamine would lay out every cell up to the stray one (XFD1048576: 512 GB); only
    the contract columns are read, so validate and log work in bounded memory."""
    _stray_cell(book, ref, dimension)
    result = _run_limited("validate", "-w", str(book), "--format", "json")
    assert result.returncode in (0, 1), (result.returncode, result.stderr[-2000:])
    problems = json.loads(result.stdout)["problems"]
    assert not [p for p in problems if p["sheet"] == "Interactions" and p["severity"] == "error"]
    result = _run_limited(*LOG, "-w", str(book))
    assert "Traceback" not in result.stderr and "unexpected problem" not in result.stderr
    if ref == "XFD1048576":  # the stray cell takes Excel's last row: nowhere to append
        assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
        assert result.stderr.startswith("Error: Interactions"), result.stderr
    else:
        assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
        rows = sheet_table(book.read_bytes(), "Interactions")
        assert [r[7] for r in rows if len(r) > 7][-1] == "Called back"
    with zipfile.ZipFile(book) as z:  # the stray cell is still there: only reading skipped it
        assert f'r="{ref}"'.encode() in z.read(_part(book))


def test_a_sheet_too_large_even_in_its_contract_columns_is_refused_by_name(runner, book):
    """A contract header far right and a row far down: no column can be left out."""
    part = _part(book, "Customers")
    far = '<c r="XFD1" t="inlineStr"><is><t>segment</t></is></c>'

    def change(data: bytes) -> bytes:
        data = re.sub(
            rb'(<row r="1"[^>]*>.*?)</row>',
            lambda m: m.group(1) + far.encode() + b"</row>",
            data,
            count=1,
            flags=re.S,
        )
        cell = b'<row r="1048576"><c r="A1048576"><v>1</v></c></row>'
        return data.replace(b"</sheetData>", cell + b"</sheetData>")

    _rewrite(book, part, change)
    before = book.read_bytes()
    for args in (["validate", "-w", str(book)], [*LOG, "-w", str(book)]):
        result = _run_limited(*args)
        assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
        assert "Traceback" not in result.stderr and "unexpected problem" not in result.stderr
        assert "Customers reaches cell XFD1" in result.stderr, result.stderr
        assert "1,048,576 rows by 16,384 columns" in result.stderr
        assert "Customers!XFD1" in result.stderr  # where to go to delete it
    assert book.read_bytes() == before


def test_a_stray_cell_within_the_bound_is_read_and_written_normally(runner, book):
    _stray_cell(book, "AZ5000")  # 5,000 rows by 52 columns: well within the bound
    result = runner.invoke(cli, ["validate", "-w", str(book), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    result = runner.invoke(cli, [*LOG, "-w", str(book)])
    assert result.exit_code == 0, result.output


def test_the_extent_scan_does_not_trust_the_dimension_element():
    import io

    xml = (
        b'<worksheet><dimension ref="A1:B2"/><sheetData><row r="1"><c r="A1"><v>1</v></c>'
        b'</row><row r="300"><c r="ABC300"><v>2</v></c></row></sheetData></worksheet>'
    )
    extent = safety.sheet_extent(lambda: io.BytesIO(xml))
    assert (extent.rows, extent.columns, extent.far_cell) == (300, 731, "ABC300")
    assert safety.extent_of(xml) == extent


def test_cells_without_references_are_counted_per_row():
    import io

    row = b"<row>" + b"<c><v>1</v></c>" * 40 + b"</row>"
    xml = b"<worksheet><sheetData>" + row * 3 + b"</sheetData></worksheet>"
    extent = safety.sheet_extent(lambda: io.BytesIO(xml))
    assert (extent.rows, extent.columns) == (3, 40)


def test_the_used_area_counts_the_rows_before_page_breaks(tmp_path):
    """The last row is found as a row start tag: <rowBreaks> after the rows is not one."""
    import xlsxwriter

    path = tmp_path / "breaks.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("S")
    for r in range(40):
        ws.write(r, 0, f"row {r + 1}")
    ws.set_h_pagebreaks([20])
    wb.close()
    with zipfile.ZipFile(path) as zf:
        assert b"<rowBreaks" in zf.read("xl/worksheets/sheet1.xml")
        extent = safety.sheet_extent(lambda: zf.open("xl/worksheets/sheet1.xml"))
    assert (extent.rows, extent.columns) == (40, 26)


def _sheet_xml(rows: list[bytes], p: bytes = b"") -> bytes:
    body = b"".join(
        b'<%srow r="%d">%s</%srow>' % (p, i + 1, cells, p) for i, cells in enumerate(rows)
    )
    ns = b' xmlns:x="urn:x"' if p else b""
    return b"<%sworksheet%s><%ssheetData>%s</%ssheetData></%sworksheet>" % (p, ns, p, body, p, p)


USUAL = b'<c r="A{n}" t="inlineStr"><is><t>x</t></is></c><c r="C{n}"><v>1</v></c>'


@pytest.mark.parametrize(
    "odd, expected",
    [
        (b"", (60, 26)),  # written the usual way: the quick pass alone
        (b'<c r="AB31"><v>1</v></c>', (60, 28)),  # a reference of two letters
        (b'<c s="1" r="AC31"><v>1</v></c>', (60, 29)),  # another attribute before it
        (b"<c><v>1</v></c>" * 30, (60, 32)),  # placed one after another: 2 + 30 cells
        (b"<c/>" * 27, (60, 29)),
    ],
)
@pytest.mark.parametrize("chunk", [64, 16 * 1024**2])
@pytest.mark.parametrize("prefix", [b"", b"x:"])
def test_the_extent_of_usual_and_unusual_sheets(monkeypatch, odd, expected, chunk, prefix):
    """One pass confirms a sheet is written the usual way; anything else, wherever it is
    (pieces of 64 bytes cut through it), is measured cell by cell."""
    import io

    monkeypatch.setattr(safety, "_CHUNK", chunk)
    rows = [USUAL.replace(b"{n}", b"%d" % (i + 1)) for i in range(60)]
    rows[30] += odd
    if prefix:
        rows = [r.replace(b"<c", b"<x:c").replace(b"</c>", b"</x:c>") for r in rows]
        rows = [r.replace(b"<is>", b"<x:is>").replace(b"</is>", b"</x:is>") for r in rows]
    xml = _sheet_xml(rows, prefix)
    extent = safety.sheet_extent(lambda: io.BytesIO(xml))
    assert (extent.rows, extent.columns) == expected
    # a part already unpacked is scanned where it lies, with the same verdict
    assert safety.extent_of(xml) == extent


# --------------------------------------------------------------------------- reading order


@pytest.mark.parametrize("ahead", [0, 128 * 1024**2])
def test_sheets_read_side_by_side_are_the_sheets_read_one_by_one(book, monkeypatch, ahead):
    """Laying out the next sheet while this one is read (or not, for large sheets) changes
    nothing read. Sheets too large to read ahead together come in the order asked for;
    otherwise the smallest first (the largest is laid out while the rest are checked).
    The book is in the contract's order either way."""
    from sheetcrm.contract import SHEETS
    from sheetcrm.workbook import reader

    monkeypatch.setattr(reader, "_AHEAD_BYTES", ahead)
    asked = [SHEETS[3], SHEETS[0], SHEETS[1]]  # Sales, Customers, Interactions
    pkg = package_from_path(book)
    size = {s.name: pkg.part_size(pkg.sheet_part(s.name)) for s in asked}
    # Sales padded to be the largest, so the two orders differ.
    _rewrite(book, _part(book, "Sales"), lambda d: d + b" " * (max(size.values()) + 1))
    with reader.SheetReader(book, asked) as reading:
        names = [sheet.spec.name for sheet in reading]
    if ahead:
        assert names == [*sorted(["Customers", "Interactions"], key=size.get), "Sales"]
    else:
        assert names == ["Sales", "Customers", "Interactions"]
    whole = reader.read_book(book)
    assert list(whole.sheets)[:4] == [s.name for s in SHEETS[:4]]
    pkg, wb = reader.open_package(book)
    try:
        for name, sheet in whole.sheets.items():
            alone = reader.raw_sheet(name, sheet.spec, reader.sheet_stream(pkg, wb, name))
            assert (alone.columns, alone.excel_rows) == (sheet.columns, sheet.excel_rows)
    finally:
        wb.close()


def test_problems_are_told_in_the_contracts_order_whatever_order_sheets_are_read(
    sample_book,
):
    """Sheets read ahead come smallest first; the owner still sees the problems sheet by
    sheet in the workbook contract's order, as before."""
    import openpyxl

    from sheetcrm.contract import SHEETS
    from sheetcrm.workbook import reader
    from sheetcrm.workbook.validation import load

    wb = openpyxl.load_workbook(sample_book)
    for sheet in ("Sales", "Interactions", "Customers"):
        ws = wb[sheet]
        column = [c.value for c in ws[1]].index("customer_id" if sheet != "Customers" else "email")
        ws.cell(row=3, column=column + 1, value="not @ right" if sheet == "Customers" else "")
    wb.save(sample_book)
    with reader.SheetReader(sample_book) as reading:
        read = [sheet.spec.name for sheet in reading]
    contract = [s.name for s in SHEETS]
    assert read != [name for name in contract if name in read]  # else this proves nothing
    _book, report = load(sample_book)
    told = [p.sheet for p in report.problems if p.sheet in ("Sales", "Interactions", "Customers")]
    assert told == sorted(told, key=contract.index)
    assert {"Sales", "Interactions", "Customers"} <= set(told)


def test_a_read_started_before_the_checks_is_the_same_read(book, monkeypatch):
    """start_reading lays out the first sheet before anyone iterates (the command imports
    its checks meanwhile); load then takes it over and finds exactly what it finds alone."""
    import threading

    from sheetcrm.workbook import reader
    from sheetcrm.workbook.validation import load

    begun = threading.Event()
    laid_out = reader._calamine_layout

    def watched(*args):  # type: ignore[no-untyped-def]
        begun.set()
        return laid_out(*args)

    monkeypatch.setattr(reader, "_calamine_layout", watched)
    for sheets in (None, ["Customers", "Complaints"]):
        begun.clear()
        early = reader.start_reading(book, sheets)
        assert begun.wait(10), "nothing was laid out before the caller iterated"
        got, got_report = load(book, sheets=sheets, reading=early, likely_duplicates=True)
        alone, report = load(book, sheets=sheets, likely_duplicates=True)
        assert got.loaded == alone.loaded
        for name in alone.loaded:
            a, b = got.table(name), alone.table(name)
            assert (a.columns, a.excel_rows) == (b.columns, b.excel_rows), name
        assert got_report.problems == report.problems


def test_of_two_damaged_sheets_the_first_in_the_workbook_is_named(runner, book):
    """Sheets are read in the order a command asks for, but the message is the same as
    reading them one after another: the first damaged sheet of the workbook."""
    first, later = _part(book, "Customers"), _part(book, "Sales")
    for part in (first, later):
        _rewrite(book, part, lambda d: d + b"<!-- " + os.urandom(4000).hex().encode() + b" -->")
    for part in (later, first):
        _damage(book, part)
    err = _both_refuse(runner, book, "damaged", first)
    assert later not in err
    from sheetcrm.contract import SHEET_BY_NAME
    from sheetcrm.errors import SheetCRMError
    from sheetcrm.workbook.reader import SheetReader

    asked = [SHEET_BY_NAME["Sales"], SHEET_BY_NAME["Customers"]]  # Sales fails first here
    with pytest.raises(SheetCRMError) as info, SheetReader(book, asked) as reading:
        list(reading)
    assert first in str(info.value) and later not in str(info.value)


def test_a_part_unpacked_in_a_thread_reads_the_same_and_damage_is_told_on_reading(book):
    """Transaction.unpack_soon: the read waits for the thread and gets the same bytes; a
    damaged member raises when it is read, in the usual words, not in the thread."""
    part = _part(book)
    with zipfile.ZipFile(book) as zf:
        expected = zf.read(part)
    pkg = package_from_path(book)
    pkg.unpack_soon(part)
    assert pkg.read(part) == expected
    _rewrite(book, part, lambda d: d + b"<!-- " + os.urandom(4000).hex().encode() + b" -->")
    _damage(book, part)
    pkg = package_from_path(book)
    pkg.unpack_soon(part)
    with pytest.raises(Exception, match="damaged") as info:
        pkg.read(part)
    assert info.value.problems[0].code == "damaged_part"  # type: ignore[attr-defined]
