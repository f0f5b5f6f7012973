"""The weekly report: the period, the context every template shares, and rendering it.

Why one module (~600 lines): it is the report's one orchestrator (the period, the
context, what runs in the second process, the files); splitting it would spread
that decision over several places.

``build_context(book, period, as_of)`` gathers the figures of
:mod:`sheetcrm.rules.metrics`, the charts of :mod:`sheetcrm.report.charts` and a little
about the business into one plain dict (JSON-able: test it without Jinja).
``render(context, "weekly.html.j2")`` turns it into a string, and
``render(context, "weekly.docx")`` into the bytes of a Word document (docxtpl).
``write_reports`` writes the files, each atomically (write aside, then replace).

Charts travel in the context as ``context["charts"][name]`` =
``{"src": "data:image/png;base64,...", "cid": "...", "png": <base64>, "alt": ...}``;
the HTML shows ``src``. For an e-mail, :func:`with_cid` swaps ``src`` for a
``cid:`` reference and :func:`chart_bytes` gives the PNG to attach.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sheetcrm.errors import Problem, SheetCRMError
from sheetcrm.files import write_atomic
from sheetcrm.report import fits
from sheetcrm.report.documents import (
    chart_bytes,
    draw_charts,
    render,
    start_worker,
    with_cid,
)
from sheetcrm.report.templates import templates_dir, uses
from sheetcrm.report.worker import Forked, RenderWorker
from sheetcrm.rules import metrics, value
from sheetcrm.rules.metrics import Period, period_label
from sheetcrm.workbook.book import Book
from sheetcrm.workbook.settings import Settings

__all__ = [
    "FORMATS",
    "Period",
    "build_context",
    "build_digest",
    "chart_bytes",
    "custom_period",
    "export_templates",
    "figures_json",
    "render",
    "start_worker",
    "value_estimate",
    "week_period",
    "with_cid",
    "write_reports",
]

#: format -> (template, file extension)
FORMATS: dict[str, tuple[str, str]] = {
    "html": ("weekly.html.j2", "html"),
    "docx": ("weekly.docx", "docx"),
    "md": ("weekly.md.j2", "md"),
    "txt": ("email.txt.j2", "txt"),
}
#: Not a template: the figures themselves, for a second program to check (docs/report-json.md).
JSON_FORMAT = "json"
#: Raised when a key of ``report --format json`` changes meaning or goes away.
SCHEMA_VERSION = 1
CHART_NAMES = ("interactions", "complaints", "sla", "satisfaction")
#: The lists in ``context["relationships"]`` shortened to Settings ``report_list_limit``;
#: ``<list>_count`` keeps each one's full length.
LISTS = ("overdue", "at_risk", "followups")

# ----------------------------------------------------------------------------- periods


_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


def week_period(
    book_or_settings: Book | Settings, as_of: datetime, week: str | None = None
) -> Period:
    """The report's week: ``week`` ("2026-W47") or the last complete week before ``as_of``.

    Weeks start on Settings ``week_start`` (Monday by default) and are named by
    the ISO week of their middle day, so a Sunday-to-Saturday week is named
    like the Monday-to-Sunday week it mostly overlaps.

    >>> week_period(Settings(), datetime(2026, 11, 20, 15))
    Period(start=datetime.date(2026, 11, 9), end=datetime.date(2026, 11, 15), label='2026-W46')
    """
    settings = getattr(book_or_settings, "settings", book_or_settings)
    week_start = int(getattr(settings, "week_start", 0))
    if week is None:
        today = as_of.date()
        this_week = today - timedelta(days=(today.weekday() - week_start) % 7)
        start = this_week - timedelta(days=7)
    else:
        match = _WEEK.match(week)
        try:
            if not match:
                raise ValueError(week)
            monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:
            raise SheetCRMError(
                Problem(
                    "invalid_week",
                    f"{week!r} is not a week sheetcrm understands",
                    value=week,
                    hint="type an ISO week such as 2026-W47",
                )
            ) from None
        # the week starting on week_start whose middle day is in that ISO week
        start = monday + timedelta(days=week_start if week_start <= 3 else week_start - 7)
    end = start + timedelta(days=6)
    return Period(start, end, period_label(start, end))


def custom_period(start: date, end: date) -> Period:
    """Whole days from ``start`` to ``end`` inclusive.

    >>> custom_period(date(2026, 11, 1), date(2026, 11, 14)).label
    '2026-11-01_to_2026-11-14'
    """
    if end < start:
        raise SheetCRMError(
            Problem(
                "date_order",
                f"the report cannot end ({end}) before it starts ({start})",
                hint="give a start on or before the end",
                remedy="period_order",
            )
        )
    return Period(start, end, period_label(start, end))


# ----------------------------------------------------------------------------- context


def build_context(
    book: Book,
    period: Period,
    as_of: datetime,
    *,
    with_charts: bool = True,
    worker: RenderWorker | None = None,
    shorten: bool = True,
    worth: value.Estimate | None = None,
) -> dict[str, Any]:
    """Everything a report template shows, as plain data (see :func:`metrics.weekly`).

    Keys: ``locale``, ``currency``, ``meta`` (company, title, as-of), the
    figures (``contact``, ``complaints``, ``satisfaction``, ``relationships``,
    ``sales``, ``previous``, ``headlines``, ``trends``, ``daily``, ``rules``,
    ``period``, ``previous_period``, ``definitions``) and ``charts``. With
    ``shorten`` (the default) the lists are cut to Settings ``report_list_limit``.
    ``worth``: the customer-value estimate as of ``as_of``'s day, when the caller has it
    (otherwise :func:`value_estimate`).
    """
    sent: list[bool] = []

    def draw_elsewhere(data: dict[str, Any]) -> None:
        assert worker is not None
        if worker.submit("charts", data):
            sent.append(True)

    hook = draw_elsewhere if worker is not None and with_charts else None
    # One customer-value estimate for both of its users, made before the follow-ups may
    # be forked: the fork inherits it instead of fitting the models again.
    worth = value_estimate(book, as_of, worth)
    # With a worker the report is made in several processes anyway: the follow-ups, the
    # slowest figures, go to another (a fork sharing the workbook already read), first.
    followups = (
        Forked(metrics.followups_due, book, as_of, worth).result if worker is not None else None
    )
    customer_value = _customer_value(book, period, worth)
    figures = metrics.weekly(
        book, period, as_of, on_chart_data=hook, followups=followups, worth=worth
    )
    settings = book.settings
    context: dict[str, Any] = {
        "locale": settings.locale,
        "currency": settings.currency,
        "meta": _meta(book, as_of),
        **figures,
        "relationships": _shortened(
            figures["relationships"], settings.report_list_limit if shorten else 0
        ),
        "customer_value": customer_value,
    }
    context["relationships"] = _with_contacts(book, context["relationships"])
    context["period"] = _so_far(figures["period"], as_of)
    # Last week's figures up to the same moment are the figures' to count: until they say
    # they did (``until`` in ``previous_period``), the report compares with the whole week.
    context["previous_period"] = {"is_partial": False, "until": None} | figures["previous_period"]
    # The figures' own definitions when they give them; the report shows none otherwise.
    context.setdefault("definitions", [])
    # The customers' own answers to the survey after a complaint (issue 16).
    from sheetcrm.rules import surveys

    context["surveys"] = surveys.figures(book, period, as_of)
    context["charts"] = {}
    if with_charts:
        charts_done = None
        if sent and worker is not None:
            try:
                charts_done = worker.result()
            except (RuntimeError, EOFError, OSError):
                charts_done = None  # drawn here instead: same figures, same pictures
        context["charts"] = charts_done or draw_charts(
            metrics.chart_data(context["locale"], context, context["trends"], context["daily"])
        )
    return context


def figures_json(context: Mapping[str, Any]) -> str:
    """The figures of a context as JSON (docs/report-json.md): everything but the charts'
    pictures, with a ``schema_version``. ISO dates and times, numbers as numbers."""
    from sheetcrm import __version__

    data = {"schema_version": SCHEMA_VERSION, "generator": f"sheetcrm {__version__}"}
    data |= {key: value for key, value in context.items() if key != "charts"}
    return json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def value_estimate(
    book: Book, as_of: datetime, worth: value.Estimate | None = None
) -> value.Estimate:
    """The customer-value estimate as of ``as_of``'s day: ``worth`` if given, else made with
    the fit kept beside the workbook (:mod:`sheetcrm.report.fits`). Make it once for a run
    of several reports and digests: each would fit the models again otherwise."""
    day = as_of.date()
    return fits.estimate(book, day) if worth is None else value.for_day(worth, book.sales, day)


def _customer_value(book: Book, period: Period, worth: value.Estimate) -> dict[str, Any]:
    """Segments, whom to call before they slip away, the ladder (:mod:`sheetcrm.rules.value`)."""
    return value.report_section(
        worth, book.sales, book.customers, period.end, value.previous_day(period.start)
    )


def _shortened(relationships: dict[str, Any], limit: int) -> dict[str, Any]:
    """The lists cut to their ``limit`` most pressing rows (0: all); the counts stay whole.

    A weekly report is read and forwarded: 1,200 follow-ups would bury the first
    ten. Each list is already in order of urgency, and ``followups`` and the
    digest e-mails give every row to the staff who act on them.
    """
    if not limit:
        return relationships
    return relationships | {key: relationships[key][:limit] for key in LISTS}


def _so_far(period: Mapping[str, Any], as_of: datetime) -> dict[str, Any]:
    """``period`` with ``is_partial`` and ``until``: whether ``as_of`` falls inside it.

    A report of the week still in progress says so ("so far, until Fri 20 Nov
    15:00"). Keys already in the figures win: they know what span they counted.
    """
    start, end = date.fromisoformat(str(period["start"])), date.fromisoformat(str(period["end"]))
    inside = start <= as_of.date() <= end
    result = dict(period)
    result.setdefault("is_partial", inside)
    result.setdefault("until", as_of.isoformat(timespec="minutes") if inside else None)
    return result


#: The customer's detail that fits each channel: a number to ring or text, an address to write.
_CHANNEL_FIELD = {"phone": "phone", "sms": "phone", "email": "email"}


def _with_contacts(book: Book, relationships: dict[str, Any]) -> dict[str, Any]:
    """The to-do lists with the details to reach each customer by.

    A complaint row gets the customer's ``phone`` and ``email`` (the report shows
    the phone to call, else the address). A follow-up keeps a ``contact`` that
    fits its channel (an address for e-mail, a number for phone or SMS), else
    gets the customer's matching detail from the Customers sheet. Keys the
    figures already give are kept. Only the customers on the lists are looked
    up, not every row of the sheet.
    """
    wanted = {
        str(r.get("customer_id") or "")
        for key in ("overdue", "followups")
        for r in relationships.get(key, [])
    }
    customers = book.customers
    found = customers[customers["customer_id"].astype(str).isin(wanted)]
    found = found.drop_duplicates("customer_id")
    details = {
        str(row["customer_id"]): {
            "phone": _detail(row.get("phone")),
            "email": _detail(row.get("email")),
        }
        for row in found.to_dict("records")
    }

    def reach(customer_id: Any) -> dict[str, str]:
        return details.get(str(customer_id or ""), {"phone": "", "email": ""})

    overdue = [
        r
        | {
            "phone": _detail(r.get("phone")) or reach(r.get("customer_id"))["phone"],
            "email": _detail(r.get("email")) or reach(r.get("customer_id"))["email"],
        }
        for r in relationships.get("overdue", [])
    ]
    followups = []
    for r in relationships.get("followups", []):
        field = _CHANNEL_FIELD.get(str(r.get("channel") or ""))
        given = _detail(r.get("contact"))
        known = reach(r.get("customer_id"))
        fits = given and (field is None or ("@" in given) == (field == "email"))
        contact = given if fits else (known[field] if field else "") or given
        contact = contact or known["phone"] or known["email"]
        followups.append(r | {"contact": contact})
    return relationships | {"overdue": overdue, "followups": followups}


def _detail(value: Any) -> str:
    """A phone or address as text; a blank cell (None, NaN, "") as ""."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number typed as a number
    return str(value).strip()


def _meta(book: Book, as_of: datetime) -> dict[str, Any]:
    return {
        "company": book.settings.company_name,
        "workbook": book.path.name if book.path else "",
        "as_of": as_of.isoformat(timespec="minutes"),
        "timezone": book.settings.timezone,
    }


# ----------------------------------------------------------------------------- rendering


def write_reports(
    book: Book,
    period: Period,
    as_of: datetime,
    formats: Sequence[str] = ("html", "docx", "md"),
    *,
    out_dir: Path,
    templates_dir: Path | None = None,
    worker: RenderWorker | None = None,
) -> list[Path]:
    """Render each format and write it to ``out_dir/weekly-<label>.<ext>``, atomically.

    With a :class:`RenderWorker` the charts and the Word document are made in
    that process, at the same time as the rest; the files are the same.

    >>> write_reports(book, week_period(book, as_of), as_of, out_dir=Path("reports"))
    ... # doctest: +SKIP
    [PosixPath('reports/weekly-2026-W46.html'), ...]
    """
    unknown = [f for f in formats if f not in FORMATS and f != JSON_FORMAT]
    if unknown:
        raise SheetCRMError(
            Problem(
                "invalid_format",
                f"sheetcrm cannot write a report as {', '.join(unknown)}",
                value=unknown[0],
                hint=f"choose from: {', '.join([*FORMATS, JSON_FORMAT])}",
            )
        )
    only_json = set(formats) <= {JSON_FORMAT}
    # The Word template first: it answers without parsing anything.
    names = sorted(
        (FORMATS[f][0] for f in formats if f in FORMATS), key=lambda n: n.endswith(".j2")
    )
    whole = build_context(
        book,
        period,
        as_of,
        worker=None if only_json else worker,
        with_charts=any(uses(name, "charts", templates_dir) for name in names),
        shorten=False,
    )
    # the templates show each list's first rows; the JSON keeps every one for a checker
    limit = book.settings.report_list_limit
    context = whole | {"relationships": _shortened(whole["relationships"], limit)}
    # The worker renders the Word document, the slowest, while this process renders
    # the rest. Only one task: a second would wait in the pipe until the first is done.
    elsewhere = (
        "docx" in formats
        and worker is not None
        and worker.submit("render", context, FORMATS["docx"][0], templates_dir)
    )
    rendered: dict[str, str | bytes] = {
        f: render(context, FORMATS[f][0], templates_dir)
        for f in formats
        if f in FORMATS and not (elsewhere and f == "docx")
    }
    if JSON_FORMAT in formats:
        rendered[JSON_FORMAT] = figures_json(whole)
    if elsewhere:
        try:
            rendered["docx"] = worker.result()  # type: ignore[union-attr]
        except (RuntimeError, EOFError, OSError):
            rendered["docx"] = render(context, FORMATS["docx"][0], templates_dir)  # any error
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        content = rendered[fmt]
        extension = JSON_FORMAT if fmt == JSON_FORMAT else FORMATS[fmt][1]
        path = out_dir / f"weekly-{period.label}.{extension}"
        write_atomic(path, content if isinstance(content, bytes) else content.encode("utf-8"))
        paths.append(path)
    return paths


def export_templates(target_dir: Path) -> list[Path]:
    """Copy the built-in templates into ``target_dir`` for the owner to edit.

    Refuses (and copies nothing) if any of the files is already there.
    """
    target_dir = Path(target_dir)
    sources = sorted(
        p for p in templates_dir().iterdir() if p.is_file() and not p.name.startswith(".")
    )
    existing = [target_dir / p.name for p in sources if (target_dir / p.name).exists()]
    if existing:
        raise SheetCRMError(
            Problem(
                "file_exists",
                f"{existing[0]} already exists; sheetcrm will not overwrite "
                "templates you may have edited",
                value=str(existing[0]),
                hint="choose an empty folder, or move the old templates away first",
            )
        )
    target_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sources:
        target = target_dir / source.name
        write_atomic(target, source.read_bytes())
        written.append(target)
    return written


# ----------------------------------------------------------------------------- digests


def build_digest(
    book: Book, staff_name: str, as_of: datetime, *, worth: value.Estimate | None = None
) -> dict[str, Any]:
    """One staff member's list for the day: their breached and due-soon complaints, their
    follow-ups and their customers at risk (render with ``digest.html.j2`` / ``digest.txt.j2``).
    ``worth`` as for :func:`build_context`.
    """
    data = metrics.prepare(book, as_of, since=as_of.date() - timedelta(days=7))
    week_ago = as_of - timedelta(days=7)
    worth = value_estimate(book, as_of, worth)
    snapshot = _with_contacts(book, metrics.relationships(book, data, as_of, week_ago, worth))
    mine = staff_name.casefold()

    def theirs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in rows if str(r.get("owner") or "").casefold() == mine]

    return {
        "locale": book.settings.locale,
        "currency": book.settings.currency,
        "meta": _meta(book, as_of),
        "staff": staff_name,
        "overdue": theirs(snapshot["overdue"]),
        "followups": theirs(snapshot["followups"]),
        "at_risk": theirs(snapshot["at_risk"]),
        "rules": {
            "at_risk_after_days": book.settings.at_risk_after_days,
            "low_score": metrics.LOW_SCORE,
            "low_score_days": metrics.LOW_SCORE_DAYS,
            "follow_up_days": metrics.FOLLOW_UP_DAYS,
        },
    }
