"""Fixtures shared by the tests: a CLI runner, workbook factories and a fixed as-of time."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from click.testing import CliRunner

from sheetcrm.contract import SHEET_BY_NAME

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_workbook.xlsx"
CORPUS = ROOT.parent / "shared" / "corpus"
if not CORPUS.is_dir():  # CI checks out the repo with shared/ beside it
    CORPUS = ROOT.parent.parent / "shared" / "corpus"

AS_OF = datetime(2026, 11, 20, 15, 0)  # a Friday afternoon

# The smallest workbook that validates cleanly; tests copy it and change one thing.
VALID: dict[str, list[dict[str, Any]]] = {
    "Customers": [
        {
            "customer_id": "C-0001",
            "name": "Jane Doe",
            "email": "jane@example.com",
            "phone": "+47 912 34 567",
            "preferred_channel": "email",
            "owner": "Kari",
            "stage": "customer",
            "since": date(2024, 3, 1),
            "do_not_contact": "no",
        },
        {
            "customer_id": "C-0002",
            "name": "Ola Nordmann",
            "email": "ola@example.com",
            "owner": "Per",
            "stage": "prospect",
        },
    ],
    "Interactions": [
        {
            "interaction_id": "I-0001",
            "date": datetime(2026, 11, 2, 10, 30),
            "customer_id": "C-0001",
            "staff": "Kari",
            "channel": "phone",
            "direction": "inbound",
            "type": "complaint",
            "summary": "Brakes squeal",
            "outcome": "escalated",
            "satisfaction": 3,
            "complaint_id": "K-0001",
        },
        {
            "interaction_id": "I-0002",
            "date": datetime(2026, 11, 3, 9, 0),
            "customer_id": "C-0002",
            "staff": "Per",
            "channel": "email",
            "direction": "outbound",
            "type": "enquiry",
            "summary": "Sent price list",
            "follow_up_on": date(2026, 11, 10),
        },
    ],
    "Complaints": [
        {
            "complaint_id": "K-0001",
            "opened": datetime(2026, 11, 2, 10, 30),
            "customer_id": "C-0001",
            "channel": "phone",
            "category": "repair quality",
            "severity": "high",
            "summary": "Brakes squeal after service",
            "owner": "Kari",
            "status": "resolved",
            "first_response": datetime(2026, 11, 2, 11, 0),
            "resolved": datetime(2026, 11, 3, 12, 0),
            "resolution": "Re-adjusted brakes",
        },
    ],
    "Sales": [
        {
            "order_id": "S-0001",
            "date": date(2026, 10, 1),
            "customer_id": "C-0001",
            "amount": 1250.5,
            "product": "Service",
            "staff": "Kari",
        },
    ],
    "Staff": [
        {"name": "Kari", "email": "kari@example.com", "department": "Workshop", "active": "yes"},
        {"name": "Per", "email": "per@example.com", "department": "Sales", "active": "yes"},
    ],
    "SLA": [
        {
            "severity": s,
            "first_response_hours": fr,
            "resolution_hours": res,
            "business_hours_only": "yes" if bh else "no",
        }
        for s, fr, res, bh in (
            ("low", 24, 120, True),
            ("normal", 8, 72, True),
            ("high", 4, 24, True),
            ("critical", 1, 8, False),
        )
    ],
    "Holidays": [{"date": date(2026, 12, 25), "name": "Christmas Day"}],
    "Settings": [
        {"key": "company_name", "value": "Test Cycles"},
        {"key": "timezone", "value": "Europe/Oslo"},
    ],
}


def write_book(
    path: Path,
    records: Mapping[str, Sequence[Mapping[str, Any] | Sequence[Any]]],
    *,
    headers: Mapping[str, Sequence[str]] | None = None,
    date1904: bool = False,
) -> Path:
    """Write a plain workbook: one sheet per key, a header row, then the rows.

    Rows are dicts (headers are the union of their keys, in order) or lists
    (then ``headers`` must name the columns). datetime/date values become real
    Excel dates; everything else is written as it is, so a test can put text
    such as "03/04/2026" where a date belongs.
    """
    wb = xlsxwriter.Workbook(str(path), {"date_1904": date1904, "strings_to_numbers": False})
    dt_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    d_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for sheet, rows in records.items():
        ws = wb.add_worksheet(sheet)
        cols = list((headers or {}).get(sheet, []))
        if not rows and not cols:  # an empty table still has its header row
            cols = [c.name for c in SHEET_BY_NAME[sheet].columns]
        if not cols:
            for row in rows:
                for key in row:  # type: ignore[union-attr]
                    if key not in cols:
                        cols.append(key)
        ws.write_row(0, 0, cols)
        for i, row in enumerate(rows, start=1):
            values = [row.get(c) for c in cols] if isinstance(row, Mapping) else list(row)
            for j, value in enumerate(values):
                if value is None:
                    continue
                if isinstance(value, datetime):
                    ws.write_datetime(i, j, value, dt_fmt)
                elif isinstance(value, date):
                    ws.write_datetime(i, j, datetime(value.year, value.month, value.day), d_fmt)
                elif isinstance(value, str):
                    ws.write_string(i, j, value)
                else:
                    ws.write(i, j, value)
    wb.close()
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def as_of() -> datetime:
    return AS_OF


@pytest.fixture
def valid_records() -> dict[str, list[dict[str, Any]]]:
    return copy.deepcopy(VALID)


@pytest.fixture
def make_book(tmp_path: Path) -> Callable[..., Path]:
    """``make_book(records, name="crm.xlsx", **write_book_options) -> path``."""

    def make(
        records: Mapping[str, Any] | None = None, name: str = "crm.xlsx", **options: Any
    ) -> Path:
        return write_book(tmp_path / name, VALID if records is None else records, **options)

    return make


@pytest.fixture
def sample_book(tmp_path: Path) -> Path:
    """A copy of the bundled sample workbook; tests never write to the checked-in file."""
    target = tmp_path / "sample.xlsx"
    shutil.copyfile(SAMPLE, target)
    return target


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    return CORPUS


# Builders and a service-level scenario shared by the overdue, followups and --mark tests.


def customer(cid, name, owner="Kari", stage="customer", **extra):
    return {
        "customer_id": cid,
        "name": name,
        "email": f"{name.lower()}@example.com",
        "phone": "+47 400 00 000",
        "owner": owner,
        "stage": stage,
        **extra,
    }


def contact(iid, when, cid, staff="Kari", direction="inbound", type_="support", **extra):
    return {
        "interaction_id": iid,
        "date": when,
        "customer_id": cid,
        "staff": staff,
        "channel": "phone",
        "direction": direction,
        "type": type_,
        "summary": f"contact {iid}",
        **extra,
    }


def complaint(kid, opened, cid, severity, owner="Kari", status="open", **extra):
    return {
        "complaint_id": kid,
        "opened": opened,
        "customer_id": cid,
        "severity": severity,
        "summary": f"complaint {kid}",
        "owner": owner,
        "status": status,
        **extra,
    }


@pytest.fixture
def sla_book(make_book, valid_records):
    r = valid_records
    r["Customers"] = [customer("C-1", "Anna"), customer("C-2", "Bo", owner="Per")]
    r["Interactions"] = []
    r["Sales"] = []
    r["Complaints"] = [
        # Thu 16:00 + 4 business h = Thu 17:00 (1 h) + Fri 09:00-12:00 (3 h): due Fri 12:00,
        # 3 h late at 15:00. Resolution due Tue 24 Nov 16:00: on track.
        complaint("K-1", datetime(2026, 11, 19, 16), "C-2", "high", owner="Per"),
        # Critical runs on the clock: 08:00 + 8 h = 16:00, due in 60 min. Responded at once.
        complaint(
            "K-2",
            datetime(2026, 11, 20, 8),
            "C-1",
            "critical",
            first_response=datetime(2026, 11, 20, 8, 30),
        ),
        # Opened on a Saturday: the clock starts Mon 09:00. First response due Mon 13:00,
        # given Mon 14:00 (met late, history only). Resolution: Mon, Tue, Wed 8 h each ends
        # exactly at closing, so due Wed 18 Nov 17:00; at Fri 15:00 that is 46 h late.
        complaint(
            "K-5",
            datetime(2026, 11, 14, 10),
            "C-1",
            "high",
            status="in_progress",
            first_response=datetime(2026, 11, 16, 14),
        ),
        # Waiting on the customer does not pause the clock, but 72 business hours from
        # Wed 10:00 runs to Tue 1 Dec 10:00: on track, not listed.
        complaint(
            "K-3",
            datetime(2026, 11, 18, 10),
            "C-2",
            "normal",
            owner="Per",
            status="waiting_on_customer",
            first_response=datetime(2026, 11, 18, 11),
        ),
        # Resolved late long ago: a historic breach, not something to chase.
        complaint(
            "K-4",
            datetime(2026, 11, 2, 9),
            "C-1",
            "high",
            status="resolved",
            first_response=datetime(2026, 11, 2, 9, 30),
            resolved=datetime(2026, 11, 9, 9),
            resolution="Replaced wheel",
        ),
    ]
    return make_book(r)


@pytest.fixture(autouse=True)
def survey_key_for_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """`email` signs survey answers; without this a run would make a key file in ~/.config."""
    monkeypatch.setenv("SHEETCRM_SURVEY_KEY", "test-survey-key")
