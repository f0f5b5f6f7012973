"""Sheet data: appending and updating rows, spliced into the sheet part as bytes."""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence

from sheetcrm.errors import Problem, SheetCRMError, cell_ref, column_letter
from sheetcrm.xlsx.fragments import (
    HAS_DATA,
    _cell,
    _cells,
    _empty_cell,
    _grow_tail_ranges,
    _num,
    _parse_row,
    _ParsedRow,
    _Row,
    _row_has_data,
    _row_xml,
    _SheetLayout,
    _Table,
)
from sheetcrm.xlsx.layout import SheetLayout
from sheetcrm.xlsx.markup import (
    _FORMULA_START,
    _attrs,
    _check_chars,
    _set_attr,
    _start_tag,
    _text,
    show_text,
    xml_escape,
)
from sheetcrm.xlsx.refs import _fmt_range, _parse_range, excel_serial


class SheetRows(SheetLayout):
    """Appends and updates rows of a sheet."""

    # ---- operations
    def ensure_columns(self, sheet: str, names: Iterable[str]) -> list[str]:
        """Add header cells for names the sheet lacks (and grow its Table); returns those added."""
        layout = self._layout(sheet)
        missing = []
        for n in names:
            key = self.naming.loose(n)
            if key and key not in layout.header and n not in missing:
                missing.append(n)
        if not missing:
            return []
        part = self.sheet_part(sheet)
        data = self.read(part)
        frag = layout.header_fragment
        cells = _cells(frag)
        row = layout.header_row
        tables = [t for t in self._tables(sheet) if t.ref[1] == row]
        if tables:  # new columns go right after the Table, which grows over them
            last_col = tables[0].ref[2]
            taken = {c for c, cell in cells if HAS_DATA.search(cell)}
            if taken & set(range(last_col + 1, last_col + 1 + len(missing))):
                raise SheetCRMError(
                    Problem(
                        "missing_column",
                        f"the sheet {sheet} needs the column(s) {', '.join(missing)} but the "
                        "cells right of its Table's header are in use",
                        sheet=sheet,
                        hint="add the column(s) to the Table in Excel",
                    )
                )
        else:
            last_col = max(layout.header_names, default=-1)
        model = [cell for c, cell in cells if c <= last_col]
        last_style = _attrs(_start_tag(model[-1])).get(b"s") if model else None
        new_cells = b""
        for i, n in enumerate(missing):
            ref = f"{column_letter(last_col + 1 + i)}{row}".encode()
            s = b' s="' + last_style + b'"' if last_style else b""
            new_cells += (
                b"<"
                + layout.prefix
                + b'c r="'
                + ref
                + b'"'
                + s
                + b' t="inlineStr"><'
                + layout.prefix
                + b"is><"
                + layout.prefix
                + b't xml:space="preserve">'
                + _text(n)
                + b"</"
                + layout.prefix
                + b"t></"
                + layout.prefix
                + b"is></"
                + layout.prefix
                + b"c>"
            )
        new_last = last_col + len(missing)
        start = data.find(frag, layout.data_open)
        tag = _start_tag(frag)
        parsed = _parse_row(frag)
        cells_by_col = dict(parsed.cells)
        for i, cell in enumerate(re.findall(rb"<(?:[\w.-]+:)?c .*?</(?:[\w.-]+:)?c>", new_cells)):
            cells_by_col[last_col + 1 + i] = cell
        new_frag = _row_xml(layout.prefix, row, parsed.attrs, cells_by_col, keep_all=True)
        del tag
        data = data[:start] + new_frag + data[start + len(frag) :]
        data = self._grow_dimension(data, last_col=new_last)
        self.write(part, data)
        for table in tables[:1]:
            c1, r1, _c2, r2 = table.ref
            self._add_table_columns(table, missing)
            self._set_table_range(table, (c1, r1, new_last, r2))
        self._layouts.pop(part, None)
        return missing

    def _add_table_columns(self, table: _Table, names: list[str]) -> None:
        data = self.read(table.part)
        m = re.search(rb"<((?:[\w.-]+:)?)tableColumns\b[^>]*>(.*?)</\1tableColumns>", data, re.S)
        if not m:
            raise SheetCRMError(
                Problem("damaged_part", f"the table part {table.part} has no columns")
            )
        body = m.group(2)
        ids = [int(x) for x in re.findall(rb'\sid="(\d+)"', body)]
        existing = {x.decode("utf-8").casefold() for x in re.findall(rb'\sname="([^"]*)"', body)}
        next_id = max(ids, default=0) + 1
        p = m.group(1)
        add = b""
        for n in names:
            name = n
            k = 2
            while name.casefold() in existing:
                name = f"{n}{k}"
                k += 1
            existing.add(name.casefold())
            add += (
                b"<"
                + p
                + b'tableColumn id="%d" name="%s"/>'
                % (
                    next_id,
                    xml_escape(name, {'"': "&quot;"}).encode(),
                )
            )
            next_id += 1
        tag = _start_tag(m.group(0))
        count = len(re.findall(rb"<(?:[\w.-]+:)?tableColumn\b", body)) + len(names)
        new_tag = _set_attr(tag, b"count", str(count).encode())
        block = new_tag + body + add + b"</" + p + b"tableColumns>"
        self.write(table.part, data[: m.start()] + block + data[m.end() :])

    def column_of(self, sheet: str, key: str) -> int:
        """The 0-based column whose header matches a column name (by the package's naming)."""
        return self._column_of(self._layout(sheet), sheet, key)

    def _column_of(self, layout: _SheetLayout, sheet: str, key: str) -> int:
        col = layout.header.get(self.naming.loose(key))
        if col is None:
            raise SheetCRMError(
                Problem(
                    "missing_column",
                    f"the sheet {sheet} has no column {key}",
                    sheet=sheet,
                    column=key,
                    hint=f"add a header cell {key!r} to the header row",
                )
            )
        return col

    def append_rows(self, sheet: str, rows: Sequence[Mapping[str, object]]) -> list[int]:
        """Append records after the last row holding data; returns their Excel row numbers."""
        if not rows:
            return []
        layout = self._layout(sheet)
        part = self.sheet_part(sheet)
        data = self.read(part)
        p = layout.prefix
        cols_for = [{self._column_of(layout, sheet, k): (k, v) for k, v in r.items()} for r in rows]
        for tbl in self._tables(sheet):
            if tbl.totals_rows and tbl.ref[1] <= layout.header_row <= tbl.ref[3]:
                raise SheetCRMError(
                    Problem(
                        "unsupported",
                        f"the Excel Table on {sheet} has a totals row; sheetcrm cannot add rows "
                        "above it",
                        sheet=sheet,
                        hint="in Excel untick Table Design > Total Row, then run the command again",
                    )
                )

        columns = None
        table_end = None
        for tbl in self._tables(sheet):
            if tbl.ref[1] <= layout.header_row <= tbl.ref[3]:
                columns = (tbl.ref[0], tbl.ref[2])
                table_end = tbl.ref[3]
                break
        # New records go right under the Table's last record: whatever the owner typed
        # further down (a note, a total) is not part of the table and stays where it is.
        last, trailing = self._last_data_row(data, layout, columns, table_end)
        first_new = last.r + 1
        last_wanted = first_new + len(rows) - 1
        if last_wanted > 1_048_576:
            raise SheetCRMError(
                Problem(
                    "unsupported", f"the sheet {sheet} is full (Excel's row limit)", sheet=sheet
                )
            )
        self._check_room(sheet, data, layout, trailing, columns, first_new, last_wanted)
        if last.r <= layout.header_row:
            # The first record: the header row's look (bold, filled) is not a record's.
            # Each cell takes its column's style, as Excel gives a typed cell.
            above = _ParsedRow({}, {}, self._column_styles(data, layout, cols_for))
        else:
            above = _parse_row(last.fragment)
        by_r = {t.r: t for t in trailing}
        out: list[bytes] = []
        numbers = []
        for i, cols in enumerate(cols_for):
            r = first_new + i
            existing = by_r.get(r)
            base_styles = dict(above.styles)
            row_attrs = above.attrs
            if existing is not None:
                ex = _parse_row(existing.fragment)
                base_styles.update(ex.styles)
                row_attrs = ex.attrs
            cells: dict[int, bytes] = {}
            for col, s in base_styles.items():
                if s is not None and s != b"0":
                    cells[col] = _empty_cell(p, col, r, s)
            if existing is not None:  # keep what the re-used row holds (e.g. beside the Table)
                cells.update(_parse_row(existing.fragment).cells)
            for col, (key, value) in cols.items():
                xml = self._cell_xml(p, sheet, key, col, r, base_styles.get(col), value)
                if xml is None:
                    continue
                cells[col] = xml
            out.append(_row_xml(p, r, row_attrs, cells))
            numbers.append(r)
        last_new = numbers[-1]
        out.extend(t.fragment for t in trailing if t.r > last_new)
        region_start = last.end
        view = memoryview(data)
        tail = _grow_tail_ranges(bytes(view[layout.data_close :]), last.r, last_new)
        cut = min(4096, region_start)  # <dimension> sits near the top: edit a small head only
        head = self._grow_dimension(bytes(view[:cut]), last_row=last_new)
        mid = view[cut:region_start]
        self.write(part, b"".join((head, mid, *out, tail)))
        for tbl in self._tables(sheet):
            c1, r1, c2, r2 = tbl.ref
            if r1 <= layout.header_row <= r2 and r2 < last_new:
                self._set_table_range(tbl, (c1, r1, c2, last_new))
        self._layouts.pop(part, None)
        self.set_full_calc_on_load()
        return numbers

    def _check_room(
        self,
        sheet: str,
        data: bytes,
        layout: _SheetLayout,
        trailing: Sequence[_Row],
        columns: tuple[int, int] | None,
        first: int,
        last: int,
    ) -> None:
        """Refuse when something of the owner's sits in the rows the new records need."""
        where = "right under the table" if columns is not None else "below the records"
        for row in trailing:
            if first <= row.r <= last and _row_has_data(row.fragment, columns):
                for col, cell in _cells(row.fragment):
                    if columns is not None and not columns[0] <= col <= columns[1]:
                        continue
                    if not HAS_DATA.search(cell):
                        continue
                    text = self._cell_value_text(cell)
                    shown = f" holds {show_text(text)}" if text else " is not empty"
                    ref = cell_ref(sheet, f"{column_letter(col)}{row.r}")
                    raise SheetCRMError(
                        Problem(
                            "in_the_way",
                            f"{ref}{shown} {where}, where the next record would go; "
                            "nothing was written",
                            row=row.r,
                            column=column_letter(col),
                            hint="move it further down (or into the table as a record) and "
                            "run the command again",
                        )
                    )
        tail = data[layout.data_close : layout.data_close + 2_000_000]
        lo, hi = columns if columns is not None else (0, max(layout.header_names, default=0))
        for m in re.finditer(rb"<(?:[\w.-]+:)?mergeCell\b[^>]*>", tail):
            rng = _parse_range(_attrs(m.group(0)).get(b"ref", b"").decode())
            if rng is None:
                continue
            c1, r1, c2, r2 = rng
            if r1 <= last and r2 >= first and c1 <= hi and c2 >= lo:
                ref = cell_ref(sheet, _fmt_range(rng))
                raise SheetCRMError(
                    Problem(
                        "in_the_way",
                        f"{ref} is merged {where}, where the next record would go; "
                        "nothing was written",
                        row=r1,
                        column=column_letter(c1),
                        hint="unmerge those cells (Home > Merge & Center) or move them further "
                        "down, then run the command again",
                    )
                )

    def _column_styles(
        self, data: bytes, layout: _SheetLayout, cols_for: Sequence[Mapping[int, object]]
    ) -> dict[int, bytes | None]:
        """The style of each column written, from the sheet's <cols> (Excel's column look)."""
        head = data[: layout.data_open]
        spans = []
        for m in re.finditer(rb"<(?:[\w.-]+:)?col\b[^>]*>", head):
            a = _attrs(m.group(0))
            try:
                spans.append((int(a[b"min"]) - 1, int(a[b"max"]) - 1, a.get(b"style")))
            except (KeyError, ValueError):
                continue
        styles: dict[int, bytes | None] = {}
        for col in {c for cols in cols_for for c in cols}:
            for lo, hi, style in spans:
                if lo <= col <= hi and style not in (None, b"0"):
                    styles[col] = style
                    break
        return styles

    def update_cells(self, sheet: str, excel_row: int, values: Mapping[str, object]) -> None:
        """Set cells of an existing row, keeping each cell's style."""
        layout = self._layout(sheet)
        if excel_row <= layout.header_row:
            raise SheetCRMError(
                Problem(
                    "unsupported",
                    f"row {excel_row} of {sheet} is not a record row",
                    sheet=sheet,
                    row=excel_row,
                )
            )
        part = self.sheet_part(sheet)
        data = self.read(part)
        p = layout.prefix
        row = self._find_row(data, layout, excel_row)
        if row is None:
            raise SheetCRMError(
                Problem(
                    "unsupported",
                    f"row {excel_row} of {sheet} is empty; nothing to update",
                    sheet=sheet,
                    row=excel_row,
                )
            )
        parsed = _parse_row(row.fragment)
        cells = dict(parsed.cells)
        for key, value in values.items():
            col = self._column_of(layout, sheet, key)
            old = cells.get(col)
            style = _attrs(_start_tag(old)).get(b"s") if old is not None else None
            if old is None and parsed.attrs.get(b"customFormat") in (b"1", b"true"):
                style = parsed.attrs.get(b"s")
            xml = self._cell_xml(p, sheet, key, col, excel_row, style, value)
            if xml is None:
                if style is not None and style != b"0":
                    cells[col] = _empty_cell(p, col, excel_row, style)
                else:
                    cells.pop(col, None)
            else:
                cells[col] = xml
        new_frag = _row_xml(p, excel_row, parsed.attrs, cells, keep_all=True)
        data = data[: row.start] + new_frag + data[row.end :]
        if cells:
            data = self._grow_dimension(data, last_col=max(cells))
        self.write(part, data)
        self._layouts.pop(part, None)
        self.set_full_calc_on_load()

    def row_span(self, sheet: str, r: int, data: bytes | None = None) -> tuple[int, int]:
        """(start, end) offsets of row r's element in the sheet part."""
        part = self.sheet_part(sheet)
        data = self.read(part) if data is None else data
        row = self._find_row(data, self._layout(sheet), r)
        if row is None:
            raise SheetCRMError(
                Problem("workbook_changed", f"row {r} of {sheet} is not in the sheet", sheet=sheet)
            )
        return row.start, row.end

    # ---- row search
    def _row_re(self, p: bytes) -> re.Pattern[bytes]:
        return re.compile(rb"<" + re.escape(p) + rb"row(?=[\s/>])")

    def _all_rows(self, data: bytes, layout: _SheetLayout) -> list[_Row]:
        rows = []
        close_tag = b"</" + layout.prefix + b"row>"
        r_guess = 0
        for rm in self._row_re(layout.prefix).finditer(data, layout.data_open, layout.data_close):
            tag_end = data.find(b">", rm.start())
            tag = data[rm.start() : tag_end + 1]
            end = (
                tag_end + 1
                if tag.endswith(b"/>")
                else data.find(close_tag, tag_end) + len(close_tag)
            )
            r_attr = _attrs(tag).get(b"r")
            r_guess = int(r_attr) if r_attr else r_guess + 1
            rows.append(_Row(r_guess, rm.start(), end, data[rm.start() : end]))
        return rows

    def _rows_backward(self, data: bytes, layout: _SheetLayout) -> Iterable[_Row]:
        p = layout.prefix
        tag = b"<" + p + b"row"
        pos = layout.data_close
        while True:
            i = data.rfind(tag, layout.data_open, pos)
            if i < 0:
                return
            nxt = data[i + len(tag) : i + len(tag) + 1]
            if nxt not in (b" ", b">", b"/", b"\t", b"\n", b"\r"):
                pos = i
                continue
            frag = data[i:pos].rstrip()
            r_attr = _attrs(_start_tag(frag)).get(b"r")
            if not r_attr:
                # rows without numbers: number them all, once
                yield from reversed([r for r in self._all_rows(data, layout) if r.start <= i])
                return
            yield _Row(int(r_attr), i, i + len(frag), frag)
            pos = i

    def _last_data_row(
        self,
        data: bytes,
        layout: _SheetLayout,
        columns: tuple[int, int] | None = None,
        end: int | None = None,
    ) -> tuple[_Row, list[_Row]]:
        """The last row holding data (in the Table's columns if given, at or above row
        ``end`` if given), then every row after it."""
        trailing: list[_Row] = []
        for row in self._rows_backward(data, layout):
            if row.r <= layout.header_row or (
                (end is None or row.r <= end) and _row_has_data(row.fragment, columns)
            ):
                trailing.reverse()
                return row, trailing
            trailing.append(row)
        raise SheetCRMError(  # pragma: no cover
            Problem("workbook_changed", "the header row was not found again")
        )

    def _find_row(self, data: bytes, layout: _SheetLayout, r: int) -> _Row | None:
        # fast path: search for r="N" then check it is a row start tag
        needle = b'r="%d"' % r
        p = layout.prefix
        pos = layout.data_close  # search from the end: new and recent rows are there
        while True:
            i = data.rfind(needle, layout.data_open, pos)
            if i < 0:
                break
            start = data.rfind(b"<", layout.data_open, i)
            if data.startswith(b"<" + p + b"row", start) and data[start:i].count(b">") == 0:
                tag_end = data.find(b">", i)
                if data[tag_end - 1 : tag_end] == b"/":
                    end = tag_end + 1
                else:
                    close = b"</" + p + b"row>"
                    end = data.find(close, tag_end) + len(close)
                return _Row(r, start, end, data[start:end])
            pos = i
        for row in self._all_rows(data, layout):
            if row.r == r and not _attrs(_start_tag(row.fragment)).get(b"r"):
                return row
        return None

    def _grow_dimension(
        self, data: bytes, last_row: int | None = None, last_col: int | None = None
    ) -> bytes:
        m = re.search(rb"<(?:[\w.-]+:)?dimension\b[^>]*>", data[:4096])
        if not m:
            return data
        rng = _parse_range(_attrs(m.group(0)).get(b"ref", b"").decode())
        if rng is None:
            return data
        c1, r1, c2, r2 = rng
        if last_row is not None:
            r2 = max(r2, last_row)
        if last_col is not None:
            c2 = max(c2, last_col)
        if (c1, r1, c2, r2) == rng:
            return data
        tag = _set_attr(m.group(0), b"ref", _fmt_range((c1, r1, c2, r2)).encode())
        return data[: m.start()] + tag + data[m.end() :]

    # ---- value encoding
    def _cell_xml(
        self, p: bytes, sheet: str, key: str, col: int, r: int, style: bytes | None, value: object
    ) -> bytes | None:
        ref = f"{column_letter(col)}{r}".encode()
        s_int = int(style) if style and style.isdigit() else 0
        if value is None or (isinstance(value, str) and value == ""):
            return None
        if isinstance(value, bool):
            return _cell(
                p,
                ref,
                style,
                b"b",
                b"<" + p + b"v>" + (b"1" if value else b"0") + b"</" + p + b"v>",
            )
        if isinstance(value, dt.datetime | dt.date):
            kind = "datetime" if isinstance(value, dt.datetime) else "date"
            try:
                serial = excel_serial(value, self.date1904)
            except ValueError as exc:
                raise SheetCRMError(
                    Problem(
                        "invalid_date",
                        f"the {key} date {value} cannot be stored in Excel: {exc}",
                        sheet=sheet,
                        column=key,
                        value=value,
                    )
                ) from None
            new_style = str(self.styles.dated(s_int, kind)).encode()
            return _cell(
                p, ref, new_style, None, b"<" + p + b"v>" + _num(serial) + b"</" + p + b"v>"
            )
        if isinstance(value, numbers.Real):
            f = float(value)
            if math.isnan(f) or math.isinf(f):
                raise SheetCRMError(
                    Problem(
                        "invalid_number",
                        f"the {key} value {value} is not a finite number",
                        sheet=sheet,
                        column=key,
                        value=value,
                    )
                )
            text = str(int(value)).encode() if isinstance(value, numbers.Integral) else _num(f)
            return _cell(p, ref, style, None, b"<" + p + b"v>" + text + b"</" + p + b"v>")
        if not isinstance(value, str):
            value = str(value)
        _check_chars(value, key, sheet)
        if value.startswith(_FORMULA_START):
            style = str(self.styles.quote_prefixed(s_int)).encode()
        body = (
            b"<"
            + p
            + b"is><"
            + p
            + b't xml:space="preserve">'
            + _text(value)
            + b"</"
            + p
            + b"t></"
            + p
            + b"is>"
        )
        return _cell(p, ref, style, b"inlineStr", body)
