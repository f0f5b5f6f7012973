"""How a package matches the names of sheets and header cells: passed in, not known here.

The file format knows nothing of the CRM. Which sheet "Kunder" stands for, or which
column "E-post" holds, is the contract's business; the workbook layer passes a
:class:`Naming` that knows it (``sheetcrm.workbook.naming``). Without one a package
matches names plainly: case and spaces aside, and no synonyms.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

__all__ = ["PLAIN", "Naming", "PlainNaming"]


class Naming(Protocol):
    """The words a package finds sheets and columns by."""

    def loose(self, text: str) -> str:
        """The form two header texts are compared in (equal loose forms are one column)."""
        ...

    def sheet_for(self, name: str) -> str | None:
        """The canonical name a sheet named ``name`` stands for (None: none known)."""
        ...

    def columns(
        self, canonical_sheet: str, header_names: Sequence[tuple[int, str]]
    ) -> dict[str, int]:
        """Which header cell (0-based column) holds each known column of ``canonical_sheet``,
        beyond those whose loose header already equals the column's name."""
        ...


_SPACE = re.compile(r"\s+")


class PlainNaming:
    """Names as written, only case and spaces aside: "Customer ID" is "customerid"."""

    def loose(self, text: str) -> str:
        return _SPACE.sub("", str(text)).casefold()

    def sheet_for(self, name: str) -> str | None:
        return self.loose(name) or None

    def columns(
        self, canonical_sheet: str, header_names: Sequence[tuple[int, str]]
    ) -> dict[str, int]:
        return {}  # no synonyms: a column is found by its own name only


PLAIN: Naming = PlainNaming()
