"""A1 references: column letters, cell and range references, Excel date serials."""

from __future__ import annotations

import datetime as dt
import re

from sheetcrm.errors import column_letter

_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
_RANGE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)(?::\$?([A-Za-z]{1,3})\$?(\d+))?$")


# --------------------------------------------------------------------------- helpers


def column_index(letters: str) -> int:
    """0-based index of a column letter: A -> 0, AA -> 26."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def excel_serial(value: dt.date | dt.datetime, date1904: bool = False) -> float:
    """The Excel serial number of a date or datetime (naive wall clock)."""
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=None)
        base = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
        delta = value - base
        serial = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
    else:
        base_d = dt.date(1904, 1, 1) if date1904 else dt.date(1899, 12, 30)
        serial = float((value - base_d).days)
    if not date1904 and serial < 61:
        serial -= 1  # Excel's phantom 1900-02-29
    if serial < (0 if date1904 else 1):
        raise ValueError(f"{value} is before Excel's first date")
    return serial


def _parse_ref(ref: str) -> tuple[int, int] | None:
    m = _REF.match(ref.strip())
    if not m:
        return None
    return column_index(m.group(1)), int(m.group(2))


def _parse_range(text: str) -> tuple[int, int, int, int] | None:
    m = _RANGE.match(text.strip())
    if not m:
        return None
    c1, r1 = column_index(m.group(1)), int(m.group(2))
    if m.group(3):
        c2, r2 = column_index(m.group(3)), int(m.group(4))
    else:
        c2, r2 = c1, r1
    return min(c1, c2), min(r1, r2), max(c1, c2), max(r1, r2)


def _fmt_range(rng: tuple[int, int, int, int]) -> str:
    c1, r1, c2, r2 = rng
    a = f"{column_letter(c1)}{r1}"
    b = f"{column_letter(c2)}{r2}"
    return a if a == b else f"{a}:{b}"
