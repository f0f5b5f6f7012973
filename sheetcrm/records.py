"""Adding and updating records in the owner's workbook: the library behind the write commands.

Every write runs the same way: lock the workbook (``writer.edit``), read it
while locked so new ids are race-free, judge the new rows exactly as
``validate`` judges rows already there (``validation.check_new_rows``), then
hand plain values to the part-level writer, which changes only those cells.
Nothing here touches a file directly, and a refused write writes nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from sheetcrm import history, writer
from sheetcrm.book import Book, as_record
from sheetcrm.contract import (
    NAME_PARTS,
    OPEN_STATUSES,
    SHEET_BY_NAME,
    SHEETS,
    Sheet,
    find_sheet,
    match_headers,
    normalize_header,
)
from sheetcrm.errors import Problem, SheetCRMError
from sheetcrm.validation import check_new_rows, load

_ID = re.compile(r"^(.*?)(\d+)$")


@dataclass(slots=True)
class Written:
    """What a write did, for the CLI to report."""

    ids: list[str] = field(default_factory=list)
    rows: dict[str, list[int]] = field(default_factory=dict)  # sheet -> Excel rows touched
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    backup: Path | None = None
    record: dict[str, Any] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)  # notice ids queued by this write


@dataclass(slots=True)
class Imported(Written):
    """What an import did (or, with --dry-run, would do)."""

    sheet: str = ""
    encoding: str = ""
    separator: str = ""
    skipped: list[int] = field(default_factory=list)  # CSV lines already in the workbook
    repeated: list[int] = field(default_factory=list)  # CSV lines repeating an earlier line
    updated: list[str] = field(default_factory=list)  # ids of records updated (--update)
    preview: list[dict[str, Any]] = field(default_factory=list)  # the first rows to be added
    written: bool = False


def next_ids(existing: Iterable[Any], prefix: str | None, count: int = 1) -> list[str]:
    """New ids in the sheet's own pattern: after I-00755 comes I-00756.

    >>> next_ids(["C-0009", "C-0010", "old-7"], "C-", 2)
    ['C-0011', 'C-0012']
    """
    parsed = [m for m in (_ID.match(str(v).strip()) for v in existing if v) if m]
    if not parsed:
        return [f"{prefix or ''}{n:04d}" for n in range(1, count + 1)]
    common = Counter(m.group(1) for m in parsed).most_common(1)[0][0]
    mine = [m for m in parsed if m.group(1) == common]
    width = max(len(m.group(2)) for m in mine)
    top = max(int(m.group(2)) for m in mine)
    return [f"{common}{n:0{width}d}" for n in range(top + 1, top + 1 + count)]


def fresh_ids(tx: writer.Transaction, book: Book, sheet: str, count: int = 1) -> list[str]:
    """New ids for ``sheet``, unique in the workbook as it is on disk now (under the lock).

    When the sheet was not read (one new interaction needs no 100,000 old ones),
    the ids at its two ends are enough; should a new id turn out to be taken
    after all (a sheet sorted by something else), every id is read once.
    """
    spec = SHEET_BY_NAME[sheet]
    if sheet in book.loaded:
        return next_ids(book.frames[sheet][spec.key].dropna(), spec.id_prefix, count)
    if sheet not in book.sheet_names:
        return next_ids((), spec.id_prefix, count)
    ids = next_ids(tx.package.edge_values(sheet, spec.key), spec.id_prefix, count)
    if count <= 5 and not any(tx.package.holds_text(sheet, i) for i in ids):
        return ids
    from sheetcrm.reader import read_book

    every = read_book(tx.path, [spec]).sheets[sheet].columns.get(spec.key, ())
    return next_ids(every, spec.id_prefix, count)


def _sheets_for(sheet: str) -> list[str]:
    """The sheets a new row of ``sheet`` is checked against: itself and what it refers to."""
    spec = SHEET_BY_NAME[sheet]
    return [sheet, *(c.references[0] for c in spec.columns if c.references)]


def find_one_customer(book: Book, text: str) -> dict[str, Any]:
    """The one customer a person meant, or a refusal that suggests who they might have meant."""
    found = history.find_customers(book, text)
    if found.one is not None:
        return found.one
    if found.matches:
        names = "; ".join(history.describe(r) for r in found.matches[:5])
        raise SheetCRMError(
            Problem(
                "ambiguous_customer",
                f"{len(found.matches)} customers match {text!r}: {names}",
                hint="give the customer id instead",
            )
        )
    hint = "check the Customers sheet, or add them with: sheetcrm customer add"
    if found.suggestions:
        hint = "did you mean " + " or ".join(history.describe(r) for r in found.suggestions) + "?"
    raise SheetCRMError(Problem("unknown_customer", f"no customer {text}", hint=hint))


def _refuse(
    problems: Sequence[tuple[int, Problem]],
    what: str,
    label: Callable[[int, Problem], str] | None = None,
) -> None:
    errors = [(i, p) for i, p in problems if p.severity == "error"]
    if not errors:
        return
    shown = []
    for i, p in errors:
        where = label(i, p) if label else (p.column or "")
        text = f"{where}: {p.message}" if where else p.message
        shown.append(Problem(p.code, text, hint=p.hint))
    n = len(shown)
    head = Problem(
        shown[0].code,
        f"{what} refused, nothing was written: {shown[0].message}",
        hint=shown[0].hint,
    )
    if n > 1:
        head = Problem(shown[0].code, f"{what} refused, nothing was written ({n} problems):")
    raise SheetCRMError(head, problems=[head, *shown] if n > 1 else [head])


def _for_sheet(record: Mapping[str, Any], spec: Sheet) -> dict[str, Any]:
    """Typed values as the workbook shows them: yes/no as text, nothing for empty cells."""
    out: dict[str, Any] = {}
    for column in spec.columns:
        value = record.get(column.name)
        if value is None or value == "":
            continue
        if column.kind == "yesno":
            value = "yes" if value else "no"
        elif isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
        elif column.kind == "whole":
            value = int(value)
        out[column.name] = value
    return out


def _write(tx: writer.Transaction, sheet: str, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    spec = SHEET_BY_NAME[sheet]
    values = [_for_sheet(r, spec) for r in rows]
    used = [c.name for c in spec.columns if any(c.name in v for v in values)]
    tx.ensure_columns(sheet, used)
    return tx.append(sheet, values)


def _staff_warning(book: Book, staff: str | None) -> list[str]:
    if not staff:
        return []
    frame = book.staff
    row = frame[frame["name"] == staff]
    if len(row) and row["active"].iloc[0] is False:
        return [f"{staff} is marked inactive on the Staff sheet."]
    return []


def contact_warnings(
    book: Book,
    customer: Mapping[str, Any],
    *,
    channel: str | None,
    direction: str | None,
    when: datetime,
) -> list[str]:
    """Warnings, not refusals: cool-down, do-not-contact, a channel they did not choose."""
    if direction != "outbound":
        return []
    warnings = []
    who = f"{customer['customer_id']} {customer.get('name') or ''}".strip()
    if customer.get("do_not_contact"):
        warnings.append(f"{who} is marked do not contact.")
    inter = book.interactions
    mine = inter[
        (inter["customer_id"] == customer["customer_id"])
        & (inter["direction"] == "outbound")
        & (inter["date"] <= pd.Timestamp(when))
    ]
    days = book.settings.followup_cooldown_days
    if len(mine):
        last = mine["date"].max()
        if pd.Timestamp(when) - last < timedelta(days=days):
            warnings.append(
                f"{who} was last contacted on {last:%Y-%m-%d %H:%M}; the cool-down "
                f"between outbound contacts is {days} days."
            )
    preferred = customer.get("preferred_channel")
    if preferred and channel and channel != preferred:
        warnings.append(f"{who} prefers {preferred}, not {channel}.")
    return warnings


def _settings_backups(tx: writer.Transaction, book: Book) -> None:
    tx.backups_to_keep = book.settings.backups_to_keep


# ------------------------------------------------------------------------------- log


def log_interaction(
    path: Path, fields: Mapping[str, Any], *, when: datetime, staff_default: str | None = None
) -> Written:
    """Append one interaction; ``fields`` hold contract columns plus ``customer`` (id or name)."""
    result = Written()
    # The interactions themselves are read only for an outbound contact's cool-down check.
    sheets = _sheets_for("Interactions")
    if str(fields.get("direction") or "").casefold() != "outbound":
        sheets.remove("Interactions")
    with writer.edit(path) as tx:
        book, _ = load(path, sheets=sheets)
        _settings_backups(tx, book)
        customer = find_one_customer(book, str(fields["customer"]))
        row = {k: v for k, v in fields.items() if k != "customer" and v not in (None, "")}
        row["customer_id"] = customer["customer_id"]
        row.setdefault("date", when)
        row.setdefault("staff", staff_default or customer.get("owner"))
        row["interaction_id"] = fresh_ids(tx, book, "Interactions")[0]
        _, typed, problems = check_new_rows(book, "Interactions", [row])
        _refuse(problems, "The interaction was")
        rec = typed[0]
        result.warnings += contact_warnings(
            book,
            customer,
            channel=rec.get("channel"),
            direction=rec.get("direction"),
            when=rec["date"],
        )
        result.warnings += _staff_warning(book, rec.get("staff"))
        result.rows["Interactions"] = _write(tx, "Interactions", [rec])
        result.ids.append(rec["interaction_id"])
        result.record = {**rec, "customer_name": customer.get("name")}
    result.backup = tx.backup
    return result


# -------------------------------------------------------------------------- customers


def add_customer(
    path: Path, fields: Mapping[str, Any], *, allow_duplicate_email: bool = False, today: date
) -> Written:
    result = Written()
    with writer.edit(path) as tx:
        book, _ = load(path, sheets=_sheets_for("Customers"))
        _settings_backups(tx, book)
        row = {k: v for k, v in fields.items() if v not in (None, "")}
        row.setdefault("since", today)
        row.setdefault("stage", "prospect")
        row["customer_id"] = fresh_ids(tx, book, "Customers")[0]
        email = str(row.get("email") or "").strip().casefold()
        if email and not allow_duplicate_email:
            same = book.customers[book.customers["email"].fillna("").str.casefold() == email]
            if len(same):
                other = history.describe(same.iloc[0].to_dict())
                raise SheetCRMError(
                    Problem(
                        "duplicate_email",
                        f"{row['email']} already belongs to {other}; nothing was written",
                        hint="use that customer, or add --allow-duplicate-email if two people "
                        "really share the address",
                    )
                )
        _, typed, problems = check_new_rows(book, "Customers", [row])
        _refuse(problems, "The customer was")
        result.rows["Customers"] = _write(tx, "Customers", typed)
        result.ids.append(typed[0]["customer_id"])
        result.record = typed[0]
    result.backup = tx.backup
    return result


# -------------------------------------------------------------------------- complaints


def department_members(book: Book, department: str) -> list[dict[str, Any]]:
    staff = book.staff
    mask = staff["department"].fillna("").str.casefold() == department.strip().casefold()
    mask &= staff["active"].fillna(True).astype(bool)
    return [as_record(r) for _, r in staff[mask].iterrows()]


def _check_department(book: Book, department: str | None) -> list[dict[str, Any]]:
    if not department:
        return []
    members = department_members(book, department)
    if not members:
        known = sorted(set(book.staff["department"].dropna()))
        raise SheetCRMError(
            Problem(
                "unknown_department",
                f"no active staff member is in the department {department!r}",
                hint=f"departments on the Staff sheet: {', '.join(known) or 'none yet'}",
            )
        )
    return members


def open_complaint(
    path: Path,
    fields: Mapping[str, Any],
    *,
    when: datetime,
    staff_default: str | None = None,
    resolution: str | None = None,
) -> Written:
    """Record a complaint and, in the same write, the interaction in which it was received.

    With ``resolution`` it is resolved in that same contact: first-contact
    resolution, recorded as resolved at the moment it was opened.
    """
    result = Written()
    with writer.edit(path) as tx:
        book, _ = load(path, sheets=_sheets_for("Complaints"))
        _settings_backups(tx, book)
        customer = find_one_customer(book, str(fields["customer"]))
        opened = fields.get("opened") or when
        department = fields.get("notify_department")
        members = _check_department(book, department)
        if members:
            department = members[0]["department"]  # as the Staff sheet spells it
        complaint = {
            k: v
            for k, v in fields.items()
            if k not in ("customer", "staff") and v not in (None, "")
        }
        if department:
            complaint["notify_department"] = department
        complaint.update(customer_id=customer["customer_id"], opened=opened, status="open")
        complaint.setdefault("owner", customer.get("owner"))
        complaint["complaint_id"] = fresh_ids(tx, book, "Complaints")[0]
        if resolution:
            complaint.update(
                status="resolved", first_response=opened, resolved=opened, resolution=resolution
            )
        grown, typed, problems = check_new_rows(book, "Complaints", [complaint])
        _refuse(problems, "The complaint was")
        k = typed[0]
        interaction = {
            "interaction_id": fresh_ids(tx, book, "Interactions")[0],
            "date": opened,
            "customer_id": k["customer_id"],
            "staff": fields.get("staff") or staff_default or k["owner"],
            "channel": k.get("channel") or customer.get("preferred_channel") or "phone",
            "direction": "inbound",
            "type": "complaint",
            "summary": k["summary"],
            "outcome": "resolved" if resolution else "escalated",
            "complaint_id": k["complaint_id"],
        }
        _, ityped, problems = check_new_rows(grown, "Interactions", [interaction])
        _refuse(problems, "The complaint's interaction was")
        result.rows["Complaints"] = _write(tx, "Complaints", typed)
        result.rows["Interactions"] = _write(tx, "Interactions", ityped)
        result.ids += [k["complaint_id"], ityped[0]["interaction_id"]]
        result.record = {**k, "customer_name": customer.get("name")}
        _queue_notice(tx, book, department, members, k["complaint_id"], "opened", opened, result)
        result.record["due"] = _due_times(book, k)
    result.backup = tx.backup
    return result


def _due_times(book: Book, complaint: Mapping[str, Any]) -> dict[str, datetime]:
    target = book.sla[complaint["severity"]]
    cal = book.settings.calendar(book.holidays)
    opened = pd.Timestamp(complaint["opened"]).to_pydatetime()
    return {
        "first_response": cal.due_at(
            opened, target.first_response_hours, target.business_hours_only
        ),
        "resolution": cal.due_at(opened, target.resolution_hours, target.business_hours_only),
    }


def _queue_notice(
    tx: writer.Transaction,
    book: Book,
    department: str | None,
    members: Sequence[Mapping[str, Any]],
    complaint_id: str,
    event: str,
    when: datetime,
    result: Written,
) -> None:
    """Record a notice for a department in the Notices sheet, in the same write.

    It stays there unsent until ``sheetcrm email`` (or the command itself, when
    SMTP is set up) delivers it, so a notice is never lost.
    """
    if not department:
        return
    notice: dict[str, Any] = {
        "notice_id": fresh_ids(tx, book, "Notices")[0],
        "created": when,
        "complaint_id": complaint_id,
        "event": event,
        "department": department,
    }
    spec = SHEET_BY_NAME["Notices"]
    if "Notices" in book.sheet_names:
        _write(tx, "Notices", [notice])
    else:
        tx.add_sheet(
            "Notices",
            [c.name for c in spec.columns],
            [[notice.get(c.name) for c in spec.columns]],
            [c.width for c in spec.columns],
        )
    result.notices.append(notice["notice_id"])
    names = ", ".join(
        f"{m['name']} <{m['email']}>" if m.get("email") else str(m["name"]) for m in members
    )
    result.notes.append(
        f"{department} is to be told that {complaint_id} was {event}: {names} "
        f"(notice {notice['notice_id']})"
    )


def _find_complaint(book: Book, complaint_id: str) -> pd.Series:
    frame = book.complaints
    hit = frame[frame["complaint_id"].fillna("").str.casefold() == complaint_id.casefold()]
    if not len(hit):
        from sheetcrm.matching import closest_ids

        close = closest_ids(complaint_id, frame["complaint_id"].dropna().tolist())
        raise SheetCRMError(
            Problem(
                "unknown_complaint",
                f"no complaint {complaint_id}",
                hint=f"did you mean {' or '.join(close)}?"
                if close
                else "check the Complaints sheet",
            )
        )
    return hit.iloc[0]


def update_complaint(
    path: Path,
    complaint_id: str,
    *,
    when: datetime,
    respond: bool = False,
    resolution: str | None = None,
    notify: str | None = None,
) -> Written:
    """Record a first response (``respond``) or a resolution in the complaint's own row."""
    result = Written()
    with writer.edit(path) as tx:
        book, _ = load(path, sheets=["Complaints"])
        _settings_backups(tx, book)
        row = _find_complaint(book, complaint_id)
        kid = row["complaint_id"]
        opened = row["opened"]
        if not pd.isna(opened) and pd.Timestamp(when) < opened:
            raise SheetCRMError(
                Problem(
                    "date_order",
                    f"{kid} was opened {opened:%Y-%m-%d %H:%M}, after "
                    f"{when:%Y-%m-%d %H:%M}; nothing was written",
                    hint="check --at",
                )
            )
        changes: dict[str, Any] = {}
        if respond:
            if not pd.isna(row["first_response"]):
                raise SheetCRMError(
                    Problem(
                        "already_done",
                        f"{kid} already has a first response "
                        f"({row['first_response']:%Y-%m-%d %H:%M}); nothing was written",
                    )
                )
            changes["first_response"] = when
            if row["status"] == "open":
                changes["status"] = "in_progress"
        if resolution is not None:
            if row["status"] not in OPEN_STATUSES:
                raise SheetCRMError(
                    Problem(
                        "already_done",
                        f"{kid} is already {row['status']}; nothing was written",
                        hint="set its status back to open in the workbook to reopen it",
                    )
                )
            changes.update(resolved=when, resolution=resolution, status="resolved")
            if pd.isna(row["first_response"]):
                changes["first_response"] = when  # the resolution was the first response
        members = _check_department(book, notify)
        if notify:
            notify = changes["notify_department"] = members[0]["department"]
        tx.ensure_columns("Complaints", list(changes))  # an owner may have left one out
        tx.update("Complaints", int(row["excel_row"]), changes)
        result.rows["Complaints"] = [int(row["excel_row"])]
        result.ids.append(kid)
        result.record = {**as_record(row), **changes}
        fcr = resolution is not None and not pd.isna(opened) and when == opened
        event = "resolved" if resolution is not None else "answered"
        _queue_notice(tx, book, notify, members, kid, event, when, result)
        if fcr:
            result.notes.append(
                f"{kid} was resolved in the contact that opened it (first-contact resolution)."
            )
    result.backup = tx.backup
    return result


# ----------------------------------------------------------------------------- import


@dataclass(slots=True)
class CsvRows:
    """A CSV file's rows keyed by contract column, and how the file was read."""

    rows: list[dict[str, Any]]
    lines: list[int]  # the file line each row starts on (the header is line 1)
    ignored: list[str]  # headers that are no column of the sheet
    encoding: str  # as the owner knows it: "UTF-8", "UTF-8 with BOM", "Windows-1252"
    separator: str  # ",", ";" or "tab"
    columns: list[str] = field(default_factory=list)  # contract columns the file fills


def _decode(csv_path: Path) -> tuple[str, str]:
    """The text of a CSV and the encoding that read it.

    Excel saves "CSV UTF-8" with a byte-order mark, plain "CSV" in the Windows
    code page (Windows-1252 in Norway and most of Europe) and "Unicode text" as
    UTF-16. UTF-8 is tried before Windows-1252: text that decodes as UTF-8 is
    practically never meant as Windows-1252, while the reverse often is.
    """
    try:
        data = csv_path.read_bytes()
    except FileNotFoundError as e:
        raise SheetCRMError(Problem("missing_file", f"{csv_path} does not exist")) from e
    except IsADirectoryError as e:
        raise SheetCRMError(Problem("missing_file", f"{csv_path} is a folder, not a file")) from e
    except OSError as e:
        raise SheetCRMError(Problem("bad_csv", f"cannot read {csv_path.name}: {e.strerror}")) from e
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise SheetCRMError(
            Problem(
                "bad_csv",
                f"{csv_path.name} is an Excel workbook, not a CSV file",
                hint="open it in Excel and use File > Save As > CSV UTF-8, then import that file",
            )
        )
    if data.startswith(b"\xef\xbb\xbf"):
        return _decoded(csv_path, data[3:], "utf-8", "UTF-8 with BOM"), "UTF-8 with BOM"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _decoded(csv_path, data, "utf-16", "UTF-16"), "UTF-16"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    return _decoded(csv_path, data, "cp1252", "Windows-1252"), "Windows-1252"


def _decoded(csv_path: Path, data: bytes, codec: str, label: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as e:
        raise SheetCRMError(
            Problem(
                "not_utf8",
                f"{csv_path.name} is neither UTF-8 nor Windows-1252 text (byte {e.start} "
                f"cannot be read as {label})",
                hint="in Excel use File > Save As > CSV UTF-8",
            )
        ) from e


def _separator(header_line: str) -> str:
    """The separator of a CSV: the one of , ; and tab its header line uses most (ties: comma)."""
    counts = {sep: _outside_quotes(header_line).count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: (counts[sep], sep == ","))
    return best if counts[best] else ","


def _outside_quotes(line: str) -> str:
    return re.sub(r'"[^"]*"', "", line)


def read_csv_rows(csv_path: Path, sheet: str) -> CsvRows:
    """The CSV's rows keyed by contract column (names and synonyms matched loosely)."""
    spec = SHEET_BY_NAME[sheet]
    text, encoding = _decode(csv_path)
    first_line = next((ln for ln in text.splitlines() if ln.strip()), "")
    sep = _separator(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        header = next(reader, None)
        while header is not None and not any(h.strip() for h in header):
            header = next(reader, None)
        if not header:
            raise SheetCRMError(Problem("empty_csv", f"{csv_path.name} is empty"))
        positions = match_headers(spec, list(enumerate(h.strip() for h in header)))
        by_position = {j: c for c, j in positions.items()}
        parts = _name_parts(spec, header, positions)
        rows: list[dict[str, Any]] = []
        lines: list[int] = []
        line = reader.line_num
        for values in reader:
            start, line = line + 1, reader.line_num
            row = {
                by_position[j]: v.strip() if by_position[j] not in _VERBATIM[sheet] else v
                for j, v in enumerate(values)
                if j in by_position and v.strip()
            }
            if parts:
                joined = " ".join(values[j].strip() for j in parts if j < len(values)).strip()
                if joined:
                    row["name"] = joined
            if row:
                rows.append(row)
                lines.append(start)
    except csv.Error as e:
        raise SheetCRMError(
            Problem(
                "bad_csv", f"{csv_path.name} is not a readable CSV (line {reader.line_num}): {e}"
            )
        ) from e
    used = set(by_position) | set(parts)
    ignored = [h for j, h in enumerate(header) if j not in used and h.strip()]
    columns = [c.name for c in spec.columns if c.name in positions or (parts and c.name == "name")]
    label = "tab" if sep == "\t" else sep
    return CsvRows(rows, lines, ignored, encoding, label, columns)


_VERBATIM = {s.name: {c.name for c in s.columns if c.verbatim} for s in SHEETS}


def _name_parts(spec: Sheet, header: Sequence[str], positions: Mapping[str, int]) -> list[int]:
    """First and last name columns that make up ``name`` when the file has no name column."""
    if "name" not in spec.column_by_name or "name" in positions:
        return []
    found = []
    for words in NAME_PARTS:
        loose = {normalize_header(w) for w in words}
        j = next((j for j, h in enumerate(header) if normalize_header(h) in loose), None)
        if j is not None:
            found.append(j)
    return found if len(found) == len(NAME_PARTS) else []


@dataclass(slots=True)
class _Matches:
    """Which CSV rows are records the workbook already has (by id, or a customer's email)."""

    existing: dict[int, int] = field(default_factory=dict)  # CSV row index -> frame index
    repeated: list[int] = field(default_factory=list)  # CSV rows repeating an earlier CSV row


def _match_existing(
    frame: pd.DataFrame, spec: Sheet, rows: Sequence[Mapping[str, Any]]
) -> _Matches:
    found = _Matches()
    keys: dict[str, int] = {}
    emails: dict[str, int] = {}
    if spec.unique_key and spec.key in frame:
        for idx, value in frame[spec.key].dropna().items():
            keys.setdefault(str(value).strip().casefold(), int(idx))
    by_email = spec.name == "Customers"
    if by_email:
        for idx, value in frame["email"].dropna().items():
            emails.setdefault(str(value).strip().casefold(), int(idx))
    seen: set[str] = set()
    for i, row in enumerate(rows):
        key = str(row.get(spec.key) or "").strip().casefold()
        email = str(row.get("email") or "").strip().casefold() if by_email else ""
        hit = keys.get(key) if key and spec.unique_key else None
        if hit is None and email:
            hit = emails.get(email)
        if hit is not None:
            found.existing[i] = hit
            continue
        marks = {
            m
            for m in (f"k:{key}" if key and spec.unique_key else "", f"e:{email}" if email else "")
            if m
        }
        if marks & seen:
            found.repeated.append(i)
        seen |= marks
    return found


def import_rows(
    path: Path,
    sheet_name: str,
    csv_path: Path,
    *,
    dry_run: bool = False,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
    as_of: datetime | None = None,
    update: bool = False,
    allow_duplicates: bool = False,
    defaults: Mapping[str, str] | None = None,
    preview: int = 5,
) -> Imported:
    """Append the CSV's new rows, or none: every row is judged before anything is written.

    Rows that are already in the sheet (same id, or a customer with the same
    email) are skipped and counted, updated in place with ``update``, or added
    anyway with ``allow_duplicates`` (a new id; an id itself is never doubled).
    """
    spec = find_sheet(sheet_name)
    if spec is None:
        raise SheetCRMError(
            Problem(
                "unknown_sheet",
                f"there is no contract sheet called {sheet_name!r}",
                hint=f"choose one of: {', '.join(s.name for s in SHEETS)}",
            )
        )
    data = read_csv_rows(csv_path, spec.name)
    result = Imported(sheet=spec.name, encoding=data.encoding, separator=data.separator)
    if data.ignored:
        result.warnings.append(
            f"columns not in the {spec.name} sheet were ignored: {', '.join(data.ignored)}"
        )
    rows = data.rows
    for column, value in (defaults or {}).items():
        if column not in spec.column_by_name:
            raise SheetCRMError(
                Problem(
                    "bad_default",
                    f"--default {column}= is not a column of the {spec.name} sheet",
                    hint=f"its columns: {', '.join(spec.column_by_name)}",
                )
            )
        for row in rows:  # the value is judged with the row, like any value in the file
            row.setdefault(column, value)
    if not rows:
        result.notes.append(f"{csv_path.name} holds no rows; nothing to import")
        return result
    with writer.edit(path) as tx:
        book, _ = load(path, sheets=_sheets_for(spec.name))
        _settings_backups(tx, book)
        frame = book.frames[spec.name]
        matches = _match_existing(frame, spec, rows)
        if allow_duplicates:  # forced: validation still refuses an id used twice, by line
            for i, idx in matches.existing.items():
                if rows[i].get("email") and not rows[i].get(spec.key):
                    result.warnings.append(
                        f"line {data.lines[i]}: {rows[i]['email']} is also the email of "
                        f"{frame.at[idx, spec.key]}; added anyway (--allow-duplicates)"
                    )
            matches = _Matches()
        skipped = set(matches.existing) | set(matches.repeated)
        updates = dict(matches.existing) if update else {}
        new_rows = [r for i, r in enumerate(rows) if i not in skipped]
        new_lines = [ln for i, ln in enumerate(data.lines) if i not in skipped]
        missing = [r for r in new_rows if not r.get(spec.key)]
        if missing and spec.id_prefix:
            existing = frame[spec.key].dropna().tolist()
            existing += [r[spec.key] for r in new_rows if r.get(spec.key)]
            for r, new in zip(
                missing, next_ids(existing, spec.id_prefix, len(missing)), strict=True
            ):
                r[spec.key] = new
        problems: list[tuple[int, Problem]] = []
        typed: list[dict[str, Any]] = []
        if new_rows:
            _, typed, found = check_new_rows(book, spec.name, new_rows, as_of=as_of)
            problems += [(new_lines[i], p) for i, p in found]
        merged: list[tuple[str, int, dict[str, Any]]] = []
        if updates:
            merged = _updated_records(book, spec, rows, data, updates, as_of, problems)
        problems.sort(key=lambda item: (item[0], _column_order(spec, item[1].column)))
        _refuse(
            problems,
            f"The import of {csv_path.name}",
            label=lambda line, p: f"line {line}, {p.column}",
        )
        result.warnings += [
            f"line {line}, {p.column}: {p.message}"
            for line, p in problems
            if p.severity == "warning"
        ]
        result.ids = [r[spec.key] for r in typed]
        result.skipped = [] if update else sorted(data.lines[i] for i in matches.existing)
        result.repeated = sorted(data.lines[i] for i in matches.repeated)
        result.preview = [_for_sheet(r, spec) for r in typed[:preview]]
        result.updated = [key for key, _, _ in merged]
        if dry_run:
            return result  # nothing was appended, so nothing is written
        if typed:
            batches = [typed[i : i + 1000] for i in range(0, len(typed), 1000)]
            written: list[int] = []
            for batch in progress(batches) if progress else batches:
                written += _write(tx, spec.name, batch)
            result.rows[spec.name] = written
        if merged:
            tx.ensure_columns(spec.name, data.columns)
            tx.update_rows(spec.name, {excel_row: values for _, excel_row, values in merged})
        result.written = True
    result.backup = tx.backup
    return result


def _column_order(spec: Sheet, column: str | None) -> int:
    names = [c.name for c in spec.columns]
    return names.index(column) if column in names else len(names)


def _updated_records(
    book: Book,
    spec: Sheet,
    rows: Sequence[Mapping[str, Any]],
    data: CsvRows,
    updates: Mapping[int, int],
    as_of: datetime | None,
    problems: list[tuple[int, Problem]],
) -> list[tuple[str, int, dict[str, Any]]]:
    """Id, Excel row and changed cells of each record the CSV updates (``--update``).

    Each record is judged like a new row, as it will be after the update, against the workbook
    without its old self (or its own id and email would count as duplicates).
    """
    frame = book.frames[spec.name]
    order = sorted(updates)
    old = [as_record(frame.loc[updates[i]]) for i in order]
    candidates = []
    for i, record in zip(order, old, strict=True):
        merged = {k: v for k, v in record.items() if k != "excel_row"}
        merged.update({k: v for k, v in rows[i].items() if k != spec.key})
        candidates.append(merged)
    rest = frame.drop(index=[updates[i] for i in order])
    without = replace(book, frames={**book.frames, spec.name: rest})
    _, typed, found = check_new_rows(without, spec.name, candidates, as_of=as_of)
    problems += [(data.lines[order[j]], p) for j, p in found]
    out = []
    for i, record, new in zip(order, old, typed, strict=True):
        given = [c for c in rows[i] if c != spec.key and c in spec.column_by_name]
        written = _for_sheet(new, spec)
        before = _for_sheet(record, spec)
        values = {c: written.get(c) for c in given if written.get(c) != before.get(c)}
        if values:
            out.append((str(record[spec.key]), int(record["excel_row"]), values))
    return out
