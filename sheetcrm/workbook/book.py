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
from typing import TYPE_CHECKING, Any

from sheetcrm.errors import cell_ref
from sheetcrm.workbook.business_time import BusinessCalendar
from sheetcrm.workbook.settings import Settings, SlaTarget, default_sla
from sheetcrm.workbook.table import Sheets, Table, is_missing

if TYPE_CHECKING:
    import pandas as pd


def as_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """One frame row as a plain dict, with None where the frame has a missing marker."""
    return {k: (None if is_missing(v) else v) for k, v in row.items()}


def as_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Every row of ``frame`` as :func:`as_record` gives it, converted in one go.

    >>> import pandas as pd
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

    >>> import pandas as pd
    >>> empty = pd.Series([], dtype="datetime64[ns]")
    >>> lookup(pd.Series(["C-1"]), empty).tolist()
    [NaT]
    """
    import pandas as pd

    table = table[~table.index.duplicated()]
    found = table.reindex(keys.to_numpy())
    return pd.Series(found.to_numpy(), index=keys.index, dtype=found.dtype, name=keys.name)


@dataclass(slots=True)
class Book:
    """The sheets by contract name (``Customers``, ``Interactions``, ...).

    ``frames[name]`` is a sheet as a DataFrame (built on first use) and
    ``table(name)`` the same sheet as plain typed columns, which is all that
    checking and writing need (see :mod:`sheetcrm.workbook.table`).
    """

    frames: Sheets
    path: Path | None = None
    sheet_names: dict[str, str] = field(default_factory=dict)  # contract name -> owner's name
    letters: dict[str, dict[str, str]] = field(default_factory=dict)  # sheet -> column -> letter
    settings: Settings = field(default_factory=Settings)
    sla: dict[str, SlaTarget] = field(default_factory=default_sla)
    holidays: frozenset[date] = frozenset()
    loaded: frozenset[str] = frozenset()  # the sheets read (load(sheets=...) reads fewer)

    def __post_init__(self) -> None:
        if not isinstance(self.frames, Sheets):  # frames built by hand (tests, replace())
            self.frames = Sheets(frames=self.frames)

    def table(self, sheet: str) -> Table:
        return self.frames.table(sheet)

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

    # ---- lookups: every module asks here instead of re-indexing the frames

    def customers_by_id(self) -> pd.DataFrame:
        """Customers indexed by ``customer_id`` (kept as a column too), one row per id.

        A repeated id is one customer typed twice (validate names the copy): the
        first row wins, everywhere. Rows without an id are left out.
        """
        customers = self.customers.set_index("customer_id", drop=False)
        return customers[customers.index.notna() & ~customers.index.duplicated()]

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        """The customer with this id as a plain record (the first row wins), or None."""
        return self.table("Customers").first("customer_id", customer_id)

    def active_staff(self, department: str | None = None) -> pd.DataFrame:
        """Staff still working here (``active`` not no), of ``department`` if given
        (matched whatever the case, as the Staff sheet spells it)."""
        rows = [r["excel_row"] for r in self.staff_members(department)]
        return self.staff[self.staff["excel_row"].isin(rows)]

    def staff_members(self, department: str | None = None) -> list[dict[str, Any]]:
        """:meth:`active_staff` as plain records, read without a DataFrame."""
        table = self.table("Staff")
        wanted = None if department is None else department.strip().casefold()
        return [
            table.record(i)
            for i, (active, dept) in enumerate(
                zip(table.columns["active"], table.columns["department"], strict=True)
            )
            if active is not False and (wanted is None or (dept or "").casefold() == wanted)
        ]

    def staff_member(self, name: str) -> dict[str, Any] | None:
        """The Staff row of ``name`` (spelled as the sheet has it; the first row wins)."""
        return self.table("Staff").first("name", name)

    def calendar(self) -> BusinessCalendar:
        """The business calendar: Settings' hours, days and time zone, and the Holidays."""
        return self.settings.calendar(self.holidays)

    def cell(self, sheet: str, column: str, excel_row: int) -> str:
        """``Interactions!C14`` for a value of ``column`` in ``excel_row``."""
        letter = self.letters.get(sheet, {}).get(column)
        name = self.sheet_names.get(sheet, sheet)
        return cell_ref(name, f"{letter}{excel_row}" if letter else None)

    def record_count(self) -> int:
        return sum(self.frames.rows(name) for name in self.frames)
