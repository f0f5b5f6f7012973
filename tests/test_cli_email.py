"""`sheetcrm email` and department notices, through the CLI, against a real SMTP server."""

from __future__ import annotations

import email
import io
from email import policy

import docx
import pytest
import python_calamine

from sheetcrm.cli import cli
from tests.smtp_server import RecordingHandler, self_signed_cert, smtp_server

MONDAY = "2026-11-23 07:00"  # the scheduled run: last week is 2026-W47
SMTP_ENV = ("HOST", "PORT", "USER", "PASSWORD", "FROM", "SECURITY", "CAFILE", "URL")


@pytest.fixture(autouse=True)
def no_smtp_from_the_environment(monkeypatch):
    for name in SMTP_ENV:
        monkeypatch.delenv(f"SHEETCRM_SMTP_{name}", raising=False)


def use_server(monkeypatch, server, **extra):
    monkeypatch.setenv("SHEETCRM_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SHEETCRM_SMTP_PORT", str(server.port))
    monkeypatch.setenv("SHEETCRM_SMTP_FROM", "crm@example.com")
    monkeypatch.setenv("SHEETCRM_SMTP_SECURITY", server.security)
    for key, value in extra.items():
        monkeypatch.setenv(f"SHEETCRM_SMTP_{key.upper()}", value)


def send(runner, book, *args):
    result = runner.invoke(cli, ["email", "-w", str(book), "--as-of", MONDAY, *args])
    assert "Traceback" not in result.output
    return result


def test_weekly_summary_and_digests_arrive(runner, sample_book, monkeypatch):
    with smtp_server() as server:
        use_server(monkeypatch, server)
        result = send(runner, sample_book, "--per-owner")
        assert result.exit_code == 0, result.output
        # Settings report_recipients, then one digest per active staff member with an email.
        assert sorted(r.rcpt_tos[0] for r in server.received) == [
            "amira@sykkelverkstedet.test",
            "ingrid@sykkelverkstedet.test",
            "ingrid@sykkelverkstedet.test",
            "oyvind@sykkelverkstedet.test",
        ]
        weekly = next(r.message for r in server.received if "weekly report" in r.message["Subject"])
    assert weekly["Subject"] == "Sykkelverkstedet Bergen: weekly report 2026-W47"
    assert weekly["From"] == "crm@example.com"
    text = weekly.get_body(("plain",)).get_content()
    html = weekly.get_body(("html",)).get_content()
    assert "Sykkelverkstedet Bergen" in text and "<table" in html
    # Every picture the HTML shows travels with it, by Content-ID.
    cids = {p["Content-ID"].strip("<>") for p in weekly.walk() if p["Content-ID"]}
    shown = set(__import__("re").findall(r'src="cid:([^"]+)"', html))
    assert shown and shown <= cids
    attachment = next(weekly.iter_attachments())
    assert attachment.get_filename() == "weekly-2026-W47.docx"
    document = docx.Document(io.BytesIO(attachment.get_content()))
    assert any("SYKKELVERKSTEDET BERGEN" in p.text.upper() for p in document.paragraphs)
    # "This week" opens the document: whom to call about which complaint, then the headlines
    assert document.tables[0].rows[0].cells[2].text == "Who calls"
    assert document.tables[2].rows[0].cells[1].text == "This period"


def test_a_second_run_sends_nothing_again(runner, sample_book, monkeypatch):
    with smtp_server() as server:
        use_server(monkeypatch, server)
        assert send(runner, sample_book).exit_code == 0
        again = send(runner, sample_book)
        assert again.exit_code == 0
        assert "1 had already been sent" in again.stdout
        assert len(server.received) == 1


def test_rejected_recipient_is_named_and_only_it_is_retried(runner, sample_book, monkeypatch):
    handler = RecordingHandler(reject={"bad@example.com"})
    with smtp_server(handler) as server:
        use_server(monkeypatch, server)
        result = send(runner, sample_book, "--to", "good@example.com", "--to", "bad@example.com")
        assert result.exit_code == 2
        assert "NOT sent weekly:2026-W47:bad@example.com" in result.stderr
        assert "no such user" in result.stderr
        assert "sent weekly:2026-W47:good@example.com" in result.stdout
        handler.reject.clear()
        retry = send(runner, sample_book, "--to", "good@example.com", "--to", "bad@example.com")
        assert retry.exit_code == 0
        assert [r.rcpt_tos for r in server.received] == [["good@example.com"], ["bad@example.com"]]


def test_starttls_with_a_self_signed_certificate(runner, sample_book, monkeypatch, tmp_path):
    cert = self_signed_cert(tmp_path)
    with smtp_server(tls=cert, starttls=True, users={"crm": "s3cret"}) as server:
        use_server(monkeypatch, server, user="crm", password="s3cret", cafile=cert.certfile)
        result = send(runner, sample_book)
        assert result.exit_code == 0, result.output
        assert server.received[0].tls and server.received[0].login == "crm"


def test_login_failure_says_so_without_the_password(runner, sample_book, monkeypatch):
    with smtp_server(users={"crm": "right"}) as server:
        use_server(monkeypatch, server, user="crm", password="wrong-horse-battery")
        result = send(runner, sample_book)
        assert result.exit_code == 2
        assert "wrong-horse-battery" not in result.output
        assert "Not sent" in result.stderr
        assert server.received == []


def test_no_server_listening(runner, sample_book):
    from tests.smtp_server import free_port

    result = send(
        runner, sample_book, "--smtp-url", f"smtp://127.0.0.1:{free_port()}?from=crm%40example.com"
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ")


def test_no_mail_server_set_up(runner, sample_book):
    result = send(runner, sample_book)
    assert result.exit_code == 2 and "no mail server is set up" in result.stderr


def test_dry_run_writes_eml_files(runner, sample_book, tmp_path):
    out = tmp_path / "outbox"
    result = send(
        runner, sample_book, "--per-owner", "--attach", "docx,html", "--dry-run", str(out)
    )
    assert result.exit_code == 0, result.output
    files = sorted(out.glob("*.eml"))
    assert len(files) == 4
    weekly = email.message_from_bytes(
        (out / "weekly_2026-W47_ingrid@sykkelverkstedet.test.eml").read_bytes(),
        policy=policy.default,
    )
    assert [a.get_filename() for a in weekly.iter_attachments()] == [
        "weekly-2026-W47.docx",
        "weekly-2026-W47.html",
    ]


def test_notice_is_queued_then_sent_once(runner, make_book, valid_records, monkeypatch):
    valid_records["Staff"].append(
        {"name": "Liv", "email": "liv@example.com", "department": "Finance", "active": "yes"}
    )
    valid_records["Settings"].append({"key": "report_recipients", "value": "boss@example.com"})
    valid_records["Complaints"][0].update(status="open", resolved=None, resolution=None)
    book = make_book(valid_records)
    resolved = runner.invoke(
        cli,
        [
            "complaint",
            "resolve",
            "K-0001",
            "-w",
            str(book),
            "--resolution",
            "Refunded the double charge",
            "--notify",
            "finance",
            "--at",
            "2026-11-20 10:00",
        ],
    )
    assert resolved.exit_code == 0, resolved.output
    assert "Notice N-0001 is queued" in resolved.stdout
    notices = python_calamine.CalamineWorkbook.from_path(str(book)).get_sheet_by_name("Notices")
    assert notices.to_python()[1][:5] == [
        "N-0001",
        __import__("datetime").datetime(2026, 11, 20, 10),
        "K-0001",
        "resolved",
        "Finance",
    ]
    with smtp_server() as server:
        use_server(monkeypatch, server)
        result = send(runner, book)
        assert result.exit_code == 0, result.output
        assert "Marked notices N-0001 as sent" in result.stdout
        notice = next(r for r in server.received if r.rcpt_tos == ["liv@example.com"])
        assert "K-0001" in notice.message["Subject"]
        assert "Refunded the double charge" in notice.message.get_content()
        assert send(runner, book).exit_code == 0
        assert sum(r.rcpt_tos == ["liv@example.com"] for r in server.received) == 1
    row = (
        python_calamine.CalamineWorkbook.from_path(str(book))
        .get_sheet_by_name("Notices")
        .to_python()[1]
    )
    assert row[5] == "liv@example.com" and row[6] == __import__("datetime").datetime(
        2026, 11, 23, 7
    )


def test_notice_goes_at_once_when_mail_is_set_up(runner, make_book, valid_records, monkeypatch):
    valid_records["Complaints"][0].update(status="open", resolved=None, resolution=None)
    book = make_book(valid_records)
    with smtp_server() as server:
        use_server(monkeypatch, server)
        result = runner.invoke(
            cli,
            [
                "complaint",
                "resolve",
                "K-0001",
                "-w",
                str(book),
                "--resolution",
                "Fixed",
                "--notify",
                "Sales",
                "--at",
                "2026-11-20 10:00",
            ],
        )
        assert result.exit_code == 0, result.output
        assert "sent notice:K-0001:resolved:2026-11-20T10:00:sales:per@example.com" in result.stdout
        assert [r.rcpt_tos for r in server.received] == [["per@example.com"]]


def test_header_injection_from_the_workbook_is_neutralised(
    runner, make_book, valid_records, monkeypatch
):
    valid_records["Settings"][0]["value"] = "Evil\r\nBcc: victim@example.com"
    valid_records["Settings"].append({"key": "report_recipients", "value": "boss@example.com"})
    book = make_book(valid_records)
    with smtp_server() as server:
        use_server(monkeypatch, server)
        assert send(runner, book).exit_code == 0
        (received,) = server.received
        assert received.rcpt_tos == ["boss@example.com"]
        assert received.message["Bcc"] is None
