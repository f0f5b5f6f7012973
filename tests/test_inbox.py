"""``sheetcrm inbox`` on a real Dovecot: rows, links, kept .eml, never twice, Excel open."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from sheetcrm.cli import cli
from sheetcrm.delivery import inbox as lib
from tests.imap_server import GMAIL_REPLY, OUTLOOK_REPLY, bounce, imap_server, message

WHEN = "2026-11-20 15:00"
PHOTO = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def rows(path: Path, sheet: str) -> list[dict[str, object]]:
    ws = openpyxl.load_workbook(path, data_only=True)[sheet]
    values = list(ws.iter_rows(values_only=True))
    header = [str(h) for h in values[0]]
    return [dict(zip(header, r, strict=False)) for r in values[1:] if any(r)]


def calamine_rows(path: Path, sheet: str) -> list[list[object]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


def the_week() -> list[bytes]:
    """Six messages: three about customers, one robot, one bounce, one stranger."""
    return [
        # A customer answers a complaint thread from Gmail, in Norwegian, with a photo.
        message(
            sender="Jane Doe <jane@example.com>",
            to="Kari <kari@example.com>",
            cc="crm@example.com",
            subject="Re: [K-0001] Bremsene hviner",
            text=GMAIL_REPLY,
            message_id="<jane-1@mail.gmail.com>",
            attachment=("brems.png", PHOTO, "image/png"),
        ),
        # A prospect replies from Outlook; the CRM mailbox is copied by a server rule.
        message(
            sender="Ola Nordmann <ola@example.com>",
            to="kari@example.com",
            subject="RE: Winter tyres",
            text=OUTLOOK_REPLY,
            when="Wed, 18 Nov 2026 08:30:00 +0100",
            message_id="<ola-1@outlook.com>",
        ),
        # Staff BCC the CRM mailbox: the customer is the only visible recipient.
        message(
            sender="Per <per@example.com>",
            to="Ola Nordmann <ola@example.com>",
            subject="Winter tyres: prices",
            text="Hi Ola,\n\nThe winter tyres are 4 200 kr fitted.\n\nRegards,\nPer\n",
            when="Wed, 18 Nov 2026 09:10:00 +0100",
            message_id="<per-1@example.com>",
        ),
        # Jane's vacation reply to something: a robot, skipped.
        message(
            sender="Jane Doe <jane@example.com>",
            to="crm@example.com",
            subject="Fravær: Winter offers",
            text="Jeg er på ferie til 1. desember.",
            message_id="<jane-auto@mail.gmail.com>",
            headers={"Auto-Submitted": "auto-replied"},
        ),
        bounce("<bounce-1@mail.example.com>", "old@example.com"),
        # Someone the workbook does not know.
        message(
            sender="Nina Berg <nina@example.org>",
            to="crm@example.com",
            subject="Do you service e-bikes?",
            text="Hello, do you service Bosch e-bikes? Nina",
            message_id="<nina-1@example.org>",
        ),
    ]


@pytest.fixture
def server():
    with imap_server() as s:
        yield s


def run(runner, book: Path, server, *args: str):
    return runner.invoke(cli, ["inbox", "-w", str(book), "--as-of", WHEN, *args], env=server.env())


def test_a_week_of_mail_becomes_interactions(runner, make_book, server) -> None:
    book = make_book()
    for raw in the_week():
        server.append(raw)

    result = run(runner, book, server)

    assert result.exit_code == 0, result.output
    assert "logged 3 messages, 1 to review, 2 skipped" in result.output
    new = [r for r in rows(book, "Interactions") if str(r["interaction_id"]) > "I-0002"]
    assert [
        (r["customer_id"], r["staff"], r["channel"], r["direction"], r["type"], r["complaint_id"])
        for r in new
    ] == [
        ("C-0001", "Kari", "email", "inbound", "complaint", "K-0001"),
        ("C-0002", "Kari", "email", "inbound", "enquiry", None),
        ("C-0002", "Per", "email", "outbound", "follow_up", None),
    ]
    jane = str(new[0]["summary"])
    assert jane.startswith("Re: [K-0001] Bremsene hviner: Hei igjen,")
    assert "nedoverbakker" in jane and "brems.png" in jane
    assert "justert" not in jane and "Mvh" not in jane  # the quote and the signature are cut
    ola = str(new[1]["summary"])
    assert "price list for winter tyres" in ola and "in stock" not in ola
    # The message's own time, on the shop's clock (Europe/Oslo).
    assert new[0]["date"] == datetime(2026, 11, 17, 10, 15)
    # A second reader sees the same rows.
    assert [r[0] for r in calamine_rows(book, "Interactions")[3:]] == [
        "I-0003",
        "I-0004",
        "I-0005",
    ]
    review = rows(book, "To review")
    assert [(r["from"], r["name"], r["subject"], r["status"]) for r in review] == [
        ("nina@example.org", "Nina Berg", "Do you service e-bikes?", "new")
    ]
    kept = sorted(p.name for p in (book.parent / "mail").glob("*.eml"))
    assert len(kept) == 6
    assert (book.parent / str(review[0]["file"])).read_bytes().count(b"Bosch") == 1
    assert server.uids("INBOX") == []
    assert len(server.uids(lib.LOGGED)) == 3
    assert server.subjects(lib.REVIEW) == ["Do you service e-bikes?"]
    assert len(server.uids(lib.SKIPPED)) == 2


def test_a_second_run_and_the_same_message_again_change_nothing(runner, make_book, server) -> None:
    book = make_book()
    for raw in the_week():
        server.append(raw)
    assert run(runner, book, server).exit_code == 0
    before = book.read_bytes()
    # The same message arrives again (a second copy through another rule).
    server.append(the_week()[0])

    again = run(runner, book, server)

    assert again.exit_code == 0, again.output
    assert "logged 0 messages" in again.output and "1 logged before" in again.output
    assert book.read_bytes() == before
    assert server.uids("INBOX") == []
    assert len(server.uids(lib.LOGGED)) == 4


def test_nothing_is_read_or_moved_while_excel_has_the_workbook_open(
    runner, make_book, server
) -> None:
    book = make_book()
    for raw in the_week():
        server.append(raw)
    before = book.read_bytes()
    owner = book.with_name("~$" + book.name)
    owner.write_bytes(b"\x04Kari" + b" " * 50)

    result = run(runner, book, server)

    assert result.exit_code == 3, result.output
    assert "open in Excel" in result.output
    assert book.read_bytes() == before
    assert len(server.uids("INBOX")) == 6
    assert server.seen("INBOX") == [False] * 6
    assert not (book.parent / "mail").exists()

    owner.unlink()
    later = run(runner, book, server)
    assert later.exit_code == 0, later.output
    assert "logged 3 messages" in later.output
    assert server.uids("INBOX") == []


def test_an_unknown_sender_is_added_as_a_customer_with_one_command(
    runner, make_book, server
) -> None:
    book = make_book()
    for raw in the_week():
        server.append(raw)
    assert run(runner, book, server).exit_code == 0

    added = runner.invoke(
        cli, ["inbox", "add", "nina@example.org", "-w", str(book), "--as-of", WHEN]
    )

    assert added.exit_code == 0, added.output
    customers = rows(book, "Customers")
    nina = [c for c in customers if c["email"] == "nina@example.org"]
    assert [(c["customer_id"], c["name"], c["stage"]) for c in nina] == [
        ("C-0003", "Nina Berg", "prospect")
    ]
    logged = [r for r in rows(book, "Interactions") if r["customer_id"] == "C-0003"]
    assert [(r["direction"], r["type"], r["summary"]) for r in logged] == [
        ("inbound", "enquiry", "Do you service e-bikes?: Hello, do you service Bosch e-bikes? Nina")
    ]
    assert [r["status"] for r in rows(book, "To review")] == ["added as C-0003"]
    # customer show points to the kept message.
    shown = runner.invoke(cli, ["customer", "show", "C-0003", "-w", str(book), "--as-of", WHEN])
    assert shown.exit_code == 0, shown.output
    assert "mail/" in shown.output and ".eml" in shown.output


def test_an_ignored_sender_is_skipped(runner, make_book, server) -> None:
    book = make_book()
    ignored = runner.invoke(cli, ["inbox", "ignore", "Nina@Example.org", "-w", str(book)])
    assert ignored.exit_code == 0, ignored.output
    server.append(the_week()[-1])

    result = run(runner, book, server)

    assert result.exit_code == 0, result.output
    assert "skipped: nina@example.org" in result.output
    assert "To review" not in openpyxl.load_workbook(book).sheetnames


def test_user_text_in_mail_stays_text(runner, make_book, server) -> None:
    book = make_book()
    server.append(
        message(
            sender="jane@example.com",
            to="crm@example.com",
            subject='=HYPERLINK("http://evil.example","click")',
            text="=1+1\n",
            message_id="<evil@example.com>",
        )
    )
    assert run(runner, book, server).exit_code == 0
    ws = openpyxl.load_workbook(book)["Interactions"]
    cell = [c for c in ws["H"] if c.value and "HYPERLINK" in str(c.value)]
    assert cell and cell[0].data_type == "s"


def test_wrong_password_is_a_clear_message_without_the_password(runner, make_book, server) -> None:
    book = make_book()
    env = server.env() | {"SHEETCRM_IMAP_PASSWORD": "Secret-Wrong-42"}
    result = runner.invoke(cli, ["inbox", "-w", str(book), "--as-of", WHEN], env=env)
    assert result.exit_code == 2, result.output
    assert "could not be read" in result.output
    assert "Secret-Wrong-42" not in result.output
    assert "Traceback" not in result.output


def test_no_mailbox_set_up_says_what_to_set(runner, make_book) -> None:
    book = make_book()
    result = runner.invoke(
        cli, ["inbox", "-w", str(book)], env={"SHEETCRM_IMAP_HOST": "", "SHEETCRM_IMAP_URL": ""}
    )
    assert result.exit_code == 2
    assert "SHEETCRM_IMAP_HOST" in result.output


# ----------------------------------------------------------------------------- parsing


def test_parse_message_finds_robots_and_the_new_text() -> None:
    week = the_week()
    jane = lib.parse_message(week[0])
    assert jane.sender == "jane@example.com" and jane.automatic is None
    assert jane.attachments == ("brems.png",)
    assert "hviner fortsatt" in jane.text and ">" not in jane.text
    assert lib.parse_message(week[3]).automatic is not None
    assert "bounce" in str(lib.parse_message(week[4]).automatic)
    list_mail = message(
        sender="news@example.net",
        to="crm@example.com",
        subject="News",
        text="x",
        message_id="<n@x>",
        headers={"Precedence": "bulk"},
    )
    assert lib.parse_message(list_mail).automatic is not None


def test_imap_url_keeps_the_password_out_of_messages() -> None:
    config = lib.ImapConfig.from_url("imaps://crm%40example.com:p%40ss@imap.example.com/CRM")
    assert (config.user, config.password, config.port, config.folder, config.security) == (
        "crm@example.com",
        "p@ss",
        993,
        "CRM",
        "ssl",
    )
    assert "p@ss" not in repr(config) and "p@ss" not in config.describe()
    with pytest.raises(Exception) as bad:
        lib.ImapConfig.from_url("ftp://u:topsecret@host/")
    assert "topsecret" not in str(bad.value)


def test_ignoring_a_sender_to_review_marks_their_rows(runner, make_book, server) -> None:
    book = make_book()
    server.append(the_week()[-1])
    assert run(runner, book, server).exit_code == 0

    ignored = runner.invoke(cli, ["inbox", "ignore", "nina@example.org", "-w", str(book)])

    assert ignored.exit_code == 0, ignored.output
    assert "marked 1 row on 'To review' as ignored" in ignored.output
    assert [r["status"] for r in rows(book, "To review")] == ["ignored"]
    assert calamine_rows(book, "To review")[1][-1] == "ignored"


def test_a_reply_to_mail_sheetcrm_sent_about_a_complaint_is_linked(
    runner, make_book, server, monkeypatch
) -> None:
    from sheetcrm.delivery import mail

    book = make_book()
    key = "survey:K-0001:jane@example.com"
    mail.SentLog(mail.sent_log_path(book)).mark(key)
    ours = mail.stable_message_id(key, "crm@example.com", "example.com")
    server.append(
        message(
            sender="jane@example.com",
            to="crm@example.com",
            subject="Re: How was it?",
            text="The brakes are quiet now, thanks.\n\nOn Tue, Kari wrote:\n> old\n",
            message_id="<jane-re@example.com>",
            in_reply_to=ours,
        )
    )
    result = run(runner, book, server)
    assert result.exit_code == 0, result.output
    last = rows(book, "Interactions")[-1]
    assert (last["type"], last["complaint_id"], last["satisfaction"]) == ("survey", "K-0001", None)
    assert last["summary"] == "Survey reply without a score: The brakes are quiet now, thanks."


def test_a_run_stopped_between_the_workbook_and_the_log_logs_nothing_twice(
    runner, make_book, server, monkeypatch
) -> None:
    book = make_book()
    for raw in the_week()[:2]:
        server.append(raw)
    real_save = lib.InboxLog.save

    def stop_after_the_workbook(self, messages={}, ignore=(), forget=()):  # noqa: B006
        if messages and not any(e.get("pending") for e in messages.values()):
            raise KeyboardInterrupt  # the run is killed after the workbook was replaced
        return real_save(self, messages, ignore, forget)

    monkeypatch.setattr(lib.InboxLog, "save", stop_after_the_workbook)
    stopped = run(runner, book, server)
    assert stopped.exit_code != 0
    assert len(rows(book, "Interactions")) == 4  # the rows are in
    assert len(server.uids("INBOX")) == 2  # but nothing was moved
    monkeypatch.setattr(lib.InboxLog, "save", real_save)

    again = run(runner, book, server)

    assert again.exit_code == 0, again.output
    assert "logged 0 messages" in again.output and "2 logged before" in again.output
    assert len(rows(book, "Interactions")) == 4
    assert server.uids("INBOX") == []


def test_a_failed_workbook_write_leaves_the_messages_to_log_next_time(
    runner, make_book, server, monkeypatch
) -> None:
    from sheetcrm.errors import Problem, SheetCRMError
    from sheetcrm.workbook import writer

    book = make_book()
    server.append(the_week()[0])
    real_commit = writer.Transaction._commit

    def fail(self, stamp, keep):
        raise SheetCRMError(Problem("verify_failed", "the written copy did not read back"))

    monkeypatch.setattr(writer.Transaction, "_commit", fail)
    failed = run(runner, book, server)
    assert failed.exit_code == 2, failed.output
    monkeypatch.setattr(writer.Transaction, "_commit", real_commit)

    again = run(runner, book, server)

    assert again.exit_code == 0, again.output
    assert "logged 1 message" in again.output
    assert len(rows(book, "Interactions")) == 3


def test_a_wrong_clock_or_control_characters_do_not_hold_up_the_run(
    runner, make_book, server
) -> None:
    book = make_book()
    server.append(
        message(
            sender="jane@example.com",
            to="crm@example.com",
            subject="From the future",
            text="Line one\x07 with a bell\n",
            when="Thu, 01 Jan 2099 10:00:00 +0100",
            message_id="<future@example.com>",
        )
    )
    server.append(the_week()[1])

    result = run(runner, book, server)

    assert result.exit_code == 0, result.output
    assert "logged 2 messages" in result.output
    first = rows(book, "Interactions")[2]
    assert first["date"] == datetime(2026, 11, 20, 15, 0)  # when it was read, not 2099
    assert first["summary"] == "From the future: Line one  with a bell"


def test_ssl_with_the_servers_own_certificate(runner, make_book, tmp_path) -> None:
    from tests.smtp_server import self_signed_cert

    cert = self_signed_cert(tmp_path)
    book = make_book()
    with imap_server(tls=cert) as server:
        server.append(the_week()[1])
        result = run(runner, book, server)
        assert result.exit_code == 0, result.output
        assert "(ssl)" in result.output and "logged 1 message" in result.output
        # Without the certificate to trust, the connection is refused, clearly.
        env = server.env()
        del env["SHEETCRM_IMAP_CAFILE"]
        refused = runner.invoke(cli, ["inbox", "-w", str(book), "--as-of", WHEN], env=env)
        assert refused.exit_code == 2, refused.output
        assert "could not be read" in refused.output and "Traceback" not in refused.output


def test_a_server_that_separates_folders_with_dots(runner, make_book) -> None:
    book = make_book()
    with imap_server(separator=".") as server:
        server.append(the_week()[1])
        result = run(runner, book, server)
        assert result.exit_code == 0, result.output
        assert len(server.uids("sheetcrm.logged")) == 1
        assert server.uids("INBOX") == []


def test_an_unreadable_inbox_log_stops_before_anything_is_logged(tmp_path: Path) -> None:
    from sheetcrm.delivery.inbox import InboxLog
    from sheetcrm.errors import SheetCRMError

    log = tmp_path / ".crm.xlsx.sheetcrm-inbox.json"
    log.write_text("{not json", encoding="utf-8")
    with pytest.raises(SheetCRMError) as refused:
        InboxLog(log)
    assert refused.value.problem.code == "inbox_log_unreadable"
    assert "it is not valid JSON" in refused.value.problem.message
    log.write_text("", encoding="utf-8")  # an empty file is an empty record
    assert InboxLog(log).messages == {}
