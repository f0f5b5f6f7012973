"""An owner's first days: every read command works on a new, a one-row and a duplicated book.

A workbook straight from ``sheetcrm init``, one holding a single contact made
today, and one where a customer id was typed twice must give the report,
the e-mail (summary and staff digests), ``overdue``, ``followups`` and
``customer show`` with a plain empty state and exit 0 (or 1 for findings):
never "unexpected problem".
"""

from __future__ import annotations

import email
import json
import zipfile
from datetime import datetime, timedelta
from email import policy
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from sheetcrm.cli import cli
from sheetcrm.workbook.book import lookup
from tests.conftest import AS_OF, VALID, complaint, contact, customer

AT = ["--as-of", f"{AS_OF:%Y-%m-%d %H:%M}"]
THIS_WEEK = ["--week", f"{AS_OF.isocalendar().year}-W{AS_OF.isocalendar().week:02d}"]


def run(runner, path: Path, *args: str):
    result = runner.invoke(cli, ["-w", str(path), *args])
    assert "unexpected problem" not in result.output, result.output
    return result


@pytest.fixture
def new_book(runner, tmp_path) -> Path:
    """What `sheetcrm init` makes: every sheet, no records."""
    path = tmp_path / "new.xlsx"
    result = runner.invoke(cli, ["init", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def one_contact(make_book, valid_records) -> Path:
    """One customer, one staff member, one contact made this morning (as-of is Friday 15:00)."""
    r = valid_records
    r["Customers"] = [customer("C-1", "Anna", since=AS_OF.date())]
    r["Staff"] = VALID["Staff"][:1]
    r["Interactions"] = [contact("I-1", AS_OF - timedelta(hours=5), "C-1", type_="enquiry")]
    r["Complaints"] = []
    r["Sales"] = []
    return make_book(r)


@pytest.fixture
def repeated_customer(make_book, valid_records) -> Path:
    """C-1 typed twice, with an open complaint long past its service level."""
    r = valid_records
    r["Customers"] = [
        customer("C-1", "Anna", phone=None),
        customer("C-1", "Anne", owner="Per"),
        customer("C-2", "Bo", owner="Per"),
    ]
    r["Interactions"] = [
        contact("I-1", datetime(2026, 11, 10, 10), "C-1", follow_up_on=AS_OF.date()),
        contact("I-2", datetime(2026, 11, 11, 10), "C-2"),
    ]
    r["Complaints"] = [complaint("K-1", datetime(2026, 11, 2, 9), "C-1", "high")]
    r["Sales"] = [
        {"order_id": "S-1", "date": datetime(2026, 11, 12), "customer_id": "C-1", "amount": 10},
    ]
    return make_book(r)


# ------------------------------------------------------------------------- a new workbook


def test_report_on_a_new_workbook_says_nothing_was_recorded(runner, new_book, tmp_path):
    out = tmp_path / "reports"
    result = run(runner, new_book, "report", *AT, "--format", "html,md,docx", "--out", str(out))
    assert result.exit_code == 0, result.output
    md = (out / "weekly-2026-W46.md").read_text(encoding="utf-8")
    html = (out / "weekly-2026-W46.html").read_text(encoding="utf-8")
    assert "No contacts recorded this week." in md
    assert "No contacts recorded this week." in html
    assert "| By channel |" not in md  # no empty tables under the heading
    with zipfile.ZipFile(out / "weekly-2026-W46.docx") as docx:
        assert "Weekly report" in docx.read("word/document.xml").decode("utf-8")


def test_email_on_a_new_workbook_writes_the_summary(runner, new_book, tmp_path):
    outbox = tmp_path / "outbox"
    result = run(
        runner, new_book, "email", *AT, "--per-owner", "--to", "boss@example.com",
        "--dry-run", str(outbox),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (eml,) = outbox.glob("*.eml")  # nobody on the Staff sheet yet, so no digests
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["To"] == "boss@example.com"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Nothing breached or due soon." in text


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (["overdue"], "No complaint is breached or due soon"),
        (["followups"], "Nobody needs a follow-up"),
        (["followups", "--all"], "Nobody needs a follow-up"),
        (["customer", "show", "C-0001"], "No customers recorded yet"),
    ],
)
def test_lists_on_a_new_workbook_are_empty_states(runner, new_book, command, says):
    result = run(runner, new_book, *command, *AT)
    assert result.exit_code == 0, result.output
    assert says in result.output


def test_customer_show_json_on_a_new_workbook_is_null(runner, new_book):
    result = run(runner, new_book, "customer", "show", "C-0001", "--format", "json", *AT)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "null"


def test_a_new_workbook_is_not_written_by_reading(runner, new_book, tmp_path):
    before = new_book.read_bytes()
    for command in (["report", "--out", str(tmp_path / "r")], ["overdue"], ["followups"]):
        assert run(runner, new_book, *command, *AT).exit_code == 0
    assert new_book.read_bytes() == before


# --------------------------------------------------------------- one contact, made today


def test_first_report_before_the_first_contact_week(runner, one_contact, tmp_path):
    """The default week is last week, when nothing had happened yet."""
    out = tmp_path / "reports"
    result = run(runner, one_contact, "report", *AT, "--format", "md,html,docx", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "No contacts recorded this week." in (out / "weekly-2026-W46.md").read_text("utf-8")


def test_report_of_the_week_with_the_one_contact(runner, one_contact, tmp_path):
    out = tmp_path / "reports"
    args = ["report", *AT, *THIS_WEEK, "--format", "md,html,docx", "--out", str(out)]
    result = run(runner, one_contact, *args)
    assert result.exit_code == 0, result.output
    md = (out / "weekly-2026-W47.md").read_text("utf-8")
    assert "- Interactions: **1**" in md
    assert "No contacts recorded" not in md
    assert "| Enquiry | 1 |" in md or "| enquiry | 1 |" in md


def test_email_with_one_contact_sends_summary_and_digest(runner, one_contact, tmp_path):
    outbox = tmp_path / "outbox"
    result = run(
        runner, one_contact, "email", *AT, "--per-owner", "--to", "boss@example.com",
        "--dry-run", str(outbox),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    to = sorted(email.message_from_bytes(p.read_bytes())["To"] for p in outbox.glob("*.eml"))
    assert to == ["boss@example.com", "kari@example.com"]


@pytest.mark.parametrize("command", [["overdue"], ["followups", "--all"]])
def test_lists_with_one_contact_exit_0(runner, one_contact, command):
    result = run(runner, one_contact, *command, *AT)
    assert result.exit_code == 0, result.output
    assert result.output.strip()


def test_customer_show_with_one_contact_tells_the_story(runner, one_contact):
    result = run(runner, one_contact, "customer", "show", "C-1", *AT)
    assert result.exit_code == 0, result.output
    assert "# C-1 Anna" in result.output
    assert "I-1" in result.output and "enquiry by phone" in result.output


# ------------------------------------------------------------ a customer id typed twice


def test_validate_names_the_repeated_customer_id(runner, repeated_customer):
    result = run(runner, repeated_customer, "validate", *AT, "--format", "json")
    assert result.exit_code == 1
    found = json.loads(result.output)["problems"]
    assert [(p["code"], p["cell"]) for p in found] == [("duplicate_id", "A3")]


def test_overdue_lists_every_breach_with_a_repeated_customer(runner, repeated_customer):
    result = run(runner, repeated_customer, "overdue", *AT)
    assert result.exit_code == 1, result.output  # breached: findings, not a failure
    assert "K-1" in result.output
    line = next(x for x in result.output.splitlines() if "K-1" in x and "C-1" in x)
    assert "Anna" in line and "Anne" not in line  # the first row wins
    assert "nan" not in line  # a blank phone is left out, not printed


def test_customer_show_takes_the_first_row_of_a_repeated_id(runner, repeated_customer):
    result = run(runner, repeated_customer, "customer", "show", "C-1", *AT)
    assert result.exit_code == 0, result.output
    assert "# C-1 Anna" in result.output
    assert "I-1" in result.output and "K-1" in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["followups", "--all"],
        ["report", "--format", "md,html,docx", *THIS_WEEK],
        ["email", "--per-owner", "--to", "boss@example.com"],
    ],
)
def test_other_reads_survive_a_repeated_customer(runner, repeated_customer, tmp_path, command):
    extra = ["--out", str(tmp_path / "r")] if command[0] == "report" else []
    if command[0] == "email":
        extra = ["--dry-run", str(tmp_path / "outbox")]
    result = run(runner, repeated_customer, *command, *extra, *AT)
    assert result.exit_code == 0, result.output
    assert result.output.strip()


def test_followups_name_the_first_row_of_a_repeated_id(runner, repeated_customer):
    result = run(runner, repeated_customer, "followups", *AT)
    assert result.exit_code == 0, result.output
    assert "C-1 Anna" in result.output and "Anne" not in result.output


def test_reading_leaves_the_duplicated_workbook_as_it_was(runner, repeated_customer):
    run(runner, repeated_customer, "overdue", *AT)
    sheet = openpyxl.load_workbook(repeated_customer)["Customers"]
    assert [c.value for c in sheet["A"]][1:] == ["C-1", "C-1", "C-2"]
    rows = CalamineWorkbook.from_path(str(repeated_customer)).get_sheet_by_name("Customers")
    assert [r[0] for r in rows.to_python()][1:] == ["C-1", "C-1", "C-2"]


# ------------------------------------------------------------------------- the library


def test_lookup_keeps_dates_when_the_table_is_empty():
    """`Series.map` casts an empty date table to float and raises; lookup does not."""
    keys = pd.Series(["C-1", "C-2"], index=[7, 9])
    found = lookup(keys, pd.Series([], dtype="datetime64[ns]"))
    assert found.dtype == "datetime64[ns]" and found.isna().all()
    assert list(found.index) == [7, 9]


def test_lookup_lets_the_first_of_a_repeated_key_win():
    table = pd.Series([1.0, 2.0, 3.0], index=["C-1", "C-1", "C-2"])
    assert lookup(pd.Series(["C-2", "C-1", "C-9"]), table).tolist()[:2] == [3.0, 1.0]


def test_a_staff_member_typed_twice_gets_one_digest(runner, make_book, valid_records, tmp_path):
    r = valid_records
    r["Staff"] = [*r["Staff"], {"name": "Kari", "email": "kari.old@example.com", "active": "yes"}]
    outbox = tmp_path / "outbox"
    args = ["email", *AT, "--per-owner", "--attach", "none", "--dry-run", str(outbox)]
    result = run(runner, make_book(r), *args, "--to", "boss@example.com")
    assert result.exit_code == 0, result.output
    to = sorted(email.message_from_bytes(p.read_bytes())["To"] for p in outbox.glob("*.eml"))
    assert to == ["boss@example.com", "kari@example.com", "per@example.com"]


def test_email_preview_of_a_new_workbook_needs_no_recipients(runner, new_book, tmp_path):
    """A new workbook has no report_recipients yet; a dry run still shows the summary."""
    outbox = tmp_path / "outbox"
    result = run(runner, new_book, "email", *AT, "--dry-run", str(outbox))
    assert result.exit_code == 0, result.output
    assert "no report_recipients on the Settings sheet yet" in result.stderr
    (eml,) = outbox.glob("weekly_*.eml")
    assert "weekly report" in email.message_from_bytes(eml.read_bytes())["Subject"]


def test_sending_from_a_new_workbook_still_asks_for_recipients(runner, new_book):
    result = run(
        runner, new_book, "email", *AT, "--smtp-url", "smtp://localhost:1?from=crm@example.com"
    )
    assert result.exit_code == 2
    assert "nobody to send the summary to" in result.output
