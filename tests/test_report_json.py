"""`sheetcrm report --format json` against an independent calculation (tests/independent_calc.py).

The sample workbook and generated ones (weekends, holidays, both summer-time changes,
blank cells, times on the boundaries of every rule) are reported for several weeks,
finished and in progress, and every figure is compared.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from sheetcrm.cli import cli
from tests.conftest import AS_OF, ROOT, write_book
from tests.independent_calc import Figures

SECTIONS = ("contact", "complaints", "satisfaction", "sales")
STAFF = ["Kari", "Per", "Åse"]
STAGES = ["prospect", "customer", "client", "supporter", "advocate", "partner"]
CHANNELS = ["email", "phone", "sms", "in_person", "web"]
TYPES = ["enquiry", "sale", "support", "follow_up", "praise", "feedback", "other"]


def report_json(runner, path: Path, as_of: datetime, *args: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        cli,
        [
            "report",
            "-w",
            str(path),
            "--as-of",
            f"{as_of:%Y-%m-%d %H:%M}",
            "--format",
            "json",
            "--out",
            "-",
            *args,
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def compare(got: dict[str, Any], path: Path, as_of: datetime) -> int:
    """Every figure of ``got`` (the JSON) against the independent calculation; how many."""
    start, end = (
        date.fromisoformat(got["period"]["start"]),
        date.fromisoformat(got["period"]["end"]),
    )
    want = Figures(path, as_of).report(start, end)
    checked = 0
    assert got["period"]["is_partial"] == want["period"]["is_partial"]
    assert got["period"]["until"] == want["period"]["until"]
    for side, mine in (("current", got), ("previous", got["previous"])):
        for section in SECTIONS:
            for key, value in want[side][section].items():
                assert mine[section][key] == value, (side, section, key)
                checked += 1
    rel, standing = got["relationships"], want["standing"]
    assert rel["customers"] == standing["customers"]
    assert {k: v for k, v in rel["by_stage"].items()} == standing["by_stage"]
    found = {r["customer_id"]: {w["reason"] for w in r["reasons"]} for r in rel["at_risk"]}
    assert found == standing["at_risk"]
    assert rel["at_risk_count"] == len(standing["at_risk"])
    assert rel["at_risk_previous"] == want["at_risk_previous"]
    weeks = [{k: w[k] for k in want["trends"][0]} for w in got["trends"]["weeks"]]
    assert weeks == want["trends"]
    assert got["daily"]["series"] == want["daily"]
    overdue = {(r["complaint_id"], r["target"], r["state"], r["due"]) for r in rel["overdue"]}
    assert overdue == want["overdue"]
    assert len(rel["overdue"]) == rel["overdue_count"]
    return checked + 9


# ----------------------------------------------------------------------------- the format


def test_json_file_beside_the_other_formats(runner, sample_book: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    result = runner.invoke(
        cli,
        [
            "report",
            "-w",
            str(sample_book),
            "--as-of",
            "2026-11-20 15:00",
            "--format",
            "json,md",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "weekly-2026-W46.json").read_text(encoding="utf-8"))
    assert (out / "weekly-2026-W46.md").exists()
    assert data["schema_version"] == 1
    assert data["period"]["label"] == "2026-W46"
    assert data["as_of"] == "2026-11-20T15:00"
    assert "charts" not in data
    assert isinstance(data["complaints"]["sla"]["overall"]["rate"], float)
    assert isinstance(data["contact"]["interactions"], int)
    assert data["definitions"][0]["term"] == "Period"
    # the whole lists, not the report's first 25
    rel = data["relationships"]
    for name in ("followups", "at_risk", "overdue"):
        assert len(rel[name]) == rel[f"{name}_count"]


def test_json_to_the_screen_in_a_real_process(sample_book: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sheetcrm",
            "report",
            "-w",
            str(sample_book),
            "--week",
            "2026-W47",
            "--as-of",
            "2026-11-20 15:00",
            "--format",
            "json",
            "--out",
            "-",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["period"]["is_partial"] is True
    assert data["complaints"]["sla"]["resolution"] == {"due": 3, "met": 1, "rate": 0.3333}
    assert not (sample_book.parent / "reports").exists()  # nothing written


def test_out_dash_takes_only_json(runner, sample_book: Path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        cli, ["report", "-w", str(sample_book), "--format", "html", "--out", "-"]
    )
    assert result.exit_code == 2
    assert "--out - prints only --format json" in result.output


def test_the_documented_keys_are_the_keys(runner, sample_book: Path) -> None:  # type: ignore[no-untyped-def]
    data = report_json(runner, sample_book, AS_OF)
    doc = (ROOT / "docs" / "report-json.md").read_text(encoding="utf-8")
    for key in data:
        assert f"`{key}`" in doc, key
    for section in (*SECTIONS, "relationships", "customer_value", "surveys"):
        for key in data[section]:
            assert f"`{section}.{key}`" in doc, f"{section}.{key}"


# ----------------------------------------------------------------------------- the sample


@pytest.mark.parametrize(
    ("week", "as_of"),
    [
        ("2026-W46", AS_OF),
        ("2026-W47", AS_OF),  # in progress
        ("2026-W45", AS_OF),
        ("2026-W44", datetime(2026, 11, 2, 7)),  # the Monday-morning run
        ("2026-W43", AS_OF),  # summer time ends on its Sunday
    ],
)
def test_sample_agrees_with_the_independent_calculation(
    runner, sample_book: Path, week: str, as_of: datetime
) -> None:  # type: ignore[no-untyped-def]
    got = report_json(runner, sample_book, as_of, "--week", week)
    assert compare(got, sample_book, as_of) > 50


# ----------------------------------------------------------------------------- generated


def generated(path: Path, seed: int) -> Path:
    """A shop with ten weeks of history around the end of summer time, holidays, weekends,
    blanks and times on the boundaries of the rules."""
    rnd = random.Random(seed)
    first = datetime(2026, 9, 7)

    def moment(days: float = 76) -> datetime:
        when = first + timedelta(minutes=rnd.randrange(int(days * 24 * 60)))
        if rnd.random() < 0.1:
            when = datetime.combine(when.date(), time())  # midnight: the first minute of a day
        return when.replace(second=0)

    customers = []
    for n in range(1, 31):
        since = rnd.choice([None, date(2025, 1, 1) + timedelta(days=rnd.randrange(700))])
        customers.append(
            {
                "customer_id": f"C-{n:03d}",
                "name": f"Customer {n}",
                "email": f"c{n}@example.com" if rnd.random() < 0.8 else None,
                "phone": f"+47 400 00 {n:03d}",
                "preferred_channel": rnd.choice([None, "email", "phone", "sms"]),
                "owner": rnd.choice(STAFF),
                "stage": rnd.choice(STAGES),
                "since": since,
                "do_not_contact": rnd.choice([None, "no", "yes"]),
            }
        )
    ids = [c["customer_id"] for c in customers]
    complaints, interactions = [], []
    for n in range(1, 46):
        opened = moment()
        if n <= 4:  # the night summer time ends, and the boundary of the 30-minute rule
            opened = [
                datetime(2026, 10, 24, 22, 30),
                datetime(2026, 10, 24, 23, 45),
                datetime(2026, 11, 2, 10),
                datetime(2026, 11, 13, 16, 50),
            ][n - 1]
        kid = f"K-{n:03d}"
        cid = rnd.choice(ids)
        status = rnd.choice(
            ["open", "in_progress", "waiting_on_customer", "resolved", "resolved", "closed"]
        )
        responded = resolved = None
        if rnd.random() < 0.7:
            responded = opened + timedelta(minutes=rnd.choice([0, 20, 30, 31, 90, 600, 3000]))
        if status in ("resolved", "closed"):
            resolved = opened + timedelta(minutes=rnd.choice([10, 30, 31, 240, 460, 2000, 9000]))
            if responded and responded > resolved:
                responded = None
        if n == 1:
            status, responded, resolved = "resolved", None, datetime(2026, 10, 25, 6)
        if n == 3:
            status, responded, resolved = "resolved", None, opened + timedelta(minutes=30)
        complaints.append(
            {
                "complaint_id": kid,
                "opened": opened,
                "customer_id": cid,
                "category": rnd.choice([None, "billing", "repair quality", "delivery"]),
                "severity": rnd.choice(["low", "normal", "high", "critical"]),
                "summary": f"complaint {kid}",
                "owner": rnd.choice(STAFF),
                "status": status,
                "first_response": responded,
                "resolved": resolved,
            }
        )
        interactions.append(
            {
                "interaction_id": f"I-K{n:03d}",
                "date": opened,
                "customer_id": cid,
                "staff": rnd.choice(STAFF),
                "channel": rnd.choice(CHANNELS),
                "direction": "inbound",
                "type": "complaint",
                "summary": "complaint received",
                "outcome": rnd.choice(["escalated", "escalated", "resolved", None]),
                "satisfaction": rnd.choice([None, None, 1, 2, 3]),
                "complaint_id": kid,
            }
        )
    for n in range(1, 321):
        interactions.append(
            {
                "interaction_id": f"I-{n:04d}",
                "date": moment(),
                "customer_id": rnd.choice(ids),
                "staff": rnd.choice(STAFF),
                "channel": rnd.choice(CHANNELS),
                "direction": rnd.choice(["inbound", "outbound", None]),
                "type": rnd.choice(TYPES),
                "summary": f"contact {n}",
                "satisfaction": rnd.choice([None, None, None, 1, 2, 3, 4, 5]),
            }
        )
    sales = []
    for n in range(1, 91):
        # half in the weeks reported, half in the months before them
        offset = rnd.randrange(196) if n % 2 else 120 + rnd.randrange(76)
        day = (first - timedelta(days=120) + timedelta(days=offset)).date()
        sales.append(
            {
                "order_id": f"S-{n:03d}",
                "date": day,
                "customer_id": rnd.choice(ids),
                "amount": rnd.choice([0, 99.5, 250, 1290, 4999.99]),
            }
        )
        if rnd.random() < 0.15:  # a second order the same day
            sales.append(dict(sales[-1], order_id=f"S-{n:03d}b", amount=10))
    records = {
        "Customers": customers,
        "Interactions": interactions,
        "Complaints": complaints,
        "Sales": sales,
        "Staff": [
            {"name": s, "email": f"{n}@example.com", "active": "yes"} for n, s in enumerate(STAFF)
        ],
        "SLA": [
            {
                "severity": "low",
                "first_response_hours": 24,
                "resolution_hours": 120,
                "business_hours_only": "yes",
            },
            {
                "severity": "normal",
                "first_response_hours": 8,
                "resolution_hours": 40,
                "business_hours_only": "yes",
            },
            {
                "severity": "high",
                "first_response_hours": 4,
                "resolution_hours": 16,
                "business_hours_only": "yes",
            },
            {
                "severity": "critical",
                "first_response_hours": 1,
                "resolution_hours": 8,
                "business_hours_only": "no",
            },
        ],
        "Holidays": [
            {"date": date(2026, 10, 26), "name": "Shop anniversary"},
            {"date": date(2026, 11, 11), "name": "Stocktaking"},
        ],
        "Settings": [
            {"key": "timezone", "value": "Europe/Oslo"},
            {"key": "business_hours", "value": "08:30-16:00"},
            {"key": "business_days", "value": "mon-sat"},
            {"key": "at_risk_after_days", "value": "30"},
        ],
    }
    return write_book(path, records)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    ("week", "as_of"),
    [
        ("2026-W43", datetime(2026, 11, 23, 7)),  # summer time ends on its Sunday
        ("2026-W44", datetime(2026, 11, 23, 7)),  # a holiday on its Monday
        ("2026-W47", datetime(2026, 11, 20, 15)),  # in progress
        ("2026-W46", datetime(2026, 11, 16, 0)),  # as-of at the very end of the week
    ],
)
def test_generated_workbooks_agree(
    runner, tmp_path: Path, seed: int, week: str, as_of: datetime
) -> None:  # type: ignore[no-untyped-def]
    path = generated(tmp_path / f"shop-{seed}.xlsx", seed)
    got = report_json(runner, path, as_of, "--week", week)
    assert compare(got, path, as_of) > 50
