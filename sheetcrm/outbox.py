"""What ``sheetcrm email`` sends: the weekly summary, staff digests and department notices.

Builds :class:`mail.Outgoing` messages from a Book (pure: no network, no
files), and delivers them with the guarantees the owner relies on: every
message has a stable key, a sent log beside the workbook says what went, so a
re-run sends only what did not, and a notice is marked sent in the workbook's
Notices sheet only after the server accepted it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from sheetcrm import mail, reports, writer
from sheetcrm.book import Book
from sheetcrm.errors import Problem, SheetCRMError
from sheetcrm.validation import load

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ATTACHMENTS = {"docx": ("weekly.docx", DOCX), "html": ("weekly.html.j2", "text/html")}


def _domain(sender: str) -> str:
    return sender.rpartition("@")[2].strip("> ") or "sheetcrm.local"


def weekly_messages(
    book: Book,
    period: reports.Period,
    as_of: datetime,
    recipients: Sequence[str],
    sender: str,
    *,
    attach: Sequence[str] = ("docx",),
    templates_dir: Path | None = None,
) -> list[mail.Outgoing]:
    """The weekly summary in the body (text and HTML, charts inline), the report attached."""
    context = reports.build_context(book, period, as_of)
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
        mail.Outgoing(
            f"weekly:{period.label}:{address.casefold()}",
            mail.build_message(
                subject=subject,
                sender=sender,
                to=[address],
                text=text,
                html=html,
                inline_images=images,
                attachments=files,
                message_id_domain=_domain(sender),
            ),
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
) -> list[mail.Outgoing]:
    """Each active staff member with an email address: their own list for the week."""
    # A name typed twice is one person (validate names the copy): the first row wins, so
    # nobody gets their digest twice or at an address from a stray row.
    staff = book.staff.drop_duplicates("name")
    active = staff[staff["active"].fillna(True).astype(bool) & staff["email"].notna()]
    out = []
    for rec in active.itertuples(index=False):
        digest = reports.build_digest(book, rec.name, as_of)
        html = mail.inline_css(str(reports.render(digest, "digest.html.j2", templates_dir)))
        text = str(reports.render(digest, "digest.txt.j2", templates_dir))
        counts = (len(digest["overdue"]), len(digest["followups"]), len(digest["at_risk"]))
        subject = (
            f"{book.settings.company_name}: your week {period.label} "
            f"({counts[0]} complaints to watch, {counts[1]} follow-ups, "
            f"{counts[2]} customers at risk)"
        )
        out.append(
            mail.Outgoing(
                f"digest:{period.label}:{str(rec.email).casefold()}",
                mail.build_message(
                    subject=subject,
                    sender=sender,
                    to=[rec.email],
                    text=text,
                    html=html,
                    message_id_domain=_domain(sender),
                ),
            )
        )
    return out


@dataclass(slots=True)
class Notice:
    notice_id: str
    excel_row: int
    recipients: list[str]
    outgoing: list[mail.Outgoing] = field(default_factory=list)


def notice_messages(book: Book, sender: str, *, only: Sequence[str] | None = None) -> list[Notice]:
    """Every notice not yet sent (or just those in ``only``), one message per member."""
    frame = book.frames["Notices"]
    pending = frame[frame["sent"].isna()]
    if only is not None:
        pending = pending[pending["notice_id"].isin(list(only))]
    staff = book.staff
    complaints = book.complaints.set_index("complaint_id", drop=False)
    customers = book.customers.set_index("customer_id", drop=False)
    notices = []
    for rec in pending.itertuples(index=False):
        members = staff[
            (staff["department"].fillna("").str.casefold() == str(rec.department).casefold())
            & staff["active"].fillna(True).astype(bool)
            & staff["email"].notna()
        ]
        notice = Notice(rec.notice_id, int(rec.excel_row), members["email"].tolist())
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
        for address in notice.recipients:
            notice.outgoing.append(
                mail.Outgoing(
                    f"notice:{rec.notice_id}:{address.casefold()}",
                    mail.build_message(
                        subject=subject,
                        sender=sender,
                        to=[address],
                        text=text,
                        message_id_domain=_domain(sender),
                    ),
                )
            )
        notices.append(notice)
    return notices


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
) -> Delivery:
    """Send what has not been sent, then mark the delivered notices in the workbook.

    The sent log records each message the moment the server accepts it, so a
    crash or a refused connection half-way never leads to a second copy.
    """
    log = mail.SentLog(mail.sent_log_path(path))
    everything = [*outgoing, *(o for n in notices for o in n.outgoing)]
    try:
        result = mail.send(everything, config, already_sent=log.__contains__, mark_sent=log.mark)
    finally:
        done = [n for n in notices if n.outgoing and all(o.key in log for o in n.outgoing)]
        if done:
            _mark_notices(path, done, when)
    return Delivery(result, [n.notice_id for n in done])


def _mark_notices(path: Path, done: Sequence[Notice], when: datetime) -> None:
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


DRY_RUN_SENDER = "sheetcrm@example.invalid"


def smtp_config(url: str | None) -> mail.SmtpConfig:
    """``--smtp-url`` or the SHEETCRM_SMTP_* environment, or a clear refusal."""
    config = mail.SmtpConfig.from_url(url) if url else mail.SmtpConfig.from_env()
    if config is None:
        raise SheetCRMError(
            Problem(
                "smtp_config",
                "no mail server is set up, so nothing was sent",
                hint="set SHEETCRM_SMTP_HOST (and _PORT, _USER, _PASSWORD, _FROM), give "
                "--smtp-url smtp+starttls://user@host:587, or try --dry-run FOLDER first",
            )
        )
    return config
