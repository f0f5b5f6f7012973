"""The service-level rules: every complaint's two targets, when each falls due, and its state.

One module, used by ``overdue``, ``customer show``, the weekly report and the
staff digests, so the figures can never disagree. Pure: takes a Book and an
``as_of`` local time, never reads a clock or a file.

The rules, in the owner's words (the README repeats them):

- Each complaint has two targets: a first response and a resolution, in hours
  from when it was opened, taken from the SLA sheet by severity.
- With ``business_hours_only`` only opening hours on business days count,
  holidays excluded; a complaint opened while closed starts its clock at the
  next opening. Otherwise the hours are clock hours.
- A complaint is open while its status is open, in_progress or
  waiting_on_customer. Waiting does not pause the clock: the workbook keeps no
  history of status changes.
- A target is *pending* while the complaint is open and the target is not met
  (no first_response; no resolved date). A pending target is *breached* once
  as-of is past its due time and *due soon* when it falls due within
  ``due_soon_hours`` clock hours.
- A resolution is also a response: a complaint resolved without a recorded
  first response had its first response when it was resolved.
- A target met after its due time is *met late*: a breach in the history that
  the weekly compliance figures count, but no longer something to chase.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sheetcrm.contract import OPEN_STATUSES
from sheetcrm.errors import Problem, SheetCRMError
from sheetcrm.workbook.book import Book
from sheetcrm.workbook.table import Table

if TYPE_CHECKING:
    import pandas as pd

TargetName = Literal["first_response", "resolution"]
State = Literal["breached", "due_soon", "on_track", "met", "met_late", "closed_unmet"]
TARGETS: tuple[TargetName, ...] = ("first_response", "resolution")

TARGET_COLUMNS = [
    "complaint_id",
    "customer_id",
    "owner",
    "severity",
    "status",
    "category",
    "opened",
    "target",
    "hours",
    "business_hours_only",
    "due",
    "met_at",
    "state",
    "minutes",
    "excel_row",
]


@dataclass(frozen=True, slots=True)
class Breach:
    """A pending target that is breached or due soon: one line of ``overdue``."""

    complaint_id: str
    customer_id: str
    owner: str
    severity: str
    target: TargetName
    state: Literal["breached", "due_soon"]
    due: datetime
    minutes: int  # late (positive) or left (negative)
    excel_row: int

    def to_json(self) -> dict[str, object]:
        return {
            "complaint_id": self.complaint_id,
            "customer_id": self.customer_id,
            "owner": self.owner,
            "severity": self.severity,
            "target": self.target,
            "state": self.state,
            "due": self.due.isoformat(timespec="minutes"),
            "minutes": self.minutes,
        }


def horizon(book: Book) -> timedelta:
    """The longest any target can take, in calendar time, with room for holidays.

    A complaint closed before a window by more than this cannot have a target
    falling due in it, so a report on recent weeks need not compute it.
    """
    cal = book.calendar()
    opens, closes = book.settings.business_hours
    seconds = (datetime.combine(date.min, closes) - datetime.combine(date.min, opens)).seconds
    day_hours = max(seconds / 3600, 1)
    longest = 0.0
    for target in book.sla.values():
        hours = max(target.first_response_hours, target.resolution_hours)
        if target.business_hours_only:
            longest = max(longest, hours / day_hours * 7 / max(len(cal.days), 1))
        else:
            longest = max(longest, hours / 24)
    return timedelta(days=longest + 30)


def targets(
    book: Book,
    as_of: datetime,
    *,
    since: datetime | None = None,
    complaints: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per complaint and target, with its due time and state at ``as_of``.

    Columns: ``TARGET_COLUMNS``. ``minutes`` is how late (positive) or how long
    left (negative) a pending target is at ``as_of``, and how late (positive) or
    early (negative) a met one was; it is missing where a complaint lacks a date.
    ``complaints``: only these rows of the book's Complaints (one customer's, say).
    """
    import pandas as pd

    table = book.table("Complaints")
    if complaints is not None:
        table = Table.from_frame(table.spec, complaints)
    frame = pd.DataFrame(target_rows(book, as_of, table, since=since), columns=TARGET_COLUMNS)
    for column in ("opened", "due", "met_at"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def target_rows(
    book: Book, as_of: datetime, complaints: Table, *, since: datetime | None = None
) -> list[dict[str, Any]]:
    """:func:`targets` as plain rows (``TARGET_COLUMNS``), from the Complaints ``complaints``
    (the book's, or some of them): all the rules, in plain Python, so ``overdue`` needs no
    pandas."""
    cal = book.calendar()
    due_soon = book.settings.due_soon_hours
    as_of_utc = cal.to_utc(as_of)
    # Only what can matter from ``since`` on: complaints still open, and closed ones
    # whose last event is within the longest target's reach of it.
    cutoff = None if since is None else since - horizon(book)
    rows: list[dict[str, Any]] = []
    for i in range(len(complaints)):
        rec = complaints.record(i)
        if cutoff is not None and rec["status"] not in OPEN_STATUSES:
            events = [rec[c] for c in ("opened", "first_response", "resolved")]
            known = [d for d in events if d is not None]
            if known and max(known) < cutoff:
                continue
        opened = rec["opened"]
        if opened is None or rec["severity"] is None:
            continue  # validation reported it; there is no clock to run
        if opened > as_of:
            continue  # not opened yet as of then
        sla = book.sla[rec["severity"]]
        # Seen from as-of: what happened later had not happened yet, so --as-of in the
        # past shows the complaint as it stood then.
        resolved = _until(rec["resolved"], as_of)
        responded = _until(rec["first_response"], as_of)
        is_open = rec["status"] in OPEN_STATUSES or (
            rec["resolved"] is not None and resolved is None
        )
        if resolved is not None and (responded is None or resolved < responded):
            responded = resolved
        for target, hours, met_at in (
            ("first_response", sla.first_response_hours, responded),
            ("resolution", sla.resolution_hours, resolved),
        ):
            due = cal.due_at(opened, hours, sla.business_hours_only)
            due_utc = cal.to_utc(due)
            if met_at is not None:
                minutes = (cal.to_utc(met_at) - due_utc).total_seconds() / 60
                state: State = "met_late" if minutes > 0 else "met"
            elif not is_open:
                minutes = float("nan")
                state = "closed_unmet"  # closed without a date: validation warns about it
            else:
                minutes = (as_of_utc - due_utc).total_seconds() / 60
                if minutes > 0:
                    state = "breached"
                elif -minutes <= due_soon * 60:
                    state = "due_soon"
                else:
                    state = "on_track"
            rows.append(
                {
                    "complaint_id": rec["complaint_id"],
                    "customer_id": rec["customer_id"],
                    "owner": rec["owner"],
                    "severity": rec["severity"],
                    "status": rec["status"],
                    "category": rec["category"],
                    "opened": opened,
                    "target": target,
                    "hours": hours,
                    "business_hours_only": sla.business_hours_only,
                    "due": due,
                    "met_at": met_at,
                    "state": state,
                    "minutes": minutes,
                    "excel_row": complaints.excel_rows[i],
                }
            )
    return rows


def known_owner(book: Book, owner: str) -> str:
    """``owner`` as the workbook spells it, or a refusal with a did-you-mean.

    A name that matches no one would give an empty list, and a scheduled alert
    that goes quiet on a typo is worse than one that fails.
    """
    names: list[str] = []
    for sheet, column in (("Staff", "name"), ("Customers", "owner"), ("Complaints", "owner")):
        names += [str(n) for n in book.table(sheet).columns.get(column, ()) if n is not None]
    names = list(dict.fromkeys(n for n in names if n.strip()))
    for name in names:
        if name.casefold() == owner.strip().casefold():
            return name
    from sheetcrm.workbook.matching import closest_texts

    close = closest_texts(owner, names) if names else []
    hint = (
        f"did you mean {' or '.join(close)}?"
        if close
        else "give a name from the Staff sheet"
        + (f": {', '.join(sorted(names)[:10])}" if names else "")
    )
    raise SheetCRMError(
        Problem(
            "unknown_owner",
            f"nobody called {owner!r} is on the Staff sheet or owns a customer or complaint",
            sheet="Staff",
            value=owner,
            hint=hint,
        )
    )


def _until(value: datetime | None, as_of: datetime) -> datetime | None:
    return value if value is not None and value <= as_of else None


def overdue(book: Book, as_of: datetime, *, owner: str | None = None) -> list[Breach]:
    """Pending targets breached or due soon at ``as_of``: breached first, then by owner and due.

    >>> [b.complaint_id for b in overdue(book, datetime(2026, 11, 20, 15))]  # doctest: +SKIP
    ['K-0031', 'K-0007']
    """
    if owner is not None:
        owner = known_owner(book, owner)
    # A target still pending at as-of belongs to a complaint open then, or closed later
    # (``since`` keeps those): years of complaints closed long ago need no due times.
    rows = [
        r
        for r in target_rows(book, as_of, book.table("Complaints"), since=as_of)
        if r["state"] in ("breached", "due_soon")
    ]
    if owner is not None:
        rows = [r for r in rows if (r["owner"] or "").casefold() == owner.casefold()]

    def order(r: dict[str, Any]) -> tuple[Any, ...]:
        # breached first, then by owner, due and id; a missing one last (as pandas sorts)
        return (
            r["state"] != "breached",
            r["owner"] is None,
            r["owner"] or "",
            r["due"],
            r["complaint_id"] is None,
            r["complaint_id"] or "",
        )

    return [
        Breach(
            complaint_id=r["complaint_id"],
            customer_id=r["customer_id"],
            owner=r["owner"] or "",
            severity=r["severity"],
            target=r["target"],
            state=r["state"],
            due=r["due"],
            minutes=round(r["minutes"]),
            excel_row=int(r["excel_row"]),
        )
        for r in sorted(rows, key=order)
    ]
