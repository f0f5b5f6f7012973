"""One customer's whole story, so whoever takes the next call never makes them explain again.

``find_customers`` resolves what a person types (an id, a name, an email, or a
near miss of one) to customers; ``story`` gathers details, open complaints with
their service-level state, a newest-first timeline and the figures that sum
the relationship up. Pure: a Book and an ``as_of`` in, plain data out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from sheetcrm.errors import Problem, SheetCRMError
from sheetcrm.workbook.book import Book, as_record, is_missing
from sheetcrm.workbook.matching import closest_ids, closest_texts

# The story's rules only where the story is told: a write that finds a customer by
# name (``log --customer Jane``) needs none of the service levels or value models.
if TYPE_CHECKING:
    from sheetcrm.rules import value


@dataclass(slots=True)
class Lookup:
    """What a typed customer reference matched: exactly one, several, or near misses."""

    matches: list[dict[str, Any]]
    suggestions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def one(self) -> dict[str, Any] | None:
        return self.matches[0] if len(self.matches) == 1 else None


def find_customers(book: Book, text: str) -> Lookup:
    """Customers matching an id, an email or a name (whole or part), case-insensitively.

    An exact id or email wins; otherwise every customer whose name contains the
    text. With no match, near misses of ids, names and emails are suggested.
    """
    customers = book.customers.dropna(subset=["customer_id"])
    wanted = text.strip().casefold()
    if not wanted:
        return Lookup([])
    ids = customers["customer_id"].astype(str).str.casefold()
    emails = customers["email"].fillna("").astype(str).str.casefold()
    names = customers["name"].fillna("").astype(str).str.casefold()
    for mask in (
        ids == wanted,
        emails == wanted,
        names == wanted,
        names.str.contains(wanted, regex=False),
    ):
        if mask.any():
            # A repeated id is one customer typed twice (validate names the copy): the
            # first row wins, as in every other lookup by id.
            matched = customers[mask].drop_duplicates("customer_id")
            return Lookup([as_record(r) for _, r in matched.iterrows()])
    near: list[str] = []
    near += closest_ids(text, customers["customer_id"].astype(str).tolist())
    by_name = closest_texts(text, customers["name"].fillna("").astype(str).tolist())
    by_email = closest_texts(text, customers["email"].fillna("").astype(str).tolist())
    keep = (
        customers["customer_id"].isin(near)
        | customers["name"].isin(by_name)
        | (customers["email"].isin(by_email))
    )
    return Lookup([], [as_record(r) for _, r in customers[keep].head(3).iterrows()])


def no_match(text: str, found: Lookup) -> SheetCRMError:
    """The refusal when ``text`` names no customer, offering the near misses to try."""
    hint = ""
    if found.suggestions:
        hint = "did you mean " + " or ".join(describe(r) for r in found.suggestions) + "?"
    return SheetCRMError(
        Problem(
            "unknown_customer",
            f"no customer matches {text!r}",
            hint=hint or "check the Customers sheet",
        )
    )


def describe(record: dict[str, Any]) -> str:
    """``C-0012 Jane Doe (jane@example.com)``: how a customer is named in messages."""
    contact = record.get("email") or record.get("phone")
    return f"{record['customer_id']} {record.get('name') or ''}".strip() + (
        f" ({contact})" if contact else ""
    )


def story(
    book: Book, customer_id: str, as_of: datetime, *, worth: value.Estimate | None = None
) -> dict[str, Any]:
    """Everything about one customer as plain, JSON-able data.

    ``worth``: the customer-value estimate as of that day, when the caller has it.
    """
    from sheetcrm.rules import followups, sla

    customers = book.customers
    customer = as_record(customers[customers["customer_id"] == customer_id].iloc[0])
    inter = book.interactions[book.interactions["customer_id"] == customer_id]
    comp = book.complaints[book.complaints["customer_id"] == customer_id]
    sales = book.sales[book.sales["customer_id"] == customer_id]

    timeline: list[dict[str, Any]] = []
    for r in inter.itertuples(index=False):
        timeline.append(
            {
                "when": _iso(r.date),
                "kind": "interaction",
                "id": r.interaction_id,
                "what": f"{r.type} by {r.channel}" + (f" ({r.direction})" if r.direction else ""),
                "text": r.summary,
                "staff": r.staff,
                "outcome": r.outcome,
                "satisfaction": None if is_missing(r.satisfaction) else int(r.satisfaction),
            }
        )
    for r in comp.itertuples(index=False):
        timeline.append(
            {
                "when": _iso(r.opened),
                "kind": "complaint",
                "id": r.complaint_id,
                "what": f"complaint opened ({r.severity}, {r.status})",
                "text": r.summary,
                "staff": r.owner,
                "outcome": r.resolution,
                "satisfaction": None,
            }
        )
        if not is_missing(r.resolved):
            timeline.append(
                {
                    "when": _iso(r.resolved),
                    "kind": "complaint",
                    "id": r.complaint_id,
                    "what": "complaint resolved",
                    "text": r.resolution or "",
                    "staff": r.owner,
                    "outcome": "resolved",
                    "satisfaction": None,
                }
            )
    for r in sales.itertuples(index=False):
        timeline.append(
            {
                "when": _iso(r.date),
                "kind": "sale",
                "id": r.order_id,
                "what": f"order of {r.amount:,.2f} {book.settings.currency}",
                "text": r.product or "",
                "staff": r.staff,
                "outcome": None,
                "satisfaction": None,
            }
        )
    timeline.sort(key=lambda e: (e["when"] or "", e["id"] or ""), reverse=True)

    still_open = comp[comp["status"].isin(("open", "in_progress", "waiting_on_customer"))]
    # Their due times only: every other complaint's would be worked out for nothing.
    open_targets = sla.targets(book, as_of, complaints=still_open)
    open_complaints = []
    for r in still_open.itertuples(index=False):
        mine = open_targets[open_targets["complaint_id"] == r.complaint_id]
        open_complaints.append(
            {
                "complaint_id": r.complaint_id,
                "opened": _iso(r.opened),
                "severity": r.severity,
                "status": r.status,
                "summary": r.summary,
                "owner": r.owner,
                "targets": [
                    {
                        "target": t.target,
                        "state": t.state,
                        "due": _iso(t.due),
                        "minutes": None if is_missing(t.minutes) else round(t.minutes),
                    }
                    for t in mine.itertuples(index=False)
                ],
            }
        )

    dates = inter["date"].dropna()
    recent = dates[dates >= pd.Timestamp(as_of - timedelta(days=90))]
    scores = inter["satisfaction"].dropna()
    gap = followups.rhythm(book, customer_id)
    figures = {
        "first_contact": _iso(dates.min()) if len(dates) else None,
        "last_contact": _iso(dates.max()) if len(dates) else None,
        "contacts_last_90_days": len(recent),
        "average_satisfaction": round(float(scores.mean()), 2) if len(scores) else None,
        "satisfaction_responses": len(scores),
        "praise": int((inter["type"] == "praise").sum()),
        "complaints": len(comp),
        "orders": len(sales),
        "total_sales": round(float(sales["amount"].sum()), 2),
        "days_between_purchases": None if gap is None else round(gap, 1),
    }
    return {
        "value": customer_value(book, customer_id, as_of, worth=worth),
        "customer": {
            k: _iso(v) if hasattr(v, "isoformat") else v
            for k, v in customer.items()
            if k != "excel_row"
        },
        "open_complaints": open_complaints,
        "figures": figures,
        "timeline": timeline,
        "currency": book.settings.currency,
    }


def customer_value(
    book: Book, customer_id: str, as_of: datetime, *, worth: value.Estimate | None = None
) -> dict[str, Any]:
    """P(alive) band, expected orders and value, RFM segment (:mod:`sheetcrm.rules.value`)."""
    from sheetcrm.rules import rfm, value

    day = as_of.date()
    segment = rfm.segments(book.sales, day)["segment"].get(str(customer_id))
    est = value.for_day(worth, book.sales, day)
    return value.customer_figures(est, str(customer_id), segment)


def _iso(value: Any) -> str | None:
    if value is None or is_missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    return value.isoformat()
