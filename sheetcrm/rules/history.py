"""One customer's whole story, so whoever takes the next call never makes them explain again.

``story`` gathers details, open complaints with their service-level state, a
newest-first timeline and the figures that sum the relationship up (finding the
customer someone typed is :mod:`sheetcrm.workbook.find`). Pure: a Book and an
``as_of`` in, plain data out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from sheetcrm.workbook.book import Book, as_record, is_missing

# The story's rules (service levels, value models) are imported where the story is told.
if TYPE_CHECKING:
    from sheetcrm.rules import value


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
