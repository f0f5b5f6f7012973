"""Turning one cell value into a typed value, or saying in plain words why it cannot be.

Each converter takes what calamine returned for a cell (or what a user typed on
the command line) and returns ``(value, None)`` or ``(None, Issue)``. They are
used by validation for whole columns and by the write commands for single
values, so a value typed on the command line is judged exactly as a cell is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sheetcrm.contract import ALIASES, Column, normalize_choice
from sheetcrm.workbook.matching import closest_texts


@dataclass(frozen=True, slots=True)
class Issue:
    code: str
    message: str
    hint: str | None = None


Converted = tuple[Any, Issue | None]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # as mail.py refuses in addresses
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]{2,}$")
_SLASH_DATE = re.compile(
    r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_YES = {"yes", "y", "true", "1", "ja", "j", "x"}
_NO = {"no", "n", "false", "0", "nei"}


def is_blank(value: Any) -> bool:
    if value is None or value == "":
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def show(value: Any) -> str:
    """A value as the owner would recognise it in a message."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if value.time() != time(0) else f"{value:%Y-%m-%d}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def to_text(value: Any) -> Converted:
    if isinstance(value, str):
        return value.strip(), None
    if isinstance(value, bool):
        return ("yes" if value else "no"), None
    if isinstance(value, float) and value.is_integer():
        return str(int(value)), None  # a phone number or id typed as a number
    if isinstance(value, datetime):
        return value.isoformat(sep=" "), None
    if isinstance(value, date):
        return value.isoformat(), None
    return str(value), None


def _text_datetime(text: str, column: str) -> Converted:
    try:
        return datetime.fromisoformat(text.replace("/", "-") if text[:4].isdigit() else text), None
    except ValueError:
        pass
    m = _SLASH_DATE.match(text)
    if not m:
        return None, Issue(
            "invalid_date",
            f"{column} should be a date, but it says {show(text)}",
            "type it as 2026-04-03 (year-month-day), or format the cell as a date",
        )
    a, sep, b, year = int(m[1]), m[2], int(m[3]), int(m[4])
    hh, mm, ss = int(m[5] or 0), int(m[6] or 0), int(m[7] or 0)
    readings: list[datetime] = []
    # Dots are day-first everywhere they are used (03.04.2026 is 3 April in Norway and
    # Germany); slashes are day-first or month-first depending on who typed them.
    orders = [(a, b)] if sep == "." else [(a, b), (b, a)]
    for day, month in orders:
        try:
            d = datetime(year, month, day, hh, mm, ss)
        except ValueError:
            continue
        if d not in readings:
            readings.append(d)
    if not readings:
        return None, Issue(
            "invalid_date",
            f"{column} {show(text)} is not a real date",
            "type it as year-month-day, e.g. 2026-04-03",
        )
    if len(readings) > 1:
        first, second = readings
        return None, Issue(
            "ambiguous_date",
            f"{column} {show(text)} could be {first:%-d %B %Y} or {second:%-d %B %Y}",
            f"type {first:%Y-%m-%d} or {second:%Y-%m-%d}, or format the cell as a date",
        )
    return readings[0], None


# Excel stores no date before 1900; pandas, which sheetcrm counts with, none after
# 11 April 2262. A date outside is a typo in the year, said so by cell.
FIRST_DATE = datetime(1900, 1, 1)
LAST_DATE = datetime(2262, 4, 10, 23, 59, 59)


def _in_range(result: Converted, column: str) -> Converted:
    value, issue = result
    if issue is None and value is not None and not FIRST_DATE <= value <= LAST_DATE:
        return None, Issue(
            "invalid_date",
            f"{column} {value:%Y-%m-%d} is outside the dates sheetcrm can use "
            f"(1900-01-01 to {LAST_DATE:%Y-%m-%d})",
            "check the year",
        )
    return result


def to_datetime(value: Any, column: str = "date") -> Converted:
    t = type(value)
    if t is datetime:
        return _in_range((value, None), column)
    if t is date:
        return _in_range((datetime(value.year, value.month, value.day), None), column)
    if t is str:
        return _in_range(_text_datetime(value.strip(), column), column)
    if t is time:
        return None, Issue(
            "invalid_date",
            f"{column} holds only a time of day ({value:%H:%M}), no date",
            "type the date and time, e.g. 2026-04-03 14:30",
        )
    if t in (float, int):
        return None, Issue(
            "invalid_date",
            f"{column} holds the number {show(value)}, not a date",
            "format the cell as a date (Home > Number > Short Date), or type 2026-04-03",
        )
    return None, Issue(
        "invalid_date",
        f"{column} should be a date, but it says {show(value)}",
        "type it as 2026-04-03",
    )


def to_date(value: Any, column: str = "date") -> Converted:
    result, issue = to_datetime(value, column)
    return (result.date() if result is not None else None), issue


def to_number(value: Any, column: str = "amount") -> Converted:
    t = type(value)
    if t is float or t is int:
        return float(value), None
    if t is str:
        text = value.strip().replace("\u00a0", "").replace(" ", "")
        try:
            number = float(text)
            if math.isfinite(number):
                return number, None
        except ValueError:
            pass
    return None, Issue(
        "invalid_number",
        f"{column} should be a number, but it says {show(value)}",
        "type a plain number such as 1250.50, without currency or thousands separators",
    )


def to_whole(value: Any, column: str = "number") -> Converted:
    number, issue = to_number(value, column)
    if issue:
        return None, Issue(
            "invalid_number",
            f"{column} should be a whole number, but it says {show(value)}",
            "type a whole number such as 4",
        )
    if not float(number).is_integer():
        return None, Issue(
            "invalid_number",
            f"{column} should be a whole number, but it is {show(value)}",
            "type a whole number such as 4",
        )
    return int(number), None


def to_yesno(value: Any, column: str = "value") -> Converted:
    if isinstance(value, bool):
        return value, None
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value), None
    text = str(value).strip().casefold()
    if text in _YES:
        return True, None
    if text in _NO:
        return False, None
    return None, Issue(
        "invalid_yes_no",
        f"{column} should be yes or no, but it says {show(value)}",
        "pick yes or no from the drop-down",
    )


def to_email(value: Any, column: str = "email") -> Converted:
    text = str(value).strip()
    if _CONTROL.search(text):  # passes the pattern, yet no mail server takes it
        return None, Issue(
            "invalid_email",
            f"{column} {show(value)} has an invisible control character in it",
            "retype the address in this cell (pasting can bring such characters along)",
        )
    if _EMAIL.match(text):
        return text, None
    return None, Issue(
        "invalid_email",
        f"{column} {show(value)} is not an email address",
        "type an address such as name@example.com",
    )


CONVERTERS: dict[str, Callable[[Any, str], Converted]] = {
    "text": lambda v, c: to_text(v),
    "date": to_date,
    "datetime": to_datetime,
    "number": to_number,
    "whole": to_whole,
    "yesno": to_yesno,
    "email": to_email,
}


TEXT_LIMIT = 32_767  # Excel's limit of characters in one cell (UTF-16 code units)


def too_long(value: Any, column: str) -> Issue | None:
    """Text Excel cannot hold in one cell: it truncates it, or refuses to open the file."""
    if not isinstance(value, str) or len(value) <= TEXT_LIMIT // 2:
        return None
    length = len(value.encode("utf-16-le")) // 2
    if length <= TEXT_LIMIT:
        return None
    return Issue(
        "text_too_long",
        f"{column} is {length:,} characters long, but an Excel cell holds at most {TEXT_LIMIT:,}",
        f"shorten it to {TEXT_LIMIT:,} characters or fewer, or move the rest to another row",
    )


def convert(column: Column, value: Any) -> Converted:
    """One value of ``column`` typed, checked against its vocabulary and range.

    >>> from sheetcrm.contract import SHEET_BY_NAME
    >>> convert(SHEET_BY_NAME["Interactions"].column("channel"), "In person ")
    ('in_person', None)
    """
    if is_blank(value):
        return None, None
    long = too_long(value, column.name)
    if long is not None:
        return None, long
    if column.verbatim and isinstance(value, str):
        return value, None  # what the person typed, to the last space
    result, issue = CONVERTERS[column.kind](value, column.name)
    if issue:
        return None, issue
    if column.vocabulary:
        return check_choice(column, result)
    if column.minimum is not None or column.maximum is not None:
        return check_range(column, result)
    return result, None


def check_choice(column: Column, value: Any) -> Converted:
    choice = normalize_choice(value)
    if choice in column.choices:
        return choice, None
    meant = ALIASES.get(column.vocabulary or "", {}).get(choice)
    if meant is not None:  # "call" in a channel cell is phone (contract.ALIASES)
        return meant, None
    close = closest_texts(choice, column.choices, limit=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return None, Issue(
        "not_in_list",
        f"{column.name} {show(value)} is not one of the allowed values",
        f"{hint}choose one of: {', '.join(column.choices)}",
    )


def check_range(column: Column, number: Any) -> Converted:
    lo, hi = column.minimum, column.maximum
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        if hi is None:
            allowed = f"at least {lo:g}"
        elif lo is None:
            allowed = f"at most {hi:g}"
        else:
            allowed = f"from {lo:g} to {hi:g}"
        return None, Issue(
            "out_of_range",
            f"{column.name} is {show(number)}, but it must be {allowed}",
            f"type a number {allowed}",
        )
    return number, None
