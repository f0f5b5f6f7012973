"""Plain-text and Markdown views of the commands' results, for a terminal or a pipe.

Pure functions from plain data to lines of text; the CLI decides where they go
and click removes the colour when the output is not a terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import groupby
from typing import TYPE_CHECKING, Any

import click

from sheetcrm.workbook.book import is_missing
from sheetcrm.workbook.business_time import format_duration

if TYPE_CHECKING:  # the rules' results are shown here, not computed: ``overdue`` needs no fit
    from sheetcrm.rules.followups import Suggestion
    from sheetcrm.rules.sla import Breach
    from sheetcrm.workbook.book import Book

_TARGET_WORDS = {"first_response": "first response", "resolution": "resolution"}


def lateness(minutes: float) -> str:
    """``3 h 20 min late`` or ``due in 45 min``."""
    if minutes > 0:
        return f"{format_duration(minutes)} late"
    return f"due in {format_duration(-minutes)}"


def overdue_lines(breaches: Sequence[Breach], book: Book) -> Iterator[str]:
    customers = book.table("Customers")  # a few lookups: no frame (and no pandas) needed
    for owner, group in groupby(breaches, key=lambda b: (b.state, b.owner)):
        items = list(group)
        state, name = owner
        label = "BREACHED" if state == "breached" else "due soon"
        colour = "red" if state == "breached" else "yellow"
        yield click.style(f"{name or '(no owner)'}: {len(items)} {label.lower()}", bold=True)
        for b in items:
            who = ""
            c = None if b.customer_id is None else customers.first("customer_id", b.customer_id)
            if c is not None:
                contact = " · ".join(
                    str(v) for v in (c["phone"], c["email"]) if not is_missing(v) and str(v)
                )
                who = f"{c['name']}" + (f" · {contact}" if contact else "")
            yield (
                f"  {click.style(label, fg=colour, bold=state == 'breached')}  "
                f"{b.complaint_id}  {b.severity:<8}  {_TARGET_WORDS[b.target]:<14}  "
                f"{lateness(b.minutes):<20}  due {b.due:%a %Y-%m-%d %H:%M}  "
                f"{b.customer_id} {who}"
            )


def followup_lines(suggestions: Sequence[Suggestion]) -> Iterator[str]:
    active = [s for s in suggestions if not s.suppressed]
    held = [s for s in suggestions if s.suppressed]
    for owner, group in groupby(sorted(active, key=lambda s: s.owner), key=lambda s: s.owner):
        items = list(group)
        yield click.style(f"{owner or '(no owner)'}: {len(items)} to contact", bold=True)
        for s in items:
            yield f"  {s.customer_id} {s.name}: {s.channel}" + (
                f" {s.contact}" if s.contact else ""
            )
            for why in s.reasons:
                yield f"      {why.sentence}"
    if held:
        yield click.style(f"Not now ({len(held)}):", bold=True, dim=True)
        for s in held:
            yield f"  {s.customer_id} {s.name}: {s.suppressed}. {s.sentence}"


def story_markdown(data: dict[str, Any], escape: Callable[[Any], str] = str) -> Iterator[str]:
    """The story as Markdown; pass ``escape=md_escape`` when it will be rendered as such."""
    c, f = data["customer"], data["figures"]
    yield f"# {c['customer_id']} {escape(c['name'])}"
    yield ""
    details = [
        ("Company", c.get("company")),
        ("Email", c.get("email")),
        ("Phone", c.get("phone")),
        ("Preferred channel", c.get("preferred_channel")),
        ("Owner", c.get("owner")),
        ("Stage", c.get("stage")),
        ("Segment", c.get("segment")),
        ("Customer since", c.get("since")),
        ("Do not contact", "YES" if c.get("do_not_contact") else "no"),
        ("Notes", c.get("notes")),
    ]
    for label, value in details:
        if value not in (None, ""):
            yield f"- **{label}:** {escape(value)}"
    yield ""
    yield "## Open complaints"
    yield ""
    if not data["open_complaints"]:
        yield "None."
    for k in data["open_complaints"]:
        yield (
            f"- **{k['complaint_id']}** ({k['severity']}, {k['status']}, owner {k['owner']}), "
            f"opened {k['opened']}: {escape(k['summary'])}"
        )
        for t in k["targets"]:
            if t["state"] in ("met", "met_late"):
                continue
            when = "" if t["minutes"] is None else f", {lateness(t['minutes'])}"
            yield (
                f"  - {_TARGET_WORDS[t['target']]}: {t['state'].replace('_', ' ')}, "
                f"due {t['due']}{when}"
            )
    yield ""
    yield "## In numbers"
    yield ""
    avg = f["average_satisfaction"]
    gap = f["days_between_purchases"]
    yield f"- First contact {f['first_contact'] or '-'}, last contact {f['last_contact'] or '-'}"
    yield f"- Contacts in the last 90 days: {f['contacts_last_90_days']}"
    yield (
        f"- Average satisfaction: {avg} from {f['satisfaction_responses']} responses"
        if avg is not None
        else "- Average satisfaction: no scores yet"
    )
    yield f"- Praise: {f['praise']}, complaints: {f['complaints']}"
    yield f"- Orders: {f['orders']}, total {f['total_sales']:,.2f} {data['currency']}" + (
        f", every {gap:g} days on average" if gap is not None else ""
    )
    yield from _value_lines(data.get("value"), data["currency"])
    yield ""
    yield "## Timeline (newest first)"
    yield ""
    for e in data["timeline"]:
        extra = []
        if e["staff"]:
            extra.append(str(e["staff"]))
        if e["outcome"] and e["kind"] == "interaction":
            extra.append(str(e["outcome"]))
        if e["satisfaction"]:
            extra.append(f"satisfaction {e['satisfaction']}/5")
        tail = f" ({', '.join(extra)})" if extra else ""
        yield f"- {e['when']}  **{e['id']}** {e['what']}: {escape(e['text'])}{tail}"


def _value_lines(v: dict[str, Any] | None, currency: str) -> Iterator[str]:
    """Customer value in words: a band, not a bare probability (sheetcrm.rules.value)."""
    if not v:
        return
    if v["segment_words"]:
        yield f"- Segment: {v['segment_words']}"
    if v["band"] is None:
        if v["reason"]:
            yield f"- Still a customer? No estimate: {v['reason']}."
        return
    yield f"- Still a customer? {v['band_words'].capitalize()} (P(alive) {v['p_alive']:.2f})"
    days = v["horizon_days"]
    yield f"- Expected orders in the next {days} days: {v['expected_orders']:g}"
    if v["expected_value"] is not None:
        yield (
            f"- Expected value in the next {days} days: {v['expected_value']:,.0f} {currency} "
            f"(about {v['expected_order_value']:,.0f} {currency} an order)"
        )
    elif v["spend_reason"]:
        yield f"- Expected value: no estimate: {v['spend_reason']}."
