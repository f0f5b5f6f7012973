"""The Open Packaging Conventions layer: relationships (``_rels``), content types
(``[Content_Types].xml``), the workbook part and its list of sheets.
"""

from __future__ import annotations

import posixpath
import re
from typing import IO

from lxml import etree

from sheetcrm.errors import Problem, SheetCRMError
from sheetcrm.xlsx.fragments import SheetInfo
from sheetcrm.xlsx.markup import _NS_CT, _NS_REL_PKG, _RT, _attrs, _local, _parse, _qname, _set_attr
from sheetcrm.xlsx.naming import Naming
from sheetcrm.xlsx.zipstore import ZipStore


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


class Opc(ZipStore):
    """Relationships, content types, the workbook part and its sheets."""

    def __init__(
        self, data: bytes | IO[bytes], name: str = "the workbook", naming: Naming | None = None
    ) -> None:
        super().__init__(data, name, naming)
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
        # the name the sheet stands for: "Customers" is the owner's "Kunder" (given naming)
        wanted = self.naming.sheet_for(name)
        for s in self.sheets:
            if (
                wanted is not None
                and s.kind == "worksheet"
                and self.naming.sheet_for(s.name) == wanted
            ):
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
