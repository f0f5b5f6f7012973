"""E-mail through a real SMTP server (aiosmtpd in the test process), read back as it arrived."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from sheetcrm.delivery.mail import (
    Outgoing,
    SentLog,
    SmtpConfig,
    build_message,
    inline_css,
    send,
    sent_log_path,
    write_eml,
)
from sheetcrm.errors import SheetCRMError
from tests.smtp_server import SENDER, RecordingHandler, free_port, self_signed_cert, smtp_server

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # aiosmtpd's own login_data
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),  # on purpose
]

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # not a picture, but bytes that must arrive
PASSWORD = "Pa55:w/rd@#?-hunter2"  # every character a URL would need escaped


def tiny_docx() -> bytes:
    try:
        import docx
    except ImportError:  # a .docx is a zip with a main document part
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            z.writestr("[Content_Types].xml", "<Types/>")
            z.writestr("word/document.xml", "<w:document>Weekly report</w:document>")
        return buffer.getvalue()
    document = docx.Document()
    document.add_paragraph("Weekly report")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


HTML = """<html><head><style>h1 { color: #123456; } .big { font-size: 20px; }</style></head>
<body><h1>Week 47</h1><p class="big">Complaints: 3</p>
<img src="cid:chart-complaints@sheetcrm" alt="Complaints">
<img src="cid:chart-sla@sheetcrm" alt="Service level"></body></html>"""


def weekly(to: list[str] | str, key: str | None = None, **changes) -> Outgoing:
    to = [to] if isinstance(to, str) else to
    values = {
        "subject": "Acme Bikes: weekly summary 2026-W47",
        "sender": SENDER,
        "to": to,
        "text": "Week 47\nComplaints: 3\n",
        "html": inline_css(HTML),
        "inline_images": {"chart-complaints@sheetcrm": PNG, "<chart-sla@sheetcrm>": PNG[::-1]},
        "attachments": [("Weekly report 2026-W47.docx", tiny_docx(), DOCX)],
        "date": datetime(2026, 11, 23, 7, 0),
    }
    values.update(changes)
    return Outgoing(key or f"weekly:2026-W47:{','.join(to)}", build_message(**values))


def plain(key: str, to: str) -> Outgoing:
    return Outgoing(key, build_message(subject="Digest", sender=SENDER, to=[to], text="hi"))


def structure(part: EmailMessage) -> object:
    """The MIME tree as nested (content type, children) for comparing layouts."""
    if part.is_multipart():
        return (part.get_content_type(), [structure(p) for p in part.iter_parts()])
    return part.get_content_type()


def check_weekly(msg: EmailMessage) -> None:
    """Everything the owner's mail client needs is in ``msg``."""
    assert msg["Subject"] == "Acme Bikes: weekly summary 2026-W47"
    assert msg["From"].addresses[0].addr_spec == "crm@example.com"
    assert structure(msg) == (
        "multipart/mixed",
        [
            (
                "multipart/alternative",
                [
                    "text/plain",
                    ("multipart/related", ["text/html", "image/png", "image/png"]),
                ],
            ),
            DOCX,
        ],
    )
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")  # CRLF on the wire
    assert text == "Week 47\nComplaints: 3\n"
    html = msg.get_body(("html",)).get_content()
    assert 'style="color: #123456;"' in html and "<style>" in html  # inlined, and kept
    images = {
        p["Content-ID"].strip("<>"): p.get_content()
        for p in msg.walk()
        if p.get_content_maintype() == "image"
    }
    cids = re.findall(r'src="cid:([^"]+)"', html)
    assert sorted(cids) == sorted(images) == ["chart-complaints@sheetcrm", "chart-sla@sheetcrm"]
    assert images["chart-complaints@sheetcrm"] == PNG
    assert images["chart-sla@sheetcrm"] == PNG[::-1]
    for image in (p for p in msg.walk() if p.get_content_maintype() == "image"):
        assert image.get_content_disposition() == "inline"
    (attachment,) = msg.iter_attachments()
    assert attachment.get_filename() == "Weekly report 2026-W47.docx"
    assert attachment.get_content_type() == DOCX
    with zipfile.ZipFile(io.BytesIO(attachment.get_content())) as z:
        assert "word/document.xml" in z.namelist()
    try:
        import docx
    except ImportError:
        return
    opened = docx.Document(io.BytesIO(attachment.get_content()))
    assert [p.text for p in opened.paragraphs] == ["Weekly report"]


# ----------------------------------------------------------------------------- the message


def test_the_weekly_message_arrives_whole():
    with smtp_server() as server:
        result = send(
            [weekly(["owner@example.com", "Kari Berg <kari@example.com>"])], server.config()
        )
    assert result.sent == ["weekly:2026-W47:owner@example.com,Kari Berg <kari@example.com>"]
    assert not result.failed
    (got,) = server.received
    assert got.mail_from == "crm@example.com"
    assert got.rcpt_tos == ["owner@example.com", "kari@example.com"]
    msg = got.message
    assert [a.addr_spec for a in msg["To"].addresses] == ["owner@example.com", "kari@example.com"]
    assert msg["To"].addresses[1].display_name == "Kari Berg"
    assert msg["Message-ID"].endswith("@sheetcrm.local>")
    assert msg["Auto-Submitted"] == "auto-generated"
    check_weekly(msg)


def test_text_only_is_a_single_part_and_non_ascii_survives():
    msg = build_message(
        subject="Ukesrapport for Blåbær AS",
        sender="Blåbær AS <crm@example.com>",
        to=["Øyvind <oyvind@example.com>"],
        text="Hei Øyvind – 3 klager\n",
    )
    with smtp_server() as server:
        send([Outgoing("digest:2026-W47:oyvind@example.com", msg)], server.config())
    got = server.received[0].message
    assert got.get_content_type() == "text/plain"
    assert got["Subject"] == "Ukesrapport for Blåbær AS"
    assert got["From"].addresses[0].display_name == "Blåbær AS"
    assert got.get_content().replace("\r\n", "\n") == "Hei Øyvind – 3 klager\n"


def test_inline_css_copies_rules_onto_elements_and_keeps_the_style_block():
    html = inline_css(
        '<html><head><link rel="stylesheet" href="http://example.invalid/x.css">'
        "<style>p { color: red }</style></head><body><p>x</p></body></html>"
    )
    assert '<p style="color: red;">x</p>' in html
    assert "<style>" in html
    assert "example.invalid" not in html  # never fetched, not left for the client to fetch


# ----------------------------------------------------------------------------- header injection


def test_a_subject_with_line_breaks_cannot_add_a_header():
    evil = weekly("owner@example.com", subject="Weekly\r\nBcc: evil@example.com")
    with smtp_server() as server:
        send([evil], server.config())
    (got,) = server.received
    assert got.rcpt_tos == ["owner@example.com"]
    assert b"\nBcc:" not in got.content
    msg = got.message
    assert msg["Bcc"] is None
    assert msg["Subject"] == "Weekly Bcc: evil@example.com"  # one harmless line
    assert "\n" not in msg["Subject"]


@pytest.mark.parametrize(
    "address",
    [
        "owner@example.com\r\nBcc: evil@example.com",
        "owner@example.com\nevil@example.com",
        "Owner\r\n <owner@example.com>",
        "owner@example.com\x00",
        "owner@example.com, evil@example.com",
        "team: owner@example.com;",
        "not an address",
        "owner@",
        "",
    ],
)
def test_an_address_with_a_line_break_or_not_an_address_is_refused(address):
    with pytest.raises(SheetCRMError) as e:
        weekly(address)
    assert e.value.problem.code == "invalid_email"
    with pytest.raises(SheetCRMError):
        build_message(subject="x", sender=address, to=["owner@example.com"], text="x")


def test_an_attachment_name_cannot_add_a_header():
    msg = build_message(
        subject="x",
        sender=SENDER,
        to=["owner@example.com"],
        text="x",
        attachments=[("report\r\nBcc: evil@example.com/../x.docx", b"PK", DOCX)],
    )
    parsed = BytesParser(policy=policy.default).parsebytes(msg.as_bytes())
    assert parsed["Bcc"] is None
    (attachment,) = parsed.iter_attachments()
    assert attachment.get_filename() == "report Bcc: evil@example.com_.._x.docx"
    assert "Bcc" not in [k for k, _ in attachment.items()]


def test_no_recipient_is_refused():
    with pytest.raises(SheetCRMError, match="no recipient"):
        build_message(subject="x", sender=SENDER, to=[], text="x")


# ----------------------------------------------------------------------------- dry run


def test_dry_run_files_parse_back_to_the_same_message(tmp_path):
    messages = [
        weekly("owner@example.com", key="weekly:2026-W47:owner@example.com"),
        plain("digest:2026-W47:kari@example.com", "kari@example.com"),
        plain("digest:2026-W47:KARI@example.com", "kari@example.com"),  # same name on Windows
    ]
    paths = write_eml(messages, tmp_path / "out")
    assert [p.name for p in paths] == [
        "weekly_2026-W47_owner@example.com.eml",
        "digest_2026-W47_kari@example.com.eml",
        "digest_2026-W47_KARI@example.com-2.eml",
    ]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)
    first = BytesParser(policy=policy.default).parsebytes(paths[0].read_bytes())
    check_weekly(first)
    assert b"\r\n" in paths[0].read_bytes()  # RFC 5322 line ends, as a mail client saves them
    with smtp_server() as server:
        send(messages[:1], server.config())
    assert structure(server.received[0].message) == structure(first)
    assert write_eml(messages, tmp_path / "out") == paths  # a second dry run replaces the first


def test_dry_run_into_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SheetCRMError) as e:
        write_eml([plain("a", "a@example.com")], tmp_path / "file")
    assert e.value.problem.code == "write_failed"


# ----------------------------------------------------------------------------- failures


def test_a_rejected_recipient_fails_with_the_servers_words_and_the_others_go():
    handler = RecordingHandler(reject={"gone@example.com"})
    marked: list[str] = []
    messages = [
        plain("digest:kari@example.com", "kari@example.com"),
        plain("digest:gone@example.com", "gone@example.com"),
        plain("digest:per@example.com", "per@example.com"),
    ]
    with smtp_server(handler) as server:
        result = send(messages, server.config(), mark_sent=marked.append)
    assert result.sent == marked == ["digest:kari@example.com", "digest:per@example.com"]
    assert list(result.failed) == ["digest:gone@example.com"]
    reason = result.failed["digest:gone@example.com"]
    assert "gone@example.com" in reason and "550 5.1.1" in reason and "no such user" in reason
    assert [r.rcpt_tos for r in server.received] == [["kari@example.com"], ["per@example.com"]]


def test_a_message_refused_for_one_of_its_recipients_is_sent_to_the_others_once():
    handler = RecordingHandler(reject={"gone@example.com"})
    with smtp_server(handler) as server:
        result = send([weekly(["owner@example.com", "gone@example.com"], key="w")], server.config())
    assert result.sent == ["w"]
    assert "gone@example.com (550 5.1.1" in result.failed["w"]
    assert server.received[0].rcpt_tos == ["owner@example.com"]


def test_connection_refused_names_what_was_not_sent():
    config = SmtpConfig("127.0.0.1", free_port(), None, None, SENDER, "none", timeout=2)
    messages = [plain("digest:kari@example.com", "kari@example.com"), weekly("o@example.com")]
    marked: list[str] = []
    with pytest.raises(SheetCRMError) as e:
        send(messages, config, mark_sent=marked.append)
    assert e.value.exit_code == 2
    text = str(e.value)
    assert e.value.problem.code == "smtp_failed"
    assert "connection refused" in text and f"127.0.0.1:{config.port}" in text
    assert "Not sent: digest:kari@example.com, weekly:2026-W47:o@example.com." in text
    assert "run the same command again" in text
    assert [(p.code, p.value) for p in e.value.problems[1:]] == [
        ("not_sent", "digest:kari@example.com"),
        ("not_sent", "weekly:2026-W47:o@example.com"),
    ]
    assert marked == []


def test_an_unknown_host_is_named():
    config = SmtpConfig("no-such-host.invalid", 25, None, None, SENDER, "none", timeout=2)
    with pytest.raises(SheetCRMError, match=r"no-such-host\.invalid could not be found"):
        send([plain("a", "a@example.com")], config)


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "starttls"])
def test_a_failed_login_is_clear_and_never_shows_the_password(tmp_path, tls):
    cert = self_signed_cert(tmp_path) if tls else None
    with smtp_server(tls=cert, starttls=tls, users={"bob": "right"}) as server:
        config = server.config(user="bob", password=PASSWORD)
        with pytest.raises(SheetCRMError) as e:
            send([plain("digest:kari@example.com", "kari@example.com")], config)
    assert server.received == []
    error = e.value
    assert "refused the login for user bob" in str(error)
    assert "535" in str(error) and "SHEETCRM_SMTP_PASSWORD" in str(error)
    assert "Not sent: digest:kari@example.com." in str(error)
    everything = " ".join([str(error), repr(error), *(repr(p) for p in error.problems)])
    everything += (
        repr(config) + config.describe() + json.dumps([p.to_dict() for p in error.problems])
    )
    assert PASSWORD not in everything and "hunter2" not in everything


def test_a_login_that_works_over_plain_smtp():
    with smtp_server(users={"bob": PASSWORD}) as server:
        send([plain("a", "a@example.com")], server.config(user="bob", password=PASSWORD))
    assert server.received[0].login == "bob"


def test_a_dropped_connection_is_reopened_once_and_nothing_goes_twice():
    handler = RecordingHandler(hang_up_after={1, 2})
    messages = [plain(f"d:{n}@example.com", f"{n}@example.com") for n in "abc"]
    with smtp_server(handler) as server:
        result = send(messages, server.config())
    assert result.sent == [m.key for m in messages]
    assert [r.rcpt_tos for r in server.received] == [[f"{n}@example.com"] for n in "abc"]
    assert handler.connections == 3


def test_a_server_that_keeps_refusing_stops_the_run_and_says_what_went():
    handler = RecordingHandler(total=1)  # then 421 on every MAIL, even after reconnecting
    messages = [plain(f"d:{n}@example.com", f"{n}@example.com") for n in "abc"]
    marked: list[str] = []
    with smtp_server(handler) as server, pytest.raises(SheetCRMError) as e:
        send(messages, server.config(), mark_sent=marked.append)
    assert marked == ["d:a@example.com"]
    text = str(e.value)
    assert "421" in text
    assert "Sent before that: d:a@example.com." in text
    assert "Not sent: d:b@example.com, d:c@example.com." in text
    assert [(p.code, p.value) for p in e.value.problems[1:]] == [
        ("sent", "d:a@example.com"),
        ("not_sent", "d:b@example.com"),
        ("not_sent", "d:c@example.com"),
    ]


def test_a_server_limiting_messages_per_connection_gets_them_all():
    handler = RecordingHandler(per_connection=2)
    messages = [plain(f"d:{n}", f"{n}@example.com") for n in "abcde"]
    with smtp_server(handler) as server:
        result = send(messages, server.config())
    assert result.sent == [m.key for m in messages] and len(server.received) == 5
    assert handler.connections == 3


# ----------------------------------------------------------------------------- never twice


def test_a_rerun_with_the_sent_log_sends_only_what_was_not_sent(tmp_path):
    log_path = sent_log_path(tmp_path / "crm.xlsx")
    assert log_path == tmp_path / ".crm.xlsx.sheetcrm-sent.json"
    handler = RecordingHandler(reject={"per@example.com"})
    messages = [
        weekly("owner@example.com", key="weekly:2026-W47:owner@example.com"),
        plain("digest:2026-W47:per@example.com", "per@example.com"),
        plain("digest:2026-W47:kari@example.com", "kari@example.com"),
    ]
    with smtp_server(handler) as server:
        log = SentLog(log_path)
        first = send(messages, server.config(), already_sent=log.__contains__, mark_sent=log.mark)
        assert first.sent == [messages[0].key, messages[2].key]
        assert list(first.failed) == [messages[1].key]

        handler.reject.clear()  # the owner fixed the address
        log = SentLog(log_path)  # a new run reads what the last one wrote
        second = send(messages, server.config(), already_sent=log.__contains__, mark_sent=log.mark)
        assert second.sent == [messages[1].key]
        assert second.skipped == [messages[0].key, messages[2].key]

        connections = handler.connections
        third = send(messages, server.config(), already_sent=SentLog(log_path).__contains__)
        assert third.sent == [] and len(third.skipped) == 3
        assert handler.connections == connections  # nothing to send: no connection at all
    assert [r.rcpt_tos for r in server.received] == [
        ["owner@example.com"],
        ["kari@example.com"],
        ["per@example.com"],
    ]
    stored = json.loads(log_path.read_text())
    assert sorted(stored) == sorted(m.key for m in messages)
    assert all(datetime.fromisoformat(v).tzinfo for v in stored.values())
    assert [p.name for p in tmp_path.iterdir()] == [log_path.name]  # no temp files left


def test_when_the_sent_log_cannot_be_written_sending_stops(tmp_path):
    def mark(key: str) -> None:
        SentLog(tmp_path / "missing-folder" / "log.json").mark(key)

    messages = [plain(f"d:{n}", f"{n}@example.com") for n in "ab"]
    with smtp_server() as server, pytest.raises(SheetCRMError) as e:
        send(messages, server.config(), mark_sent=mark)
    assert len(server.received) == 1
    assert e.value.problem.code == "write_failed"
    assert "Sent before that: d:a." in str(e.value) and "Not sent: d:b (to b@example.com)" in str(
        e.value
    )


def test_an_unreadable_sent_log_stops_before_sending(tmp_path):
    path = tmp_path / ".crm.xlsx.sheetcrm-sent.json"
    path.write_text("{not json")
    with pytest.raises(SheetCRMError) as e:
        SentLog(path)
    assert e.value.problem.code == "sent_log_unreadable"
    assert "delete" in str(e.value)


def test_a_missing_sent_log_is_empty():
    log = SentLog(Path("/nonexistent-dir/never-written.json"))
    assert "x" not in log and len(log) == 0


def test_mark_keeps_what_another_run_wrote(tmp_path):
    path = tmp_path / "log.json"
    one, two = SentLog(path), SentLog(path)
    one.mark("a", datetime(2026, 11, 23, 7, 0).astimezone())
    two.mark("b")
    assert sorted(json.loads(path.read_text())) == ["a", "b"]
    assert SentLog(path).get("a").startswith("2026-11-23T07:00:00")


# ----------------------------------------------------------------------------- TLS


def test_starttls_with_a_self_signed_certificate_trusted_through_cafile(tmp_path):
    cert = self_signed_cert(tmp_path)
    with smtp_server(tls=cert, starttls=True, users={"bob": PASSWORD}) as server:
        result = send([weekly("owner@example.com")], server.config(user="bob", password=PASSWORD))
        assert result.sent and server.received[0].tls and server.received[0].login == "bob"
        check_weekly(server.received[0].message)

        with pytest.raises(SheetCRMError) as e:  # the same server, not trusted
            send([plain("a", "a@example.com")], server.config(cafile=None))
    assert "certificate" in str(e.value) and "SHEETCRM_SMTP_CAFILE" in str(e.value)


def test_ssl_from_the_start_and_the_url_form(tmp_path):
    cert = self_signed_cert(tmp_path)
    with smtp_server(tls=cert, implicit_tls=True, users={"bob": PASSWORD}) as server:
        config = SmtpConfig.from_url(server.url("bob", PASSWORD))
        assert config.security == "ssl" and config.password == PASSWORD
        send([plain("a", "a@example.com")], config)
    assert server.received[0].tls and server.received[0].login == "bob"


def test_ssl_against_a_plain_server_is_explained():
    with smtp_server() as server:
        config = server.config(security="ssl", timeout=2)
        with pytest.raises(SheetCRMError) as e:
            send([plain("a", "a@example.com")], config)
    assert "SHEETCRM_SMTP_SECURITY" in str(e.value)


def test_starttls_against_a_server_without_it_is_explained(tmp_path):
    with smtp_server() as server:
        config = server.config(security="starttls", cafile=None)
        with pytest.raises(SheetCRMError, match="does not offer STARTTLS"):
            send([plain("a", "a@example.com")], config)


# ----------------------------------------------------------------------------- configuration


def test_no_host_means_no_smtp():
    assert SmtpConfig.from_env({}) is None
    assert SmtpConfig.from_env({"SHEETCRM_SMTP_HOST": "  "}) is None


@pytest.mark.parametrize(
    "security,port", [(None, 587), ("starttls", 587), ("SSL", 465), ("none", 25)]
)
def test_from_env_defaults_the_port_by_security(security, port):
    env = {"SHEETCRM_SMTP_HOST": "smtp.example.com", "SHEETCRM_SMTP_FROM": "crm@example.com"}
    if security:
        env["SHEETCRM_SMTP_SECURITY"] = security
    config = SmtpConfig.from_env(env)
    assert config.port == port and config.security == (security or "starttls").lower()
    assert config.user is None and config.password is None


def test_from_env_reads_everything_and_never_shows_the_password(tmp_path):
    cert = self_signed_cert(tmp_path)
    config = SmtpConfig.from_env(
        {
            "SHEETCRM_SMTP_HOST": "smtp.example.com",
            "SHEETCRM_SMTP_PORT": "2525",
            "SHEETCRM_SMTP_USER": "crm@example.com",
            "SHEETCRM_SMTP_PASSWORD": PASSWORD,
            "SHEETCRM_SMTP_CAFILE": cert.certfile,
            "SHEETCRM_SMTP_TIMEOUT": "10",
        }
    )
    assert (config.host, config.port, config.user, config.password) == (
        "smtp.example.com",
        2525,
        "crm@example.com",
        PASSWORD,
    )
    assert config.sender == "crm@example.com"  # the user, when it is an address
    assert config.timeout == 10 and config.cafile == cert.certfile
    assert config.describe() == "smtp.example.com:2525 (starttls) as crm@example.com"
    assert PASSWORD not in repr(config) and PASSWORD not in str(config)


BASE = {"SHEETCRM_SMTP_HOST": "smtp.example.com", "SHEETCRM_SMTP_FROM": "crm@example.com"}


@pytest.mark.parametrize(
    "changes,words",
    [
        ({"SHEETCRM_SMTP_PORT": "five"}, "SHEETCRM_SMTP_PORT is 'five'"),
        ({"SHEETCRM_SMTP_PORT": "70000"}, "not a port number"),
        ({"SHEETCRM_SMTP_SECURITY": "tls"}, "SHEETCRM_SMTP_SECURITY is 'tls'"),
        ({"SHEETCRM_SMTP_FROM": "crm at example"}, "is not an e-mail address"),
        ({"SHEETCRM_SMTP_FROM": ""}, "no sender address"),
        ({"SHEETCRM_SMTP_PASSWORD": PASSWORD}, "no user name"),
        ({"SHEETCRM_SMTP_USER": "bob"}, "has no password"),
        ({"SHEETCRM_SMTP_CAFILE": "/no/such/ca.pem"}, "/no/such/ca.pem does not exist"),
        ({"SHEETCRM_SMTP_TIMEOUT": "soon"}, "not a number of seconds"),
        ({"SHEETCRM_SMTP_HOST": "smtp example.com"}, "host is empty or has spaces"),
    ],
)
def test_from_env_refuses_bad_values_clearly(changes, words):
    with pytest.raises(SheetCRMError) as e:
        SmtpConfig.from_env({**BASE, **changes})
    assert words in str(e.value)
    assert e.value.problem.code == "smtp_config"
    assert PASSWORD not in str(e.value)


def test_from_url_decodes_user_and_password():
    from urllib.parse import quote

    url = f"smtp+starttls://crm%40example.com:{quote(PASSWORD, safe='')}@mail.example.com:2587"
    config = SmtpConfig.from_url(url + "?from=Acme%20Bikes%20%3Ccrm%40example.com%3E&timeout=5")
    assert (config.host, config.port, config.security) == ("mail.example.com", 2587, "starttls")
    assert (config.user, config.password) == ("crm@example.com", PASSWORD)
    assert config.sender == "Acme Bikes <crm@example.com>" and config.timeout == 5
    assert config.sender_address == "crm@example.com"
    assert SmtpConfig.from_url("smtps://u%40x.com:pw@h.example.com").port == 465
    assert SmtpConfig.from_url("smtp://h.example.com?from=a@example.com").security == "none"
    assert SmtpConfig.from_url("smtp://[::1]:2525?from=a@example.com").host == "::1"


@pytest.mark.parametrize(
    "url,words",
    [
        ("http://u:hunter2@h.example.com", "does not start with smtp://"),
        ("smtp://u:hunter2@h.example.com:port?from=a@example.com", "port in the SMTP URL"),
        ("smtp://u:hun/ter2@h.example.com?from=a@example.com", "percent-encode"),
        ("smtp://u:hunter2#@h.example.com?from=a@example.com", "percent-encode"),
        ("smtp://u:hunter2@h.example.com/x?from=a@example.com", "after the host"),
        ("smtp://u:hunter2@?from=a@example.com", "host in the SMTP URL"),
        ("smtp://:hunter2@h.example.com?from=a@example.com", "no user name"),
        ("smtp://u@h.example.com?from=a@example.com", "no password"),
        ("smtp://u:hunter2@h.example.com", "no sender address"),
        ("smtp://u:hunter2@h.example.com?from=a@example.com&pass=hunter2", "unknown setting"),
        ("smtp://u:hunter2@h.example.com:99999?from=a@example.com", "1 to 65535"),
        ("smtp://u:hunter2@h.example.com?from=a@example.com\r\nX: y", "line break"),
    ],
)
def test_from_url_errors_name_the_part_and_never_the_password(url, words):
    with pytest.raises(SheetCRMError) as e:
        SmtpConfig.from_url(url)
    assert words in str(e.value)
    assert "hunter2" not in str(e.value) and "ter2" not in str(e.value)
    assert e.value.problem.code == "smtp_config"
