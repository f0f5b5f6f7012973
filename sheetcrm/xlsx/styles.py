"""The styles part (``xl/styles.xml``): cell formats read, cloned and added."""

from __future__ import annotations

import posixpath
import re
from typing import IO

from sheetcrm.errors import Problem, SheetCRMError
from sheetcrm.xlsx.markup import _NS_MAIN, _RT, _attrs, _set_attr, _start_tag
from sheetcrm.xlsx.naming import Naming
from sheetcrm.xlsx.sharedstrings import SharedStrings

# Built-in number formats that are dates or times.
_BUILTIN_DATE_FMTS = set(range(14, 23)) | set(range(27, 37)) | {45, 46, 47} | set(range(50, 59))


def _is_date_format(code: str) -> bool:
    code = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.', "", code)
    if code.lower().startswith("general"):
        return False
    return bool(re.search(r"[ydhsm]", code, re.I))


# --------------------------------------------------------------------------- styles


class _Styles:
    """Just enough of styles.xml to clone a cell format with a date format or quotePrefix."""

    def __init__(self, pkg: Styled, part: str | None) -> None:
        self.pkg = pkg
        self.part = part
        self._cache: dict[tuple[int, str], int] = {}
        self._xfs: list[bytes] | None = None
        self._fmts: dict[int, str] | None = None

    def _data(self) -> bytes:
        if self.part is None:
            self.part = self.pkg._create_styles()
        return self.pkg.read(self.part)

    def _cellxfs(self, data: bytes) -> re.Match[bytes]:
        m = re.search(rb"<((?:[\w.-]+:)?)cellXfs\b[^>]*?(?:/>|>(.*?)</\1cellXfs>)", data, re.S)
        if not m:
            raise SheetCRMError(
                Problem("damaged_part", "the workbook's styles part has no cell formats (cellXfs)")
            )
        return m

    def xfs(self) -> list[bytes]:
        if self._xfs is None:
            m = self._cellxfs(self._data())
            body = m.group(2) or b""
            self._xfs = re.findall(
                rb"<(?:[\w.-]+:)?xf(?=[\s/>])(?:[^>]*?/>|[^>]*?>.*?</(?:[\w.-]+:)?xf>)", body, re.S
            )
        return self._xfs

    def formats(self) -> dict[int, str]:
        if self._fmts is None:
            self._fmts = {}
            for m in re.finditer(rb"<(?:[\w.-]+:)?numFmt\b[^>]*>", self._data()):
                a = _attrs(m.group(0))
                try:
                    fid = int(a.get(b"numFmtId", b"-1"))
                except ValueError:
                    continue
                code = a.get(b"formatCode", b"").decode("utf-8", "replace")
                code = code.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                self._fmts[fid] = code
        return self._fmts

    def is_date(self, style: int) -> bool:
        xfs = self.xfs()
        if not 0 <= style < len(xfs):
            return False
        fid = int(_attrs(_start_tag(xfs[style])).get(b"numFmtId", b"0") or 0)
        if fid in _BUILTIN_DATE_FMTS:
            return True
        code = self.formats().get(fid)
        return code is not None and _is_date_format(code)

    def _add_xf(self, xf: bytes) -> int:
        xfs = self.xfs()
        for i, existing in enumerate(xfs):
            if existing == xf:
                return i
        data = self._data()
        m = self._cellxfs(data)
        start_tag = _start_tag(m.group(0))
        new_count = str(len(xfs) + 1).encode()
        if m.group(0).endswith(b"/>") and m.group(2) is None:
            prefix = m.group(1)
            tag = _set_attr(start_tag[:-2] + b">", b"count", new_count)
            block = tag + xf + b"</" + prefix + b"cellXfs>"
        else:
            tag = _set_attr(start_tag, b"count", new_count)
            body = m.group(0)[len(start_tag) :]
            close = body.rfind(b"</")
            block = tag + body[:close] + xf + body[close:]
        self.pkg.write(self.part, data[: m.start()] + block + data[m.end() :])  # type: ignore[arg-type]
        xfs.append(xf)
        return len(xfs) - 1

    def _base(self, style: int) -> bytes:
        xfs = self.xfs()
        if 0 <= style < len(xfs):
            return xfs[style]
        if xfs:
            return xfs[0]
        return b'<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'

    def _clone(self, style: int, **attrs: bytes) -> bytes:
        base = self._base(style)
        tag = _start_tag(base)
        new = tag
        for k, v in attrs.items():
            new = _set_attr(new, k.encode(), v)
        return new + base[len(tag) :]

    def quote_prefixed(self, style: int) -> int:
        key = (style, "quote")
        if key not in self._cache:
            xfs = self.xfs()
            if 0 <= style < len(xfs) and _attrs(_start_tag(xfs[style])).get(b"quotePrefix") in (
                b"1",
                b"true",
            ):
                self._cache[key] = style
            else:
                self._cache[key] = self._add_xf(self._clone(style, quotePrefix=b"1"))
        return self._cache[key]

    def dated(self, style: int, kind: str) -> int:
        if self.is_date(style):
            return style
        key = (style, kind)
        if key not in self._cache:
            code = "yyyy-mm-dd hh:mm" if kind == "datetime" else "yyyy-mm-dd"
            fid = self._format_id(code)
            self._cache[key] = self._add_xf(
                self._clone(style, numFmtId=str(fid).encode(), applyNumberFormat=b"1")
            )
        return self._cache[key]

    def _format_id(self, code: str) -> int:
        fmts = self.formats()
        for fid, existing in fmts.items():
            if existing == code:
                return fid
        fid = max([163, *fmts]) + 1
        data = self._data()
        entry = b'<numFmt numFmtId="%d" formatCode="%s"/>' % (fid, code.encode())
        m = re.search(rb"<((?:[\w.-]+:)?)numFmts\b[^>]*?(?:/>|>.*?</\1numFmts>)", data, re.S)
        if m:
            if m.group(1):  # the owner's numFmts is prefixed: so is the new entry
                entry = b"<" + m.group(1) + entry[1:]
            tag = _start_tag(m.group(0))
            if m.group(0).endswith(b"/>") and b"</" not in m.group(0):
                block = _set_attr(tag[:-2] + b">", b"count", b"1") + entry
                block += b"</" + m.group(1) + b"numFmts>"
            else:
                body = m.group(0)[len(tag) :]
                close = body.rfind(b"</")
                new_tag = _set_attr(tag, b"count", str(len(fmts) + 1).encode())
                block = new_tag + body[:close] + entry + body[close:]
            data = data[: m.start()] + block + data[m.end() :]
        else:
            root = re.search(rb"<((?:[\w.-]+:)?)styleSheet\b[^>]*>", data)
            if not root:
                raise SheetCRMError(
                    Problem("damaged_part", "the workbook's styles part is not a style sheet")
                )
            p = root.group(1)
            block = b"<" + p + b'numFmts count="1">' + entry + b"</" + p + b"numFmts>"
            if p:
                block = block.replace(b"<numFmt ", b"<" + p + b"numFmt ")
            data = data[: root.end()] + block + data[root.end() :]
        self.pkg.write(self.part, data)  # type: ignore[arg-type]
        fmts[fid] = code
        return fid


class Styled(SharedStrings):
    """Gives the styles part (created when the workbook has none)."""

    def __init__(
        self, data: bytes | IO[bytes], name: str = "the workbook", naming: Naming | None = None
    ) -> None:
        super().__init__(data, name, naming)
        self._styles: _Styles | None = None

    # ---- styles
    @property
    def styles(self) -> _Styles:
        if self._styles is None:
            part = next(
                (
                    t
                    for _i, typ, t, _m in self.rels(self.workbook_part)
                    if typ.endswith("/styles") and self.has(t)
                ),
                None,
            )
            self._styles = _Styles(self, self._real(part) if part else None)
        return self._styles

    def _create_styles(self) -> str:
        part = posixpath.join(
            posixpath.dirname(self.workbook_part.replace("\\", "/")), "styles.xml"
        )
        self.write(
            part,
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<styleSheet xmlns="' + _NS_MAIN.encode() + b'">'
            b'<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
            b'<fills count="2"><fill><patternFill patternType="none"/></fill>'
            b'<fill><patternFill patternType="gray125"/></fill></fills>'
            b'<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            b"</borders>"
            b'<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            b"</cellStyleXfs>"
            b'<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            b"</cellXfs></styleSheet>",
        )
        self._add_override(
            part, "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
        )
        self._add_rel(self.workbook_part, f"{_RT}/styles", part)
        return part
