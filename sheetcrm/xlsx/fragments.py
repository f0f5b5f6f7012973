"""Rows and cells as byte fragments of a sheet part: parsed, rebuilt and re-ranged
without a DOM (a 20 MB sheet part is never parsed whole).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sheetcrm.errors import column_letter
from sheetcrm.xlsx.markup import _CELL, _attrs, _decode_x, _set_attr, _start_tag, _unescape
from sheetcrm.xlsx.refs import _fmt_range, _parse_range, _parse_ref

# What makes a row or cell hold something: a value, a formula or text (empty ones do not).
HAS_DATA = re.compile(
    rb"<(?:[\w.-]+:)?v>[^<]|<(?:[\w.-]+:)?f[\s>/]|<(?:[\w.-]+:)?t(?:\s[^>]*)?>[^<]"
)
_WORKSHEET_TAG = re.compile(rb"<((?:[\w.-]+:)?worksheet)\b[^>]*>")


@dataclass(slots=True)
class SheetInfo:
    """A worksheet of the workbook: its name, part and state."""

    name: str
    part: str
    state: str = "visible"
    rid: str = ""
    kind: str = "worksheet"


@dataclass(slots=True)
class _Row:
    r: int
    start: int  # offset of "<row" in the sheet part
    end: int  # offset just past the row element
    fragment: bytes


@dataclass(slots=True)
class _Table:
    part: str
    ref: tuple[int, int, int, int]  # c1, r1, c2, r2 (0-based columns, 1-based rows)
    header_rows: int = 1
    totals_rows: int = 0


@dataclass(slots=True)
class _SheetLayout:
    prefix: bytes  # namespace prefix of the sheet's elements, e.g. b"" or b"x:"
    data_open: int  # offset just past the <sheetData ...> start tag
    data_close: int  # offset of </sheetData>
    header_row: int
    header: dict[str, int] = field(default_factory=dict)  # normalized header -> column
    header_names: dict[int, str] = field(default_factory=dict)  # column -> header text
    header_fragment: bytes = b""
    # the start tags a row sits inside (worksheet, sheetData): a row cut out of the
    # part is parsed inside them, so every prefix it uses means what it means there
    scope_open: bytes = b""
    scope_close: bytes = b""


@dataclass(slots=True)
class _ParsedRow:
    attrs: dict[bytes, bytes]
    cells: dict[int, bytes]
    styles: dict[int, bytes | None]


def _cells(fragment: bytes) -> list[tuple[int, bytes]]:
    out = []
    col = -1
    for m in _CELL.finditer(fragment, len(_start_tag(fragment))):
        cell = m.group(0)
        ref = _attrs(_start_tag(cell)).get(b"r")
        parsed = _parse_ref(ref.decode()) if ref else None
        col = parsed[0] if parsed else col + 1
        out.append((col, cell))
    return out


def _row_has_data(fragment: bytes, columns: tuple[int, int] | None) -> bool:
    if not HAS_DATA.search(fragment):
        return False
    if columns is None:
        return True
    return any(
        columns[0] <= col <= columns[1] and HAS_DATA.search(cell) for col, cell in _cells(fragment)
    )


def _parse_row(fragment: bytes) -> _ParsedRow:
    attrs = _attrs(_start_tag(fragment))
    cells = {}
    styles: dict[int, bytes | None] = {}
    for col, cell in _cells(fragment):
        cells[col] = cell
        styles[col] = _attrs(_start_tag(cell)).get(b"s")
    return _ParsedRow(attrs, cells, styles)


_ROW_KEEP = (
    b"ht",
    b"customHeight",
    b"s",
    b"customFormat",
    b"x14ac:dyDescent",
    b"thickBot",
    b"thickTop",
)


def _row_xml(
    p: bytes,
    r: int,
    attrs: Mapping[bytes, bytes],
    cells: Mapping[int, bytes],
    keep_all: bool = False,
) -> bytes:
    """A <row> element; a new row keeps only the attributes that make it look like its model."""
    parts = [b"<" + p + b'row r="%d"' % r]
    if cells:
        parts.append(b' spans="%d:%d"' % (min(cells) + 1, max(cells) + 1))
    for k, v in attrs.items():
        if k in (b"r", b"spans"):
            continue
        # a namespace declared on the row itself goes with it: a kept attribute may use it
        if keep_all or k in _ROW_KEEP or k == b"xmlns" or k.startswith(b"xmlns:"):
            parts.append(b" " + k + b'="' + v + b'"')
    if not cells:
        return b"".join(parts) + b"/>"
    fixed = []
    for col in sorted(cells):
        cell = cells[col]
        tag = _start_tag(cell)
        ref = f"{column_letter(col)}{r}".encode()
        new_tag = _set_attr(tag, b"r", ref)
        fixed.append(new_tag + cell[len(tag) :])
    return b"".join(parts) + b">" + b"".join(fixed) + b"</" + p + b"row>"


def _fix_spans(fragment: bytes) -> bytes:
    cells = _cells(fragment)
    tag = _start_tag(fragment)
    if not cells or b"spans=" not in tag:
        return fragment
    cols = [c for c, _ in cells]
    new = _set_attr(tag, b"spans", b"%d:%d" % (min(cols) + 1, max(cols) + 1))
    return new + fragment[len(tag) :]


def _cell(p: bytes, ref: bytes, style: bytes | None, t: bytes | None, body: bytes) -> bytes:
    out = b"<" + p + b'c r="' + ref + b'"'
    if style is not None and style != b"0":
        out += b' s="' + style + b'"'
    if t is not None:
        out += b' t="' + t + b'"'
    return out + b">" + body + b"</" + p + b"c>"


def _empty_cell(p: bytes, col: int, r: int, style: bytes) -> bytes:
    return b"<" + p + b'c r="' + f"{column_letter(col)}{r}".encode() + b'" s="' + style + b'"/>'


def _num(f: float) -> bytes:
    if f == int(f) and abs(f) < 1e15:
        return str(int(f)).encode()
    return repr(f).encode()


def _inline_text(fragment: bytes) -> str:
    """The text of an <is> or <si> fragment: every <t>, but not phonetic runs."""
    frag = re.sub(rb"<(?:[\w.-]+:)?rPh\b.*?</(?:[\w.-]+:)?rPh>", b"", fragment, flags=re.S)
    texts = re.findall(rb"<(?:[\w.-]+:)?t(?:\s[^>]*)?>([^<]*)</", frag)
    return _decode_x("".join(_unescape(t) for t in texts))


def _grow_sqref(text: str, above: int, last_new: int) -> str:
    out = []
    for piece in text.split():
        rng = _parse_range(piece)
        if rng is not None:
            c1, r1, c2, r2 = rng
            if r1 <= above <= r2 < last_new:
                piece = _fmt_range((c1, r1, c2, last_new))
        out.append(piece)
    return " ".join(out)


def _grow_tail_ranges(tail: bytes, above: int, last_new: int) -> bytes:
    """Extend data validations, conditional formats (also x14) and the sheet's autoFilter.

    ``tail`` is the sheet part from ``</sheetData>`` on, where those elements live.
    """

    def attr_sub(m: re.Match[bytes]) -> bytes:
        tag = m.group(0)
        for name in (b"sqref", b"ref"):
            val = _attrs(tag).get(name)
            if val is not None:
                new = _grow_sqref(val.decode(), above, last_new).encode()
                if new != val:
                    tag = _set_attr(tag, name, new)
        return tag

    tail = re.sub(
        rb"<(?:[\w.-]+:)?(?:dataValidation|conditionalFormatting|autoFilter)\b[^>]*>",
        attr_sub,
        tail,
    )

    def sqref_sub(m: re.Match[bytes]) -> bytes:
        return m.group(1) + _grow_sqref(m.group(3).decode(), above, last_new).encode() + m.group(4)

    def block_sub(m: re.Match[bytes]) -> bytes:  # x14 formats and validations, not sparklines
        return re.sub(rb"(<((?:[\w.-]+:)?)sqref>)([^<]*)(</\2sqref>)", sqref_sub, m.group(0))

    if b"sqref>" in tail:
        tail = re.sub(
            rb"<((?:[\w.-]+:)?)(conditionalFormatting|dataValidation)\b.*?</\1\2>",
            block_sub,
            tail,
            flags=re.S,
        )
    return tail
