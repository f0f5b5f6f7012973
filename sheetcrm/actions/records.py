"""Adding and updating records in the owner's workbook: the library behind the write commands.

Why one module (~1,300 lines): one use case per write command (log, sale,
customer, complaint, import, staff), sharing the lookups and warnings at the top;
the shared write helpers are in :mod:`sheetcrm.workbook.newrows`.

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from sheetcrm.errors import Problem, Report, SheetCRMError
from sheetcrm.workbook import find, writer
from sheetcrm.workbook.book import Book, as_record, as_records, is_missing
from sheetcrm.workbook.newrows import for_sheet as _for_sheet
from sheetcrm.workbook.newrows import fresh_ids, next_ids
from sheetcrm.workbook.newrows import refuse as _refuse
from sheetcrm.workbook.newrows import write_rows as _write
from sheetcrm.workbook.validation import check_new_rows, refuse_unusable
from sheetcrm.workbook.validation import load as _load_all

if TYPE_CHECKING:
    import pandas as pd

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


def _sheets_for(sheet: str) -> list[str]:
    """The sheets a new row of ``sheet`` is checked against: itself and what it refers to."""
    spec = SHEET_BY_NAME[sheet]
    return [sheet, *(c.references[0] for c in spec.columns if c.references)]


def find_one_customer(book: Book, text: str) -> dict[str, Any]:
    """The one customer a person meant, or a refusal that suggests who they might have meant."""
    found = find.find_customers(book, text)
    if found.one is not None:
        return found.one
    if found.matches:
        names = "; ".join(find.describe(r) for r in found.matches[:5])
        raise SheetCRMError(
            Problem(
                "ambiguous_customer",
                f"{len(found.matches)} customers match {text!r}: {names}",
                hint="give the customer id instead",
            )
        )
    if found.suggestions:
        hint = "did you mean " + " or ".join(find.describe(r) for r in found.suggestions) + "?"
        raise SheetCRMError(Problem("unknown_customer", f"no customer {text}", hint=hint))
    raise SheetCRMError(
        Problem(
            "unknown_customer",
            f"no customer {text}",
            hint="check the Customers sheet, or add the customer first",
            remedy="add_customer",
        )
    )


def is_inactive(active: Any) -> bool:
    """True only for a Staff row whose active cell says no (empty means still here).

    A frame's column holds numpy booleans, which ``is False`` never matches.
    """
    return not is_missing(active) and not bool(active)


def _staff_warning(book: Book, staff: str | None) -> list[str]:
    member = book.staff_member(staff) if staff else None
    if member is not None and is_inactive(member["active"]):
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
    columns = book.table("Interactions").columns
    key = customer["customer_id"]
    last = max(
        (
            d
            for c, way, d in zip(
                columns["customer_id"], columns["direction"], columns["date"], strict=True
            )
            if c == key and way == "outbound" and d is not None and d <= when
        ),
        default=None,
    )
    days = book.settings.followup_cooldown_days
    if last is not None and when - last < timedelta(days=days):
        warnings.append(
            f"{who} was last contacted on {last:%Y-%m-%d %H:%M}; the cool-down "
            f"between outbound contacts is {days} days."
        )
    preferred = customer.get("preferred_channel")
    if preferred and channel and channel != preferred:
        warnings.append(f"{who} prefers {preferred}, not {channel}.")
    return warnings


def load(path: Path, *, sheets: Iterable[str] | None = None) -> tuple[Book, Report]:
    """Read for a write, refusing what every read command refuses (a missing contract
    sheet, a required column renamed): a write must not paper over it with a new column."""
    book, report = _load_all(path, sheets=None if sheets is None else list(sheets))
    refuse_unusable(path, report)
    return book, report


def _settings_backups(tx: writer.Transaction, book: Book) -> None:
    tx.backups_to_keep = book.settings.backups_to_keep


# ------------------------------------------------------------------------------- log


def log_interaction(
    path: Path,
    fields: Mapping[str, Any],
    *,
    when: datetime,
    staff_default: str | None = None,
    sale: Mapping[str, Any] | None = None,
    channel_default: str | None = None,
) -> Written:
    """Append one interaction; ``fields`` hold contract columns plus ``customer`` (id or name).

    With ``sale`` (``amount`` and perhaps ``product``) the order goes on the Sales
    sheet in the same write, so a sale logged as a contact also counts as revenue.
    """
    result = Written()
    # The interactions themselves are read only for an outbound contact's cool-down check.
    sheets = _sheets_for("Interactions")
    if str(fields.get("direction") or "").casefold() != "outbound":
        sheets.remove("Interactions")
    if sale is not None:
        sheets.append("Sales")
    with writer.edit(path) as tx:
        tx.unpack_soon("Interactions", *(["Sales"] if sale is not None else []))
        book, _ = load(path, sheets=sheets)
        _settings_backups(tx, book)
        customer = find_one_customer(book, str(fields["customer"]))
        if sale is not None:
            order = _check_sale(tx, book, customer, sale, fields.get("date") or when, fields)
            fields = {**fields, "summary": fields.get("summary") or _sale_summary(book, order)}
        row = {k: v for k, v in fields.items() if k != "customer" and v not in (None, "")}
        row["customer_id"] = customer["customer_id"]
        if channel_default:
            row.setdefault("channel", channel_default)
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
        if sale is not None:
            result.rows["Sales"] = _write_or_create(tx, book, "Sales", [order])
            result.ids.append(order["order_id"])
            result.record["order"] = order
        result.rows["Interactions"] = _write(tx, "Interactions", [rec])
        result.ids.append(rec["interaction_id"])
        result.record.update(rec, customer_name=customer.get("name"))
    result.backup = tx.backup
    return result


# ------------------------------------------------------------------------------ sales


def _write_or_create(
    tx: writer.Transaction, book: Book, sheet: str, rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """Append to ``sheet``, or make it (every contract column) when the workbook has none."""
    if sheet in book.sheet_names:
        return _write(tx, sheet, rows)
    spec = SHEET_BY_NAME[sheet]
    values = [_for_sheet(r, spec) for r in rows]
    tx.add_sheet(
        sheet,
        [c.name for c in spec.columns],
        [[v.get(c.name) for c in spec.columns] for v in values],
        [c.width for c in spec.columns],
    )
    return list(range(2, 2 + len(rows)))


def _check_sale(
    tx: writer.Transaction,
    book: Book,
    customer: Mapping[str, Any],
    sale: Mapping[str, Any],
    when: datetime,
    fields: Mapping[str, Any],
) -> dict[str, Any]:
    """The typed Sales row for one order, judged as validate judges the sheet, or a refusal."""
    on = sale.get("date") or when
    row = {
        "order_id": fresh_ids(tx, book, "Sales")[0],
        "date": on.date() if isinstance(on, datetime) else on,
        "customer_id": customer["customer_id"],
        "amount": sale.get("amount"),
        "product": sale.get("product"),
        "staff": fields.get("staff") or sale.get("staff") or customer.get("owner"),
    }
    _, typed, problems = check_new_rows(book, "Sales", [{k: v for k, v in row.items() if v}])
    _refuse(problems, "The sale was")
    return typed[0]


def money(amount: float) -> str:
    """An amount as a shop writes it: ``1290``, ``1290.50``, never ``1.29e+06``."""
    return f"{amount:.2f}".removesuffix(".00")


def _sale_summary(book: Book, order: Mapping[str, Any]) -> str:
    what = f" of {order['product']}" if order.get("product") else ""
    return f"Sale {order['order_id']}{what}: {book.settings.currency} {money(order['amount'])}"


def record_sale(
    path: Path,
    fields: Mapping[str, Any],
    *,
    when: datetime,
    log: bool = False,
    channel: str | None = None,
    summary: str | None = None,
) -> Written:
    """One order on the Sales sheet; with ``log`` also the ``sale`` contact, in one write.

    ``fields``: ``customer`` (id, email or name), ``amount``, and perhaps
    ``product`` and ``staff``.
    """
    if log:
        contact = {
            "customer": fields["customer"],
            "type": "sale",
            "direction": "inbound",
            "channel": channel,
            "summary": summary,
            "staff": fields.get("staff"),
            "date": when,
            "outcome": "resolved",
        }
        # A sale is made in the shop unless told otherwise (--channel web, phone, ...).
        return log_interaction(path, contact, when=when, sale=fields, channel_default="in_person")
    result = Written()
    with writer.edit(path) as tx:
        tx.unpack_soon("Sales")
        book, _ = load(path, sheets=["Sales", "Customers"])
        _settings_backups(tx, book)
        customer = find_one_customer(book, str(fields["customer"]))
        order = _check_sale(tx, book, customer, fields, when, fields)
        result.warnings += _staff_warning(book, order.get("staff"))
        result.rows["Sales"] = _write_or_create(tx, book, "Sales", [order])
        result.ids.append(order["order_id"])
        result.record = {"order": order, "customer_name": customer.get("name")}
    result.backup = tx.backup
    return result


# -------------------------------------------------------------------------- customers


def add_customer(
    path: Path,
    fields: Mapping[str, Any],
    *,
    allow_duplicate_email: bool = False,
    today: date,
    add_staff: bool = False,
) -> Written:
    """Add one customer; ``add_staff`` puts an owner not yet on Staff there in the same write.

    Without it, an unknown owner is refused with ``unknown_staff`` (the CLI offers
    to add them), so a new workbook's first customer needs no trip to Excel.
    """
    result = Written()
    with writer.edit(path) as tx:
        tx.unpack_soon("Customers")
        book, _ = load(path, sheets=_sheets_for("Customers"))
        _settings_backups(tx, book)
        owner = str(fields.get("owner") or "").strip()
        if owner:
            known = [str(n or "").strip() for n in book.table("Staff").columns["name"]]
            same = [n for n in known if n.casefold() == owner.casefold()]
            if same:
                fields = {**fields, "owner": same[0]}  # as the Staff sheet spells it
            elif add_staff:
                new = {"name": owner, "active": "yes"}
                book, typed_staff, problems = check_new_rows(book, "Staff", [new])
                _refuse(problems, "The new staff member was")
                result.rows["Staff"] = _write_or_create(tx, book, "Staff", typed_staff)
                result.notes.append(f"Added {owner} to the Staff sheet.")
            else:
                raise SheetCRMError(_unknown_staff(book, owner))
        row = {k: v for k, v in fields.items() if v not in (None, "")}
        row.setdefault("since", today)
        row.setdefault("stage", "prospect")
        row["customer_id"] = fresh_ids(tx, book, "Customers")[0]
        email = str(row.get("email") or "").strip().casefold()
        if email and not allow_duplicate_email:
            customers = book.table("Customers")
            holders = [
                i for i, e in enumerate(customers.columns["email"]) if (e or "").casefold() == email
            ]
            if holders:
                other = find.describe(customers.record(holders[0]))
                raise SheetCRMError(
                    Problem(
                        "duplicate_email",
                        f"{row['email']} already belongs to {other}; nothing was written",
                        hint="use that customer, or allow a duplicate email if two people "
                        "really share the address",
                        remedy="allow_duplicate_email",
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


def _check_department(book: Book, department: str | None) -> list[dict[str, Any]]:
    if not department:
        return []
    members = book.staff_members(department)
    if not members:
        known = sorted({d for d in book.table("Staff").columns["department"] if d})
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
        tx.unpack_soon("Complaints", "Interactions")
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
        # The complaint and its interaction name the same channel, whichever was assumed.
        complaint.setdefault("channel", customer.get("preferred_channel") or "phone")
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
            "channel": k["channel"],
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
    cal = book.calendar()
    opened = complaint["opened"]
    if hasattr(opened, "to_pydatetime"):  # a pandas Timestamp from a frame
        opened = opened.to_pydatetime()
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
    from sheetcrm.delivery.outbox import next_notice_id  # the mail side owns notice ids

    notice: dict[str, Any] = {
        # never an id issued before, even one whose row the owner deleted
        "notice_id": next_notice_id(tx.path, fresh_ids(tx, book, "Notices")[0]),
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
        from sheetcrm.workbook.matching import closest_ids

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
    contact: Mapping[str, Any] | None = None,
) -> Written:
    """Record a first response (``respond``) or a resolution in the complaint's own row.

    A response is also a contact with the customer: it is logged in Interactions
    (linked by complaint_id) in the same write, with ``contact``'s summary,
    channel and staff when given. A resolution is logged when ``contact`` holds
    a summary.
    """
    import pandas as pd

    result = Written()
    contact = dict(contact or {})
    with writer.edit(path) as tx:
        book, _ = load(path, sheets=["Complaints", "Customers"])
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
                    hint="check the time given for the change",
                    remedy="check_when",
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
        if respond or contact.get("summary"):
            said = _response_contact(book, tx, row, when, contact, resolved=resolution is not None)
            result.rows["Interactions"] = _write(tx, "Interactions", [said])
            result.ids.append(said["interaction_id"])
            result.record["interaction"] = said
        tx.ensure_columns("Complaints", list(changes))  # an owner may have left one out
        tx.update("Complaints", int(row["excel_row"]), changes)
        result.rows["Complaints"] = [int(row["excel_row"])]
        result.ids.append(kid)
        result.record.update({**as_record(row), **changes})
        fcr = resolution is not None and not pd.isna(opened) and when == opened
        event = "resolved" if resolution is not None else "answered"
        _queue_notice(tx, book, notify, members, kid, event, when, result)
        if fcr:
            result.notes.append(
                f"{kid} was resolved in the contact that opened it (first-contact resolution)."
            )
    result.backup = tx.backup
    return result


def _response_contact(
    book: Book,
    tx: writer.Transaction,
    complaint: pd.Series,
    when: datetime,
    contact: Mapping[str, Any],
    *,
    resolved: bool,
) -> dict[str, Any]:
    """The interaction in which the customer was answered, typed and judged, or a refusal."""
    kid = complaint["complaint_id"]
    customers = book.customers
    who = customers[customers["customer_id"] == complaint["customer_id"]]
    preferred = who["preferred_channel"].iloc[0] if len(who) else None
    channel = contact.get("channel")
    for fallback in (complaint.get("channel"), preferred, "phone"):
        if not channel and isinstance(fallback, str) and fallback:
            channel = fallback
    verb = "Resolved" if resolved else "Responded to"
    row = {
        "interaction_id": fresh_ids(tx, book, "Interactions")[0],
        "date": when,
        "customer_id": complaint["customer_id"],
        "staff": contact.get("staff") or complaint["owner"],
        "channel": channel,
        "direction": "outbound",
        "type": "support",
        "summary": contact.get("summary") or f"{verb} complaint {kid}",
        "outcome": "resolved" if resolved else "follow_up_needed",
        "complaint_id": kid,
    }
    _, typed, problems = check_new_rows(book, "Interactions", [row])
    _refuse(problems, f"The contact answering {kid} was")
    return typed[0]


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
                    f"the default {column}= is not a column of the {spec.name} sheet",
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
                        f"{frame.at[idx, spec.key]}; added anyway (duplicates were allowed)"
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
    without = replace(book, frames=book.frames.with_frame(spec.name, rest))
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


# ------------------------------------------------------------------------------ staff


def find_staff(book: Book, name: str) -> dict[str, Any]:
    """The Staff row named ``name`` (case and spaces ignored), or a refusal with a did-you-mean."""
    staff = book.staff
    hit = staff[staff["name"].fillna("").str.strip().str.casefold() == name.strip().casefold()]
    if len(hit):
        return as_record(hit.iloc[0])
    raise SheetCRMError(_unknown_staff(book, name))


def _unknown_staff(book: Book, name: str) -> Problem:
    from sheetcrm.workbook.matching import closest_texts

    names = book.staff["name"].dropna().astype(str).tolist()
    close = closest_texts(name, names, limit=2)
    hint, remedy = "add them to the Staff sheet", "add_staff"
    args: tuple[str, ...] = (_shell_word(name),)
    if close:
        hint, remedy = f"did you mean {' or '.join(close)}? Or {hint}", "add_staff_or_typo"
        args = (" or ".join(close), *args)
    return Problem(
        "unknown_staff",
        f"{name} is not on the Staff sheet",
        hint=hint,
        remedy=remedy,
        remedy_args=args,
    )


def _shell_word(text: str) -> str:
    return text if re.fullmatch(r"[\w.@-]+", text) else '"' + text.replace('"', '\\"') + '"'


def add_staff(
    path: Path, name: str, *, email: str | None = None, department: str | None = None
) -> Written:
    """Add a staff member, or make one who left active again; nothing else changes."""
    result = Written()
    with writer.edit(path) as tx:
        book, _ = load(path, sheets=["Staff"])
        _settings_backups(tx, book)
        staff = book.staff
        same = staff[staff["name"].fillna("").str.strip().str.casefold() == name.casefold()]
        if len(same):
            row = as_record(same.iloc[0])
            if not is_inactive(row.get("active")):
                raise SheetCRMError(
                    Problem(
                        "staff_exists",
                        f"{row['name']} is already on the Staff sheet; nothing was written",
                        hint="to change their email or department, edit the Staff sheet",
                    )
                )
            changes: dict[str, Any] = {"active": "yes"}
            if email:
                changes["email"] = email
            if department:
                changes["department"] = department
            _, typed, problems = check_new_rows(
                replace_frame(book, "Staff", staff.drop(same.index)),
                "Staff",
                [{**row, **changes, "active": "yes"}],
            )
            _refuse(problems, "The staff member was")
            tx.ensure_columns("Staff", list(changes))
            tx.update("Staff", int(row["excel_row"]), _for_update(typed[0], changes))
            result.rows["Staff"] = [int(row["excel_row"])]
            result.record = typed[0]
            result.notes.append(f"{row['name']} was inactive and is active again.")
        else:
            new = {"name": name, "email": email, "department": department, "active": "yes"}
            _, typed, problems = check_new_rows(
                book, "Staff", [{k: v for k, v in new.items() if v}]
            )
            _refuse(problems, "The staff member was")
            result.rows["Staff"] = _write_or_create(tx, book, "Staff", typed)
            result.record = typed[0]
        result.ids.append(result.record["name"])
    result.backup = tx.backup
    return result


def replace_frame(book: Book, sheet: str, frame: pd.DataFrame) -> Book:
    """``book`` with one frame swapped: how an edited row is judged without its old self."""
    from dataclasses import replace as swap

    return swap(book, frames=book.frames.with_frame(sheet, frame))


def _for_update(typed: Mapping[str, Any], changes: Iterable[str]) -> dict[str, Any]:
    """The cells to write for ``changes``, as the workbook shows them; None clears a cell."""
    import pandas as pd

    out: dict[str, Any] = {}
    for key in changes:
        value = typed.get(key)
        if value is None or value == "":
            out[key] = None
        elif isinstance(value, bool):
            out[key] = "yes" if value else "no"
        elif isinstance(value, pd.Timestamp):
            out[key] = value.to_pydatetime()
        else:
            out[key] = value
    return out


@dataclass(slots=True)
class Leaving:
    """What ``staff leave`` did and what still belongs to the person who left."""

    written: Written
    name: str
    customers: list[dict[str, Any]]
    complaints: list[dict[str, Any]]
    reassigned_to: str | None = None


def leave_staff(path: Path, name: str, *, reassign_to: str | None = None) -> Leaving:
    """Mark a staff member inactive; list (or hand over) their customers and open complaints.

    Their past interactions keep their name: history is not rewritten.
    """
    result = Written()
    with writer.edit(path) as tx:
        book, _ = load(path, sheets=["Staff", "Customers", "Complaints"])
        _settings_backups(tx, book)
        person = find_staff(book, name)
        who = str(person["name"])
        heir = None
        if reassign_to:
            heir = find_staff(book, reassign_to)
            if heir["name"] == who:
                raise SheetCRMError(
                    Problem("unknown_staff", f"{who} cannot take over from themselves")
                )
            if is_inactive(heir.get("active")):
                raise SheetCRMError(
                    Problem(
                        "inactive_owner",
                        f"{heir['name']} is marked inactive; choose someone who still works here",
                    )
                )
        cust = book.customers[book.customers["owner"] == who]
        comp = book.complaints[
            (book.complaints["owner"] == who) & book.complaints["status"].isin(OPEN_STATUSES)
        ]
        if is_inactive(person.get("active")) and heir is None:
            result.notes.append(f"{who} is already marked inactive; nothing was written.")
        else:
            tx.ensure_columns("Staff", ["active"])
            tx.update("Staff", int(person["excel_row"]), {"active": "no"})
            result.rows["Staff"] = [int(person["excel_row"])]
        if heir is not None:
            for sheet, frame in (("Customers", cust), ("Complaints", comp)):
                rows = [int(r) for r in frame["excel_row"]]
                for r in rows:
                    tx.update(sheet, r, {"owner": heir["name"]})
                if rows:
                    result.rows[sheet] = rows
        result.ids.append(who)
    result.backup = tx.backup
    return Leaving(
        result,
        who,
        as_records(cust.drop(columns="excel_row")),
        as_records(comp.drop(columns="excel_row")),
        None if heir is None else str(heir["name"]),
    )


# ----------------------------------------------------------------------- customer edit


def _customer_column(key: str) -> str:
    """The Customers column ``--set KEY=...`` means, matched as loosely as headers are."""
    spec = SHEET_BY_NAME["Customers"]
    by_norm = {normalize_header(c.name): c.name for c in spec.columns}
    by_norm.update({"dnc": "do_not_contact", "channel": "preferred_channel", "mail": "email"})
    name = by_norm.get(normalize_header(key))
    if name is None:
        allowed = ", ".join(c.name for c in spec.columns if c.name != spec.key)
        raise SheetCRMError(
            Problem(
                "unknown_column",
                f"Customers has no column {key!r}; nothing was written",
                hint=f"use one of: {allowed}",
            )
        )
    if name == spec.key:
        raise SheetCRMError(
            Problem(
                "unknown_column",
                "a customer's id cannot be changed: other sheets refer to it",
                hint="add a new customer instead, or change the id in Excel everywhere at once",
            )
        )
    return name


def edit_customer(
    path: Path,
    who: str,
    sets: Mapping[str, str],
    *,
    note: str | None = None,
    today: date,
    allow_duplicate_email: bool = False,
) -> Written:
    """Change some of one customer's cells, judged as ``customer add`` judges a new one.

    ``sets`` maps a column (loosely spelled) to its new text; an empty text
    clears the cell. ``note`` is appended to the notes cell under today's date.
    Only the cells whose value really changes are written; ``record["changes"]``
    lists them as (column, old, new).
    """
    wanted = {_customer_column(k): v for k, v in sets.items()}
    result = Written()
    with writer.edit(path) as tx:
        tx.unpack_soon("Customers")
        book, _ = load(path, sheets=_sheets_for("Customers"))
        _settings_backups(tx, book)
        customer = find_one_customer(book, who)
        frame = book.customers
        others = frame[frame["customer_id"] != customer["customer_id"]]
        old = {k: v for k, v in customer.items() if k != "excel_row"}
        row: dict[str, Any] = {k: v for k, v in _for_sheet(old, SHEET_BY_NAME["Customers"]).items()}
        for key, value in wanted.items():
            if value.strip():
                row[key] = value
            else:
                row.pop(key, None)
        if note:
            stamp = f"{today:%Y-%m-%d}: {note.strip()}"
            row["notes"] = f"{old['notes']}\n{stamp}" if old.get("notes") else stamp
        if "owner" in wanted and wanted["owner"].strip():
            person = find_staff(book, wanted["owner"])
            row["owner"] = person["name"]
            if is_inactive(person.get("active")):
                result.warnings.append(f"{person['name']} is marked inactive on the Staff sheet.")
        email = str(row.get("email") or "").strip().casefold()
        if "email" in wanted and email and not allow_duplicate_email:
            same = others[others["email"].fillna("").str.casefold() == email]
            if len(same):
                raise SheetCRMError(
                    Problem(
                        "duplicate_email",
                        f"{row['email']} already belongs to "
                        f"{find.describe(same.iloc[0].to_dict())}; nothing was written",
                        hint="allow a duplicate email if two people really share the address",
                        remedy="allow_duplicate_email",
                    )
                )
        _, typed, problems = check_new_rows(
            replace_frame(book, "Customers", others), "Customers", [row]
        )
        _refuse(problems, f"The change to {customer['customer_id']} was")
        new = typed[0]
        changes = [
            (k, old.get(k), new.get(k))
            for k in [c.name for c in SHEET_BY_NAME["Customers"].columns]
            if not _equal(old.get(k), new.get(k))
        ]
        result.record = {**new, "changes": changes, "customer_name": new.get("name")}
        result.ids.append(str(customer["customer_id"]))
        if changes:
            names = [k for k, _, _ in changes]
            tx.ensure_columns("Customers", names)  # e.g. a sheet without do_not_contact yet
            excel_row = int(customer["excel_row"])
            tx.update("Customers", excel_row, _for_update(new, names))
            result.rows["Customers"] = [excel_row]
        else:
            result.notes.append("Nothing changed; nothing was written.")
    result.backup = tx.backup
    return result


def _equal(a: Any, b: Any) -> bool:
    import pandas as pd

    a = None if a is None or a == "" or (not isinstance(a, str) and pd.isna(a)) else a
    b = None if b is None or b == "" or (not isinstance(b, str) and pd.isna(b)) else b
    if isinstance(a, pd.Timestamp):
        a = a.to_pydatetime()
    if isinstance(b, pd.Timestamp):
        b = b.to_pydatetime()
    return bool(a == b)
