"""The survey after a resolved complaint: sent by `email`, answered by mail, read by `inbox`.

The scripted week runs through real servers: aiosmtpd receives what `email`
sends, Dovecot holds what customers and staff send to the CRM mailbox.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from sheetcrm.cli import cli
from sheetcrm.delivery import survey
from sheetcrm.rules import surveys
from tests.imap_server import GMAIL_REPLY, imap_server, message
from tests.smtp_server import smtp_server
from tests.test_inbox import rows

KEY = b"test-survey-key"  # conftest sets SHEETCRM_SURVEY_KEY to this


@pytest.fixture(autouse=True)
def environment(monkeypatch):
    for name in ("HOST", "PORT", "USER", "PASSWORD", "FROM", "SECURITY", "CAFILE", "URL"):
        monkeypatch.delenv(f"SHEETCRM_SMTP_{name}", raising=False)
        monkeypatch.delenv(f"SHEETCRM_IMAP_{name}", raising=False)


def customer(cid: str, name: str, owner: str = "Kari", **extra: object) -> dict[str, object]:
    return {
        "customer_id": cid,
        "name": name,
        "email": f"{name.split()[0].lower()}@example.com",
        "preferred_channel": "email",
        "owner": owner,
        "stage": "customer",
        **extra,
    }


def week_book(make_book, valid_records) -> Path:
    r = valid_records
    r["Customers"] = [
        customer("C-0001", "Jane Doe"),
        customer("C-0002", "Ola Nordmann", "Per"),
        customer("C-0003", "Anna Berg"),
        customer("C-0004", "Bo Lie", "Per"),
        customer("C-0005", "Eva Dahl"),
    ]
    r["Interactions"] = r["Interactions"][:1]
    r["Complaints"][0].update(status="open", resolved=None, resolution=None)
    r["Complaints"].append(
        {
            "complaint_id": "K-0002",
            "opened": datetime(2026, 11, 19, 9, 0),
            "customer_id": "C-0003",
            "channel": "email",
            "category": "repair quality",
            "severity": "normal",
            "summary": "Rear wheel squeaks",
            "owner": "Kari",
            "status": "open",
        }
    )
    r["Settings"].append({"key": "report_recipients", "value": "boss@example.com"})
    return make_book(r)


def bcc(n: int, staff: str, to: str, subject: str, day: int) -> bytes:
    return message(
        sender=f"{staff.title()} <{staff}@example.com>",
        to=to,
        subject=subject,
        text=f"Hei,\n\n{subject}: here is what we agreed.\n\nMvh\n{staff.title()}\n",
        when=f"Mon, {day} Nov 2026 1{n}:00:00 +0100",
        message_id=f"<bcc-{n}@example.com>",
    )


def answer_from_link(received, customer_address: str, score: int) -> bytes:
    """What a mail program writes when the customer clicks the link for ``score``."""
    survey_mail = next(r.message for r in received if r.rcpt_tos == [customer_address])
    html = survey_mail.get_body(("html",)).get_content()
    links = [h for h in html.split('"') if h.startswith("mailto:")]
    assert len(links) == 5
    parts = urlsplit(links[score - 1].replace("&amp;", "&"))
    subject = parse_qs(parts.query)["subject"][0]
    return message(
        sender=customer_address,
        to=unquote(parts.path),
        subject=subject,
        text="\n",
        when="Wed, 25 Nov 2026 13:00:00 +0100",
        message_id=f"<link-{customer_address}-{score}@example.com>",
    )


def cli_run(runner, *args: str, env: dict[str, str] | None = None):
    result = runner.invoke(cli, list(args), env=env)
    assert "Traceback" not in result.output, result.output
    return result


def test_a_scripted_week_through_dovecot_and_aiosmtpd(runner, make_book, valid_records) -> None:
    book = week_book(make_book, valid_records)
    w = ["-w", str(book)]
    with imap_server() as imap, smtp_server() as smtp:
        env = imap.env() | {
            "SHEETCRM_SMTP_HOST": "127.0.0.1",
            "SHEETCRM_SMTP_PORT": str(smtp.port),
            "SHEETCRM_SMTP_FROM": "crm@example.com",
            "SHEETCRM_SMTP_SECURITY": "none",
        }
        # Monday: staff BCC the CRM mailbox on five conversations; Jane answers her
        # complaint's thread.
        for raw in [
            bcc(1, "per", "ola@example.com", "Winter tyres", 23),
            bcc(2, "per", "Bo Lie <bo@example.com>", "Your new bike is ready", 23),
            bcc(3, "kari", "eva@example.com", "Service booked for Friday", 23),
            bcc(4, "kari", "jane@example.com", "[K-0001] Brakes: we will adjust them", 23),
            bcc(5, "kari", "anna@example.com", "[K-0002] Wheel: new bearing ordered", 23),
            message(
                sender="Jane Doe <jane@example.com>",
                to="kari@example.com",
                cc="crm@example.com",
                subject="Re: [K-0001] Brakes: we will adjust them",
                text=GMAIL_REPLY,
                when="Mon, 23 Nov 2026 16:30:00 +0100",
                message_id="<jane-thread@mail.gmail.com>",
            ),
        ]:
            imap.append(raw)
        monday = cli_run(runner, "inbox", *w, "--as-of", "2026-11-23 18:00", env=env)
        assert monday.exit_code == 0, monday.output
        assert "logged 6 messages" in monday.output

        # Tuesday: both complaints are resolved.
        for kid, what in (("K-0001", "Adjusted the brakes"), ("K-0002", "New bearing fitted")):
            done = cli_run(
                runner, "complaint", "resolve", kid, *w, "--resolution", what,
                "--at", "2026-11-24 10:00",
            )  # fmt: skip
            assert done.exit_code == 0, done.output

        # Wednesday: the scheduled job reads the mailbox, then sends; the surveys go.
        wednesday = cli_run(
            runner, "email", *w, "--with-inbox", "--as-of", "2026-11-25 12:00", env=env
        )
        assert wednesday.exit_code == 0, wednesday.output
        asked = sorted(r.rcpt_tos[0] for r in smtp.received if "[K-" in r.message["Subject"])
        assert asked == ["anna@example.com", "jane@example.com"]
        to_anna = next(r.message for r in smtp.received if r.rcpt_tos == ["anna@example.com"])
        assert to_anna["Subject"] == "Test Cycles: how did we handle it? [K-0002]"
        assert to_anna["Reply-To"] == "crm@example.com"
        assert (
            "reply to this e-mail with a number from 1 to 5"
            in to_anna.get_body(("plain",)).get_content()
        )

        # Jane clicks "4"; Anna replies "2, still squeaks" from Gmail.
        imap.append(answer_from_link(smtp.received, "jane@example.com", 4))
        imap.append(
            message(
                sender="Anna Berg <anna@example.com>",
                to="crm@example.com",
                subject="Re: " + str(to_anna["Subject"]),
                text="2, still squeaks\n\nons. 25. nov. 2026 kl. 12:00 skrev Test Cycles "
                "<crm@example.com>:\n> How did we handle it?\n",
                when="Wed, 25 Nov 2026 18:00:00 +0100",
                message_id="<anna-answer@mail.gmail.com>",
                in_reply_to=str(to_anna["Message-ID"]),
            )
        )
        # Jane clicks again, "5": kept as a comment, not counted twice.
        imap.append(answer_from_link(smtp.received, "jane@example.com", 5))
        thursday = cli_run(runner, "inbox", *w, "--as-of", "2026-11-26 08:00", env=env)
        assert thursday.exit_code == 0, thursday.output

        # The week's rows, exactly.
        got = [
            (
                r["customer_id"],
                r["staff"],
                r["direction"],
                r["type"],
                r["complaint_id"],
                r["satisfaction"],
            )
            for r in rows(book, "Interactions")[1:]
        ]
        assert got == [
            ("C-0002", "Per", "outbound", "follow_up", None, None),
            ("C-0004", "Per", "outbound", "follow_up", None, None),
            ("C-0005", "Kari", "outbound", "follow_up", None, None),
            ("C-0001", "Kari", "outbound", "complaint", "K-0001", None),
            ("C-0003", "Kari", "outbound", "complaint", "K-0002", None),
            ("C-0001", "Kari", "inbound", "complaint", "K-0001", None),
            ("C-0001", "Kari", "outbound", "survey", "K-0001", None),
            ("C-0003", "Kari", "outbound", "survey", "K-0002", None),
            ("C-0001", "Kari", "inbound", "survey", "K-0001", 4),
            ("C-0003", "Kari", "inbound", "survey", "K-0002", 2),
            ("C-0001", "Kari", "inbound", "survey", "K-0001", None),
        ]
        summaries = [str(r["summary"]) for r in rows(book, "Interactions")[-3:]]
        assert summaries[1] == "Survey answer 2 of 5: still squeaks"
        assert summaries[2].startswith("Another survey answer (the first one counts): 5 of 5")

        # The report shows the survey figures.
        report = cli_run(
            runner, "report", *w, "--week", "2026-W48", "--format", "md,html",
            "--out", str(book.parent / "out"), "--as-of", "2026-11-30 08:00",
        )  # fmt: skip
        assert report.exit_code == 0, report.output
        md = (book.parent / "out" / "weekly-2026-W48.md").read_text(encoding="utf-8")
        assert "Surveys sent: **2**, response rate: **100%**" in md
        assert "Satisfied (4–5): **50%** (1 / 2)" in md
        assert "still squeaks" in md
        html = (book.parent / "out" / "weekly-2026-W48.html").read_text(encoding="utf-8")
        assert "Customer surveys" in html and "still squeaks" in html

        # A second run of both changes nothing.
        before = book.read_bytes()
        sent_before = len(smtp.received)
        again = cli_run(runner, "inbox", *w, "--as-of", "2026-11-26 09:00", env=env)
        assert again.exit_code == 0 and "logged 0 messages" in again.output
        mail_again = cli_run(
            runner, "email", *w, "--with-inbox", "--as-of", "2026-11-25 12:00", env=env
        )
        assert mail_again.exit_code == 0, mail_again.output
        assert len(smtp.received) == sent_before
        assert book.read_bytes() == before


def test_a_forged_token_is_not_counted_and_is_reported(runner, make_book, valid_records) -> None:
    book = week_book(make_book, valid_records)
    with imap_server() as imap:
        real = survey.answer_subject("K-0001", 5, KEY)
        forged = real.replace("K-0001 5 ", "K-0001 1 ")  # the score changed, the token kept
        assert forged != real
        imap.append(
            message(
                sender="jane@example.com",
                to="crm@example.com",
                subject=forged,
                text="\n",
                message_id="<forged@example.com>",
            )
        )
        result = cli_run(runner, "inbox", "-w", str(book), "--as-of", "2026-11-20 15:00",
                         env=imap.env())  # fmt: skip
    assert result.exit_code == 1, result.output  # logged nothing, and needs the owner
    assert "token that does not match" in result.output
    assert not [r for r in rows(book, "Interactions") if r["type"] == "survey"]
    assert rows(book, "To review")[0]["status"] == "survey token does not match: not counted"


def test_tokens_and_lone_scores() -> None:
    t = survey.token(KEY, "K-0031", 4)
    assert len(t) == 20 and t == survey.token(KEY, "k-0031", 4)
    assert t != survey.token(KEY, "K-0031", 5) and t != survey.token(b"other", "K-0031", 4)
    good = survey.from_token(survey.answer_subject("K-0031", 4, KEY), "", KEY)
    assert good is not None and (good.case_id, good.score, good.forged) == ("K-0031", 4, False)
    assert survey.lone_score("2, still squeaks") == (2, "still squeaks")
    assert survey.lone_score("5") == (5, "")
    assert survey.lone_score("4/5 great") == (4, "great")
    assert survey.lone_score("20 bikes") is None
    assert survey.lone_score("Thanks") is None


def test_no_survey_for_do_not_contact_or_another_channel(make_book, valid_records) -> None:
    from sheetcrm.workbook.validation import load

    valid_records["Customers"][0]["do_not_contact"] = "yes"
    valid_records["Customers"][1]["preferred_channel"] = "phone"
    valid_records["Complaints"].append(
        {
            **valid_records["Complaints"][0],
            "complaint_id": "K-0002",
            "customer_id": "C-0002",
        }
    )
    book, _ = load(make_book(valid_records))
    items, notes = survey.due(book, datetime(2026, 11, 5, 12), [])
    assert items == []
    assert any("do not contact" in n for n in notes)
    assert any("prefers phone" in n for n in notes)


def test_survey_waits_for_the_delay_and_is_asked_once(make_book, valid_records) -> None:
    from sheetcrm.workbook.validation import load

    valid_records["Settings"].append({"key": "survey_after_hours", "value": "48"})
    book, _ = load(make_book(valid_records))
    resolved = datetime(2026, 11, 3, 12)
    assert survey.due(book, datetime(2026, 11, 5, 11), [])[0] == []
    (item,), _ = survey.due(book, datetime(2026, 11, 5, 12), [])
    assert item.key == "survey:K-0001:jane@example.com" and item.resolved == resolved
    assert survey.due(book, datetime(2026, 11, 5, 12), [item.key])[0] == []
    assert survey.due(book, datetime(2026, 12, 1), [])[0] == []  # too long ago to ask now


def test_survey_is_norwegian_for_a_norwegian_workbook(make_book, valid_records) -> None:
    from sheetcrm.workbook.validation import load

    valid_records["Settings"].append({"key": "locale", "value": "nb"})
    valid_records["Complaints"][0]["summary"] = "<b>Bremser</b> & =1+1"
    book, _ = load(make_book(valid_records))
    (out,), _ = survey.messages(book, datetime(2026, 11, 5, 12), "crm@example.com", [], key=KEY)
    msg = out.message
    assert msg["Subject"] == "Test Cycles: hvordan håndterte vi saken? [K-0001]"
    text = msg.get_body(("plain",)).get_content()
    assert "Hei Jane Doe," in text and "svar på denne e-posten med et tall fra 1 til 5" in text
    assert "Mitt%20svar%3A%204%20%5Bsurvey%20K-0001%204%20" in text
    assert msg["Auto-Submitted"] is None
    html = msg.get_body(("html",)).get_content()
    assert "&lt;b&gt;Bremser&lt;/b&gt; &amp; =1+1" in html and "<b>Bremser" not in html


def test_with_excel_open_the_survey_goes_and_is_logged_by_the_next_run(
    runner, make_book, valid_records
) -> None:
    book = week_book(make_book, valid_records)
    done = cli_run(
        runner, "complaint", "resolve", "K-0002", "-w", str(book),
        "--resolution", "New bearing fitted", "--at", "2026-11-24 10:00",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    owner = book.with_name("~$" + book.name)
    with imap_server() as imap, smtp_server() as smtp:
        imap.append(message(sender="ola@example.com", to="crm@example.com", subject="Hi",
                            text="Hello\n", message_id="<ola-hi@example.com>"))  # fmt: skip
        env = imap.env() | {
            "SHEETCRM_SMTP_HOST": "127.0.0.1",
            "SHEETCRM_SMTP_PORT": str(smtp.port),
            "SHEETCRM_SMTP_FROM": "crm@example.com",
            "SHEETCRM_SMTP_SECURITY": "none",
        }
        owner.write_bytes(b"\x04Kari" + b" " * 50)
        before = book.read_bytes()
        first = cli_run(runner, "email", "-w", str(book), "--with-inbox",
                        "--as-of", "2026-11-25 12:00", env=env)  # fmt: skip
        assert first.exit_code == 3, first.output
        assert "the mailbox was not read" in first.output
        assert [r.rcpt_tos for r in smtp.received if "[K-0002]" in r.message["Subject"]] == [
            ["anna@example.com"]
        ]
        assert book.read_bytes() == before
        assert len(imap.uids("INBOX")) == 1

        owner.unlink()
        second = cli_run(runner, "email", "-w", str(book), "--with-inbox",
                         "--as-of", "2026-11-25 13:00", env=env)  # fmt: skip
        assert second.exit_code == 0, second.output
        assert sum("[K-0002]" in r.message["Subject"] for r in smtp.received) == 1
        assert imap.uids("INBOX") == []
    got = [(r["customer_id"], r["direction"], r["type"], r["complaint_id"])
           for r in rows(book, "Interactions")[1:]]  # fmt: skip
    assert got == [
        ("C-0002", "inbound", "enquiry", None),
        ("C-0003", "outbound", "survey", "K-0002"),
    ]
    survey_row = rows(book, "Interactions")[-1]
    # The sent log holds the real clock's time of sending, which is after this test's
    # --as-of; a contact is never dated after the run that logs it.
    assert survey_row["date"] == datetime(2026, 11, 25, 13, 0)


def test_the_key_file_is_made_once_and_private(tmp_path) -> None:
    import stat

    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    first = survey.survey_key(env)
    path = tmp_path / "config" / "sheetcrm" / "survey.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert survey.survey_key(env) == first and len(first) == 64
    assert survey.survey_key({**env, "SHEETCRM_SURVEY_KEY": "given"}) == b"given"


def test_figures_count_each_survey_once_and_are_plain_data(make_book, valid_records) -> None:
    import json

    from sheetcrm.report import render as reports
    from sheetcrm.workbook.validation import load

    def row(iid, when, direction, score=None, summary="x", kid="K-0001"):
        return {
            "interaction_id": iid, "date": when, "customer_id": "C-0001", "staff": "Kari",
            "channel": "email", "direction": direction, "type": "survey", "summary": summary,
            "satisfaction": score, "complaint_id": kid,
        }  # fmt: skip

    valid_records["Interactions"] += [
        row("I-0003", datetime(2026, 11, 16, 9), "outbound"),
        row("I-0004", datetime(2026, 11, 17, 9), "inbound", 1, "Survey answer 1 of 5: rude"),
        row("I-0005", datetime(2026, 11, 18, 9), "inbound", None, "Another survey answer"),
    ]
    book, _ = load(make_book(valid_records))
    period = reports.week_period(book, datetime(2026, 11, 23, 7), "2026-W47")
    figures = surveys.figures(book, period, datetime(2026, 11, 23, 7))
    assert {k: figures[k] for k in ("sent", "answered", "scores", "satisfied")} == {
        "sent": 1,
        "answered": 1,
        "scores": 1,
        "satisfied": 0,
    }
    assert figures["response_rate"] == 1.0 and figures["satisfied_share"] == 0.0
    assert figures["low"][0]["comment"] == "Survey answer 1 of 5: rude"
    assert json.loads(json.dumps(figures))["low"][0]["date"] == "2026-11-17T09:00"


def test_after_a_sale_when_settings_say_so(runner, make_book, valid_records) -> None:
    from sheetcrm.report import render as reports
    from sheetcrm.workbook.validation import load

    valid_records["Sales"].append(
        {"order_id": "S-0002", "date": datetime(2026, 11, 23), "customer_id": "C-0002",
         "amount": 4200, "product": "Winter tyres", "staff": "Per"}
    )  # fmt: skip
    book = make_book(valid_records)
    loaded, _ = load(book)
    assert survey.due(loaded, datetime(2026, 11, 24, 12), [])[0] == []  # off by default

    valid_records["Settings"].append({"key": "survey_after_sale", "value": "yes"})
    book = make_book(valid_records)
    with imap_server() as imap, smtp_server() as smtp:
        env = imap.env() | {
            "SHEETCRM_SMTP_HOST": "127.0.0.1",
            "SHEETCRM_SMTP_PORT": str(smtp.port),
            "SHEETCRM_SMTP_FROM": "crm@example.com",
            "SHEETCRM_SMTP_SECURITY": "none",
        }
        sent = cli_run(runner, "email", "-w", str(book), "--to", "boss@example.com",
                       "--as-of", "2026-11-24 12:00", env=env)  # fmt: skip
        assert sent.exit_code == 0, sent.output
        to_ola = next(r.message for r in smtp.received if r.rcpt_tos == ["ola@example.com"])
        assert to_ola["Subject"] == "Test Cycles: how did we do? [S-0002]"
        assert (
            "Thank you for your purchase S-0002 (Winter tyres)"
            in to_ola.get_body(("plain",)).get_content()
        )
        imap.append(answer_from_link(smtp.received, "ola@example.com", 5))
        read = cli_run(runner, "inbox", "-w", str(book), "--as-of", "2026-11-25 12:00", env=env)
        assert read.exit_code == 0, read.output
    new = [(r["customer_id"], r["staff"], r["direction"], r["complaint_id"], r["satisfaction"],
            r["summary"]) for r in rows(book, "Interactions")[2:]]  # fmt: skip
    assert new == [
        ("C-0002", "Per", "outbound", None, None,
         "Survey sent: how did we do with order S-0002?"),
        ("C-0002", "Per", "inbound", None, 5, "Survey answer 5 of 5 about order S-0002"),
    ]  # fmt: skip
    loaded, _ = load(book)
    period = reports.week_period(loaded, datetime(2026, 11, 30, 7), "2026-W48")
    figures = surveys.figures(loaded, period, datetime(2026, 11, 30, 7))
    assert (figures["sent"], figures["answered"], figures["satisfied"]) == (1, 1, 1)
