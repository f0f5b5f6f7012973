"""An independent calculation of the weekly figures, from the README's written definitions.

It shares no code with sheetcrm: the workbook is read with openpyxl (not calamine),
rows are plain dicts, every rule is a loop in plain Python with ``zoneinfo`` for the
clock, and service-level due times are worked out by walking the opening hours day
by day. ``report --format json`` must agree with it (tests/test_report_json.py).

Scope: workbooks that validate cleanly and have a row for every severity on the SLA
sheet; dates are real Excel dates or ISO text.
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl

OPEN = {"open", "in_progress", "waiting_on_customer"}
ACTIVE = {"customer", "client", "supporter", "advocate", "partner"}
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
FCR_MINUTES = 30
LOW_SCORE = 2
LOW_SCORE_DAYS = 30


def _key(header: Any) -> str:
    return str(header or "").strip().lower().replace(" ", "").replace("_", "").replace("-", "")


def _when(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):  # Excel keeps a fraction of a day: round to the second
        return (value + timedelta(microseconds=500_000)).replace(microsecond=0)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return datetime.fromisoformat(str(value).strip())


def read(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every sheet as a list of {normalised header: value}; blank rows dropped."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    sheets: dict[str, list[dict[str, Any]]] = {}
    for ws in wb.worksheets:
        rows = ws.iter_rows(values_only=True)
        header = [_key(h) for h in next(rows, ())]
        records = []
        for row in rows:
            if row is None or all(v is None or v == "" for v in row):
                continue
            records.append({h: v for h, v in zip(header, row, strict=False) if h})
        sheets[ws.title] = records
    wb.close()
    return sheets


class Clock:
    """The workbook's time zone, opening hours and holidays."""

    def __init__(self, sheets: dict[str, list[dict[str, Any]]]) -> None:
        settings = {str(r.get("key")).strip(): r.get("value") for r in sheets.get("Settings", [])}
        self.zone = ZoneInfo(str(settings.get("timezone") or "Europe/Oslo"))
        hours = str(settings.get("business_hours") or "09:00-17:00")
        a, b = (part.strip() for part in hours.split("-"))
        self.opens, self.closes = time.fromisoformat(a), time.fromisoformat(b)
        self.days = _weekdays(str(settings.get("business_days") or "mon-fri"))
        holidays = [_when(r["date"]) for r in sheets.get("Holidays", [])]
        self.holidays = {d.date() for d in holidays if d is not None}
        self.at_risk_days = int(settings.get("at_risk_after_days") or 90)
        self.due_soon_hours = float(settings.get("due_soon_hours") or 24)

        self.sla = {
            str(r["severity"]).strip().lower(): (
                float(r["firstresponsehours"]),
                float(r["resolutionhours"]),
                str(r.get("businesshoursonly") or "").strip().lower() in {"yes", "true", "1", "y"},
            )
            for r in sheets["SLA"]
        }

    def utc(self, local: datetime) -> datetime:
        return local.replace(tzinfo=self.zone).astimezone(UTC)

    def hours_between(self, a: datetime, b: datetime) -> float:
        return (self.utc(b) - self.utc(a)).total_seconds() / 3600

    def due(self, opened: datetime, hours: float, business: bool) -> datetime:
        if not business:
            return (
                (self.utc(opened) + timedelta(hours=hours))
                .astimezone(self.zone)
                .replace(tzinfo=None)
            )
        remaining = timedelta(hours=hours)
        day, moment = opened.date(), opened
        while True:
            if day.weekday() in self.days and day not in self.holidays:
                start = max(moment, datetime.combine(day, self.opens))
                end = datetime.combine(day, self.closes)
                if start < end:
                    if remaining <= end - start:
                        return start + remaining
                    remaining -= end - start
            day += timedelta(days=1)
            moment = datetime.combine(day, time())


def _weekdays(text: str) -> set[int]:
    result: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        if "-" in part:
            a, b = part.split("-")
            i, j = DAYS.index(a[:3]), DAYS.index(b[:3])
            result |= set(range(i, j + 1))
        else:
            result.add(DAYS.index(part[:3]))
    return result


def _in(when: datetime | None, start: date, end: date, until: datetime | None) -> bool:
    if when is None:
        return False
    inside = datetime.combine(start, time()) <= when < datetime.combine(end + timedelta(1), time())
    return inside and (until is None or when <= until)


def _median(values: list[float], digits: int) -> float | None:
    return round(statistics.median(values), digits) if values else None


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


class Figures:
    """The figures of one workbook, seen at ``as_of``."""

    def __init__(self, path: Path, as_of: datetime) -> None:
        sheets = read(path)
        self.as_of = as_of
        self.clock = Clock(sheets)
        self.customers = sheets["Customers"]
        self.interactions = [dict(r, date=_when(r["date"])) for r in sheets["Interactions"]]
        self.complaints = [
            dict(
                r,
                opened=_when(r.get("opened")),
                firstresponse=_when(r.get("firstresponse")),
                resolved=_when(r.get("resolved")),
            )
            for r in sheets["Complaints"]
        ]
        self.sales = [dict(r, date=_when(r["date"])) for r in sheets.get("Sales", [])]
        self.targets = list(self._targets())

    # -- service levels ----------------------------------------------------------------

    def _targets(self) -> Iterable[dict[str, Any]]:
        """Each complaint's two targets: due time, when met (as known at as-of), whether open."""
        for k in self.complaints:
            opened, severity = k["opened"], str(k.get("severity") or "").lower()
            if opened is None or opened > self.as_of or severity not in self.clock.sla:
                continue
            respond_h, resolve_h, business = self.clock.sla[severity]
            resolved = k["resolved"] if k["resolved"] and k["resolved"] <= self.as_of else None
            responded = (
                k["firstresponse"]
                if k["firstresponse"] and k["firstresponse"] <= self.as_of
                else None
            )
            if resolved is not None and (responded is None or resolved < responded):
                responded = resolved  # a resolution is also a response
            still_open = k["status"] in OPEN or (k["resolved"] is not None and resolved is None)
            for name, hours, met in (
                ("first_response", respond_h, responded),
                ("resolution", resolve_h, resolved),
            ):
                yield {
                    "complaint_id": k["complaintid"],
                    "customer_id": k["customerid"],
                    "owner": k["owner"],
                    "status": k["status"],
                    "opened": opened,
                    "target": name,
                    "due": self.clock.due(opened, hours, business),
                    "met": met,
                    "open": still_open,
                }

    def _on_time(self, t: dict[str, Any]) -> bool:
        return self.clock.utc(t["met"]) <= self.clock.utc(t["due"])

    def _counted(self, t: dict[str, Any], start: date, end: date, until: datetime | None) -> bool:
        """Counts once, in the period it falls due; decided (met, or unmet and past due)."""
        if not _in(t["due"], start, end, until):
            return False
        if t["met"] is not None:
            return True
        return bool(t["open"]) and self.clock.utc(self.as_of) > self.clock.utc(t["due"])

    def sla(self, start: date, end: date, until: datetime | None) -> dict[str, Any]:
        counted = [t for t in self.targets if self._counted(t, start, end, until)]

        def share(rows: list[dict[str, Any]]) -> dict[str, Any]:
            met = sum(1 for t in rows if t["met"] is not None and self._on_time(t))
            return {"due": len(rows), "met": met, "rate": _rate(met, len(rows))}

        def shares(rows: list[dict[str, Any]]) -> dict[str, Any]:
            result = {
                name: share([t for t in rows if t["target"] == name])
                for name in ("first_response", "resolution")
            }
            result["overall"] = share(rows)
            return result

        result = shares(counted)
        owners = sorted({t["owner"] or "not_set" for t in counted})
        result["by_owner"] = {
            o: shares([t for t in counted if (t["owner"] or "not_set") == o]) for o in owners
        }
        return result

    # -- one period ----------------------------------------------------------------------

    def period(self, start: date, end: date, until: datetime | None) -> dict[str, Any]:
        inter = [i for i in self.interactions if _in(i["date"], start, end, until)]
        opened = [k for k in self.complaints if _in(k["opened"], start, end, until)]
        resolved = [k for k in self.complaints if _in(k["resolved"], start, end, until)]
        moment = datetime.combine(end + timedelta(1), time())
        if until is not None:
            moment = min(moment, until)
        open_at_end = [
            k
            for k in self.complaints
            if k["opened"] is not None
            and k["opened"] < moment
            and (
                (k["resolved"] is not None and k["resolved"] >= moment)
                or (k["resolved"] is None and k["status"] in OPEN)
            )
        ]
        # first-contact resolution
        first_outcome: dict[str, Any] = {}
        for i in sorted(
            (i for i in self.interactions if i.get("complaintid")), key=lambda i: i["date"]
        ):
            first_outcome.setdefault(i["complaintid"], i.get("outcome"))
        fcr = [
            k
            for k in resolved
            if first_outcome.get(k["complaintid"]) == "resolved"
            or round(self.clock.hours_between(k["opened"], k["resolved"]) * 60, 6) <= FCR_MINUTES
        ]

        def median_hours(name: str) -> float | None:
            hours = [
                self.clock.hours_between(t["opened"], t["met"])
                for t in self.targets
                if t["target"] == name and _in(t["met"], start, end, until)
            ]
            return _median(hours, 2)

        scores = [int(i["satisfaction"]) for i in inter if i.get("satisfaction") not in (None, "")]
        praise = sum(1 for i in inter if i["type"] == "praise")
        orders = [s for s in self.sales if _in(s["date"], start, end, until)]
        revenue = round(sum(float(s["amount"]) for s in orders), 2)
        gaps = self._gaps(start, end, until)
        returning = {cid for cid, _ in gaps}
        buyers = {s["customerid"] for s in orders}
        new = [c for c in self.customers if _in(_when(c.get("since")), start, end, until)]
        return {
            "contact": {
                "interactions": len(inter),
                "customers_contacted": len({i["customerid"] for i in inter}),
                "by_channel": dict(Counter(i["channel"] for i in inter)),
                "by_type": dict(Counter(i["type"] for i in inter)),
                "by_direction": dict(Counter(i.get("direction") or "not_set" for i in inter)),
                "by_staff": dict(Counter(i["staff"] for i in inter)),
                "new_customers": len(new),
                "returning_customers": len(returning),
            },
            "complaints": {
                "by_category": dict(Counter(k.get("category") or "not_set" for k in opened)),
                "by_severity": dict(Counter(k["severity"] for k in opened)),
                "opened": len(opened),
                "resolved": len(resolved),
                "open_at_end": len(open_at_end),
                "sla": self.sla(start, end, until),
                "median_first_response_hours": median_hours("first_response"),
                "median_resolution_hours": median_hours("resolution"),
                "first_contact_resolved": len(fcr),
                "first_contact_resolution_rate": _rate(len(fcr), len(resolved)),
            },
            "satisfaction": {
                "average": round(sum(scores) / len(scores), 2) if scores else None,
                "responses": len(scores),
                "distribution": {str(n): scores.count(n) for n in range(1, 6)},
                "praise": praise,
                "complaints": len(opened),
                "praise_per_complaint": round(praise / len(opened), 2) if opened else None,
            },
            "sales": {
                "orders": len(orders),
                "revenue": revenue,
                "average_order": round(revenue / len(orders), 2) if orders else None,
                "customers": len(buyers),
                "returning_customers": len(returning),
                "repeat_purchase_share": _rate(len(returning), len(buyers)),
                "median_days_between_orders": _median([g for _, g in gaps], 1),
            },
        }

    def _gaps(self, start: date, end: date, until: datetime | None) -> list[tuple[str, int]]:
        """(customer, days since their previous order day) for each order day in the period."""
        days: dict[str, set[date]] = {}
        for s in self.sales:
            if s["date"] is not None:
                days.setdefault(s["customerid"], set()).add(s["date"].date())
        result = []
        for cid, seen in days.items():
            ordered = sorted(seen)
            for before, day in itertools.pairwise(ordered):
                if _in(datetime.combine(day, time()), start, end, until):
                    result.append((cid, (day - before).days))
        return result

    # -- the standing at a moment --------------------------------------------------------

    def at_risk(self, moment: datetime) -> dict[str, set[str]]:
        """customer_id -> the reasons they are at risk at ``moment``."""
        reasons: dict[str, set[str]] = {}
        existing = [c for c in self.customers if (_when(c.get("since")) or datetime.min) < moment]
        ids = {c["customerid"] for c in existing}
        last: dict[str, datetime] = {}
        for i in self.interactions:
            if i["date"] <= moment:
                last[i["customerid"]] = max(last.get(i["customerid"], i["date"]), i["date"])
        quiet_line = moment - timedelta(days=self.clock.at_risk_days)
        for c in existing:
            if c["stage"] not in ACTIVE:
                continue
            seen = last.get(c["customerid"]) or _when(c.get("since"))
            if seen is not None and seen <= quiet_line:
                reasons.setdefault(c["customerid"], set()).add("no_contact")
        for t in self.targets:
            if t["customer_id"] not in ids or t["opened"] > moment or not t["due"] < moment:
                continue
            if (t["met"] is not None and t["met"] > moment) or (
                t["met"] is None and t["status"] in OPEN
            ):
                reasons.setdefault(t["customer_id"], set()).add("complaint_overdue")
        low_line = moment - timedelta(days=LOW_SCORE_DAYS)
        for i in self.interactions:
            score = i.get("satisfaction")
            if score in (None, "") or i["customerid"] not in ids:
                continue
            if int(score) <= LOW_SCORE and low_line <= i["date"] <= moment:
                reasons.setdefault(i["customerid"], set()).add("low_score")
        return reasons

    def standing(self, moment: datetime) -> dict[str, Any]:
        existing = [c for c in self.customers if (_when(c.get("since")) or datetime.min) < moment]
        stages = Counter(c["stage"] for c in existing)
        return {
            "customers": len(existing),
            "by_stage": {s: stages.get(s, 0) for s in ["prospect", *sorted(ACTIVE)]},
            "at_risk": self.at_risk(moment),
        }

    # -- the whole report ------------------------------------------------------------------

    def report(self, start: date, end: date) -> dict[str, Any]:
        """This period's and the previous one's figures, cut at as-of if still in progress."""
        length = (end - start).days + 1
        after = datetime.combine(end + timedelta(1), time())
        until = self.as_of if self.as_of < after else None
        p_start, p_end = start - timedelta(length), end - timedelta(length)
        p_until = None if until is None else until - timedelta(length)
        moment = after if until is None else until
        p_moment = moment - timedelta(length)
        return {
            "period": {
                "start": start.isoformat(),
                "end": end.isoformat(),
                "is_partial": until is not None,
                "until": until.isoformat(timespec="minutes") if until else None,
            },
            "current": self.period(start, end, until),
            "previous": self.period(p_start, p_end, p_until),
            "standing": self.standing(moment),
            "at_risk_previous": len(self.at_risk(p_moment)),
            "trends": self.trends(end, until),
            "daily": self.daily(start, end, until),
            "overdue": self.overdue(),
        }

    def trends(self, end: date, until: datetime | None) -> list[dict[str, Any]]:
        """The 8 weeks ending on ``end``: complaints opened and resolved, SLA rates."""
        rows = []
        for back in range(7, -1, -1):
            last = end - timedelta(days=7 * back)
            first = last - timedelta(days=6)
            sla = self.sla(first, last, until)
            rows.append(
                {
                    "start": first.isoformat(),
                    "end": last.isoformat(),
                    "opened": sum(
                        1 for k in self.complaints if _in(k["opened"], first, last, until)
                    ),
                    "resolved": sum(
                        1 for k in self.complaints if _in(k["resolved"], first, last, until)
                    ),
                    "first_response": sla["first_response"]["rate"],
                    "resolution": sla["resolution"]["rate"],
                    "overall": sla["overall"]["rate"],
                }
            )
        return rows

    def daily(self, start: date, end: date, until: datetime | None) -> dict[str, list[int]]:
        """Channel -> interactions on each day of the period (channels that occur)."""
        days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
        counts: dict[str, list[int]] = {}
        for i in self.interactions:
            if _in(i["date"], start, end, until):
                row = counts.setdefault(i["channel"], [0] * len(days))
                row[days.index(i["date"].date())] += 1
        return counts

    def overdue(self) -> set[tuple[str, str, str, str]]:
        """(complaint, target, breached or due_soon, due) of targets still to meet at as-of."""
        now = self.clock.utc(self.as_of)
        soon = self.clock.due_soon_hours
        result = set()
        for t in self.targets:
            if t["met"] is not None or not t["open"]:
                continue
            due = self.clock.utc(t["due"])
            if now > due:
                state = "breached"
            elif (due - now).total_seconds() <= soon * 3600:
                state = "due_soon"
            else:
                continue
            result.add(
                (t["complaint_id"], t["target"], state, t["due"].isoformat(timespec="minutes"))
            )
        return result
