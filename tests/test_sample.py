"""The sample bicycle shop: deterministic, consistent with the contract, and a believable story."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from sheetcrm import contract
from sheetcrm.workbook.sample import (
    SAMPLE_TODAY,
    norwegian_holidays,
    sample_records,
    write_sample_workbook,
)

Records = dict[str, list[dict[str, object]]]
AS_OF = datetime.combine(SAMPLE_TODAY, time(15, 0))
OTHER_TODAY = date(2027, 3, 15)
EMPTY = {
    s.key for s in contract.SETTINGS if not s.default
}  # settings left for the owner  # a Monday just before Easter: the story must still hold


@pytest.fixture(scope="module")
def records() -> Records:
    return sample_records()


@pytest.fixture(scope="module", params=[SAMPLE_TODAY, OTHER_TODAY], ids=str)
def story(request: pytest.FixtureRequest) -> tuple[date, Records]:
    return request.param, sample_records(request.param)


# --------------------------------------------------------------------------- hand-made clock


def _open_days(records: Records) -> tuple[time, time, set[int], set[date]]:
    settings = {r["key"]: r["value"] for r in records["Settings"]}
    opens, closes = (time.fromisoformat(t) for t in str(settings["business_hours"]).split("-"))
    assert settings["business_days"] == "mon-fri"
    holidays = {r["date"] for r in records["Holidays"]}
    return opens, closes, {0, 1, 2, 3, 4}, holidays  # type: ignore[return-value]


def business_hours(records: Records, start: datetime, end: datetime) -> float:
    """Hours of opening time between two moments, counted day by day."""
    opens, closes, days, holidays = _open_days(records)
    total, day = 0.0, start.date()
    while day <= end.date():
        if day.weekday() in days and day not in holidays:
            lo = max(start, datetime.combine(day, opens))
            hi = min(end, datetime.combine(day, closes))
            total += max(0.0, (hi - lo).total_seconds() / 3600)
        day += timedelta(days=1)
    return total


def elapsed(records: Records, severity: str, start: datetime, end: datetime) -> float:
    sla = {r["severity"]: r for r in records["SLA"]}[severity]
    if sla["business_hours_only"] == "yes":
        return business_hours(records, start, end)
    return (end - start).total_seconds() / 3600


def targets(severity: str) -> tuple[float, float]:
    row = next(r for r in contract.DEFAULT_SLA if r[0] == severity)
    return row[1], row[2]


# --------------------------------------------------------------------------- determinism


def test_same_arguments_same_records() -> None:
    assert sample_records() == sample_records()
    assert sample_records(OTHER_TODAY) == sample_records(OTHER_TODAY)
    assert sample_records(seed=1) != sample_records()


def test_two_files_hold_equal_cells(tmp_path: Path) -> None:
    first, second = tmp_path / "one.xlsx", tmp_path / "two.xlsx"
    write_sample_workbook(first)
    write_sample_workbook(second)
    assert first.read_bytes() == second.read_bytes()
    a, b = CalamineWorkbook.from_path(str(first)), CalamineWorkbook.from_path(str(second))
    assert a.sheet_names == b.sheet_names == [s.name for s in contract.SHEETS]
    for name in a.sheet_names:
        assert a.get_sheet_by_name(name).to_python() == b.get_sheet_by_name(name).to_python()


# --------------------------------------------------------------------------- contract shape


def test_rows_follow_the_contract(story: tuple[date, Records]) -> None:
    _, records = story
    assert list(records) == [s.name for s in contract.SHEETS]
    for sheet in contract.SHEETS:
        names = [c.name for c in sheet.columns]
        for row in records[sheet.name]:
            assert list(row) == names, sheet.name
            for col in sheet.columns:
                value = row[col.name]
                if col.required:
                    assert value not in (None, ""), (sheet.name, col.name, row)
                if value is None:
                    continue
                if col.choices:
                    assert value in col.choices, (sheet.name, col.name, value)
                if col.kind == "yesno":
                    assert value in ("yes", "no")
                if col.kind == "date":
                    assert type(value) is date, (sheet.name, col.name, value)
                if col.kind == "datetime":
                    assert isinstance(value, datetime), (sheet.name, col.name, value)
                if col.kind in ("number", "whole"):
                    assert isinstance(value, int | float) and not isinstance(value, bool)
                    if col.minimum is not None:
                        assert value >= col.minimum
                    if col.maximum is not None:
                        assert value <= col.maximum
                if col.kind == "email":
                    assert re.fullmatch(r"[a-z0-9.\-]+@[a-z0-9.\-]+\.(com|net|org|test)", value)
        if sheet.unique_key:
            keys = [row[sheet.key] for row in records[sheet.name]]
            assert len(keys) == len(set(keys)), f"duplicate {sheet.key} on {sheet.name}"


def test_ids_look_like_the_contract_says(records: Records) -> None:
    patterns = {"Customers": r"C-\d{4}", "Interactions": r"I-\d{5}", "Complaints": r"K-\d{4}",
                "Sales": r"S-\d{4}"}  # fmt: skip
    for name, pattern in patterns.items():
        sheet = contract.SHEET_BY_NAME[name]
        assert pattern.startswith(sheet.id_prefix or "")
        ids = [row[sheet.key] for row in records[name]]
        assert all(re.fullmatch(pattern, str(i)) for i in ids), name
        assert ids == sorted(ids)


def test_references_exist(story: tuple[date, Records]) -> None:
    _, records = story
    keys = {(s.name, s.key): {row[s.key] for row in records[s.name]} for s in contract.SHEETS}
    checked = 0
    for sheet in contract.SHEETS:
        for col in sheet.columns:
            if not col.references:
                continue
            known = keys[col.references]
            for row in records[sheet.name]:
                if row[col.name] is not None:
                    assert row[col.name] in known, (sheet.name, col.name, row[col.name])
                    checked += 1
    assert checked > 1500


def test_owners_are_active_and_the_leaver_only_worked_before_leaving(
    story: tuple[date, Records],
) -> None:
    today, records = story
    active = {s["name"] for s in records["Staff"] if s["active"] == "yes"}
    inactive = {s["name"] for s in records["Staff"] if s["active"] == "no"}
    assert len(records["Staff"]) == 4 and len(inactive) == 1
    assert {s["department"] for s in records["Staff"]} >= {"Sales", "Workshop", "Finance"}
    assert all(str(s["email"]).endswith(".test") for s in records["Staff"])
    assert {c["owner"] for c in records["Customers"]} <= active
    assert {k["owner"] for k in records["Complaints"]} <= active
    by_leaver = [i["date"] for i in records["Interactions"] if i["staff"] in inactive]
    assert by_leaver, "the ex-employee should appear in the older history"
    left = max(by_leaver)
    assert left < datetime.combine(today, time()) - timedelta(days=60)
    later = [i for i in records["Interactions"] if i["date"] > left]
    assert later and all(i["staff"] in active for i in later)
    assert all(s["date"] <= left.date() for s in records["Sales"] if s["staff"] in inactive)


# --------------------------------------------------------------------------- the story


def test_customers_are_a_believable_mix(records: Records) -> None:
    customers = records["Customers"]
    assert 45 <= len(customers) <= 60
    stages = Counter(c["stage"] for c in customers)
    assert set(stages) == set(contract.VOCABULARIES["stage"])
    assert stages["customer"] > stages["advocate"] > 0
    assert 2 <= stages["partner"] <= 3
    channels = Counter(c["preferred_channel"] for c in customers)
    assert len(channels) >= 5
    assert sum(1 for c in customers if c["company"]) >= 5
    assert 2 <= sum(1 for c in customers if c["do_not_contact"] == "yes") <= 5
    assert len({c["since"].year for c in customers if c["since"]}) >= 6  # type: ignore[union-attr]
    assert any(not str(c["name"]).isascii() for c in customers)
    assert any("ø" in str(c["name"]).casefold() for c in customers)
    phones = [str(c["phone"]) for c in customers if c["phone"]]
    assert len(phones) >= 40
    assert all(re.fullmatch(r"\+47 (\d{3} \d{2} \d{3}|\d{2} \d{2} \d{2} \d{2})", p) for p in phones)
    assert all(
        str(c["email"]).rsplit("@", 1)[1] in ("example.com", "example.net", "example.org")
        for c in customers
        if c["email"]
    )
    emails = [c["email"] for c in customers if c["email"]]
    assert len(emails) == len(set(emails))
    # prospects have not bought anything and are not customers "since" anything
    prospects = {c["customer_id"] for c in customers if c["stage"] == "prospect"}
    assert all(c["since"] is None for c in customers if c["customer_id"] in prospects)
    assert not prospects & {s["customer_id"] for s in records["Sales"]}


def test_six_months_of_interactions(story: tuple[date, Records]) -> None:
    today, records = story
    rows = records["Interactions"]
    assert 600 <= len(rows) <= 900
    for name in ("channel", "type", "direction", "outcome"):
        assert {r[name] for r in rows} >= set(contract.VOCABULARIES[name]), name
    both_ways = {
        ch for ch in contract.VOCABULARIES["channel"]
        if {r["direction"] for r in rows if r["channel"] == ch} == {"inbound", "outbound"}
    }  # fmt: skip
    assert len(both_ways) >= 3
    first, last = min(r["date"] for r in rows), max(r["date"] for r in rows)
    assert today - timedelta(days=190) <= first.date() <= today - timedelta(days=170)
    assert last.date() == today and last <= datetime.combine(today, time(15))
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)
    assert len({r["summary"] for r in rows}) >= 100
    assert any(r["type"] == "praise" for r in rows) and any(r["type"] == "complaint" for r in rows)
    scored = [r["satisfaction"] for r in rows if r["satisfaction"] is not None]
    assert 0.25 <= len(scored) / len(rows) <= 0.42
    assert sum(1 for s in scored if s >= 4) / len(scored) >= 0.7  # type: ignore[operator]
    assert {1, 2, 3} <= set(scored)
    opens, closes, days, holidays = _open_days(records)
    in_hours = [
        r for r in rows
        if r["date"].weekday() in days and r["date"].date() not in holidays  # type: ignore[union-attr]
        and opens <= r["date"].time() < closes  # type: ignore[union-attr]
    ]  # fmt: skip
    assert 0.8 <= len(in_hours) / len(rows) < 1
    after_hours = [r for r in rows if r not in in_hours]
    everyday = [r for r in after_hours if r["complaint_id"] is None]
    assert everyday
    assert all(r["channel"] in ("web", "email", "social") for r in everyday)
    assert all(r["direction"] == "inbound" for r in everyday)
    # critical complaints run on the clock, but nobody is called in the night
    handled = [r for r in after_hours if r["complaint_id"] is not None]
    assert all(time(7) <= r["date"].time() <= time(21) for r in handled)  # type: ignore[union-attr]
    assert all(r["channel"] != "phone" for r in after_hours if r["direction"] == "outbound")


def test_do_not_contact_and_cool_down_are_respected(records: Records) -> None:
    dnc = {c["customer_id"] for c in records["Customers"] if c["do_not_contact"] == "yes"}
    cooldown = int(contract.SETTING_BY_KEY["followup_cooldown_days"].default)
    last: dict[object, datetime] = {}
    for row in records["Interactions"]:
        if row["direction"] != "outbound":
            continue
        assert row["customer_id"] not in dnc, row
        previous = last.get(row["customer_id"])
        if (
            row["complaint_id"] is None and previous is not None
        ):  # complaint call-backs may not wait
            assert (row["date"].date() - previous.date()).days >= cooldown, row  # type: ignore[union-attr]
        last[row["customer_id"]] = row["date"]  # type: ignore[assignment]


def test_follow_ups_past_and_coming(story: tuple[date, Records]) -> None:
    today, records = story
    rows = records["Interactions"]
    last_contact: dict[object, datetime] = {}
    for row in rows:
        last_contact[row["customer_id"]] = row["date"]  # type: ignore[assignment]
    due = [r for r in rows if r["follow_up_on"] is not None]
    assert len(due) >= 20
    assert all(r["follow_up_on"] > r["date"].date() for r in due)  # type: ignore[operator,union-attr]
    coming = [r for r in due if today < r["follow_up_on"] <= today + timedelta(days=10)]  # type: ignore[operator]
    assert len(coming) >= 3
    forgotten = [
        r for r in due
        if r["follow_up_on"] < today and last_contact[r["customer_id"]] == r["date"]  # type: ignore[operator]
    ]  # fmt: skip
    assert len(forgotten) >= 3, "some follow-ups were never made"
    at_risk_after = int(contract.SETTING_BY_KEY["at_risk_after_days"].default)
    quiet = [c for c, d in last_contact.items() if (today - d.date()).days > at_risk_after]
    assert 2 <= len(quiet) <= 8


def test_complaints_cover_every_severity_status_and_category(story: tuple[date, Records]) -> None:
    _, records = story
    rows = records["Complaints"]
    assert 35 <= len(rows) <= 45
    assert {r["severity"] for r in rows} == set(contract.VOCABULARIES["severity"])
    assert {r["status"] for r in rows} == set(contract.VOCABULARIES["status"])
    categories = Counter(r["category"] for r in rows)
    assert len(categories) >= 5
    assert {"billing", "repair quality", "product fault", "delivery"} <= set(categories)
    notified = [r for r in rows if r["notify_department"]]
    assert 2 <= len(notified) <= 10
    assert any(r["notify_department"] == "Finance" and r["category"] == "billing" for r in notified)


def test_complaint_times_and_closing(story: tuple[date, Records]) -> None:
    today, records = story
    as_of = datetime.combine(today, time(15))
    for r in records["Complaints"]:
        opened, first, resolved = r["opened"], r["first_response"], r["resolved"]
        assert opened <= as_of  # type: ignore[operator]
        assert first is None or opened <= first <= as_of  # type: ignore[operator]
        assert resolved is None or opened <= resolved <= as_of  # type: ignore[operator]
        if r["status"] in contract.CLOSED_STATUSES:
            assert resolved is not None and r["resolution"], r
            assert first is not None and first <= resolved  # type: ignore[operator]
        else:
            assert resolved is None and not r["resolution"], r
        if r["status"] in ("in_progress", "waiting_on_customer"):
            assert first is not None


def test_each_complaint_has_its_opening_interaction(story: tuple[date, Records]) -> None:
    _, records = story
    by_complaint = defaultdict(list)
    for row in records["Interactions"]:
        if row["complaint_id"] is not None:
            by_complaint[row["complaint_id"]].append(row)
        if row["type"] == "complaint":
            assert row["complaint_id"] is not None
    for k in records["Complaints"]:
        talks = by_complaint[k["complaint_id"]]
        openings = [t for t in talks if t["type"] == "complaint"]
        assert len(openings) == 1, k["complaint_id"]
        opening = openings[0]
        assert opening["date"] == k["opened"]
        assert opening["customer_id"] == k["customer_id"]
        assert opening["direction"] == "inbound"
        assert all(t["customer_id"] == k["customer_id"] for t in talks)
        assert all(t["date"] >= k["opened"] for t in talks)  # type: ignore[operator]


def test_service_levels_tell_every_story(story: tuple[date, Records]) -> None:
    today, records = story
    as_of = datetime.combine(today, time(15))
    first_contact, on_time, late, breached, due_soon = [], [], [], [], []
    openings = {i["complaint_id"]: i for i in records["Interactions"] if i["type"] == "complaint"}
    for k in records["Complaints"]:
        severity = str(k["severity"])
        first_h, resolve_h = targets(severity)
        opened = k["opened"]
        assert isinstance(opened, datetime)
        if k["resolved"] is not None:
            took = elapsed(records, severity, opened, k["resolved"])  # type: ignore[arg-type]
            if k["resolved"] - opened <= timedelta(minutes=30):  # type: ignore[operator]
                first_contact.append(k)
                assert openings[k["complaint_id"]]["outcome"] == "resolved"
            elif took > resolve_h:
                late.append(k)
            else:
                on_time.append(k)
        else:
            so_far = elapsed(records, severity, opened, as_of)
            if so_far > resolve_h:
                breached.append(k)
            elif k["status"] != "waiting_on_customer":
                # due within the next 24 clock hours: a day later the clock has passed it
                assert k["first_response"] is not None or so_far < first_h, k
                if elapsed(records, severity, opened, as_of + timedelta(hours=24)) > resolve_h:
                    due_soon.append(k)
    assert len(first_contact) >= 5
    assert len(on_time) >= 8
    assert len(late) >= 4
    assert 2 <= len(breached) <= 8
    assert len(due_soon) >= 2
    assert {k["severity"] for k in late} >= {"normal", "critical"}
    assert all(k["status"] in contract.OPEN_STATUSES for k in breached + due_soon)
    # at least one late complaint also answered late
    assert any(
        elapsed(records, str(k["severity"]), k["opened"], k["first_response"])  # type: ignore[arg-type]
        > targets(str(k["severity"]))[0]
        for k in late
    )


# --------------------------------------------------------------------------- sales


def test_sales_with_repeat_buyers(story: tuple[date, Records]) -> None:
    today, records = story
    sales = records["Sales"]
    assert 200 <= len(sales) <= 360  # with the lapsed and fading regulars
    assert all(s["date"] <= today for s in sales)  # type: ignore[operator]
    since = {c["customer_id"]: c["since"] for c in records["Customers"]}
    assert all(since[s["customer_id"]] <= s["date"] for s in sales)  # type: ignore[operator]
    dates = defaultdict(list)
    for s in sales:
        dates[s["customer_id"]].append(s["date"])
    repeat = {c: d for c, d in dates.items() if len(d) >= 3}
    assert len(repeat) >= 10
    assert sum(1 for d in dates.values() if len(d) == 1) >= 3  # one-off buyers
    rhythm = {c: statistics.median((b - a).days for a, b in pairwise(d)) for c, d in repeat.items()}
    assert any(20 <= gap <= 45 for gap in rhythm.values()), "monthly buyers"
    assert any(70 <= gap <= 120 for gap in rhythm.values()), "quarterly buyers"
    amounts = [float(s["amount"]) for s in sales]  # type: ignore[arg-type]
    assert min(amounts) >= 100 and max(amounts) <= 60_000
    assert any(a >= 8_000 for a in amounts) and sum(1 for a in amounts if a < 1_000) > 50
    assert not [a for a in amounts if 2_500 < a < 8_000]  # services and parts, or bikes
    assert len({s["product"] for s in sales}) >= 15
    assert any(s["staff"] is None for s in sales)  # web shop orders


# --------------------------------------------------------------------------- the rest


def test_holidays_settings_and_sla(records: Records) -> None:
    holidays = {r["date"]: r["name"] for r in records["Holidays"]}
    for day in (
        date(2026, 1, 1), date(2026, 4, 2), date(2026, 4, 3), date(2026, 4, 6),
        date(2026, 5, 1), date(2026, 5, 14), date(2026, 5, 17), date(2026, 5, 25),
        date(2026, 12, 25), date(2026, 12, 26), date(2027, 3, 25), date(2027, 3, 26),
        date(2027, 3, 29), date(2027, 5, 6), date(2027, 5, 17), date(2027, 12, 25),
    ):  # fmt: skip
        assert day in holidays, day
    assert {d.year for d in holidays} == {2026, 2027}  # type: ignore[union-attr]
    settings = {r["key"]: r["value"] for r in records["Settings"]}
    assert list(settings) == [s.key for s in contract.SETTINGS]
    assert settings["company_name"] != contract.SETTING_BY_KEY["company_name"].default
    assert re.fullmatch(r"[a-z]+@[a-z.]+\.test", str(settings["report_recipients"]))
    assert (settings["timezone"], settings["currency"], settings["locale"]) == (
        "Europe/Oslo", "NOK", "en",
    )  # fmt: skip
    sla = [tuple(r.values()) for r in records["SLA"]]
    assert sla == [(s, f, r, "yes" if b else "no") for s, f, r, b in contract.DEFAULT_SLA]


def test_easter_matches_dateutil() -> None:
    easter = pytest.importorskip("dateutil.easter").easter
    for year in range(2000, 2100):
        days = dict((name, day) for day, name in norwegian_holidays(year))
        assert days["Easter Sunday"] == easter(year)
