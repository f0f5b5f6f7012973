"""Issue 15: the policy the CLI used to hold, called from the library with no Click at all.

Sending notices right after a write (``outbox.send_notices_now``), assembling the
e-mails of a run (``outbox.email_messages``), finding the owner's templates
folder (``templates.owner_templates``) and refusing a customer nobody matches
(``find.no_match``) are library functions; a program that imports sheetcrm as
a library gets the same answers as the command line.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import pytest
import python_calamine

from sheetcrm.delivery import mail, outbox
from sheetcrm.errors import SheetCRMError
from sheetcrm.report import render as reports
from sheetcrm.report.templates import owner_templates
from sheetcrm.workbook import find
from sheetcrm.workbook.validation import load
from tests.smtp_server import free_port, smtp_server

MONDAY = datetime(2026, 11, 23, 7, 0)
RESOLVED = datetime(2026, 11, 20, 10, 0)
ROOT = Path(__file__).resolve().parent.parent


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def queued_notice(make_book, valid_records) -> tuple[Path, str]:
    """A workbook whose complaint K-0001 was just resolved with a notice for Sales queued."""
    from sheetcrm.actions.records import update_complaint

    valid_records["Complaints"][0].update(status="open", resolved=None, resolution=None)
    path = make_book(valid_records)
    done = update_complaint(path, "K-0001", when=RESOLVED, resolution="Fixed", notify="Sales")
    assert len(done.notices) == 1
    return path, done.notices[0]


def notices_sheet(path: Path) -> list[list[object]]:
    return (
        python_calamine.CalamineWorkbook.from_path(str(path))
        .get_sheet_by_name("Notices")
        .to_python()
    )


# ------------------------------------------------------------------ without Click


def test_the_moved_functions_run_where_click_cannot_be_imported(sample_book, tmp_path):
    """A script using sheetcrm as a library, on a machine where Click is not installed."""
    script = textwrap.dedent(
        f"""
        import sys
        from datetime import datetime
        from pathlib import Path
        sys.modules["click"] = None  # any "import click" now fails

        from sheetcrm.delivery import outbox
        from sheetcrm.report import render as reports
        from sheetcrm.report.templates import owner_templates
        from sheetcrm.workbook import find
        from sheetcrm.workbook.validation import load

        path = Path({str(sample_book)!r})
        when = datetime(2026, 11, 23, 7, 0)
        book, _ = load(path, as_of=when)
        assert owner_templates(path, None, book) is None
        period = reports.week_period(book, when, None)
        run = outbox.email_messages(
            path, book, period, when, "crm@example.com", ["boss@example.com"],
            per_owner=True, attach=[],
        )
        print("messages", len(run.messages))
        print("summary", sorted(m.key for m in run.messages)[0].split(":")[0])
        now = outbox.send_notices_now(path, ["N-0001"], None, when)
        print("queued", now.queued, now.notice_ids)
        refusal = find.no_match("nobody-like-this", find.find_customers(book, "x" * 30))
        print("refusal", refusal.problem.code)
        print("click", "click" in sys.modules and sys.modules["click"] is not None)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert int(lines["messages"]) >= 2  # the summary and at least one staff digest
    assert lines["queued"] == "True ['N-0001']"
    assert lines["refusal"] == "unknown_customer"
    assert lines["click"] == "False"


# ------------------------------------------------------------------ templates folder


def test_owner_templates_given_then_settings_then_none(make_book, valid_records, tmp_path):
    plain = make_book(valid_records)
    book, _ = load(plain)
    assert owner_templates(plain, None, book) is None
    mine = tmp_path / "mine"
    mine.mkdir()
    assert owner_templates(plain, mine, book) == mine

    valid_records["Settings"].append({"key": "templates_dir", "value": "looks"})
    path = make_book(valid_records, name="with-settings.xlsx")
    (path.parent / "looks").mkdir()
    book, _ = load(path)
    # Relative to the workbook's folder, not to wherever the program runs.
    assert owner_templates(path, None, book) == path.parent / "looks"
    assert owner_templates(path, mine, book) == mine  # the folder given for this run wins


def test_owner_templates_refuses_a_missing_folder(make_book, valid_records):
    valid_records["Settings"].append({"key": "templates_dir", "value": "gone"})
    path = make_book(valid_records)
    book, _ = load(path)
    with pytest.raises(SheetCRMError) as raised:
        owner_templates(path, None, book)
    assert raised.value.problem.code == "missing_file"
    assert str(path.parent / "gone") in raised.value.problem.message


# ------------------------------------------------------------------ e-mail assembly


def test_email_messages_builds_everything_and_writes_nothing(sample_book):
    before = digest(sample_book)
    book, _ = load(sample_book, as_of=MONDAY)
    period = reports.week_period(book, MONDAY, None)
    alone = outbox.email_messages(
        sample_book, book, period, MONDAY, "crm@example.com", ["boss@example.com"], attach=[]
    )
    everyone = outbox.email_messages(
        sample_book,
        book,
        period,
        MONDAY,
        "crm@example.com",
        ["boss@example.com"],
        per_owner=True,
        attach=["docx"],
    )
    assert [m.key.split(":")[0] for m in alone.messages].count("digest") == 0
    assert [m.key.split(":")[0] for m in everyone.messages].count("digest") >= 1
    summary = next(m for m in everyone.messages if m.message["To"] == "boss@example.com")
    assert "2026-W47" in summary.message["Subject"]
    assert [a.get_filename() for a in summary.message.iter_attachments()] == [
        "weekly-2026-W47.docx"
    ]
    # Nobody to send the summary to: only the digests (and notices, surveys) are built.
    digests_only = outbox.email_messages(
        sample_book, book, period, MONDAY, "crm@example.com", [], per_owner=True, attach=[]
    )
    assert all(m.message["To"] != "boss@example.com" for m in digests_only.messages)
    assert digest(sample_book) == before


# ------------------------------------------------------------------ notices after a write


def test_send_notices_now_queues_without_mail_set_up(make_book, valid_records):
    path, notice_id = queued_notice(make_book, valid_records)
    before = digest(path)
    now = outbox.send_notices_now(path, [notice_id], None, RESOLVED)
    assert now.queued and now.notice_ids == [notice_id]
    assert now.problem is None and now.result is None
    assert digest(path) == before


def test_send_notices_now_sends_and_marks_the_notice(make_book, valid_records):
    path, notice_id = queued_notice(make_book, valid_records)
    with smtp_server() as server:
        now = outbox.send_notices_now(path, [notice_id], server.config(), RESOLVED)
        assert [r.rcpt_tos for r in server.received] == [["per@example.com"]]
    assert not now.queued and now.problem is None
    assert now.result is not None
    assert now.result.sent == ["notice:K-0001:resolved:2026-11-20T10:00:sales:per@example.com"]
    header, row = notices_sheet(path)[:2]
    assert row[header.index("sent")] == RESOLVED


def test_send_notices_now_keeps_the_notice_queued_when_mail_fails(make_book, valid_records):
    path, notice_id = queued_notice(make_book, valid_records)
    nobody = mail.SmtpConfig(
        host="127.0.0.1",
        port=free_port(),
        user=None,
        password=None,
        sender="crm@example.com",
        security="none",
        timeout=5,
        cafile=None,
    )
    now = outbox.send_notices_now(path, [notice_id], nobody, RESOLVED)  # no exception
    assert not now.queued and now.result is None
    assert now.problem is not None and now.problem.code == "smtp_failed"
    header, row = notices_sheet(path)[:2]
    assert row[header.index("sent")] in ("", None)  # still waiting for `sheetcrm email`


# ------------------------------------------------------------------ customer lookup


def test_no_match_suggests_the_near_miss(make_book, valid_records):
    book, _ = load(make_book(valid_records))
    found = find.find_customers(book, "C-0010")
    assert found.matches == []
    refusal = find.no_match("C-0010", found)
    assert refusal.problem.code == "unknown_customer"
    assert refusal.problem.message == "no customer matches 'C-0010'"
    assert refusal.problem.hint.startswith("did you mean C-0001")
