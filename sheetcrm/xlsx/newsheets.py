"""Workbook-level edits: new sheets holding a Table, full recalculation on load,
and a cheap look at the edges of a column.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence

from lxml import etree

from sheetcrm.errors import Problem, SheetCRMError, column_letter
from sheetcrm.xlsx.fragments import SheetInfo, _cell, _cells, _num, _Row, _row_xml
from sheetcrm.xlsx.markup import (
    _NS_MAIN,
    _NS_R,
    _NS_R_STRICT,
    _NS_REL_PKG,
    _RT,
    _attrs,
    _check_chars,
    _find,
    _parse,
    _qname,
    _text,
    xml_escape,
)
from sheetcrm.xlsx.opc import _relative, _rels_name
from sheetcrm.xlsx.refs import _REF, _fmt_range
from sheetcrm.xlsx.rows import SheetRows


class NewSheets(SheetRows):
    """Adds sheets and reads the edges of a column."""

    # ---- new sheets
    def _sheet_xml(
        self,
        name: str,
        headers: Sequence[str],
        rows: Sequence[Sequence[object]],
        widths: Sequence[float] | None,
        table_rid: str,
    ) -> bytes:
        """The XML of a sheet sheetcrm writes whole: a header row, rows, one Table."""
        ncols = len(headers)
        last_row = max(2, 1 + len(rows))
        ref = _fmt_range((0, 1, ncols - 1, last_row))
        # the sheet XML (cells written through the same encoder as appends)
        head_cells = b"".join(
            _cell(
                b"",
                f"{column_letter(i)}1".encode(),
                None,
                b"inlineStr",
                b'<is><t xml:space="preserve">' + _text(str(h)) + b"</t></is>",
            )
            for i, h in enumerate(headers)
        )
        for h in headers:
            _check_chars(str(h), str(h), name)
        body = [b'<row r="1" spans="1:%d">' % ncols + head_cells + b"</row>"]
        for r_i, values in enumerate(rows, start=2):
            cells = {}
            for c_i, v in enumerate(values[:ncols]):
                xml = self._cell_xml(b"", name, str(headers[c_i]), c_i, r_i, None, v)
                if xml is not None:
                    cells[c_i] = xml
            body.append(_row_xml(b"", r_i, {}, cells))
        cols = b""
        if widths:
            cols = (
                b"<cols>"
                + b"".join(
                    b'<col min="%d" max="%d" width="%s" customWidth="1"/>'
                    % (i + 1, i + 1, _num(float(w)))
                    for i, w in enumerate(widths)
                )
                + b"</cols>"
            )
        sheet_xml = (
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<worksheet xmlns="' + _NS_MAIN.encode() + b'" xmlns:r="' + _NS_R.encode() + b'">'
            b'<dimension ref="' + ref.encode() + b'"/>'
            b'<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
            b'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" '
            b'activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            b'<sheetFormatPr defaultRowHeight="15"/>'
            + cols
            + b"<sheetData>"
            + b"".join(body)
            + b"</sheetData>"
            b'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
            b'footer="0.3"/><tableParts count="1"><tablePart r:id="' + table_rid.encode() + b'"/>'
            b"</tableParts>"
            b"</worksheet>"
        )
        return sheet_xml

    def add_sheet(
        self,
        name: str,
        headers: Sequence[str],
        rows: Iterable[Sequence[object]] = (),
        widths: Sequence[float] | None = None,
    ) -> str:
        """Add a worksheet holding an Excel Table with the given headers; returns its part."""
        if any(s.name.casefold() == name.casefold() for s in self.sheets):
            raise SheetCRMError(
                Problem(
                    "sheet_exists", f"the workbook already has a sheet named {name}", sheet=name
                )
            )
        if not headers:
            raise SheetCRMError(Problem("unsupported", "a new sheet needs at least one column"))
        if len(name) > 31 or re.search(r"[\[\]:*?/\\]", name) or not name.strip():
            raise SheetCRMError(
                Problem("bad_name", f"{name!r} cannot be an Excel sheet name", value=name)
            )
        wb_dir = posixpath.dirname(self.workbook_part.replace("\\", "/"))
        n = 1
        while self.has(posixpath.join(wb_dir, f"worksheets/sheet{n}.xml")):
            n += 1
        part = posixpath.join(wb_dir, f"worksheets/sheet{n}.xml")
        t = 1
        while self.has(posixpath.join(wb_dir, f"tables/table{t}.xml")):
            t += 1
        table_part = posixpath.join(wb_dir, f"tables/table{t}.xml")
        rows = [list(r) for r in rows]
        ncols = len(headers)
        last_row = max(2, 1 + len(rows))
        ref = _fmt_range((0, 1, ncols - 1, last_row))

        self.sheets.append(SheetInfo(name, part, "visible", "", "worksheet"))
        sheet_xml = self._sheet_xml(name, headers, rows, widths, "rId1")
        self.write(part, sheet_xml)
        # the table
        existing_ids = []
        existing_names = set()
        for pn, pdata in self._parts.items():
            if re.match(r".*tables/table\d*\.xml$", pn):
                tm = re.search(rb"<(?:[\w.-]+:)?table\b[^>]*>", pdata)
                if tm:
                    a = _attrs(tm.group(0))
                    existing_ids.append(int(a.get(b"id", b"0") or 0))
                    existing_names.add(a.get(b"name", b"").decode("utf-8", "replace").casefold())
        tid = max(existing_ids, default=0) + 1
        base = re.sub(r"[^A-Za-z0-9_]", "_", name) or "Table"
        if not re.match(r"[A-Za-z_]", base):
            base = "T_" + base
        tname = base
        k = 2
        while tname.casefold() in existing_names or _REF.match(tname):
            tname = f"{base}{k}"
            k += 1
        seen: set[str] = set()
        col_xml = b""
        for i, h in enumerate(headers, start=1):
            hn = str(h)
            while hn.casefold() in seen:
                hn += "_"
            seen.add(hn.casefold())
            col_xml += b'<tableColumn id="%d" name="%s"/>' % (
                i,
                xml_escape(hn, {'"': "&quot;"}).replace("\n", "&#10;").encode(),
            )
        table_xml = (
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<table xmlns="'
            + _NS_MAIN.encode()
            + b'" id="%d" name="%s" displayName="%s" ' % (tid, tname.encode(), tname.encode())
            + b'ref="'
            + ref.encode()
            + b'" totalsRowShown="0"><autoFilter ref="'
            + ref.encode()
            + b'"/><tableColumns count="%d">' % ncols
            + col_xml
            + b'</tableColumns><tableStyleInfo name="TableStyleMedium2" showFirstColumn="0" '
            b'showLastColumn="0" showRowStripes="1" showColumnStripes="0"/></table>'
        )
        self.write(table_part, table_xml)
        self.write(
            _rels_name(part),
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<Relationships xmlns="' + _NS_REL_PKG.encode() + b'"><Relationship Id="rId1" '
            b'Type="'
            + _RT.encode()
            + b'/table" Target="'
            + _relative(part, table_part).encode()
            + b'"/></Relationships>',
        )
        self._add_override(
            part, "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
        )
        self._add_override(
            table_part, "application/vnd.openxmlformats-officedocument.spreadsheetml.table+xml"
        )
        rid = self._add_rel(self.workbook_part, f"{_RT}/worksheet", part)
        wb = self.read(self.workbook_part)
        ids = [int(x) for x in re.findall(rb'<(?:[\w.-]+:)?sheet\b[^>]*?\ssheetId="(\d+)"', wb)]
        sid = max(ids, default=0) + 1
        m = re.search(rb"</((?:[\w.-]+:)?)sheets>", wb)
        if not m:
            raise SheetCRMError(Problem("damaged_part", "the workbook has no list of sheets"))
        sheets_el = _find(self._wb_root, "sheets")
        if sheets_el is None:
            raise SheetCRMError(Problem("damaged_part", "the workbook has no list of sheets"))
        main_ns = etree.QName(sheets_el).namespace or _NS_MAIN
        r_ns = _NS_R_STRICT if self.strict else _NS_R
        sheet_tag, sheet_decl = _qname(sheets_el, main_ns, "sheet", "x")
        id_attr, id_decl = _qname(sheets_el, r_ns, "id", "r")
        if b":" not in id_attr:  # the relationships namespace as default: still needs a prefix
            id_attr, id_decl = b"r:id", f' xmlns:r="{r_ns}"'.encode()
        entry = (
            b"<"
            + sheet_tag
            + sheet_decl
            + id_decl
            + b' name="'
            + xml_escape(name, {'"': "&quot;"}).encode()
            + b'" sheetId="%d" ' % sid
            + id_attr
            + b'="'
            + rid.encode()
            + b'"/>'
        )
        wb = wb[: m.start()] + entry + wb[m.start() :]
        self.write(self.workbook_part, wb)
        self._wb_root = _parse(self.workbook_part, wb, self.name)
        self.sheets[-1].rid = rid
        return part

    # ---- a cheap look at a column, without reading the whole sheet

    def edge_values(self, sheet: str, key: str) -> list[str]:
        """The texts in column ``key`` of the first and the last data row.

        New ids only need the ends of a sheet: records are added at the bottom,
        and a sheet sorted the other way round has its largest id at the top.
        """
        layout = self._layout(sheet)
        data = self.read(self.sheet_part(sheet))
        col = self.column_of(sheet, key)
        last, _ = self._last_data_row(data, layout)
        rows = [last]
        start = data.find(layout.header_fragment, layout.data_open) + len(layout.header_fragment)
        first = self._row_re(layout.prefix).search(data, start, layout.data_close)
        if first is not None and first.start() < last.start:
            end = data.find(b"</" + layout.prefix + b"row>", first.start())
            rows.append(_Row(0, first.start(), end, data[first.start() : end]))
        values = []
        for row in rows:
            if row.r and row.r <= layout.header_row:
                continue
            for c, cell in _cells(row.fragment):
                if c == col:
                    text = self._cell_value_text(cell)
                    if text:
                        values.append(text)
        return values

    def holds_text(self, sheet: str, text: str) -> bool:
        """Whether some cell of ``sheet`` may hold exactly ``text`` (false alarms are possible)."""
        needle = b">" + _text(text) + b"<"
        if needle in self.read(self.sheet_part(sheet)):
            return True
        strings = self._shared_strings_part()
        return strings is not None and needle in self.read(strings)
