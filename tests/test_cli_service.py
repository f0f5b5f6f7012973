"""`overdue`, `followups` and `customer show` end to end through the CLI, with --as-of.

Every expected time below is worked out by hand in the comment beside it, from
the SLA rows in tests/conftest.py (high: 4 h / 24 h business hours; normal:
8 h / 72 h business hours; critical: 1 h / 8 h clock hours) and business hours
09:00-17:00 Monday to Friday. As-of is Friday 2026-11-20 15:00.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from sheetcrm.cli import cli
from tests.conftest import complaint, contact, customer

AS_OF = "2026-11-20 15:00"


def test_overdue_json_lists_breached_first_by_owner(runner, sla_book):
    result = runner.invoke(
        cli, ["overdue", "-w", str(sla_book), "--as-of", AS_OF, "--format", "json"]
    )
    assert result.exit_code == 1, result.output  # something is breached
    assert json.loads(result.stdout) == [
        {
            "complaint_id": "K-5",
            "customer_id": "C-1",
            "owner": "Kari",
            "severity": "high",
            "target": "resolution",
            "state": "breached",
            "due": "2026-11-18T17:00",
            "minutes": 2760,
        },
        {
            "complaint_id": "K-1",
            "customer_id": "C-2",
            "owner": "Per",
            "severity": "high",
            "target": "first_response",
            "state": "breached",
            "due": "2026-11-20T12:00",
            "minutes": 180,
        },
        {
            "complaint_id": "K-2",
            "customer_id": "C-1",
            "owner": "Kari",
            "severity": "critical",
            "target": "resolution",
            "state": "due_soon",
            "due": "2026-11-20T16:00",
            "minutes": -60,
        },
    ]


def test_overdue_table_says_how_late_and_who_to_call(runner, sla_book):
    result = runner.invoke(cli, ["overdue", "-w", str(sla_book), "--as-of", AS_OF])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "Kari: 1 breached"
    assert "K-5" in lines[1] and "1 d 22 h late" in lines[1] and "Anna" in lines[1]
    assert "+47 400 00 000" in lines[1]
    assert lines[2] == "Per: 1 breached"
    assert "K-1" in lines[3] and "3 h late" in lines[3]
    assert lines[4] == "Kari: 1 due soon"
    assert "K-2" in lines[5] and "due in 1 h" in lines[5]


def test_overdue_owner_filter_and_quiet_exit(runner, sla_book):
    result = runner.invoke(
        cli,
        ["overdue", "-w", str(sla_book), "--as-of", AS_OF, "--owner", "per", "--format", "json"],
    )
    assert [b["complaint_id"] for b in json.loads(result.stdout)] == ["K-1"]
    # Monday 09:30, looking back: K-1, K-2 and K-3 were not opened yet and K-5's first
    # response (given at 14:00, due 13:00) was still pending and due soon.
    early = runner.invoke(
        cli, ["overdue", "-w", str(sla_book), "--as-of", "2026-11-16 09:30", "--format", "json"]
    )
    assert early.exit_code == 0
    assert [
        (b["complaint_id"], b["target"], b["state"], b["minutes"]) for b in json.loads(early.stdout)
    ] == [("K-5", "first_response", "due_soon", -210)]


def test_overdue_respects_holidays(runner, make_book, valid_records):
    r = valid_records
    r["Customers"] = [customer("C-1", "Anna")]
    r["Interactions"], r["Sales"] = [], []
    r["Holidays"] = [{"date": date(2026, 11, 20), "name": "Shop closed"}]
    # Thu 16:00 + 4 business h: 1 h Thursday, Friday is a holiday, 3 h Monday: Mon 12:00.
    r["Complaints"] = [complaint("K-1", datetime(2026, 11, 19, 16), "C-1", "high")]
    path = make_book(r)
    result = runner.invoke(cli, ["overdue", "-w", str(path), "--as-of", AS_OF, "--format", "json"])
    assert result.exit_code == 0
    assert result.stdout.strip() == "[]"
    later = runner.invoke(
        cli, ["overdue", "-w", str(path), "--as-of", "2026-11-23 11:00", "--format", "json"]
    )
    assert json.loads(later.stdout)[0]["due"] == "2026-11-23T12:00"
    assert json.loads(later.stdout)[0]["minutes"] == -60


@pytest.fixture
def followup_book(make_book, valid_records):
    r = valid_records
    r["Customers"] = [
        customer("C-1", "Anna"),
        customer("C-2", "Bo"),
        customer("C-3", "Cai", owner="Per", preferred_channel="email"),
        customer("C-4", "Dag", stage="client", preferred_channel="phone"),
        customer("C-5", "Eli", do_not_contact="yes"),
        customer("C-6", "Fay", owner="Per"),
        customer("C-7", "Gro"),
        customer("C-8", "Hal", stage="prospect", since=date(2025, 1, 1)),
    ]
    r["Interactions"] = [
        contact("I-1", datetime(2026, 11, 10, 10), "C-1", follow_up_on=date(2026, 11, 18)),
        contact("I-2", datetime(2026, 11, 5, 10), "C-2", follow_up_on=date(2026, 11, 12)),
        contact("I-3", datetime(2026, 11, 15, 10), "C-2"),  # a later contact: done
        contact(
            "I-4",
            datetime(2026, 11, 17, 9),
            "C-3",
            staff="Per",
            type_="complaint",
            complaint_id="K-1",
        ),
        contact("I-5", datetime(2026, 7, 1, 10), "C-4"),
        contact("I-6", datetime(2026, 6, 1, 10), "C-5"),
        contact(
            "I-7",
            datetime(2026, 11, 16, 10),
            "C-6",
            staff="Per",
            direction="outbound",
            type_="sale",
        ),
        contact("I-8", datetime(2026, 11, 2, 10), "C-7"),
    ]
    r["Complaints"] = [
        complaint(
            "K-1",
            datetime(2026, 11, 17, 9),
            "C-3",
            "normal",
            owner="Per",
            status="resolved",
            first_response=datetime(2026, 11, 17, 9, 30),
            resolved=datetime(2026, 11, 17, 10),
            resolution="Refunded",
        ),
    ]
    r["Sales"] = [
        {"order_id": f"S-{i}", "date": d, "customer_id": c, "amount": 500}
        for i, (c, d) in enumerate(
            [
                ("C-6", date(2026, 7, 1)),
                ("C-6", date(2026, 7, 31)),
                ("C-6", date(2026, 8, 30)),
                ("C-6", date(2026, 9, 29)),  # every 30 days: next was due 2026-10-29
                ("C-7", date(2026, 8, 1)),
                ("C-7", date(2026, 9, 1)),
                ("C-7", date(2026, 10, 1)),
                ("C-7", date(2026, 11, 1)),  # next expected 2026-12-01: not yet
            ]
        )
    ]
    return make_book(r)


def test_followups_json(runner, followup_book):
    result = runner.invoke(
        cli,
        ["followups", "-w", str(followup_book), "--as-of", AS_OF, "--format", "json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert [(s["customer_id"], s["reasons"], s["channel"]) for s in found] == [
        ("C-3", ["complaint_check"], "email"),
        ("C-1", ["follow_up_due"], "phone"),  # no preferred channel: the one they used
        ("C-4", ["gone_quiet"], "phone"),
    ]
    assert found[0]["owner"] == "Per" and found[0]["contact"] == "cai@example.com"
    assert "ask how it went" in found[0]["why"]
    assert "No contact for 142 days" in found[2]["why"]


def test_followups_all_shows_who_is_held_back_and_why(runner, followup_book):
    result = runner.invoke(
        cli, ["followups", "-w", str(followup_book), "--as-of", AS_OF, "--all", "--format", "json"]
    )
    held = {s["customer_id"]: s["suppressed"] for s in json.loads(result.stdout) if s["suppressed"]}
    # C-6, contacted on 16 Nov, had only a buying-rhythm reason: no sales nudge to a
    # customer contacted within the cool-down, so nothing to hold back either (issue 14)
    assert held == {"C-5": "marked do not contact"}
    text = runner.invoke(cli, ["followups", "-w", str(followup_book), "--as-of", AS_OF, "--all"])
    assert "Not now (1):" in text.stdout
    assert "Fay" not in text.stdout


def test_buying_rhythm_counts_visits_up_to_as_of(runner, make_book, valid_records):
    r = valid_records
    r["Customers"] = [customer("C-1", "Anna")]
    # 8 days before as-of: outside the cool-down, which would silence the nudge
    r["Interactions"] = [contact("I-1", datetime(2026, 11, 12, 10), "C-1")]
    r["Sales"] = [
        {"order_id": f"S-{i}", "date": d, "customer_id": "C-1", "amount": 100}
        for i, d in enumerate(
            [
                date(2026, 8, 2),
                date(2026, 8, 2),  # two orders on one visit: one day in the rhythm
                date(2026, 9, 1),
                date(2026, 10, 1),  # every 30 days: the next was due 2026-10-31
                date(2026, 12, 1),  # after as-of: not known yet
            ]
        )
    ]
    path = make_book(r)
    result = runner.invoke(
        cli, ["followups", "-w", str(path), "--as-of", AS_OF, "--all", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    [found] = json.loads(result.stdout)
    assert found["reasons"] == ["purchase_overdue"]
    assert "usually order every 30 days" in found["why"]
    assert "the last order was on 2026-10-01" in found["why"]
    assert "expected by 2026-10-31" in found["why"]


def test_followups_owner_filter(runner, followup_book):
    result = runner.invoke(
        cli, ["followups", "-w", str(followup_book), "--as-of", AS_OF, "--owner", "Per"]
    )
    assert result.stdout.splitlines()[0] == "Per: 1 to contact"
    assert "C-3 Cai: email cai@example.com" in result.stdout
    assert "Anna" not in result.stdout


def test_customer_show_by_id_email_and_name(runner, sla_book):
    for who in ("C-1", "anna@example.com", "anna", "ANN"):
        result = runner.invoke(
            cli,
            ["customer", "show", who, "-w", str(sla_book), "--as-of", AS_OF, "--format", "json"],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, (who, result.output)
        data = json.loads(result.stdout)
        assert data["customer"]["customer_id"] == "C-1"
    assert [k["complaint_id"] for k in data["open_complaints"]] == ["K-2", "K-5"]
    k5 = data["open_complaints"][1]
    assert {t["target"]: t["state"] for t in k5["targets"]} == {
        "first_response": "met_late",
        "resolution": "breached",
    }
    assert data["figures"]["complaints"] == 3
    assert [e["id"] for e in data["timeline"]][:2] == ["K-2", "K-5"]


def test_customer_show_markdown_and_errors(runner, sla_book):
    md = runner.invoke(
        cli, ["customer", "show", "Bo", "-w", str(sla_book), "--as-of", AS_OF, "--format", "md"]
    )
    assert md.stdout.startswith("# C-2 Bo\n")
    assert "## Open complaints" in md.stdout and "K-1" in md.stdout
    assert "first response: breached" in md.stdout
    missing = runner.invoke(cli, ["customer", "show", "C-3", "-w", str(sla_book)])
    assert missing.exit_code == 2
    assert "no customer matches 'C-3'" in missing.stderr
    assert "did you mean C-1 Anna" in missing.stderr or "C-2 Bo" in missing.stderr


def test_customer_show_lists_several_matches(runner, make_book, valid_records):
    valid_records["Customers"].append(customer("C-0003", "Jane Smith", owner="Per"))
    path = make_book(valid_records)
    result = runner.invoke(cli, ["customer", "show", "jane", "-w", str(path)])
    assert result.exit_code == 2
    assert "2 customers match 'jane'" in result.stdout
    assert "C-0001 Jane Doe (jane@example.com)" in result.stdout
    assert "C-0003 Jane Smith" in result.stdout


def test_customer_show_markdown_keeps_workbook_text_inert(runner, make_book, valid_records):
    valid_records["Interactions"][0]["summary"] = "<script>alert(1)</script> [click](http://x)"
    path = make_book(valid_records)
    md = runner.invoke(cli, ["customer", "show", "C-0001", "-w", str(path), "--format", "md"])
    assert "<script>" not in md.stdout and "](http" not in md.stdout
    assert "\\<script\\>" in md.stdout
    text = runner.invoke(cli, ["customer", "show", "C-0001", "-w", str(path)])
    assert "<script>alert(1)</script>" in text.stdout  # a terminal shows it as typed
