"""`sheetcrm email` under faults (issue 12: 1, 9, 10, 11): nothing sent twice, nothing
marked sent that was not. Through the CLI, with real mail to a local aiosmtpd server."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
import python_calamine

from sheetcrm.cli import cli
from sheetcrm.delivery.mail import sent_log_path
from tests.conftest import ROOT, write_book
from tests.smtp_server import RecordingHandler, smtp_server

MONDAY = "2026-11-23 07:00"  # the scheduled run: last week is 2026-W47
SMTP_ENV = ("HOST", "PORT", "USER", "PASSWORD", "FROM", "SECURITY", "CAFILE", "URL")


@pytest.fixture(autouse=True)
def no_smtp_from_the_environment(monkeypatch):
    for name in SMTP_ENV:
        monkeypatch.delenv(f"SHEETCRM_SMTP_{name}", raising=False)


def url(server) -> str:
    return f"smtp://127.0.0.1:{server.port}?from=crm%40example.com"


def email(runner, book: Path, server, *args: str):
    result = runner.invoke(
        cli, ["email", "-w", str(book), "--as-of", MONDAY, "--smtp-url", url(server), *args]
    )
    assert "Traceback" not in result.output
    return result


def open_complaint(runner, book: Path, at: str, summary: str):
    result = runner.invoke(
        cli,
        [
            "complaint", "open", "-w", str(book), "--customer", "C-0001",
            "--severity", "normal", "--summary", summary, "--notify", "Workshop", "--at", at,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result


def notices(book: Path) -> list[list]:
    rows = python_calamine.CalamineWorkbook.from_path(str(book)).get_sheet_by_name("Notices")
    return rows.to_python()[1:]


def rewrite(book: Path, edit) -> None:
    """What the owner does in Excel, then saves: ``edit(sheet, rows)`` returns the new rows."""
    wb = python_calamine.CalamineWorkbook.from_path(str(book))
    records, headers = {}, {}
    for name in wb.sheet_names:
        header, *rows = wb.get_sheet_by_name(name).to_python()
        rows = [[None if v == "" else v for v in r] for r in rows]
        records[name], headers[name] = edit(name, rows), header
    os.remove(book)
    write_book(book, records, headers=headers)


def delete_rows(book: Path, sheet: str, ids: set[str]) -> None:
    """Delete whole rows, as in Excel: the others move up."""
    rewrite(book, lambda name, rows: [r for r in rows if not (name == sheet and r[0] in ids)])


# ----------------------------------------------------------------------------- 12.1


def test_deleted_sent_notices_never_make_a_new_notice_look_sent(runner, make_book):
    book = make_book()
    for n, at in enumerate(("2026-11-20 09:00", "2026-11-20 10:00", "2026-11-20 11:00"), 1):
        open_complaint(runner, book, at, f"Problem {n}")
    assert [r[0] for r in notices(book)] == ["N-0001", "N-0002", "N-0003"]
    with smtp_server() as server:
        first = email(runner, book, server, "--to", "boss@example.com")
        assert first.exit_code == 0, first.output
        assert "Marked notices N-0001, N-0002, N-0003 as sent" in first.stdout
        to_kari = [r for r in server.received if r.rcpt_tos == ["kari@example.com"]]
        assert len(to_kari) == 3

        # The owner tidies up: the last two sent notices go, rows deleted in Excel.
        delete_rows(book, "Notices", {"N-0002", "N-0003"})
        assert [r[0] for r in notices(book)] == ["N-0001"]

        opened = open_complaint(runner, book, "2026-11-21 09:00", "Wobbly wheel")
        assert "(notice N-0004)" in opened.stdout  # never N-0002 again
        second = email(runner, book, server, "--to", "boss@example.com")
        assert second.exit_code == 0, second.output
        assert "Marked notices N-0004 as sent" in second.stdout
        to_kari = [r for r in server.received if r.rcpt_tos == ["kari@example.com"]]
        assert len(to_kari) == 4  # the new notice really went
        assert "Wobbly wheel" in to_kari[-1].message.get_content()
    assert [(r[0], r[5]) for r in notices(book)] == [
        ("N-0001", "kari@example.com"),
        ("N-0004", "kari@example.com"),
    ]


def test_a_reused_notice_id_is_still_sent_because_keys_say_what_was_sent(runner, make_book):
    """Even with the record of ids gone too, a new notice is judged by what it tells."""
    from sheetcrm.delivery.outbox import issued_ids_path

    book = make_book()
    open_complaint(runner, book, "2026-11-20 09:00", "First")
    open_complaint(runner, book, "2026-11-20 10:00", "Second")
    with smtp_server() as server:
        assert email(runner, book, server, "--to", "boss@example.com").exit_code == 0
        delete_rows(book, "Notices", {"N-0002"})
        issued_ids_path(book).unlink()
        opened = open_complaint(runner, book, "2026-11-21 09:00", "Third")
        assert "(notice N-0002)" in opened.stdout  # nothing left that remembers N-0002
        again = email(runner, book, server, "--to", "boss@example.com")
        assert again.exit_code == 0, again.output
        assert "Marked notices N-0002 as sent" in again.stdout
        texts = [r.message.get_content() for r in server.received if "kari" in r.rcpt_tos[0]]
    assert len(texts) == 3 and "Third" in texts[-1]


@pytest.mark.parametrize("sent_after_it_was_made", [True, False])
def test_an_older_versions_sent_log_is_honoured_only_for_its_own_notice(
    runner, make_book, sent_after_it_was_made
):
    book = make_book()
    open_complaint(runner, book, "2026-11-20 09:00", "Brakes")
    stamp = "2026-11-20T09:30:00" if sent_after_it_was_made else "2026-11-19T09:30:00"
    stamp = datetime.fromisoformat(stamp).astimezone().isoformat()
    # What sheetcrm wrote before notice keys said what they tell: the row id.
    sent_log_path(book).write_text(json.dumps({"notice:N-0001:kari@example.com": stamp}))
    with smtp_server() as server:
        result = email(runner, book, server, "--to", "boss@example.com")
        to_kari = [r for r in server.received if r.rcpt_tos == ["kari@example.com"]]
    assert result.exit_code == 0, result.output
    assert "Marked notices N-0001 as sent" in result.stdout
    # Sent after the notice was made: that was this notice, so not again. Sent
    # before it existed: an older notice that had the same id, so this one goes.
    assert len(to_kari) == (0 if sent_after_it_was_made else 1)


# ----------------------------------------------------------------------------- 12.9


class GateHandler(RecordingHandler):
    """Holds messages at DATA until ``release`` is set, 10 s at most: a slow provider."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.holding = threading.Event()
        self.until = 0.0

    async def handle_DATA(self, server, session, envelope):
        if not self.holding.is_set():
            self.holding.set()
            self.until = time.monotonic() + 10
        while not self.release.is_set() and time.monotonic() < self.until:
            await asyncio.sleep(0.05)
        return await super().handle_DATA(server, session, envelope)


def test_two_overlapping_runs_send_each_message_once(make_book, valid_records):
    book = make_book(valid_records)
    recipients = [f"r{n}@example.com" for n in range(1, 7)]
    handler = GateHandler()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in SMTP_ENV:
        env.pop(f"SHEETCRM_SMTP_{name}", None)
    with smtp_server(handler) as server:
        command = [
            sys.executable, "-m", "sheetcrm", "email", "-w", str(book), "--as-of", MONDAY,
            "--attach", "none", "--smtp-url", url(server),
            *(arg for r in recipients for arg in ("--to", r)),
        ]  # fmt: skip
        first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # The first run is in the middle of sending its first message: start the second.
        assert handler.holding.wait(60), "the first run never reached the server"
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        # Recorded before DATA, so a crash now could never lead to a silent second copy.
        held = json.loads(sent_log_path(book).read_text())
        assert held == {"weekly:2026-W47:r1@example.com": held["weekly:2026-W47:r1@example.com"]}
        assert held["weekly:2026-W47:r1@example.com"].startswith("in flight since ")
        handler.release.set()
        _out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err.decode()
    assert second.returncode == 3, second.stderr
    assert "another sheetcrm command is sending e-mail for crm.xlsx" in second.stderr
    assert "Traceback" not in second.stderr
    assert sorted(r.rcpt_tos[0] for r in server.received) == recipients  # 6, not 12
    log = json.loads(sent_log_path(book).read_text())
    assert sorted(log) == sorted(f"weekly:2026-W47:{r}" for r in recipients)


# ----------------------------------------------------------------------------- 12.10


class LosesReplyHandler(RecordingHandler):
    """Stores the n-th message, then drops the connection without answering."""

    def __init__(self, lose: set[int]) -> None:
        super().__init__()
        self.lose = lose

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        if len(self.received) in self.lose:
            server.transport.abort()  # stored, but the 250 never leaves
        return reply


def test_a_lost_reply_is_never_retried_silently_and_resend_decides(runner, make_book):
    book = make_book()
    to = ["--to", "a@example.com", "--to", "b@example.com", "--to", "c@example.com"]
    handler = LosesReplyHandler(lose={2})
    key = "weekly:2026-W47:b@example.com"
    with smtp_server(handler) as server:
        first = email(runner, book, server, "--attach", "none", *to)
        received = [r.rcpt_tos[0] for r in server.received]
        assert received == ["a@example.com", "b@example.com", "c@example.com"]  # b once
        assert first.exit_code == 1, first.output
        assert f"{key} may have been sent" in first.stderr
        assert f"--resend {key}" in first.stderr
        assert json.loads(sent_log_path(book).read_text())[key].startswith("in flight since")

        again = email(runner, book, server, "--attach", "none", *to)
        assert len(server.received) == 3  # nothing went again on its own
        assert again.exit_code == 1 and f"{key} may have been sent" in again.stderr

        wrong = email(runner, book, server, "--attach", "none", *to, "--resend", "weekly:x")
        assert wrong.exit_code == 2 and "is not one of the e-mails this run" in wrong.stderr
        assert key in wrong.stderr  # the hint lists what waits for the owner's word

        resent = email(runner, book, server, "--attach", "none", *to, "--resend", key)
        assert resent.exit_code == 0, resent.output
        assert f"sent {key}" in resent.stdout
        copies = [r.message for r in server.received if r.rcpt_tos == ["b@example.com"]]
    assert len(copies) == 2
    # The same Message-ID both times, so the recipient's mail client can drop one.
    assert copies[0]["Message-ID"] == copies[1]["Message-ID"]
    assert copies[0]["Message-ID"].endswith("@example.com>")
    assert not json.loads(sent_log_path(book).read_text())[key].startswith("in flight")


def test_message_ids_are_stable_per_key_and_differ_between_keys(runner, make_book):
    book = make_book()
    with smtp_server() as server:
        email(runner, book, server, "--attach", "none", "--to", "a@example.com")
        email(runner, book, server, "--attach", "none", "--to", "b@example.com")
        email(
            runner, book, server, "--attach", "none", "--to", "a@example.com",
            "--resend", "weekly:2026-W47:a@example.com",
        )  # fmt: skip
        ids = [r.message["Message-ID"] for r in server.received]
    assert len(ids) == 3 and ids[0] == ids[2] and ids[0] != ids[1]


# ----------------------------------------------------------------------------- 12.11


def test_a_staff_address_with_a_control_character_is_named_and_the_rest_go(
    runner, make_book, valid_records
):
    valid_records["Staff"][1]["email"] = "per\x01@example.com"  # Per, Staff row 3
    book = make_book(valid_records)
    checked = runner.invoke(cli, ["validate", "-w", str(book), "--as-of", MONDAY])
    assert checked.exit_code == 1, checked.output
    assert "Staff!B3" in checked.output and "control character" in checked.output

    resolve = runner.invoke(
        cli,
        [
            "complaint", "open", "-w", str(book), "--customer", "C-0002", "--severity", "low",
            "--summary", "Invoice twice", "--notify", "Sales", "--at", "2026-11-20 09:00",
        ],
    )  # fmt: skip
    assert "Traceback" not in resolve.output
    with smtp_server() as server:
        result = email(runner, book, server, "--per-owner", "--to", "boss@example.com")
        assert sorted(r.rcpt_tos[0] for r in server.received) == [
            "boss@example.com",
            "kari@example.com",
        ]
    assert result.exit_code == 1, result.output
    # Both messages meant for Per are named, with the cell to fix.
    assert result.stderr.count("Staff!B3") == 2
    assert "The weekly digest for Per was not sent" in result.stderr
    assert "Notice N-0001" in result.stderr and "control character" in result.stderr
    assert [r[6] for r in notices(book)] == [""]  # the notice reached nobody: still waiting


def test_validate_accepts_ordinary_addresses(runner, make_book):
    checked = runner.invoke(cli, ["validate", "-w", str(make_book()), "--as-of", MONDAY])
    assert checked.exit_code == 0, checked.output


def test_a_notice_whose_answer_was_lost_is_not_marked_sent_nor_sent_again(
    runner, make_book, monkeypatch
):
    book = make_book()
    handler = LosesReplyHandler(lose={1})
    with smtp_server(handler) as server:
        for name, value in (("HOST", "127.0.0.1"), ("PORT", str(server.port))):
            monkeypatch.setenv(f"SHEETCRM_SMTP_{name}", value)
        monkeypatch.setenv("SHEETCRM_SMTP_FROM", "crm@example.com")
        monkeypatch.setenv("SHEETCRM_SMTP_SECURITY", "none")
        opened = open_complaint(runner, book, "2026-11-20 09:00", "Chain snapped")  # sent at once
        key = "notice:K-0002:opened:2026-11-20T09:00:workshop:kari@example.com"
        assert f"Warning: {key} may have been sent" in opened.stderr
        result = email(runner, book, server, "--to", "boss@example.com")
        assert result.exit_code == 1, result.output
        assert f"{key} may have been sent" in result.stderr
        assert [r.rcpt_tos for r in server.received] == [["kari@example.com"], ["boss@example.com"]]
    assert [(r[0], r[6]) for r in notices(book)] == [("N-0001", "")]  # not marked sent


def test_a_notice_waits_for_the_member_skipped_and_then_goes_only_to_them(
    runner, make_book, valid_records
):
    valid_records["Staff"].append(
        {"name": "Ola", "email": "ola\x07@example.com", "department": "Workshop", "active": "yes"}
    )  # Staff row 4
    book = make_book(valid_records)
    open_complaint(runner, book, "2026-11-20 09:00", "Gears slip")
    with smtp_server() as server:
        first = email(runner, book, server, "--to", "boss@example.com")
        assert first.exit_code == 1, first.output
        assert "Staff!B4: Notice N-0001 (Notices row 2) for Ola was not sent" in first.stderr
        assert "Marked notices" not in first.stdout
        assert [r[6] for r in notices(book)] == [""]  # Ola has not had it: still waiting

        # The owner retypes Ola's address in Excel.
        def retype(sheet, rows):
            return [[*r[:1], "ola@example.com", *r[2:]] if r[0] == "Ola" else r for r in rows]

        rewrite(book, retype)

        second = email(runner, book, server, "--to", "boss@example.com")
        assert second.exit_code == 0, second.output
        assert "Marked notices N-0001 as sent" in second.stdout
        got = [r.rcpt_tos[0] for r in server.received if "K-0002" in r.message["Subject"]]
    assert got == ["kari@example.com", "ola@example.com"]  # each once
    assert notices(book)[0][5] == "kari@example.com, ola@example.com"


def test_lines_starting_with_a_dot_arrive_intact():
    """sheetcrm writes DATA itself (to know when a message has gone): dots are doubled."""
    from sheetcrm.delivery.mail import Outgoing, build_message, send

    text = "Summary:\n.hidden line\n..two dots\n.\nend\n"
    message = build_message(
        subject="dots", sender="crm@example.com", to=["a@example.com"], text=text
    )
    with smtp_server() as server:
        result = send([Outgoing("dots:a@example.com", message)], server.config())
        (received,) = server.received
    assert result.sent == ["dots:a@example.com"]
    assert received.message.get_content().replace("\r\n", "\n") == text
