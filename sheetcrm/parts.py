"""Edit an .xlsx package in memory without harming anything the owner put in it.

A workbook is a zip of XML parts. openpyxl rewrites every part on save and drops
what it does not understand (images, sparklines, data bars, cached values), so
sheetcrm never saves through it. :class:`Package` keeps every zip member as the
bytes it was read as and edits only the few parts a write needs, by splicing
bytes: a 20 MB sheet part is never parsed into a DOM; only the header row, the
last row and the rows being updated are looked at as small fragments.

This module has no disk policy and no locking: see :mod:`sheetcrm.writer`.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import math
import numbers
import os
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape as _xml_escape

from lxml import etree

from sheetcrm import safety
from sheetcrm.contract import find_sheet, match_headers, normalize_header
from sheetcrm.errors import Problem, SheetCRMError, cell_ref, column_letter

__all__ = ["Package", "SheetInfo", "column_index", "excel_serial"]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_R_STRICT = "http://purl.oclc.org/ooxml/officeDocument/relationships"

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=False
)

_BAD_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Every "_" that starts an _xHHHH_ sequence, overlapping ones too: in "_x005F_x0041_"
# the "_" closing the first sequence also opens the second, and Excel would decode both.
_X_ESCAPE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")
TEXT_LIMIT = 32_767  # Excel's limit of characters (UTF-16 code units) in one cell

_ATTR = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CELL = re.compile(rb"<(?:[\w.-]+:)?c(?=[\s/>])(?:[^>]*?/>|[^>]*?>.*?</(?:[\w.-]+:)?c>)", re.S)
_HAS_DATA = re.compile(
    rb"<(?:[\w.-]+:)?v>[^<]|<(?:[\w.-]+:)?f[\s>/]|<(?:[\w.-]+:)?t(?:\s[^>]*)?>[^<]"
)
_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
_WORKSHEET_TAG = re.compile(rb"<((?:[\w.-]+:)?worksheet)\b[^>]*>")
_RANGE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)(?::\$?([A-Za-z]{1,3})\$?(\d+))?$")

# Built-in number formats that are dates or times.
_BUILTIN_DATE_FMTS = set(range(14, 23)) | set(range(27, 37)) | {45, 46, 47} | set(range(50, 59))


# --------------------------------------------------------------------------- helpers


def column_index(letters: str) -> int:
    """0-based index of a column letter: A -> 0, AA -> 26."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def excel_serial(value: dt.date | dt.datetime, date1904: bool = False) -> float:
    """The Excel serial number of a date or datetime (naive wall clock)."""
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=None)
        base = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
        delta = value - base
        serial = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
    else:
        base_d = dt.date(1904, 1, 1) if date1904 else dt.date(1899, 12, 30)
        serial = float((value - base_d).days)
    if not date1904 and serial < 61:
        serial -= 1  # Excel's phantom 1900-02-29
    if serial < (0 if date1904 else 1):
        raise ValueError(f"{value} is before Excel's first date")
    return serial


def _attrs(start_tag: bytes) -> dict[bytes, bytes]:
    return {
        m.group(1): (m.group(2) if m.group(2) is not None else m.group(3))
        for m in _ATTR.finditer(start_tag)
    }


def _start_tag(fragment: bytes) -> bytes:
    end = fragment.find(b">")
    return fragment[: end + 1]


def _set_attr(start_tag: bytes, name: bytes, value: bytes | None) -> bytes:
    """Set (or with None remove) one attribute of an element's start tag."""
    pat = re.compile(rb"\s" + re.escape(name) + rb"""\s*=\s*(?:"[^"]*"|'[^']*')""")
    if pat.search(start_tag):
        if value is None:
            return pat.sub(b"", start_tag, count=1)
        return pat.sub(b" " + name + b'="' + value + b'"', start_tag, count=1)
    if value is None:
        return start_tag
    cut = len(start_tag) - (2 if start_tag.endswith(b"/>") else 1)
    return start_tag[:cut] + b" " + name + b'="' + value + b'"' + start_tag[cut:]


def _check_safe(name: str, data: bytes, workbook: str = "the workbook") -> None:
    safety.check_xml(name, data[:8192], workbook)


def _parse(name: str, data: bytes, workbook: str = "the workbook") -> etree._Element:
    _check_safe(name, data, workbook)
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SheetCRMError(
            Problem("not_a_workbook", f"the workbook part {name} is not valid XML: {exc}")
        ) from None


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _find(root: etree._Element, local: str) -> etree._Element | None:
    """The first element named ``local`` (in any namespace) at or under ``root``."""
    return next((el for el in root.iter() if _local(el.tag) == local), None)


def _qname(scope: etree._Element, ns: str, local: str, fallback: str) -> tuple[bytes, bytes]:
    """How to spell element or attribute ``local`` of namespace ``ns`` written inside ``scope``.

    Returns the qualified name and a namespace declaration to put on the new element
    (empty when ``ns`` is already in scope there). Owners' tools declare namespaces
    wherever they like (openpyxl puts ``xmlns:r`` on each ``<sheet>``, others use
    ``x:`` or ``d3p1:``), so the prefix is looked up in scope, never assumed.
    """
    in_scope = [p for p, uri in scope.nsmap.items() if uri == ns]
    if None in in_scope:
        return local.encode(), b""
    if in_scope:
        return f"{in_scope[0]}:{local}".encode(), b""
    return f"{fallback}:{local}".encode(), f' xmlns:{fallback}="{ns}"'.encode()


def _resolve(source_part: str, target: str) -> str:
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    base = posixpath.dirname(source_part.replace("\\", "/"))
    return posixpath.normpath(posixpath.join(base, target)).lstrip("/")


def _rels_name(part: str) -> str:
    d, f = posixpath.split(part.replace("\\", "/"))  # some tools write xl\workbook.xml
    return posixpath.join(d, "_rels", f + ".rels").lstrip("/")


def _relative(source_part: str, target_part: str) -> str:
    source_part, target_part = source_part.replace("\\", "/"), target_part.replace("\\", "/")
    return posixpath.relpath(target_part, posixpath.dirname(source_part) or ".")


def _parse_ref(ref: str) -> tuple[int, int] | None:
    m = _REF.match(ref.strip())
    if not m:
        return None
    return column_index(m.group(1)), int(m.group(2))


def _is_date_format(code: str) -> bool:
    code = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.', "", code)
    if code.lower().startswith("general"):
        return False
    return bool(re.search(r"[ydhsm]", code, re.I))


def _text(value: str) -> bytes:
    """A str as the escaped content of a <t xml:space="preserve"> element."""
    value = _X_ESCAPE.sub("_x005F_", value)  # Excel decodes _xHHHH_: keep it literal
    value = _xml_escape(value).replace("\r", "&#13;")
    return value.encode("utf-8")


def text_length(value: str) -> int:
    """The length of a text as Excel counts it: in UTF-16 code units."""
    if len(value) <= TEXT_LIMIT // 2:  # cannot be over the limit: skip the encoding
        return len(value)
    return len(value.encode("utf-16-le")) // 2


def show_text(text: object) -> str:
    """A cell's text as a message quotes it: short, on one line."""
    one = " ".join(str(text).split())
    return repr(one if len(one) <= 40 else one[:37] + "...")


def _check_chars(value: str, column: str, sheet: str) -> None:
    length = text_length(value)
    if length > TEXT_LIMIT:
        raise SheetCRMError(
            Problem(
                "text_too_long",
                f"the text for {column} is {length:,} characters long, but an Excel cell "
                f"holds at most {TEXT_LIMIT:,}; nothing was written",
                sheet=sheet,
                column=column,
                hint=f"shorten it to {TEXT_LIMIT:,} characters or fewer (or split it over "
                "two records) and try again",
            )
        )
    m = _BAD_XML_CHARS.search(value)
    if m:
        ch = m.group(0)
        raise SheetCRMError(
            Problem(
                "invalid_value",
                f"the value for {column} holds the character U+{ord(ch):04X}, which an Excel "
                "workbook cannot store; nothing was written",
                sheet=sheet,
                column=column,
                value=value,
                hint="remove the control character and try again",
            )
        )


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


# --------------------------------------------------------------------------- styles


class _Styles:
    """Just enough of styles.xml to clone a cell format with a date format or quotePrefix."""

    def __init__(self, pkg: Package, part: str | None) -> None:
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
            raise SheetCRMError("the workbook's styles part has no cell formats (cellXfs)")
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
                raise SheetCRMError("the workbook's styles part is not a style sheet")
            p = root.group(1)
            block = b"<" + p + b'numFmts count="1">' + entry + b"</" + p + b"numFmts>"
            if p:
                block = block.replace(b"<numFmt ", b"<" + p + b"numFmt ")
            data = data[: root.end()] + block + data[root.end() :]
        self.pkg.write(self.part, data)  # type: ignore[arg-type]
        fmts[fid] = code
        return fid


# --------------------------------------------------------------------------- package


_UNREAD = None  # a member not decompressed yet


class _LazyParts(dict):
    """Part name -> bytes, each member decompressed only when something reads it.

    A write touches one or two sheets; unpacking every chart, image and pivot
    cache of the workbook only to copy it back would cost most of the time.
    """

    def __init__(self, zf: zipfile.ZipFile, workbook: str) -> None:
        super().__init__()
        self._zf, self._workbook = zf, workbook

    def __getitem__(self, name: str) -> bytes:
        value = super().__getitem__(name)
        if value is _UNREAD:
            try:
                value = self._zf.read(name)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as e:
                raise SheetCRMError(safety.damaged_part(self._workbook, name, e)) from None
            super().__setitem__(name, value)
        return value

    def get(self, name: str, default: object = None) -> object:
        return self[name] if name in self else default  # noqa: SIM401 (self.get recurses)

    def items(self):  # type: ignore[no-untyped-def]
        return [(name, self[name]) for name in list(self.keys())]

    def values(self):  # type: ignore[no-untyped-def]
        return [self[name] for name in list(self.keys())]

    def is_read(self, name: str) -> bool:
        return super().__getitem__(name) is not _UNREAD


def raw_member(fp: io.BufferedIOBase | io.BytesIO, info: zipfile.ZipInfo) -> bytes:
    """A zip member's stored (compressed) bytes, exactly as they are in the archive."""
    fp.seek(info.header_offset)
    header = fp.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"no local header for {info.filename}")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    fp.seek(info.header_offset + 30 + name_len + extra_len)
    data = fp.read(info.compress_size)
    if len(data) != info.compress_size:
        raise zipfile.BadZipFile(f"{info.filename} is cut short")
    return data


class Package:
    """An .xlsx (or .xlsm) package held in memory: every member's bytes, in order."""

    def __init__(self, data: bytes, name: str = "the workbook") -> None:
        self.name = name
        self._infos: list[zipfile.ZipInfo] = []
        self._parts: dict[str, bytes] = {}
        self._source_infos: dict[str, zipfile.ZipInfo] = {}
        self.changed: set[str] = set()
        self._layouts: dict[str, _SheetLayout] = {}
        self._originals: dict[str, bytes] = {}
        self._aliases: dict[str, str] | None = None
        self._load(data)
        self._rels_cache: dict[str, list[tuple[str, str, str, str]]] = {}
        self.workbook_part = self._find_workbook_part()
        wb = self.read(self.workbook_part)
        self._wb_root = _parse(self.workbook_part, wb, self.name)
        if _local(self._wb_root.tag) != "workbook":  # a Word or PowerPoint file, say
            raise SheetCRMError(
                Problem(
                    "not_a_workbook",
                    f"{name} is an Office file but not an Excel workbook",
                    hint="give the path of an .xlsx workbook",
                )
            )
        self.strict = self._wb_root.tag.startswith("{http://purl.oclc.org/ooxml/")
        self.sheets = self._find_sheets()
        self._shared: list[bytes] | None = None
        self._sst_scope: tuple[bytes, bytes] | None = None
        self._styles: _Styles | None = None
        self.appended: dict[str, list[int]] = {}
        self.updated: dict[str, list[int]] = {}

    # ---- loading
    @classmethod
    def from_path(cls, path: str | Path) -> Package:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SheetCRMError(
                Problem("not_a_workbook", f"cannot read {path.name}: {exc.strerror or exc}")
            ) from None
        from sheetcrm import encryption  # a password-protected workbook, opened in memory

        return cls(encryption.plain_bytes(path, data), path.name)

    def _load(self, data: bytes) -> None:
        if data[:8] == _OLE_MAGIC:
            raise SheetCRMError(
                Problem(
                    "encrypted",
                    f"{self.name} is protected with a password (or is an old .xls file); "
                    "sheetcrm cannot open it",
                    hint="in Excel remove the password (File > Info > Protect Workbook) "
                    "and save it as .xlsx",
                )
            )
        try:
            self._source = io.BytesIO(data)
            zf = zipfile.ZipFile(self._source)
            self._parts = _LazyParts(zf, self.name)
            infos = zf.infolist()
            safety.check_archive(infos, self.name)  # the same limits as every read
            for info in infos:
                if info.is_dir():
                    self._infos.append(info)
                    continue
                if info.flag_bits & 0x1:
                    raise SheetCRMError(
                        Problem("encrypted", f"{self.name} has encrypted zip members")
                    )
                self._infos.append(info)
                dict.__setitem__(self._parts, info.filename, _UNREAD)
                self._source_infos[info.filename] = info
        except SheetCRMError:
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
            raise SheetCRMError(
                Problem(
                    "not_a_workbook",
                    f"{self.name} is not an Excel workbook sheetcrm can open ({exc})",
                    hint="check the file name; save it from Excel as .xlsx",
                )
            ) from None
        except (NotImplementedError, RuntimeError) as exc:  # unsupported compression
            raise SheetCRMError(
                Problem("not_a_workbook", f"{self.name} cannot be unpacked ({exc})")
            ) from None

    # ---- raw parts
    @property
    def part_names(self) -> list[str]:
        return [i.filename for i in self._infos if not i.is_dir()]

    def _alias_map(self) -> dict[str, str]:
        """Part names as the package spells them, keyed also loosely (case, backslashes)."""
        if self._aliases is None or len(self._aliases) < len(self._parts):
            aliases = {}
            for name in self._parts:
                aliases[name.replace("\\", "/").lower()] = name
            aliases.update({name: name for name in self._parts})
            self._aliases = aliases
        return self._aliases

    def _real(self, part: str) -> str:
        aliases = self._alias_map()
        return aliases.get(part) or aliases.get(part.replace("\\", "/").lower(), part)

    def has(self, part: str) -> bool:
        return self._real(part) in self._parts

    def read(self, part: str) -> bytes:
        try:
            return self._parts[self._real(part)]
        except KeyError:
            raise SheetCRMError(
                Problem("not_a_workbook", f"{self.name} has no part {part}")
            ) from None

    def source_bytes(self) -> bytes:
        """The package as it was read (a copy)."""
        return self._source.getvalue()

    def open_part(self, part: str) -> IO[bytes]:
        """A part as a stream: a member not read yet is unpacked as it is read, so even a
        huge sheet can be scanned in bounded memory."""
        part = self._real(part)
        if isinstance(self._parts, _LazyParts) and not self._parts.is_read(part):
            return self._parts._zf.open(self._source_infos[part])
        return io.BytesIO(self.read(part))

    def write(self, part: str, data: bytes) -> None:
        part = self._real(part)
        if part not in self._parts:
            info = zipfile.ZipInfo(part, date_time=dt.datetime.now().timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            self._infos.append(info)
        if self._parts.get(part) != data:
            if part in self._parts and part not in self._originals:
                self._originals[part] = self._parts[part]
            self._parts[part] = data
            self.changed.add(part)
        self._layouts.pop(part, None)

    def remove(self, part: str) -> None:
        """Drop a member from the package (its relationships and content type are the
        caller's to edit)."""
        part = self._real(part)
        if part not in self._parts:
            return
        self._originals.setdefault(part, self._parts[part])
        dict.__delitem__(self._parts, part)
        self._infos = [i for i in self._infos if i.filename != part]
        self._source_infos.pop(part, None)
        self.changed.add(part)
        self._aliases = None
        self._rels_cache.clear()

    def remove_part(self, part: str) -> None:
        """Drop a member and its content-type override (a sheet or note sheetcrm made)."""
        part = self._real(part)
        if part not in self._parts:
            return
        self.remove(part)
        self._layouts.pop(part, None)
        types = self.read("[Content_Types].xml")
        types = re.sub(
            rb"<(?:[\w.-]+:)?Override\b[^>]*?PartName=\"/"
            + re.escape(part.encode())
            + rb"\"[^>]*/>",
            b"",
            types,
        )
        self.write("[Content_Types].xml", types)

    def original(self, part: str) -> bytes | None:
        """A part's bytes as they were read (None for a part added since)."""
        if part in self._originals:
            return self._originals[part]
        return self._parts.get(part) if part not in self.changed else None

    def to_bytes(self) -> bytes:
        """The package as a zip: members in their order, untouched members byte-identical."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", allowZip64=True) as zf:
            for old in self._infos:
                info = zipfile.ZipInfo(old.filename, date_time=old.date_time)
                info.compress_type = old.compress_type
                info.external_attr = old.external_attr
                info.create_system = old.create_system
                info.comment = old.comment
                if old.is_dir():
                    zf.writestr(info, b"")
                    continue
                if self.raw(old.filename) is not None:
                    self._copy_raw(zf, old)
                    continue
                level = 1 if old.filename in self.changed else None
                zf.writestr(info, self._parts[old.filename], compresslevel=level)
        return out.getvalue()

    def raw(self, name: str) -> bytes | None:
        """The stored bytes of a member left as it was read (None once it was changed)."""
        info = self._source_infos.get(name)
        if info is None or name in self.changed:
            return None
        return raw_member(self._source, info)

    def _copy_raw(self, zf: zipfile.ZipFile, old: zipfile.ZipInfo) -> None:
        """Copy a member without unpacking it: same stored bytes, same CRC."""
        raw = self.raw(old.filename)
        assert raw is not None and zf.fp is not None
        info = copy.copy(old)
        info.flag_bits &= ~0x08  # sizes are known: no data descriptor after the data
        info.header_offset = zf.fp.tell()
        zf.fp.write(info.FileHeader())
        zf.fp.write(raw)
        zf.start_dir = zf.fp.tell()  # where the central directory will go
        zf.filelist.append(info)
        zf.NameToInfo[info.filename] = info
        zf._didModify = True  # type: ignore[attr-defined]  # private: write the directory

    # ---- relationships
    def rels(self, part: str) -> list[tuple[str, str, str, str]]:
        """(id, type, resolved target, target mode) for each relationship of a part."""
        part = part.replace("\\", "/")
        name = _rels_name(part) if part else "_rels/.rels"
        if name not in self._rels_cache:
            result = []
            if self.has(name):
                root = _parse(name, self.read(name), self.name)
                for el in root:
                    if _local(el.tag) != "Relationship":
                        continue
                    mode = el.get("TargetMode", "Internal")
                    target = el.get("Target", "")
                    resolved = target if mode == "External" else _resolve(part, target)
                    result.append((el.get("Id", ""), el.get("Type", ""), resolved, mode))
            self._rels_cache[name] = result
        return self._rels_cache[name]

    def _find_workbook_part(self) -> str:
        for _id, typ, target, _mode in self.rels(""):
            if typ.endswith("/officeDocument") and self.has(target):
                return self._real(target)
        for guess in ("xl/workbook.xml", "xl/workbook.bin"):
            if self.has(guess):
                return guess
        raise SheetCRMError(
            Problem("not_a_workbook", f"{self.name} is a zip file but not an Excel workbook")
        )

    def _find_sheets(self) -> list[SheetInfo]:
        rels = {rid: (typ, target) for rid, typ, target, _m in self.rels(self.workbook_part)}
        found = []
        for el in self._wb_root.iter():
            if _local(el.tag) != "sheet":
                continue
            rid = next(
                (
                    v
                    for k, v in el.attrib.items()
                    if etree.QName(k).localname == "id"
                    and "relationships" in (etree.QName(k).namespace or "")
                ),
                "",
            )
            typ, target = rels.get(rid, ("", ""))
            kind = typ.rsplit("/", 1)[-1] if typ else "unknown"
            found.append(
                SheetInfo(el.get("name", ""), target, el.get("state", "visible"), rid, kind)
            )
        return found

    @property
    def sheet_names(self) -> list[str]:
        return [s.name for s in self.sheets]

    def sheet(self, name: str) -> SheetInfo:
        for s in self.sheets:
            if s.name == name:
                return s
        for s in self.sheets:
            if s.name.casefold() == name.casefold():
                return s
        spec = find_sheet(name)  # "Customers" is the owner's "Kunder" (contract synonyms)
        for s in self.sheets:
            if spec is not None and s.kind == "worksheet" and find_sheet(s.name) is spec:
                return s
        raise SheetCRMError(
            Problem("missing_sheet", f"{self.name} has no sheet named {name}", sheet=name)
        )

    def sheet_part(self, name: str) -> str:
        info = self.sheet(name)
        if info.kind != "worksheet" or not self.has(info.part):
            raise SheetCRMError(
                Problem(
                    "missing_sheet", f"{name} is not a worksheet sheetcrm can write to", sheet=name
                )
            )
        return self._real(info.part)

    @property
    def date1904(self) -> bool:
        for el in self._wb_root.iter():
            if _local(el.tag) == "workbookPr":
                return el.get("date1904", "0").lower() in ("1", "true")
        return False

    # ---- shared strings (only what the header row needs)
    def _shared_strings_part(self) -> str | None:
        return next(
            (
                t
                for _i, typ, t, _m in self.rels(self.workbook_part)
                if typ.endswith("/sharedStrings") and self.has(t)
            ),
            None,
        )

    def shared_string(self, index: int) -> str:
        """One shared string by index (the table is cut into entries lazily, once)."""
        if self._shared is None:
            part = self._shared_strings_part()
            data = self.read(part) if part else b""
            if part:
                _check_safe(part, data, self.name)
            m = re.search(rb"<((?:[\w.-]+:)?)si[\s/>]", data)
            if not m:
                self._shared = []
            else:
                p = re.escape(m.group(1))
                # <si/> is an entry too: splitting on </si> alone would shift every index
                entry = re.compile(rb"<" + p + rb"si\b[^>]*?(?:/>|>.*?</" + p + rb"si>)", re.S)
                self._shared = entry.findall(data, m.start())
                root = re.search(rb"<((?:[\w.-]+:)?sst)\b[^>]*>", data[: m.start()])
                if root is not None:
                    self._sst_scope = (root.group(0), b"</" + root.group(1) + b">")
        if not 0 <= index < len(self._shared):
            return ""
        return self._si_text(self._shared[index])

    def _si_text(self, fragment: bytes) -> str:
        """The text of one <si> entry, parsed as XML in the scope of the <sst> element."""
        if self._sst_scope is None:
            return _inline_text(fragment)
        try:
            si = etree.fromstring(self._sst_scope[0] + fragment + self._sst_scope[1], _PARSER)[0]
        except (etree.XMLSyntaxError, IndexError):
            return _inline_text(fragment)
        ns = etree.QName(si).namespace or _NS_MAIN
        return _decode_x(
            "".join(
                str(t.xpath("string()"))
                for t in si.iter(f"{{{ns}}}t")
                if _local(t.getparent().tag) != "rPh"  # phonetic runs are not the text
            )
        )

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

    # ---- content types and rels (small parts, edited as text)
    def _add_override(self, part: str, content_type: str) -> None:
        data = self.read("[Content_Types].xml")
        if f'PartName="/{part}"'.encode() in data:
            return
        root = _parse("[Content_Types].xml", data, self.name)
        tag, decl = _qname(root, etree.QName(root).namespace or _NS_CT, "Override", "ct")
        entry = b"<" + tag + decl + f' PartName="/{part}" ContentType="{content_type}"/>'.encode()
        close = data.rfind(b"</")
        self.write("[Content_Types].xml", data[:close] + entry + data[close:])

    def _add_rel(self, source: str, typ: str, target: str) -> str:
        name = _rels_name(source)
        data = self.read(name) if self.has(name) else None
        if data is None:
            data = (
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                b'<Relationships xmlns="' + _NS_REL_PKG.encode() + b'"></Relationships>'
            )
        root = _parse(name, data, self.name)
        ids = {el.get("Id", "") for el in root if isinstance(el.tag, str)}
        n = 1
        while f"rId{n}" in ids:
            n += 1
        rid = f"rId{n}"
        tag, decl = _qname(root, etree.QName(root).namespace or _NS_REL_PKG, "Relationship", "pr")
        entry = (
            b"<"
            + tag
            + decl
            + f' Id="{rid}" Type="{typ}" Target="{_relative(source, target)}"/>'.encode()
        )
        if len(root) == 0 and data.rstrip().endswith(b"/>"):  # <Relationships .../>
            end_tag = (
                b"</" + (root.prefix + ":" if root.prefix else "").encode() + b"Relationships>"
            )
            data = data.rstrip()[:-2] + b">" + entry + end_tag
        else:
            close = data.rfind(b"</")
            data = data[:close] + entry + data[close:]
        self.write(name, data)
        self._rels_cache.pop(name, None)
        return rid

    def remove_rel(self, source: str, rid: str) -> None:
        """Drop one relationship of ``source`` (the part it pointed to is left to the caller)."""
        name = _rels_name(source)
        if not self.has(name):
            return
        data = self.read(name)
        data = re.sub(
            rb"<(?:[\w.-]+:)?Relationship\b[^>]*?\sId=\"" + re.escape(rid.encode()) + rb"\"[^>]*/>",
            b"",
            data,
        )
        self.write(name, data)
        self._rels_cache.pop(name, None)

    def add_rel(self, source: str, typ: str, target: str) -> str:
        """A new relationship from ``source`` to ``target`` (``typ`` after .../relationships/)."""
        return self._add_rel(source, f"{_RT}/{typ}", target)

    def add_override(self, part: str, content_type: str) -> None:
        self._add_override(part, content_type)

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
            if (header_row is None and _HAS_DATA.search(frag)) or r_guess == header_row:
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
            layout.header.setdefault(normalize_header(text), col)
        spec = find_sheet(sheet)  # the owner's own words for contract columns ("E-post")
        if spec is not None:
            matched = match_headers(spec, sorted(layout.header_names.items()))
            for column, col in matched.items():
                layout.header.setdefault(normalize_header(column), col)
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

    # ---- operations
    def ensure_columns(self, sheet: str, names: Iterable[str]) -> list[str]:
        """Add header cells for names the sheet lacks (and grow its Table); returns those added."""
        layout = self._layout(sheet)
        missing = []
        for n in names:
            key = normalize_header(n)
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
            taken = {c for c, cell in cells if _HAS_DATA.search(cell)}
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
            raise SheetCRMError(f"the table part {table.part} has no columns")
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
                    _xml_escape(name, {'"': "&quot;"}).encode(),
                )
            )
            next_id += 1
        tag = _start_tag(m.group(0))
        count = len(re.findall(rb"<(?:[\w.-]+:)?tableColumn\b", body)) + len(names)
        new_tag = _set_attr(tag, b"count", str(count).encode())
        block = new_tag + body + add + b"</" + p + b"tableColumns>"
        self.write(table.part, data[: m.start()] + block + data[m.end() :])

    def column_of(self, sheet: str, key: str) -> int:
        """The 0-based column whose header matches a contract column name."""
        return self._column_of(self._layout(sheet), sheet, key)

    def _column_of(self, layout: _SheetLayout, sheet: str, key: str) -> int:
        col = layout.header.get(normalize_header(key))
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
        self.appended.setdefault(sheet, []).extend(numbers)
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
                    if not _HAS_DATA.search(cell):
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
        self.updated.setdefault(sheet, []).append(excel_row)

    def row_span(self, sheet: str, r: int, data: bytes | None = None) -> tuple[int, int]:
        """(start, end) offsets of row r's element in the sheet part."""
        part = self.sheet_part(sheet)
        data = self.read(part) if data is None else data
        row = self._find_row(data, self._layout(sheet), r)
        if row is None:
            raise SheetCRMError(f"row {r} of {sheet} is not in the sheet")
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
        raise SheetCRMError("the header row was not found again")  # pragma: no cover

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

    # ---- workbook-level
    def set_full_calc_on_load(self) -> None:
        part = self.workbook_part
        data = self.read(part)
        m = re.search(rb"<((?:[\w.-]+:)?)calcPr\b[^>]*>", data)
        if m:
            if _attrs(m.group(0)).get(b"fullCalcOnLoad") in (b"1", b"true"):
                return
            data = (
                data[: m.start()] + _set_attr(m.group(0), b"fullCalcOnLoad", b"1") + data[m.end() :]
            )
        else:
            root = re.search(rb"<((?:[\w.-]+:)?)workbook\b", data)
            p = root.group(1) if root else b""
            calc = b"<" + p + b'calcPr fullCalcOnLoad="1"/>'
            pos = None
            for el in (b"definedNames", b"externalReferences", b"functionGroups", b"sheets"):
                mm = re.search(
                    rb"<"
                    + re.escape(p)
                    + el
                    + rb"\b[^>]*?(?:/>|>.*?</"
                    + re.escape(p)
                    + el
                    + rb">)",
                    data,
                    re.S,
                )
                if mm:
                    pos = mm.end()
                    break
            if pos is None:
                return
            data = data[:pos] + calc + data[pos:]
        self.write(part, data)

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
            raise SheetCRMError(f"the workbook already has a sheet named {name}")
        if not headers:
            raise SheetCRMError("a new sheet needs at least one column")
        if len(name) > 31 or re.search(r"[\[\]:*?/\\]", name) or not name.strip():
            raise SheetCRMError(f"{name!r} cannot be an Excel sheet name")
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
                _xml_escape(hn, {'"': "&quot;"}).replace("\n", "&#10;").encode(),
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
            raise SheetCRMError("the workbook has no list of sheets")
        sheets_el = _find(self._wb_root, "sheets")
        if sheets_el is None:
            raise SheetCRMError("the workbook has no list of sheets")
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
            + _xml_escape(name, {'"': "&quot;"}).encode()
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
        flag_xml = _xml_escape(f'N("{marker}")=0', {'"': "&quot;"}).encode()
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
            condition = _xml_escape(f"AND({formula},{flag.decode()})").encode()
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
                % (cell.encode(), _xml_escape(target, {'"': "&quot;"}).encode())
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
        self.updated.setdefault(sheet, []).extend(sorted(changes))


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
    if not _HAS_DATA.search(fragment):
        return False
    if columns is None:
        return True
    return any(
        columns[0] <= col <= columns[1] and _HAS_DATA.search(cell) for col, cell in _cells(fragment)
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


def _unescape(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    if "&" in text:
        import html

        text = html.unescape(text)
    return text


def _inline_text(fragment: bytes) -> str:
    """The text of an <is> or <si> fragment: every <t>, but not phonetic runs."""
    frag = re.sub(rb"<(?:[\w.-]+:)?rPh\b.*?</(?:[\w.-]+:)?rPh>", b"", fragment, flags=re.S)
    texts = re.findall(rb"<(?:[\w.-]+:)?t(?:\s[^>]*)?>([^<]*)</", frag)
    return _decode_x("".join(_unescape(t) for t in texts))


def _decode_x(text: str) -> str:
    """Excel's _xHHHH_ escapes decoded (_x005F_ is a literal underscore)."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def _parse_range(text: str) -> tuple[int, int, int, int] | None:
    m = _RANGE.match(text.strip())
    if not m:
        return None
    c1, r1 = column_index(m.group(1)), int(m.group(2))
    if m.group(3):
        c2, r2 = column_index(m.group(3)), int(m.group(4))
    else:
        c2, r2 = c1, r1
    return min(c1, c2), min(r1, r2), max(c1, c2), max(r1, r2)


def _fmt_range(rng: tuple[int, int, int, int]) -> str:
    c1, r1, c2, r2 = rng
    a = f"{column_letter(c1)}{r1}"
    b = f"{column_letter(c2)}{r2}"
    return a if a == b else f"{a}:{b}"


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


_FULL_TEXT_BOOK: dict[tuple[str, int, int], Package] = {}


def full_text(path: str | Path, sheet: str, ref: str) -> str | None:
    """The whole text of one cell, read from the sheet XML (None if it cannot be read).

    calamine stops at Excel's 32,767 characters; validation asks here whether a
    text that long holds more, which Excel would cut or refuse to open.
    """
    try:
        st = os.stat(path)
        key = (str(path), st.st_mtime_ns, st.st_size)
        pkg = _FULL_TEXT_BOOK.get(key)
        if pkg is None:  # one workbook kept: a sheet of long texts is read once, not per cell
            _FULL_TEXT_BOOK.clear()
            pkg = _FULL_TEXT_BOOK[key] = Package.from_path(path)
        col, r = _parse_ref(ref) or (0, 0)
        row = pkg._find_row(pkg.read(pkg.sheet_part(sheet)), pkg._layout(sheet), r)
        if row is None:
            return None
        cell = _parse_row(row.fragment).cells.get(col)
        return None if cell is None else pkg._cell_value_text(cell)
    except (SheetCRMError, OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None
