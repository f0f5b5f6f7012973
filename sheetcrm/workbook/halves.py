"""A large sheet laid out by calamine in two halves at once, one per core.

calamine lays out a sheet on one thread, and for a sheet of 100,000 rows that
is most of a read (0.8 s of 1.7 s). Cut at a row boundary into two sheets, each
in a package of its own (the workbook part, its styles and shared strings, and
that half), the two are laid out side by side by two calamine workbooks without
Python's lock: the halves took 0.40 s where the whole took 0.78 s.

Only a sheet written the usual way is cut (every cell with its reference, which
:func:`sheetcrm.xlsx.safety.sheet_extent` confirms while measuring it): each
half's cells then sit exactly where they sit in the whole. The rows of the two
halves joined are the rows of the whole sheet, as :func:`rows` gives them; a
half calamine refuses is no verdict (the caller lays out the whole sheet, whose
failure is the one to tell).
"""

from __future__ import annotations

import io
import itertools
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import python_calamine as calamine

from sheetcrm.xlsx.package import Package
from sheetcrm.xlsx.safety import ROW_TAG

# The usual names: only a package whose parts are there is cut (no copy to rename).
_WORKBOOK = "xl/workbook.xml"
_KEPT = ("[Content_Types].xml", "_rels/.rels", _WORKBOOK, "xl/_rels/workbook.xml.rels")
_READ_BY_CALAMINE = ("xl/styles.xml", "xl/sharedStrings.xml")


@dataclass(frozen=True, slots=True)
class Cut:
    """Where a sheet's XML is cut: its rows run from ``start`` to ``end`` (the
    ``</sheetData>``), and the second half's rows from ``at``."""

    start: int
    at: int
    end: int


@dataclass(frozen=True, slots=True)
class Halves:
    """The two halves of a sheet, laid out."""

    first: calamine.CalamineSheet
    second: calamine.CalamineSheet


def cut(xml: bytes) -> Cut | None:
    """Where to cut ``xml`` (a sheet written the usual way) in two, or None when it
    cannot be cut safely: a namespace prefix, no rows, a row without its number, or
    text that may hold markup (CDATA)."""
    start = xml.find(b"<sheetData>")
    end = xml.rfind(b"</sheetData>")
    if start < 0 or end < start or _has_cdata(xml):
        return None
    start += len(b"<sheetData>")
    at = xml.find(b"<row ", start + (end - start) // 2, end)
    if at < 0 or not xml.endswith(b"</row>", start, at):
        return None  # the second half must begin where a whole row ended
    tag = ROW_TAG.match(xml, at, end)
    if tag is None or not tag.group(1):
        return None
    return Cut(start, at, end)


# Occurrences of "!" looked at one by one before searching for the whole marker instead.
_BANGS = 1000


def _has_cdata(xml: bytes) -> bool:
    """Whether ``xml`` holds ``<![CDATA[``: found by its "!", which a sheet seldom has
    (a search for it runs at memory speed), not by its "<", which starts every tag (the
    whole marker took 33 ms in the 56 MB of 100,000 interactions; this, 2 ms)."""
    at = xml.find(b"!")
    for _ in range(_BANGS):
        if at < 0:
            return False
        if at and xml.startswith(b"<![CDATA[", at - 1):
            return True
        at = xml.find(b"!", at + 1)
    return at >= 0 and xml.find(b"<![CDATA[", at - 1) >= 0


def usual_names(pkg: Package) -> bool:
    """Whether calamine finds the package's workbook, styles and shared strings at the
    names a half's package gives them."""
    if pkg.workbook_part != _WORKBOOK or not all(pkg.has(name) for name in _KEPT):
        return False
    for _rid, typ, target, mode in pkg.rels(_WORKBOOK):
        kind = typ.rsplit("/", 1)[-1]
        read = kind in ("styles", "sharedStrings") and mode != "External"
        if read and (f"xl/{kind}.xml" != target or not pkg.has(target)):
            return False
    return True


def _package(pkg: Package, part: str, pieces: tuple[memoryview, ...]) -> bytes:
    """A package holding what calamine reads of the workbook, and ``part`` made of
    ``pieces`` (stored, not packed: it is read at once)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for name in (*_KEPT, *_READ_BY_CALAMINE):
            if pkg.has(name):
                zf.writestr(name, pkg.read(name))
        with zf.open(zipfile.ZipInfo(part), "w", force_zip64=True) as member:
            for piece in pieces:
                member.write(piece)
    return out.getvalue()


def _laid_out(pkg: Package, part: str, name: str, pieces: tuple[memoryview, ...]) -> Any:
    wb = calamine.CalamineWorkbook.from_filelike(io.BytesIO(_package(pkg, part, pieces)))
    try:
        return wb.get_sheet_by_name(name)
    finally:
        wb.close()


def lay_out(pkg: Package, part: str, name: str, xml: bytes, where: Cut) -> Halves:
    """Both halves laid out, the second in a thread of its own; raises what calamine
    raises for either."""
    view = memoryview(xml)
    head, tail = view[: where.start], view[where.end :]
    first = (view[: where.at], tail)
    second = (head, view[where.at : where.end], tail)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sheetcrm-half") as side:
        later = side.submit(_laid_out, pkg, part, name, second)
        early = _laid_out(pkg, part, name, first)  # on failure, leaving waits for the other
        return Halves(early, later.result())


def rows(halves: Halves) -> Iterator[list[Any]]:
    """The rows of the whole sheet, from column A (as ``reader`` reads a sheet): the first
    half's, then the second's past the first's last row (calamine gives a half's rows
    from the sheet's first, empty where the other half has them)."""
    first, second = halves.first, halves.second
    ends = first.end, second.end
    if ends[0] is None:
        return _from_column_a(second, 0)
    if ends[1] is None:
        return _from_column_a(first, 0)
    width = max(ends[0][1], ends[1][1]) + 1
    skip = ends[0][0] + 1
    return itertools.chain(
        _from_column_a(first, width), itertools.islice(_from_column_a(second, width), skip, None)
    )


def _from_column_a(sheet: calamine.CalamineSheet, width: int) -> Iterator[list[Any]]:
    """A half's rows from column A, at least ``width`` cells each (halves may differ in
    their first and last used columns; a whole sheet's rows are all one width)."""
    start, end = sheet.start, sheet.end
    left = [""] * start[1] if start is not None else []
    right = width - (end[1] + 1) if end is not None else 0
    laid: Iterator[list[Any]] = sheet.iter_rows()
    if not left and right <= 0:
        return laid
    extra = [""] * max(right, 0)
    return (left + row + extra for row in laid)
