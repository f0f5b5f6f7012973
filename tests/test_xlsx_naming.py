"""The xlsx layer matches names by the Naming it is given (issue 15): plainly by default,
by the contract's words (the owner's "Kunder", "E-post") when the workbook layer says so."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import openpyxl
import pytest
import python_calamine as pc

from sheetcrm.errors import SheetCRMError
from sheetcrm.workbook.naming import CONTRACT, package_from_path
from sheetcrm.xlsx.package import Package, full_text


@pytest.fixture
def owners_book(tmp_path: Path) -> Path:
    """A customer list in the owner's own (Norwegian) words, with a long note."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Kunder"
    ws.append(["Kunde ID", "Navn", "E-post"])
    ws.append(["C-0001", "Kari Nordmann", "kari@example.com"])
    path = tmp_path / "kunder.xlsx"
    wb.save(path)
    return path


def test_plain_package_knows_no_synonyms(owners_book: Path) -> None:
    pkg = Package.from_path(owners_book)
    with pytest.raises(SheetCRMError) as sheet_err:
        pkg.sheet("Customers")
    assert sheet_err.value.problems[0].code == "missing_sheet"
    with pytest.raises(SheetCRMError) as col_err:
        pkg.column_of("Kunder", "email")
    assert col_err.value.problems[0].code == "missing_column"
    # plain matching is still case- and space-insensitive
    assert pkg.sheet("KUNDER").name == "Kunder"
    assert pkg.column_of("Kunder", "kundeid") == 0
    assert pkg.column_of("Kunder", " e-post ") == 2


def test_contract_naming_finds_the_owners_words(owners_book: Path) -> None:
    pkg = package_from_path(owners_book)
    assert pkg.sheet("Customers").name == "Kunder"
    assert pkg.column_of("Customers", "email") == 2
    assert pkg.column_of("Customers", "customer_id") == 0
    pkg.append_rows("Customers", [{"customer_id": "C-0002", "name": "Ola", "email": "o@x.no"}])
    out = owners_book.with_name("out.xlsx")
    out.write_bytes(pkg.to_bytes())
    rows = pc.CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Kunder").to_python()
    assert rows[-1] == ["C-0002", "Ola", "o@x.no"]


class _Upper:
    """A naming that is neither plain nor the contract's: proves the package asks it."""

    def loose(self, text: str) -> str:
        return str(text).strip().upper()

    def sheet_for(self, name: str) -> str | None:
        return {"KUNDER": "CLIENTS", "CLIENTS": "CLIENTS"}.get(name.upper())

    def columns(
        self, canonical_sheet: str, header_names: Sequence[tuple[int, str]]
    ) -> dict[str, int]:
        found = [col for col, text in header_names if text == "E-post"]
        return {"mail": found[0]} if canonical_sheet == "CLIENTS" and found else {}


def test_package_uses_the_naming_it_is_given(owners_book: Path) -> None:
    pkg = Package.from_path(owners_book, naming=_Upper())
    assert pkg.sheet("clients").name == "Kunder"
    assert pkg.column_of("clients", "mail") == 2
    with pytest.raises(SheetCRMError):
        pkg.column_of("clients", "email")  # the contract's word, unknown to this naming


def test_full_text_finds_the_owners_sheet_only_with_the_contract(owners_book: Path) -> None:
    assert full_text(owners_book, "Customers", "B2") is None
    assert full_text(owners_book, "Customers", "B2", CONTRACT) == "Kari Nordmann"
