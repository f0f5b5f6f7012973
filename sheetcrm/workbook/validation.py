"""RawBook + contract -> (Book, Report): every rule the contract implies, each problem by cell.

Why one module (~650 lines): every contract rule runs in one vectorised pass per
sheet and reports through one collector; the rules read best side by side.

Never raises for bad data: a bad cell becomes a :class:`Problem` naming its
sheet and cell, and a missing value in the typed frames. Rules come from
``contract.py`` (types, required, vocabularies, ranges, keys, references); the
few cross-field rules that a table cannot express are spelled out below.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from sheetcrm.contract import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    SHEET_BY_NAME,
    SHEETS,
    Column,
    Sheet,
    find_sheet,
)
from sheetcrm.errors import Problem, Report, Severity, SheetCRMError, column_letter
from sheetcrm.workbook import cells
from sheetcrm.workbook.book import Book, as_records
from sheetcrm.workbook.matching import closest_ids
from sheetcrm.workbook.naming import CONTRACT
from sheetcrm.workbook.reader import RawBook, RawSheet, read_book
from sheetcrm.workbook.settings import parse_settings, parse_sla
from sheetcrm.xlsx import package as parts

# Columns holding things that already happened; a date after as-of is a typo to look at.
_PAST_COLUMNS = {
    ("Interactions", "date"),
    ("Complaints", "opened"),
    ("Complaints", "first_response"),
    ("Complaints", "resolved"),
    ("Sales", "date"),
    ("Customers", "since"),
}


def validate(
    raw: RawBook,
    *,
    as_of: datetime | None = None,
    only: Collection[str] | None = None,
    likely_duplicates: bool = False,
) -> tuple[Book, Report]:
    """Check every contract rule; return the typed tables and every problem found.

    With ``only``, just those sheets were read (see :func:`load`): the others are
    empty frames, not missing sheets. ``likely_duplicates`` adds a warning for each
    pair of customers that are probably one person: a fuzzy search that costs
    seconds on a large customer list, so only a full check (``sheetcrm validate``)
    asks for it, not every command that reads the workbook.

    >>> book, report = validate(read_book("sample_workbook.xlsx"))
    >>> report.flatten("sheet", "cell", "code")[:1]
    []
    """
    report = Report(workbook=str(raw.path))
    frames: dict[str, pd.DataFrame] = {}
    letters: dict[str, dict[str, str]] = {}
    sheet_names: dict[str, str] = {}
    for name in raw.sheet_names:  # every contract sheet the workbook has, read or not
        spec_of = find_sheet(name)
        if spec_of is not None:
            sheet_names.setdefault(spec_of.name, name)
    for spec in SHEETS:
        sheet = raw.sheets.get(spec.name)
        if only is not None and spec.name not in only:
            frames[spec.name] = _empty_frame(spec)
            continue
        if sheet is None and spec.managed:
            frames[spec.name] = _empty_frame(spec)
            continue
        if sheet is None:
            optional = spec.if_missing is not None
            report.add(
                Problem(
                    "missing_sheet",
                    f"there is no {spec.name} sheet" + (f", {spec.if_missing}" if optional else ""),
                    sheet=spec.name,
                    hint="add it by adopting the workbook",
                    remedy="adopt_workbook",
                    severity="warning" if optional else "error",
                )
            )
            frames[spec.name] = _empty_frame(spec)
            continue
        letters[spec.name] = dict(sheet.letters)
        frames[spec.name] = _typed_frame(sheet, report, raw.path)

    book = Book(
        path=raw.path,
        frames=frames,
        sheet_names=sheet_names,
        letters=letters,
        loaded=frozenset(raw.sheets),
    )
    checker = _Checker(book, report, present=set(raw.sheets))
    checker.keys()
    checker.references()
    checker.cross_fields()
    settings, problems = parse_settings(frames["Settings"], checker.locate("Settings"))
    report.extend(problems)
    sla, problems = parse_sla(frames["SLA"], checker.locate("SLA"), has_sheet="SLA" in raw.sheets)
    report.extend(problems)
    book.settings, book.sla = settings, sla
    book.holidays = frozenset(d for d in frames["Holidays"]["date"] if d is not None)
    if as_of is not None:
        checker.future_dates(as_of)
    checker.warnings()
    if likely_duplicates:
        checker.likely_duplicates()
    report.problems.sort(key=_order())
    return book, report


# Small sheets every command may need (settings, service levels, who works here).
ALWAYS_READ = ("Staff", "SLA", "Holidays", "Settings")


# A workbook missing a contract sheet or a required column is refused by every
# command: the figures would be wrong and a write would paper over it.
UNUSABLE = ("missing_sheet", "missing_column")


def refuse_unusable(path: str | Path, report: Report) -> None:
    """Raise the first problem that makes the workbook unusable (see ``UNUSABLE``)."""
    fatal = [p for p in report.errors if p.code in UNUSABLE]
    if fatal:
        first = fatal[0]
        what = f"{first.where}: {first.message}" if first.where else first.message
        # the problem's own advice when it has some (the CLI words it), else: see them all
        advice: dict[str, Any] = {
            "hint": "validate the workbook to see every problem",
            "remedy": "validate",
            "remedy_args": (str(path),),
        }
        if first.hint:
            advice = {"hint": first.hint, "remedy": first.remedy, "remedy_args": first.remedy_args}
        raise SheetCRMError(
            Problem(
                first.code,
                f"{Path(path).name} cannot be used until this is fixed: {what}",
                **advice,
            )
        )


def load(
    path: str | Path,
    *,
    as_of: datetime | None = None,
    sheets: Collection[str] | None = None,
    likely_duplicates: bool = False,
) -> tuple[Book, Report]:
    """Read and validate the workbook at ``path``: every sheet, or ``sheets`` and the small ones.

    A write that adds one interaction need not read 100,000 of them; it names the
    sheets its checks look at (``sheets=["Customers", "Complaints"]``).
    ``likely_duplicates`` also warns about customers typed in twice (see :func:`validate`).
    """
    if sheets is None:
        return validate(read_book(path), as_of=as_of, likely_duplicates=likely_duplicates)
    wanted = set(sheets) | set(ALWAYS_READ)
    raw = read_book(path, [s for s in SHEETS if s.name in wanted])
    return validate(raw, as_of=as_of, only=wanted, likely_duplicates=likely_duplicates)


def check_new_rows(
    book: Book, sheet: str, rows: Sequence[Mapping[str, Any]], *, as_of: datetime | None = None
) -> tuple[Book, list[dict[str, Any]], list[tuple[int, Problem]]]:
    """Judge records about to be added exactly as ``validate`` judges rows already there.

    Returns the book with the new rows added (so a complaint and the interaction
    that opened it can be checked in one write), the typed new rows, and each
    problem with the index of the row it concerns. References, unique keys and
    cross-field rules are checked against the whole workbook.
    """
    spec = SHEET_BY_NAME[sheet]
    existing = book.frames[sheet]
    first = int(existing["excel_row"].max()) + 1 if len(existing) else 2
    raw = RawSheet(
        name=sheet,
        spec=spec,
        header_row=1,
        headers={c.name: c.name for c in spec.columns},
        letters={c.name: column_letter(i) for i, c in enumerate(spec.columns)},
        columns={c.name: [r.get(c.name, "") for r in rows] for c in spec.columns},
        excel_rows=list(range(first, first + len(rows))),
    )
    report = Report()
    new = _typed_frame(raw, report)
    frames = dict(book.frames)
    frames[sheet] = pd.concat([existing, new], ignore_index=True) if len(existing) else new
    letters = dict(book.letters)
    letters[sheet] = raw.letters
    names = dict(book.sheet_names)
    names[sheet] = sheet
    grown = replace(book, frames=frames, letters=letters, sheet_names=names)
    checker = _Checker(grown, report, present=set(book.loaded) | {sheet}, checked={sheet})
    checker.keys()
    checker.references()
    checker.cross_fields()
    if as_of is not None:
        checker.future_dates(as_of)
    typed = frames[sheet].iloc[len(existing) :].drop(columns="excel_row")
    records = as_records(typed)
    found = [(p.row - first, p) for p in report.problems if p.row is not None and p.row >= first]
    # The grown book keeps the old letters for the owner's sheet: only the new rows moved.
    return replace(grown, letters=book.letters, sheet_names=book.sheet_names), records, found


def _order():  # type: ignore[no-untyped-def]
    sheet_index = {s.name: i for i, s in enumerate(SHEETS)}
    col_index = {(s.name, c.name): j for s in SHEETS for j, c in enumerate(s.columns)}

    def key(p: Problem) -> tuple[int, int, int]:
        return (
            sheet_index.get(p.sheet or "", -1),
            p.row or 0,
            col_index.get((p.sheet or "", p.column or ""), -1),
        )

    return key


def _empty_frame(spec: Sheet) -> pd.DataFrame:
    frame = pd.DataFrame({c.name: pd.Series([], dtype=_dtype(c)) for c in spec.columns})
    frame["excel_row"] = pd.Series([], dtype="int64")
    return frame


def _dtype(column: Column) -> str:
    return {
        "date": "object",
        "datetime": "datetime64[ns]",
        "number": "float64",
        "whole": "Int64",
        "yesno": "boolean",
    }.get(column.kind, "object")


def _typed_frame(sheet: RawSheet, report: Report, path: Path | None = None) -> pd.DataFrame:
    spec = sheet.spec
    data: dict[str, Any] = {}
    n = len(sheet.excel_rows)
    for column in spec.columns:
        values = sheet.columns.get(column.name)
        if values is None:
            if column.required:
                report.add(
                    Problem(
                        "missing_column",
                        f"the {sheet.name} sheet has no {column.name} column",
                        sheet=sheet.name,
                        row=sheet.header_row,
                        column=column.name,
                        hint=f"add a column headed {column.name} to the header row "
                        f"(row {sheet.header_row})",
                    )
                )
            typed: list[Any] = [None] * n
        else:
            typed = _convert_column(sheet, column, values, report, path)
        data[column.name] = _series(column, typed)
    data["excel_row"] = pd.Series(sheet.excel_rows, dtype="int64")
    return pd.DataFrame(data)


def _series(column: Column, typed: list[Any]) -> pd.Series:
    if column.kind == "datetime":
        return pd.Series(pd.to_datetime(typed), dtype="datetime64[ns]")
    if column.kind == "number":
        return pd.Series([float("nan") if v is None else v for v in typed], dtype="float64")
    return pd.Series(typed, dtype=_dtype(column))


def _convert_column(
    sheet: RawSheet, column: Column, values: Sequence[Any], report: Report, path: Path | None = None
) -> list[Any]:
    """Type one column, reporting each bad cell. The hot loop of ``validate``."""
    out: list[Any] = [None] * len(values)
    rows = sheet.excel_rows
    letter = sheet.letters[column.name]
    memo: dict[Any, tuple[Any, cells.Issue | None]] = {}
    # Vocabulary, yes/no and email columns repeat a few values many times: remember
    # each distinct value's verdict instead of re-judging it.
    use_memo = column.kind in ("yesno", "email") or column.vocabulary is not None
    fast = _fast_path(column)
    if fast is not None:
        out = fast(values)
        todo: Any = [i for i, v in enumerate(out) if v is _SLOW]
    else:
        todo = range(len(values))
    for i in todo:
        value = values[i]
        if use_memo:
            try:
                result = memo[value]
            except KeyError:
                result = memo[value] = cells.convert(column, value)
            except TypeError:
                result = cells.convert(column, value)
        else:
            result = cells.convert(column, value)
        typed, issue = result
        if issue is None and path is not None and _cut_short(value):
            # calamine hands over at most 32,767 characters: the cell may hold more
            issue = cells.too_long(
                parts.full_text(path, sheet.name, f"{letter}{rows[i]}", CONTRACT) or value,
                column.name,
            )
        if issue is not None:
            report.add(_problem(sheet, column, rows[i], letter, value, issue))
        elif typed is None and column.required:
            report.add(
                Problem(
                    "missing_value",
                    f"{column.name} is empty, but every row needs one",
                    sheet=sheet.name,
                    cell=f"{letter}{rows[i]}",
                    row=rows[i],
                    column=column.name,
                    hint=_missing_hint(column),
                )
            )
        out[i] = typed
    return out


_SLOW = object()  # "not a well-kept cell: judge it properly"


def _cut_short(value: Any) -> bool:
    return type(value) is str and len(value) == cells.TEXT_LIMIT


def _fast_path(column: Column) -> Any:
    """A cheap pass over a column that accepts what a well-kept workbook holds, or None.

    Calling ``cells.convert`` for each of a million cells costs more than reading
    them. These comprehensions accept the common, already-right values and mark
    every other one (blank, text in a date column, out of range) ``_SLOW`` for the
    full judgement.
    """
    kind, lo, hi = column.kind, column.minimum, column.maximum
    if column.vocabulary:
        return None
    # An empty cell ("" from calamine) is None at once; a required column's empty
    # cells are still reported, as the _SLOW ones are judged.
    blank = _SLOW if column.required else None
    # Dates outside the years sheetcrm can count with are judged in full (cells.to_datetime).
    first, last = cells.FIRST_DATE, cells.LAST_DATE
    first_day, last_day = first.date(), last.date()
    if kind == "datetime":
        return lambda vs: [
            v if type(v) is datetime and first <= v <= last else (blank if v == "" else _SLOW)
            for v in vs
        ]
    if kind == "date":
        return lambda vs: [
            v if type(v) is date and first_day <= v <= last_day else (blank if v == "" else _SLOW)
            for v in vs
        ]
    # Text longer than half Excel's cell limit is judged in full (cells.too_long).
    most = cells.TEXT_LIMIT // 2
    if kind == "text" and column.verbatim:
        return lambda vs: [
            v if type(v) is str and v.strip() and len(v) <= most else _SLOW for v in vs
        ]
    if kind == "text":
        return lambda vs: [
            (v.strip() or _SLOW)
            if type(v) is str and v and len(v) <= most
            else (blank if v == "" else _SLOW)
            for v in vs
        ]
    if kind == "number" or kind == "whole":
        low = float("-inf") if lo is None else lo
        high = float("inf") if hi is None else hi
        if kind == "whole":
            return lambda vs: [
                int(v)
                if type(v) is float and low <= v <= high and v.is_integer()
                else (blank if v == "" else _SLOW)
                for v in vs
            ]
        return lambda vs: [
            v if type(v) is float and low <= v <= high else (blank if v == "" else _SLOW)
            for v in vs
        ]
    return None


def _missing_hint(column: Column) -> str:
    if column.choices:
        return f"choose one of: {', '.join(column.choices)}"
    if column.references:
        target = column.references[0]
        return f"type a {column.references[1]} from the {target} sheet"
    if column.kind in ("date", "datetime"):
        return "type a date such as 2026-04-03"
    return f"type the {column.name.replace('_', ' ')}"


def _problem(
    sheet: RawSheet, column: Column, row: int, letter: str, value: Any, issue: cells.Issue
) -> Problem:
    return Problem(
        issue.code,
        issue.message,
        sheet=sheet.name,
        cell=f"{letter}{row}",
        row=row,
        column=column.name,
        value=value,
        hint=issue.hint,
    )


class _Checker:
    """The rules that look across rows and sheets: keys, references, dates in order."""

    def __init__(
        self, book: Book, report: Report, present: set[str], checked: set[str] | None = None
    ) -> None:
        self.book, self.report = book, report
        self.present = present  # contract sheets the workbook has
        self.checked = present if checked is None else checked  # sheets whose rows to judge

    def locate(self, sheet: str):  # type: ignore[no-untyped-def]
        """A function (column, excel_row) -> (sheet name, cell) for messages about ``sheet``."""
        name = self.book.sheet_names.get(sheet, sheet)
        letters = self.book.letters.get(sheet, {})

        def at(column: str, row: int | None) -> tuple[str, str | None]:
            letter = letters.get(column)
            return name, (f"{letter}{row}" if letter and row else None)

        return at

    def _add(
        self,
        sheet: str,
        column: str,
        row: int,
        code: str,
        message: str,
        hint: str | None = None,
        severity: Severity = "error",
        value: Any = None,
        remedy: str | None = None,
        remedy_args: tuple[str, ...] = (),
    ) -> None:
        name, cell = self.locate(sheet)(column, row)
        self.report.add(
            Problem(
                code,
                message,
                sheet=name,
                cell=cell,
                row=row,
                column=column,
                hint=hint,
                severity=severity,
                value=value,
                remedy=remedy,
                remedy_args=remedy_args,
            )
        )

    def keys(self) -> None:
        for spec in SHEETS:
            if spec.name not in self.checked or not spec.unique_key:
                continue
            frame = self.book.frames[spec.name]
            keys = frame[spec.key]
            present = keys.notna()
            folded = keys[present].astype(str).str.casefold()
            dupes = folded.duplicated(keep="first")
            if not dupes.any():
                continue
            first_row: dict[Any, int] = {}
            for value, row in zip(folded, frame.loc[present, "excel_row"], strict=True):
                first_row.setdefault(value, row)
            for idx in dupes[dupes].index:
                row = int(frame.at[idx, "excel_row"])
                value = keys[idx]
                self._add(
                    spec.name,
                    spec.key,
                    row,
                    "duplicate_id",
                    f"{spec.key} {value} is already used in row {first_row[folded[idx]]}",
                    f"give this row its own {spec.key}",
                    value=value,
                )

    def references(self) -> None:
        targets: dict[tuple[str, str], dict[str, str]] = {}
        for spec in SHEETS:
            for column in spec.columns:
                if not column.references or spec.name not in self.checked:
                    continue
                if column.references[0] not in self.present:
                    continue  # the missing sheet is reported already
                key = column.references
                if key not in targets:
                    target = self.book.frames[key[0]][key[1]].dropna()
                    targets[key] = {str(v).casefold(): str(v) for v in target}
                canonical = targets[key]
                frame = self.book.frames[spec.name]
                series = frame[column.name]
                # Most values are spelled exactly as on the target sheet; only the rest
                # are folded, so "kari" finds Kari and is stored as "Kari".
                exact = series.isin(set(canonical.values())) | series.isna()
                loose = pd.Series(
                    [canonical.get(str(v).casefold(), v) for v in series[~exact]],
                    index=series.index[~exact],
                    dtype=object,
                )
                known = exact.copy()
                if len(loose):
                    known[~exact] = [str(v).casefold() in canonical for v in loose]
                    frame.loc[loose.index, column.name] = loose
                for idx in known[~known].index:
                    value = series[idx]
                    row = int(frame.at[idx, "excel_row"])
                    self._add(
                        spec.name,
                        column.name,
                        row,
                        "unknown_reference",
                        f"{column.name} {cells.show(value)} is not on the {key[0]} sheet",
                        self._suggest(key, value),
                        value=value,
                    )
                    frame.at[idx, column.name] = None

    def _suggest(self, target: tuple[str, str], value: Any) -> str:
        sheet, column = target
        frame = self.book.frames[sheet]
        keys = frame[column].dropna().astype(str)
        close = closest_ids(str(value), keys.tolist(), limit=1)
        if close:
            extra = ""
            if sheet == "Customers":
                name = frame.loc[keys[keys == close[0]].index, "name"]
                extra = f" {name.iloc[0]}" if len(name) else ""
            return f"did you mean {close[0]}{extra}? Otherwise add it to the {sheet} sheet first"
        return f"add it to the {sheet} sheet first, or correct the {column}"

    def cross_fields(self) -> None:
        if "Complaints" not in self.checked:
            return
        frame = self.book.frames["Complaints"]
        for later in ("first_response", "resolved"):
            bad = frame[later].notna() & frame["opened"].notna() & (frame[later] < frame["opened"])
            for idx in bad[bad].index:
                row = int(frame.at[idx, "excel_row"])
                opened = frame.at[idx, "opened"]
                self._add(
                    "Complaints",
                    later,
                    row,
                    "date_order",
                    f"{later} {cells.show(frame.at[idx, later].to_pydatetime())} is "
                    f"before the complaint was opened ({cells.show(opened.to_pydatetime())})",
                    f"check both dates; {later} cannot be earlier than opened",
                )
        closed = frame["status"].isin(CLOSED_STATUSES) & frame["resolved"].isna()
        for idx in closed[closed].index:
            row = int(frame.at[idx, "excel_row"])
            self._add(
                "Complaints",
                "resolved",
                row,
                "missing_value",
                f"status is {frame.at[idx, 'status']}, but resolved is empty",
                "type the date and time it was resolved, or set status back to open",
            )
        reopened = frame["status"].isin(OPEN_STATUSES) & frame["resolved"].notna()
        for idx in reopened[reopened].index:
            row = int(frame.at[idx, "excel_row"])
            self._add(
                "Complaints",
                "status",
                row,
                "status_mismatch",
                f"status is {frame.at[idx, 'status']}, but there is a resolved date",
                "set status to resolved, or clear the resolved date if it was reopened",
                severity="warning",
            )

    def future_dates(self, as_of: datetime) -> None:
        limit = pd.Timestamp(as_of + timedelta(days=1))
        for sheet, column in sorted(_PAST_COLUMNS):
            if sheet not in self.checked:
                continue
            frame = self.book.frames[sheet]
            series = frame[column]
            if series.dtype == object:  # plain dates
                bad = series.notna() & (series > limit.date()).fillna(False).astype(bool)
            else:
                bad = series.notna() & (series > limit)
            for idx in bad[bad].index:
                row = int(frame.at[idx, "excel_row"])
                self._add(
                    sheet,
                    column,
                    row,
                    "future_date",
                    f"{column} {cells.show(pd.Timestamp(series[idx]).to_pydatetime())} "
                    "is in the future",
                    "check the year and month",
                    severity="warning",
                )

    def warnings(self) -> None:
        customers = self.book.frames["Customers"]
        if "Customers" in self.checked and len(customers):
            emails = customers["email"].map(lambda v: None if v is None else v.casefold())
            # A row merged into another keeps its old address as history, not as a clash.
            from sheetcrm.workbook.duplicates import is_merged

            emails = emails.where(~is_merged(customers), None)
            present = emails.notna()
            dupes = emails[present].duplicated(keep="first")
            first: dict[str, Any] = {}
            for idx in emails[present].index:
                first.setdefault(emails[idx], customers.at[idx, "customer_id"])
            for idx in dupes[dupes].index:
                row = int(customers.at[idx, "excel_row"])
                self._add(
                    "Customers",
                    "email",
                    row,
                    "duplicate_email",
                    f"{customers.at[idx, 'email']} is also the email of {first[emails[idx]]}",
                    "merge the two customers, or correct one address",
                    severity="warning",
                )
        staff = self.book.frames["Staff"]
        if "Staff" not in self.present or not len(staff):
            return
        inactive = set(staff.loc[staff["active"].fillna(True).eq(False), "name"])
        if not inactive:
            return
        for sheet, open_only in (("Customers", False), ("Complaints", True)):
            if sheet not in self.checked:
                continue
            frame = self.book.frames[sheet]
            mask = frame["owner"].isin(inactive)
            if open_only:
                mask &= frame["status"].isin(OPEN_STATUSES)
            for idx in mask[mask].index:
                row = int(frame.at[idx, "excel_row"])
                self._add(
                    sheet,
                    "owner",
                    row,
                    "inactive_owner",
                    f"owner {frame.at[idx, 'owner']} is marked inactive on the Staff sheet",
                    "give this row an active owner",
                    severity="warning",
                )

    def likely_duplicates(self) -> None:
        """One warning per likely pair, on the later row's name: the one to merge away."""
        from sheetcrm.workbook.duplicates import THRESHOLD, find_duplicates, is_merged

        customers = self.book.frames["Customers"]
        if "Customers" not in self.checked or not len(customers):
            return

        live = customers.dropna(subset=["customer_id"])
        live = live[~is_merged(live)]
        rows = dict(zip(live["customer_id"].astype(str), live["excel_row"], strict=True))
        for pair in find_duplicates(live, THRESHOLD):
            first, second = sorted((pair.first, pair.second), key=lambda c: rows[c])
            self._add(
                "Customers",
                "name",
                int(rows[second]),
                "likely_duplicate",
                f"{second} is probably the same person as {first} "
                f"(score {pair.score:.0f}: {', '.join(pair.reasons)})",
                "if so, merge the two rows into one customer",
                severity="warning",
                remedy="merge_customers",
                remedy_args=(first, second),
            )


__all__ = ["load", "validate"]
