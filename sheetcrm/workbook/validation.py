"""RawBook + contract -> (Book, Report): every rule the contract implies, each problem by cell.

Why one module (~700 lines): every contract rule runs in one pass per sheet and
reports through one collector; the rules read best side by side. The rules work
on plain typed columns (:class:`~sheetcrm.workbook.table.Table`), not DataFrames:
checking a workbook, or a row about to be added, never needs pandas.

Never raises for bad data: a bad cell becomes a :class:`Problem` naming its
sheet and cell, and a missing value in the typed frames. Rules come from
``contract.py`` (types, required, vocabularies, ranges, keys, references); the
few cross-field rules that a table cannot express are spelled out below.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sheetcrm.contract import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    SHEET_BY_NAME,
    SHEETS,
    Column,
    find_sheet,
)
from sheetcrm.errors import Problem, Report, Severity, SheetCRMError, column_letter
from sheetcrm.workbook import cells
from sheetcrm.workbook.book import Book
from sheetcrm.workbook.matching import closest_ids
from sheetcrm.workbook.naming import CONTRACT
from sheetcrm.workbook.reader import (  # noqa: F401 (read_book: doctest)
    RawBook,
    RawSheet,
    SheetReader,
    contract_sheets,
    read_book,
)
from sheetcrm.workbook.settings import parse_settings, parse_sla
from sheetcrm.workbook.table import Sheets, Table
from sheetcrm.xlsx import package as parts


def _all_different(keys: Sequence[Any]) -> bool:
    """Whether no two keys are one when case is ignored (missing ones left out), found in C:
    the texts folded as one joined text, and a set. A key holding the separator is left
    to the caller's own loop (False)."""
    present = [v for v in keys if v is not None]
    if not present:
        return True
    if set(map(type, present)) - {str}:
        return len({str(v).casefold() for v in present}) == len(present)
    folded = "\x00".join(present).casefold().split("\x00")
    return len(folded) == len(present) and len(set(folded)) == len(present)


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
    empty tables, and a sheet the workbook does not have at all is still reported
    (every command refuses a workbook without a contract sheet).
    ``likely_duplicates`` adds a warning for each pair of customers that are
    probably one person: a fuzzy search that costs
    seconds on a large customer list, so only a full check (``sheetcrm validate``)
    asks for it, not every command that reads the workbook.

    >>> book, report = validate(read_book("sample_workbook.xlsx"))
    >>> report.flatten("sheet", "cell", "code")[:1]
    []
    """
    return _validate(
        raw,
        Report(workbook=str(raw.path)),
        {},
        as_of=as_of,
        only=only,
        likely_duplicates=likely_duplicates,
    )


def _validate(
    raw: RawBook,
    report: Report,
    typed: Mapping[str, Table],
    *,
    as_of: datetime | None,
    only: Collection[str] | None,
    likely_duplicates: bool,
    pairs: Sequence[Likely] | None = None,
) -> tuple[Book, Report]:
    """:func:`validate`, given sheets already typed (``typed``, their problems in ``report``)."""
    tables: dict[str, Table] = {}
    letters: dict[str, dict[str, str]] = {}
    sheet_names: dict[str, str] = {}
    for name in raw.sheet_names:  # every contract sheet the workbook has, read or not
        spec_of = find_sheet(name)
        if spec_of is not None:
            sheet_names.setdefault(spec_of.name, name)
    for spec in SHEETS:
        sheet = raw.sheets.get(spec.name)
        if only is not None and spec.name not in only and spec.name in sheet_names:
            tables[spec.name] = Table.empty(spec)  # there, but not read by this command
            continue
        if sheet is None and spec.managed:
            tables[spec.name] = Table.empty(spec)
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
            tables[spec.name] = Table.empty(spec)
            continue
        letters[spec.name] = dict(sheet.letters)
        done = typed.get(spec.name)
        tables[spec.name] = done if done is not None else _typed_table(sheet, report, raw.path)

    book = Book(
        path=raw.path,
        frames=Sheets(tables),
        sheet_names=sheet_names,
        letters=letters,
        loaded=frozenset(raw.sheets),
    )
    checker = _Checker(book, report, present=set(raw.sheets))
    checker.keys()
    checker.references()
    checker.cross_fields()
    settings, problems = parse_settings(tables["Settings"], checker.locate("Settings"))
    report.extend(problems)
    sla, problems = parse_sla(tables["SLA"], checker.locate("SLA"), has_sheet="SLA" in raw.sheets)
    report.extend(problems)
    book.settings, book.sla = settings, sla
    book.holidays = frozenset(d for d in tables["Holidays"].columns["date"] if d is not None)
    if as_of is not None:
        checker.future_dates(as_of)
    checker.warnings()
    if likely_duplicates:
        checker.likely_duplicates(pairs)
    report.problems.sort(key=_order())
    return book, report


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
    reading: SheetReader | None = None,
) -> tuple[Book, Report]:
    """Read and validate the workbook at ``path``: every sheet, or ``sheets`` and the small ones.

    A write that adds one interaction need not read 100,000 of them; it names the
    sheets its checks look at (``sheets=["Customers", "Complaints"]``).
    ``likely_duplicates`` also warns about customers typed in twice (see :func:`validate`).
    ``reading``: the same workbook and sheets already being read
    (:func:`~sheetcrm.workbook.reader.start_reading`), taken over and closed here.
    """
    specs = contract_sheets(sheets)
    wanted = None if sheets is None else {spec.name for spec in specs}
    report = Report(workbook=str(Path(path)))
    typed: dict[str, Table] = {}
    pairs = None
    # Each sheet is judged as soon as it is read, while calamine lays out the next one.
    with reading or SheetReader(path, specs) as reading:
        read = []
        for sheet in reading:
            read.append(sheet)
            table = typed[sheet.spec.name] = _typed_table(sheet, report, reading.path)
            # The duplicate search needs only Customers: done while the next sheet is laid
            # out, it costs no time; otherwise (a huge next sheet) after the reading, when
            # calamine's copy of that sheet is no longer held.
            if likely_duplicates and table.spec.name == "Customers" and reading.next_underway:
                pairs = likely_pairs(table)
        raw = reading.book(read)
    return _validate(
        raw,
        report,
        typed,
        as_of=as_of,
        only=wanted,
        likely_duplicates=likely_duplicates,
        pairs=pairs,
    )


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
    existing = book.table(sheet)
    first = max(existing.excel_rows) + 1 if len(existing) else 2
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
    table = existing.extended(_typed_table(raw, report))
    letters = dict(book.letters)
    letters[sheet] = raw.letters
    names = dict(book.sheet_names)
    names[sheet] = sheet
    grown = replace(
        book, frames=book.frames.replaced(sheet, table), letters=letters, sheet_names=names
    )
    # The rows already there are context (ids taken, first rows of a key), not judged again.
    checker = _Checker(
        grown, report, present=set(book.loaded) | {sheet}, checked={sheet}, start=len(existing)
    )
    checker.keys()
    checker.references()
    checker.cross_fields()
    if as_of is not None:
        checker.future_dates(as_of)
    records = []
    for i in range(len(existing), len(table)):
        record = table.record(i)
        del record["excel_row"]
        records.append(record)
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


def _typed_table(sheet: RawSheet, report: Report, path: Path | None = None) -> Table:
    spec = sheet.spec
    columns: dict[str, list[Any]] = {}
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
            columns[column.name] = [None] * n
        else:
            columns[column.name] = _convert_column(sheet, column, values, report, path)
    return Table(spec, columns, list(sheet.excel_rows))


def _convert_column(
    sheet: RawSheet, column: Column, values: Sequence[Any], report: Report, path: Path | None = None
) -> list[Any]:
    """Type one column, reporting each bad cell. The hot loop of ``validate``."""
    rows = sheet.excel_rows
    letter = sheet.letters[column.name]

    judge: Callable[[Any], tuple[Any, cells.Issue | None]] = partial(cells.convert, column)
    todo: Sequence[int]
    fast = _fast_path(column)
    verdicts = None
    if fast is None and (column.kind in ("yesno", "email") or column.vocabulary is not None):
        # These columns repeat a few values many times: judge each distinct value once.
        try:
            verdicts = {v: judge(v) for v in set(values)}
        except TypeError:  # an unhashable value: judge cell by cell
            verdicts = None
    if fast is not None:
        out = fast(values)
        todo = [i for i, v in enumerate(out) if v is _SLOW]
    elif verdicts is not None:
        out = [verdicts[v][0] for v in values]
        bad = {
            v
            for v, (typed, issue) in verdicts.items()
            if issue is not None or (typed is None and column.required) or _cut_short(v)
        }
        todo = [i for i, v in enumerate(values) if v in bad] if bad else []
        judge = verdicts.__getitem__
    else:
        out = [None] * len(values)
        todo = range(len(values))
    for i in todo:
        value = values[i]
        typed, issue = judge(value)
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
    """The rules that look across rows and sheets: keys, references, dates in order.

    ``start`` is the first row index of the ``checked`` sheets to judge: a write
    judges only its new rows, against every row already there.
    """

    def __init__(
        self,
        book: Book,
        report: Report,
        present: set[str],
        checked: set[str] | None = None,
        start: int = 0,
    ) -> None:
        self.book, self.report = book, report
        self.present = present  # contract sheets the workbook has
        self.checked = present if checked is None else checked  # sheets whose rows to judge
        self.start = start

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
            table = self.book.table(spec.name)
            rows = table.excel_rows
            keys = table.columns[spec.key]
            if _all_different(keys):
                continue  # the loop below names the rows
            first_row: dict[str, int] = {}  # folded key -> the Excel row that has it first
            for i, value in enumerate(keys):
                if value is None:
                    continue
                folded = str(value).casefold()
                first = first_row.setdefault(folded, rows[i])
                if first != rows[i] and i >= self.start:
                    self._add(
                        spec.name,
                        spec.key,
                        rows[i],
                        "duplicate_id",
                        f"{spec.key} {value} is already used in row {first}",
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
                    target = self.book.table(key[0]).columns[key[1]]
                    targets[key] = {str(v).casefold(): str(v) for v in target if v is not None}
                canonical = targets[key]
                exact = set(canonical.values())
                table = self.book.table(spec.name)
                values = table.columns[column.name]
                if exact.issuperset(v for v in set(values) if v is not None):
                    continue  # every one spelled as on the target sheet (found in C)
                for i in range(self.start, len(values)):
                    value = values[i]
                    if value is None or value in exact:
                        continue
                    # Only values not spelled as on the target sheet are folded, so
                    # "kari" finds Kari and is stored as "Kari".
                    found = canonical.get(str(value).casefold())
                    if found is not None:
                        values[i] = found
                        continue
                    self._add(
                        spec.name,
                        column.name,
                        table.excel_rows[i],
                        "unknown_reference",
                        f"{column.name} {cells.show(value)} is not on the {key[0]} sheet",
                        self._suggest(key, value),
                        value=value,
                    )
                    values[i] = None

    def _suggest(self, target: tuple[str, str], value: Any) -> str:
        sheet, column = target
        table = self.book.table(sheet)
        keys = [str(v) for v in table.columns[column] if v is not None]
        close = closest_ids(str(value), keys, limit=1)
        if close:
            extra = ""
            if sheet == "Customers":
                i = [str(v) for v in table.columns[column]].index(close[0])
                name = table.columns["name"][i]
                extra = f" {name}" if name is not None else ""
            return f"did you mean {close[0]}{extra}? Otherwise add it to the {sheet} sheet first"
        return f"add it to the {sheet} sheet first, or correct the {column}"

    def cross_fields(self) -> None:
        if "Complaints" not in self.checked:
            return
        table = self.book.table("Complaints")
        columns, rows = table.columns, table.excel_rows
        judged = range(self.start, len(table))
        opened = columns["opened"]
        for later in ("first_response", "resolved"):
            for i in judged:
                when, start = columns[later][i], opened[i]
                if when is None or start is None or not when < start:
                    continue
                self._add(
                    "Complaints",
                    later,
                    rows[i],
                    "date_order",
                    f"{later} {cells.show(when)} is "
                    f"before the complaint was opened ({cells.show(start)})",
                    f"check both dates; {later} cannot be earlier than opened",
                )
        status, resolved = columns["status"], columns["resolved"]
        for i in judged:
            if status[i] in CLOSED_STATUSES and resolved[i] is None:
                self._add(
                    "Complaints",
                    "resolved",
                    rows[i],
                    "missing_value",
                    f"status is {status[i]}, but resolved is empty",
                    "type the date and time it was resolved, or set status back to open",
                )
        for i in judged:
            if status[i] in OPEN_STATUSES and resolved[i] is not None:
                self._add(
                    "Complaints",
                    "status",
                    rows[i],
                    "status_mismatch",
                    f"status is {status[i]}, but there is a resolved date",
                    "set status to resolved, or clear the resolved date if it was reopened",
                    severity="warning",
                )

    def future_dates(self, as_of: datetime) -> None:
        limit = as_of + timedelta(days=1)
        for sheet, column in sorted(_PAST_COLUMNS):
            if sheet not in self.checked:
                continue
            table = self.book.table(sheet)
            values = table.columns[column]
            plain_dates = table.spec.column_by_name[column].kind == "date"
            bound: date = limit.date() if plain_dates else limit
            for i in range(self.start, len(values)):
                value = values[i]
                if value is None or not value > bound:
                    continue
                when = datetime.combine(value, time()) if plain_dates else value
                self._add(
                    sheet,
                    column,
                    table.excel_rows[i],
                    "future_date",
                    f"{column} {cells.show(when)} is in the future",
                    "check the year and month",
                    severity="warning",
                )

    def warnings(self) -> None:
        customers = self.book.table("Customers")
        if "Customers" in self.checked and len(customers):
            # A row merged into another keeps its old address as history, not as a clash.
            from sheetcrm.workbook.duplicates import merged_into

            columns = customers.columns
            first: dict[str, Any] = {}  # folded address -> the customer who has it first
            for i, email in enumerate(columns["email"]):
                if email is None or merged_into(columns["notes"][i]) is not None:
                    continue
                folded = email.casefold()
                if folded not in first:
                    first[folded] = columns["customer_id"][i]
                    continue
                self._add(
                    "Customers",
                    "email",
                    customers.excel_rows[i],
                    "duplicate_email",
                    f"{email} is also the email of {first[folded]}",
                    "merge the two customers, or correct one address",
                    severity="warning",
                )
        staff = self.book.table("Staff")
        if "Staff" not in self.present or not len(staff):
            return
        inactive = {
            name
            for name, active in zip(staff.columns["name"], staff.columns["active"], strict=True)
            if active is False
        }
        if not inactive:
            return
        for sheet, open_only in (("Customers", False), ("Complaints", True)):
            if sheet not in self.checked:
                continue
            table = self.book.table(sheet)
            owners = table.columns["owner"]
            status = table.columns.get("status")
            for i, owner in enumerate(owners):
                if owner not in inactive:
                    continue
                if open_only and status is not None and status[i] not in OPEN_STATUSES:
                    continue
                self._add(
                    sheet,
                    "owner",
                    table.excel_rows[i],
                    "inactive_owner",
                    f"owner {owner} is marked inactive on the Staff sheet",
                    "give this row an active owner",
                    severity="warning",
                )

    def likely_duplicates(self, pairs: Sequence[Likely] | None = None) -> None:
        """One warning per likely pair, on the later row's name: the one to merge away.

        ``pairs``: found already (see :func:`likely_pairs`), else searched for now."""
        customers = self.book.table("Customers")
        if "Customers" not in self.checked or not len(customers):
            return
        for first, second, row, pair in likely_pairs(customers) if pairs is None else pairs:
            self._add(
                "Customers",
                "name",
                row,
                "likely_duplicate",
                f"{second} is probably the same person as {first} "
                f"(score {pair.score:.0f}: {', '.join(pair.reasons)})",
                "if so, merge the two rows into one customer",
                severity="warning",
                remedy="merge_customers",
                remedy_args=(first, second),
            )


# (first id, second id, the second's Excel row, the pair as scored)
Likely = tuple[str, str, int, Any]


def likely_pairs(customers: Table) -> list[Likely]:
    """The customers probably typed in twice (merged-away rows left out), the later row
    second: a search that needs nothing but the Customers sheet."""
    from sheetcrm.workbook.duplicates import THRESHOLD, find_duplicates, merged_into

    columns = customers.columns
    ids, notes = columns["customer_id"], columns["notes"]
    live = [i for i, key in enumerate(ids) if key is not None and merged_into(notes[i]) is None]
    rows = {str(ids[i]): customers.excel_rows[i] for i in live}
    candidates = {name: [values[i] for i in live] for name, values in columns.items()}
    found = []
    for pair in find_duplicates(candidates, THRESHOLD):
        first, second = sorted((pair.first, pair.second), key=lambda c: rows[c])
        found.append((first, second, int(rows[second]), pair))
    return found


__all__ = ["load", "validate"]
