"""Book: the validated, typed tables of one workbook, plus the lookups every command needs.

Everything after validation takes a Book and never a path, so a computation
can be tested on frames built in memory. Each frame has the contract's column
names and an ``excel_row`` column, so even a figure late in the flow can cite
the cell it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from sheetcrm.errors import cell_ref
from sheetcrm.workbook.settings import Settings, SlaTarget, default_sla


def is_missing(value: Any) -> bool:
    """True for every way a frame says "no value": None, NaN, NaT, pd.NA."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or other container is a value
        return False


def as_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """One frame row as a plain dict, with None where the frame has a missing marker."""
    return {k: (None if is_missing(v) else v) for k, v in row.items()}


def as_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Every row of ``frame`` as :func:`as_record` gives it, converted in one go.

    >>> as_records(pd.DataFrame({"a": [1.5, None]}))
    [{'a': 1.5}, {'a': None}]
    """
    plain = frame.astype(object).where(frame.notna(), None)
    return plain.to_dict("records")


def lookup(keys: pd.Series, table: pd.Series) -> pd.Series:
    """``table[key]`` for every key in ``keys``, missing where ``table`` has no such key.

    What ``keys.map(table)`` means, but safe on the shapes a new workbook has:
    pandas casts an *empty* mapping to float, which fails for dates ("Cannot cast
    DatetimeArray to dtype float64"), and a repeated key in ``table`` makes it raise.
    Here the table keeps its dtype and the first row of a repeated key wins, as
    everywhere else duplicates meet a lookup (validation reports them).

    >>> empty = pd.Series([], dtype="datetime64[ns]")
    >>> lookup(pd.Series(["C-1"]), empty).tolist()
    [NaT]
    """
    table = table[~table.index.duplicated()]
    found = table.reindex(keys.to_numpy())
    return pd.Series(found.to_numpy(), index=keys.index, dtype=found.dtype, name=keys.name)


@dataclass(slots=True)
class Book:
    """Typed frames keyed by contract sheet name (``Customers``, ``Interactions``, ...)."""

    frames: dict[str, pd.DataFrame]
    path: Path | None = None
    sheet_names: dict[str, str] = field(default_factory=dict)  # contract name -> owner's name
    letters: dict[str, dict[str, str]] = field(default_factory=dict)  # sheet -> column -> letter
    settings: Settings = field(default_factory=Settings)
    sla: dict[str, SlaTarget] = field(default_factory=default_sla)
    holidays: frozenset[date] = frozenset()
    loaded: frozenset[str] = frozenset()  # the sheets read (load(sheets=...) reads fewer)

    @property
    def customers(self) -> pd.DataFrame:
        return self.frames["Customers"]

    @property
    def interactions(self) -> pd.DataFrame:
        return self.frames["Interactions"]

    @property
    def complaints(self) -> pd.DataFrame:
        return self.frames["Complaints"]

    @property
    def sales(self) -> pd.DataFrame:
        return self.frames["Sales"]

    @property
    def staff(self) -> pd.DataFrame:
        return self.frames["Staff"]

    def cell(self, sheet: str, column: str, excel_row: int) -> str:
        """``Interactions!C14`` for a value of ``column`` in ``excel_row``."""
        letter = self.letters.get(sheet, {}).get(column)
        name = self.sheet_names.get(sheet, sheet)
        return cell_ref(name, f"{letter}{excel_row}" if letter else None)

    def record_count(self) -> int:
        return sum(len(f) for f in self.frames.values())
