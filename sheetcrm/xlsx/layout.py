"""A sheet's layout: the header row, its columns (by the package's naming) and its
Excel Tables.
"""

from __future__ import annotations

import re

from lxml import etree

from sheetcrm.errors import Problem, SheetCRMError
from sheetcrm.xlsx.fragments import (
    _WORKSHEET_TAG,
    HAS_DATA,
    _cells,
    _inline_text,
    _SheetLayout,
    _Table,
)
from sheetcrm.xlsx.markup import (
    _NS_MAIN,
    _PARSER,
    _attrs,
    _check_safe,
    _decode_x,
    _local,
    _set_attr,
    _start_tag,
    _unescape,
)
from sheetcrm.xlsx.refs import _fmt_range, _parse_range, _parse_ref
from sheetcrm.xlsx.styles import Styled


class SheetLayout(Styled):
    """Finds the header row, the columns and the Tables of each sheet."""

    # ---- sheet layout
    def _layout(self, sheet: str) -> _SheetLayout:
        part = self.sheet_part(sheet)
        cached = self._layouts.get(part)
        if cached is not None:
            return cached
        data = self.read(part)
        _check_safe(part, data, self.name)
        m = re.search(rb"<((?:[\w.-]+:)?)sheetData\b[^>]*?(/?)>", data)
        if not m:
            raise SheetCRMError(
                Problem("not_a_workbook", f"the sheet {sheet} has no cell data", sheet=sheet)
            )
        prefix = m.group(1)
        if m.group(2):  # <sheetData/>
            data = (
                data[: m.start()]
                + b"<"
                + prefix
                + b"sheetData></"
                + prefix
                + b"sheetData>"
                + data[m.end() :]
            )
            self.write(part, data)
            m = re.search(rb"<((?:[\w.-]+:)?)sheetData\b[^>]*?>", data)
            assert m
        data_open = m.end()
        data_close = data.find(b"</" + prefix + b"sheetData>", data_open)
        if data_close < 0:
            raise SheetCRMError(
                Problem("not_a_workbook", f"the sheet {sheet} is cut short", sheet=sheet)
            )
        layout = _SheetLayout(prefix, data_open, data_close, 0)
        root = _WORKSHEET_TAG.search(data, 0, m.start())
        if root is not None:
            layout.scope_open = root.group(0) + data[m.start() : data_open]
            layout.scope_close = b"</" + prefix + b"sheetData></" + root.group(1) + b">"
        header_row = None
        for table in self._tables(sheet):
            if table.header_rows:
                header_row = table.ref[1]
                break
        row_re = re.compile(rb"<" + re.escape(prefix) + rb"row(?=[\s/>])")
        close_tag = b"</" + prefix + b"row>"
        numbers_known = True
        r_guess = 0
        for rm in row_re.finditer(data, data_open, data_close):
            tag_end = data.find(b">", rm.start())
            tag = data[rm.start() : tag_end + 1]
            if tag.endswith(b"/>"):
                end = tag_end + 1
            else:
                end = data.find(close_tag, tag_end) + len(close_tag)
            r_attr = _attrs(tag).get(b"r")
            r_guess = int(r_attr) if r_attr else r_guess + 1
            numbers_known = numbers_known and bool(r_attr)
            frag = data[rm.start() : end]
            if (header_row is None and HAS_DATA.search(frag)) or r_guess == header_row:
                layout.header_row = r_guess
                layout.header_fragment = frag
                break
            if header_row is not None and r_guess > header_row:
                break
        if not layout.header_row:
            raise SheetCRMError(
                Problem(
                    "missing_column",
                    f"the sheet {sheet} has no header row",
                    sheet=sheet,
                    hint="type the column names in the first row",
                )
            )
        for col, text in self._header_texts(sheet, layout):
            if not text.strip():
                continue
            layout.header_names[col] = text
            layout.header.setdefault(self.naming.loose(text), col)
        canonical = self.naming.sheet_for(sheet)  # the owner's own words for columns ("E-post")
        if canonical is not None:
            matched = self.naming.columns(canonical, sorted(layout.header_names.items()))
            for column, col in matched.items():
                layout.header.setdefault(self.naming.loose(column), col)
        self._layouts[part] = layout
        return layout

    def _header_texts(self, sheet: str, layout: _SheetLayout) -> list[tuple[int, str]]:
        """(column, text) of each header cell, read by a namespace-aware XML parser.

        The header decides which column is which, so it is read as XML proper: the
        row is parsed inside its worksheet and sheetData start tags, with whatever
        namespaces they declare (or the row declares itself). Formulas are not headers.
        """
        if not layout.scope_open:  # no worksheet start tag found: read it as text
            return [
                (col, str(text))
                for col, cell in _cells(layout.header_fragment)
                if not re.search(rb"<(?:[\w.-]+:)?f[\s>/]", cell)
                and (text := self._cell_value_text(cell)) is not None
            ]
        xml = layout.scope_open + layout.header_fragment + layout.scope_close
        try:
            wrapper = etree.fromstring(xml, _PARSER)
        except etree.XMLSyntaxError as exc:
            raise SheetCRMError(
                Problem(
                    "not_a_workbook",
                    f"the header row of {sheet} is not valid XML: {exc}",
                    sheet=sheet,
                    row=layout.header_row,
                    hint="open the workbook in Excel and save a fresh copy",
                )
            ) from None
        sheet_data = wrapper[0]
        ns = etree.QName(sheet_data).namespace or _NS_MAIN
        out = []
        col = -1
        for cell in sheet_data[0].iterchildren(f"{{{ns}}}c"):
            ref = cell.get("r")
            parsed = _parse_ref(ref) if ref else None
            col = parsed[0] if parsed else col + 1
            if cell.find(f"{{{ns}}}f") is not None:
                continue  # a formula beside the headers is not a header
            text = self._element_text(cell, ns)
            if text is not None:
                out.append((col, text))
        return out

    def _element_text(self, cell: etree._Element, ns: str) -> str | None:
        """The text a parsed <c> element shows (shared, inline or plain), without formats."""
        kind = cell.get("t", "n")
        if kind == "inlineStr":
            inline = cell.find(f"{{{ns}}}is")
            if inline is None:
                return None
            text = "".join(
                str(t.xpath("string()"))  # CDATA and comments inside are XML, not text
                for t in inline.iter(f"{{{ns}}}t")
                if _local(t.getparent().tag) != "rPh"  # phonetic runs are not the text
            )
            return _decode_x(text)
        value = cell.find(f"{{{ns}}}v")
        if value is None or value.text is None:
            return None
        if kind == "s":
            try:
                return self.shared_string(int(value.text))
            except ValueError:
                return None
        return value.text

    def headers(self, sheet: str) -> tuple[int, dict[int, str]]:
        """The header row number and its texts by 0-based column."""
        layout = self._layout(sheet)
        return layout.header_row, dict(layout.header_names)

    def _cell_value_text(self, cell: bytes) -> str | None:
        a = _attrs(_start_tag(cell))
        t = a.get(b"t", b"n")
        if t == b"inlineStr":
            return _inline_text(cell)
        v = re.search(rb"<(?:[\w.-]+:)?v>([^<]*)</", cell)
        if not v:
            return None
        raw = _unescape(v.group(1))
        if t == b"s":
            try:
                return self.shared_string(int(raw))
            except ValueError:
                return None
        return raw

    # ---- tables
    def _tables(self, sheet: str) -> list[_Table]:
        part = self.sheet_part(sheet)
        tables = []
        for _rid, typ, target, _mode in self.rels(part):
            if not typ.endswith("/table") or not self.has(target):
                continue
            data = self.read(target)
            _check_safe(target, data, self.name)
            m = re.search(rb"<(?:[\w.-]+:)?table\b[^>]*>", data)
            if not m:
                continue
            a = _attrs(m.group(0))
            rng = _parse_range(a.get(b"ref", b"").decode())
            if rng is None:
                continue
            tables.append(
                _Table(
                    self._real(target),
                    rng,
                    int(a.get(b"headerRowCount", b"1") or 1),
                    int(a.get(b"totalsRowCount", b"0") or 0),
                )
            )
        tables.sort(key=lambda t: (t.ref[1], t.ref[0]))
        return tables

    def _set_table_range(self, table: _Table, ref: tuple[int, int, int, int]) -> None:
        data = self.read(table.part)
        m = re.search(rb"<(?:[\w.-]+:)?table\b[^>]*>", data)
        assert m
        old = table.ref
        text = _fmt_range(ref).encode()
        new_tag = _set_attr(m.group(0), b"ref", text)
        data = data[: m.start()] + new_tag + data[m.end() :]
        af = re.search(rb"<(?:[\w.-]+:)?autoFilter\b[^>]*>", data)
        if af:
            a = _attrs(af.group(0))
            arng = _parse_range(a.get(b"ref", b"").decode())
            if arng is not None:
                c1, r1, c2, r2 = arng
                if (c1, r1) == (old[0], old[1]):
                    new_end_row = ref[3] - table.totals_rows
                    new_af = (c1, r1, c2 + (ref[2] - old[2]), max(r2, new_end_row))
                    data = (
                        data[: af.start()]
                        + _set_attr(af.group(0), b"ref", _fmt_range(new_af).encode())
                        + data[af.end() :]
                    )
        self.write(table.part, data)
        table.ref = ref
