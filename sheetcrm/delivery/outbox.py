"""What ``sheetcrm email`` sends: the weekly summary, staff digests and department notices.

Builds :class:`mail.Outgoing` messages from a Book (pure: no network, no
files), and delivers them with the guarantees the owner relies on: every
message has a stable key (and a Message-ID made from it), a sent log beside the
workbook says what went, so a re-run sends only what did not, one run at a time
sends (a lock beside the workbook), a message whose outcome is unknown is never
sent again without the owner's word, and a notice is marked sent in the
workbook's Notices sheet only after the server accepted it.

A notice's key says what it tells (complaint, event, when, department,
address), not its row id, so an owner deleting rows in Excel can never make a
new notice look already sent; and notice ids are never reused
(:func:`next_notice_id`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sheetcrm.delivery import mail
from sheetcrm.errors import Problem, SheetCRMError
from sheetcrm.files import write_atomic
from sheetcrm.workbook import writer
from sheetcrm.workbook.book import Book
from sheetcrm.workbook.validation import load, refuse_unusable

# The report (jinja2, babel, the figures) and pandas only where a message is built from
# them: a write that queues a notice asks here only for the next notice id.
if TYPE_CHECKING:
    from sheetcrm.report import render as reports
    from sheetcrm.rules import value

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ATTACHMENTS = {"docx": ("weekly.docx", DOCX), "html": ("weekly.html.j2", "text/html")}


def _domain(sender: str) -> str:
    return sender.rpartition("@")[2].strip("> ") or "sheetcrm.local"


def _message(key: str, sender: str, **parts: Any) -> mail.Outgoing:
    """The message under ``key``, with the Message-ID every run gives that key."""
    domain = _domain(sender)
    return mail.Outgoing(
        key,
        mail.build_message(
            sender=sender,
            message_id_domain=domain,
            message_id=mail.stable_message_id(key, sender, domain),
            **parts,
        ),
    )


# ----------------------------------------------------------------------------- staff addresses


def bad_addresses(path: Path) -> dict[int, Problem]:
    """Staff rows whose email cell ``validate`` refuses, by Excel row, with the problem.

    Validation leaves such a cell empty in the Book, so without this a staff
    member with a mistyped address would silently get nothing; ``email`` names
    each one it skips instead. Reads the small Staff sheet only.
    """
    book, report = load(path, sheets=["Staff"])
    staff = book.sheet_names.get("Staff", "Staff")
    return {
        int(p.row): p
        for p in report.errors
        if p.code == "invalid_email" and p.column == "email" and p.sheet == staff and p.row
    }


def _skip(book: Book, rec: Any, bad: Mapping[int, Problem], what: str) -> Problem:
    """The problem telling the owner whose message was not sent, and the cell to fix."""
    row = int(rec.excel_row)
    known = bad.get(row)
    why = known.message if known is not None else "the address cannot be used"
    cell = book.cell("Staff", "email", row)
    sheet, _, ref = cell.partition("!")
    return Problem(
        "invalid_email",
        f"{what} for {rec.name} was not sent: {why}",
        sheet=sheet or "Staff",
        cell=ref or None,
        row=row,
        column="email",
        hint="retype the address in that cell (it may hold an invisible character), "
        "then run the same command again: only what was not sent goes",
        severity="warning",
    )


def weekly_messages(
    book: Book,
    period: reports.Period,
    as_of: datetime,
    recipients: Sequence[str],
    sender: str,
    *,
    attach: Sequence[str] = ("docx",),
    templates_dir: Path | None = None,
    worth: value.Estimate | None = None,
) -> list[mail.Outgoing]:
    """The weekly summary in the body (text and HTML, charts inline), the report attached."""
    from sheetcrm.report import render as reports

    context = reports.build_context(book, period, as_of, worth=worth)
    html = mail.inline_css(
        str(reports.render(reports.with_cid(context), "weekly.html.j2", templates_dir))
    )
    text = str(reports.render(context, "email.txt.j2", templates_dir))
    images = {
        chart["cid"]: reports.chart_bytes(context, name)
        for name, chart in context["charts"].items()
    }
    files = []
    for kind in attach:
        template, mime = ATTACHMENTS[kind]
        content = reports.render(context, template, templates_dir)
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        files.append((f"weekly-{period.label}.{kind}", data, mime))
    subject = f"{book.settings.company_name}: weekly report {period.label}"
    return [
        _message(
            f"weekly:{period.label}:{address.casefold()}",
            sender,
            subject=subject,
            to=[address],
            text=text,
            html=html,
            inline_images=images,
            attachments=files,
        )
        for address in recipients
    ]


def digest_messages(
    book: Book,
    period: reports.Period,
    as_of: datetime,
    sender: str,
    *,
    templates_dir: Path | None = None,
    bad: Mapping[int, Problem] | None = None,
    skipped: list[Problem] | None = None,
    worth: value.Estimate | None = None,
) -> list[mail.Outgoing]:
    """Each active staff member with an email address: their own list for the week.

    One whose address cannot be used (``bad``, by default :func:`bad_addresses`
    of the book's file, or refused when the message is built) is left out and
    named in ``skipped`` with the cell to fix; everyone else still gets theirs.
    """
    from sheetcrm.report import render as reports

    # A name typed twice is one person (validate names the copy): the first row wins, so
    # nobody gets their digest twice or at an address from a stray row.
    bad = _bad(book, bad)
    staff = book.staff.drop_duplicates("name")
    active = staff[staff["active"].fillna(True).astype(bool)]
    for rec in active[active["excel_row"].isin(list(bad))].itertuples(index=False):
        if skipped is not None:
            skipped.append(_skip(book, rec, bad, "The weekly digest"))
    out = []
    with_email = active[active["email"].notna()]
    if len(with_email):  # one estimate for every digest: each would fit the models again
        worth = reports.value_estimate(book, as_of, worth)
    for rec in with_email.itertuples(index=False):
        digest = reports.build_digest(book, rec.name, as_of, worth=worth)
        html = mail.inline_css(str(reports.render(digest, "digest.html.j2", templates_dir)))
        text = str(reports.render(digest, "digest.txt.j2", templates_dir))
        counts = (len(digest["overdue"]), len(digest["followups"]), len(digest["at_risk"]))
        subject = (
            f"{book.settings.company_name}: your week {period.label} "
            f"({counts[0]} complaints to watch, {counts[1]} follow-ups, "
            f"{counts[2]} customers at risk)"
        )
        try:
            out.append(
                _message(
                    f"digest:{period.label}:{str(rec.email).casefold()}",
                    sender,
                    subject=subject,
                    to=[rec.email],
                    text=text,
                    html=html,
                )
            )
        except SheetCRMError as e:
            if skipped is None or e.problem.code != "invalid_email":
                raise
            skipped.append(_skip(book, rec, {int(rec.excel_row): e.problem}, "The weekly digest"))
    return out


@dataclass(slots=True)
class Notice:
    notice_id: str
    excel_row: int
    recipients: list[str]
    outgoing: list[mail.Outgoing] = field(default_factory=list)
    created: datetime | None = None
    # key -> the key an older sheetcrm gave the same message (by row id), see deliver()
    legacy: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # members whose address is unusable


def _bad(book: Book, bad: Mapping[int, Problem] | None) -> Mapping[int, Problem]:
    if bad is not None:
        return bad
    return bad_addresses(book.path) if book.path is not None else {}


def notice_key(complaint_id: str, event: str, created: Any, department: str, address: str) -> str:
    """The key of a notice's message: what it tells and to whom, never the row id.

    >>> notice_key("K-0042", "resolved", datetime(2026, 11, 20, 10), "Finance", "Liv@x.no")
    'notice:K-0042:resolved:2026-11-20T10:00:finance:liv@x.no'
    """
    import pandas as pd

    stamp = pd.Timestamp(created).strftime("%Y-%m-%dT%H:%M") if not pd.isna(created) else "-"
    return f"notice:{complaint_id}:{event}:{stamp}:{department.casefold()}:{address.casefold()}"


def notice_messages(
    book: Book,
    sender: str,
    *,
    only: Sequence[str] | None = None,
    bad: Mapping[int, Problem] | None = None,
    skipped: list[Problem] | None = None,
) -> list[Notice]:
    """Every notice not yet sent (or just those in ``only``), one message per member.

    A member whose address cannot be used is named in ``skipped`` (see
    :func:`digest_messages`) and in the notice's ``missing``; the notice goes to
    the others, and stays waiting on the Notices sheet (not marked sent) until
    the address is fixed and a re-run sends it to that member too.
    """
    bad = _bad(book, bad)
    frame = book.frames["Notices"]
    pending = frame[frame["sent"].isna()]
    if only is not None:
        pending = pending[pending["notice_id"].isin(list(only))]
    complaints = book.complaints.set_index("complaint_id", drop=False)
    customers = book.customers.set_index("customer_id", drop=False)
    notices = []
    for rec in pending.itertuples(index=False):
        department = book.active_staff(str(rec.department))
        what = f"Notice {rec.notice_id} (Notices row {int(rec.excel_row)})"
        notice = Notice(rec.notice_id, int(rec.excel_row), [], created=_plain_time(rec.created))
        for member in department[department["excel_row"].isin(list(bad))].itertuples(index=False):
            notice.missing.append(str(member.name))
            if skipped is not None:
                skipped.append(_skip(book, member, bad, what))
        members = department[department["email"].notna()]
        k: Any = complaints.loc[rec.complaint_id] if rec.complaint_id in complaints.index else {}
        who = ""
        if len(k) and k["customer_id"] in customers.index:
            c = customers.loc[k["customer_id"]]
            who = f"{c['customer_id']} {c['name']}"
        lines = [
            f"Complaint {rec.complaint_id} was {rec.event} on {rec.created:%Y-%m-%d %H:%M}.",
            "",
            f"Customer: {who}" if who else None,
            f"Summary: {k['summary']}" if len(k) else None,
            f"Resolution: {k['resolution']}" if len(k) and k["resolution"] else None,
            f"Owner: {k['owner']}" if len(k) else None,
            "",
            f"This notice is for {rec.department}; sent by sheetcrm "
            f"({book.settings.company_name}).",
        ]
        text = "\n".join(line for line in lines if line is not None) + "\n"
        subject = (
            f"{book.settings.company_name}: complaint {rec.complaint_id} {rec.event} "
            f"(for {rec.department})"
        )
        for member in members.itertuples(index=False):
            address = str(member.email)
            key = notice_key(rec.complaint_id, rec.event, rec.created, rec.department, address)
            try:
                notice.outgoing.append(
                    _message(key, sender, subject=subject, to=[address], text=text)
                )
            except SheetCRMError as e:
                if e.problem.code != "invalid_email":
                    raise
                notice.missing.append(str(member.name))
                if skipped is not None:
                    skipped.append(_skip(book, member, {int(member.excel_row): e.problem}, what))
                continue
            notice.recipients.append(address)
            notice.legacy[key] = f"notice:{rec.notice_id}:{address.casefold()}"
        notices.append(notice)
    return notices


def _plain_time(value: Any) -> datetime | None:
    import pandas as pd

    return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()


@dataclass(slots=True)
class Delivery:
    result: mail.SendResult
    notices_sent: list[str]
    files: list[Path] = field(default_factory=list)


def deliver(
    path: Path,
    outgoing: Sequence[mail.Outgoing],
    notices: Sequence[Notice],
    config: mail.SmtpConfig,
    *,
    when: datetime,
    resend: Sequence[str] = (),
) -> Delivery:
    """Send what has not been sent, then mark the delivered notices in the workbook.

    Holds the workbook's sending lock throughout (a second run stops with
    :class:`mail.SendingBusy`, exit 3). The sent log records each message in
    flight before its DATA and sent once the server accepts it, so a crash or a
    refused connection half-way never leads to a second copy, and a message
    whose answer was lost is reported, not sent again. ``resend`` names keys the
    owner wants sent again all the same (``--resend``); each must be one of this
    run's messages.
    """
    everything = [*outgoing, *(o for n in notices for o in n.outgoing)]
    with mail.send_lock(path):
        log = mail.SentLog(mail.sent_log_path(path))
        _adopt_legacy_keys(log, notices)
        keys = {o.key for o in everything}
        unknown = [key for key in resend if key not in keys]
        if unknown:
            waiting = sorted(key for key in keys if log.in_flight(key))
            now = f"; waiting for your word now: {', '.join(waiting)}" if waiting else ""
            raise SheetCRMError(
                Problem(
                    "unknown_message",
                    f"{unknown[0]} is not one of the e-mails this run would send, "
                    "so nothing was sent",
                    value=unknown[0],
                    hint='copy the key from the "may have been sent" line, for the same week, '
                    "recipients and digests" + now,
                    remedy="resend_key",
                    remedy_args=(now,),
                )
            )
        for key in resend:
            log.forget(key)
        try:
            result = mail.send(
                everything,
                config,
                already_sent=log.__contains__,
                mark_sent=log.mark,
                mark_in_flight=log.mark_in_flight,
                unmark=log.forget,
                may_have_gone=log.in_flight,
            )
        finally:
            done = [
                n
                for n in notices
                if n.outgoing
                and not n.missing
                and all(o.key in log and not log.in_flight(o.key) for o in n.outgoing)
            ]
            if done:
                _mark_notices(path, done, when)
    return Delivery(result, [n.notice_id for n in done])


@dataclass(slots=True)
class EmailRun:
    """Everything one ``sheetcrm email`` run would send, built before anything goes."""

    messages: list[mail.Outgoing]  # the summary, the staff digests and the surveys
    notices: list[Notice]  # department notices waiting on the Notices sheet
    skipped: list[Problem]  # a staff member left out for an unusable address, by cell
    waiting: list[str]  # why a survey is not sent yet, in the owner's words


def email_messages(
    path: Path,
    book: Book,
    period: reports.Period,
    as_of: datetime,
    sender: str,
    recipients: Sequence[str],
    *,
    per_owner: bool = False,
    attach: Sequence[str] = ("docx",),
    templates_dir: Path | None = None,
) -> EmailRun:
    """The e-mails for ``period``: the summary to ``recipients`` (none when empty), each
    active staff member's digest when ``per_owner``, the waiting department notices, and
    the "how did we handle it?" surveys now due (issue 16). Nothing is sent or written.
    """
    from sheetcrm.delivery import survey
    from sheetcrm.report import render as reports

    # One customer-value estimate for the summary and every digest.
    worth = reports.value_estimate(book, as_of) if recipients or per_owner else None
    messages = []
    if recipients:
        messages = weekly_messages(
            book,
            period,
            as_of,
            recipients,
            sender,
            attach=attach,
            templates_dir=templates_dir,
            worth=worth,
        )
    # A staff address that cannot be used skips that person only, named by cell.
    bad = bad_addresses(path)
    skipped: list[Problem] = []
    if per_owner:
        messages += digest_messages(
            book,
            period,
            as_of,
            sender,
            templates_dir=templates_dir,
            bad=bad,
            skipped=skipped,
            worth=worth,
        )
    notices = notice_messages(book, sender, bad=bad, skipped=skipped)
    surveys, waiting = survey.messages(
        book, as_of, sender, mail.SentLog(mail.sent_log_path(path)), templates_dir=templates_dir
    )
    messages += surveys
    return EmailRun(messages, notices, skipped, waiting)


@dataclass(slots=True)
class NoticesNow:
    """What became of the notices a write has just queued."""

    notice_ids: list[str]
    queued: bool = False  # mail is not set up: they wait for the next ``email`` run
    problem: Problem | None = None  # they could not go now, so they stay queued
    workbook_errors: int = 0  # cells the workbook has wrong (the notices went all the same)
    result: mail.SendResult | None = None


def send_notices_now(
    path: Path, notice_ids: Sequence[str], config: mail.SmtpConfig | None, as_of: datetime
) -> NoticesNow:
    """Send the department notices ``notice_ids`` right after the write that queued them.

    A department hears at once when mail is set up (``config``); otherwise the
    notice waits, queued. The write itself has already succeeded, so nothing here
    undoes it or fails the command: a problem on the way (the workbook, the lock,
    the server) is returned, and the notice stays queued for ``email`` to send.
    """
    ids = list(notice_ids)
    if config is None:
        return NoticesNow(ids, queued=True)
    errors = 0
    try:
        book, report = load(path, as_of=as_of)
        refuse_unusable(path, report)
        errors = len(report.errors)
        notices = notice_messages(book, config.sender, only=ids)
        done = deliver(path, [], notices, config, when=as_of)
    except SheetCRMError as e:
        return NoticesNow(ids, problem=e.problem, workbook_errors=errors)
    return NoticesNow(ids, workbook_errors=errors, result=done.result)


def _adopt_legacy_keys(log: mail.SentLog, notices: Sequence[Notice]) -> None:
    """Carry over what an older sheetcrm recorded under a notice's row id.

    Older versions keyed a notice by its id (``notice:N-0006:addr``). That key
    counts for the notice only when it was sent after the notice was made: a
    row id reused for a later notice is then not taken as sent.
    """
    for notice in notices:
        for key, old in notice.legacy.items():
            stamp = log.get(old)
            if key in log or stamp is None or stamp.startswith(mail.IN_FLIGHT):
                continue
            try:
                sent = datetime.fromisoformat(stamp)
            except ValueError:
                continue
            local = sent.astimezone().replace(tzinfo=None) if sent.tzinfo else sent
            if notice.created is not None and local >= notice.created:
                log.mark(key, sent)


def _mark_notices(path: Path, done: Sequence[Notice], when: datetime) -> None:
    import pandas as pd

    with writer.edit(path) as tx:
        book, _ = load(path, sheets=["Notices"])  # no need to read every interaction again
        tx.backups_to_keep = book.settings.backups_to_keep
        frame = book.frames["Notices"].set_index("notice_id")
        for notice in done:
            if notice.notice_id in frame.index and pd.isna(frame.at[notice.notice_id, "sent"]):
                tx.update(
                    "Notices",
                    int(frame.at[notice.notice_id, "excel_row"]),
                    {"sent": when, "recipients": ", ".join(notice.recipients)},
                )


# ----------------------------------------------------------------------------- notice ids

_ID = re.compile(r"^(.*?)(\d+)$")


def issued_ids_path(workbook: Path) -> Path:
    """Where the highest notice id ever issued is kept: ``.crm.xlsx.sheetcrm-ids.json``."""
    workbook = Path(workbook)
    return workbook.with_name(f".{workbook.name}.sheetcrm-ids.json")


def next_notice_id(workbook: Path, candidate: str) -> str:
    """A notice id never issued before: ``candidate`` (the next after the sheet's), or later.

    An owner may delete sent notices in Excel; the next notice must not take a
    deleted one's id, or the log and the people who got it would mix the two
    up. So the highest id ever issued is kept beside the workbook (and read from
    the keys older versions wrote in the sent log) and the new id is above it
    too. Called under the workbook's write lock, so two writes never race here;
    the mark is written before the workbook, so a failed write leaves a gap in
    the ids, never a reuse.
    """
    path = issued_ids_path(workbook)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        seen = [str(data["Notices"])] if isinstance(data, dict) and "Notices" in data else []
    except FileNotFoundError:
        seen = []
    except (OSError, ValueError) as e:
        raise _ids_problem(path, f"it cannot be read ({e})", "delete it") from e
    try:  # ids older versions used are only in the sent log's keys
        log = list(mail.SentLog(mail.sent_log_path(workbook)))
    except SheetCRMError:  # unreadable: the ids file alone keeps the ids apart
        log = []
    seen += [k.split(":")[1] for k in log if k.startswith("notice:") and k.count(":") == 2]
    new = candidate
    wanted = _ID.match(candidate)
    numbers = [int(m.group(2)) for m in map(_ID.match, seen) if m]
    if wanted and numbers and max(numbers) >= int(wanted.group(2)):
        digits = wanted.group(2)
        new = f"{wanted.group(1)}{max(numbers) + 1:0{len(digits)}d}"
    try:
        write_atomic(path, json.dumps({"Notices": new}).encode("utf-8") + b"\n")
    except OSError as e:
        raise _ids_problem(
            path, f"it cannot be written ({e.strerror or e})", "make the folder writable"
        ) from e
    return new


def _ids_problem(path: Path, why: str, fix: str) -> SheetCRMError:
    return SheetCRMError(
        Problem(
            "write_failed",
            f"the record of notice ids already used ({path.name}) {why}, so nothing was written",
            hint=f"{fix}, then run the command again",
        )
    )


DRY_RUN_SENDER = "sheetcrm@example.invalid"


def smtp_config(url: str | None) -> mail.SmtpConfig:
    """``--smtp-url`` or the SHEETCRM_SMTP_* environment, or a clear refusal."""
    config = mail.SmtpConfig.from_url(url) if url else mail.SmtpConfig.from_env()
    if config is None:
        raise SheetCRMError(
            Problem(
                "smtp_config",
                "no mail server is set up, so nothing was sent",
                hint="set SHEETCRM_SMTP_HOST (and _PORT, _USER, _PASSWORD, _FROM), or give "
                "the SMTP URL (smtp+starttls://user@host:587)",
                remedy="smtp_setup",
            )
        )
    return config
