"""Business-time arithmetic: every expected datetime below is written by hand.

Calendar facts used (2026): 1 June is a Monday; 1 May (Labour Day) is a Friday;
Easter holidays are Thu 2 April, Fri 3 April and Mon 6 April; in Europe/Oslo summer
time starts Sun 29 March (02:00 -> 03:00) and ends Sun 25 October (03:00 -> 02:00).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheetcrm.workbook.business_time import (
    SEARCH_YEARS,
    BusinessCalendar,
    format_duration,
    parse_business_days,
    parse_business_hours,
)

CAL = BusinessCalendar()  # 09:00-17:00, Monday to Friday, Europe/Oslo, no holidays
NORWAY_2026 = frozenset(
    {
        date(2026, 4, 2),  # Maundy Thursday
        date(2026, 4, 3),  # Good Friday
        date(2026, 4, 6),  # Easter Monday
        date(2026, 5, 1),  # Labour Day, a Friday
        date(2026, 5, 14),  # Ascension Day
        date(2026, 5, 25),  # Whit Monday
        date(2026, 12, 24),
        date(2026, 12, 25),
        date(2026, 12, 31),
        date(2027, 1, 1),
    }
)
HOL = BusinessCalendar(holidays=NORWAY_2026)


def dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- the calendar itself ----------------------------------------------------------------


def test_defaults() -> None:
    assert CAL.opens == time(9)
    assert CAL.closes == time(17)
    assert CAL.days == frozenset({0, 1, 2, 3, 4})
    assert CAL.holidays == frozenset()
    assert CAL.timezone == "Europe/Oslo"


def test_calendar_is_frozen_and_hashable() -> None:
    with pytest.raises(AttributeError):
        CAL.opens = time(8)  # type: ignore[misc]
    assert hash(BusinessCalendar()) == hash(BusinessCalendar())


@pytest.mark.parametrize(
    ("opens", "closes"), [(time(17), time(9)), (time(9), time(9)), (time(12, 1), time(12))]
)
def test_closing_must_be_after_opening(opens: time, closes: time) -> None:
    with pytest.raises(ValueError, match="not after opening"):
        BusinessCalendar(opens=opens, closes=closes)


def test_no_business_days_is_refused() -> None:
    with pytest.raises(ValueError, match="no business days"):
        BusinessCalendar(days=frozenset())


@pytest.mark.parametrize("day", [7, -1, 1.5, True])
def test_day_numbers_must_be_weekdays(day: object) -> None:
    with pytest.raises(ValueError, match="weekday number"):
        BusinessCalendar(days=frozenset({0, day}))  # type: ignore[arg-type]


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd"])
def test_unknown_time_zone_is_refused(zone: str) -> None:
    with pytest.raises(ValueError, match="Europe/Oslo"):
        BusinessCalendar(timezone=zone)


def test_holidays_given_as_datetimes_or_lists_become_dates() -> None:
    cal = BusinessCalendar(holidays=[datetime(2026, 5, 1, 0, 0)])  # type: ignore[arg-type]
    assert cal.holidays == frozenset({date(2026, 5, 1)})
    assert not cal.is_open(dt("2026-05-01 10:00"))


@pytest.mark.parametrize("holiday", ["2026-05-01", None, float("nan")])
def test_holidays_must_be_dates(holiday: object) -> None:
    with pytest.raises(ValueError, match="is not a date"):
        BusinessCalendar(holidays=frozenset({holiday}))  # type: ignore[arg-type]


def test_pandas_timestamps_and_nat_as_holidays() -> None:
    pd = pytest.importorskip("pandas")
    cal = BusinessCalendar(holidays=frozenset({pd.Timestamp("2026-05-01")}))
    assert cal.holidays == frozenset({date(2026, 5, 1)})
    with pytest.raises(ValueError, match="is not a date"):
        BusinessCalendar(holidays=frozenset({pd.NaT}))


def test_from_settings_reads_owner_text() -> None:
    cal = BusinessCalendar.from_settings(
        business_hours="8-16",
        business_days="man-lør",
        holidays=[date(2026, 5, 1)],
        timezone="Europe/London",
    )
    assert cal == BusinessCalendar(
        opens=time(8),
        closes=time(16),
        days=frozenset({0, 1, 2, 3, 4, 5}),
        holidays=frozenset({date(2026, 5, 1)}),
        timezone="Europe/London",
    )


# -- is_open and next_opening -------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-06-01 09:00", True),  # exactly at opening
        ("2026-06-01 12:00", True),
        ("2026-06-01 16:59:59", True),
        ("2026-06-01 17:00", False),  # closing time itself is closed
        ("2026-06-01 08:59:59", False),
        ("2026-06-01 00:00", False),
        ("2026-06-05 16:00", True),  # Friday
        ("2026-06-06 12:00", False),  # Saturday
        ("2026-06-07 12:00", False),  # Sunday
    ],
)
def test_is_open(at: str, expected: bool) -> None:
    assert CAL.is_open(dt(at)) is expected


def test_is_open_on_a_holiday() -> None:
    assert CAL.is_open(dt("2026-05-01 10:00"))
    assert not HOL.is_open(dt("2026-05-01 10:00"))
    assert not HOL.is_business_day(date(2026, 5, 1))
    assert HOL.is_business_day(date(2026, 4, 30))


def test_aware_datetimes_are_read_in_the_calendar_zone() -> None:
    # 08:00 UTC on 1 June is 10:00 in Oslo (summer time, UTC+2)
    assert CAL.is_open(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    # 15:30 UTC is 17:30 in Oslo: closed
    assert not CAL.is_open(datetime(2026, 6, 1, 15, 30, tzinfo=UTC))
    assert CAL.next_opening(datetime(2026, 6, 1, 6, 0, tzinfo=UTC)) == dt("2026-06-01 09:00")


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-06-01 10:17:23", "2026-06-01 10:17:23"),  # open: itself
        ("2026-06-01 09:00", "2026-06-01 09:00"),  # exactly at opening
        ("2026-06-01 07:30", "2026-06-01 09:00"),  # before opening
        ("2026-06-01 00:00", "2026-06-01 09:00"),
        ("2026-06-01 17:00", "2026-06-02 09:00"),  # exactly at closing
        ("2026-06-01 21:45", "2026-06-02 09:00"),  # after closing
        ("2026-06-05 17:00", "2026-06-08 09:00"),  # Friday closing -> Monday
        ("2026-06-06 12:00", "2026-06-08 09:00"),  # Saturday
        ("2026-06-07 23:59:59", "2026-06-08 09:00"),  # Sunday night
    ],
)
def test_next_opening(at: str, expected: str) -> None:
    assert CAL.next_opening(dt(at)) == dt(expected)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-05-01 10:00", "2026-05-04 09:00"),  # on the Friday holiday
        ("2026-04-30 17:00", "2026-05-04 09:00"),  # Thursday closing before it
        ("2026-04-01 18:00", "2026-04-07 09:00"),  # Easter: Thu, Fri, weekend, Mon
        ("2026-12-23 17:30", "2026-12-28 09:00"),  # Christmas Eve, Christmas Day, weekend
        ("2026-12-30 17:00", "2027-01-04 09:00"),  # New Year's Eve, New Year's Day, weekend
    ],
)
def test_next_opening_skips_holidays(at: str, expected: str) -> None:
    assert HOL.next_opening(dt(at)) == dt(expected)


def _every_monday_for(years: int) -> frozenset[date]:
    first = date(2026, 6, 1)
    return frozenset(first + timedelta(weeks=w) for w in range(years * 53))


def test_a_calendar_that_never_opens_raises_instead_of_looping() -> None:
    cal = BusinessCalendar(days=frozenset({0}), holidays=_every_monday_for(SEARCH_YEARS + 1))
    with pytest.raises(ValueError, match="never open"):
        cal.next_opening(dt("2026-06-01 10:00"))
    with pytest.raises(ValueError, match="Holidays sheet"):
        cal.add_business_hours(dt("2026-06-01 10:00"), 4)
    with pytest.raises(ValueError, match="never open"):
        cal.due_at(dt("2026-06-01 10:00"), 4, business_hours_only=True)
    # clock hours do not need the business to be open
    assert cal.due_at(dt("2026-06-01 10:00"), 4, business_hours_only=False) == dt(
        "2026-06-01 14:00"
    )


def test_a_long_run_of_holidays_inside_the_window_is_fine() -> None:
    cal = BusinessCalendar(days=frozenset({0}), holidays=_every_monday_for(SEARCH_YEARS - 1))
    opening = cal.next_opening(dt("2026-06-01 10:00"))
    assert opening.weekday() == 0
    assert opening.time() == time(9)
    assert opening.year == 2026 + SEARCH_YEARS - 1


# -- add_business_hours / due_at with business hours ----------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        ("2026-06-01 10:00", 2, "2026-06-01 12:00"),
        ("2026-06-01 07:30", 2, "2026-06-01 11:00"),  # opened before opening
        ("2026-06-01 09:00", 2, "2026-06-01 11:00"),  # opened exactly at opening
        ("2026-06-01 17:00", 1, "2026-06-02 10:00"),  # opened exactly at closing
        ("2026-06-01 18:30", 1, "2026-06-02 10:00"),  # opened after closing
        ("2026-06-01 09:00", 8, "2026-06-01 17:00"),  # ends exactly at closing
        ("2026-06-01 16:00", 1, "2026-06-01 17:00"),  # ends exactly at closing
        ("2026-06-05 16:00", 1, "2026-06-05 17:00"),  # Friday: 17:00, not Monday 09:00
        ("2026-06-01 07:00", 8, "2026-06-01 17:00"),  # before opening, whole day
        ("2026-06-01 16:00", 1.5, "2026-06-02 09:30"),
        ("2026-06-05 15:00", 4, "2026-06-08 11:00"),  # across the weekend
        ("2026-06-06 10:00", 1, "2026-06-08 10:00"),  # opened on Saturday
        ("2026-06-07 23:59", 0.5, "2026-06-08 09:30"),  # opened late on Sunday
        ("2026-06-01 09:00", 24, "2026-06-03 17:00"),  # three whole days
        ("2026-06-01 10:00", 24, "2026-06-04 10:00"),
        ("2026-06-01 10:00", 72, "2026-06-12 10:00"),  # nine business days
        ("2026-06-01 10:00", 120, "2026-06-22 10:00"),  # fifteen business days
        ("2026-06-03 14:00", 20, "2026-06-08 10:00"),  # Wed 3 + Thu 8 + Fri 8 + Mon 1
    ],
)
def test_add_business_hours(start: str, hours: float, expected: str) -> None:
    assert CAL.add_business_hours(dt(start), hours) == dt(expected)
    assert CAL.due_at(dt(start), hours, business_hours_only=True) == dt(expected)


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        ("2026-06-01 10:00", 0.5, "2026-06-01 10:30"),
        ("2026-06-01 10:00", 0.25, "2026-06-01 10:15"),
        ("2026-06-01 10:00", 0.1, "2026-06-01 10:06"),
        ("2026-06-01 10:00", 1 / 3, "2026-06-01 10:20"),
        ("2026-06-01 10:00", 2 / 3, "2026-06-01 10:40"),
        ("2026-06-01 10:00", 1 / 3600, "2026-06-01 10:00:01"),
        ("2026-06-01 16:45", 0.5, "2026-06-02 09:15"),
        ("2026-06-01 16:59:30", 1, "2026-06-02 09:59:30"),
        ("2026-06-01 16:30", 0.5, "2026-06-01 17:00"),  # half an hour to closing exactly
    ],
)
def test_fractional_business_hours(start: str, hours: float, expected: str) -> None:
    assert CAL.add_business_hours(dt(start), hours) == dt(expected)


def test_no_float_drift_over_many_small_steps() -> None:
    at = dt("2026-06-01 09:00")
    for _ in range(80):  # 80 x 0.1 h = 8 h
        at = CAL.add_business_hours(at, 0.1)
    assert at == dt("2026-06-01 17:00")


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2026-06-01 10:00", "2026-06-01 10:00"),
        ("2026-06-06 10:00", "2026-06-08 09:00"),  # the clock starts at the next opening
        ("2026-06-01 17:00", "2026-06-02 09:00"),
    ],
)
def test_zero_hours_is_due_when_the_clock_starts(start: str, expected: str) -> None:
    assert CAL.add_business_hours(dt(start), 0) == dt(expected)


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        ("2026-04-30 16:00", 2, "2026-05-04 10:00"),  # holiday on a Friday before a weekend
        ("2026-04-30 09:00", 8, "2026-04-30 17:00"),  # due Thursday at closing, not Monday
        ("2026-04-30 09:00", 9, "2026-05-04 10:00"),
        ("2026-05-01 11:00", 1, "2026-05-04 10:00"),  # opened on the holiday itself
        ("2026-04-01 15:00", 4, "2026-04-07 11:00"),  # Easter
        ("2026-03-30 09:00", 40, "2026-04-08 17:00"),  # Easter week has three days
        ("2026-05-13 16:00", 4, "2026-05-15 12:00"),  # Ascension Day, a Thursday
        ("2026-12-23 16:00", 8, "2026-12-28 16:00"),  # Christmas
    ],
)
def test_add_business_hours_with_holidays(start: str, hours: float, expected: str) -> None:
    assert HOL.add_business_hours(dt(start), hours) == dt(expected)


def test_other_opening_hours_and_days() -> None:
    cal = BusinessCalendar(opens=time(8, 30), closes=time(16), days=frozenset({0, 1, 2, 3, 4, 5}))
    # Friday 15:00 + 3 h: 1 h Friday, 2 h Saturday morning
    assert cal.add_business_hours(dt("2026-06-05 15:00"), 3) == dt("2026-06-06 10:30")
    # Saturday 15:00 + 3 h: 1 h Saturday, then Monday 08:30 + 2 h
    assert cal.add_business_hours(dt("2026-06-06 15:00"), 3) == dt("2026-06-08 10:30")
    assert cal.add_business_hours(dt("2026-06-06 08:00"), 7.5) == dt("2026-06-06 16:00")


@pytest.mark.parametrize("hours", [-1, -0.01, float("nan"), float("inf"), "soon", 100_001])
def test_bad_business_hours_are_refused(hours: object) -> None:
    with pytest.raises(ValueError):
        CAL.add_business_hours(dt("2026-06-01 10:00"), hours)  # type: ignore[arg-type]


def test_negative_target_is_refused_for_clock_hours_too() -> None:
    with pytest.raises(ValueError, match="negative"):
        CAL.due_at(dt("2026-06-01 10:00"), -1, business_hours_only=False)


def test_business_hours_ignore_dst_changes() -> None:
    # Friday before the spring change, due on the Monday after it: wall clock only
    assert CAL.add_business_hours(dt("2026-03-27 16:00"), 2) == dt("2026-03-30 10:00")
    assert CAL.add_business_hours(dt("2026-10-23 16:00"), 2) == dt("2026-10-26 10:00")
    every_day = BusinessCalendar(days=frozenset(range(7)))
    # a 09-17 day on the night of a DST change is still 8 hours
    assert every_day.add_business_hours(dt("2026-03-29 09:00"), 8) == dt("2026-03-29 17:00")
    assert every_day.add_business_hours(dt("2026-10-25 09:00"), 8) == dt("2026-10-25 17:00")
    assert every_day.business_hours_between(dt("2026-03-29 00:00"), dt("2026-03-30 00:00")) == 8
    assert every_day.business_hours_between(dt("2026-10-25 00:00"), dt("2026-10-26 00:00")) == 8


def test_business_hours_through_the_gap_do_not_crash() -> None:
    # opening hours that contain the missing hour are counted on the wall clock
    night = BusinessCalendar(opens=time(1), closes=time(5), days=frozenset(range(7)))
    assert night.add_business_hours(dt("2026-03-29 01:00"), 4) == dt("2026-03-29 05:00")
    assert night.add_business_hours(dt("2026-03-29 02:30"), 1) == dt("2026-03-29 03:30")
    assert night.is_open(dt("2026-03-29 02:30"))
    assert night.add_business_hours(dt("2026-10-25 02:30"), 1) == dt("2026-10-25 03:30")


# -- clock hours across DST ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        ("2026-06-06 12:00", 8, "2026-06-06 20:00"),  # Saturday: clock hours ignore days
        ("2026-06-01 22:00", 1, "2026-06-01 23:00"),
        ("2026-06-01 23:30", 1, "2026-06-02 00:30"),
        ("2026-06-01 10:00", 0.5, "2026-06-01 10:30"),
        ("2026-06-01 10:00", 1 / 3, "2026-06-01 10:20"),
        # spring: 29 March 02:00 -> 03:00
        ("2026-03-28 12:00", 24, "2026-03-29 13:00"),
        ("2026-03-28 22:00", 8, "2026-03-29 07:00"),
        ("2026-03-29 01:30", 1, "2026-03-29 03:30"),
        ("2026-03-29 01:59", 0.05, "2026-03-29 03:02"),
        ("2026-03-29 03:30", -1, "2026-03-29 01:30"),
        ("2026-03-27 12:00", 48, "2026-03-29 13:00"),
        # autumn: 25 October 03:00 -> 02:00
        ("2026-10-24 12:00", 24, "2026-10-25 11:00"),
        ("2026-10-24 22:00", 8, "2026-10-25 05:00"),
        ("2026-10-25 01:00", 3, "2026-10-25 03:00"),
        ("2026-10-25 01:30", 1, "2026-10-25 02:30"),  # the first 02:30 (summer time)
        ("2026-10-25 01:30", 2, "2026-10-25 02:30"),  # the second 02:30 (winter time)
    ],
)
def test_add_clock_hours(start: str, hours: float, expected: str) -> None:
    assert CAL.add_clock_hours(dt(start), hours) == dt(expected)
    if hours >= 0:
        assert CAL.due_at(dt(start), hours, business_hours_only=False) == dt(expected)


def test_second_occurrence_in_the_fold_is_marked() -> None:
    first = CAL.add_clock_hours(dt("2026-10-25 01:30"), 1)
    second = CAL.add_clock_hours(dt("2026-10-25 01:30"), 2)
    assert (first.fold, second.fold) == (0, 1)
    assert CAL.to_utc(first) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert CAL.to_utc(second) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    # feeding the result back in keeps counting real hours
    assert CAL.add_clock_hours(second, 1) == dt("2026-10-25 03:30")
    assert CAL.add_clock_hours(first, 1) == dt("2026-10-25 02:30")


def test_times_in_the_gap_and_the_fold_do_not_crash() -> None:
    # 02:30 on 29 March does not exist: read with fold=0, i.e. the winter offset,
    # which is the instant 03:30 summer time
    assert CAL.add_clock_hours(dt("2026-03-29 02:30"), 0) == dt("2026-03-29 03:30")
    assert CAL.add_clock_hours(dt("2026-03-29 02:30"), 1) == dt("2026-03-29 04:30")
    assert CAL.to_utc(dt("2026-03-29 02:30")) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # 02:30 on 25 October happens twice: fold=0 is the first (summer time) ...
    assert CAL.add_clock_hours(dt("2026-10-25 02:30"), 1) == dt("2026-10-25 02:30")
    # ... and fold=1 the second (winter time)
    assert CAL.add_clock_hours(dt("2026-10-25 02:30").replace(fold=1), 1) == dt("2026-10-25 03:30")


def test_clock_hours_from_an_aware_start() -> None:
    start = datetime(2026, 3, 28, 11, 0, tzinfo=UTC)  # 12:00 in Oslo
    assert CAL.add_clock_hours(start, 24) == dt("2026-03-29 13:00")


def test_clock_hours_in_another_zone() -> None:
    new_york = BusinessCalendar(timezone="America/New_York")  # DST starts 8 March 2026
    assert new_york.add_clock_hours(dt("2026-03-07 12:00"), 24) == dt("2026-03-08 13:00")
    assert new_york.add_clock_hours(dt("2026-03-28 12:00"), 24) == dt("2026-03-29 12:00")


def test_default_sla_severities() -> None:
    # contract.DEFAULT_SLA: critical 1 h / 8 h on the clock, high 4 h / 24 h in business hours
    opened = dt("2026-03-28 22:00")  # Saturday night before the spring change
    assert CAL.due_at(opened, 1, business_hours_only=False) == dt("2026-03-28 23:00")
    assert CAL.due_at(opened, 8, business_hours_only=False) == dt("2026-03-29 07:00")
    assert CAL.due_at(opened, 4, business_hours_only=True) == dt("2026-03-30 13:00")
    assert CAL.due_at(opened, 24, business_hours_only=True) == dt("2026-04-01 17:00")


# -- business_hours_between ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-06-01 10:00", "2026-06-01 12:00", 2.0),
        ("2026-06-01 10:00", "2026-06-01 10:30", 0.5),
        ("2026-06-01 07:00", "2026-06-01 18:00", 8.0),
        ("2026-06-01 17:00", "2026-06-02 09:00", 0.0),  # closed overnight
        ("2026-06-05 15:00", "2026-06-08 11:00", 4.0),  # across the weekend
        ("2026-06-06 00:00", "2026-06-07 23:59", 0.0),  # the weekend
        ("2026-06-01 00:00", "2026-06-08 00:00", 40.0),  # a whole week
        ("2026-06-01 10:00", "2026-06-01 10:00", 0.0),
        ("2026-06-01 12:00", "2026-06-01 10:00", -2.0),  # reversed: negative
        ("2026-06-08 11:00", "2026-06-05 15:00", -4.0),
    ],
)
def test_business_hours_between(start: str, end: str, expected: float) -> None:
    assert CAL.business_hours_between(dt(start), dt(end)) == expected


def test_business_hours_between_with_holidays() -> None:
    # Easter week: only Monday 30 March to Wednesday 1 April are open
    assert HOL.business_hours_between(dt("2026-03-30 00:00"), dt("2026-04-06 23:59")) == 24.0
    assert HOL.business_hours_between(dt("2026-04-30 16:00"), dt("2026-05-04 10:00")) == 2.0


def test_business_hours_between_is_exact_to_the_second() -> None:
    hours = CAL.business_hours_between(dt("2026-06-01 10:00"), dt("2026-06-01 10:20"))
    assert hours == pytest.approx(1 / 3)
    assert round(hours * 3600) == 1200


@pytest.mark.parametrize(
    ("start", "hours"),
    [
        ("2026-06-01 10:00", 2),
        ("2026-06-01 16:00", 1),
        ("2026-06-05 15:00", 4),
        ("2026-06-06 10:00", 1),
        ("2026-06-01 10:00", 72),
        ("2026-06-01 16:45", 0.5),
    ],
)
def test_business_hours_between_inverts_add_business_hours(start: str, hours: float) -> None:
    due = CAL.add_business_hours(dt(start), hours)
    assert CAL.business_hours_between(dt(start), due) == hours


# -- properties --------------------------------------------------------------------------------

starts = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31))
# targets in whole seconds up to 300 hours, as hours
targets = st.integers(min_value=0, max_value=300 * 3600).map(lambda s: s / 3600)


@st.composite
def calendars(draw: st.DrawFn, near: datetime) -> BusinessCalendar:
    """A random calendar whose holidays fall in the weeks around ``near``."""
    open_minute = draw(st.integers(min_value=0, max_value=23 * 60))
    close_minute = draw(st.integers(min_value=open_minute + 1, max_value=24 * 60 - 1))
    days = draw(st.frozensets(st.integers(min_value=0, max_value=6), min_size=1))
    offsets = draw(st.frozensets(st.integers(min_value=-3, max_value=90), max_size=40))
    holidays = frozenset(near.date() + timedelta(days=o) for o in offsets)
    zone = draw(st.sampled_from(["Europe/Oslo", "America/New_York", "UTC"]))
    return BusinessCalendar(
        opens=time(*divmod(open_minute, 60)),
        closes=time(*divmod(close_minute, 60)),
        days=days,
        holidays=holidays,
        timezone=zone,
    )


@st.composite
def calendars_and_starts(draw: st.DrawFn) -> tuple[BusinessCalendar, datetime]:
    start = draw(starts)
    cal = draw(st.one_of(st.just(CAL), st.just(HOL), calendars(start)))
    return cal, start


fast = settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(case=calendars_and_starts(), hours=targets)
def test_property_between_inverts_add(
    case: tuple[BusinessCalendar, datetime], hours: float
) -> None:
    cal, start = case
    clock_start = cal.next_opening(start)
    due = cal.add_business_hours(clock_start, hours)
    assert round(cal.business_hours_between(clock_start, due) * 3600) == round(hours * 3600)
    # time before the clock starts is not business time
    assert round(cal.business_hours_between(start, due) * 3600) == round(hours * 3600)


@fast
@given(case=calendars_and_starts(), a=targets, b=targets)
def test_property_due_is_monotone_in_hours(
    case: tuple[BusinessCalendar, datetime], a: float, b: float
) -> None:
    cal, start = case
    low, high = sorted((a, b))
    assert cal.due_at(start, low, True) <= cal.due_at(start, high, True)
    # clock hours: compare instants, naive local times are ambiguous in the autumn fold
    assert cal.to_utc(cal.due_at(start, low, False)) <= cal.to_utc(cal.due_at(start, high, False))


@fast
@given(case=calendars_and_starts(), hours=targets)
def test_property_due_is_in_business_time_or_at_closing(
    case: tuple[BusinessCalendar, datetime], hours: float
) -> None:
    cal, start = case
    due = cal.due_at(start, hours, business_hours_only=True)
    at_closing = cal.is_business_day(due.date()) and due.time() == cal.closes
    assert cal.is_open(due) or at_closing
    assert due >= start


@fast
@given(case=calendars_and_starts(), a=targets, b=targets)
def test_property_business_hours_add_up(
    case: tuple[BusinessCalendar, datetime], a: float, b: float
) -> None:
    cal, start = case
    in_two_steps = cal.add_business_hours(cal.add_business_hours(start, a), b)
    if b > 0:
        assert in_two_steps == cal.add_business_hours(start, a + b)


@fast
@given(case=calendars_and_starts(), hours=st.floats(min_value=-1000, max_value=1000))
def test_property_clock_hours_are_real_elapsed_time(
    case: tuple[BusinessCalendar, datetime], hours: float
) -> None:
    cal, start = case
    due = cal.add_clock_hours(start, hours)
    assert cal.to_utc(due) - cal.to_utc(start) == timedelta(seconds=round(hours * 3600))


# -- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00-17:00", (time(9), time(17))),
        ("9-17", (time(9), time(17))),
        ("08:30 – 16:00", (time(8, 30), time(16))),
        ("08:30—16:00", (time(8, 30), time(16))),
        (" 8.30 - 15.45 ", (time(8, 30), time(15, 45))),
        ("9 to 17", (time(9), time(17))),
        ("9 til 17", (time(9), time(17))),
        ("9am-5pm", (time(9), time(17))),
        ("9:30 a.m. - 5:15 p.m.", (time(9, 30), time(17, 15))),
        ("12am-12pm", (time(0), time(12))),
        ("00:00-23:59", (time(0), time(23, 59))),
    ],
)
def test_parse_business_hours(text: str, expected: tuple[time, time]) -> None:
    assert parse_business_hours(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "09:00-17:00"),
        ("9", "09:00-17:00"),
        ("nine to five", "09:00-17:00"),
        ("09:00-17:00-18:00", "09:00-17:00"),
        ("17-9", "not after opening"),
        ("9-9", "not after opening"),
        ("22:00-06:00", "past midnight"),
        ("25-26", "not a time of day"),
        ("9:60-17", "not a time of day"),
        ("9-24", "23:59"),
        ("13pm-5pm", "12-hour clock"),
    ],
)
def test_parse_business_hours_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_business_hours(text)


MON_FRI = frozenset({0, 1, 2, 3, 4})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon-fri", MON_FRI),
        ("Mon-Fri", MON_FRI),
        ("Monday to Friday", MON_FRI),
        ("monday - friday", MON_FRI),
        ("Mon–Fri", MON_FRI),
        ("mon,tue,wed,thu,fri,sat", frozenset(range(6))),
        ("Mon, Tue, Wed", frozenset({0, 1, 2})),
        ("mon tue wed", frozenset({0, 1, 2})),
        ("Mon. and Wed.", frozenset({0, 2})),
        ("mon-wed, fri", frozenset({0, 1, 2, 4})),
        ("man-fre", MON_FRI),
        ("Mandag til fredag", MON_FRI),
        ("man-lør", frozenset(range(6))),
        ("man, ons og fre", frozenset({0, 2, 4})),
        ("tirs-tors", frozenset({1, 2, 3})),
        ("lørdag, søndag", frozenset({5, 6})),
        ("lor-son", frozenset({5, 6})),
        ("mo-fr", MON_FRI),
        ("thu-sun", frozenset({3, 4, 5, 6})),
        ("fri-mon", frozenset({4, 5, 6, 0})),  # wraps past Sunday
        ("sat", frozenset({5})),
        ("mon-mon", frozenset({0})),
        ("weekdays", MON_FRI),
        ("hverdager", MON_FRI),
        ("Every day", frozenset(range(7))),
        ("alle dager", frozenset(range(7))),
    ],
)
def test_parse_business_days(text: str, expected: frozenset[int]) -> None:
    assert parse_business_days(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no business days"),
        (" , ", "no business days"),
        ("funday", "'funday' in 'funday' is not a day of the week"),
        ("mon-fry", "'fry'"),
        ("mon-", "not a range of days"),
        ("mon-tue-wed", "not a range of days"),
        ("1-5", "not a day of the week"),
        ("weekends", "not a day of the week"),
    ],
)
def test_parse_business_days_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_business_days(text)


def test_parse_errors_tell_the_owner_what_to_write() -> None:
    with pytest.raises(ValueError) as hours_error:
        parse_business_hours("nine to five")
    assert str(hours_error.value) == (
        "'nine to five' is not opening hours sheetcrm understands; write them like 09:00-17:00"
    )
    with pytest.raises(ValueError) as days_error:
        parse_business_days("mon-fry")
    assert str(days_error.value) == (
        "'fry' in 'mon-fry' is not a day of the week; "
        "write them like mon-fri or mon,tue,wed,thu,fri,sat"
    )


# -- format_duration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (0, "0 min"),
        (0.4, "0 min"),
        (-0.4, "0 min"),
        (1, "1 min"),
        (45, "45 min"),
        (59.6, "1 h"),
        (60, "1 h"),
        (61, "1 h 1 min"),
        (200, "3 h 20 min"),
        (1439, "23 h 59 min"),
        (1440, "1 d"),
        (1500, "1 d 1 h"),
        (3120, "2 d 4 h"),
        (3140, "2 d 4 h"),  # minutes are rounded away from one day on
        (3150, "2 d 5 h"),
        (10080, "7 d"),
        (-90, "-1 h 30 min"),
        (-3120, "-2 d 4 h"),
    ],
)
def test_format_duration(minutes: float, expected: str) -> None:
    assert format_duration(minutes) == expected


def test_format_duration_in_norwegian() -> None:
    assert format_duration(200, locale="nb") == "3 t 20 min"
    assert format_duration(3120, locale="nb") == "2 d 4 t"


@pytest.mark.parametrize("minutes", [float("nan"), float("inf")])
def test_format_duration_refuses_non_numbers(minutes: float) -> None:
    with pytest.raises(ValueError):
        format_duration(minutes)
