"""The weekly figures: computed once, here, as plain data that every report template shares.

Why one module (~900 lines): each figure is a small vectorised function over the
same prepared frames, and ``definitions`` must say exactly what they compute;
keeping them together keeps the words and the code in step.

``weekly(book, period, as_of)`` returns a dict of ints, floats, strings, lists
and dicts (no frames, no numpy scalars, no dates: ISO strings), so it can be
tested without Jinja and dumped as JSON. Pure: a Book, a period and ``as_of``
in, figures out; never reads a clock or a file.

What each figure counts is written once, in ``DEFINITIONS`` below: the README's table
and the report's footnotes show that text, and the code here follows it. In short:

- A period is whole days, ``start`` to ``end`` inclusive; the previous period is the
  one of the same length just before it. A period still in progress at as-of is cut
  there (``until``), and the previous one at the same point.
- Period figures count what is dated in the period; service-level targets count once,
  in the period they fall due; medians are in clock hours (instants, so a night across
  a summer-time change has its real length).
- The standing of customers (per stage, at risk) is taken at the end of the period;
  what to do (follow-ups, breaches) is as of as-of, by the rules of ``followups`` and
  ``sla``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from sheetcrm.contract import OPEN_STATUSES, VOCABULARIES
from sheetcrm.rules import followups, sla
from sheetcrm.workbook.book import Book, as_records, lookup
from sheetcrm.workbook.settings import Settings

if TYPE_CHECKING:
    from sheetcrm.rules.value import Estimate

FCR_MINUTES = 30
LOW_SCORE = 2
LOW_SCORE_DAYS = 30
FOLLOW_UP_DAYS = 7
TREND_WEEKS = 8
NOT_SET = "not_set"  # the key for a missing category, staff member or direction

Better = Literal["up", "down"] | None


@dataclass(frozen=True, slots=True)
class Period:
    """Whole days from ``start`` to ``end`` inclusive, named by ``label`` ("2026-W47")."""

    start: date
    end: date
    label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        end = self.start - timedelta(days=1)
        start = end - timedelta(days=self.days - 1)
        return Period(start, end, period_label(start, end))

    def to_json(self) -> dict[str, object]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "label": self.label,
            "days": self.days,
            "is_week": self.is_iso_week,
        }

    @property
    def is_iso_week(self) -> bool:
        return self.days == 7 and self.start.weekday() == 0


def period_label(start: date, end: date) -> str:
    """``2026-W47`` for a 7-day period (named by its middle day's ISO week), else the dates."""
    if (end - start).days == 6:
        year, week, _ = (start + timedelta(days=3)).isocalendar()
        return f"{year}-W{week:02d}"
    return f"{start.isoformat()}_to_{end.isoformat()}"


# ----------------------------------------------------------------------------- definitions

# Every figure's definition, in the owner's words: the one text the README's table
# ("The rules, in plain words") and the report's footnotes both show (a test holds the
# README to it). ``{name}`` is filled from the workbook's settings.
DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "Period",
        "Whole days, first to last, in the workbook's time zone. A week still in progress "
        "counts only what is dated up to the moment the report is made, and is compared "
        "with the same part of the week before (up to the same weekday and time).",
    ),
    (
        "Interactions",
        "Rows of the Interactions sheet dated in the period; customers contacted are the "
        "different customers among them.",
    ),
    ("New customers", "Customers whose since date is in the period."),
    (
        "Returning buyer",
        "A customer who ordered in the period on a day after an earlier order day of "
        "theirs, even when that earlier order was in the same period. Several orders on "
        "one day are one visit.",
    ),
    (
        "Repeat-purchase share",
        "Returning buyers among the customers who ordered in the period.",
    ),
    (
        "Days between orders",
        "For each day in the period a customer ordered on, the days since their previous "
        "order day; the report shows the median.",
    ),
    (
        "Complaints opened, resolved, open",
        "Complaints whose opened, or resolved, time is in the period; open at the end: "
        "opened before the period ended and not resolved by then.",
    ),
    (
        "SLA met on time",
        "Each complaint has a first-response and a resolution target. A target counts "
        "once, in the period it falls due, also when it was met earlier; it is met on "
        "time when done by its due time. A target not yet due, or of a complaint closed "
        "without a date, counts nowhere.",
    ),
    (
        "Time to respond, to resolve",
        "Median clock hours (real time, summer-time changes included) from opened to the "
        "first response, of the complaints first responded to in the period, and from "
        "opened to resolved, of those resolved in the period; every severity. A complaint "
        "resolved without a recorded first response had it when it was resolved.",
    ),
    (
        "First-contact resolution",
        "Of the complaints resolved in the period, the share resolved at first contact: "
        "the first interaction linked to the complaint has outcome resolved, or it was "
        "resolved within {fcr_minutes} minutes of being opened (exactly {fcr_minutes} "
        "counts), whatever that interaction's outcome.",
    ),
    ("Satisfaction", "The average of the scores (1 to 5) given in interactions of the period."),
    (
        "Praise per complaint",
        "Interactions of type praise in the period, divided by the complaints opened in "
        "the period (a complaint counts once, however many contacts it had).",
    ),
    (
        "At risk",
        "Taken at the end of the period (for a week in progress: now). A customer at stage "
        "customer or above with no contact for {at_risk_after_days} days or more (never "
        "contacted: counted from their since date); or any customer, prospects included, "
        "with an open complaint past its due time, or a score of {low_score} or less given "
        "in the {low_score_days} days before (exactly {low_score_days} days counts). What "
        "happened after the period does not count.",
    ),
    (
        "Customers per stage",
        "The customers there were at the end of the period (not those whose since date is "
        "later), at the stage the sheet shows: the workbook keeps no history of stages.",
    ),
    (
        "Breached and due soon",
        "Now: targets still to be met whose due time has passed, or comes within "
        "{due_soon_hours} hours.",
    ),
    (
        "Follow-ups",
        "Today: what sheetcrm followups lists now. A follow-up planned for one of the next "
        "{follow_up_days} days is listed when sheetcrm followups would list it on that day "
        "at the same time: no contact since it was planned, not marked do-not-contact, no "
        "outbound contact in the {cooldown_days} days before.",
    ),
    (
        "Buying rhythm",
        "From three orders on (on at least two different days): the average days between "
        "the days they ordered. Suggested once the last order day plus that gap has "
        "passed; not while they have an open complaint or had any contact in the last "
        "{cooldown_days} days.",
    ),
)


def definitions(settings: Settings | None = None) -> list[dict[str, str]]:
    """The definitions as ``[{"term", "text", "key"}]``, with this workbook's settings
    filled in; ``key`` (the term in snake_case) is stable, for a catalogue to translate."""
    settings = settings or Settings()
    values = {
        "fcr_minutes": FCR_MINUTES,
        "low_score": LOW_SCORE,
        "low_score_days": LOW_SCORE_DAYS,
        "follow_up_days": FOLLOW_UP_DAYS,
        "at_risk_after_days": settings.at_risk_after_days,
        "cooldown_days": settings.followup_cooldown_days,
        "due_soon_hours": _plain(settings.due_soon_hours),
    }
    return [
        {"term": term, "text": text.format(**values), "key": _slug(term)}
        for term, text in DEFINITIONS
    ]


def _slug(term: str) -> str:
    return "_".join("".join(c if c.isalnum() else " " for c in term.lower()).split())


def _plain(value: float) -> str:
    """24.0 as "24", 1.5 as "1.5"."""
    return f"{value:g}"


# ----------------------------------------------------------------------------- helpers


def _ts(day: date) -> pd.Timestamp:
    return pd.Timestamp(day.year, day.month, day.day)


def _within(series: pd.Series, start: date, end: date, until: datetime | None = None) -> pd.Series:
    """Datetimes on a day from ``start`` to ``end`` inclusive (and at or before ``until``).

    ``until`` cuts a week still in progress at as-of: what is dated later has not
    happened yet, so it counts in no figure.
    """
    mask = (series >= _ts(start)) & (series < _ts(end + timedelta(days=1)))
    if until is not None:
        mask &= series <= pd.Timestamp(until)
    return mask


def _end_moment(end: date, until: datetime | None) -> pd.Timestamp:
    """The moment a period's snapshot is taken: midnight after its last day, or ``until``."""
    after = _ts(end + timedelta(days=1))
    return after if until is None else min(after, pd.Timestamp(until))


def clock_hours(start: pd.Series, end: pd.Series, timezone: str) -> pd.Series:
    """Hours from ``start`` to ``end`` (naive local times) as a clock on the wall runs them.

    Both are turned into instants first, so a night across a summer-time change
    counts the hour the clocks skipped or repeated (22:30 to 06:00 the night
    summer time ends in Oslo is 8.5 hours, not 7.5). An ambiguous time in the
    autumn fold is read as its first occurrence, as everywhere else in sheetcrm.
    """

    def instants(series: pd.Series) -> pd.Series:
        series = pd.to_datetime(series)
        flags = np.ones(len(series), dtype=bool)  # the first of a repeated hour: summer time
        return series.dt.tz_localize(
            timezone, ambiguous=flags, nonexistent=pd.Timedelta(hours=1)
        ).dt.tz_convert("UTC")

    return (instants(end) - instants(start)).dt.total_seconds() / 3600


def _counts(series: pd.Series, order: Sequence[str] = ()) -> dict[str, int]:
    """Value -> count, largest first (ties: ``order``, then A-Z); missing is ``not_set``."""
    counts = series.astype(object).where(series.notna(), NOT_SET).value_counts()
    rank = {key: i for i, key in enumerate(order)}
    items = sorted(
        ((str(k), int(v)) for k, v in counts.items()),
        key=lambda kv: (-kv[1], rank.get(kv[0], len(rank)), kv[0]),
    )
    return dict(items)


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def _num(value: Any, digits: int = 4) -> float | None:
    """A plain float (rounded), or None for missing / NaN."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else round(value, digits)


def _iso(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    return value.isoformat() if isinstance(value, date) else str(value)


def _text(value: Any) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _datetimes(series: pd.Series) -> pd.Series:
    """A column of dates/datetimes (possibly Python objects) as datetime64."""
    return pd.to_datetime(series, errors="coerce")


@dataclass(slots=True)
class Data:
    """The frames the figures need, typed once (datetime64 everywhere)."""

    interactions: pd.DataFrame
    complaints: pd.DataFrame
    sales: pd.DataFrame
    customers: pd.DataFrame
    targets: pd.DataFrame
    opening_outcome: pd.Series  # complaint_id -> outcome of its first interaction
    timezone: str = "Europe/Oslo"  # every time in the workbook is local time here


def prepare(book: Book, as_of: datetime, since: date | None = None) -> Data:
    """The frames every figure is computed from; service-level targets from ``since`` on."""
    inter = book.interactions
    if not pd.api.types.is_datetime64_any_dtype(inter["date"]):  # a copy of 100,000 rows
        inter = inter.assign(date=_datetimes(inter["date"]))
    complaints = book.complaints.assign(
        opened=_datetimes(book.complaints["opened"]),
        resolved=_datetimes(book.complaints["resolved"]),
    )
    sales = book.sales.assign(date=_datetimes(book.sales["date"]))
    customers = book.customers.assign(since=_datetimes(book.customers["since"]))
    linked = inter.loc[inter["complaint_id"].notna(), ["complaint_id", "date", "outcome"]]
    first = linked.sort_values("date", kind="stable").drop_duplicates("complaint_id")
    opening_outcome = pd.Series(first["outcome"].to_numpy(), index=first["complaint_id"].to_numpy())
    start = None if since is None else datetime.combine(since, time())
    targets = sla.targets(book, as_of, since=start)
    return Data(
        inter, complaints, sales, customers, targets, opening_outcome, book.settings.timezone
    )


# ----------------------------------------------------------------------------- sections


def contact(data: Data, start: date, end: date, until: datetime | None = None) -> dict[str, Any]:
    inter = data.interactions
    week = inter[_within(inter["date"], start, end, until)]
    return {
        "interactions": len(week),
        "by_channel": _counts(week["channel"], VOCABULARIES["channel"]),
        "by_type": _counts(week["type"], VOCABULARIES["type"]),
        "by_direction": _counts(week["direction"], ("inbound", "outbound")),
        "by_staff": _counts(week["staff"]),
        "customers_contacted": int(week["customer_id"].nunique()),
        "new_customers": int(_within(data.customers["since"], start, end, until).sum()),
        "returning_customers": len(_returning(data.sales, start, end, until)),
    }


def _order_days(sales: pd.DataFrame, customers: Any) -> pd.DataFrame:
    """Each of these customers' order days, once, in order: orders on one day are one visit."""
    mine = sales.loc[sales["customer_id"].isin(customers), ["customer_id", "date"]].dropna()
    days = mine.assign(date=mine["date"].dt.normalize()).drop_duplicates()
    return days.sort_values(["customer_id", "date"], kind="stable")


def _gaps(sales: pd.DataFrame, start: date, end: date, until: datetime | None) -> pd.Series:
    """Days since the customer's previous order day, for each order day in the period."""
    bought = sales.loc[_within(sales["date"], start, end, until), "customer_id"].dropna().unique()
    days = _order_days(sales, bought)
    gap = (days["date"] - days.groupby("customer_id")["date"].shift()).dt.days
    in_period = _within(days["date"], start, end, until)
    return pd.Series(gap[in_period].to_numpy(), index=days.loc[in_period, "customer_id"]).dropna()


def _returning(
    sales: pd.DataFrame, start: date, end: date, until: datetime | None = None
) -> set[str]:
    """Customers who ordered in the period on a day after an earlier order day of theirs.

    A first-time buyer who comes back on another day of the same week is returning;
    two orders on one day are one visit, so not.
    """
    return set(_gaps(sales, start, end, until).index)


def _sla_window(
    targets: pd.DataFrame, start: date, end: date, until: datetime | None = None
) -> pd.DataFrame:
    """Targets that fell due in the period (by ``until`` in a week in progress).

    Each target counts once, in the period it falls due: one met early counts
    there too, never also in the period it was met. A target closed without a
    date (``closed_unmet``) or not yet due counts nowhere.
    """
    relevant = _within(targets["due"], start, end, until)
    decided = targets["state"].isin(["met", "met_late", "breached"])
    return targets[relevant & decided]


def _compliance(frame: pd.DataFrame) -> dict[str, Any]:
    due = len(frame)
    met = int((frame["state"] == "met").sum())
    return {"due": due, "met": met, "rate": _num(_share(met, due))}


def _sla(
    targets: pd.DataFrame, start: date, end: date, until: datetime | None = None
) -> dict[str, Any]:
    window = _sla_window(targets, start, end, until)
    result: dict[str, Any] = {
        name: _compliance(window[window["target"] == name]) for name in sla.TARGETS
    }
    result["overall"] = _compliance(window)
    by_owner: dict[str, Any] = {}
    owners = window["owner"].astype(object).where(window["owner"].notna(), NOT_SET)
    for owner, rows in window.groupby(owners, sort=True):
        figures: dict[str, Any] = {
            name: _compliance(rows[rows["target"] == name]) for name in sla.TARGETS
        }
        figures["overall"] = _compliance(rows)
        by_owner[str(owner)] = figures
    result["by_owner"] = by_owner
    return result


def _median_hours(
    data: Data, name: str, start: date, end: date, until: datetime | None = None
) -> float | None:
    """Median clock hours from opened to the target's being met, of those met in the period.

    The first response of a complaint resolved without a recorded response is its
    resolution (the rule of ``sla.targets``).
    """
    targets = data.targets
    rows = targets[(targets["target"] == name) & _within(targets["met_at"], start, end, until)]
    if rows.empty:
        return None
    return _num(clock_hours(rows["opened"], rows["met_at"], data.timezone).median(), 2)


def first_contact_resolved(data: Data, resolved: pd.DataFrame) -> pd.Series:
    """Which of these resolved complaints were resolved at first contact.

    Resolved in the contact that opened it (the earliest interaction carrying its
    complaint_id has outcome ``resolved``) *or* resolved within ``FCR_MINUTES``
    clock minutes of being opened, exactly 30 included, whatever that opening
    contact's outcome (``complaint open`` always writes ``escalated``).
    """
    outcome = resolved["complaint_id"].map(data.opening_outcome)
    minutes = clock_hours(resolved["opened"], resolved["resolved"], data.timezone) * 60
    quick = minutes.round(6) <= FCR_MINUTES
    return (outcome == "resolved") | quick


def complaints(data: Data, start: date, end: date, until: datetime | None = None) -> dict[str, Any]:
    c = data.complaints
    opened = c[_within(c["opened"], start, end, until)]
    resolved = c[_within(c["resolved"], start, end, until)]
    after = _end_moment(end, until)
    open_at_end = (c["opened"] < after) & (
        (c["resolved"] >= after) | (c["resolved"].isna() & c["status"].isin(OPEN_STATUSES))
    )
    fcr = first_contact_resolved(data, resolved)
    return {
        "opened": len(opened),
        "resolved": len(resolved),
        "open_at_end": int(open_at_end.sum()),
        "by_category": _counts(opened["category"]),
        "by_severity": _counts(opened["severity"], VOCABULARIES["severity"][::-1]),
        "sla": _sla(data.targets, start, end, until),
        "median_first_response_hours": _median_hours(data, "first_response", start, end, until),
        "median_resolution_hours": _median_hours(data, "resolution", start, end, until),
        "first_contact_resolved": int(fcr.sum()),
        "first_contact_resolution_rate": _num(_share(int(fcr.sum()), len(resolved))),
    }


def satisfaction(
    data: Data, start: date, end: date, until: datetime | None = None
) -> dict[str, Any]:
    inter = data.interactions
    week = inter[_within(inter["date"], start, end, until)]
    scores = week["satisfaction"].dropna().astype(int)
    counts = scores.value_counts()
    praise = int((week["type"] == "praise").sum())
    opened = int(_within(data.complaints["opened"], start, end, until).sum())
    return {
        "average": _num(scores.mean(), 2) if len(scores) else None,
        "distribution": {score: int(counts.get(score, 0)) for score in range(1, 6)},
        "responses": len(scores),
        "praise": praise,
        "complaints": opened,
        "praise_per_complaint": _num(_share(praise, opened), 2),
    }


def sales(data: Data, start: date, end: date, until: datetime | None = None) -> dict[str, Any]:
    s = data.sales
    week = s[_within(s["date"], start, end, until)]
    orders = len(week)
    revenue = float(week["amount"].sum())
    buyers = int(week["customer_id"].nunique())
    # days since the customer's previous order day, for each order day in the period
    gap = _gaps(s, start, end, until)
    returning = int(gap.index.nunique())
    return {
        "orders": orders,
        "revenue": _num(revenue, 2),
        "average_order": _num(revenue / orders, 2) if orders else None,
        "customers": buyers,
        "returning_customers": returning,
        "repeat_purchase_share": _num(_share(returning, buyers)),
        "median_days_between_orders": _num(gap.median(), 1) if len(gap) else None,
    }


# ----------------------------------------------------------------------------- snapshot


def at_risk(book: Book, data: Data, moment: datetime) -> list[dict[str, Any]]:
    """Customers at risk at ``moment``, each with every reason (see the module docstring)."""
    now = pd.Timestamp(moment)
    customers = _existing(data, now)
    inter = data.interactions
    past = inter.loc[inter["date"] <= now, ["customer_id", "date", "satisfaction"]]
    reasons: dict[str, list[dict[str, Any]]] = {}

    # Gone quiet: stage customer or above, no contact for at_risk_after_days or more
    # (the same rule as the follow-ups' "gone quiet").
    quiet_since = followups.quiet_since(now, book.settings.at_risk_after_days)
    last = past.groupby("customer_id")["date"].max()
    active = customers[customers["stage"].isin(followups.ACTIVE_STAGES)]
    last_seen = lookup(active["customer_id"], last)
    is_quiet = (last_seen <= quiet_since) | (last_seen.isna() & (active["since"] <= quiet_since))
    quiet = active[is_quiet]
    for cid, seen in zip(quiet["customer_id"], last_seen[is_quiet], strict=True):
        reasons.setdefault(cid, []).append(
            {
                "reason": "no_contact",
                "last_contact": _iso(seen.date()) if pd.notna(seen) else None,
                "days": int((now - seen).days) if pd.notna(seen) else None,
            }
        )

    # An open complaint past its due time at that moment (first response or resolution).
    t = data.targets
    late = t[
        (t["opened"] <= now)
        & (t["due"] < now)
        & ((t["met_at"] > now) | (t["met_at"].isna() & t["status"].isin(OPEN_STATUSES)))
    ].drop_duplicates("complaint_id")
    for rec in late.itertuples(index=False):
        reasons.setdefault(rec.customer_id, []).append(
            {"reason": "complaint_overdue", "complaint_id": rec.complaint_id, "due": _iso(rec.due)}
        )

    # A low score lately: given at or after LOW_SCORE_DAYS before the moment.
    low = past[
        (past["satisfaction"] <= LOW_SCORE)
        & (past["date"] >= now - pd.Timedelta(days=LOW_SCORE_DAYS))
    ].sort_values("date", kind="stable")
    low = low.drop_duplicates("customer_id", keep="last")
    for rec in low.itertuples(index=False):
        reasons.setdefault(rec.customer_id, []).append(
            {"reason": "low_score", "score": int(rec.satisfaction), "date": _iso(rec.date.date())}
        )

    wanted = customers[customers["customer_id"].isin(reasons)]
    result: list[dict[str, Any]] = [
        {
            "customer_id": str(c["customer_id"]),
            "name": _text(c["name"]),
            "owner": _text(c["owner"]),
            "stage": _text(c["stage"]),
            "reasons": reasons[c["customer_id"]],
        }
        for c in as_records(wanted[["customer_id", "name", "owner", "stage"]])
    ]
    order = {"complaint_overdue": 0, "low_score": 1, "no_contact": 2}
    result.sort(
        key=lambda r: (
            -len(r["reasons"]),
            min(order[w["reason"]] for w in r["reasons"]),
            r["customer_id"],
        )
    )
    return result


def _existing(data: Data, moment: pd.Timestamp) -> pd.DataFrame:
    """The customers there were at ``moment``: not those whose ``since`` is later.

    The workbook keeps no history of stages, so each customer is at the stage the
    sheet shows now; one who became a customer after the moment is left out.
    """
    customers = data.customers.dropna(subset=["customer_id"]).drop_duplicates("customer_id")
    since = customers["since"]
    return customers[since.isna() | (since < moment)]


def _breaches(book: Book, data: Data) -> list[dict[str, Any]]:
    """Pending targets breached or due soon at as-of: the rules and order of ``sla.overdue``."""
    t = data.targets
    t = t[t["state"].isin(["breached", "due_soon"])]
    t = t.assign(_rank=(t["state"] != "breached").astype(int)).sort_values(
        ["_rank", "owner", "due", "complaint_id"], kind="stable"
    )
    people = data.customers.drop_duplicates("customer_id").set_index("customer_id", drop=False)
    wanted = people[people.index.isin(t["customer_id"])]
    records = {c["customer_id"]: c for c in as_records(wanted)}
    summaries = data.complaints.drop_duplicates("complaint_id").set_index("complaint_id")["summary"]

    def reach(customer_id: Any) -> tuple[str, str]:
        """The customer's channel and the phone or email for it (as the follow-ups give)."""
        c = records.get(customer_id)
        return followups.how_to_reach(c) if c is not None else ("", "")

    return [
        {
            "complaint_id": r.complaint_id,
            "customer_id": _text(r.customer_id),
            "customer": _text((records.get(r.customer_id) or {}).get("name")),
            "channel": reach(r.customer_id)[0],
            "contact": reach(r.customer_id)[1],
            "phone": _text((records.get(r.customer_id) or {}).get("phone")),
            "email": _text((records.get(r.customer_id) or {}).get("email")),
            "owner": _text(r.owner),
            "severity": r.severity,
            "category": _text(r.category),
            "summary": _text(summaries.get(r.complaint_id)),
            "target": r.target,
            "state": r.state,
            "due": _iso(r.due),
            "minutes": round(r.minutes),
        }
        for r in t.itertuples(index=False)
    ]


def followups_due(
    book: Book, as_of: datetime, worth: Estimate | None = None
) -> list[dict[str, Any]]:
    """Follow-ups due now and those scheduled in the coming week: one rule set, that of
    ``sheetcrm followups`` (:func:`followups.due` and :func:`followups.scheduled`)."""
    now = [(as_of.date(), s) for s in followups.due(book, as_of, worth=worth)]
    seen = {s.customer_id for _, s in now}
    later = [
        (on, s)
        for on, s in followups.scheduled(book, as_of, FOLLOW_UP_DAYS)
        if s.customer_id not in seen
    ]
    return [
        {
            "customer_id": s.customer_id,
            "name": s.name,
            "owner": s.owner,
            "channel": s.channel,
            "contact": s.contact,
            "on": on.isoformat(),
            "reasons": [w.reason for w in s.reasons],
            "why": s.sentence,
        }
        for on, s in now + later
    ]


def relationships(
    book: Book,
    data: Data,
    as_of: datetime,
    previous_moment: datetime,
    worth: Estimate | None = None,
) -> dict[str, Any]:
    """The snapshot at ``as_of``: customers by stage and at risk, and what to do now."""
    return standing(book, data, as_of, previous_moment) | to_do(book, data, as_of, worth)


def standing(book: Book, data: Data, moment: datetime, previous_moment: datetime) -> dict[str, Any]:
    """Customers per stage and at risk at ``moment`` (a period's end), and at
    ``previous_moment`` (the previous period's end)."""
    stages = _existing(data, pd.Timestamp(moment))["stage"]
    counts = stages.value_counts()
    risk = at_risk(book, data, moment)
    return {
        "by_stage": {stage: int(counts.get(stage, 0)) for stage in VOCABULARIES["stage"]},
        "customers": len(stages),
        "at_risk": risk,
        "at_risk_count": len(risk),
        "at_risk_previous": len(at_risk(book, data, previous_moment)),
    }


def to_do(
    book: Book,
    data: Data,
    as_of: datetime,
    worth: Estimate | None = None,
    due: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The follow-ups of the coming week, and the complaints breached or due soon.

    ``worth``: the customer-value estimate as of that day, when the caller has it;
    ``due``: :func:`followups_due`, when the caller has worked them out already.
    """
    due = followups_due(book, as_of, worth) if due is None else due
    overdue = _breaches(book, data)
    return {
        "followups": due,
        "followups_count": len(due),
        "overdue": overdue,
        "overdue_count": len(overdue),
    }


# ----------------------------------------------------------------------------- headlines


# The precision each kind of headline is shown with: a change that rounds to nothing is flat.
_DIGITS = {"count": 0, "percent": 2, "score": 1, "money": 0}


def _change(
    value: float | None, previous: float | None, better: Better, kind: str = "count"
) -> dict[str, Any]:
    if value is None or previous is None:
        return {"change": None, "direction": "none", "good": None}
    digits = _DIGITS.get(kind, 6)
    change = round(round(value, digits) - round(previous, digits), digits)
    direction = "up" if change > 0 else "down" if change < 0 else "flat"
    good = None if better is None or direction == "flat" else direction == better
    return {"change": change, "direction": direction, "good": good}


HEADLINES: tuple[tuple[str, str, str, Better], ...] = (
    # key, where in the figures (section.figure), kind (how to format), which way is better
    ("interactions", "contact.interactions", "count", "up"),
    ("customers_contacted", "contact.customers_contacted", "count", "up"),
    ("complaints_opened", "complaints.opened", "count", "down"),
    ("sla_compliance", "complaints.sla.overall.rate", "percent", "up"),
    ("first_contact_resolution", "complaints.first_contact_resolution_rate", "percent", "up"),
    ("satisfaction", "satisfaction.average", "score", "up"),
    ("at_risk", "relationships.at_risk_count", "count", "down"),
    ("revenue", "sales.revenue", "money", "up"),
)


def _get(figures: Mapping[str, Any], path: str) -> Any:
    value: Any = figures
    for part in path.split("."):
        value = value[part]
    return value


def headlines(current: Mapping[str, Any], previous: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each headline figure with last period's value, the change and whether it is good."""
    result = []
    for key, path, kind, better in HEADLINES:
        value, before = _get(current, path), _get(previous, path)
        result.append(
            {"key": key, "kind": kind, "value": value, "previous": before, "better": better}
            | _change(value, before, better, kind)
        )
    return result


# ----------------------------------------------------------------------------- trends


def weeks_ending(end: date, count: int = TREND_WEEKS) -> list[Period]:
    """``count`` seven-day periods ending on ``end``, oldest first."""
    result = []
    for i in range(count - 1, -1, -1):
        last = end - timedelta(days=7 * i)
        first = last - timedelta(days=6)
        result.append(Period(first, last, period_label(first, last)))
    return result


def trends(data: Data, end: date, until: datetime | None = None) -> dict[str, Any]:
    """Complaints opened and resolved, and SLA compliance, for the weeks up to ``end``
    (the last one cut at ``until`` when it is still in progress)."""
    weeks = weeks_ending(end)
    c, t = data.complaints, data.targets
    rows = []
    for w in weeks:
        window = _sla_window(t, w.start, w.end, until)
        rows.append(
            {
                "label": w.label,
                "start": w.start.isoformat(),
                "end": w.end.isoformat(),
                "opened": int(_within(c["opened"], w.start, w.end, until).sum()),
                "resolved": int(_within(c["resolved"], w.start, w.end, until).sum()),
                "first_response": _compliance(window[window["target"] == "first_response"])["rate"],
                "resolution": _compliance(window[window["target"] == "resolution"])["rate"],
                "overall": _compliance(window)["rate"],
            }
        )
    return {"weeks": rows}


def daily_by_channel(
    data: Data, start: date, end: date, until: datetime | None = None
) -> dict[str, Any]:
    """Interactions per day, by channel: ``{"days": [...], "series": {channel: [...]}}``."""
    inter = data.interactions
    week = inter[_within(inter["date"], start, end, until)]
    days = pd.date_range(_ts(start), _ts(end), freq="D")
    table = pd.crosstab(week["date"].dt.normalize(), week["channel"]).reindex(days, fill_value=0)
    order = [c for c in VOCABULARIES["channel"] if c in table.columns]
    order += sorted(c for c in table.columns if c not in order)
    return {
        "days": [d.date().isoformat() for d in days],
        "series": {str(c): [int(v) for v in table[c]] for c in order},
    }


# ----------------------------------------------------------------------------- the whole


def figures(data: Data, start: date, end: date, until: datetime | None = None) -> dict[str, Any]:
    """The period figures (everything but the snapshot), cut at ``until`` if given."""
    return {
        "contact": contact(data, start, end, until),
        "complaints": complaints(data, start, end, until),
        "satisfaction": satisfaction(data, start, end, until),
        "sales": sales(data, start, end, until),
    }


def cut_off(period: Period, as_of: datetime) -> datetime | None:
    """``as_of`` when the period is still in progress then (it ends after as-of), else None."""
    return as_of if as_of < datetime.combine(period.end + timedelta(days=1), time()) else None


def _period_json(period: Period, until: datetime | None) -> dict[str, Any]:
    return period.to_json() | {"is_partial": until is not None, "until": _iso(until)}


def chart_data(
    locale: str, current: Mapping[str, Any], week_trends: Mapping[str, Any], daily: Any
) -> dict[str, Any]:
    """What the charts are drawn from (a subset of the figures, small enough to send)."""
    return {
        "locale": locale,
        "daily": daily,
        "trends": week_trends,
        "satisfaction": {"distribution": current["satisfaction"]["distribution"]},
    }


def weekly(
    book: Book,
    period: Period,
    as_of: datetime,
    *,
    on_chart_data: Callable[[dict[str, Any]], None] | None = None,
    followups: Callable[[], list[dict[str, Any]]] | None = None,
    worth: Estimate | None = None,
) -> dict[str, Any]:
    """Every figure of the report for ``period``, with the previous period's beside it.

    ``followups``: a function that gives :func:`followups_due`, when the caller has
    them worked out elsewhere (they take longest): the caller decides where, this
    module only computes; it is called once the rest is done. ``worth`` is the customer-value
    estimate as of ``as_of``'s day when the caller has it (the follow-ups rank by it).

    >>> m = weekly(book, Period(date(2026, 11, 9), date(2026, 11, 15), "2026-W46"),
    ...            datetime(2026, 11, 20, 15))  # doctest: +SKIP
    >>> m["contact"]["interactions"], m["headlines"][0]["previous"]  # doctest: +SKIP
    (31, 27)
    """
    previous = period.previous()
    earliest = min(previous.start, weeks_ending(period.end)[0].start)
    data = prepare(book, as_of, since=min(earliest, as_of.date()))
    # A week still in progress is cut at as-of, and last week at the same point of it.
    until = cut_off(period, as_of)
    previous_until = None if until is None else until - timedelta(days=period.days)
    # The standing of customers is taken at the end of each period, not today.
    moment = _end_moment(period.end, until).to_pydatetime()
    previous_moment = _end_moment(previous.end, previous_until).to_pydatetime()
    # What the charts show first, so they can be drawn while the rest is computed.
    week_trends = trends(data, period.end, until)
    daily = daily_by_channel(data, period.start, period.end, until)
    happy = satisfaction(data, period.start, period.end, until)
    if on_chart_data is not None:
        on_chart_data(chart_data(book.settings.locale, {"satisfaction": happy}, week_trends, daily))
    current = figures(data, period.start, period.end, until)
    before = figures(data, previous.start, previous.end, previous_until)
    # The standing before waiting for the follow-ups: it needs nothing of theirs.
    relationships = standing(book, data, moment, previous_moment)
    due = followups() if followups is not None else None
    current["relationships"] = relationships | to_do(book, data, as_of, worth, due)
    before["relationships"] = {"at_risk_count": current["relationships"]["at_risk_previous"]}
    return {
        "period": _period_json(period, until),
        "previous_period": _period_json(previous, previous_until),
        "as_of": _iso(as_of),
        **current,
        "previous": before,
        "headlines": headlines(current, before),
        "trends": week_trends,
        "daily": daily,
        "rules": {
            "fcr_minutes": FCR_MINUTES,
            "low_score": LOW_SCORE,
            "low_score_days": LOW_SCORE_DAYS,
            "at_risk_after_days": book.settings.at_risk_after_days,
            "follow_up_days": FOLLOW_UP_DAYS,
        },
        "definitions": definitions(book.settings),
    }
