"""Asking "how did we handle it?" after a complaint is resolved, and reading the answers.

No web server: the survey e-mail holds five ``mailto:`` links to the CRM
mailbox, one per score. Each link's subject carries the complaint id, the
score and a token (an HMAC of both, with a key kept outside the workbook), so
``sheetcrm inbox`` can tell a real answer from a typed-up or altered one.
A customer may also just reply with a number from 1 to 5.

Pure functions, except :func:`survey_key`, which reads (or creates once) the key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from sheetcrm.book import Book
from sheetcrm.errors import Problem, SheetCRMError

KEY_ENV = "SHEETCRM_SURVEY_KEY"
DEFAULT_DELAY_HOURS = 24.0
# A survey is not sent for a complaint resolved longer ago than this: the first
# run on an old workbook must not ask about last year's complaints.
MAX_AGE = timedelta(days=14)
KEY_PREFIX = "survey:"

# "[survey K-0031 4 3f9a0c...]" in the subject of a link's message.
TOKEN = re.compile(
    r"\[survey\s+(?P<case>[A-Za-z0-9_.-]+)\s+(?P<score>\d+)\s+(?P<token>[0-9a-f]+)\]"
)
# A reply that starts with the score: "4", "2, still squeaks", "5 - thank you!".
LONE_SCORE = re.compile(
    r"^\s*(?P<score>[1-5])(?:\s*(?:/\s*5|av 5|of 5))?(?:$|[\s,.:;!)-]+(?P<rest>.*))", re.S
)


def is_true(value: Any) -> bool:
    """A yes/no cell that says yes (empty is no)."""
    try:
        return not pd.isna(value) and bool(value)
    except (TypeError, ValueError):
        return bool(value)


def config_dir(env: Mapping[str, str] = os.environ) -> Path:
    """The user's sheetcrm settings folder (outside any workbook a shop might share)."""
    if sys.platform == "win32" and env.get("APPDATA"):
        return Path(env["APPDATA"]) / "sheetcrm"
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "sheetcrm"


def survey_key(env: Mapping[str, str] = os.environ) -> bytes:
    """The signing key: ``SHEETCRM_SURVEY_KEY``, else ``survey.key`` in :func:`config_dir`.

    The key file is made on first use, readable by its owner only (0600). It is
    never in the workbook: whoever can read the workbook must not be able to
    forge an answer. Copy it (or set the variable) on every machine that sends
    surveys or reads the mailbox.
    """
    given = env.get(KEY_ENV, "").strip()
    if given:
        return given.encode("utf-8")
    path = config_dir(env) / "survey.key"
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    except OSError as e:
        raise _key_error(path, e) from e
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another run made it a moment ago
        return path.read_bytes().strip()
    except OSError as e:
        raise _key_error(path, e) from e
    key = secrets.token_hex(32).encode("ascii")
    with os.fdopen(fd, "wb") as f:
        f.write(key + b"\n")
    return key


def _key_error(path: Path, e: OSError) -> SheetCRMError:
    return SheetCRMError(
        Problem(
            "survey_key",
            f"the survey signing key {path} cannot be read or made: {e.strerror or e}",
            hint=f"make that folder writable, or set {KEY_ENV} in the environment",
        )
    )


def token(key: bytes, case_id: str, score: int) -> str:
    """The signature of one answer: 20 hex digits of HMAC-SHA256(case id, score)."""
    text = f"{case_id.strip().upper()}|{int(score)}".encode()
    return hmac.new(key, text, hashlib.sha256).hexdigest()[:20]


def answer_subject(case_id: str, score: int, key: bytes, words: str = "My answer") -> str:
    return f"{words}: {score} [survey {case_id} {score} {token(key, case_id, score)}]"


def mailto(mailbox: str, case_id: str, score: int, key: bytes, words: str = "My answer") -> str:
    """A ``mailto:`` link that writes the answer: to the CRM mailbox, the signed subject."""
    subject = answer_subject(case_id, score, key, words)
    return f"mailto:{quote(mailbox, safe='@')}?subject={quote(subject, safe='')}"


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class Answer:
    """A survey answer found in a message: the case, the score (None: no score), how found."""

    case_id: str
    score: int | None
    comment: str
    how: str  # "token", "reply", "lone digit"
    forged: bool = False


def from_token(subject: str, text: str, key: bytes) -> Answer | None:
    """The answer a ``mailto:`` link wrote, checked; ``forged`` when the token does not match."""
    m = TOKEN.search(subject or "")
    if m is None:
        return None
    case_id, score = m["case"].upper(), int(m["score"])
    good = 1 <= score <= 5 and hmac.compare_digest(m["token"], token(key, case_id, score))
    return Answer(case_id, score if good else None, text.strip(), "token", forged=not good)


def lone_score(text: str) -> tuple[int, str] | None:
    """``(2, "still squeaks")`` for a reply that starts with a score from 1 to 5."""
    m = LONE_SCORE.match(text or "")
    if m is None:
        return None
    rest = (m["rest"] or "").strip()
    return int(m["score"]), rest


# ----------------------------------------------------------------------------- asking


@dataclass(frozen=True, slots=True)
class Due:
    """One survey to send: which complaint, to whom, in which language."""

    case_id: str
    customer_id: str
    name: str
    email: str
    resolved: datetime  # when the complaint was resolved, or the sale made
    kind: str = "complaint"  # or "sale"
    about: str = ""  # the complaint's summary, or the product

    @property
    def key(self) -> str:
        """The sent-log key: one survey per complaint and address, ever."""
        return f"{KEY_PREFIX}{self.case_id}:{self.email.casefold()}"


def delay(book: Book) -> timedelta:
    """Settings ``survey_after_hours`` (default 24); ``0`` or ``no`` turns surveys off."""
    raw = _extra(book, "survey_after_hours")
    if raw is None or not raw.strip():
        return timedelta(hours=DEFAULT_DELAY_HOURS)
    if raw.strip().casefold() in ("no", "off", "never"):
        return timedelta(0)
    try:
        hours = float(raw.replace(",", "."))
    except ValueError:
        return timedelta(hours=DEFAULT_DELAY_HOURS)
    return timedelta(hours=max(hours, 0))


def _extra(book: Book, name: str) -> str | None:
    for key, value in book.settings.extra.items():
        if key.strip().casefold().replace(" ", "_") == name:
            return value
    return None


# A sale's survey rows carry the order in their summary ("... about order S-0001"):
# Interactions has no order column, and these summaries are written by sheetcrm.
ORDER_IN_SUMMARY = re.compile(r"\border ([A-Za-z0-9][A-Za-z0-9_-]*)")


def cases(frame: pd.DataFrame) -> pd.Series:
    """Which survey each row is about: its complaint_id, else the order in its summary."""
    orders = frame["summary"].astype("string").str.extract(ORDER_IN_SUMMARY, expand=False)
    return frame["complaint_id"].astype("object").where(frame["complaint_id"].notna(), orders)


def after_sales(book: Book) -> bool:
    """Settings ``survey_after_sale``: ask after each sale too (default no)."""
    return str(_extra(book, "survey_after_sale") or "").strip().casefold() in ("yes", "true", "1")


def _candidates(book: Book) -> list[tuple[str, str, pd.Timestamp, str, str]]:
    """``(case id, customer id, since, kind, about)``: resolved complaints, and sales if asked."""
    complaints = book.complaints
    done = complaints[
        complaints["resolved"].notna() & complaints["status"].isin(["resolved", "closed"])
    ]
    out = [
        (str(r.complaint_id), str(r.customer_id), pd.Timestamp(r.resolved), "complaint",
         "" if pd.isna(r.summary) else str(r.summary))
        for r in done.itertuples(index=False)
    ]  # fmt: skip
    if after_sales(book) and "Sales" in book.frames:
        sales = book.sales[book.sales["date"].notna()]
        out += [
            (str(r.order_id), str(r.customer_id), pd.Timestamp(r.date), "sale",
             "" if pd.isna(r.product) else str(r.product))
            for r in sales.itertuples(index=False)
        ]  # fmt: skip
    return out


def due(book: Book, as_of: datetime, already: Iterable[str]) -> tuple[list[Due], list[str]]:
    """The surveys to send now, and why others wait or are skipped (plain sentences).

    A complaint qualifies once resolved (or closed with a resolved date) for
    the delay, and for no longer than :data:`MAX_AGE` after that; with Settings
    ``survey_after_sale`` = yes, a sale too (from its date). The customer
    must have an e-mail address, not be do-not-contact, prefer e-mail (or have
    no preference), and not have had another outbound contact within the
    cool-down (the contacts about this complaint itself, or the sale itself, do
    not count: the survey is part of them). Each is asked once (``already``:
    sent-log keys).
    """
    wait = delay(book)
    if wait <= timedelta(0):
        return [], []
    sent = set(already)
    candidates = _candidates(book)
    if not candidates:
        return [], []
    customers = book.customers.set_index("customer_id", drop=False)
    inter = book.interactions
    outbound = inter[inter["direction"] == "outbound"]
    cooldown = timedelta(days=book.settings.followup_cooldown_days)
    now = pd.Timestamp(as_of)
    out: list[Due] = []
    notes: list[str] = []
    for case, customer_id, since, kind, about in candidates:
        if not (since + wait <= now <= since + wait + MAX_AGE):
            continue
        if customer_id not in customers.index:
            continue
        c: Any = customers.loc[customer_id]
        who = f"{customer_id} {c['name']}"
        email = c["email"]
        if not isinstance(email, str) or not email:
            continue
        item = Due(case, customer_id, str(c["name"]), email, since.to_pydatetime(), kind, about)
        if item.key in sent:
            continue
        if is_true(c["do_not_contact"]):
            notes.append(f"No survey for {case}: {who} is marked do not contact.")
            continue
        preferred = c["preferred_channel"]
        if isinstance(preferred, str) and preferred and preferred != "email":
            notes.append(f"No survey for {case}: {who} prefers {preferred}, not e-mail.")
            continue
        itself = (
            outbound["complaint_id"] == case if kind == "complaint" else outbound["type"] == "sale"
        )
        mine = outbound[
            (outbound["customer_id"] == customer_id)
            & ~itself
            & (outbound["date"] > now - cooldown)
            & (outbound["date"] <= now)
        ]
        if len(mine):
            days = book.settings.followup_cooldown_days
            notes.append(
                f"The survey for {case} waits: {who} was contacted on "
                f"{mine['date'].max():%Y-%m-%d} (cool-down {days} days)."
            )
            continue
        out.append(item)
    return out, notes


def survey_context(book: Book, item: Due, mailbox: str, key: bytes) -> dict[str, Any]:
    """What survey.txt.j2 and survey.html.j2 show."""
    from sheetcrm.i18n import translate

    code = book.settings.locale
    words = translate(code, "My answer")
    return {
        "locale": code,
        "company": book.settings.company_name,
        "name": item.name,
        "kind": item.kind,
        "complaint_id": item.case_id,
        "order_id": item.case_id,
        "summary": item.about,
        "mailbox": mailbox,
        "links": [
            {"score": n, "href": mailto(mailbox, item.case_id, n, key, words)} for n in range(1, 6)
        ],
    }


def mailbox_address(book: Book, sender: str, env: Mapping[str, str] = os.environ) -> str:
    """Where answers go: Settings ``crm_mailbox``, else the IMAP user, else the sender."""
    from email.utils import parseaddr

    for candidate in (_extra(book, "crm_mailbox"), env.get("SHEETCRM_IMAP_USER"), sender):
        address = parseaddr(candidate or "")[1]
        if "@" in address:
            return address
    return parseaddr(sender)[1]


def messages(
    book: Book,
    as_of: datetime,
    sender: str,
    already: Iterable[str],
    *,
    templates_dir: Path | None = None,
    key: bytes | None = None,
) -> tuple[list[Any], list[str]]:
    """The survey e-mails due now (``mail.Outgoing``, keyed ``survey:K-0031:address``).

    The Message-ID comes from the key (:func:`mail.stable_message_id`), so a
    reply to the survey is recognised by ``inbox`` through In-Reply-To.
    """
    from sheetcrm import mail, reports
    from sheetcrm.i18n import translate

    items, notes = due(book, as_of, already)
    if not items:
        return [], notes
    key = key if key is not None else survey_key()
    mailbox = mailbox_address(book, sender)
    domain = sender.rpartition("@")[2].strip("> ") or "sheetcrm.local"
    out = []
    for item in items:
        context = survey_context(book, item, mailbox, key)
        text = str(reports.render(context, "survey.txt.j2", templates_dir))
        html = mail.inline_css(str(reports.render(context, "survey.html.j2", templates_dir)))
        subject = translate(
            book.settings.locale,
            "{company}: how did we handle it? [{complaint_id}]"
            if item.kind == "complaint"
            else "{company}: how did we do? [{order_id}]",
            company=book.settings.company_name,
            complaint_id=item.case_id,
            order_id=item.case_id,
        )
        message = mail.build_message(
            subject=subject,
            sender=sender,
            to=[item.email],
            text=text,
            html=html,
            message_id_domain=domain,
            message_id=mail.stable_message_id(item.key, sender, domain),
        )
        # Answers are wanted: the Auto-Submitted header of a report would make some
        # mail programs hide or refuse replies to a message that asks for one.
        del message["Auto-Submitted"]
        del message["X-Auto-Response-Suppress"]
        message["Reply-To"] = mailbox
        out.append(mail.Outgoing(item.key, message))
    return out, notes


def record_sent(path: Path, when: datetime) -> list[str]:
    """Log each survey the sent log says went as an outbound ``survey`` interaction.

    So the survey counts as a contact (cool-down, the customer's timeline) and the
    weekly report can count surveys sent and answered from the workbook alone.
    Idempotent: a survey already logged (an outbound survey row for its
    complaint) is not logged again, so a run that could not write (the workbook
    open in Excel) is made good by the next one, with the time it was sent.
    """
    from zoneinfo import ZoneInfo

    from sheetcrm import mail, writer
    from sheetcrm.records import _refuse, _write, fresh_ids
    from sheetcrm.validation import check_new_rows, load

    log = mail.SentLog(mail.sent_log_path(path))
    sent = {
        k[len(KEY_PREFIX) :].split(":")[0]: str(log.get(k))
        for k in log
        if k.startswith(KEY_PREFIX) and not log.in_flight(k)
    }
    if not sent:
        return []
    with writer.edit(path) as tx:
        book, _ = load(path, sheets=["Customers", "Complaints", "Staff", "Interactions", "Sales"])
        tx.backups_to_keep = book.settings.backups_to_keep
        inter = book.interactions
        outbound = inter[(inter["type"] == "survey") & (inter["direction"] == "outbound")]
        logged = set(cases(outbound).dropna())
        complaints = book.complaints.set_index("complaint_id", drop=False)
        sales = book.sales.set_index("order_id", drop=False) if "Sales" in book.frames else None
        owners = book.customers.set_index("customer_id")["owner"]
        zone = ZoneInfo(book.settings.timezone)
        rows = []
        for case, stamp in sorted(sent.items()):
            is_sale = sales is not None and case in sales.index and case not in complaints.index
            if case in logged or not (case in complaints.index or is_sale):
                continue
            try:
                at = datetime.fromisoformat(stamp)
                at = at.astimezone(zone).replace(tzinfo=None) if at.tzinfo else at
            except ValueError:
                at = when
            if is_sale:
                assert sales is not None
                o: Any = sales.loc[case]
                staff = o["staff"] if isinstance(o["staff"], str) else owners.get(o["customer_id"])
                rows.append(
                    {
                        "date": min(at, when),
                        "customer_id": o["customer_id"],
                        "staff": staff,
                        "channel": "email",
                        "direction": "outbound",
                        "type": "survey",
                        "summary": f"Survey sent: how did we do with order {case}?",
                    }
                )
                continue
            c = complaints.loc[case]
            rows.append(
                {
                    "date": min(at, when),
                    "customer_id": c["customer_id"],
                    "staff": c["owner"],
                    "channel": "email",
                    "direction": "outbound",
                    "type": "survey",
                    "summary": f"Survey sent: how did we handle {case}?",
                    "complaint_id": case,
                }
            )
        if not rows:
            return []
        ids = fresh_ids(tx, book, "Interactions", len(rows))
        for row, new_id in zip(rows, ids, strict=True):
            row["interaction_id"] = new_id
        _, typed, problems = check_new_rows(book, "Interactions", rows)
        _refuse(problems, "Logging the surveys sent was")
        _write(tx, "Interactions", typed)
    return ids


# ----------------------------------------------------------------------------- the figures


def figures(book: Book, period: Any, as_of: datetime) -> dict[str, Any]:
    """The weekly report's survey block: sent, answered, response rate, share satisfied.

    * ``sent``: surveys sent in the period (outbound ``survey`` interactions);
    * ``answered``: of those, the ones with a scored answer by ``as_of``;
    * ``response_rate``: answered / sent (None when none were sent);
    * ``scores``: scored answers received in the period, ``satisfied`` those 4 or 5,
      ``satisfied_share`` satisfied / scores;
    * ``staff_average``: the average satisfaction staff entered on other
      interactions in the period, to compare with what customers say themselves;
    * ``low``: answers of 1 or 2 in the period, with the customer's comment.
    """
    inter = book.interactions
    lo = pd.Timestamp(period.start)
    hi = pd.Timestamp(period.end) + pd.Timedelta(days=1)
    in_period = (inter["date"] >= lo) & (inter["date"] < hi)
    is_survey = inter["type"] == "survey"
    sent = inter[is_survey & (inter["direction"] == "outbound") & in_period]
    answers = inter[is_survey & (inter["direction"] != "outbound") & inter["satisfaction"].notna()]
    answers = answers[answers["date"] <= pd.Timestamp(as_of)]
    answered_cases = set(cases(answers).dropna())
    answered = int(cases(sent).isin(answered_cases).sum())
    scores = answers[(answers["date"] >= lo) & (answers["date"] < hi)]
    satisfied = int((scores["satisfaction"] >= 4).sum())
    staff_rated = inter[in_period & ~is_survey & inter["satisfaction"].notna()]
    # An id typed twice is one customer: the first row wins, as in every lookup by id.
    customers = book.customers.drop_duplicates("customer_id").set_index("customer_id")["name"]
    low_rows = scores[scores["satisfaction"] <= 2]
    low = [
        {
            "complaint_id": "" if pd.isna(case) else str(case),  # or the order asked about
            "customer_id": r.customer_id,
            "customer": customers.get(r.customer_id, ""),
            "score": int(r.satisfaction),
            "comment": str(r.summary or ""),
            "date": pd.Timestamp(r.date).isoformat(timespec="minutes"),  # JSON-ready
        }
        for r, case in zip(low_rows.itertuples(index=False), cases(low_rows), strict=True)
    ]
    return {
        "sent": len(sent),
        "answered": answered,
        "response_rate": answered / len(sent) if len(sent) else None,
        "scores": len(scores),
        "satisfied": satisfied,
        "satisfied_share": satisfied / len(scores) if len(scores) else None,
        "average": float(scores["satisfaction"].mean()) if len(scores) else None,
        "staff_average": float(staff_rated["satisfaction"].mean()) if len(staff_rated) else None,
        "staff_responses": len(staff_rated),
        "low": low,
    }
