"""The Settings and SLA sheets parsed into typed values, with a problem for each bad cell.

Every setting has a default in ``contract.SETTINGS``; a missing Settings sheet
or row means the default. A value sheetcrm cannot use is reported by cell and
the default is used, so one typo never stops the weekly report.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time
from typing import TYPE_CHECKING, Any

from sheetcrm import i18n
from sheetcrm.contract import DEFAULT_SLA, SETTING_BY_KEY, VOCABULARIES, normalize_header
from sheetcrm.errors import Problem
from sheetcrm.workbook import cells
from sheetcrm.workbook.business_time import (
    BusinessCalendar,
    parse_business_days,
    parse_business_hours,
)

if TYPE_CHECKING:
    from sheetcrm.workbook.table import Table

Locate = Callable[[str, int | None], tuple[str, str | None]]

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class SlaTarget:
    severity: str
    first_response_hours: float
    resolution_hours: float
    business_hours_only: bool


def default_sla() -> dict[str, SlaTarget]:
    return {s: SlaTarget(s, fr, res, bh) for s, fr, res, bh in DEFAULT_SLA}


def _positive_int(text: str) -> int:
    number = int(float(text))
    if number < 0 or float(text) != number:
        raise ValueError("type a whole number of 0 or more")
    return number


def _positive_float(text: str) -> float:
    number = float(text)
    if number < 0:
        raise ValueError("type a number of 0 or more")
    return number


def _locale(text: str) -> str:
    value = text.strip().lower().replace("-", "_")
    value = {"no": "nb", "nb_no": "nb", "en_gb": "en", "en_us": "en"}.get(value, value)
    known = i18n.available()  # a language is a catalogue file in sheetcrm/locales
    if value not in known:
        raise ValueError(f"type one of: {', '.join(known)}")
    return value


def _timezone(text: str) -> str:
    try:
        zoneinfo.ZoneInfo(text.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError("type a time zone name such as Europe/Oslo or Europe/London") from e
    return text.strip()


def _weekday(text: str) -> int:
    value = text.strip().casefold()
    for i, day in enumerate(_WEEKDAYS):
        if value in (day, day[:3]):
            return i
    raise ValueError("type a day of the week, e.g. monday")


def _recipients(text: str) -> tuple[str, ...]:
    addresses = tuple(a.strip() for a in re.split(r"[,;\s]+", text) if a.strip())
    for address in addresses:
        _, issue = cells.to_email(address)
        if issue:
            raise ValueError(f"{address!r} is not an email address; separate addresses by commas")
    return addresses


def _merged_choice(text: str) -> str:
    value = text.strip().casefold()
    if value not in ("keep", "remove"):
        raise ValueError("type keep or remove")
    return value


_PARSERS: dict[str, Callable[[str], Any]] = {
    "company_name": str.strip,
    "locale": _locale,
    "timezone": _timezone,
    "currency": lambda t: t.strip().upper(),
    "week_start": _weekday,
    "business_hours": parse_business_hours,
    "business_days": parse_business_days,
    "due_soon_hours": _positive_float,
    "followup_cooldown_days": _positive_int,
    "at_risk_after_days": _positive_int,
    "report_recipients": _recipients,
    "report_list_limit": _positive_int,
    "backups_to_keep": _positive_int,
    "templates_dir": lambda t: t.strip() or None,
    "merged_customers": _merged_choice,
}


# The defaults are the contract's (the text a new workbook's Settings sheet holds), read
# by the same parsers as the owner's values: one place says what the default is.
_DEFAULTS: dict[str, Any] = {
    key: parse(SETTING_BY_KEY[key].default) for key, parse in _PARSERS.items()
}


@dataclass(frozen=True, slots=True)
class Settings:
    company_name: str = _DEFAULTS["company_name"]
    locale: str = _DEFAULTS["locale"]
    timezone: str = _DEFAULTS["timezone"]
    currency: str = _DEFAULTS["currency"]
    week_start: int = _DEFAULTS["week_start"]  # 0 is Monday
    business_hours: tuple[time, time] = _DEFAULTS["business_hours"]
    business_days: frozenset[int] = _DEFAULTS["business_days"]
    due_soon_hours: float = _DEFAULTS["due_soon_hours"]
    followup_cooldown_days: int = _DEFAULTS["followup_cooldown_days"]
    at_risk_after_days: int = _DEFAULTS["at_risk_after_days"]
    report_recipients: tuple[str, ...] = _DEFAULTS["report_recipients"]
    report_list_limit: int = _DEFAULTS["report_list_limit"]  # 0: no limit
    backups_to_keep: int = _DEFAULTS["backups_to_keep"]
    templates_dir: str | None = _DEFAULTS["templates_dir"]
    # keep | remove: what customer merge does with the other row
    merged_customers: str = _DEFAULTS["merged_customers"]
    extra: dict[str, str] = field(default_factory=dict)  # the owner's own keys, untouched

    def calendar(self, holidays: frozenset[Any] = frozenset()) -> BusinessCalendar:
        opens, closes = self.business_hours
        return BusinessCalendar(
            opens=opens,
            closes=closes,
            days=self.business_days,
            holidays=frozenset(holidays),
            timezone=self.timezone,
        )


def parse_settings(table: Table, locate: Locate) -> tuple[Settings, list[Problem]]:
    """Settings from the Settings sheet's key/value rows; defaults where missing or bad."""
    values: dict[str, Any] = {}
    extra: dict[str, str] = {}
    problems: list[Problem] = []
    by_norm = {normalize_header(k): k for k in _PARSERS}
    columns = table.columns
    for key, value, row in zip(columns["key"], columns["value"], table.excel_rows, strict=True):
        if key is None:
            continue
        name = by_norm.get(normalize_header(key))
        if name is None:
            extra[str(key)] = "" if value is None else str(value)
            continue
        if value is None:
            continue  # empty means the default
        try:
            values[name] = _PARSERS[name](str(value))
        except ValueError as e:
            sheet, cell = locate("value", int(row))
            problems.append(
                Problem(
                    "invalid_setting",
                    f"setting {name} is {cells.show(value)}, which sheetcrm "
                    f"cannot use, so the default {SETTING_BY_KEY[name].default!r} is used",
                    sheet=sheet,
                    cell=cell,
                    row=int(row),
                    column="value",
                    value=value,
                    hint=str(e),
                    severity="warning",
                )
            )
    return Settings(**values, extra=extra), problems


def parse_sla(
    table: Table, locate: Locate, *, has_sheet: bool = True
) -> tuple[dict[str, SlaTarget], list[Problem]]:
    """Targets per severity from the SLA sheet; the defaults for any severity not listed."""
    targets = default_sla()
    problems: list[Problem] = []
    seen: set[str] = set()
    for i in range(len(table)):
        rec = table.record(i)
        severity, respond, resolve = (
            rec["severity"],
            rec["first_response_hours"],
            rec["resolution_hours"],
        )
        if severity is None or respond is None or resolve is None:
            continue  # the bad cell is reported by the column checks
        seen.add(severity)
        only = rec["business_hours_only"]
        business = True if only is None else bool(only)
        targets[severity] = SlaTarget(severity, float(respond), float(resolve), business)
    if has_sheet:
        for severity in VOCABULARIES["severity"]:
            if severity not in seen:
                sheet, _ = locate("severity", None)
                d = targets[severity]
                problems.append(
                    Problem(
                        "missing_sla",
                        f"there is no SLA row for severity {severity}, so "
                        f"{d.first_response_hours:g} h to respond and {d.resolution_hours:g} h to "
                        "resolve are used",
                        sheet=sheet,
                        severity="warning",
                        hint=f"add a row for {severity} to the SLA sheet",
                    )
                )
    return targets, problems
