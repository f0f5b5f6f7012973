"""The weekly figures: computed once, here, as plain data that every report template shares.

``weekly(book, period, as_of)`` returns a dict of ints, floats, strings, lists
and dicts (no frames, no numpy scalars, no dates: ISO strings), so it can be
tested without Jinja and dumped as JSON. Pure: a Book, a period and ``as_of``
in, figures out; never reads a clock or a file.

The rules, in the owner's words (the README and the report's footnotes repeat them):

- A period is whole days, ``start`` to ``end`` inclusive; the previous period is
  the one of the same length just before it, and each headline figure is shown
  with its value there and the change.
- **Contact**: interactions dated in the period; customers contacted; new
  customers (``since`` in the period); returning customers (an order in the
  period and one before it).
- **Complaints** come from the Complaints sheet: opened, resolved (its
  ``resolved`` date) and open at the end of the period.
- **SLA compliance** (the rules of ``sla.targets``): every target that fell due
  in the period or was met in it counts once; the share met on time, for first
  response and resolution separately and together, overall and per owner.
  A target due in the period and still not met counts as missed; one not yet
  due at as-of, or closed without a date, does not count.
- **Times to respond and resolve** are medians in *clock* hours, from opened to
  the first response (or resolution) of complaints responded to (resolved) in
  the period, whatever the severity's business-hours rule.
- **First-contact resolution**: of the complaints resolved in the period, the
  share resolved in the contact that opened them: the complaint's first
  interaction (the earliest one carrying its complaint_id) has outcome
  ``resolved``, or, when it has none, it was resolved within
  ``FCR_MINUTES`` minutes of being opened.
- **Satisfaction**: scores given in interactions of the period; praise is
  interactions of type praise, set against the complaints opened.
- **Relationships are a snapshot at as-of**: a customer is at risk when at
  stage customer or above with no contact for ``at_risk_after_days``, with an
  open complaint past its due time, or with a score of ``LOW_SCORE`` or less in
  the last ``LOW_SCORE_DAYS`` days. Last period's count is the same rules one
  period length earlier.
- **Sales**: orders and revenue in the period, average order, repeat-purchase
  share (of the customers who ordered, those who had ordered before) and the
  median days since their previous order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

import pandas as pd

from sheetcrm import followups, sla
from sheetcrm.book import Book, as_records, lookup
from sheetcrm.contract import OPEN_STATUSES, VOCABULARIES
from sheetcrm.render_worker import Forked

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


# ----------------------------------------------------------------------------- helpers


def _ts(day: date) -> pd.Timestamp:
    return pd.Timestamp(day.year, day.month, day.day)


def _within(series: pd.Series, start: date, end: date) -> pd.Series:
    """Datetimes on a day from ``start`` to ``end`` inclusive."""
    return (series >= _ts(start)) & (series < _ts(end + timedelta(days=1)))


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
    return Data(inter, complaints, sales, customers, targets, opening_outcome)


# ----------------------------------------------------------------------------- sections


def contact(data: Data, start: date, end: date) -> dict[str, Any]:
    inter = data.interactions
    week = inter[_within(inter["date"], start, end)]
    return {
        "interactions": len(week),
        "by_channel": _counts(week["channel"], VOCABULARIES["channel"]),
        "by_type": _counts(week["type"], VOCABULARIES["type"]),
        "by_direction": _counts(week["direction"], ("inbound", "outbound")),
        "by_staff": _counts(week["staff"]),
        "customers_contacted": int(week["customer_id"].nunique()),
        "new_customers": int(_within(data.customers["since"], start, end).sum()),
        "returning_customers": len(_returning(data.sales, start, end)),
    }


def _returning(sales: pd.DataFrame, start: date, end: date) -> set[str]:
    """Customers with an order in the period and one before it."""
    bought = sales.loc[_within(sales["date"], start, end), "customer_id"].dropna().unique()
    before = (sales["date"] < _ts(start)) & sales["customer_id"].isin(bought)
    return set(sales.loc[before, "customer_id"])


def _sla_window(targets: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Targets that fell due in the period or were met in it, decided by as-of."""
    relevant = _within(targets["due"], start, end) | _within(targets["met_at"], start, end)
    decided = targets["state"].isin(["met", "met_late", "breached"])
    return targets[relevant & decided]


def _compliance(frame: pd.DataFrame) -> dict[str, Any]:
    due = len(frame)
    met = int((frame["state"] == "met").sum())
    return {"due": due, "met": met, "rate": _num(_share(met, due))}


def _sla(targets: pd.DataFrame, start: date, end: date) -> dict[str, Any]:
    window = _sla_window(targets, start, end)
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


def _median_hours(targets: pd.DataFrame, name: str, start: date, end: date) -> float | None:
    rows = targets[(targets["target"] == name) & _within(targets["met_at"], start, end)]
    if rows.empty:
        return None
    hours = (rows["met_at"] - rows["opened"]).dt.total_seconds() / 3600
    return _num(hours.median(), 2)


def complaints(data: Data, start: date, end: date) -> dict[str, Any]:
    c = data.complaints
    opened = c[_within(c["opened"], start, end)]
    resolved = c[_within(c["resolved"], start, end)]
    after = _ts(end + timedelta(days=1))
    open_at_end = (c["opened"] < after) & (
        (c["resolved"] >= after) | (c["resolved"].isna() & c["status"].isin(OPEN_STATUSES))
    )
    outcome = resolved["complaint_id"].map(data.opening_outcome)
    quick = (resolved["resolved"] - resolved["opened"]) <= pd.Timedelta(minutes=FCR_MINUTES)
    fcr = (outcome == "resolved") | (outcome.isna() & quick)
    return {
        "opened": len(opened),
        "resolved": len(resolved),
        "open_at_end": int(open_at_end.sum()),
        "by_category": _counts(opened["category"]),
        "by_severity": _counts(opened["severity"], VOCABULARIES["severity"][::-1]),
        "sla": _sla(data.targets, start, end),
        "median_first_response_hours": _median_hours(data.targets, "first_response", start, end),
        "median_resolution_hours": _median_hours(data.targets, "resolution", start, end),
        "first_contact_resolved": int(fcr.sum()),
        "first_contact_resolution_rate": _num(_share(int(fcr.sum()), len(resolved))),
    }


def satisfaction(data: Data, start: date, end: date) -> dict[str, Any]:
    inter = data.interactions
    week = inter[_within(inter["date"], start, end)]
    scores = week["satisfaction"].dropna().astype(int)
    counts = scores.value_counts()
    praise = int((week["type"] == "praise").sum())
    opened = int(_within(data.complaints["opened"], start, end).sum())
    return {
        "average": _num(scores.mean(), 2) if len(scores) else None,
        "distribution": {score: int(counts.get(score, 0)) for score in range(1, 6)},
        "responses": len(scores),
        "praise": praise,
        "complaints": opened,
        "praise_per_complaint": _num(_share(praise, opened), 2),
    }


def sales(data: Data, start: date, end: date) -> dict[str, Any]:
    s = data.sales
    week = s[_within(s["date"], start, end)]
    orders = len(week)
    revenue = float(week["amount"].sum())
    buyers = int(week["customer_id"].nunique())
    returning = len(_returning(s, start, end))
    # days since the customer's previous order (a different day), for this period's orders;
    # only this period's buyers' histories matter
    mine = s.loc[
        s["customer_id"].isin(week["customer_id"].dropna().unique()), ["customer_id", "date"]
    ]
    days = mine.dropna().drop_duplicates()
    days = days.sort_values(["customer_id", "date"], kind="stable")
    gap = (days["date"] - days.groupby("customer_id")["date"].shift()).dt.days
    gap = gap[_within(days["date"], start, end)].dropna()
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
    customers = data.customers.dropna(subset=["customer_id"]).drop_duplicates("customer_id")
    inter = data.interactions
    past = inter.loc[inter["date"] <= now, ["customer_id", "date", "satisfaction"]]
    reasons: dict[str, list[dict[str, Any]]] = {}

    # Gone quiet: stage customer or above, no contact for at_risk_after_days.
    days = book.settings.at_risk_after_days
    quiet_before = now - pd.Timedelta(days=days)
    last = past.groupby("customer_id")["date"].max()
    active = customers[customers["stage"].isin(followups.ACTIVE_STAGES)]
    last_seen = lookup(active["customer_id"], last)
    quiet = active[
        (last_seen < quiet_before) | (last_seen.isna() & (active["since"] <= quiet_before))
    ]
    for cid, seen in zip(quiet["customer_id"], lookup(quiet["customer_id"], last), strict=True):
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

    # A low score lately.
    low = past[
        (past["satisfaction"] <= LOW_SCORE)
        & (past["date"] > now - pd.Timedelta(days=LOW_SCORE_DAYS))
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


def _breaches(book: Book, data: Data) -> list[dict[str, Any]]:
    """Pending targets breached or due soon at as-of: the rules and order of ``sla.overdue``."""
    t = data.targets
    t = t[t["state"].isin(["breached", "due_soon"])]
    t = t.assign(_rank=(t["state"] != "breached").astype(int)).sort_values(
        ["_rank", "owner", "due", "complaint_id"], kind="stable"
    )
    names = data.customers.drop_duplicates("customer_id").set_index("customer_id")["name"]
    summaries = data.complaints.drop_duplicates("complaint_id").set_index("complaint_id")["summary"]
    return [
        {
            "complaint_id": r.complaint_id,
            "customer_id": _text(r.customer_id),
            "customer": _text(names.get(r.customer_id)),
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


def _followups(book: Book, data: Data, as_of: datetime) -> list[dict[str, Any]]:
    """Follow-ups due now (the ``followups`` rules) and those scheduled in the coming week."""
    result = [
        {
            "customer_id": s.customer_id,
            "name": s.name,
            "owner": s.owner,
            "channel": s.channel,
            "contact": s.contact,
            "on": as_of.date().isoformat(),
            "reasons": [w.reason for w in s.reasons],
            "why": s.sentence,
        }
        for s in followups.due(book, as_of)
    ]
    # Scheduled: a follow_up_on date in the coming week, with no contact since it was set.
    seen = {r["customer_id"] for r in result}
    inter = data.interactions
    now = pd.Timestamp(as_of)
    on = _datetimes(inter["follow_up_on"])
    until = _ts(as_of.date() + timedelta(days=FOLLOW_UP_DAYS))
    soon = inter[(on > now) & (on <= until)].assign(on=on)
    last = inter.loc[inter["date"] <= now, "date"].groupby(inter["customer_id"]).max()
    soon = soon[lookup(soon["customer_id"], last) <= soon["date"]]
    soon = soon.sort_values(["on", "customer_id"], kind="stable").drop_duplicates("customer_id")
    soon = soon[~soon["customer_id"].isin(seen)]
    customers = data.customers.drop_duplicates("customer_id")
    customers = customers[customers["customer_id"].isin(soon["customer_id"])]
    records = {c["customer_id"]: c for c in as_records(customers)}
    for rec in soon.itertuples(index=False):
        c = records.get(rec.customer_id)
        if c is None or c["do_not_contact"]:
            continue
        result.append(
            {
                "customer_id": str(rec.customer_id),
                "name": _text(c["name"]),
                "owner": _text(c["owner"]),
                "channel": _text(c["preferred_channel"]) or _text(rec.channel),
                "contact": _text(c["email"]) or _text(c["phone"]),
                "on": rec.on.date().isoformat(),
                "reasons": ["follow_up_scheduled"],
                "why": _text(rec.summary),
            }
        )
    return result


def relationships(
    book: Book, data: Data, as_of: datetime, previous_moment: datetime
) -> dict[str, Any]:
    """The snapshot at ``as_of``: customers by stage and at risk, and what to do now."""
    return standing(book, data, as_of, previous_moment) | to_do(book, data, as_of)


def standing(book: Book, data: Data, as_of: datetime, previous_moment: datetime) -> dict[str, Any]:
    """Customers per stage, and those at risk now and at ``previous_moment``."""
    stages = data.customers.drop_duplicates("customer_id")["stage"]
    counts = stages.value_counts()
    risk = at_risk(book, data, as_of)
    return {
        "by_stage": {stage: int(counts.get(stage, 0)) for stage in VOCABULARIES["stage"]},
        "customers": len(stages),
        "at_risk": risk,
        "at_risk_count": len(risk),
        "at_risk_previous": len(at_risk(book, data, previous_moment)),
    }


def to_do(book: Book, data: Data, as_of: datetime) -> dict[str, Any]:
    """The follow-ups of the coming week, and the complaints breached or due soon."""
    due = _followups(book, data, as_of)
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


def trends(data: Data, end: date) -> dict[str, Any]:
    """Complaints opened and resolved, and SLA compliance, for the weeks up to ``end``."""
    weeks = weeks_ending(end)
    c, t = data.complaints, data.targets
    rows = []
    for w in weeks:
        window = _sla_window(t, w.start, w.end)
        rows.append(
            {
                "label": w.label,
                "start": w.start.isoformat(),
                "end": w.end.isoformat(),
                "opened": int(_within(c["opened"], w.start, w.end).sum()),
                "resolved": int(_within(c["resolved"], w.start, w.end).sum()),
                "first_response": _compliance(window[window["target"] == "first_response"])["rate"],
                "resolution": _compliance(window[window["target"] == "resolution"])["rate"],
                "overall": _compliance(window)["rate"],
            }
        )
    return {"weeks": rows}


def daily_by_channel(data: Data, start: date, end: date) -> dict[str, Any]:
    """Interactions per day, by channel: ``{"days": [...], "series": {channel: [...]}}``."""
    inter = data.interactions
    week = inter[_within(inter["date"], start, end)]
    days = pd.date_range(_ts(start), _ts(end), freq="D")
    table = pd.crosstab(week["date"].dt.normalize(), week["channel"]).reindex(days, fill_value=0)
    order = [c for c in VOCABULARIES["channel"] if c in table.columns]
    order += sorted(c for c in table.columns if c not in order)
    return {
        "days": [d.date().isoformat() for d in days],
        "series": {str(c): [int(v) for v in table[c]] for c in order},
    }


# ----------------------------------------------------------------------------- the whole


def figures(data: Data, start: date, end: date) -> dict[str, Any]:
    """The period figures (everything but the as-of snapshot)."""
    return {
        "contact": contact(data, start, end),
        "complaints": complaints(data, start, end),
        "satisfaction": satisfaction(data, start, end),
        "sales": sales(data, start, end),
    }


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
    parallel: bool = False,
) -> dict[str, Any]:
    """Every figure of the report for ``period``, with the previous period's beside it.

    >>> m = weekly(book, Period(date(2026, 11, 9), date(2026, 11, 15), "2026-W46"),
    ...            datetime(2026, 11, 20, 15))  # doctest: +SKIP
    >>> m["contact"]["interactions"], m["headlines"][0]["previous"]  # doctest: +SKIP
    (31, 27)
    """
    previous = period.previous()
    earliest = min(previous.start, weeks_ending(period.end)[0].start)
    data = prepare(book, as_of, since=min(earliest, as_of.date()))
    previous_moment = as_of - timedelta(days=period.days)
    # The follow-ups take longest; with ``parallel`` a forked copy of this process
    # works them out meanwhile.
    pending = Forked(to_do, book, data, as_of) if parallel else None
    # What the charts show first, so they can be drawn while the rest is computed.
    week_trends = trends(data, period.end)
    daily = daily_by_channel(data, period.start, period.end)
    happy = satisfaction(data, period.start, period.end)
    if on_chart_data is not None:
        on_chart_data(chart_data(book.settings.locale, {"satisfaction": happy}, week_trends, daily))
    current = figures(data, period.start, period.end)
    before = figures(data, previous.start, previous.end)
    current["relationships"] = standing(book, data, as_of, previous_moment) | (
        pending.result() if pending else to_do(book, data, as_of)
    )
    before["relationships"] = {"at_risk_count": current["relationships"]["at_risk_previous"]}
    return {
        "period": period.to_json(),
        "previous_period": previous.to_json(),
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
    }
