"""Table: one validated contract sheet as plain typed columns, and the book's sheets.

Validation produces Tables, not DataFrames: checking a workbook and adding a row
to it need lists, sets and comparisons, and importing pandas alone costs more
than reading a 10,000-row workbook (bench/README.md, "Profile"). The
computations (reports, follow-ups, history) want DataFrames; :class:`Sheets`
hands each sheet over as one, built on first use, so a command that never asks
for a frame never imports pandas.

A Table's values are Python's own: ``str``, ``float``, ``int``, ``bool``,
``date``, ``datetime`` (naive, as typed in the workbook), and ``None`` for an
empty or unusable cell.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sheetcrm.contract import SHEET_BY_NAME, Column, Sheet

if TYPE_CHECKING:
    import pandas as pd


def _dtype(column: Column) -> str:
    """The frame dtype of a contract column (computations rely on these)."""
    return {
        "date": "object",
        "datetime": "datetime64[ns]",
        "number": "float64",
        "whole": "Int64",
        "yesno": "boolean",
    }.get(column.kind, "object")


@dataclass(slots=True)
class Table:
    """Typed columns of one contract sheet; ``excel_rows[i]`` is row i's Excel row."""

    spec: Sheet
    columns: dict[str, list[Any]]
    excel_rows: list[int]

    def __len__(self) -> int:
        return len(self.excel_rows)

    @classmethod
    def empty(cls, spec: Sheet) -> Table:
        return cls(spec, {c.name: [] for c in spec.columns}, [])

    def record(self, i: int) -> dict[str, Any]:
        """Row ``i`` as a plain dict of the contract columns and its ``excel_row``,
        as a frame's row reads."""
        out = {name: values[i] for name, values in self.columns.items()}
        out["excel_row"] = self.excel_rows[i]
        return out

    def first(self, column: str, value: Any) -> dict[str, Any] | None:
        """The first row whose ``column`` equals ``value`` as :meth:`record` gives it
        (the first row of a repeated key wins, as everywhere), or None."""
        try:
            return self.record(self.columns[column].index(value))
        except ValueError:
            return None

    def extended(self, other: Table) -> Table:
        """This table with ``other``'s rows after its own (a new list per column)."""
        return Table(
            self.spec,
            {c: self.columns[c] + other.columns[c] for c in self.columns},
            self.excel_rows + other.excel_rows,
        )

    def to_frame(self) -> pd.DataFrame:
        """The table as a DataFrame: the contract's dtypes and an ``excel_row`` column."""
        import pandas as pd

        data: dict[str, Any] = {}
        for column in self.spec.columns:
            values = self.columns.get(column.name, [None] * len(self))
            if column.kind == "datetime":
                series = pd.Series(pd.to_datetime(values), dtype="datetime64[ns]")
            elif column.kind == "number":
                series = pd.Series(
                    [float("nan") if v is None else v for v in values], dtype="float64"
                )
            else:
                series = pd.Series(values, dtype=_dtype(column))
            data[column.name] = series
        data["excel_row"] = pd.Series(self.excel_rows, dtype="int64")
        return pd.DataFrame(data)

    @classmethod
    def from_frame(cls, spec: Sheet, frame: pd.DataFrame) -> Table:
        """A frame with the contract's columns (and ``excel_row``) as a Table."""
        import pandas as pd

        columns: dict[str, list[Any]] = {}
        for column in spec.columns:
            if column.name not in frame.columns:
                columns[column.name] = [None] * len(frame)
                continue
            values = frame[column.name].astype(object).tolist()
            columns[column.name] = [
                None if is_missing(v) else v.to_pydatetime() if isinstance(v, pd.Timestamp) else v
                for v in values
            ]
        rows = [int(r) for r in frame["excel_row"]] if "excel_row" in frame.columns else []
        return cls(spec, columns, rows or list(range(2, 2 + len(frame))))


def is_missing(value: Any) -> bool:
    """True for every way a table or frame says "no value": None, NaN, NaT, pd.NA."""
    if value is None:
        return True
    if isinstance(value, float):
        return value != value
    pandas = sys.modules.get("pandas")
    if pandas is None:  # no frame was built, so no value can be NaT or pd.NA
        return False
    try:
        return bool(pandas.isna(value))
    except (TypeError, ValueError):  # a list or other container is a value
        return False


class Sheets(MutableMapping[str, "pd.DataFrame"]):
    """The book's sheets by contract name: Tables, each a DataFrame on first use.

    Reading a sheet as a frame builds it once (pandas is imported then); setting a
    frame replaces the sheet, and its Table is derived from the frame when asked.
    Frames handed out are the book's own: computations must not change them in
    place (none does; the write use cases build new frames and set them).
    """

    def __init__(
        self,
        tables: Mapping[str, Table] | None = None,
        frames: Mapping[str, pd.DataFrame] | None = None,
    ) -> None:
        self._tables: dict[str, Table] = dict(tables or {})
        self._frames: dict[str, pd.DataFrame] = dict(frames or {})
        for name in self._frames:
            self._tables.pop(name, None)

    def __getitem__(self, name: str) -> pd.DataFrame:
        frame = self._frames.get(name)
        if frame is None:
            frame = self._frames[name] = self._tables[name].to_frame()
        return frame

    def __setitem__(self, name: str, frame: pd.DataFrame) -> None:
        self._frames[name] = frame
        self._tables.pop(name, None)

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._frames.pop(name, None)
        self._tables.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._tables or name in self._frames

    def __iter__(self) -> Iterator[str]:
        yield from self._tables
        yield from (n for n in self._frames if n not in self._tables)

    def __len__(self) -> int:
        return len(set(self._tables) | set(self._frames))

    def table(self, name: str) -> Table:
        """The sheet as a Table, without pandas when it was read (not set as a frame)."""
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = Table.from_frame(SHEET_BY_NAME[name], self._frames[name])
        return table

    def _copy(self) -> Sheets:
        new = Sheets()
        new._tables, new._frames = dict(self._tables), dict(self._frames)
        return new

    def replaced(self, name: str, table: Table) -> Sheets:
        """A new Sheets with ``name`` replaced by ``table``; the other sheets shared."""
        new = self._copy()
        new._frames.pop(name, None)
        new._tables[name] = table
        return new

    def with_frame(self, name: str, frame: pd.DataFrame) -> Sheets:
        """A new Sheets with ``name`` replaced by ``frame``; the other sheets shared."""
        new = self._copy()
        new[name] = frame
        return new

    def rows(self, name: str) -> int:
        """How many records the sheet has (without building its frame)."""
        table = self._tables.get(name)
        return len(table) if table is not None else len(self._frames[name])


__all__ = ["Sheets", "Table", "is_missing"]
