"""``sheetcrm inbox``: every e-mail with a customer logs itself as an interaction.

Why one module (~1,100 lines): reading, matching and logging a message are one
flow with one record of what was logged; its pure parts come first, the I/O last.

The flow, with the pure parts separate from the I/O:

* :func:`parse_message` turns the raw bytes of one message into an
  :class:`InboundMail` (who, to whom, subject, the *new* text with quoted
  replies and signatures cut off, reply headers, and whether a robot sent it);
* :func:`match` decides what the message is for this workbook (:class:`Decision`):
  Interactions rows (one per known customer), a row for the "To review" sheet
  (an unknown sender), or skipped (auto-replies, bounces, internal mail,
  ignored senders) — and recognises survey answers (:mod:`delivery.survey`);
* :func:`run` does the I/O: read the mailbox without marking anything read,
  keep each message as an ``.eml`` file in ``mail/`` beside the workbook, write
  the rows in one safe workbook write, record each Message-ID in the inbox log,
  and only then move the messages to ``sheetcrm/logged`` (or ``sheetcrm/review``,
  ``sheetcrm/skipped``). A workbook open in Excel stops the run before anything
  is moved, so the next run picks everything up; a Message-ID already logged is
  never logged again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import ssl
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from html import unescape
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit
from zoneinfo import ZoneInfo

from sheetcrm.delivery import mail, survey
from sheetcrm.delivery.inboxlog import InboxLog, log_path, mail_dir
from sheetcrm.errors import Problem, SheetCRMError
from sheetcrm.files import write_atomic
from sheetcrm.workbook import writer
from sheetcrm.workbook.book import Book

Security = Literal["ssl", "starttls", "none"]
SECURITIES: tuple[Security, ...] = ("ssl", "starttls", "none")
DEFAULT_PORTS: dict[str, int] = {"ssl": 993, "starttls": 143, "none": 143}
_ENV = "SHEETCRM_IMAP_"
LOGGED, REVIEW, SKIPPED = "sheetcrm/logged", "sheetcrm/review", "sheetcrm/skipped"
REVIEW_SHEET = "To review"
REVIEW_COLUMNS = ["received", "from", "name", "subject", "first_lines", "file", "status"]
SUMMARY_LINES = 4
SUMMARY_CHARS = 400
# The reply languages mail-parser-reply knows that are closest to a Norwegian
# shop's mail (Danish and Swedish clients write "Fra:", "Sendt:", "skrev").
REPLY_LANGUAGES = ["en", "da", "sv", "de"]
_SIGN_OFF = re.compile(
    r"^\s*(--\s*|mvh\.?|med vennlig hilsen,?|vennlig hilsen,?|hilsen,?|best regards,?|"
    r"kind regards,?|regards,?|thanks,?|sent from my \w+.*|sendt fra min \w+.*)\s*$",
    re.I,
)
_BRACKET_ID = re.compile(r"\[([A-Za-z]+-\d+)\]")


# ----------------------------------------------------------------------------- settings


def _config_error(message: str, hint: str | None = None, remedy: str = "imap_url") -> SheetCRMError:
    # remedy: the CLI also names its --imap-url (errors.REMEDIES); the hint stays neutral
    return SheetCRMError(
        Problem(
            "imap_config",
            message,
            hint=hint
            or "set SHEETCRM_IMAP_HOST, _USER and _PASSWORD (and _PORT, _SECURITY, _FOLDER), "
            "or give the mailbox as a URL such as imaps://user@imap.example.com/INBOX",
            remedy=None if hint and remedy == "imap_url" else remedy,
            remedy_args=(_ENV,),
        )
    )


@dataclass(frozen=True)
class ImapConfig:
    """Where the CRM mailbox is. The password is never printed, logged or written."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    security: Security = "ssl"
    folder: str = "INBOX"
    timeout: float = 30
    cafile: str | None = None  # a server with its own certificate (PEM) to trust

    def describe(self) -> str:
        return f"{self.user} on {self.host}:{self.port} ({self.security}), folder {self.folder}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> ImapConfig | None:
        """``SHEETCRM_IMAP_HOST/PORT/USER/PASSWORD/SECURITY/FOLDER``; None without a host."""

        def get(name: str) -> str | None:
            value = env.get(_ENV + name)
            return value.strip() if value and value.strip() else None

        host = get("HOST")
        if host is None:
            return None
        security = (get("SECURITY") or "ssl").lower()
        if security not in SECURITIES:
            raise _config_error(
                f"{_ENV}SECURITY is {security!r}, which is not ssl, starttls or none",
                hint="use ssl for port 993, starttls for port 143",
            )
        port = _port(get("PORT"), DEFAULT_PORTS[security])
        user, password = get("USER"), env.get(_ENV + "PASSWORD")
        if not user or not password:
            raise _config_error(
                "the IMAP user name or password is not set",
                hint=f"set {_ENV}USER and {_ENV}PASSWORD in the environment of the scheduled job",
            )
        return cls(
            host,
            port,
            user,
            password,
            security,
            get("FOLDER") or "INBOX",
            cafile=_cafile(get("CAFILE")),
        )

    @classmethod
    def from_url(cls, url: str, env: Mapping[str, str] = os.environ) -> ImapConfig:
        """``imaps://user:password@host:993/INBOX`` (``imap://`` plain, ``imap+starttls://``).

        The password may stay out of the URL and come from ``SHEETCRM_IMAP_PASSWORD``.
        Messages name the part that is wrong, never the URL (it may hold the password).
        """
        try:
            parts = urlsplit(str(url).strip())
            port_given = parts.port
        except ValueError:
            raise _config_error("the IMAP URL cannot be read (its port?)") from None
        security = {
            "imaps": "ssl",
            "imap+ssl": "ssl",
            "imap+starttls": "starttls",
            "imap": "none",
        }.get(parts.scheme.lower())
        if security is None:
            raise _config_error(
                "the IMAP URL must start with imaps://, imap+starttls:// or imap://"
            )
        if not parts.hostname:
            raise _config_error("the IMAP URL has no server name")
        user = unquote(parts.username or "") or env.get(_ENV + "USER", "").strip()
        password = unquote(parts.password or "") or env.get(_ENV + "PASSWORD", "")
        if not user or not password:
            raise _config_error(
                "the IMAP URL has no user name or no password",
                hint=f"put user@ in the URL and the password in {_ENV}PASSWORD",
            )
        folder = unquote(parts.path.lstrip("/")) or "INBOX"
        query = dict(parse_qsl(parts.query))
        return cls(
            parts.hostname,
            port_given or DEFAULT_PORTS[security],
            user,
            password,
            security,  # type: ignore[arg-type]
            folder,
            cafile=_cafile(query.get("cafile") or env.get(_ENV + "CAFILE")),
        )


def _cafile(path: str | None) -> str | None:
    if path and not Path(path).is_file():
        raise _config_error(
            f"the certificate file {path} does not exist",
            hint=f"point {_ENV}CAFILE (or ?cafile= in the IMAP URL) at the server's certificate "
            "(PEM), or leave it out to trust the usual authorities",
            remedy="imap_cafile",
        )
    return path or None


def _port(text: str | None, default: int) -> int:
    if text is None:
        return default
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise _config_error(f"{_ENV}PORT must be a whole number from 1 to 65535")
    return port


def imap_config(url: str | None) -> ImapConfig:
    """``--imap-url`` or the environment, or a clear refusal."""
    config = ImapConfig.from_url(url) if url else ImapConfig.from_env()
    if config is None:
        raise _config_error("no mailbox is set up, so nothing was read")
    return config


# ----------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class InboundMail:
    """One message as sheetcrm needs it. ``automatic`` says why a robot sent it, if one did."""

    message_id: str
    date: datetime | None
    sender: str  # the bare address, lower case
    sender_name: str
    recipients: tuple[str, ...]  # To and Cc, lower case
    subject: str
    text: str  # the new text only
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    automatic: str | None
    attachments: tuple[str, ...]
    raw: bytes = field(repr=False)

    @property
    def first_lines(self) -> str:
        lines = [_one_line(line) for line in self.text.splitlines() if line.strip()]
        text = " / ".join(lines[:SUMMARY_LINES])
        return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"

    @property
    def thread_ids(self) -> tuple[str, ...]:
        return (*self.in_reply_to, *self.references)


def _ids(value: str | None) -> tuple[str, ...]:
    return tuple(re.findall(r"<[^<>\s]+>", str(value or "")))


def _one_line(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        content = re.sub(r"(?is)<(script|style|head).*?</\1>", " ", content)
        content = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", content)
        content = unescape(re.sub(r"<[^>]+>", "", content))
    return content.replace("\r\n", "\n")


def new_text(body: str) -> str:
    """The text the writer typed now: quotes, the quoted header and the signature cut off."""
    from mailparser_reply import EmailReplyParser

    try:
        text = EmailReplyParser(languages=list(REPLY_LANGUAGES)).parse_reply(body) or ""
    except Exception:  # a third-party parser must never stop a run; keep the whole text
        text = body
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    for i, line in enumerate(lines):
        if _SIGN_OFF.match(line) and i > 0:
            lines = lines[:i]
            break
    return "\n".join(lines).strip()


def _automatic(msg: EmailMessage, sender: str) -> str | None:
    if msg.get_content_type() == "multipart/report" or any(
        p.get_content_type() in ("message/delivery-status", "message/disposition-notification")
        for p in msg.walk()
    ):
        return "a delivery report (bounce)"
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return f"an automatic message (Auto-Submitted: {auto})"
    precedence = str(msg.get("Precedence", "")).strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"an automatic message (Precedence: {precedence})"
    if msg.get("X-Autoreply") or msg.get("X-Autorespond"):
        return "an automatic reply"
    local = sender.partition("@")[0]
    if local in ("mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply"):
        return f"sent by {sender}, a robot"
    return None


def parse_message(raw: bytes) -> InboundMail:
    """Parse one message (RFC 5322 bytes); never raises for a strange message."""
    msg = message_from_bytes(raw, policy=email_policy.default)
    assert isinstance(msg, EmailMessage)

    def header(name: str) -> str:
        try:
            return _one_line(str(msg.get(name, "") or ""))
        except (ValueError, TypeError, IndexError):
            return ""

    senders = getaddresses([header("From")])
    name, address = senders[0] if senders else ("", "")
    recipients = tuple(
        a.strip().lower() for _, a in getaddresses([header("To"), header("Cc")]) if "@" in a
    )
    try:
        date = parsedate_to_datetime(header("Date")) if header("Date") else None
    except (TypeError, ValueError):
        date = None
    message_id = (
        _ids(header("Message-ID")) or (f"<sha256.{hashlib.sha256(raw).hexdigest()[:32]}@sheetcrm>",)
    )[0]
    attachments = tuple(_one_line(p.get_filename() or "attachment") for p in msg.iter_attachments())
    return InboundMail(
        message_id=message_id,
        date=date,
        sender=address.strip().lower(),
        sender_name=name.strip(),
        recipients=recipients,
        subject=header("Subject"),
        text=new_text(_body(msg)),
        in_reply_to=_ids(header("In-Reply-To")),
        references=_ids(header("References")),
        automatic=_automatic(msg, address.strip().lower()),
        attachments=attachments,
        raw=raw,
    )


# ----------------------------------------------------------------------------- deciding


@dataclass
class Decision:
    """What one message becomes: rows for Interactions, a row to review, or nothing."""

    mail: InboundMail
    rows: list[dict[str, Any]] = field(default_factory=list)
    review: dict[str, Any] | None = None
    skipped: str | None = None  # why nothing is logged
    warning: str | None = None  # something the owner should know (a forged survey answer)

    @property
    def folder(self) -> str:
        if self.rows:
            return LOGGED
        return REVIEW if self.review is not None else SKIPPED


@dataclass
class Known:
    """The lookups :func:`match` needs, built once per run from the Book and the sent log."""

    customers: dict[str, dict[str, Any]]  # address -> customer record
    staff: dict[str, str]  # address -> staff name
    complaints: dict[str, dict[str, Any]]  # id (upper case) -> complaint record
    sent: dict[str, str]  # Message-ID we sent -> sent-log key
    mailbox: frozenset[str]  # the CRM's own addresses
    ignored: frozenset[str]
    scored: set[str]  # complaint (or order) ids that already have a survey score
    surveyed: dict[str, list[str]]  # customer id -> complaint (or order) ids asked, oldest first
    key: bytes
    timezone: str
    # What a survey can be about: complaint ids, and order ids when sales are surveyed,
    # upper case -> (customer id, complaint id or None, since when).
    cases: dict[str, tuple[str, str | None, str]] = field(default_factory=dict)


def sent_message_ids(keys: Iterable[str], senders: Iterable[str]) -> dict[str, str]:
    """The Message-IDs ``sheetcrm email`` gave the messages in its sent log.

    A sent message's Message-ID is made from its key and the sender
    (:func:`mail.stable_message_id`), so the log of keys is enough to know what
    a reply answers; every address the CRM may have sent from is tried.
    """
    out: dict[str, str] = {}
    for sender in {s.strip() for s in senders if s and "@" in s}:
        domain = sender.rpartition("@")[2].strip("> ") or "sheetcrm.local"
        for key in keys:
            out[mail.stable_message_id(key, sender, domain)] = key
    return out


def known(
    book: Book,
    *,
    sent_keys: Iterable[str],
    senders: Iterable[str],
    mailbox: Iterable[str],
    ignored: Iterable[str] = (),
    key: bytes,
) -> Known:
    customers = {
        str(r["email"]).strip().lower(): r
        for r in book.customers.to_dict("records")
        if isinstance(r.get("email"), str) and r["email"]
    }
    staff = {
        str(e).strip().lower(): str(n)
        for n, e in zip(book.staff["name"], book.staff["email"], strict=True)
        if isinstance(e, str) and e
    }
    complaints = {str(r["complaint_id"]).upper(): r for r in book.complaints.to_dict("records")}
    inter = book.interactions
    answers = inter[(inter["type"] == "survey") & inter["satisfaction"].notna()]
    scored = set(survey.cases(answers).dropna().astype(str).str.upper())
    cases: dict[str, tuple[str, str | None, str]] = {
        cid: (str(c["customer_id"]), str(c["complaint_id"]), str(c.get("resolved") or ""))
        for cid, c in complaints.items()
    }
    if "Sales" in book.frames:
        for o in book.sales.to_dict("records"):
            if o.get("order_id") is not None and str(o["order_id"]).upper() not in cases:
                cases[str(o["order_id"]).upper()] = (
                    str(o["customer_id"]),
                    None,
                    str(o.get("date") or ""),
                )
    keys = list(sent_keys)
    surveyed: dict[str, list[str]] = {}
    for k in keys:
        if k.startswith(survey.KEY_PREFIX):
            case = k[len(survey.KEY_PREFIX) :].split(":")[0].upper()
            if case in cases:
                surveyed.setdefault(cases[case][0], []).append(case)
    for asked in surveyed.values():  # oldest first: the last one is the latest
        asked.sort(key=lambda case: cases[case][2])
    return Known(
        customers=customers,
        staff=staff,
        complaints=complaints,
        sent=sent_message_ids(keys, senders),
        mailbox=frozenset(a.strip().lower() for a in mailbox if a),
        ignored=frozenset(a.strip().lower() for a in ignored if a),
        scored=scored,
        surveyed=surveyed,
        key=key,
        timezone=book.settings.timezone,
        cases=cases,
    )


def _local(when: datetime | None, timezone: str, default: datetime) -> datetime:
    """The message's time on the shop's clock, as the workbook holds times (no zone)."""
    if when is None:
        return default
    if when.tzinfo is not None:
        when = when.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    # A sender's clock set wrong must not put a contact in the future (which
    # validate refuses, and which would hold up every other message of the run).
    return min(when.replace(microsecond=0), default)


def _complaint_of(m: InboundMail, k: Known, customer_id: str) -> str | None:
    """The complaint a message is about: ``[K-0031]`` in the subject, else the thread."""
    for found in _BRACKET_ID.findall(m.subject):
        c = k.complaints.get(found.upper())
        if c is not None and str(c["customer_id"]) == customer_id:
            return str(c["complaint_id"])
    for mid in m.thread_ids:
        sent_key = k.sent.get(mid)
        if sent_key is None:
            continue
        for part in sent_key.split(":"):
            c = k.complaints.get(part.upper())
            if c is not None and str(c["customer_id"]) == customer_id:
                return str(c["complaint_id"])
    return None


def _summary(m: InboundMail) -> str:
    subject = m.subject or "(no subject)"
    text = f"{subject}: {m.first_lines}" if m.first_lines else subject
    if m.attachments:
        text += f" (attached: {', '.join(m.attachments)})"
    return text


def match(m: InboundMail, book: Book, k: Known, *, received: datetime) -> Decision:
    """What ``m`` means for this workbook. Pure: reads nothing, writes nothing."""
    d = Decision(m)
    if m.automatic:
        d.skipped = m.automatic
        return d
    if m.message_id in k.sent:
        d.skipped = "sent by sheetcrm itself (already logged by sheetcrm email)"
        return d
    if m.sender in k.ignored:
        d.skipped = f"{m.sender} is on the ignore list"
        return d
    when = _local(m.date, k.timezone, received)
    others = [a for a in m.recipients if a not in k.mailbox]
    if m.sender in k.customers:
        customer = k.customers[m.sender]
        staff = next((k.staff[a] for a in m.recipients if a in k.staff), None)
        answer = _survey_answer(m, k, str(customer["customer_id"]))
        if answer is not None and answer.forged:
            d.warning = (
                f"The survey answer from {m.sender} ({m.subject!r}) has a token that does not "
                "match: it was not counted. It is kept in the mailbox folder sheetcrm/review."
            )
            d.review = _review_row(m, when, status="survey token does not match: not counted")
            return d
        row: dict[str, Any] = {
            "date": when,
            "customer_id": customer["customer_id"],
            "staff": staff or customer.get("owner"),
            "channel": "email",
            "direction": "inbound",
            "type": "enquiry",
            "summary": _summary(m),
        }
        if answer is not None:
            row["type"] = "survey"
            complaint_id = k.cases[answer.case_id][1]
            if complaint_id:
                row["complaint_id"] = complaint_id
            # A sale has no column on Interactions: its order goes in the summary.
            about = "" if complaint_id else f" about order {answer.case_id}"
            comment = " / ".join(
                _one_line(line) for line in answer.comment.splitlines() if line.strip()
            )
            if answer.score is not None and answer.case_id not in k.scored:
                row["satisfaction"] = answer.score
                k.scored.add(answer.case_id)
                row["summary"] = f"Survey answer {answer.score} of 5{about}" + (
                    f": {comment}" if comment else ""
                )
            elif answer.case_id in k.scored:
                row["summary"] = (
                    f"Another survey answer{about} (the first one counts)"
                    + (f": {answer.score} of 5" if answer.score else "")
                    + (f": {comment}" if comment else "")
                )
            else:  # a reply to the survey without a number: a comment, no score
                row["summary"] = f"Survey reply{about} without a score" + (
                    f": {comment}" if comment else ""
                )
            row["summary"] = row["summary"][:SUMMARY_CHARS]
        else:
            complaint = _complaint_of(m, k, str(customer["customer_id"]))
            if complaint:
                row["complaint_id"] = complaint
                row["type"] = "complaint"
        d.rows.append(row)
        return d
    if m.sender in k.staff or m.sender in k.mailbox:
        staff = k.staff.get(m.sender)
        customers = [k.customers[a] for a in others if a in k.customers]
        for customer in {str(c["customer_id"]): c for c in customers}.values():
            row = {
                "date": when,
                "customer_id": customer["customer_id"],
                "staff": staff or customer.get("owner"),
                "channel": "email",
                "direction": "outbound",
                "type": "follow_up",
                "summary": _summary(m),
            }
            complaint = _complaint_of(m, k, str(customer["customer_id"]))
            if complaint:
                row["complaint_id"] = complaint
                row["type"] = "complaint"
            d.rows.append(row)
        if not d.rows:
            outside = [a for a in others if a not in k.staff]
            if outside:
                d.review = _review_row(m, when, who=outside[0])
            else:
                d.skipped = "mail from staff with no customer among its recipients"
        return d
    d.review = _review_row(m, when)
    return d


def _survey_answer(m: InboundMail, k: Known, customer_id: str) -> survey.Answer | None:
    """A survey answer: the signed subject, else a reply to the survey, else a lone digit."""
    answer = survey.from_token(m.subject, m.text, k.key)
    if answer is not None:
        asked = k.cases.get(answer.case_id)
        if asked is None or asked[0] != customer_id:
            return survey.Answer(answer.case_id, None, answer.comment, "token", forged=True)
        return answer
    lone = survey.lone_score(m.text)
    for mid in m.thread_ids:
        sent_key = k.sent.get(mid, "")
        if sent_key.startswith(survey.KEY_PREFIX):
            case = sent_key[len(survey.KEY_PREFIX) :].split(":")[0].upper()
            about = k.cases.get(case)
            if about is not None and about[0] == customer_id:
                if lone is not None:
                    return survey.Answer(case, lone[0], lone[1], "reply")
                return survey.Answer(case, None, m.text.strip()[:SUMMARY_CHARS], "reply")
    # A bare digit from a customer who was asked: their survey still waiting for a score
    # (the most recent one asked), else their last one (then it counts as a second answer).
    surveyed = k.surveyed.get(customer_id)
    if surveyed and lone is not None and not lone[1] and m.text.strip().isdigit():
        waiting = [case for case in surveyed if case not in k.scored]
        return survey.Answer((waiting or surveyed)[-1], lone[0], "", "lone digit")
    return None


def _review_row(
    m: InboundMail, when: datetime, *, who: str | None = None, status: str = "new"
) -> dict[str, Any]:
    return {
        "received": when,
        "from": who or m.sender,
        "name": m.sender_name if who is None else "",
        "subject": m.subject,
        "first_lines": m.first_lines,
        "file": "",
        "status": status,
    }


# ----------------------------------------------------------------------------- the inbox log


def eml_name(m: InboundMail, received: datetime) -> str:
    when = m.date or received
    digest = hashlib.sha256(m.message_id.encode("utf-8", "replace")).hexdigest()[:12]
    return f"{when:%Y-%m-%d}-{digest}.eml"


# ----------------------------------------------------------------------------- the run


@dataclass
class Fetched:
    uid: str
    mail: InboundMail


@dataclass
class InboxResult:
    logged: list[tuple[str, InboundMail]] = field(default_factory=list)  # (ids, message)
    review: list[InboundMail] = field(default_factory=list)
    skipped: list[tuple[InboundMail, str]] = field(default_factory=list)
    already: int = 0
    warnings: list[str] = field(default_factory=list)
    survey_answers: list[str] = field(default_factory=list)
    backup: Path | None = None


class _RawMessage:
    """imap-tools' message class, keeping the exact bytes the server sent."""

    def __init__(self, fetch_data: list[Any]) -> None:
        from imap_tools import MailMessage

        self.inner = MailMessage(fetch_data)
        self.raw = b""
        for item in fetch_data:
            if isinstance(item, tuple):
                self.raw = item[1]


def _connect(config: ImapConfig) -> Any:
    import imap_tools

    box: Any
    context = ssl.create_default_context(cafile=config.cafile)
    if config.security == "ssl":
        box = imap_tools.MailBox(
            config.host, port=config.port, timeout=config.timeout, ssl_context=context
        )
    elif config.security == "starttls":
        box = imap_tools.MailBoxStartTls(
            config.host, port=config.port, timeout=config.timeout, ssl_context=context
        )
    else:
        box = imap_tools.MailBoxUnencrypted(config.host, port=config.port, timeout=config.timeout)
    box.login(config.user, config.password, initial_folder=config.folder)
    return box


def _scrub(text: str, config: ImapConfig) -> str:
    return text.replace(config.password, "***") if config.password else text


def _imap_error(config: ImapConfig, e: BaseException) -> SheetCRMError:
    why = _scrub(str(e), config)
    return SheetCRMError(
        Problem(
            "imap_failed",
            f"the mailbox {config.describe()} could not be read: {why[:200]}; nothing was "
            "logged or moved",
            hint="check SHEETCRM_IMAP_HOST, _PORT, _SECURITY, _USER and _PASSWORD (and the "
            "folder name), then run the command again",
        )
    )


def _delimiter(box: Any) -> str:
    """The server's folder separator ("/" or "."), from its list of folders."""
    with contextlib.suppress(Exception):
        for info in box.folder.list():
            if info.delim:
                return str(info.delim)
    return "/"


def run(
    path: Path,
    config: ImapConfig,
    *,
    when: datetime,
    senders: Sequence[str] = (),
) -> InboxResult:
    """Read the mailbox, log what is new, move what was handled. See the module docstring."""

    path = Path(path)
    writer.check_not_open(path)  # before anything is read or moved: exit 3, all stays
    inbox_log = InboxLog(log_path(path))
    settle_pending(path, inbox_log)
    key = survey.survey_key()
    try:
        box = _connect(config)
    except Exception as e:  # imaplib, socket and ssl raise many kinds; all mean "cannot read"
        raise _imap_error(config, e) from e
    result = InboxResult()
    try:
        box.email_message_class = _RawMessage
        fetched = [
            Fetched(str(item.inner.uid), parse_message(item.raw))
            for item in box.fetch(mark_seen=False, bulk=50)
        ]
        folders: dict[str, list[str]] = {}
        new = []
        for f in fetched:
            if f.mail.message_id in inbox_log:
                result.already += 1
                folders.setdefault(
                    inbox_log.messages[f.mail.message_id].get("folder", LOGGED), []
                ).append(f.uid)
            else:
                new.append(f)
        if new:
            records = _log(
                path, [f.mail for f in new], inbox_log, when, senders, config, key, result
            )
            for f in new:
                folders.setdefault(records[f.mail.message_id]["folder"], []).append(f.uid)
        delimiter = _delimiter(box)
        for folder, uids in folders.items():
            # sheetcrm/logged is sheetcrm.logged on a server that separates with dots.
            name = folder.replace("/", delimiter)
            try:
                if not box.folder.exists(name):
                    box.folder.create(name)
                box.move(uids, name)
            except Exception as e:  # the rows are in: say so, and that nothing goes twice
                raise SheetCRMError(
                    Problem(
                        "imap_failed",
                        f"the e-mails were logged in {path.name}, but could not be moved to "
                        f"the mailbox folder {name}: {_scrub(str(e), config)[:200]}",
                        hint="they stay where they are and are not logged again; let the "
                        "CRM mailbox's user create that folder, then run the command again",
                    )
                ) from e
    except SheetCRMError:
        raise
    except Exception as e:
        raise _imap_error(config, e) from e
    finally:
        with contextlib.suppress(Exception):  # the connection may be gone already
            box.logout()
    return result


def _log(
    path: Path,
    mails: Sequence[InboundMail],
    inbox_log: InboxLog,
    when: datetime,
    senders: Sequence[str],
    config: ImapConfig | None,
    key: bytes,
    result: InboxResult,
) -> dict[str, dict[str, Any]]:
    """Keep the .eml files, write the rows in one workbook write, then record the ids."""
    from sheetcrm.workbook.newrows import fresh_ids
    from sheetcrm.workbook.newrows import refuse as _refuse
    from sheetcrm.workbook.newrows import write_rows as _write
    from sheetcrm.workbook.validation import check_new_rows, load

    folder = mail_dir(path)
    files: dict[str, str] = {}
    for m in mails:
        name = eml_name(m, when)
        target = folder / name
        try:
            folder.mkdir(exist_ok=True)
            if not target.exists():
                write_atomic(target, m.raw)
        except OSError as e:
            raise SheetCRMError(
                Problem(
                    "write_failed",
                    f"the e-mail could not be kept as {target}: {e.strerror or e}; nothing was "
                    "logged or moved",
                    hint="make the workbook's folder writable, then run the command again",
                )
            ) from e
        files[m.message_id] = f"mail/{name}"
    sent_keys = list(mail.SentLog(mail.sent_log_path(path)))
    mailbox = [config.user] if config else []
    with writer.edit(path) as tx:
        book, _ = load(path, as_of=when)
        tx.backups_to_keep = book.settings.backups_to_keep
        k = known(
            book,
            sent_keys=sent_keys,
            senders=[*senders, *mailbox, *_env_senders()],
            mailbox=[*mailbox, *senders],
            ignored=inbox_log.ignored,
            key=key,
        )
        decisions = [match(m, book, k, received=when) for m in mails]
        rows = [r for d in decisions for r in d.rows]
        ids = fresh_ids(tx, book, "Interactions", len(rows)) if rows else []
        for row, new_id in zip(rows, ids, strict=True):
            row["interaction_id"] = new_id
        if rows:
            _, typed, problems = check_new_rows(book, "Interactions", rows)
            _refuse(problems, "Logging the e-mails was")
            _write(tx, "Interactions", typed)
        reviews = []
        for d in decisions:
            if d.review is not None:
                d.review["file"] = files[d.mail.message_id]
                reviews.append(d.review)
        if reviews:
            _append_review(tx, book, reviews)
        records = {d.mail.message_id: _entry(d, files, when) for d in decisions}
        # Recorded as pending before the workbook is replaced: should the run stop
        # between the two, the next run checks the workbook instead of guessing.
        inbox_log.save({mid: {**e, "pending": True} for mid, e in records.items()})
    result.backup = tx.backup
    for d in decisions:
        m = d.mail
        if d.rows:
            result.logged.append((", ".join(str(r["interaction_id"]) for r in d.rows), m))
            result.survey_answers += [
                f"{r['interaction_id']}: {r.get('complaint_id') or 'a sale'} "
                + (
                    f"scored {r['satisfaction']}"
                    if r.get("satisfaction")
                    else "(kept as a comment, not counted)"
                )
                for r in d.rows
                if r["type"] == "survey"
            ]
        elif d.review is not None:
            result.review.append(m)
        else:
            result.skipped.append((m, d.skipped or ""))
        if d.warning:
            result.warnings.append(d.warning)
    inbox_log.save(records)
    return records


def _entry(d: Decision, files: Mapping[str, str], when: datetime) -> dict[str, Any]:
    """What the inbox log keeps about one handled message."""
    entry: dict[str, Any] = {
        "folder": d.folder,
        "file": files[d.mail.message_id],
        "from": d.mail.sender,
        "at": when.isoformat(),
    }
    if d.rows:
        entry["interactions"] = [str(r["interaction_id"]) for r in d.rows]
        entry["customers"] = [str(r["customer_id"]) for r in d.rows]
    return entry


def settle_pending(path: Path, inbox_log: InboxLog) -> None:
    """Finish what a run stopped between writing the workbook and recording the ids.

    A pending message whose rows are in the workbook (same ids, same customers)
    was logged: it is recorded as done. Otherwise the workbook write did not
    happen, and the message is forgotten so this run handles it as new.
    """
    from sheetcrm.workbook.validation import load

    pending = {mid: e for mid, e in inbox_log.messages.items() if e.get("pending")}
    if not pending:
        return
    book, _ = load(path, sheets=["Interactions"])
    inter = book.interactions
    there = set(
        zip(inter["interaction_id"].astype(str), inter["customer_id"].astype(str), strict=True)
    )
    done, gone = {}, []
    for mid, e in pending.items():
        pairs = set(zip(e.get("interactions", []), e.get("customers", []), strict=False))
        if pairs and pairs <= there:
            done[mid] = {k: v for k, v in e.items() if k != "pending"}
        else:
            gone.append(mid)
    inbox_log.save(done, forget=gone)


def _env_senders() -> list[str]:
    """The address ``sheetcrm email`` sends from, as its settings say (for reply matching)."""
    sender = os.environ.get("SHEETCRM_SMTP_FROM") or os.environ.get("SHEETCRM_SMTP_USER") or ""
    return [a for _, a in getaddresses([sender]) if "@" in a]


def _append_review(tx: writer.Transaction, book: Book, rows: Sequence[Mapping[str, Any]]) -> None:
    """Add rows to the "To review" sheet, making it (once) when the workbook has none."""
    names = {n.casefold(): n for n in tx.sheet_names}
    if REVIEW_SHEET.casefold() in names:
        tx.append(names[REVIEW_SHEET.casefold()], [dict(r) for r in rows])
    else:
        tx.add_sheet(
            REVIEW_SHEET,
            REVIEW_COLUMNS,
            [[r.get(c) for c in REVIEW_COLUMNS] for r in rows],
            [18, 30, 22, 40, 60, 28, 24],
        )


def ignore(path: Path, address: str) -> int:
    """Never log or review mail from ``address`` again (a newsletter, a supplier).

    Its rows on the "To review" sheet are marked ``ignored``; how many is returned.
    """
    InboxLog(log_path(Path(path))).save(ignore=[address.strip().lower()])
    return mark_review(Path(path), address, "ignored")


def mark_review(path: Path, address: str, status: str) -> int:
    """Set the status cell of the "To review" rows from ``address``; how many were marked."""
    from python_calamine import CalamineWorkbook

    address = address.strip().lower()
    try:
        names = CalamineWorkbook.from_path(str(path)).sheet_names
    except Exception:  # unreadable files are reported by the write below, in its words
        names = []
    sheet = next((n for n in names if n.casefold() == REVIEW_SHEET.casefold()), None)
    if sheet is None:
        return 0
    with writer.edit(path) as tx:
        table = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()
        if not table:
            return 0
        header = [str(h).strip().casefold() for h in table[0]]
        if "from" not in header or "status" not in header:
            return 0
        at = header.index("from")
        rows = [
            n
            for n, row in enumerate(table[1:], start=2)
            if len(row) > at and str(row[at]).strip().lower() == address
        ]
        for n in rows:
            tx.update(sheet, n, {"status": status})
    return len(rows)


def relog(path: Path, address: str, *, when: datetime) -> InboxResult:
    """Log the kept messages from ``address`` (after it was added as a customer)."""
    inbox_log = InboxLog(log_path(Path(path)))
    wanted = [
        (mid, e)
        for mid, e in inbox_log.messages.items()
        if e.get("folder") == REVIEW and str(e.get("from", "")).lower() == address.strip().lower()
    ]
    mails = []
    for _, entry in wanted:
        try:
            mails.append(parse_message((Path(path).parent / entry["file"]).read_bytes()))
        except OSError:
            continue
    result = InboxResult()
    if not mails:
        return result
    # Their entries are replaced by the new ones (folder: logged) once the rows are written.
    _log(Path(path), mails, inbox_log, when, [], None, survey.survey_key(), result)
    return result
