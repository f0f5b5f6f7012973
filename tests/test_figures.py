"""The weekly figures by their written definitions (issue 13) and answers that never mislead
(issue 14): each defect found by the independent recomputation has a test here that failed
before its fix, and every boundary of a definition is tested just inside and just outside.
"""

from __future__ import annotations

import copy
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sheetcrm.cli import cli
from sheetcrm.errors import SheetCRMError
from sheetcrm.rules import followups, metrics, sla
from sheetcrm.rules.metrics import Period
from sheetcrm.workbook.validation import load
from tests.conftest import AS_OF, SAMPLE, VALID, complaint, contact, customer, write_book

W46 = Period(date(2026, 11, 9), date(2026, 11, 15), "2026-W46")
W47 = Period(date(2026, 11, 16), date(2026, 11, 22), "2026-W47")


def _book(tmp_path: Path, **sheets: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    records = copy.deepcopy(VALID)
    records.update({"Interactions": [], "Complaints": [], "Sales": []})
    records.update(sheets)
    path = write_book(tmp_path / "crm.xlsx", records)
    book, report = load(str(path), as_of=AS_OF)
    assert report.errors == [], report.errors
    return book


def _weekly(book, period: Period = W46, as_of: datetime = AS_OF) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return metrics.weekly(book, period, as_of)


# ----------------------------------------------------------------------------- 1. FCR


def test_fcr_counts_a_quick_resolution_although_complaint_open_wrote_escalated(
    runner, make_book, valid_records, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Issue 13 #1: opened 10:00 with `complaint open` (outcome escalated), resolved 10:20."""
    valid_records["Complaints"] = []
    valid_records["Interactions"] = []
    path = make_book(valid_records)
    opened = runner.invoke(
        cli,
        ["complaint", "open", "-w", str(path), "--customer", "C-0001", "--severity", "normal",
         "--summary", "Wrong size", "--at", "2026-11-10 10:00"],
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    resolved = runner.invoke(
        cli,
        ["complaint", "resolve", "K-0001", "-w", str(path), "--resolution", "Swapped",
         "--at", "2026-11-10 10:20"],
    )  # fmt: skip
    assert resolved.exit_code == 0, resolved.output
    book, _ = load(str(path), as_of=AS_OF)
    assert book.interactions["outcome"].tolist()[0] == "escalated"
    k = _weekly(book)["complaints"]
    assert (k["first_contact_resolved"], k["resolved"]) == (1, 1)
    assert k["first_contact_resolution_rate"] == 1.0


@pytest.mark.parametrize(
    ("minutes", "counts"), [(29, True), (30, True), (31, False)], ids=["29", "30", "31"]
)
def test_fcr_thirty_minutes_is_inclusive(tmp_path: Path, minutes: int, counts: bool) -> None:
    opened = datetime(2026, 11, 10, 10)
    book = _book(
        tmp_path,
        Complaints=[
            complaint(
                "K-0001",
                opened,
                "C-0001",
                "normal",
                status="resolved",
                resolved=opened + timedelta(minutes=minutes),
            )
        ],
        Interactions=[
            contact(
                "I-1",
                opened,
                "C-0001",
                type_="complaint",
                outcome="escalated",
                complaint_id="K-0001",
            )
        ],
    )
    k = _weekly(book)["complaints"]
    assert k["resolved"] == 1
    assert k["first_contact_resolved"] == int(counts)


def test_fcr_resolved_in_the_opening_contact_counts_however_long_it_took(tmp_path: Path) -> None:
    opened = datetime(2026, 11, 10, 10)
    book = _book(
        tmp_path,
        Complaints=[
            complaint(
                "K-0001",
                opened,
                "C-0001",
                "normal",
                status="resolved",
                resolved=opened + timedelta(hours=2),
            )
        ],
        Interactions=[
            contact(
                "I-1",
                opened,
                "C-0001",
                type_="complaint",
                outcome="resolved",
                complaint_id="K-0001",
            ),
            contact(
                "I-2",
                opened + timedelta(hours=2),
                "C-0001",
                outcome="escalated",
                complaint_id="K-0001",
            ),
        ],
    )
    assert _weekly(book)["complaints"]["first_contact_resolved"] == 1


# ----------------------------------------------------------------------------- 2. summer time


def test_median_hours_across_the_end_of_summer_time_are_clock_hours(tmp_path: Path) -> None:
    """Issue 13 #2: Sat 24 Oct 2026 22:30 to Sun 25 Oct 06:00 in Oslo is 8.5 hours."""
    book = _book(
        tmp_path,
        Complaints=[
            complaint(
                "K-0001",
                datetime(2026, 10, 24, 22, 30),
                "C-0001",
                "critical",
                status="resolved",
                resolved=datetime(2026, 10, 25, 6),
            )
        ],
    )
    week = Period(date(2026, 10, 19), date(2026, 10, 25), "2026-W43")
    k = _weekly(book, week)["complaints"]
    assert k["median_resolution_hours"] == 8.5
    # no first response recorded: the resolution stands in for it
    assert k["median_first_response_hours"] == 8.5


def test_median_hours_across_the_start_of_summer_time(tmp_path: Path) -> None:
    # Sat 28 Mar 2026 22:00 to Sun 29 Mar 06:00: the clocks skip 02:00-03:00, so 7 hours
    book = _book(
        tmp_path,
        Complaints=[
            complaint(
                "K-0001",
                datetime(2026, 3, 28, 22),
                "C-0001",
                "critical",
                status="resolved",
                first_response=datetime(2026, 3, 28, 22, 30),
                resolved=datetime(2026, 3, 29, 6),
            )
        ],
    )
    week = Period(date(2026, 3, 23), date(2026, 3, 29), "2026-W13")
    k = _weekly(book, week, datetime(2026, 4, 2, 12))["complaints"]
    assert k["median_resolution_hours"] == 7.0
    assert k["median_first_response_hours"] == 0.5


# ----------------------------------------------------------------------------- 3. coming week


@pytest.fixture(scope="module")
def sample():  # type: ignore[no-untyped-def]
    book, _ = load(str(SAMPLE), as_of=AS_OF)
    return book


def test_coming_week_holds_back_customers_still_in_their_cool_down(sample) -> None:  # type: ignore[no-untyped-def]
    """Issue 13 #3: C-0015 and C-0026 were contacted on 18 Nov; their 21 Nov follow-up waits."""
    rows = _weekly(sample)["relationships"]["followups"]
    listed = {r["customer_id"] for r in rows}
    assert not {"C-0015", "C-0026"} & listed


def test_coming_week_is_what_followups_says_on_each_day(sample) -> None:  # type: ignore[no-untyped-def]
    """One rule set: every follow-up the report puts on a later day is one `followups` lists
    that day, and every planned follow-up `followups` lists on a day is in the report."""
    rows = _weekly(sample)["relationships"]["followups"]
    today = AS_OF.date()
    now = {s.customer_id for s in followups.due(sample, AS_OF)}
    later = [r for r in rows if r["on"] != today.isoformat()]
    assert later, "the sample has follow-ups planned in the coming week"
    for r in later:
        day = datetime.combine(date.fromisoformat(r["on"]), AS_OF.time())
        assert r["customer_id"] in {s.customer_id for s in followups.due(sample, day)}
    for n in range(1, metrics.FOLLOW_UP_DAYS + 1):
        day = datetime.combine(today + timedelta(days=n), AS_OF.time())
        for s in followups.due(sample, day):
            planned = [
                w for w in s.reasons if w.reason == "follow_up_due" and w.since == day.date()
            ]
            if planned and s.customer_id not in now:
                assert (s.customer_id, day.date().isoformat()) in {
                    (r["customer_id"], r["on"]) for r in rows
                }


def test_coming_week_lines_carry_the_detail_for_their_channel(tmp_path: Path) -> None:
    book = _book(
        tmp_path,
        Customers=[
            customer("C-1", "Anna", preferred_channel="phone", phone="+47 411 11 111"),
            customer("C-2", "Bo", preferred_channel="email"),
        ],
        Interactions=[
            contact("I-1", datetime(2026, 11, 2, 10), "C-1", follow_up_on=date(2026, 11, 23)),
            contact("I-2", datetime(2026, 11, 2, 10), "C-2", follow_up_on=date(2026, 11, 24)),
        ],
    )
    rows = {r["customer_id"]: r for r in _weekly(book)["relationships"]["followups"]}
    assert (rows["C-1"]["channel"], rows["C-1"]["contact"]) == ("phone", "+47 411 11 111")
    assert (rows["C-2"]["channel"], rows["C-2"]["contact"]) == ("email", "bo@example.com")


# ----------------------------------------------------------------------------- 4. buying rhythm


def _orders(*days: date, cid: str = "C-1") -> list[dict[str, Any]]:
    return [
        {"order_id": f"S-{i}", "date": d, "customer_id": cid, "amount": 100}
        for i, d in enumerate(days, start=1)
    ]


@pytest.mark.parametrize(
    ("days", "nudged"),
    [
        # issue 13 #4: three orders on two days qualify; the rhythm is between the two days
        ((date(2026, 9, 1), date(2026, 9, 1), date(2026, 10, 1)), True),
        ((date(2026, 9, 1), date(2026, 10, 1)), False),  # two orders: no rhythm yet
        ((date(2026, 10, 1),) * 3, False),  # three orders on one day: one visit, no rhythm
    ],
    ids=["three-orders-two-days", "two-orders", "three-orders-one-day"],
)
def test_buying_rhythm_counts_orders(tmp_path: Path, days: tuple[date, ...], nudged: bool) -> None:
    book = _book(tmp_path, Customers=[customer("C-1", "Anna")], Sales=_orders(*days))
    found = {s.customer_id: s for s in followups.due(book, AS_OF)}
    assert ("C-1" in found) is nudged
    if nudged:
        assert "every 30 days" in found["C-1"].sentence  # 1 Sep to 1 Oct
        assert "expected by 2026-10-31" in found["C-1"].sentence


def test_no_buying_nudge_with_an_open_complaint(tmp_path: Path) -> None:
    book = _book(
        tmp_path,
        Customers=[customer("C-1", "Anna")],
        Sales=_orders(date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)),
        Complaints=[complaint("K-1", datetime(2026, 11, 2, 10), "C-1", "low")],
        Interactions=[contact("I-1", datetime(2026, 11, 2, 10), "C-1", complaint_id="K-1")],
    )
    reasons = {w.reason for s in followups.due(book, AS_OF) for w in s.reasons}
    assert "purchase_overdue" not in reasons


@pytest.mark.parametrize(
    ("last_contact", "nudged"),
    [(AS_OF - timedelta(days=7), True), (AS_OF - timedelta(days=7, minutes=-1), False)],
    ids=["7-days-ago", "just-inside-cool-down"],
)
def test_no_buying_nudge_within_the_cool_down_of_any_contact(
    tmp_path: Path, last_contact: datetime, nudged: bool
) -> None:
    book = _book(
        tmp_path,
        Customers=[customer("C-1", "Anna")],
        Sales=_orders(date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)),
        Interactions=[contact("I-1", last_contact, "C-1", direction="inbound")],
    )
    reasons = {w.reason for s in followups.due(book, AS_OF) for w in s.reasons}
    assert ("purchase_overdue" in reasons) is nudged


# ----------------------------------------------------------------------------- 5. week in progress


def test_a_week_in_progress_counts_only_targets_fallen_due(sample) -> None:  # type: ignore[no-untyped-def]
    """Issue 13 #5: sample, 2026-W47 as of Fri 20 Nov 15:00: resolution 1 of 3, not 2 of 4."""
    m = _weekly(sample, W47)
    assert m["complaints"]["sla"]["resolution"] == {"due": 3, "met": 1, "rate": 0.3333}
    assert m["period"]["is_partial"] is True
    assert m["period"]["until"] == "2026-11-20T15:00"
    assert m["previous_period"]["is_partial"] is True
    assert m["previous_period"]["until"] == "2026-11-13T15:00"


def test_a_week_in_progress_is_compared_with_the_same_part_of_last_week(tmp_path: Path) -> None:
    book = _book(
        tmp_path,
        Interactions=[
            contact("I-1", datetime(2026, 11, 13, 14, 59), "C-0001"),  # last Fri, before 15:00
            contact("I-2", datetime(2026, 11, 13, 15, 1), "C-0001"),  # last Fri, after 15:00
            contact("I-3", datetime(2026, 11, 20, 15), "C-0001"),  # this Fri, at 15:00
            contact("I-4", datetime(2026, 11, 20, 15, 1), "C-0001"),  # after as-of: not yet
        ],
    )
    m = _weekly(book, W47)
    assert m["contact"]["interactions"] == 1
    assert m["previous"]["contact"]["interactions"] == 1
    assert sum(sum(v) for v in m["daily"]["series"].values()) == 1


def test_a_target_met_early_counts_in_the_week_it_falls_due_only(tmp_path: Path) -> None:
    # low: 24 business hours to respond. Opened Fri 13 Nov 09:00, due Wed 18 Nov 09:00;
    # responded at once, in week 46
    book = _book(
        tmp_path,
        Complaints=[
            complaint(
                "K-1",
                datetime(2026, 11, 13, 9),
                "C-0001",
                "low",
                first_response=datetime(2026, 11, 13, 9, 10),
            )
        ],
    )
    m = metrics.weekly(book, W47, datetime(2026, 11, 30, 12))
    assert m["complaints"]["sla"]["first_response"] == {"due": 1, "met": 1, "rate": 1.0}
    assert m["previous"]["complaints"]["sla"]["first_response"]["due"] == 0


# ----------------------------------------------------------------------------- definitions


def _quiet_book(tmp_path: Path, last: datetime, stage: str = "customer"):  # type: ignore[no-untyped-def]
    return _book(
        tmp_path,
        Customers=[customer("C-1", "Anna", stage=stage, since=date(2020, 1, 1))],
        Interactions=[contact("I-1", last, "C-1")],
    )


END_W46 = datetime(2026, 11, 16)  # the moment week 46's standing is taken


@pytest.mark.parametrize(
    ("last", "at_risk"),
    [(END_W46 - timedelta(days=90), True), (END_W46 - timedelta(days=90, minutes=-1), False)],
    ids=["90-days", "a-minute-less"],
)
def test_no_contact_for_90_days_is_inclusive(tmp_path: Path, last: datetime, at_risk: bool) -> None:
    m = _weekly(_quiet_book(tmp_path, last))
    assert (m["relationships"]["at_risk_count"] == 1) is at_risk


def test_a_quiet_prospect_is_not_at_risk(tmp_path: Path) -> None:
    m = _weekly(_quiet_book(tmp_path, datetime(2025, 1, 1), stage="prospect"))
    assert m["relationships"]["at_risk_count"] == 0


def test_a_prospect_with_a_low_score_is_at_risk(tmp_path: Path) -> None:
    book = _book(
        tmp_path,
        Customers=[customer("C-1", "Anna", stage="prospect")],
        Interactions=[contact("I-1", datetime(2026, 11, 10, 10), "C-1", satisfaction=2)],
    )
    assert _weekly(book)["relationships"]["at_risk_count"] == 1


@pytest.mark.parametrize(
    ("given", "at_risk"),
    [
        (END_W46 - timedelta(days=30), True),
        (END_W46 - timedelta(days=30, minutes=1), False),
        (END_W46 + timedelta(hours=10), False),  # after the week: not in its report
    ],
    ids=["30-days", "a-minute-more", "after-the-week"],
)
def test_low_score_in_the_last_30_days(tmp_path: Path, given: datetime, at_risk: bool) -> None:
    book = _book(
        tmp_path,
        Customers=[customer("C-1", "Anna", since=date(2026, 1, 1))],
        Interactions=[
            contact("I-1", given, "C-1", satisfaction=2),
            contact("I-2", datetime(2026, 11, 12, 10), "C-1"),  # not quiet
        ],
    )
    risk = _weekly(book)["relationships"]["at_risk"]
    assert bool(risk) is at_risk


def test_a_past_week_shows_the_customers_it_had(tmp_path: Path) -> None:
    book = _book(
        tmp_path,
        Customers=[
            customer("C-1", "Anna", since=date(2026, 11, 15)),
            customer("C-2", "Bo", since=date(2026, 11, 16)),  # joined after week 46
            customer("C-3", "Cy"),  # no since: always counted
        ],
    )
    rel = _weekly(book)["relationships"]
    assert rel["customers"] == 2
    assert rel["by_stage"]["customer"] == 2


@pytest.mark.parametrize(
    ("second", "returning"),
    [(date(2026, 11, 12), True), (date(2026, 11, 10), False)],
    ids=["another-day", "same-day"],
)
def test_a_first_time_buyer_back_in_the_same_week(
    tmp_path: Path, second: date, returning: bool
) -> None:
    book = _book(
        tmp_path,
        Customers=[customer("C-1", "Anna")],
        Sales=_orders(date(2026, 11, 10), second),
    )
    s = _weekly(book)["sales"]
    assert s["returning_customers"] == int(returning)
    assert s["median_days_between_orders"] == (2.0 if returning else None)


def test_praise_is_set_against_complaints_opened(tmp_path: Path) -> None:
    opened = datetime(2026, 11, 10, 10)
    book = _book(
        tmp_path,
        Complaints=[complaint("K-1", opened, "C-0001", "low")],
        Interactions=[
            contact("I-1", opened, "C-0001", type_="complaint", complaint_id="K-1"),
            contact(
                "I-2", opened + timedelta(hours=1), "C-0001", type_="complaint", complaint_id="K-1"
            ),  # a second contact about it: not a second complaint
            contact("I-3", opened + timedelta(hours=2), "C-0001", type_="praise"),
            contact("I-4", opened + timedelta(hours=3), "C-0001", type_="praise"),
        ],
    )
    s = _weekly(book)["satisfaction"]
    assert (s["praise"], s["complaints"], s["praise_per_complaint"]) == (2, 1, 2.0)


def test_definitions_are_in_the_context_and_in_the_readme(sample) -> None:  # type: ignore[no-untyped-def]
    m = _weekly(sample)
    terms = [d["term"] for d in m["definitions"]]
    assert len(terms) == len(set(terms)) >= 10
    readme = (SAMPLE.parent / "README.md").read_text(encoding="utf-8")
    for d in metrics.definitions():  # with the default settings, as the README shows them
        assert f"| {d['term']} | {d['text']} |" in readme


# ----------------------------------------------------------------------------- --owner


@pytest.mark.parametrize("command", ["overdue", "followups"])
def test_an_unknown_owner_is_refused_with_a_suggestion(runner, sla_book, command: str) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        cli, [command, "-w", str(sla_book), "--as-of", "2026-11-20 15:00", "--owner", "Karri"]
    )
    assert result.exit_code == 2, result.output
    assert "Karri" in result.output
    assert "did you mean Kari?" in result.output
    assert "Traceback" not in result.output


def test_an_owner_in_other_case_is_accepted(sla_book) -> None:  # type: ignore[no-untyped-def]
    book, _ = load(str(sla_book), as_of=AS_OF)
    assert [b.complaint_id for b in sla.overdue(book, AS_OF, owner="per")] == ["K-1"]
    with pytest.raises(SheetCRMError) as caught:
        sla.overdue(book, AS_OF, owner="Larz")
    assert caught.value.problem.code == "unknown_owner"


def test_followups_json_carries_the_contact_for_the_channel(
    runner, make_book, valid_records
) -> None:  # type: ignore[no-untyped-def]
    valid_records["Customers"] = [
        customer("C-1", "Anna", preferred_channel="sms", phone="+47 422 22 222",
                 since=date(2020, 1, 1)),
    ]  # fmt: skip
    valid_records["Interactions"] = [contact("I-1", datetime(2026, 1, 5, 10), "C-1")]
    valid_records["Complaints"] = []
    path = make_book(valid_records)
    result = runner.invoke(
        cli, ["followups", "-w", str(path), "--as-of", "2026-11-20 15:00", "--format", "json"]
    )
    [row] = json.loads(result.stdout)
    assert (row["channel"], row["contact"]) == ("sms", "+47 422 22 222")


@pytest.mark.parametrize(
    ("preferred", "email", "phone", "expected"),
    [
        ("phone", "anna@example.com", None, ("email", "anna@example.com")),  # no number
        ("email", None, "+47 433 33 333", ("phone", "+47 433 33 333")),  # no address
        ("sms", "anna@example.com", "+47 433 33 333", ("sms", "+47 433 33 333")),
        ("in_person", "anna@example.com", "+47 433 33 333", ("in_person", "+47 433 33 333")),
    ],
)
def test_the_channel_and_its_detail_always_match(
    tmp_path: Path, preferred: str, email: str | None, phone: str | None, expected: tuple
) -> None:
    book = _book(
        tmp_path,
        Customers=[
            customer(
                "C-1",
                "Anna",
                preferred_channel=preferred,
                email=email,
                phone=phone,
                since=date(2020, 1, 1),
            )
        ],
        Interactions=[contact("I-1", datetime(2026, 1, 5, 10), "C-1")],
    )
    [found] = followups.due(book, AS_OF)
    assert (found.channel, found.contact) == expected
