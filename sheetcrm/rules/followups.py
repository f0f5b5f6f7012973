"""Whom to contact today and how: follow-ups that care without pestering.

Pure: a Book and an ``as_of`` in, suggestions out. The rules, in the owner's words:

- **Follow-up due**: an interaction's ``follow_up_on`` date has come and there
  has been no contact with that customer since that interaction.
- **After a complaint**: a complaint resolved between 1 and
  ``COMPLAINT_CHECK_DAYS`` days ago with no contact since it was resolved:
  ask how it went.
- **Gone quiet**: a customer at stage customer or above with no contact for
  ``at_risk_after_days`` or more (exactly 90 days counts).
- **Buying rhythm**: a customer with at least three orders (order rows, on at
  least two different days) whose next order is overdue by their own rhythm: the
  average days between the days they ordered (orders on one day are one visit).
  No nudge to buy while they have an open complaint or had any contact within
  ``followup_cooldown_days``.
- **Slipping away**: the purchase model puts the chance they still buy between
  0.3 and 0.8 (:mod:`sheetcrm.rules.value`).

Customers with the most value at risk (what they usually spend in 90 days times
the chance they have gone) come first, then by the most pressing reason.

A customer with several reasons gets one suggestion listing them all: one call,
not four. Suggestions are suppressed, with the reason kept for ``--all``, when
the customer is marked do-not-contact or had an outbound contact within
``followup_cooldown_days``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import pandas as pd

from sheetcrm.contract import OPEN_STATUSES
from sheetcrm.rules import value
from sheetcrm.rules.sla import known_owner
from sheetcrm.workbook.book import Book, as_records, lookup

Reason = Literal[
    "follow_up_due",
    "complaint_check",
    "gone_quiet",
    "purchase_overdue",
    "follow_up_scheduled",
    "slipping_away",
]
COMPLAINT_CHECK_DAYS = 7
MIN_ORDERS_FOR_RHYTHM = 3
# Stages from customer up: a prospect who has gone quiet is not "at risk".
ACTIVE_STAGES = ("customer", "client", "supporter", "advocate", "partner")
_CONTACT_COLUMNS = (
    "customer_id",
    "name",
    "owner",
    "do_not_contact",
    "preferred_channel",
    "email",
    "phone",
)
_INTERACTION_COLUMNS = (
    "customer_id",
    "date",
    "direction",
    "channel",
    "type",
    "summary",
    "follow_up_on",
)
_PRIORITY: dict[str, int] = {
    "complaint_check": 0,
    "follow_up_due": 1,
    "purchase_overdue": 2,
    "gone_quiet": 3,
    "follow_up_scheduled": 4,
    "slipping_away": 5,
}


@dataclass(frozen=True, slots=True)
class Why:
    reason: Reason
    sentence: str
    since: date  # when this reason became due, for ordering


@dataclass(slots=True)
class Suggestion:
    customer_id: str
    name: str
    owner: str
    channel: str
    contact: str  # the phone or email to use on that channel
    reasons: list[Why] = field(default_factory=list)
    suppressed: str | None = None  # why not to contact them now

    @property
    def sentence(self) -> str:
        return " ".join(w.sentence for w in self.reasons)

    def to_json(self) -> dict[str, object]:
        return {
            "customer_id": self.customer_id,
            "name": self.name,
            "owner": self.owner,
            "channel": self.channel,
            "contact": self.contact,
            "reasons": [w.reason for w in self.reasons],
            "why": self.sentence,
            "suppressed": self.suppressed,
        }


def quiet_since(moment: pd.Timestamp | datetime, days: int) -> pd.Timestamp:
    """The latest last contact that makes a customer "gone quiet" at ``moment``."""
    return pd.Timestamp(moment) - pd.Timedelta(days=days)


def held_back(
    customer: Mapping[str, Any],
    last_outbound: pd.Timestamp | None,
    moment: datetime,
    cooldown_days: int,
) -> str | None:
    """Why not to contact this customer at ``moment``, or None: the one rule for both the
    ``followups`` list and the report's coming week."""
    if _yes(customer["do_not_contact"]):
        return "marked do not contact"
    if last_outbound is not None and pd.Timestamp(moment) - last_outbound < timedelta(
        days=cooldown_days
    ):
        return f"contacted on {last_outbound:%Y-%m-%d} (cool-down of {cooldown_days} days)"
    return None


def _d(value: object) -> date:
    return pd.Timestamp(value).date()


def due(
    book: Book,
    as_of: datetime,
    *,
    owner: str | None = None,
    include_suppressed: bool = False,
    worth: value.Estimate | None = None,
) -> list[Suggestion]:
    """The follow-ups due at ``as_of``, most pressing first (suppressed ones last).

    An ``owner`` nobody has is refused (:func:`sla.known_owner`), not answered with nothing.
    ``worth`` is the customer-value estimate of the book's sales as of that day, when the
    caller has it already (:func:`value.estimate` otherwise).
    """
    if owner is not None:
        owner = known_owner(book, owner)
    today = as_of.date()
    worth = value.for_day(worth, book.sales, today)
    settings = book.settings
    customers = book.customers_by_id()
    # Only the columns the rules read: copying all of 100,000 rows costs more than the rules.
    inter = book.interactions[list(_INTERACTION_COLUMNS)]
    inter = inter[inter["customer_id"].notna() & (inter["date"] <= pd.Timestamp(as_of))]
    last_contact = inter.groupby("customer_id")["date"].max()
    # Plain dicts: Series.get in the loops below costs more than the rules themselves.
    last_outbound = (
        (inter["date"].where(inter["direction"] == "outbound").groupby(inter["customer_id"]).max())
        .dropna()
        .to_dict()
    )

    found: dict[str, list[Why]] = {}

    def add(customer_id: str, why: Why) -> None:
        if customer_id in customers.index:
            found.setdefault(customer_id, []).append(why)

    # Follow-up dates that have come, with no contact since the interaction that set them.
    pending = inter[inter["follow_up_on"].notna()]
    pending = pending[pending["follow_up_on"].map(lambda d: d <= today).astype(bool)]
    pending = pending[lookup(pending["customer_id"], last_contact) <= pending["date"]]
    last_contact_at = last_contact.to_dict()
    for rec in pending.itertuples(index=False):
        add(
            rec.customer_id,
            Why(
                "follow_up_due",
                f"Follow-up was due on {rec.follow_up_on:%Y-%m-%d} after the {rec.type} of "
                f"{rec.date:%Y-%m-%d} ({_clip(rec.summary)}).",
                rec.follow_up_on,
            ),
        )

    # Complaints resolved lately with no contact since: ask how it went.
    complaints = book.complaints.dropna(subset=["resolved", "customer_id"])
    window_start = pd.Timestamp(as_of - timedelta(days=COMPLAINT_CHECK_DAYS))
    window_end = pd.Timestamp(as_of - timedelta(days=1))
    recent = complaints[
        (complaints["resolved"] >= window_start) & (complaints["resolved"] <= window_end)
    ]
    for rec in recent.itertuples(index=False):
        if last_contact_at.get(rec.customer_id, rec.resolved) > rec.resolved:
            continue
        add(
            rec.customer_id,
            Why(
                "complaint_check",
                f"Complaint {rec.complaint_id} ({_clip(rec.summary)}) was resolved on "
                f"{rec.resolved:%Y-%m-%d}: ask how it went.",
                _d(rec.resolved),
            ),
        )

    # Customers gone quiet.
    quiet_before = quiet_since(as_of, settings.at_risk_after_days)
    for rec in customers[customers["stage"].isin(ACTIVE_STAGES)].itertuples(index=False):
        last = last_contact_at.get(rec.customer_id)
        if last is None:
            since = rec.since
            if since is None or pd.isna(since) or pd.Timestamp(since) > quiet_before:
                continue
            add(
                rec.customer_id,
                Why(
                    "gone_quiet",
                    f"No contact recorded since they became a {rec.stage} on {since:%Y-%m-%d}.",
                    _d(since),
                ),
            )
        elif last <= quiet_before:
            days = (as_of - last.to_pydatetime()).days
            add(
                rec.customer_id,
                Why(
                    "gone_quiet",
                    f"No contact for {days} days (last on {last:%Y-%m-%d}).",
                    _d(last) + timedelta(days=settings.at_risk_after_days),
                ),
            )

    # Buying rhythm: the next order is later than their usual gap. No sales nudge to a
    # customer with an open complaint, or one we (or they) were in touch with lately.
    cooldown = timedelta(days=settings.followup_cooldown_days)
    complaints_open = book.complaints[
        book.complaints["status"].isin(OPEN_STATUSES)
        & (book.complaints["opened"] <= pd.Timestamp(as_of))
    ]
    busy = set(complaints_open["customer_id"].dropna())
    busy |= {c for c, at in last_contact_at.items() if pd.Timestamp(as_of) - at < cooldown}
    for customer_id, expected, gap, last in _purchase_rhythm(book, as_of):
        if customer_id in busy:
            continue
        add(
            customer_id,
            Why(
                "purchase_overdue",
                f"They usually order every {gap:.0f} days; the last order was on "
                f"{last:%Y-%m-%d}, so the next was expected by {expected:%Y-%m-%d}.",
                expected,
            ),
        )

    # The value models: slipping customers, and the stake that orders the list.
    hints = value.followup_hints(worth)
    for customer_id, hint in hints.items():
        if hint.sentence:
            add(customer_id, Why("slipping_away", hint.sentence, today))

    suggestions: list[Suggestion] = []
    inbound = inter.loc[inter["direction"] == "inbound", ["customer_id", "date", "channel"]]
    inbound = inbound[inbound["customer_id"].isin(found)].sort_values("date", kind="stable")
    last_inbound_channel = inbound.groupby("customer_id")["channel"].last().to_dict()
    # Plain dicts: looking a customer up in a frame row by row costs more than the rules.
    wanted = customers.loc[list(found), list(_CONTACT_COLUMNS)]
    records = {rec["customer_id"]: rec for rec in as_records(wanted)}
    for customer_id, reasons in found.items():
        c = records[customer_id]
        if owner is not None and str(c["owner"] or "").casefold() != owner.casefold():
            continue
        suppressed = held_back(
            c, last_outbound.get(customer_id), as_of, settings.followup_cooldown_days
        )
        if suppressed and not include_suppressed:
            continue
        channel, contact = _how(c, last_inbound_channel.get(customer_id))
        reasons.sort(key=lambda w: (_PRIORITY[w.reason], w.since))
        suggestions.append(
            Suggestion(
                customer_id,
                c["name"] or "",
                c["owner"] or "",
                channel,
                contact,
                reasons,
                suppressed,
            )
        )
    suggestions.sort(
        key=lambda s: (
            s.suppressed is not None,
            -(hints[s.customer_id].value_at_risk if s.customer_id in hints else 0.0),
            _PRIORITY[s.reasons[0].reason],
            s.reasons[0].since,
            s.customer_id,
        )
    )
    return suggestions


def _purchase_rhythm(book: Book, as_of: datetime) -> list[tuple[str, date, float, date]]:
    """(customer_id, expected next order, average gap in days, last order) where overdue."""
    today = as_of.date()
    sales = book.sales[["customer_id", "date"]].dropna()
    # Day numbers: pandas compares date objects one by one, in Python.
    visits = pd.DataFrame(
        {"customer": sales["customer_id"], "day": sales["date"].map(date.toordinal).astype("int64")}
    )
    # Three orders qualify, wherever they fall; the rhythm is between distinct days
    # (orders on one day are one visit), so it needs two days at least.
    visits = visits[visits["day"] <= today.toordinal()]
    days = visits.groupby("customer")["day"].agg(["min", "max", "nunique", "count"])
    days = days[(days["count"] >= MIN_ORDERS_FOR_RHYTHM) & (days["nunique"] >= 2)]
    result = []
    for customer_id, first, last, visit_days, _orders in days.itertuples():
        gap = (last - first) / (visit_days - 1)
        expected = date.fromordinal(last + round(gap))
        if expected < today:
            result.append((str(customer_id), expected, gap, date.fromordinal(last)))
    return result


def scheduled(book: Book, as_of: datetime, days: int) -> list[tuple[date, Suggestion]]:
    """Follow-ups planned for the ``days`` after today, each with its day, judged by the rules
    of :func:`due` on that day (at as-of's time of day): no contact since the interaction that
    set it, not marked do-not-contact, not inside the cool-down then. First planned first."""
    today = as_of.date()
    settings = book.settings
    inter = book.interactions[list(_INTERACTION_COLUMNS)]
    inter = inter[inter["customer_id"].notna() & (inter["date"] <= pd.Timestamp(as_of))]
    planned = inter[inter["follow_up_on"].notna()]
    on = planned["follow_up_on"].map(_d)
    window = (on > today) & (on <= today + timedelta(days=days))
    planned = planned[window.astype(bool)].assign(on=on[window.astype(bool)])
    if planned.empty:
        return []
    last_contact = inter.groupby("customer_id")["date"].max()
    planned = planned[lookup(planned["customer_id"], last_contact) <= planned["date"]]
    planned = planned.sort_values(["on", "customer_id"], kind="stable")
    planned = planned.drop_duplicates("customer_id")
    customers = book.customers_by_id()
    wanted = customers.loc[customers.index.isin(planned["customer_id"]), list(_CONTACT_COLUMNS)]
    records = {rec["customer_id"]: rec for rec in as_records(wanted)}
    mine = inter[inter["customer_id"].isin(records)]
    last_outbound = (
        mine["date"].where(mine["direction"] == "outbound").groupby(mine["customer_id"]).max()
    ).dropna()
    inbound = mine[mine["direction"] == "inbound"].sort_values("date", kind="stable")
    last_inbound_channel = inbound.groupby("customer_id")["channel"].last().to_dict()
    result = []
    for rec in planned.itertuples(index=False):
        c = records.get(rec.customer_id)
        if c is None:
            continue
        moment = datetime.combine(rec.on, as_of.time())
        cooldown = settings.followup_cooldown_days
        if held_back(c, last_outbound.get(rec.customer_id), moment, cooldown):
            continue
        channel, contact = _how(c, last_inbound_channel.get(rec.customer_id))
        why = Why(
            "follow_up_scheduled",
            f"Follow-up planned for {rec.on:%Y-%m-%d} after the {rec.type} of "
            f"{rec.date:%Y-%m-%d} ({_clip(rec.summary)}).",
            rec.on,
        )
        suggestion = Suggestion(
            str(rec.customer_id), c["name"] or "", c["owner"] or "", channel, contact, [why]
        )
        result.append((rec.on, suggestion))
    return result


def rhythm(book: Book, customer_id: str) -> float | None:
    """Average days between a customer's orders, or None with fewer than two."""
    sales = book.sales
    days = sorted(set(sales.loc[sales["customer_id"] == customer_id, "date"].dropna()))
    if len(days) < 2:
        return None
    return (days[-1] - days[0]).days / (len(days) - 1)


def how_to_reach(customer: Mapping[str, Any]) -> tuple[str, str]:
    """The channel to use for this customer and the phone number or email address for it."""
    return _how(customer, None)


def _how(customer: Mapping[str, Any], last_inbound_channel: str | None) -> tuple[str, str]:
    """The channel to use and the detail for it: their preferred channel, else the one they
    last used, else email. A line never pairs a channel with the wrong detail: phone or sms
    without a phone number becomes email, email without an address becomes phone."""
    email = customer["email"] or ""
    phone = customer["phone"] or ""
    channel = customer["preferred_channel"] or last_inbound_channel
    if not channel:
        channel = "email" if email or not phone else "phone"
    if channel in ("phone", "sms") and not phone and email:
        channel = "email"
    elif channel == "email" and not email and phone:
        channel = "phone"
    detail = {"email": email, "phone": phone, "sms": phone}.get(channel)
    # in person, by letter, on the web: the number or address to arrange it with
    return channel, detail if detail is not None else (phone or email)


def _clip(text: object, width: int = 50) -> str:
    text = str(text or "").strip()
    return text if len(text) <= width else text[: width - 1] + "…"


def _yes(value: object) -> bool:
    return value is not None and not pd.isna(value) and bool(value)
