"""One customer's data: ``customer export`` (a copy of all of it) and ``erase`` (none left).

The workbook is changed through ``writer.edit`` like every write. The files sheetcrm
keeps beside the workbook are the backups folder, the reports folder, the mail folder
of kept e-mails and the sent log; each is searched for the person's name, e-mail and
phone, inside zips (xlsx, docx) and decoded e-mails as well as plain text.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import html
import io
import json
import os
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from sheetcrm.actions.records import _settings_backups, find_one_customer, load
from sheetcrm.errors import Problem, SheetCRMError, cell_ref, column_letter
from sheetcrm.files import write_atomic
from sheetcrm.rules.personal import ERASED, Erasure, held, plan_erasure, traces
from sheetcrm.workbook import writer
from sheetcrm.workbook.reader import open_package, sheet_rows
from sheetcrm.xlsx import encryption

# What sheetcrm cannot reach, in words the owner can pass on to the customer.
OUT_OF_REACH = (
    "copies Excel itself keeps (AutoRecover and temporary files on the computers that "
    "opened the workbook)",
    "version history kept by OneDrive, Dropbox, Google Drive or another cloud folder",
    "e-mails already delivered (reports and notices in people's inboxes)",
    "printouts, and copies of the workbook or reports saved elsewhere by hand",
)

_TEXT_SUFFIXES = {".html", ".htm", ".md", ".txt", ".json", ".csv", ".eml", ".xml"}
_ZIP_SUFFIXES = {".xlsx", ".xlsm", ".docx", ".zip"}


# ------------------------------------------------------------------ finding traces


def _norm(text: str) -> str:
    return html.unescape(text).casefold()


def _text_of(path: Path, data: bytes, workbook: Path | None = None) -> str:
    """Everything readable in a file, decoded: zip members, e-mail parts, JSON escapes."""
    suffix = path.suffix.lower()
    if encryption.is_encrypted(data):  # a backup of a password-protected workbook
        try:
            data = encryption.decrypt(data, path, encryption.password_for(workbook or path))
        except SheetCRMError:
            return ""
    if suffix in _ZIP_SUFFIXES or data[:4] == b"PK\x03\x04":
        parts = []
        with contextlib.suppress(zipfile.BadZipFile, OSError, ValueError):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in zf.infolist():
                    parts.append(zf.read(info).decode("utf-8", "replace"))
            return "\n".join(parts)
    if suffix == ".eml":
        msg = email.message_from_bytes(data, policy=email.policy.default)
        parts = [f"{k}: {v}" for k, v in msg.items()]
        for part in msg.walk():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                parts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
        return "\n".join(parts)
    text = data.decode("utf-8", "replace")
    if suffix == ".json":
        with contextlib.suppress(ValueError):
            text += "\n" + json.dumps(json.loads(text), ensure_ascii=False)
    return text


def mentions(path: Path, terms: list[str], workbook: Path | None = None) -> bool:
    try:
        data = path.read_bytes()
    except OSError:
        return False
    text = _norm(_text_of(path, data, workbook))
    digits_only = re.sub(r"\D", "", text)
    for term in terms:
        if term.isdigit():
            if term in digits_only and term in re.sub(r"[\s().-]", "", text):
                return True
        elif _norm(term) in text:
            return True
    return False


def kept_files(workbook: Path) -> dict[str, list[Path]]:
    """The files sheetcrm keeps beside ``workbook``, by where they are."""
    folder = workbook.parent
    out: dict[str, list[Path]] = {}
    backups = writer._backups(workbook)
    out["backups"] = backups
    for name in ("reports", "mail"):
        place = folder / name
        out[name] = sorted(p for p in place.rglob("*") if p.is_file()) if place.is_dir() else []
    return out


def cells_mentioning(workbook: Path, terms: list[str], skip: set[tuple[str, int]]) -> list[str]:
    """Cells anywhere in the workbook (the owner's own sheets too) that hold the person's
    name, e-mail or phone, other than the rows erasure changes: for the owner to look at."""
    found: list[str] = []
    wanted = [_norm(t) for t in terms if not t.isdigit()]
    if not wanted:
        return found
    pattern = "|".join(re.escape(w) for w in wanted)
    pkg, book = open_package(workbook)  # decrypted in memory when it has a password
    for name in book.sheet_names:
        rows = sheet_rows(pkg, book, name)
        if not rows:
            continue
        # One vectorised search over the sheet's text cells, not a loop over every cell.
        cells = pd.DataFrame(rows).stack()
        hits = cells[cells.str.casefold().str.contains(pattern, regex=True, na=False)]
        for (r, c), _ in hits.items():
            if (name, int(r) + 1) not in skip:
                found.append(cell_ref(name, f"{column_letter(int(c))}{int(r) + 1}"))
    return found


# -------------------------------------------------------------------------- export


@dataclass(slots=True)
class Export:
    customer_id: str
    name: str
    files: list[Path] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    emails: list[Path] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def export_customer(path: Path, who: str, out_dir: Path) -> Export:
    """Write ``customer-ID.json`` and ``customer-ID.html`` (and copies of their e-mails)."""
    book, _ = load(path)
    customer = find_one_customer(book, who)
    cid = str(customer["customer_id"])
    rows = held(book, cid)
    for records in rows.values():
        for rec in records:
            rec.pop("excel_row", None)
    terms = traces(customer)
    result = Export(cid, str(customer.get("name") or ""))
    result.rows = {sheet: len(records) for sheet, records in rows.items()}
    result.emails = [p for p in kept_files(path)["mail"] if mentions(p, terms)]
    mine = {(book.sheet_names.get("Customers", "Customers"), int(customer["excel_row"]))}
    result.elsewhere = cells_mentioning(path, terms, mine)
    json_path = out_dir / f"customer-{cid}.json"
    html_path = out_dir / f"customer-{cid}.html"
    for target in (json_path, html_path):
        if target.exists():
            raise SheetCRMError(
                Problem(
                    "file_exists",
                    f"{target} already exists; nothing was written",
                    hint="choose another folder, or move the old export away",
                    remedy="other_folder",
                )
            )
    data = {
        "customer_id": cid,
        "workbook": path.name,
        "sheets": {
            s: [{k: _plain(v) for k, v in r.items()} for r in recs] for s, recs in rows.items()
        },
        "other_cells_mentioning_them": result.elsewhere,
        "emails": [p.name for p in result.emails],
    }
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(json_path, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode())
        write_atomic(html_path, _html(cid, data).encode("utf-8"))
        result.files = [json_path, html_path]
        if result.emails:
            (out_dir / "mail").mkdir(exist_ok=True)
            for p in result.emails:
                shutil.copyfile(p, out_dir / "mail" / p.name)
                result.files.append(out_dir / "mail" / p.name)
    except OSError as e:
        raise SheetCRMError(
            Problem(
                "write_failed",
                f"the export could not be written to {out_dir}: {e.strerror or e}",
                hint="choose a folder you can write to",
                remedy="export_folder",
            )
        ) from e
    return result


def _html(cid: str, data: dict[str, Any]) -> str:
    """A readable page; every value escaped, so nothing typed can become markup."""
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>Everything we hold on {e(cid)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
        "</style></head><body>",
        f"<h1>Everything we hold on {e(cid)}</h1>",
        f"<p>From the workbook {e(data['workbook'])}.</p>",
    ]
    for sheet, records in data["sheets"].items():
        out.append(f"<h2>{e(sheet)} ({len(records)})</h2>")
        if not records:
            out.append("<p>None.</p>")
            continue
        columns = [k for k in records[0] if any(r.get(k) not in (None, "") for r in records)]
        out.append("<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in columns) + "</tr>")
        for r in records:
            cells = "".join(
                f"<td>{e('' if r.get(c) is None else str(r.get(c)))}</td>" for c in columns
            )
            out.append(f"<tr>{cells}</tr>")
        out.append("</table>")
    if data["emails"]:
        out.append("<h2>E-mails kept</h2><ul>")
        out += [f"<li>{e(name)} (copy in the mail folder)</li>" for name in data["emails"]]
        out.append("</ul>")
    if data["other_cells_mentioning_them"]:
        out.append("<h2>Other cells that mention them</h2><ul>")
        out += [f"<li>{e(c)}</li>" for c in data["other_cells_mentioning_them"]]
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- erase


@dataclass(slots=True)
class Erased:
    customer_id: str
    name: str
    cells: dict[str, list[int]] = field(default_factory=dict)  # sheet -> Excel rows changed
    deleted: list[Path] = field(default_factory=list)
    backup: Path | None = None  # the fresh backup of the erased workbook
    sent_log_keys: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)
    written: bool = False


def _scrub_shared_strings(tx: writer.Transaction, terms: list[str], old: set[str]) -> None:
    """Empty the shared strings that still hold the person but no cell uses any more.

    Excel keeps every text once in a shared table; a cell rewritten by erasure no
    longer points at the old text, yet the text would stay in the file. A string some
    other cell still uses is left alone: that cell is not this erasure's to change.
    """
    wanted = [_norm(t) for t in terms if not t.isdigit()]
    erased = {_norm(t) for t in old}

    def holds_the_person(text: str) -> bool:
        text = _norm(text)
        return text in erased or any(w in text for w in wanted)

    tx.blank_unused_strings(holds_the_person)


def _not_yet_erased(customer: dict[str, Any]) -> dict[str, Any]:
    if customer.get("name") == ERASED:
        raise SheetCRMError(
            Problem(
                "already_done",
                f"{customer['customer_id']} was erased already; nothing was changed",
                hint="nothing more to do for this customer",
            )
        )
    return customer


def _owner_columns(tx: writer.Transaction, sheet: str) -> list[str]:
    """Headers of the owner's own columns (not the contract's, under any synonym)."""
    from sheetcrm.contract import SHEET_BY_NAME, match_headers

    _, header = tx.headers(sheet)
    matched = set(match_headers(SHEET_BY_NAME[sheet], list(header.items())).values())
    return [str(h) for i, h in header.items() if h and i not in matched]


def erase_customer(path: Path, who: str, *, dry_run: bool = False) -> Erased:
    """Anonymise the customer in the workbook and remove them from every file kept beside it.

    The rule for backups: every backup that contains the person is deleted (rewriting
    old workbooks one by one would be slow and could break them), and a fresh backup
    of the erased workbook is kept instead. Reports and kept e-mails that mention
    them are deleted; run `sheetcrm report` again to write a report without them.
    """
    sheets = ["Customers", "Interactions", "Complaints", "Sales", "Notices"]
    if dry_run:
        book, _ = load(path, sheets=sheets)
        customer = _not_yet_erased(find_one_customer(book, who))
        return _survey(path, customer, plan_erasure(book, customer), book.sheet_names)
    with writer.edit(path) as tx:
        book, _ = load(path, sheets=sheets)
        _settings_backups(tx, book)
        keep = tx.backups_to_keep
        tx.backups_to_keep = 0  # the old workbook holds the person: it is not kept
        customer = _not_yet_erased(find_one_customer(book, who))
        plan = plan_erasure(book, customer)
        result = _survey(path, customer, plan, book.sheet_names)
        own = _owner_columns(tx, "Customers")
        if own:  # the owner's own columns on their row (an address, a birthday): emptied
            row = next(iter(plan.cells["Customers"]))
            plan.cells["Customers"][row].update(dict.fromkeys(own))
        for sheet, changes in plan.cells.items():
            tx.update_rows(sheet, changes)
        _scrub_shared_strings(tx, traces(customer), plan.old_texts)
    result.written = True
    for p in result.deleted:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    if keep > 0:
        st = os.stat(path)
        result.backup = writer._backup(path, path.read_bytes(), st)
    if result.sent_log_keys:
        from sheetcrm.delivery import mail

        sent = mail.SentLog(mail.sent_log_path(path))
        for key in result.sent_log_keys:
            sent.forget(key)
    return result


def _survey(path: Path, customer: dict[str, Any], plan: Erasure, names: dict[str, str]) -> Erased:
    terms = traces(customer)
    result = Erased(plan.customer_id, str(customer.get("name") or ""))
    result.cells = {sheet: sorted(rows) for sheet, rows in plan.cells.items()}
    files = kept_files(path)
    result.deleted = [
        p for group in files.values() for p in group if mentions(p, terms, workbook=path)
    ]
    from sheetcrm.delivery import mail

    try:
        log = mail.SentLog(mail.sent_log_path(path))
        wanted = [_norm(t) for t in terms]
        result.sent_log_keys = [k for k in log if any(w in _norm(str(k)) for w in wanted)]
    except SheetCRMError:
        result.sent_log_keys = []
    skip = {(names.get(s, s), r) for s, rows in plan.cells.items() for r in rows}
    result.elsewhere = cells_mentioning(path, terms, skip)
    return result
