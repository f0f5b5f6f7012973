"""Business-time arithmetic for the service-level rules: pure, no I/O, no clock reads.

This module owns *when a target falls due* and *how much business time has passed*:

- :class:`BusinessCalendar` knows the opening hours, the business days, the holidays
  and the time zone of the workbook. It answers whether the business is open, when it
  next opens, what time a target of N business hours or N clock hours falls due, and
  how many business hours lie between two times (for reports).
- :func:`parse_business_hours` and :func:`parse_business_days` read the ``business_hours``
  and ``business_days`` Settings values the owner types (``09:00-17:00``, ``mon-fri``,
  ``man-fre``); they raise :class:`ValueError` with a message an owner understands.
- :func:`format_duration` writes a duration the way an owner reads it (``3 h 20 min``).

Time is always passed in. Every datetime in and out is a *naive local time* in the
calendar's IANA time zone (the workbook's ``timezone`` setting); an aware datetime
passed in is first converted to that local time.

The rules, exactly:

- Business time is ``[opens, closes)`` on each business day that is not a holiday.
  Opening and closing are local wall-clock times, so a DST change in the night does
  not change the length of a 09:00-17:00 day; business-hour arithmetic is done on
  naive wall-clock times and never consults the time zone.
- A clock that starts outside business time starts at the next opening. A target
  that ends exactly at closing time is due at closing time (17:00), not at the next
  opening. A target of zero business hours is due at the clock's start.
- Clock-hour targets count real elapsed time: the local time is made aware with
  :mod:`zoneinfo`, the hours are added in UTC and the result is converted back to
  naive local time, so 24 clock hours across the spring change are 25 wall-clock
  hours apart. Local times that do not exist (the spring gap) or exist twice (the
  autumn fold) never raise: they are read with ``fold=0`` (unless the datetime passed
  in says ``fold=1``), which means a time in the gap is read with the offset before
  the change (02:30 on 2026-03-29 in Oslo is the instant 03:30 summer time) and a
  time in the fold is its first occurrence (summer time). A result that falls in the
  fold carries ``fold=1`` when it is the second occurrence.
- Hours are turned into whole seconds once (``round(hours * 3600)``) and all
  arithmetic is done with :class:`~datetime.timedelta`, so there is no float drift.
- Searching for the next opening looks at most :data:`SEARCH_YEARS` years ahead; a
  calendar with no business day in that window (every day a holiday) raises
  :class:`ValueError` instead of looping forever.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

__all__ = [
    "MAX_BUSINESS_HOURS",
    "SEARCH_YEARS",
    "BusinessCalendar",
    "format_duration",
    "parse_business_days",
    "parse_business_hours",
]

#: How far ahead :meth:`BusinessCalendar.next_opening` looks for a business day.
SEARCH_YEARS = 10
_SEARCH_DAYS = SEARCH_YEARS * 366

#: The largest business-hours target accepted (about 48 years of 8-hour days).
MAX_BUSINESS_HOURS = 100_000


def _zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, or a ValueError an owner understands."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # only a shop with a time zone set

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(
            f"'{name}' is not a time zone sheetcrm knows; "
            "write an IANA time zone name such as Europe/Oslo or Europe/London"
        ) from exc


def _seconds(hours: float, *, what: str = "hours") -> int:
    """Hours as a whole number of seconds, refusing NaN and infinity."""
    try:
        value = float(hours)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be a number of hours, not {hours!r}") from exc
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a number of hours, not {hours!r}")
    return round(value * 3600)


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Opening hours, business days, holidays and time zone of one business.

    ``days`` are weekday numbers, Monday = 0 … Sunday = 6. ``holidays`` are dates the
    business is closed all day (datetimes are reduced to their date). ``timezone`` is
    the IANA name of the zone every workbook time is in.

    Raises :class:`ValueError` when closing is not after opening, when there are no
    business days, when a day number is not 0-6 or when the time zone is unknown.
    """

    opens: time = time(9)
    closes: time = time(17)
    days: frozenset[int] = frozenset(range(5))  # Monday=0
    holidays: frozenset[date] = frozenset()
    timezone: str = "Europe/Oslo"

    def __post_init__(self) -> None:
        if not isinstance(self.opens, time) or not isinstance(self.closes, time):
            raise ValueError("opening and closing must be times of day, such as 09:00 and 17:00")
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ValueError("opening and closing are local times; give them without a time zone")
        if self.opens >= self.closes:
            raise ValueError(
                f"closing time {self.closes:%H:%M} is not after opening time "
                f"{self.opens:%H:%M}; write the business hours like 09:00-17:00 "
                "(opening past midnight is not supported)"
            )
        days = frozenset(self.days)
        if not days:
            raise ValueError("there are no business days; write them like mon-fri")
        for day in days:
            if not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6:
                raise ValueError(f"{day!r} is not a weekday number (Monday=0 … Sunday=6)")
        holidays = frozenset(h.date() if isinstance(h, datetime) else h for h in self.holidays)
        for holiday in holidays:
            if not isinstance(holiday, date) or isinstance(holiday, datetime):  # e.g. NaT
                raise ValueError(f"holiday {holiday!r} is not a date")
        _zone(self.timezone)
        object.__setattr__(self, "days", days)
        object.__setattr__(self, "holidays", holidays)

    @classmethod
    def from_settings(
        cls,
        *,
        business_hours: str = "09:00-17:00",
        business_days: str = "mon-fri",
        holidays: Iterable[date] = (),
        timezone: str = "Europe/Oslo",
    ) -> BusinessCalendar:
        """A calendar from the Settings values as the owner typed them.

        >>> BusinessCalendar.from_settings(business_hours="8-16", business_days="man-lør").days
        frozenset({0, 1, 2, 3, 4, 5})
        """
        opens, closes = parse_business_hours(business_hours)
        return cls(
            opens=opens,
            closes=closes,
            days=parse_business_days(business_days),
            holidays=frozenset(holidays),
            timezone=timezone,
        )

    # -- the basics ---------------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone."""
        return _zone(self.timezone)

    def _local(self, at: datetime) -> datetime:
        """``at`` as naive local time (aware datetimes are converted first)."""
        if at.tzinfo is None:
            return at
        return at.astimezone(self.zone).replace(tzinfo=None)

    def is_business_day(self, day: date) -> bool:
        """True when ``day`` is a business day and not a holiday."""
        if isinstance(day, datetime):
            day = day.date()
        return day.weekday() in self.days and day not in self.holidays

    def is_open(self, at: datetime) -> bool:
        """True when ``at`` is business time: ``opens <= time < closes`` on a business day.

        Closing time itself is closed.
        """
        at = self._local(at)
        return self.is_business_day(at.date()) and self.opens <= at.time() < self.closes

    def next_opening(self, at: datetime) -> datetime:
        """The first business time at or after ``at``: ``at`` itself when open.

        Raises :class:`ValueError` when there is no business day in the next
        :data:`SEARCH_YEARS` years (every day a holiday).
        """
        at = self._local(at)
        if self.is_open(at):
            return at
        day = at.date()
        if at.time() >= self.opens:
            day += timedelta(days=1)
        return datetime.combine(self._next_business_day(day, start=at), self.opens)

    def _next_business_day(self, day: date, *, start: datetime) -> date:
        """The first business day on or after ``day``, searching a bounded window."""
        try:
            for _ in range(_SEARCH_DAYS):
                if self.is_business_day(day):
                    return day
                day += timedelta(days=1)
        except OverflowError:
            pass
        raise ValueError(
            f"the business is never open in the {SEARCH_YEARS} years after "
            f"{start:%Y-%m-%d %H:%M}: every business day is a holiday; "
            "check the Holidays sheet and the business_days setting"
        )

    # -- business hours -----------------------------------------------------------

    def add_business_hours(self, start: datetime, hours: float) -> datetime:
        """The time at which ``hours`` business hours have passed since ``start``.

        A ``start`` outside business time counts from the next opening. A target that
        ends exactly at closing time is due at closing time. ``hours`` may be
        fractional (``0.5`` is 30 minutes) and is rounded to the second; it must be
        0 to :data:`MAX_BUSINESS_HOURS`.
        """
        seconds = _seconds(hours)
        if seconds < 0:
            raise ValueError(f"a target of {hours} hours is negative; it must be 0 or more")
        if seconds > MAX_BUSINESS_HOURS * 3600:
            raise ValueError(
                f"a target of {hours} business hours is too long; "
                f"the most sheetcrm accepts is {MAX_BUSINESS_HOURS}"
            )
        remaining = timedelta(seconds=seconds)
        current = self.next_opening(start)
        while True:
            closing = datetime.combine(current.date(), self.closes)
            available = closing - current
            if remaining <= available:
                return current + remaining
            remaining -= available
            current = self.next_opening(closing)

    def business_hours_between(self, start: datetime, end: datetime) -> float:
        """Business hours from ``start`` to ``end`` (e.g. time to first response).

        Only business time counts. Negative when ``end`` is before ``start``
        (``between(a, b) == -between(b, a)``).
        """
        start, end = self._local(start), self._local(end)
        if end < start:
            return -self.business_hours_between(end, start)
        return self._business_time_between(start, end).total_seconds() / 3600

    def _business_time_between(self, start: datetime, end: datetime) -> timedelta:
        total = timedelta(0)
        day = start.date()
        last = end.date()
        while day <= last:
            if self.is_business_day(day):
                lo = max(start, datetime.combine(day, self.opens))
                hi = min(end, datetime.combine(day, self.closes))
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    # -- clock hours --------------------------------------------------------------

    def add_clock_hours(self, start: datetime, hours: float) -> datetime:
        """``start`` plus ``hours`` of real elapsed time, across DST changes.

        ``start`` is naive local time read with its ``fold`` (0 unless set): a time in
        the spring gap is read with the winter offset, a time in the autumn fold as its
        first occurrence. The result is naive local time. ``hours`` may be negative.
        """
        seconds = _seconds(hours)
        try:
            moved = self.to_utc(start) + timedelta(seconds=seconds)
            return moved.astimezone(self.zone).replace(tzinfo=None)
        except OverflowError as exc:
            raise ValueError(
                f"{hours} hours from {start:%Y-%m-%d %H:%M} is outside the calendar"
            ) from exc

    def to_utc(self, at: datetime) -> datetime:
        """``at`` (naive local time, read with its ``fold``) as an aware UTC instant.

        Naive local times compare wrongly inside the autumn fold (02:30 the second
        time is later than 02:45 the first time); compare instants when that matters.
        """
        if at.tzinfo is None:
            at = at.replace(tzinfo=self.zone)
        return at.astimezone(UTC)

    # -- the rule the service levels use ------------------------------------------

    def due_at(self, opened: datetime, hours: float, business_hours_only: bool) -> datetime:
        """When a target of ``hours`` falls due for a complaint opened at ``opened``.

        Business hours when ``business_hours_only``, otherwise clock hours.
        """
        if business_hours_only:
            return self.add_business_hours(opened, hours)
        if _seconds(hours) < 0:
            raise ValueError(f"a target of {hours} hours is negative; it must be 0 or more")
        return self.add_clock_hours(opened, hours)


# -- parsing the Settings values ---------------------------------------------------

_TIME = r"(\d{1,2})(?:[:.](\d{2}))?\s*(?:([ap])\.?\s*m\.?)?"
_HOURS_RE = re.compile(
    rf"^\s*{_TIME}\s*(?:-|–|—|to|till|til|until)\s*{_TIME}\s*$",
    re.IGNORECASE,
)
_HOURS_EXAMPLE = "write them like 09:00-17:00"


def _clock(text: str, hour: str, minute: str | None, ampm: str | None) -> time:
    h, m = int(hour), int(minute or 0)
    if ampm:
        if not 1 <= h <= 12:
            raise ValueError(
                f"'{text}': {hour} is not an hour on a 12-hour clock; {_HOURS_EXAMPLE}"
            )
        h = h % 12 + (12 if ampm.lower() == "p" else 0)
    if h == 24 and m == 0:
        raise ValueError(f"'{text}': 24:00 is not a time sheetcrm accepts; close at 23:59 instead")
    if not 0 <= h <= 23 or not 0 <= m <= 59:
        raise ValueError(
            f"'{text}': {hour}:{minute or '00'} is not a time of day; {_HOURS_EXAMPLE}"
        )
    return time(h, m)


def parse_business_hours(text: str) -> tuple[time, time]:
    """Opening and closing time from the ``business_hours`` setting.

    Accepts ``09:00-17:00``, ``9-17``, ``08:30 – 16:00``, ``8.30-16``, ``9 to 17``,
    ``9 til 17``, ``9am-5pm``.

    >>> parse_business_hours("08:30 – 16:00")
    (datetime.time(8, 30), datetime.time(16, 0))
    """
    raw = str(text).strip()
    match = _HOURS_RE.match(raw)
    if not match:
        raise ValueError(f"'{raw}' is not opening hours sheetcrm understands; {_HOURS_EXAMPLE}")
    h1, m1, ap1, h2, m2, ap2 = match.groups()
    opens, closes = _clock(raw, h1, m1, ap1), _clock(raw, h2, m2, ap2)
    if opens >= closes:
        raise ValueError(
            f"'{raw}': closing time {closes:%H:%M} is not after opening time {opens:%H:%M}; "
            f"{_HOURS_EXAMPLE} (opening past midnight is not supported)"
        )
    return opens, closes


_DAY_WORDS: dict[str, int] = {}
for _number, _words in enumerate(
    (
        ("mo", "mon", "monday", "man", "mandag"),
        ("tu", "tue", "tues", "tuesday", "tir", "tirs", "tirsdag"),
        ("we", "wed", "weds", "wednesday", "ons", "onsdag"),
        ("th", "thu", "thur", "thurs", "thursday", "tor", "tors", "torsdag"),
        ("fr", "fri", "friday", "fre", "fredag"),
        ("sa", "sat", "saturday", "lør", "lor", "loer", "lørdag", "lordag", "loerdag"),
        ("su", "sun", "sunday", "søn", "son", "soen", "søndag", "sondag", "soendag"),
    )
):
    for _word in _words:
        _DAY_WORDS[_word] = _number

_DAY_ALIASES: dict[str, frozenset[int]] = {
    "weekdays": frozenset(range(5)),
    "workdays": frozenset(range(5)),
    "hverdager": frozenset(range(5)),
    "every day": frozenset(range(7)),
    "everyday": frozenset(range(7)),
    "daily": frozenset(range(7)),
    "all week": frozenset(range(7)),
    "alle dager": frozenset(range(7)),
    "hver dag": frozenset(range(7)),
}
_RANGE_RE = re.compile(r"\s*(?:–|—|-|\bto\b|\btil\b|\bthrough\b|\bthru\b|\buntil\b)\s*")
_LIST_RE = re.compile(r"(?:[,;/&+]|\s|\band\b|\bog\b)+")
_DAYS_EXAMPLE = "write them like mon-fri or mon,tue,wed,thu,fri,sat"


def _day(word: str, text: str) -> int:
    try:
        return _DAY_WORDS[word]
    except KeyError:
        raise ValueError(
            f"'{word}' in '{text}' is not a day of the week; {_DAYS_EXAMPLE}"
        ) from None


def parse_business_days(text: str) -> frozenset[int]:
    """Weekday numbers (Monday = 0) from the ``business_days`` setting.

    Accepts English and Norwegian day names, full or abbreviated, as ranges
    (``mon-fri``, ``Monday to Friday``, ``man-fre``, ``mandag til fredag``), lists
    (``mon,tue,wed,thu,fri,sat``, ``mon and wed``) or both (``mon-wed, fri``), and
    ``weekdays``/``hverdager``, ``every day``/``alle dager``. A range may wrap past
    Sunday (``fri-mon`` is Friday, Saturday, Sunday and Monday).

    >>> sorted(parse_business_days("Monday to Friday"))
    [0, 1, 2, 3, 4]
    """
    raw = str(text).strip()
    norm = " ".join(raw.casefold().replace(".", " ").split())
    if norm in _DAY_ALIASES:
        return _DAY_ALIASES[norm]
    norm = _RANGE_RE.sub("-", norm)
    days: set[int] = set()
    for token in filter(None, _LIST_RE.split(norm)):
        if "-" in token:
            ends = token.split("-")
            if len(ends) != 2 or not all(ends):
                raise ValueError(f"'{token}' in '{raw}' is not a range of days; {_DAYS_EXAMPLE}")
            first, last = _day(ends[0], raw), _day(ends[1], raw)
            days.update((first + i) % 7 for i in range((last - first) % 7 + 1))
        else:
            days.add(_day(token, raw))
    if not days:
        raise ValueError(f"no business days in '{raw}'; {_DAYS_EXAMPLE}")
    return frozenset(days)


# -- for owners ----------------------------------------------------------------------

_UNITS = {"en": ("d", "h", "min"), "nb": ("d", "t", "min")}


def format_duration(minutes: float, *, locale: str = "en") -> str:
    """A duration as an owner reads it: ``45 min``, ``3 h 20 min``, ``2 d 4 h``.

    Under a day the duration is shown to the minute; from one day on, to the hour
    (minutes are rounded). Negative durations get a leading ``-``. ``locale="nb"``
    writes hours as ``t`` (timer).

    >>> format_duration(200), format_duration(45), format_duration(3120)
    ('3 h 20 min', '45 min', '2 d 4 h')
    """
    value = float(minutes)
    if not math.isfinite(value):
        raise ValueError(f"{minutes!r} is not a number of minutes")
    d_unit, h_unit, m_unit = _UNITS.get(locale, _UNITS["en"])
    sign = "-" if value < 0 else ""
    total = round(abs(value))
    if total < 60:
        return f"{sign}{total} {m_unit}" if total else f"0 {m_unit}"
    if total < 24 * 60:
        hours, mins = divmod(total, 60)
        return f"{sign}{hours} {h_unit}" + (f" {mins} {m_unit}" if mins else "")
    days, hours = divmod((total + 30) // 60, 24)
    return f"{sign}{days} {d_unit}" + (f" {hours} {h_unit}" if hours else "")
