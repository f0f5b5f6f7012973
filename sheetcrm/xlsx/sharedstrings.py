"""The shared strings part (``xl/sharedStrings.xml``): the texts the header row needs,
and blanking the ones an erasure leaves unused."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import IO

from lxml import etree

from sheetcrm.xlsx.fragments import _inline_text
from sheetcrm.xlsx.markup import _NS_MAIN, _PARSER, _check_safe, _decode_x, _local
from sheetcrm.xlsx.naming import Naming
from sheetcrm.xlsx.opc import Opc


class SharedStrings(Opc):
    """Reads the shared strings the header row refers to; blanks unused ones."""

    def __init__(
        self, data: bytes | IO[bytes], name: str = "the workbook", naming: Naming | None = None
    ) -> None:
        super().__init__(data, name, naming)
        self._shared: list[bytes] | None = None
        self._sst_scope: tuple[bytes, bytes] | None = None

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

    def blank_unused_strings(self, should_blank: Callable[[str], bool]) -> None:
        """Empty each shared string no cell uses any more whose text ``should_blank``.

        Excel keeps every text once in a shared table; a rewritten cell no longer
        points at its old text, yet the text stays in the file (erasure must not
        leave a person's name there). A string some cell still uses is left alone.
        """
        part = self._shared_strings_part()
        if part is None:
            return
        data = self.read(part)
        used: set[int] = set()
        cell = re.compile(rb'<(?:\w+:)?c\b[^>]*?\bt="s"[^>]*>\s*<(?:\w+:)?v>(\d+)<')
        for info in self._find_sheets():
            sheet_xml = self.read(self.sheet_part(info.name))
            used.update(int(m.group(1)) for m in cell.finditer(sheet_xml))
        index = -1

        def scrub(m: re.Match[bytes]) -> bytes:
            nonlocal index
            index += 1
            text = re.sub(rb"<[^>]+>", b"", m.group(0)).decode("utf-8", "replace")
            if index not in used and should_blank(text):
                return m.group(1) + b"<t></t>" + m.group(3)
            return m.group(0)

        new = re.sub(rb"(<(?:\w+:)?si(?:\s[^>]*)?>)(.*?)(</(?:\w+:)?si>)", scrub, data, flags=re.S)
        if new != data:
            self.write(part, new)
