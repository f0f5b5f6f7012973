"""The contract's words for the file-format layer: the owner's "Kunder" is Customers,
the header "E-post" is the email column.

:mod:`sheetcrm.xlsx` knows no CRM; every :class:`~sheetcrm.xlsx.package.Package`
built for the CRM's workbook is given :data:`CONTRACT` (use :func:`package` or
``Package.from_path(path, naming=CONTRACT)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sheetcrm.contract import SHEET_BY_NAME, find_sheet, match_headers, normalize_header
from sheetcrm.xlsx.naming import Naming
from sheetcrm.xlsx.package import Package

__all__ = ["CONTRACT", "ContractNaming", "package", "package_from_path"]


class ContractNaming:
    """Sheets and columns matched as the contract matches them, synonyms included."""

    def loose(self, text: str) -> str:
        return normalize_header(text)

    def sheet_for(self, name: str) -> str | None:
        spec = find_sheet(name)
        return spec.name if spec is not None else None

    def columns(
        self, canonical_sheet: str, header_names: Sequence[tuple[int, str]]
    ) -> dict[str, int]:
        spec = SHEET_BY_NAME.get(canonical_sheet)
        return {} if spec is None else match_headers(spec, header_names)


CONTRACT: Naming = ContractNaming()


def package(data: bytes, name: str = "the workbook") -> Package:
    """A package of the CRM's workbook held in ``data``, matching names by the contract."""
    return Package(data, name, CONTRACT)


def package_from_path(path: str | Path) -> Package:
    """The CRM's workbook at ``path`` as a package, matching names by the contract."""
    return Package.from_path(path, CONTRACT)
