"""Likely duplicate customers: the same person typed in twice over the years.

Here, beside the contract over the file, because ``validate`` warns about them;
the merge itself is :mod:`sheetcrm.rules.merge` and :mod:`sheetcrm.actions.merge`.

Pure: a Customers frame in, scored pairs out. Each customer is put in a few
"blocks" (its normalised e-mail, its phone number, the start and end of each
name word); only customers sharing a block are compared, so 10,000 customers
take a few seconds instead of 50 million comparisons.
"""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sheetcrm.contract import ERASED

if TYPE_CHECKING:
    import pandas as pd

# How a merged row says so in its notes (written by ``customer merge``); a merged row
# is history, not a duplicate, and validation and the search leave it out.
_MERGED = re.compile(r"merged into (\S+) on \d{4}-\d{2}-\d{2}")


def merged_into(notes: Any) -> str | None:
    """The customer id a row was merged into, read back from its notes (or None)."""
    if not isinstance(notes, str):
        return None
    found = _MERGED.findall(notes)
    return found[-1] if found else None


def is_merged(customers: pd.DataFrame) -> pd.Series:
    """Rows already merged into another customer: not duplicates any more, just history."""
    return customers["notes"].map(lambda v: merged_into(v) is not None).astype(bool)


# A pair scoring at least this is listed by `customer duplicates` and warned about by
# `validate`. Chosen on the planted-duplicates test set (tests/test_duplicates.py).
THRESHOLD = 80.0

# A block this big (a very common first name) says little; its members still meet
# through their other blocks (last name, e-mail, phone).
_MAX_BLOCK = 300

# Letters that do not come apart under NFKD but that people type plainly anyway.
_PLAIN = str.maketrans({"ø": "o", "æ": "ae", "å": "a", "ß": "ss", "đ": "d", "ł": "l", "œ": "oe"})
_WEBMAIL_DOTS = {"gmail.com", "googlemail.com"}


@dataclass(frozen=True, slots=True)
class Pair:
    """Two customers who are probably one person."""

    first: str  # customer_id of the row higher up the sheet
    second: str
    score: float  # 0..100
    reasons: tuple[str, ...] = field(default=())


def plain_name(name: Any) -> str:
    """Lower case, accents and punctuation gone, words sorted: "Løvås, Åse" -> "ase lovas"."""
    if not isinstance(name, str):
        return ""
    text = unicodedata.normalize("NFKD", name.casefold().translate(_PLAIN))
    text = "".join(c for c in text if not unicodedata.combining(c))
    words = re.findall(r"[a-z0-9]+", text.translate(_PLAIN))
    return " ".join(sorted(words))


def plain_email(email: Any) -> str:
    """Case folded, "+tag" dropped, and Gmail's ignored dots dropped: one mailbox, one text."""
    if not isinstance(email, str) or "@" not in email:
        return ""
    local, _, domain = email.strip().casefold().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in _WEBMAIL_DOTS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def plain_phone(phone: Any) -> str:
    """The last eight digits: "+47 961 69 774", "0047 96169774" and "96169774" are one phone.

    Eight digits is a Norwegian number without its country code, and long enough
    elsewhere that two different customers rarely share it.
    """
    if phone is None or (isinstance(phone, float) and phone != phone):
        return ""
    digits = re.sub(r"\D", "", str(phone))
    return digits[-8:] if len(digits) >= 6 else ""


def plain_address(address: Any) -> str:
    if not isinstance(address, str):
        return ""
    return " ".join(re.findall(r"[a-z0-9]+", plain_name(address).replace(" ", " ")))


def _email_local(email: str) -> str:
    local = email.partition("@")[0]
    return re.sub(r"[^a-z0-9]", "", local)


def _blocks(name: str, email: str, local: str, phone: str, address: str) -> Iterable[str]:
    if email:
        yield "e:" + email
        if len(local) >= 4:
            yield "l:" + local
    if phone:
        yield "p:" + phone
    if address:
        yield "a:" + address
    for word in name.split():
        if len(word) >= 3:
            yield "s:" + word[:3]
            yield "t:" + word[-3:]


def _name_score(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    from rapidfuzz import fuzz  # here: reading a workbook needs only merged_into

    # Sorted words make "Nordmann Ola" equal "Ola Nordmann"; partial credit for a
    # dropped middle name comes from the token-set ratio, held back a little so that
    # "Ola" alone does not equal "Ola Nordmann".
    return max(fuzz.ratio(a, b), 0.9 * fuzz.token_set_ratio(a, b))


def _close_names(
    names: list[str], members: list[int], floor: float, reach: list[tuple[bool, bool]]
) -> Iterable[tuple[int, int]]:
    """The pairs of ``members`` whose _name_score may bring them to the threshold, found
    by rapidfuzz's own loop (a block can hold 300 customers, 45,000 pairs).

    A pair found here shares no way of reaching them (those pairs come from their own
    blocks), so each e-mail and each phone both of them have is a conflict (-12, see
    _score): a pair needs a name ``floor`` + 12 per conflict or more. ``reach[i]``: whether
    customer i has an e-mail, and a phone.
    """
    from rapidfuzz import fuzz, process

    # Members by what they have, so each group is searched with its own cut-off.
    groups: dict[tuple[bool, bool], list[int]] = defaultdict(list)
    for x, i in enumerate(members):
        groups[reach[i]].append(x)
    for x, i in enumerate(members[:-1]):
        if not names[i]:
            continue
        email, phone = reach[i]
        for (has_email, has_phone), xs in groups.items():
            later = xs[bisect.bisect_right(xs, x) :]
            if not later:
                continue
            need = floor + 12 * ((email and has_email) + (phone and has_phone))
            if need > 100:
                continue
            rest = [names[members[y]] for y in later]
            for scorer, cutoff in ((fuzz.ratio, need), (fuzz.token_set_ratio, need / 0.9)):
                if cutoff > 100:
                    continue
                for _name, _score, y in process.extract(
                    names[i], rest, scorer=scorer, score_cutoff=cutoff, limit=None
                ):
                    if rest[y]:
                        yield (i, members[later[y]])


# The most that a shared address (+8) and company (+3) add to a pair's name score when
# they share no e-mail or phone (see _score).
_MOST_BONUS = 11.0


def find_duplicates(
    customers: Mapping[str, Sequence[Any]] | pd.DataFrame, threshold: float = THRESHOLD
) -> list[Pair]:
    """Every pair of customers scoring ``threshold`` or more, best first.

    ``customers`` holds columns by name (a DataFrame, or a Table's columns): the
    contract's (customer_id, name, email, phone, company) and perhaps the owner's
    ``address`` column.
    """
    # Erased customers share the placeholder name and nothing else: never a pair.
    kept = [i for i, name in enumerate(customers["name"]) if name != ERASED]
    if not kept:
        return []

    def column(name: str) -> list[Any]:
        if name not in customers:
            return [None] * len(kept)
        values = list(customers[name])
        return [values[i] for i in kept]

    ids = [str(v) for v in column("customer_id")]
    names = [plain_name(v) for v in column("name")]
    emails = [plain_email(v) for v in column("email")]
    phones = [plain_phone(v) for v in column("phone")]
    addresses = [plain_address(v) for v in column("address")]
    companies = [plain_name(v) for v in column("company")]

    locals_ = [_email_local(e) if e else "" for e in emails]
    reach = [(bool(e), bool(p)) for e, p in zip(emails, phones, strict=True)]
    blocks: dict[str, list[int]] = defaultdict(list)
    for i in range(len(ids)):
        for key in set(_blocks(names[i], emails[i], locals_[i], phones[i], addresses[i])):
            blocks[key].append(i)
    # Pairs sharing a way of reaching them (e-mail, its name part, phone) are always
    # scored; pairs that only share a name or address part need a name close enough
    # for the bonuses (+11 at most, see _score) to reach the threshold.
    floor = threshold - _MOST_BONUS
    candidates: set[tuple[int, int]] = set()
    for key, members in blocks.items():
        if len(members) < 2 or (len(members) > _MAX_BLOCK and key[0] in "st"):
            continue
        if key[0] in "elp":
            candidates.update(itertools.combinations(members, 2))
        else:
            candidates.update(_close_names(names, members, floor, reach))
    pairs: list[Pair] = []
    for i, j in candidates:
        score, reasons = _score(
            (names[i], names[j]),
            (emails[i], emails[j]),
            (locals_[i], locals_[j]),
            (phones[i], phones[j]),
            (addresses[i], addresses[j]),
            (companies[i], companies[j]),
        )
        if score >= threshold:
            pairs.append(Pair(ids[i], ids[j], round(score, 1), tuple(reasons)))
    pairs.sort(key=lambda p: (-p.score, p.first, p.second))
    return pairs


def _score(
    names: tuple[str, str],
    emails: tuple[str, str],
    locals_: tuple[str, str],
    phones: tuple[str, str],
    addresses: tuple[str, str],
    companies: tuple[str, str],
) -> tuple[float, list[str]]:
    """0..100 and the reasons, in words the owner reads next to the pair."""
    reasons: list[str] = []
    name = _name_score(*names)
    if name >= 99.5:
        reasons.append("same name")
    elif name >= 75:
        reasons.append(f"similar names ({name:.0f}%)")
    score = name
    # Each shared way of reaching the person is strong evidence; a family sharing an
    # address or a phone still needs similar names to reach the threshold.
    same_email = bool(emails[0]) and emails[0] == emails[1]
    same_phone = bool(phones[0]) and phones[0] == phones[1]
    same_address = bool(addresses[0]) and addresses[0] == addresses[1]
    same_local = (
        not same_email
        and bool(emails[0] and emails[1])
        and len(locals_[0]) >= 4
        and locals_[0] == locals_[1]
    )
    if same_email:
        reasons.append("same e-mail")
        score = max(score, 55 + 0.45 * name)
    if same_phone:
        reasons.append("same phone")
        score = max(score, 50 + 0.45 * name) + (10 if same_email else 0)
    if same_local:
        reasons.append("same e-mail name at another address")
        score = max(score, 40 + 0.5 * name)
    if same_address:
        reasons.append("same address")
        score += 8 if name >= 60 else 0
    if companies[0] and companies[0] == companies[1] and name >= 60:
        reasons.append("same company")
        score += 3
    # Two different ways of reaching them, both filled in, both different: two people
    # with similar names (father and son, two Ola Hansens).
    conflicts = 0
    if emails[0] and emails[1] and not same_email and not same_local:
        conflicts += 1
    if phones[0] and phones[1] and not same_phone:
        conflicts += 1
    if conflicts:
        score -= 12 * conflicts
    return max(0.0, min(100.0, score)), reasons
