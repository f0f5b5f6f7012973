"""Adding records: fresh ids in the sheet's own pattern, refusing bad rows, typed values.

What every use case that adds rows shares (log, sale, complaint, import, the
mailbox, survey answers), on the :class:`~sheetcrm.workbook.writer.Transaction`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sheetcrm.contract import SHEET_BY_NAME, Sheet
from sheetcrm.errors import Problem, SheetCRMError
from sheetcrm.workbook import writer
from sheetcrm.workbook.book import Book

_ID = re.compile(r"^(.*?)(\d+)$")


def next_ids(existing: Iterable[Any], prefix: str | None, count: int = 1) -> list[str]:
    """New ids in the sheet's own pattern: after I-00755 comes I-00756.

    >>> next_ids(["C-0009", "C-0010", "old-7"], "C-", 2)
    ['C-0011', 'C-0012']
    """
    parsed = [m for m in (_ID.match(str(v).strip()) for v in existing if v) if m]
    if not parsed:
        return [f"{prefix or ''}{n:04d}" for n in range(1, count + 1)]
    common = Counter(m.group(1) for m in parsed).most_common(1)[0][0]
    mine = [m for m in parsed if m.group(1) == common]
    width = max(len(m.group(2)) for m in mine)
    top = max(int(m.group(2)) for m in mine)
    return [f"{common}{n:0{width}d}" for n in range(top + 1, top + 1 + count)]


def fresh_ids(tx: writer.Transaction, book: Book, sheet: str, count: int = 1) -> list[str]:
    """New ids for ``sheet``, unique in the workbook as it is on disk now (under the lock).

    When the sheet was not read (one new interaction needs no 100,000 old ones),
    the ids at its two ends are enough; should a new id turn out to be taken
    after all (a sheet sorted by something else), every id is read once.
    """
    spec = SHEET_BY_NAME[sheet]
    if sheet in book.loaded:
        return next_ids(book.table(sheet).columns[spec.key], spec.id_prefix, count)
    if sheet not in book.sheet_names:
        return next_ids((), spec.id_prefix, count)
    ids = next_ids(tx.edge_values(sheet, spec.key), spec.id_prefix, count)
    if count <= 5 and not any(tx.holds_text(sheet, i) for i in ids):
        return ids
    from sheetcrm.workbook.reader import read_book

    every = read_book(tx.path, [spec]).sheets[sheet].columns.get(spec.key, ())
    return next_ids(every, spec.id_prefix, count)


def refuse(
    problems: Sequence[tuple[int, Problem]],
    what: str,
    label: Callable[[int, Problem], str] | None = None,
) -> None:
    errors = [(i, p) for i, p in problems if p.severity == "error"]
    if not errors:
        return
    shown = []
    for i, p in errors:
        where = label(i, p) if label else (p.column or "")
        text = f"{where}: {p.message}" if where else p.message
        shown.append(Problem(p.code, text, hint=p.hint))
    n = len(shown)
    head = Problem(
        shown[0].code,
        f"{what} refused, nothing was written: {shown[0].message}",
        hint=shown[0].hint,
    )
    if n > 1:
        head = Problem(shown[0].code, f"{what} refused, nothing was written ({n} problems):")
    raise SheetCRMError(head, problems=[head, *shown] if n > 1 else [head])


def for_sheet(record: Mapping[str, Any], spec: Sheet) -> dict[str, Any]:
    """Typed values as the workbook shows them: yes/no as text, nothing for empty cells."""
    out: dict[str, Any] = {}
    for column in spec.columns:
        value = record.get(column.name)
        if value is None or value == "":
            continue
        if column.kind == "yesno":
            value = "yes" if value else "no"
        elif hasattr(value, "to_pydatetime"):  # a pandas Timestamp from a frame
            value = value.to_pydatetime()
        elif column.kind == "whole":
            value = int(value)
        out[column.name] = value
    return out


def write_rows(tx: writer.Transaction, sheet: str, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    spec = SHEET_BY_NAME[sheet]
    values = [for_sheet(r, spec) for r in rows]
    used = [c.name for c in spec.columns if any(c.name in v for v in values)]
    tx.ensure_columns(sheet, used)
    return tx.append(sheet, values)
