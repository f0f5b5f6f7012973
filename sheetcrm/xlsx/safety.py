"""One safety check for every workbook sheetcrm opens, whether to read it or to write it.

A workbook is a zip of XML parts, and a hostile (or broken) file can promise far
more than it holds: a 7 MB file that unpacks to a 2.8 GB sheet, an XML part that
declares entities that expand without end, a sheet whose single stray cell at
XFD1048576 makes a reader allocate half a terabyte. Reads (:mod:`sheetcrm.workbook.reader`)
and writes (:mod:`sheetcrm.xlsx.package`, through :mod:`sheetcrm.workbook.writer`) call the same
functions here with the same limits, so a file is refused by every command in the
same words, before anything is unpacked.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from sheetcrm.errors import Problem, SheetCRMError, column_letter

__all__ = [
    "LIMITS",
    "ROW_TAG",
    "Extent",
    "Limits",
    "check_archive",
    "check_extent",
    "check_xml",
    "damaged_part",
    "sheet_extent",
]


@dataclass(frozen=True, slots=True)
class Limits:
    """What sheetcrm agrees to unpack and to read. README "Safety" states the same numbers."""

    # One part (a sheet, the shared strings): a sheet of Excel's full 1,048,576 rows
    # and about 25 columns is close to 1 GB of XML.
    part_bytes: int = 1024**3
    # Every part together: two such sheets and the rest of the workbook.
    total_bytes: int = 2 * 1024**3
    # Sheet XML deflates 5 to 25 times (measured on openpyxl, xlsxwriter, Excel and
    # LibreOffice files, formatted empty rows included); a zip bomb packs hundreds of
    # times. Parts smaller than ratio_from are too small to matter.
    ratio: int = 100
    ratio_from: int = 1024**2
    # Cells calamine lays out for one sheet (its used area, rows x columns): Excel's
    # full 1,048,576 rows in columns A to Z. Reading costs about 110 bytes a filled
    # cell (measured: 200,000 rows of 12 filled columns took 256 MB), so at most 3 GB.
    cells: int = 1_048_576 * 26


LIMITS = Limits()

_HINT_FRESH = "open it in Excel and save a fresh copy; if it is not yours, do not trust it"


def _short(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text if len(text) < 160 else text[:157] + "..."


def _mb(n: int) -> str:
    return f"{n / 1024**2:,.0f} MB"


def check_archive(infos: Iterable[zipfile.ZipInfo], name: str, limits: Limits = LIMITS) -> None:
    """Refuse a zip whose parts would unpack to more than the limits allow.

    Only the sizes the archive declares are looked at: nothing is unpacked. A part
    that lies about its size is caught when it is unpacked (zipfile stops at the
    declared size and checks the CRC).
    """
    infos = [i for i in infos if not i.is_dir()]
    for info in infos:
        if info.file_size > limits.part_bytes:
            raise SheetCRMError(
                Problem(
                    "unsafe_workbook",
                    f"{name} holds a part ({info.filename}) that would unpack to "
                    f"{_mb(info.file_size)}, more than sheetcrm's limit of "
                    f"{_mb(limits.part_bytes)} per part; sheetcrm refuses it as a possible "
                    "zip bomb",
                    hint=_HINT_FRESH,
                )
            )
    total = sum(i.file_size for i in infos)
    if total > limits.total_bytes:
        raise SheetCRMError(
            Problem(
                "unsafe_workbook",
                f"{name} would unpack to {_mb(total)} in all, more than sheetcrm's limit of "
                f"{_mb(limits.total_bytes)}; sheetcrm refuses it as a possible zip bomb",
                hint=_HINT_FRESH,
            )
        )
    for info in infos:
        size, packed = info.file_size, max(info.compress_size, 1)
        if size > limits.ratio_from and size / packed > limits.ratio:
            raise SheetCRMError(
                Problem(
                    "unsafe_workbook",
                    f"{name} holds a part ({info.filename}) that would unpack to "
                    f"{_mb(size)} from {packed / 1024:,.0f} KB ({size / packed:,.0f} times; "
                    f"real workbooks stay under {limits.ratio}); sheetcrm refuses it as a "
                    "possible zip bomb",
                    hint=_HINT_FRESH,
                )
            )


def damaged_part(name: str, part: str, error: BaseException) -> Problem:
    """The message for a zip member that cannot be unpacked: which one, and what to do."""
    where = f"its part {part}" if part else "one of its parts"
    return Problem(
        "damaged_part",
        f"{name} is damaged: {where} cannot be unpacked ({_short(error)})",
        hint="restore the workbook from a backup (sheetcrm keeps them in the backups folder "
        "beside it), or open it in Excel and let it repair the file",
    )


def check_xml(part: str, head: bytes, name: str) -> None:
    """Refuse an XML part that declares a DOCTYPE or entities (an XML bomb).

    Excel never writes either; ``head`` is the start of the part, where a DOCTYPE must be.
    """
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise SheetCRMError(
            Problem(
                "unsafe_workbook",
                f"{name} holds XML entity declarations ({part}), which Excel never writes "
                "and which can exhaust memory (an XML bomb)",
                hint="do not trust this file; if it is yours, open it in Excel and save a "
                "fresh copy",
            )
        )


# ---- the used area of a sheet, from its XML, before a reader lays it out

_DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\b[^>]*?\sref=\"([^\"]*)\"")
# Patterns that start with plain text, so the scan runs at C speed (a leading optional
# prefix group would make the regex engine try at every "<"). Writers put "r" first.
_ROW_NUMBER = re.compile(rb'row\b[^>]*?\sr="(\d+)"')
_SHEET_DATA = re.compile(rb"<([\w.-]+:)?sheetData\b")
# A row's start tag and its number when it has one: <row r="12" ...>, <x:row ...>.
# For matching at a known place (re.match(data, pos)), not for scanning.
ROW_TAG = re.compile(rb'<(?:[\w.-]+:)?row\b(?:[^>]*?\sr="(\d+)")?')
# A cell reference of two or three letters: columns AA and beyond. Columns A to Z
# never make a sheet too big (26 columns of every row is within the cell limit).
_WIDE_REF = re.compile(rb' r="([A-Z]{2,3})(\d+)"')


def _col(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


@dataclass(frozen=True, slots=True)
class Extent:
    """The used area of a sheet: last row and last column (1-based), and where they are."""

    rows: int
    columns: int
    far_cell: str  # the cell that makes it that wide or long, e.g. "XFD1048576"
    usual: bool = False  # every cell written with its reference first, in columns A to Z

    @property
    def cells(self) -> int:
        return self.rows * self.columns


def _cell_count(data: bytes, p: bytes) -> int:
    """How many cell elements a piece of sheet XML holds (counted at C speed)."""
    return (
        data.count(b"<" + p + b"c ") + data.count(b"<" + p + b"c>") + data.count(b"<" + p + b"c/")
    )


_CHUNK = 16 * 1024**2


def _pieces(stream: IO[bytes], cut: bytes) -> Iterator[tuple[bytes, int]]:
    """The stream in blocks of about 16 MB, each with the end of its piece: the piece
    ``block[:end]`` ends just after ``cut``, so no element the scans look for is split
    between two pieces, and memory stays bounded. (Searching up to ``end`` spares a copy.)"""
    carry = b""
    while True:
        block = stream.read(_CHUNK)
        if not block:
            if carry:
                yield carry, len(carry)
            return
        block = carry + block if carry else block
        end = block.rfind(cut)
        if end < 0:
            carry = block
            continue
        end += len(cut)
        carry = block[end:]
        yield block, end


def _chunks(stream: IO[bytes], cut: bytes) -> Iterator[bytes]:
    """:func:`_pieces`, each piece a bytes of its own."""
    for block, end in _pieces(stream, cut):
        yield block if end == len(block) else block[:end]


# A cell start tag that is not the usual <c r="A1" (letter, digit): a reference of two
# or more letters, another attribute first, or none. One pass finds whether a sheet has
# any; only then is it measured cell by cell. (By namespace prefix.)
_UNUSUAL_CELL: dict[bytes, re.Pattern[bytes]] = {}


def _unusual_cell(p: bytes) -> re.Pattern[bytes]:
    if p not in _UNUSUAL_CELL:
        _UNUSUAL_CELL[p] = re.compile(b"<" + re.escape(p) + rb'c(?! r="[A-Z][0-9])[\s>/]')
    return _UNUSUAL_CELL[p]


def sheet_extent(open_part: Callable[[], IO[bytes]]) -> Extent:
    """The area a reader would lay out for a sheet part, found without parsing it.

    ``open_part`` opens the part as a stream (a zip member unpacking as it is read),
    so a sheet of any size is scanned in bounded memory. The ``dimension`` element
    is a claim any tool may get wrong, so the rows and cells themselves are scanned.
    Nearly every sheet is written the usual way (each cell's reference first, in
    columns A to Z), which one pass confirms while it finds the last row; any other
    sheet is measured cell by cell (:func:`_measured`).
    """
    with open_part() as stream:
        usual = _usual(_pieces(stream, b">"))
    return usual or _measured(open_part)


def extent_of(xml: bytes) -> Extent:
    """:func:`sheet_extent` of a sheet part already unpacked, scanned where it lies (cut
    into pieces, 56 MB of XML was copied twice over: 30-50 ms more than the scan)."""
    return _usual([(xml, len(xml))]) or _measured(lambda: io.BytesIO(xml))


def _usual(pieces: Iterable[tuple[bytes, int]]) -> Extent | None:
    """The extent of a sheet written the usual way, from its XML in pieces (each
    ``piece[:end]``), or None when it is not (see :func:`sheet_extent`)."""
    rows = 0
    p: bytes | None = None  # the sheet's namespace prefix, once its sheetData is seen
    for piece, end in pieces:
        if p is None:
            m = _SHEET_DATA.search(piece, 0, end)
            p = (m.group(1) or b"") if m else b""
        if _unusual_cell(p).search(piece, 0, end):
            return None
        # Rows are written in order, so the last row of a piece is its longest reach.
        at = piece.rfind(b"<" + p + b"row ", 0, end)
        last = ROW_TAG.match(piece, at, end) if at >= 0 else None
        if last is not None and last.group(1):
            rows = max(rows, int(last.group(1)))
    return Extent(rows, 26, f"Z{max(rows, 1)}", usual=True)


def _measured(open_part: Callable[[], IO[bytes]]) -> Extent:
    """:func:`sheet_extent` of a sheet not written the usual way: the number of every
    row, and those cell references with two or more letters (a cell in columns A to Z
    cannot widen a sheet beyond 26 columns). Cells written without a reference are
    placed by a reader one after another, so when there are any, the longest row
    decides the width.
    """
    rows = 0
    widest, far = b"", ""
    p: bytes | None = None  # the sheet's namespace prefix, once its sheetData is seen
    unreferenced = False
    with open_part() as stream:
        for piece in _chunks(stream, b">"):
            if p is None:
                m = _SHEET_DATA.search(piece)
                p = (m.group(1) or b"") if m else b""
            # Each scan is one pass in C (findall, count): a million cells take
            # a fraction of what one Python step per cell would. Rows are written in
            # order, so the last row of a piece is its longest reach; a sheet whose
            # rows are out of order is measured row by row below when it matters.
            at = piece.rfind(b"<" + p + b"row ")
            last = ROW_TAG.match(piece, at) if at >= 0 else None
            if last is not None and last.group(1):
                rows = max(rows, int(last.group(1)))
            for letters, number in _WIDE_REF.findall(piece):
                if (len(letters), letters) > (len(widest), widest):
                    widest, far = letters, (letters + number).decode()
            # A cell without a reference: "r" is not its first attribute (as writers
            # put it), or it has no attributes at all.
            opened = piece.count(b"<" + p + b"c ")
            unreferenced = unreferenced or (
                opened != piece.count(b"<" + p + b'c r="')
                or b"<" + p + b"c>" in piece
                or b"<" + p + b"c/" in piece
            )
    columns = _col(widest) if widest else 26
    if widest or unreferenced:
        # Wider than A..Z, or cells placed one after another: the rows now matter, so
        # every row number is read, in one more pass that also finds the longest row.
        p = p or b""
        longest = numbered = closed = 0
        with open_part() as stream:
            for piece in _chunks(stream, b"row>"):
                numbers = _ROW_NUMBER.findall(piece)
                rows = max(rows, max(map(int, numbers), default=0))
                if unreferenced:
                    longest = max([longest, *(_cell_count(r, p) for r in piece.split(b"row>"))])
                    numbered += len(numbers)
                    closed += piece.count(b"/" + p + b"row>")
        if unreferenced:
            # the longest row decides the width, and rows without numbers follow on
            # from the last numbered one
            rows += max(0, closed - numbered)
            if longest > columns:
                columns, far = longest, ""
    if not far:
        far = f"{column_letter(columns - 1)}{max(rows, 1)}"
    return Extent(rows, columns, far)


def check_extent(extent: Extent, sheet: str, limits: Limits = LIMITS) -> None:
    if extent.cells > limits.cells:
        raise SheetCRMError(
            Problem(
                "sheet_too_large",
                f"the sheet {sheet} reaches cell {extent.far_cell}: {extent.rows:,} rows by "
                f"{extent.columns:,} columns, more than sheetcrm reads in one sheet "
                f"({limits.cells:,} cells)",
                sheet=sheet,
                hint=f"in Excel go to {sheet}!{extent.far_cell} (Ctrl+G), delete what is "
                "there and far from the table (whole rows or columns), and save",
            )
        )
