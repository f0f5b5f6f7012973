"""Finding the customer a person means from what they typed: an id, an email or a name.

Every command that takes a customer (``log``, ``sale``, ``customer show``, ...)
resolves it here, on the Customers table: no DataFrame is needed to find one row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sheetcrm.errors import Problem, SheetCRMError
from sheetcrm.workbook.book import Book
from sheetcrm.workbook.matching import closest_ids, closest_texts


@dataclass(slots=True)
class Lookup:
    """What a typed customer reference matched: exactly one, several, or near misses."""

    matches: list[dict[str, Any]]
    suggestions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def one(self) -> dict[str, Any] | None:
        return self.matches[0] if len(self.matches) == 1 else None


def find_customers(book: Book, text: str) -> Lookup:
    """Customers matching an id, an email or a name (whole or part), case-insensitively.

    An exact id or email wins; otherwise every customer whose name contains the
    text. With no match, near misses of ids, names and emails are suggested.
    """
    wanted = text.strip().casefold()
    if not wanted:
        return Lookup([])
    table = book.table("Customers")
    columns = table.columns
    live = [i for i, key in enumerate(columns["customer_id"]) if key is not None]
    ids = [str(columns["customer_id"][i]) for i in live]
    emails = ["" if columns["email"][i] is None else str(columns["email"][i]) for i in live]
    names = ["" if columns["name"][i] is None else str(columns["name"][i]) for i in live]
    folded_ids = [v.casefold() for v in ids]
    folded_emails = [v.casefold() for v in emails]
    folded_names = [v.casefold() for v in names]
    tests: list[Callable[[int], bool]] = [
        lambda k: folded_ids[k] == wanted,
        lambda k: folded_emails[k] == wanted,
        lambda k: folded_names[k] == wanted,
        lambda k: wanted in folded_names[k],
    ]
    for test in tests:
        hits = [k for k in range(len(live)) if test(k)]
        if hits:
            # A repeated id is one customer typed twice (validate names the copy): the
            # first row wins, as in every other lookup by id.
            seen: set[str] = set()
            matches = []
            for k in hits:
                if ids[k] not in seen:
                    seen.add(ids[k])
                    matches.append(table.record(live[k]))
            return Lookup(matches)
    near = set(closest_ids(text, ids))
    by_name = set(closest_texts(text, names))
    by_email = set(closest_texts(text, emails))
    close = [
        live[k]
        for k in range(len(live))
        if ids[k] in near
        or (columns["name"][live[k]] is not None and names[k] in by_name)
        or (columns["email"][live[k]] is not None and emails[k] in by_email)
    ]
    return Lookup([], [table.record(i) for i in close[:3]])


def no_match(text: str, found: Lookup) -> SheetCRMError:
    """The refusal when ``text`` names no customer, offering the near misses to try."""
    hint = ""
    if found.suggestions:
        hint = "did you mean " + " or ".join(describe(r) for r in found.suggestions) + "?"
    return SheetCRMError(
        Problem(
            "unknown_customer",
            f"no customer matches {text!r}",
            hint=hint or "check the Customers sheet",
        )
    )


def describe(record: dict[str, Any]) -> str:
    """``C-0012 Jane Doe (jane@example.com)``: how a customer is named in messages."""
    contact = record.get("email") or record.get("phone")
    return f"{record['customer_id']} {record.get('name') or ''}".strip() + (
        f" ({contact})" if contact else ""
    )


__all__ = ["Lookup", "describe", "find_customers", "no_match"]
