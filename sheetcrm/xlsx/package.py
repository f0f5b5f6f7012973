"""Edit an .xlsx package in memory without harming anything the owner put in it.

A workbook is a zip of XML parts. openpyxl rewrites every part on save and drops
what it does not understand (images, sparklines, data bars, cached values), so
sheetcrm never saves through it. :class:`Package` keeps every zip member as the
bytes it was read as and edits only the few parts a write needs, by splicing
bytes: a 20 MB sheet part is never parsed into a DOM; only the header row, the
last row and the rows being updated are looked at as small fragments.

:class:`Package` is built up one file part at a time, one module each (as
XlsxWriter keeps one module per part): ``zipstore`` (the zip members) <- ``opc``
(relationships, content types, the workbook part) <- ``sharedstrings`` <- ``styles``
<- ``layout`` (header row, columns, Tables) <- ``rows`` (append, update) <-
``newsheets``; this module adds what ``--mark`` shows in the workbook (highlights,
a replaced sheet) and is the one the rest of sheetcrm imports.

This package has no disk policy and no locking: see :mod:`sheetcrm.workbook.writer`.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from sheetcrm.errors import Problem, SheetCRMError
from sheetcrm.xlsx.fragments import SheetInfo, _empty_cell, _parse_row, _row_xml
from sheetcrm.xlsx.markup import _attrs, _set_attr, _start_tag, xml_escape
from sheetcrm.xlsx.naming import Naming
from sheetcrm.xlsx.newsheets import NewSheets
from sheetcrm.xlsx.refs import _fmt_range, _parse_ref, column_index, excel_serial

__all__ = ["Package", "SheetInfo", "column_index", "excel_serial", "full_text"]


_FULL_TEXT_BOOK: dict[tuple[str, int, int, int], Package] = {}


def full_text(path: str | Path, sheet: str, ref: str, naming: Naming | None = None) -> str | None:
    """The whole text of one cell, read from the sheet XML (None if it cannot be read).

    calamine stops at Excel's 32,767 characters; validation asks here whether a
    text that long holds more, which Excel would cut or refuse to open.
    """
    try:
        st = os.stat(path)
        key = (str(path), st.st_mtime_ns, st.st_size, id(naming))
        pkg = _FULL_TEXT_BOOK.get(key)
        if pkg is None:  # one workbook kept: a sheet of long texts is read once, not per cell
            _FULL_TEXT_BOOK.clear()
            pkg = _FULL_TEXT_BOOK[key] = Package.from_path(path, naming)
        col, r = _parse_ref(ref) or (0, 0)
        row = pkg._find_row(pkg.read(pkg.sheet_part(sheet)), pkg._layout(sheet), r)
        if row is None:
            return None
        cell = _parse_row(row.fragment).cells.get(col)
        return None if cell is None else pkg._cell_value_text(cell)
    except (SheetCRMError, OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None


class Package(NewSheets):
    """An .xlsx (or .xlsm) package held in memory: every member's bytes, in order."""

    # ---- marks: what --mark shows inside the workbook

    def _add_dxf(self, fill_rgb: str, font_rgb: str) -> int:
        """A differential format (fill and font colour) for conditional formatting; re-used."""
        styles = self.styles
        data = styles._data()
        dxf = (
            b'<dxf><font><color rgb="FF%s"/></font><fill><patternFill patternType="solid">'
            b'<bgColor rgb="FF%s"/></patternFill></fill></dxf>'
            % (font_rgb.encode(), fill_rgb.encode())
        )
        m = re.search(rb"<((?:[\w.-]+:)?)dxfs\b[^>]*?(?:/>|>(.*?)</\1dxfs>)", data, re.S)
        if m:
            body = m.group(2) or b""
            existing = re.findall(rb"<(?:[\w.-]+:)?dxf\b.*?</(?:[\w.-]+:)?dxf>|<dxf/>", body, re.S)
            if dxf in existing:
                return existing.index(dxf)
            p = m.group(1)
            if p:
                dxf = re.sub(rb"<(/?)", rb"<\1" + p, dxf)
            tag = _set_attr(
                _start_tag(m.group(0)).rstrip(b"/>") + b">",
                b"count",
                str(len(existing) + 1).encode(),
            )
            new = tag + body + dxf + b"</" + p + b"dxfs>"
            data = data[: m.start()] + new + data[m.end() :]
            index = len(existing)
        else:
            after = re.search(
                rb"<(?:[\w.-]+:)?(?:tableStyles|colors|extLst)\b|</(?:[\w.-]+:)?"
                rb"styleSheet>",
                data,
            )
            assert after is not None
            root = re.search(rb"<((?:[\w.-]+:)?)styleSheet\b", data)
            p = root.group(1) if root else b""
            if p:  # the new elements take the prefix the owner's style sheet uses
                dxf = re.sub(rb"<(/?)", rb"<\1" + p, dxf)
            data = (
                data[: after.start()]
                + b"<"
                + p
                + b'dxfs count="1">'
                + dxf
                + b"</"
                + p
                + b"dxfs>"
                + data[after.start() :]
            )
            index = 0
        self.write(styles.part, data)  # type: ignore[arg-type]
        return index

    def highlight(
        self, sheet: str, marker: str, rules: Sequence[tuple[str, str, str, str]]
    ) -> None:
        """Replace this tool's conditional formats on ``sheet`` with ``rules``.

        Each rule is (sqref, formula, fill colour, font colour). Our rules carry
        ``marker`` inside their formula (as ``N("marker")=0``, always true), which is
        how the next run finds and replaces them while the owner's own rules stay.
        """
        part = self.sheet_part(sheet)
        data = self.read(part)
        root = re.search(rb"<((?:[\w.-]+:)?)worksheet\b", data)
        p = root.group(1) if root else b""
        tag = re.escape(p) + b"conditionalFormatting"
        block = re.compile(rb"<" + tag + rb"\b[^>]*>.*?</" + tag + rb">", re.S)
        flag = f'N("{marker}")=0'.encode()
        flag_xml = xml_escape(f'N("{marker}")=0', {'"': "&quot;"}).encode()
        data = block.sub(
            lambda m: b"" if flag in m.group(0) or flag_xml in m.group(0) else m.group(0), data
        )
        priorities = [int(x) for x in re.findall(rb'\bpriority="(\d+)"', data)]
        priority = max(priorities, default=0)
        xml = b""
        for sqref, formula, fill, font in rules:
            if not sqref:
                continue
            priority += 1
            dxf = self._add_dxf(fill, font)
            condition = xml_escape(f"AND({formula},{flag.decode()})").encode()
            xml += (
                b'<%sconditionalFormatting sqref="%s"><%scfRule type="expression" '
                b'dxfId="%d" priority="%d"><%sformula>%s</%sformula></%scfRule>'
                b"</%sconditionalFormatting>"
                % (p, sqref.encode(), p, dxf, priority, p, condition, p, p, p)
            )
        # Look only past the sheet's data and the owner's own rules: a data bar's rule
        # holds an extLst of its own, and ours must not land inside it.
        start = max(
            (
                m.end()
                for m in re.finditer(rb"</" + tag + rb">|</" + re.escape(p) + rb"sheetData>", data)
            ),
            default=0,
        )
        after = re.compile(
            rb"<" + re.escape(p) + rb"(?:dataValidations|hyperlinks|printOptions|pageMargins|"
            rb"pageSetup|headerFooter|rowBreaks|colBreaks|customProperties|cellWatches|"
            rb"ignoredErrors|smartTags|drawing|legacyDrawing|legacyDrawingHF|picture|oleObjects|"
            rb"controls|webPublishItems|tableParts|extLst)\b|</" + re.escape(p) + rb"worksheet>",
        ).search(data, start)
        assert after is not None
        self.write(part, data[: after.start()] + xml + data[after.start() :])

    def replace_sheet(
        self,
        name: str,
        headers: Sequence[str],
        rows: Sequence[Sequence[object]],
        widths: Sequence[float] | None = None,
        links: Mapping[str, str] | None = None,
    ) -> str:
        """A sheet sheetcrm owns (such as Problems), written afresh: its Table and links too.

        ``links`` maps a cell of this sheet (``A2``) to a place in the workbook
        (``'Interactions'!C14``) that clicking it jumps to.
        """
        existing = next((s for s in self.sheets if s.name.casefold() == name.casefold()), None)
        if existing is None:
            part = self.add_sheet(name, headers, rows, widths)
        else:
            part = existing.part
            tables = [t for _, typ, t, _ in self.rels(part) if typ.endswith("/table")]
            rid = next(i for i, typ, _, _ in self.rels(part) if typ.endswith("/table"))
            xml = self._sheet_xml(name, headers, [list(r) for r in rows], widths, rid)
            self.write(part, xml)
            ncols, last = len(headers), max(2, 1 + len(rows))
            ref = _fmt_range((0, 1, ncols - 1, last)).encode()
            for table_part in tables:
                t = self.read(table_part)
                t = re.sub(
                    rb'(<(?:[\w.-]+:)?table\b[^>]*?\sref=")[^"]*"',
                    rb"\g<1>" + ref + b'"',
                    t,
                    count=1,
                )
                t = re.sub(
                    rb'(<(?:[\w.-]+:)?autoFilter\b[^>]*?\sref=")[^"]*"',
                    rb"\g<1>" + ref + b'"',
                    t,
                    count=1,
                )
                self.write(table_part, t)
        if links:
            data = self.read(part)
            items = b"".join(
                b'<hyperlink ref="%s" location="%s"/>'
                % (cell.encode(), xml_escape(target, {'"': "&quot;"}).encode())
                for cell, target in links.items()
            )
            at = data.find(b"<pageMargins")
            data = data[:at] + b"<hyperlinks>" + items + b"</hyperlinks>" + data[at:]
            self.write(part, data)
        return part

    # --------------------------------------------------------------------------- fragments

    def update_rows(self, sheet: str, changes: Mapping[int, Mapping[str, object]]) -> None:
        """Set cells of many existing rows in one pass over the sheet part.

        ``update_cells`` splices the whole part once per row, which is fine for
        a command's one row and far too slow for ``init --into`` giving 20,000
        customers an id: this walks the rows once and joins the part once.
        Each cell keeps its style exactly as ``update_cells`` keeps it.
        """
        if not changes:
            return
        layout = self._layout(sheet)
        if min(changes) <= layout.header_row:
            raise SheetCRMError(
                Problem("unsupported", f"row {min(changes)} of {sheet} is not a record row")
            )
        part = self.sheet_part(sheet)
        data = self.read(part)
        p = layout.prefix
        columns = {k: self._column_of(layout, sheet, k) for v in changes.values() for k in v}
        out: list[bytes] = []
        pos = 0
        last_col = -1
        done: set[int] = set()
        for row in self._all_rows(data, layout):
            values = changes.get(row.r)
            if values is None:
                continue
            parsed = _parse_row(row.fragment)
            cells = dict(parsed.cells)
            for key, value in values.items():
                col = columns[key]
                old = cells.get(col)
                style = _attrs(_start_tag(old)).get(b"s") if old is not None else None
                if old is None and parsed.attrs.get(b"customFormat") in (b"1", b"true"):
                    style = parsed.attrs.get(b"s")
                xml = self._cell_xml(p, sheet, key, col, row.r, style, value)
                if xml is not None:
                    cells[col] = xml
                elif style is not None and style != b"0":
                    cells[col] = _empty_cell(p, col, row.r, style)
                else:
                    cells.pop(col, None)
            out += [data[pos : row.start], _row_xml(p, row.r, parsed.attrs, cells, keep_all=True)]
            pos = row.end
            last_col = max(last_col, max(cells, default=-1))
            done.add(row.r)
        if len(done) < len(changes):
            missing = min(set(changes) - done)
            raise SheetCRMError(
                Problem("unsupported", f"row {missing} of {sheet} is empty; nothing to update")
            )
        out.append(data[pos:])
        data = b"".join(out)
        if last_col >= 0:
            data = self._grow_dimension(data, last_col=last_col)
        self.write(part, data)
        self._layouts.pop(part, None)
        self.set_full_calc_on_load()
