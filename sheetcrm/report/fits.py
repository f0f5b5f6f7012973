"""The customer-value fit kept beside the workbook, so the next run needs no optimiser.

Fitting the value models (:mod:`sheetcrm.rules.value`) is the slowest part of
``followups`` and ``customer show`` and imports scipy's optimiser. A fit is a
function of its inputs alone, so what it found is kept in
``.crm.xlsx.sheetcrm-value.json`` beside the workbook under the hash of exactly
those inputs: the next run with the same sales as of the same day reads it instead
of fitting, and shows the same figures to the last digit. Anything else (another
day, a changed sale, a file that cannot be read or is not what is written here) is
ignored and the models are fitted again; a file that cannot be written is no error,
only a slower next run. It is never kept beside an encrypted workbook: the fitted
parameters tell what the customers spend.
"""

from __future__ import annotations

import contextlib
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sheetcrm.files import write_atomic
from sheetcrm.xlsx import encryption

if TYPE_CHECKING:
    from sheetcrm.rules import value
    from sheetcrm.workbook.book import Book


def cache_path(workbook: Path) -> Path:
    """``.crm.xlsx.sheetcrm-value.json`` beside ``crm.xlsx``."""
    workbook = Path(workbook)
    return workbook.with_name(f".{workbook.name}.sheetcrm-value.json")


def estimate(book: Book, day: date, *, orders: bool = True) -> value.Estimate:
    """:func:`value.estimate` of the book's sales as of ``day``, with the fit kept beside it.

    ``orders=False``: without the expected orders and value (``followups`` shows neither).
    """
    from sheetcrm.rules import value  # pandas: not for kept_orders, asked before the read

    if book.path is None or encryption.file_is_encrypted(Path(book.path)):
        return value.estimate(book.sales, day, orders=orders)
    path = cache_path(Path(book.path))
    known = _read(path)
    est = value.estimate(book.sales, day, known=known, orders=orders)
    # Written when it holds more than the file: a new fit, or expected orders now worked out.
    record = {"key": est.fit_key, "as_of": day.isoformat(), **(est.fits or {})}
    if est.fit_key is not None and record != known:
        _write(path, record)
    return est


def kept_orders(workbook: Path, day: date) -> bool:
    """Whether the fit kept beside ``workbook`` holds expected orders as of ``day``: a
    guess, before the workbook is read, that the value figures will need no scipy."""
    known = _read(cache_path(workbook))
    return bool(known and known.get("as_of") == day.isoformat() and known.get("orders"))


def libraries(workbook: Path, day: date) -> tuple[str, ...]:
    """What the value figures as of ``day`` compute with, to import beside the read:
    pandas, and scipy.special (the expected orders) unless the kept fit holds them."""
    return ("pandas",) if kept_orders(workbook, day) else ("pandas", "scipy.special")


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, unreadable, not UTF-8 or not JSON: fit again
        return None
    return data if isinstance(data, dict) else None


def _write(path: Path, record: dict[str, Any]) -> None:
    text = json.dumps(record, indent=1, sort_keys=True, allow_nan=False) + "\n"
    # A read-only folder or a full disk costs the next run a fit, not this run its answer.
    with contextlib.suppress(OSError, ValueError):
        write_atomic(path, text.encode("utf-8"))
