"""No read command ever ends in "unexpected problem", whatever valid-ish workbook it is given.

Hypothesis builds contract workbooks of the shapes a real owner's first weeks
produce: empty sheets, single rows, whole-day dates, blanks in optional columns,
dates after as-of, repeated ids, weeks with no contacts, a first contact
yesterday, references to customers or complaints that do not exist. Every read
command must then end in one of three ways: done (exit 0) or findings (exit 1)
with output, or could-not (exit 2) with a message that says where to look.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sheetcrm.cli import cli
from sheetcrm.contract import VOCABULARIES
from sheetcrm.errors import SheetCRMError
from tests.conftest import AS_OF, ROOT, VALID, contact, customer, write_book

CUSTOMER_IDS = ["C-1", "C-2", "C-3"]  # few, so repeats and shared references are common
STAFF = ["Kari", "Per"]
COMPLAINT_IDS = ["K-1", "K-2"]
AS_OF_TEXT = f"{AS_OF:%Y-%m-%d %H:%M}"
# The locations a "could not do it" message may point at: a sheet, or what to type instead.
LOCATED = ("Customers", "Interactions", "Complaints", "Sales", "Staff", "SLA", "Settings", "hint")


def blank_or(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


# Days around as-of: long ago, this week, yesterday, today, and a few days ahead (typos).
day_offsets = st.sampled_from([-400, -60, -9, -7, -6, -3, -1, 0, 1, 5])


@st.composite
def moments(draw: st.DrawFn) -> date | datetime:
    day = AS_OF.date() + timedelta(days=draw(day_offsets))
    if draw(st.booleans()):  # a whole day, as an owner types it
        return day
    return datetime.combine(day, datetime.min.time()) + timedelta(
        hours=draw(st.integers(7, 20)), minutes=draw(st.sampled_from([0, 30]))
    )


def vocab(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from(list(VOCABULARIES[name]))


@st.composite
def customers(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "customer_id": draw(st.sampled_from(CUSTOMER_IDS)),
        "name": draw(st.sampled_from(["Anna", "Bo", "Cai"])),
        "email": draw(blank_or(st.sampled_from(["anna@example.com", "bo@example.com"]))),
        "preferred_channel": draw(blank_or(vocab("channel"))),
        "owner": draw(st.sampled_from(STAFF)),
        "stage": draw(vocab("stage")),
        "since": draw(blank_or(moments())),
        "do_not_contact": draw(blank_or(st.sampled_from(["yes", "no"]))),
    }


@st.composite
def interactions(draw: st.DrawFn) -> dict[str, Any]:
    follow_up = draw(blank_or(day_offsets))
    return {
        "interaction_id": draw(st.sampled_from(["I-1", "I-2", "I-3", "I-4"])),
        "date": draw(moments()),
        "customer_id": draw(st.sampled_from(CUSTOMER_IDS)),
        "staff": draw(st.sampled_from(STAFF)),
        "channel": draw(vocab("channel")),
        "direction": draw(blank_or(vocab("direction"))),
        "type": draw(vocab("type")),
        "summary": "a contact",
        "outcome": draw(blank_or(vocab("outcome"))),
        "satisfaction": draw(blank_or(st.integers(1, 5))),
        "follow_up_on": None if follow_up is None else AS_OF.date() + timedelta(days=follow_up),
        "complaint_id": draw(blank_or(st.sampled_from(COMPLAINT_IDS))),
    }


@st.composite
def complaints(draw: st.DrawFn) -> dict[str, Any]:
    opened = draw(moments())
    start = (
        opened if isinstance(opened, datetime) else datetime.combine(opened, datetime.min.time())
    )
    answered = draw(blank_or(st.integers(1, 72)))
    resolved = draw(blank_or(st.integers(1, 200)))
    return {
        "complaint_id": draw(st.sampled_from(COMPLAINT_IDS)),
        "opened": opened,
        "customer_id": draw(st.sampled_from(CUSTOMER_IDS)),
        "channel": draw(blank_or(vocab("channel"))),
        "category": draw(blank_or(st.sampled_from(["billing", "repair quality"]))),
        "severity": draw(vocab("severity")),
        "summary": "a complaint",
        "owner": draw(st.sampled_from(STAFF)),
        "status": draw(vocab("status")),
        "first_response": None if answered is None else start + timedelta(hours=answered),
        "resolved": None if resolved is None else start + timedelta(hours=resolved),
        "resolution": draw(blank_or(st.just("fixed"))),
    }


@st.composite
def sales(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "order_id": draw(st.sampled_from(["S-1", "S-2", "S-3"])),
        "date": draw(moments()),
        "customer_id": draw(st.sampled_from(CUSTOMER_IDS)),
        "amount": draw(st.sampled_from([0, 99.5, 1250])),
        "product": draw(blank_or(st.just("Service"))),
        "staff": draw(blank_or(st.sampled_from(STAFF))),
    }


@st.composite
def workbooks(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    records = copy.deepcopy(VALID)
    records["Customers"] = draw(st.lists(customers(), max_size=3))
    records["Interactions"] = draw(st.lists(interactions(), max_size=4))
    records["Complaints"] = draw(st.lists(complaints(), max_size=3))
    records["Sales"] = draw(st.lists(sales(), max_size=2))
    records["Staff"] = draw(
        st.sampled_from([VALID["Staff"], VALID["Staff"][:1], [], VALID["Staff"] * 2])
    )
    records["Holidays"] = draw(st.sampled_from([VALID["Holidays"], [], VALID["Holidays"] * 2]))
    settings = [*VALID["Settings"], {"key": "report_recipients", "value": "boss@example.com"}]
    records["Settings"] = draw(st.sampled_from([settings, [], settings + settings[:1]]))
    records["SLA"] = draw(st.sampled_from([VALID["SLA"], VALID["SLA"][1:], VALID["SLA"] * 2]))
    return records


def read_commands(out: Path) -> list[list[str]]:
    at = ["--as-of", AS_OF_TEXT]
    return [
        ["validate", *at],
        # Markdown only: the charts of html and docx are tried on empty and one-row books
        # in test_empty_workbooks.py, and cost seconds per example here.
        ["report", *at, "--format", "md", "--out", str(out / "reports")],
        [
            "email",
            *at,
            "--per-owner",
            "--to",
            "boss@example.com",
            "--attach",
            "none",
            "--dry-run",
            str(out / "outbox"),
        ],
        ["overdue", *at],
        ["followups", *at, "--all"],
        ["customer", "show", "C-1", *at],
    ]


@settings(
    max_examples=20,
    deadline=None,
    # No shrinking: each example runs six commands, and shrinking one failure took minutes.
    # The failing workbook is printed whole in the assertion message instead.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(records=workbooks())
def test_no_read_command_ends_in_an_unexpected_problem(records):
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        path = write_book(out / "crm.xlsx", records)
        for args in read_commands(out):
            result = runner.invoke(cli, ["-w", str(path), *args])
            said = result.output
            where = f"{args[0]} on {records}:\n{said}"
            assert "unexpected problem" not in said, where
            assert result.exit_code in (0, 1, 2), where
            assert said.strip(), where
            if result.exit_code == 2:
                assert any(word in said for word in LOCATED), where


# ------------------------------------------------------------------ --debug and pipes


@pytest.mark.parametrize(
    "args",
    [
        ["--debug", "overdue", "-w", "{missing}"],
        ["overdue", "-w", "{missing}", "--debug"],
        ["customer", "show", "C-1", "--debug", "-w", "{missing}"],
        ["customer", "--debug", "show", "C-1", "-w", "{missing}"],
    ],
    ids=["before", "after", "subcommand", "group"],
)
def test_debug_is_accepted_before_or_after_the_command(tmp_path, monkeypatch, args):
    monkeypatch.delenv("SHEETCRM_DEBUG", raising=False)
    missing = str(tmp_path / "missing.xlsx")
    plain = [a for a in args if a != "--debug"]
    runner = CliRunner()
    quiet = runner.invoke(cli, [a.format(missing=missing) for a in plain])
    assert quiet.exit_code == 2 and "missing.xlsx does not exist" in quiet.output
    loud = runner.invoke(cli, [a.format(missing=missing) for a in args])
    # With --debug the error is not turned into a message: the traceback is for whoever helps.
    assert isinstance(loud.exception, SheetCRMError), loud.output


@pytest.mark.parametrize("command", [[], ["email"], ["customer", "show"], ["overdue"]])
def test_debug_is_listed_in_help(command):
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "--debug" in result.output and "traceback" in result.output


def test_a_closed_pipe_ends_customer_show_quietly(make_book, valid_records):
    """`sheetcrm customer show C-1 | head -3`, with more history than a pipe buffer holds."""
    r = valid_records
    r["Customers"] = [customer("C-1", "Anna")]
    r["Interactions"] = [
        contact(f"I-{i}", datetime(2026, 1, 1) + timedelta(hours=i), "C-1") for i in range(3000)
    ]
    r["Complaints"], r["Sales"] = [], []
    path = make_book(r)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SHEETCRM_DEBUG", None)
    command = [sys.executable, "-m", "sheetcrm", "customer", "show", "C-1", "-w", str(path)]
    proc = subprocess.Popen(
        [*command, "--as-of", AS_OF_TEXT], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert proc.stdout is not None and proc.stderr is not None
    head = [proc.stdout.readline() for _ in range(3)]
    proc.stdout.close()  # what `head` does once it has its lines
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, stderr
    assert head[0].startswith(b"# C-1 Anna")
    assert stderr == ""  # no "unexpected problem", no "Exception ignored ... BrokenPipeError"
