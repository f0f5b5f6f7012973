"""Every figure of the weekly report, against a small workbook whose answers are worked out by hand.

The workbook (``SHOP``) covers week 46 of 2026 (Mon 9 - Sun 15 November) and the
week before it, seen from Friday 20 November 15:00. All complaints are
``critical``: clock hours, 1 hour to respond and 8 to resolve, so every due time
can be checked on the back of an envelope. The comments next to the records
say what each one is there to test.
"""

from __future__ import annotations

import copy
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from sheetcrm.rules import metrics
from sheetcrm.rules.metrics import Period
from sheetcrm.workbook.validation import load
from tests.conftest import AS_OF, VALID, write_book

W46 = Period(date(2026, 11, 9), date(2026, 11, 15), "2026-W46")


def _i(iid: str, when: datetime, cid: str, staff: str, channel: str, direction: str,
       kind: str, **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {
        "interaction_id": iid,
        "date": when,
        "customer_id": cid,
        "staff": staff,
        "channel": channel,
        "direction": direction,
        "type": kind,
        "summary": extra.pop("summary", f"{kind} {iid}"),
        **extra,
    }


def _k(kid: str, opened: datetime, cid: str, owner: str, status: str, **extra: Any) -> dict:
    return {
        "complaint_id": kid,
        "opened": opened,
        "customer_id": cid,
        "severity": "critical",  # clock hours: respond within 1 h, resolve within 8 h
        "summary": extra.pop("summary", f"complaint {kid}"),
        "owner": owner,
        "status": status,
        **extra,
    }


SHOP: dict[str, list[dict[str, Any]]] = {
    "Customers": [
        {
            "customer_id": "C-1",
            "name": "Anna",
            "owner": "Kari",
            "stage": "client",
            "since": date(2020, 1, 1),
            "email": "anna@example.com",
            "do_not_contact": "no",
        },
        {
            "customer_id": "C-2",
            "name": "Bo",
            "owner": "Per",
            "stage": "customer",
            "since": date(2026, 11, 10),
            "email": "bo@example.com",
        },  # new in week 46
        {
            "customer_id": "C-3",
            "name": "Cy",
            "owner": "Kari",
            "stage": "prospect",
            "email": "cy@example.com",
        },
        {
            "customer_id": "C-4",
            "name": "Di",
            "owner": "Per",
            "stage": "supporter",
            "since": date(2019, 5, 1),
            "phone": "+47 900 00 004",
        },  # quiet since June
        {
            "customer_id": "C-5",
            "name": "Ed",
            "owner": "Kari",
            "stage": "customer",
            "since": date(2026, 11, 3),
            "email": "ed@example.com",
        },  # new in week 45
    ],
    "Interactions": [
        # week 46: five interactions
        _i(
            "I-1",
            datetime(2026, 11, 9, 10),
            "C-1",
            "Kari",
            "phone",
            "inbound",
            "complaint",
            outcome="resolved",
            satisfaction=4,
            complaint_id="K-1",
        ),  # resolved at first contact
        _i(
            "I-2",
            datetime(2026, 11, 10, 11),
            "C-2",
            "Per",
            "email",
            "outbound",
            "sale",
            satisfaction=5,
        ),
        _i(
            "I-3",
            datetime(2026, 11, 11, 9, 30),
            "C-1",
            "Kari",
            "email",
            "inbound",
            "praise",
            satisfaction=5,
        ),
        _i(
            "I-4",
            datetime(2026, 11, 12, 14),
            "C-3",
            "Per",
            "phone",
            "inbound",
            "complaint",
            outcome="escalated",
            satisfaction=2,
            complaint_id="K-2",
        ),
        _i(
            "I-5",
            datetime(2026, 11, 13, 16),
            "C-2",
            "Per",
            "in_person",
            "inbound",
            "enquiry",
            follow_up_on=date(2026, 11, 24),
        ),  # a follow-up in the coming week
        # week 45: three
        _i(
            "I-6",
            datetime(2026, 11, 3, 10),
            "C-5",
            "Kari",
            "phone",
            "inbound",
            "enquiry",
            satisfaction=3,
        ),
        _i("I-7", datetime(2026, 11, 4, 10), "C-1", "Kari", "phone", "outbound", "follow_up"),
        _i(
            "I-8",
            datetime(2026, 11, 5, 12),
            "C-5",
            "Kari",
            "email",
            "inbound",
            "complaint",
            outcome="escalated",
            satisfaction=1,
            complaint_id="K-3",
        ),
        # elsewhere
        _i("I-9", datetime(2026, 6, 1, 10), "C-4", "Per", "phone", "inbound", "enquiry"),
        _i("I-10", datetime(2026, 11, 18, 10), "C-5", "Kari", "phone", "outbound", "follow_up"),
    ],
    "Complaints": [
        # opened and closed in one call at 10:00: both targets met, first-contact resolution
        _k(
            "K-1",
            datetime(2026, 11, 9, 10),
            "C-1",
            "Kari",
            "resolved",
            category="repair quality",
            first_response=datetime(2026, 11, 9, 10),
            resolved=datetime(2026, 11, 9, 10, 10),
            resolution="Fixed on the phone",
        ),
        # responded an hour late (16:00, due 15:00); still open, resolution due 22:00: breached
        _k(
            "K-2",
            datetime(2026, 11, 12, 14),
            "C-3",
            "Per",
            "open",
            category="repair quality",
            first_response=datetime(2026, 11, 12, 16),
            summary='<script>alert(1)</script> =HYPERLINK("http://x")',
        ),
        # week 45, responded on time, resolved late in week 46 (due Thu 5 Nov 20:00)
        _k(
            "K-3",
            datetime(2026, 11, 5, 12),
            "C-5",
            "Kari",
            "resolved",
            first_response=datetime(2026, 11, 5, 12, 30),
            resolved=datetime(2026, 11, 10, 9),
            resolution="Replaced the part",
        ),
        # no interaction logged; resolved 25 minutes after opening: first-contact resolution
        _k(
            "K-4",
            datetime(2026, 11, 13, 9),
            "C-1",
            "Kari",
            "resolved",
            category="billing",
            first_response=datetime(2026, 11, 13, 9, 20),
            resolved=datetime(2026, 11, 13, 9, 25),
            resolution="Refunded",
        ),
    ],
    "Sales": [
        {"order_id": "S-1", "date": date(2026, 10, 1), "customer_id": "C-1", "amount": 1000},
        {"order_id": "S-2", "date": date(2026, 11, 10), "customer_id": "C-1", "amount": 500},
        {"order_id": "S-3", "date": date(2026, 11, 11), "customer_id": "C-2", "amount": 300},
        {"order_id": "S-4", "date": date(2026, 11, 14), "customer_id": "C-2", "amount": 200},
        {"order_id": "S-5", "date": date(2026, 11, 4), "customer_id": "C-5", "amount": 800},
    ],
    "Staff": copy.deepcopy(VALID["Staff"]),
    "SLA": copy.deepcopy(VALID["SLA"]),
    "Holidays": copy.deepcopy(VALID["Holidays"]),
    "Settings": copy.deepcopy(VALID["Settings"]),
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_book(tmp_path_factory.mktemp("shop") / "shop.xlsx", SHOP)


@pytest.fixture(scope="module")
def book(shop: Path):  # type: ignore[no-untyped-def]
    book, report = load(str(shop), as_of=AS_OF)
    assert report.errors == []
    return book


@pytest.fixture(scope="module")
def m(book) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return metrics.weekly(book, W46, AS_OF)


# ----------------------------------------------------------------------------- periods


def test_periods(m: dict[str, Any]) -> None:
    assert m["period"] == {
        "start": "2026-11-09",
        "end": "2026-11-15",
        "label": "2026-W46",
        "days": 7,
        "is_week": True,
        "is_partial": False,  # over before as-of: nothing is cut
        "until": None,
    }
    assert m["previous_period"]["start"] == "2026-11-02"
    assert m["previous_period"]["end"] == "2026-11-08"
    assert m["previous_period"]["label"] == "2026-W45"


def test_figures_are_plain_json(m: dict[str, Any]) -> None:
    assert json.loads(json.dumps(m))["contact"]["interactions"] == 5


# ----------------------------------------------------------------------------- contact


def test_contact(m: dict[str, Any]) -> None:
    c = m["contact"]
    assert c["interactions"] == 5
    assert c["by_channel"] == {"phone": 2, "email": 2, "in_person": 1}
    assert list(c["by_channel"]) == ["email", "phone", "in_person"]  # ties: vocabulary order
    assert c["by_type"] == {"complaint": 2, "sale": 1, "praise": 1, "enquiry": 1}
    assert c["by_direction"] == {"inbound": 4, "outbound": 1}
    assert c["by_staff"] == {"Per": 3, "Kari": 2}
    assert c["customers_contacted"] == 3  # C-1, C-2, C-3
    assert c["new_customers"] == 1  # C-2 since 10 Nov
    # C-1 (ordered 1 Oct) and C-2, whose first order was this week and who came back on the 14th
    assert c["returning_customers"] == 2


def test_contact_last_week(m: dict[str, Any]) -> None:
    c = m["previous"]["contact"]
    assert c["interactions"] == 3
    assert c["customers_contacted"] == 2
    assert c["new_customers"] == 1  # C-5 since 3 Nov
    assert c["returning_customers"] == 0


# ----------------------------------------------------------------------------- complaints


def test_complaint_counts(m: dict[str, Any]) -> None:
    k = m["complaints"]
    assert k["opened"] == 3  # K-1, K-2, K-4
    assert k["resolved"] == 3  # K-1, K-3 (opened the week before), K-4
    assert k["open_at_end"] == 1  # K-2
    assert k["by_category"] == {"repair quality": 2, "billing": 1}
    assert k["by_severity"] == {"critical": 3}


def test_complaint_counts_last_week(m: dict[str, Any]) -> None:
    k = m["previous"]["complaints"]
    assert (k["opened"], k["resolved"], k["open_at_end"]) == (1, 0, 1)  # K-3


def test_sla_compliance(m: dict[str, Any]) -> None:
    sla = m["complaints"]["sla"]
    # first response: K-1 met, K-2 late, K-4 met (K-3's fell due the week before)
    assert sla["first_response"] == {"due": 3, "met": 2, "rate": 0.6667}
    # resolution: K-1 met, K-2 breached, K-4 met; K-3's fell due (and counts) the week before,
    # although it was met late in this one: a target counts once, in the week it falls due
    assert sla["resolution"] == {"due": 3, "met": 2, "rate": 0.6667}
    assert sla["overall"] == {"due": 6, "met": 4, "rate": 0.6667}


def test_sla_compliance_per_owner(m: dict[str, Any]) -> None:
    by_owner = m["complaints"]["sla"]["by_owner"]
    assert list(by_owner) == ["Kari", "Per"]
    assert by_owner["Kari"]["first_response"] == {"due": 2, "met": 2, "rate": 1.0}
    assert by_owner["Kari"]["resolution"] == {"due": 2, "met": 2, "rate": 1.0}
    assert by_owner["Kari"]["overall"] == {"due": 4, "met": 4, "rate": 1.0}
    assert by_owner["Per"]["overall"] == {"due": 2, "met": 0, "rate": 0.0}


def test_sla_compliance_last_week(m: dict[str, Any]) -> None:
    sla = m["previous"]["complaints"]["sla"]
    assert sla["first_response"] == {"due": 1, "met": 1, "rate": 1.0}  # K-3 on time
    assert sla["resolution"] == {"due": 1, "met": 0, "rate": 0.0}  # K-3 resolved late
    assert sla["overall"]["rate"] == 0.5


def test_median_times_in_clock_hours(m: dict[str, Any]) -> None:
    k = m["complaints"]
    # responses in the week: K-1 0 min, K-2 2 h, K-4 20 min
    assert k["median_first_response_hours"] == 0.33
    # resolutions in the week: K-1 10 min, K-4 25 min, K-3 4 days 21 hours
    assert k["median_resolution_hours"] == 0.42
    assert m["previous"]["complaints"]["median_resolution_hours"] is None


def test_first_contact_resolution(m: dict[str, Any]) -> None:
    k = m["complaints"]
    # K-1: its opening interaction says resolved; K-4: no interaction, resolved in 25 minutes;
    # K-3: opened by an escalated call and resolved days later
    assert k["first_contact_resolved"] == 2
    assert k["first_contact_resolution_rate"] == 0.6667
    assert m["previous"]["complaints"]["first_contact_resolution_rate"] is None


def test_breached_and_due_soon_now(m: dict[str, Any]) -> None:
    overdue = m["relationships"]["overdue"]
    assert [(b["complaint_id"], b["target"], b["state"]) for b in overdue] == [
        ("K-2", "resolution", "breached")
    ]
    assert overdue[0]["due"] == "2026-11-12T22:00"
    assert overdue[0]["minutes"] == 185 * 60  # 7 days 17 hours late
    assert overdue[0]["customer"] == "Cy"
    assert overdue[0]["owner"] == "Per"
    assert m["relationships"]["overdue_count"] == 1


# ----------------------------------------------------------------------------- satisfaction


def test_satisfaction(m: dict[str, Any]) -> None:
    s = m["satisfaction"]
    assert s["responses"] == 4
    assert s["average"] == 4.0  # (4 + 5 + 5 + 2) / 4
    assert s["distribution"] == {1: 0, 2: 1, 3: 0, 4: 1, 5: 2}
    assert s["praise"] == 1
    assert s["complaints"] == 3
    assert s["praise_per_complaint"] == 0.33


def test_satisfaction_last_week(m: dict[str, Any]) -> None:
    s = m["previous"]["satisfaction"]
    assert (s["responses"], s["average"], s["praise_per_complaint"]) == (2, 2.0, 0.0)


# ----------------------------------------------------------------------------- relationships


def test_customers_per_stage(m: dict[str, Any]) -> None:
    assert m["relationships"]["by_stage"] == {
        "prospect": 1,
        "customer": 2,
        "client": 1,
        "supporter": 1,
        "advocate": 0,
        "partner": 0,
    }
    assert m["relationships"]["customers"] == 5


def test_customers_at_risk_with_their_reasons(m: dict[str, Any]) -> None:
    risk = {r["customer_id"]: r["reasons"] for r in m["relationships"]["at_risk"]}
    assert [r["customer_id"] for r in m["relationships"]["at_risk"]] == ["C-3", "C-5", "C-4"]
    assert risk["C-3"] == [
        {"reason": "complaint_overdue", "complaint_id": "K-2", "due": "2026-11-12T22:00"},
        {"reason": "low_score", "score": 2, "date": "2026-11-12"},
    ]
    assert risk["C-5"] == [{"reason": "low_score", "score": 1, "date": "2026-11-05"}]
    # as of the end of the week (Mon 16 Nov 00:00), not as-of
    assert risk["C-4"] == [{"reason": "no_contact", "last_contact": "2026-06-01", "days": 167}]
    assert m["relationships"]["at_risk_count"] == 3
    # at the end of week 45: C-4 and C-5; C-3's complaint and score came in week 46
    assert m["relationships"]["at_risk_previous"] == 2


def test_followups_in_the_coming_week(m: dict[str, Any]) -> None:
    followups = m["relationships"]["followups"]
    assert [(f["customer_id"], f["on"], f["reasons"]) for f in followups] == [
        ("C-4", "2026-11-20", ["gone_quiet"]),  # due now, by the followups rules
        ("C-2", "2026-11-24", ["follow_up_scheduled"]),  # I-5's follow_up_on
    ]
    assert m["relationships"]["followups_count"] == 2


# ----------------------------------------------------------------------------- sales


def test_sales(m: dict[str, Any]) -> None:
    s = m["sales"]
    assert s["orders"] == 3
    assert s["revenue"] == 1000.0
    assert s["average_order"] == 333.33
    assert s["customers"] == 2
    assert s["returning_customers"] == 2  # C-2 came back on another day of the week
    assert s["repeat_purchase_share"] == 1.0
    assert s["median_days_between_orders"] == 21.5  # S-2: 40 days after S-1, S-4: 3 after S-3


def test_sales_last_week(m: dict[str, Any]) -> None:
    s = m["previous"]["sales"]
    assert (s["orders"], s["revenue"], s["repeat_purchase_share"]) == (1, 800.0, 0.0)


# ----------------------------------------------------------------------------- headlines


def test_headlines_with_last_week_and_change(m: dict[str, Any]) -> None:
    rows = {
        h["key"]: (h["value"], h["previous"], h["direction"], h["good"]) for h in m["headlines"]
    }
    assert rows == {
        "interactions": (5, 3, "up", True),
        "customers_contacted": (3, 2, "up", True),
        "complaints_opened": (3, 1, "up", False),  # more complaints is bad
        "sla_compliance": (0.6667, 0.5, "up", True),
        "first_contact_resolution": (0.6667, None, "none", None),  # nothing resolved before
        "satisfaction": (4.0, 2.0, "up", True),
        "at_risk": (3, 2, "up", False),
        "revenue": (1000.0, 800.0, "up", True),
    }
    sla = next(h for h in m["headlines"] if h["key"] == "sla_compliance")
    assert sla["change"] == 0.17  # shown as whole percentage points


def test_trends_over_eight_weeks(m: dict[str, Any]) -> None:
    weeks = m["trends"]["weeks"]
    assert [w["label"] for w in weeks] == [f"2026-W{n}" for n in range(39, 47)]
    assert [(w["opened"], w["resolved"]) for w in weeks[-2:]] == [(1, 0), (3, 3)]
    assert weeks[-1]["overall"] == 0.6667
    assert weeks[0]["overall"] is None  # nothing fell due


def test_interactions_per_day_by_channel(m: dict[str, Any]) -> None:
    assert m["daily"]["days"][0] == "2026-11-09"
    assert m["daily"]["series"] == {
        "email": [0, 1, 1, 0, 0, 0, 0],
        "phone": [1, 0, 0, 1, 0, 0, 0],
        "in_person": [0, 0, 0, 0, 1, 0, 0],
    }


def test_an_empty_week_has_no_rates_rather_than_zeros(book) -> None:  # type: ignore[no-untyped-def]
    quiet = metrics.weekly(book, Period(date(2026, 1, 5), date(2026, 1, 11), "2026-W02"), AS_OF)
    assert quiet["contact"]["interactions"] == 0
    assert quiet["complaints"]["sla"]["overall"] == {"due": 0, "met": 0, "rate": None}
    assert quiet["satisfaction"]["average"] is None
    assert quiet["sales"]["average_order"] is None


def test_change_is_flat_when_it_rounds_to_nothing() -> None:
    assert metrics._change(4.66, 4.57, "up", "score")["direction"] == "up"  # 4.7 vs 4.6
    assert metrics._change(4.62, 4.57, "up", "score")["direction"] == "flat"  # both 4.6
    assert metrics._change(4.61, 4.64, "up", "score")["direction"] == "flat"
    assert metrics._change(0.801, 0.799, "up", "percent")["direction"] == "flat"
