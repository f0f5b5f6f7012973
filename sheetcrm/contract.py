"""THE workbook contract: sheets, columns, types, vocabularies, keys and references.

Why one module (~650 lines): it is declarative data (every sheet, column, list and
setting), meant to be read top to bottom in one place.

Everything that needs to know what a sheetcrm workbook looks like reads it from
here: the reader (which headers mean which column), validation (every rule),
``init`` (tables, drop-downs, widths, defaults), the writers and the README's
contract table (``sheetcrm contract --format md`` prints it). Nothing else
spells out a sheet or a column by hand.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["text", "date", "datetime", "number", "whole", "yesno", "email"]

VOCABULARIES: dict[str, tuple[str, ...]] = {
    "channel": ("email", "phone", "sms", "social", "in_person", "letter", "web"),
    "type": (
        "enquiry",
        "sale",
        "support",
        "follow_up",
        "complaint",
        "praise",
        "feedback",
        "survey",
        "other",
    ),
    "outcome": ("resolved", "follow_up_needed", "escalated", "no_answer", "info_sent"),
    "stage": ("prospect", "customer", "client", "supporter", "advocate", "partner"),
    "severity": ("low", "normal", "high", "critical"),
    "status": ("open", "in_progress", "waiting_on_customer", "resolved", "closed"),
    "direction": ("inbound", "outbound"),
}

# The words people actually say, next to each vocabulary: ``--channel call`` and a
# cell reading "Call" both mean phone. Keys are in normalize_choice form. A cell
# holding an alias is read as the canonical word (no error, no warning): it is what
# the owner meant, and the drop-down word is one click away if they want it.
ALIASES: dict[str, dict[str, str]] = {
    "channel": {
        "call": "phone",
        "phone_call": "phone",
        "telephone": "phone",
        "tel": "phone",
        "ring": "phone",
        "mobile": "phone",
        "visit": "in_person",
        "in_store": "in_person",
        "in_shop": "in_person",
        "walk_in": "in_person",
        "meeting": "in_person",
        "face_to_face": "in_person",
        "mail": "email",
        "e_mail": "email",
        "text": "sms",
        "txt": "sms",
        "text_message": "sms",
        "post": "letter",
        "website": "web",
        "web_form": "web",
        "online": "web",
        "facebook": "social",
        "instagram": "social",
        "social_media": "social",
    },
    "type": {
        "inquiry": "enquiry",
        "question": "enquiry",
        "purchase": "sale",
        "order": "sale",
        "followup": "follow_up",
        "compliment": "praise",
        "thanks": "praise",
        "help": "support",
    },
    "outcome": {
        "fixed": "resolved",
        "solved": "resolved",
        "done": "resolved",
        "follow_up": "follow_up_needed",
        "no_reply": "no_answer",
        "voicemail": "no_answer",
        "escalate": "escalated",
        "sent_info": "info_sent",
    },
    "stage": {"lead": "prospect"},
    "severity": {"medium": "normal", "minor": "low", "urgent": "critical", "major": "high"},
    "status": {
        "new": "open",
        "in_hand": "in_progress",
        "working": "in_progress",
        "waiting": "waiting_on_customer",
        "done": "resolved",
        "fixed": "resolved",
    },
    "direction": {
        "in": "inbound",
        "incoming": "inbound",
        "out": "outbound",
        "outgoing": "outbound",
    },
}
_NORMALIZE = re.compile(r"[\s_\-.]+")


def normalize_header(text: object) -> str:
    """The loose form used to match headers: ``'E-mail'`` and ``'Customer ID'`` match.

    >>> normalize_header(" Customer ID"), normalize_header("E-mail")
    ('customerid', 'email')
    """
    return _NORMALIZE.sub("", str(text)).casefold()


OPEN_STATUSES = ("open", "in_progress", "waiting_on_customer")
CLOSED_STATUSES = ("resolved", "closed")


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a contract sheet."""

    name: str
    kind: Kind = "text"
    required: bool = False
    vocabulary: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    references: tuple[str, str] | None = None  # (sheet, column) that must hold the value
    width: int = 14
    description: str = ""
    verbatim: bool = False  # free text kept exactly as typed, leading tabs and spaces included

    @property
    def choices(self) -> tuple[str, ...]:
        return VOCABULARIES[self.vocabulary] if self.vocabulary else ()


@dataclass(frozen=True, slots=True)
class Sheet:
    """One contract sheet: a header row, then one record per row."""

    name: str
    key: str
    columns: tuple[Column, ...]
    id_prefix: str | None = None  # new ids look like C-0001 unless the sheet shows otherwise
    description: str = ""
    unique_key: bool = True
    # Set for sheets a working CRM can do without: what happens when it is missing.
    if_missing: str | None = None
    # Kept by sheetcrm itself (made when first needed); its absence is no problem at all.
    managed: bool = False
    column_by_name: dict[str, Column] = field(init=False, repr=False, compare=False)
    loose_names: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_by_name", {c.name: c for c in self.columns})
        object.__setattr__(
            self, "loose_names", {normalize_header(c.name): c.name for c in self.columns}
        )

    def column(self, name: str) -> Column:
        return self.column_by_name[name]

    @property
    def required(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.required)


def _c(name: str, kind: Kind = "text", **kw: object) -> Column:
    return Column(name, kind, **kw)  # type: ignore[arg-type]


def _customer_ref() -> tuple[str, str]:
    return ("Customers", "customer_id")


def _staff_ref() -> tuple[str, str]:
    return ("Staff", "name")


SHEETS: tuple[Sheet, ...] = (
    Sheet(
        "Customers",
        "customer_id",
        id_prefix="C-",
        description="One row per customer or prospect.",
        columns=(
            _c("customer_id", required=True, width=12, description="unique id, e.g. C-0001"),
            _c("name", required=True, width=24, description="the person's name"),
            _c("company", width=22),
            _c("email", "email", width=28),
            _c("phone", width=16),
            _c(
                "preferred_channel",
                vocabulary="channel",
                width=18,
                description="how they like to be contacted",
            ),
            _c(
                "owner",
                required=True,
                references=_staff_ref(),
                width=14,
                description="the staff member who owns the relationship",
            ),
            _c("stage", required=True, vocabulary="stage", width=12, description="loyalty stage"),
            _c("segment", width=14),
            _c("since", "date", width=12, description="customer since"),
            _c("do_not_contact", "yesno", width=15, description="yes: never contact them"),
            _c("notes", width=40, verbatim=True),
        ),
    ),
    Sheet(
        "Interactions",
        "interaction_id",
        id_prefix="I-",
        description="Every contact with a customer or prospect.",
        columns=(
            _c("interaction_id", required=True, width=12),
            _c("date", "datetime", required=True, width=17, description="date or date and time"),
            _c("customer_id", required=True, references=_customer_ref(), width=12),
            _c("staff", required=True, references=_staff_ref(), width=14),
            _c("channel", required=True, vocabulary="channel", width=11),
            _c("direction", vocabulary="direction", width=11),
            _c("type", required=True, vocabulary="type", width=12),
            _c("summary", required=True, width=48, verbatim=True),
            _c("outcome", vocabulary="outcome", width=17),
            _c(
                "satisfaction",
                "whole",
                minimum=1,
                maximum=5,
                width=12,
                description="score 1 to 5 after service",
            ),
            _c("follow_up_on", "date", width=13),
            _c("complaint_id", references=("Complaints", "complaint_id"), width=13),
        ),
    ),
    Sheet(
        "Complaints",
        "complaint_id",
        id_prefix="K-",
        description="Complaints and their service-level clock.",
        columns=(
            _c("complaint_id", required=True, width=13),
            _c("opened", "datetime", required=True, width=17),
            _c("customer_id", required=True, references=_customer_ref(), width=12),
            _c("channel", vocabulary="channel", width=11),
            _c("category", width=16),
            _c("severity", required=True, vocabulary="severity", width=10),
            _c("summary", required=True, width=44, verbatim=True),
            _c("owner", required=True, references=_staff_ref(), width=14),
            _c("status", required=True, vocabulary="status", width=20),
            _c("first_response", "datetime", width=17),
            _c("resolved", "datetime", width=17),
            _c("resolution", width=40, verbatim=True),
            _c("notify_department", width=18),
        ),
    ),
    Sheet(
        "Sales",
        "order_id",
        id_prefix="S-",
        if_missing="so sales figures are left out of reports",
        description="Orders, for revenue and repeat purchases.",
        columns=(
            _c("order_id", required=True, width=12),
            _c("date", "date", required=True, width=12),
            _c("customer_id", required=True, references=_customer_ref(), width=12),
            _c("amount", "number", required=True, minimum=0, width=12),
            _c("product", width=28),
            _c("staff", references=_staff_ref(), width=14),
        ),
    ),
    Sheet(
        "Staff",
        "name",
        description="Who works here; owners and agents are named as here.",
        columns=(
            _c("name", required=True, width=16),
            _c("email", "email", width=28),
            _c("department", width=16),
            _c("active", "yesno", width=9),
        ),
    ),
    Sheet(
        "SLA",
        "severity",
        if_missing="so the default service levels are used",
        description="Service-level targets per complaint severity.",
        columns=(
            _c("severity", required=True, vocabulary="severity", width=12),
            _c("first_response_hours", "number", required=True, minimum=0, width=21),
            _c("resolution_hours", "number", required=True, minimum=0, width=17),
            _c("business_hours_only", "yesno", width=20),
        ),
    ),
    Sheet(
        "Holidays",
        "date",
        unique_key=False,  # one day may carry two names
        if_missing="so no holidays are taken off business hours",
        description="Days the business is closed; not counted in business hours.",
        columns=(
            _c("date", "date", required=True, width=12),
            _c("name", width=28),
        ),
    ),
    Sheet(
        "Settings",
        "key",
        if_missing="so the default settings are used",
        description="One setting per row.",
        columns=(
            _c("key", required=True, width=24),
            _c("value", width=36),  # empty means the default
        ),
    ),
)

SHEETS += (
    Sheet(
        "Notices",
        "notice_id",
        id_prefix="N-",
        managed=True,
        description="Messages to departments (complaint --notify), sent by email once.",
        columns=(
            _c("notice_id", required=True, width=10),
            _c("created", "datetime", required=True, width=17),
            _c("complaint_id", required=True, references=("Complaints", "complaint_id"), width=13),
            _c("event", required=True, width=10, description="opened or resolved"),
            _c("department", required=True, width=16),
            _c("recipients", width=36, description="the addresses it went to"),
            _c("sent", "datetime", width=17, description="empty until it is sent"),
        ),
    ),
)

SHEET_BY_NAME: dict[str, Sheet] = {s.name: s for s in SHEETS}


@dataclass(frozen=True, slots=True)
class Setting:
    key: str
    default: str
    description: str


SETTINGS: tuple[Setting, ...] = (
    Setting("company_name", "My Business", "shown on reports and emails"),
    Setting("locale", "en", "language of reports: en or nb"),
    Setting("timezone", "Europe/Oslo", "the time zone of every time in the workbook"),
    Setting("currency", "NOK", "currency of Sales amounts"),
    Setting("week_start", "monday", "first day of the reporting week"),
    Setting("business_hours", "09:00-17:00", "opening hours on business days"),
    Setting("business_days", "mon-fri", "days the business is open, e.g. mon-fri or mon-sat"),
    Setting("due_soon_hours", "24", "a complaint target due within this many hours is due soon"),
    Setting("followup_cooldown_days", "7", "no outbound contact this soon after the last one"),
    Setting("at_risk_after_days", "90", "a customer with no contact this long is at risk"),
    Setting("report_recipients", "", "email addresses for the weekly report, comma separated"),
    Setting(
        "report_list_limit",
        "25",
        "most rows a report shows in each list (most pressing first); 0 shows all",
    ),
    Setting("backups_to_keep", "10", "how many previous versions of the workbook to keep"),
    Setting("templates_dir", "", "a folder of your own report templates (optional)"),
    Setting(
        "merged_customers",
        "keep",
        "after customer merge: keep the merged row marked do-not-contact, or remove it",
    ),
)

SETTING_BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}

# Sane service levels for a small shop: critical complaints run on the clock.
DEFAULT_SLA: tuple[tuple[str, float, float, bool], ...] = (
    ("low", 24, 120, True),
    ("normal", 8, 72, True),
    ("high", 4, 24, True),
    ("critical", 1, 8, False),
)


def normalize_choice(text: object) -> str:
    """The loose form of a vocabulary value: ``'In person '`` -> ``'in_person'``."""
    return _NORMALIZE.sub("_", str(text).strip()).strip("_").casefold()


def canonical_choice(vocabulary: str, text: object) -> str | None:
    """The vocabulary word ``text`` means, aliases included; None when it means none.

    >>> canonical_choice("channel", "Call"), canonical_choice("channel", "in person")
    ('phone', 'in_person')
    """
    choice = normalize_choice(text)
    if choice in VOCABULARIES[vocabulary]:
        return choice
    return ALIASES.get(vocabulary, {}).get(choice)


# ---------------------------------------------------------------- the owner's own words
#
# Owners name their sheets and columns in their own words, in English or Norwegian.
# These tables are the ONE place that says which words mean which contract sheet or
# column: the reader (validate, log, reports), the part writer (appends and updates go
# to the owner's own column), ``init --into`` and ``import`` all match through them.
# Words are compared in the loose form of :func:`normalize_header` (case, spaces,
# dashes, dots and underscores ignored). A contract name always wins over a synonym,
# and of two synonyms on one sheet the column further left wins.

SHEET_SYNONYMS: dict[str, tuple[str, ...]] = {
    "Customers": (
        "Customer",
        "Customer list",
        "Client list",
        "Clients",
        "Kunder",
        "Kunde",
        "Kundeliste",
        "Kunderegister",
        "Kundeoversikt",
        "Klienter",
    ),
    "Interactions": (
        "Interaction log",
        "Contact log",
        "Activities",
        "Activity log",
        "Henvendelser",
        "Kontaktlogg",
        "Aktiviteter",
    ),
    "Complaints": ("Complaint log", "Cases", "Klager", "Reklamasjoner", "Saker"),
    "Sales": ("Orders", "Sales log", "Salg", "Ordrer", "Bestillinger"),
    "Staff": ("Employees", "Team", "Ansatte", "Medarbeidere", "Personale"),
    "Holidays": ("Helligdager", "Fridager", "Closed days"),
    "Settings": ("Innstillinger", "Oppsett"),
    "Notices": ("Varsler",),
}

HEADER_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "Customers": {
        "customer_id": (
            "id",
            "customer no",
            "customer number",
            "cust id",
            "kunde id",
            "kundeid",
            "kundenr",
            "kundenummer",
        ),
        "name": (
            "customer name",
            "full name",
            "contact name",
            "customer",
            "navn",
            "kunde",
            "kundenavn",
            "fullt navn",
            "kontaktperson",
        ),
        "company": (
            "company name",
            "organisation",
            "organization",
            "business",
            "firma",
            "firmanavn",
            "bedrift",
            "selskap",
        ),
        "email": (
            "e-mail",
            "mail",
            "email address",
            "e-mail address",
            "e-post",
            "epost",
            "e-postadresse",
            "mailadresse",
        ),
        "phone": (
            "mobile",
            "telephone",
            "tel",
            "cell",
            "phone number",
            "mobile number",
            "telefon",
            "tlf",
            "mobil",
            "telefonnummer",
            "mobilnummer",
        ),
        "preferred_channel": ("channel", "contact by", "kanal", "foretrukket kanal"),
        "owner": (
            "account owner",
            "contact owner",
            "sales rep",
            "ansvarlig",
            "kundeansvarlig",
            "selger",
        ),
        "stage": ("lifecycle stage", "loyalty stage", "fase", "kundefase"),
        "segment": ("customer group", "kundegruppe", "kundetype"),
        "since": (
            "customer since",
            "member since",
            "kunde siden",
            "kunde fra",
            "kundeforhold fra",
            "registrert",
        ),
        "do_not_contact": ("do not call", "opt out", "ikke kontakt", "reservert"),
        "notes": ("note", "comments", "comment", "notater", "notat", "kommentar", "merknad"),
    },
    "Interactions": {
        "interaction_id": ("id", "log id"),
        "date": ("when", "time", "dato", "tidspunkt", "når"),
        "customer_id": ("customer", "kunde", "kunde id", "kundenr"),
        "staff": ("agent", "handled by", "employee", "ansatt", "saksbehandler"),
        "channel": ("kanal", "via"),
        "direction": ("retning", "inn/ut"),
        "type": ("kind", "contact type", "henvendelsestype"),
        "summary": ("description", "notes", "what", "beskrivelse", "sammendrag", "notat"),
        "outcome": ("result", "resultat", "utfall"),
        "satisfaction": ("score", "rating", "tilfredshet", "fornøydhet", "vurdering"),
        "follow_up_on": ("follow up", "follow-up date", "oppfølging", "følg opp"),
        "complaint_id": ("complaint", "klage", "klage id"),
    },
    "Complaints": {
        "complaint_id": ("id", "case", "case id", "klage id", "sak", "saksnr"),
        "opened": ("date", "opened on", "dato", "åpnet", "mottatt"),
        "customer_id": ("customer", "kunde", "kunde id", "kundenr"),
        "channel": ("kanal",),
        "category": ("kategori",),
        "severity": ("priority", "prioritet", "alvorlighet", "alvorlighetsgrad"),
        "summary": ("description", "beskrivelse", "sammendrag"),
        "owner": ("assigned to", "ansvarlig", "saksbehandler"),
        "first_response": ("first reply", "første svar"),
        "resolved": ("resolved on", "closed on", "løst", "løst dato"),
        "resolution": ("løsning",),
        "notify_department": ("notify", "varsle avdeling"),
    },
    "Sales": {
        "order_id": ("order", "order no", "order number", "invoice", "ordre", "ordrenr"),
        "date": ("order date", "dato", "ordredato"),
        "customer_id": ("customer", "kunde", "kunde id", "kundenr"),
        "amount": ("total", "sum", "price", "beløp", "belop", "pris", "totalt"),
        "product": ("item", "produkt", "vare"),
        "staff": ("sold by", "seller", "selger", "ansatt"),
    },
    "Staff": {
        "name": ("navn", "employee"),
        "email": ("e-mail", "mail", "e-post", "epost"),
        "department": ("dept", "avdeling"),
        "active": ("aktiv",),
    },
    "Holidays": {"date": ("dato",), "name": ("navn", "holiday", "helligdag")},
    "Settings": {"key": ("setting", "innstilling"), "value": ("verdi",)},
}


# A file with no name column but a first and a last name column (many exports):
# import joins the two into ``name``.
NAME_PARTS: tuple[tuple[str, ...], tuple[str, ...]] = (
    ("first name", "firstname", "given name", "fornavn"),
    ("last name", "lastname", "surname", "family name", "etternavn"),
)


def _loose_words(words: dict[str, tuple[str, ...]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for target, synonyms in words.items():
        for word in synonyms:
            out.setdefault(normalize_header(word), target)
    return out


_SHEET_WORDS: dict[str, str] = _loose_words(SHEET_SYNONYMS)
_HEADER_WORDS: dict[str, dict[str, str]] = {
    sheet: _loose_words(words) for sheet, words in HEADER_SYNONYMS.items()
}


def find_sheet(name: str) -> Sheet | None:
    """The contract sheet an owner's sheet name means, matched loosely, synonyms included.

    >>> find_sheet("customer_list").name, find_sheet("Kunder").name, find_sheet("Stock")
    ('Customers', 'Customers', None)
    """
    wanted = normalize_header(name)
    for sheet in SHEETS:
        if normalize_header(sheet.name) == wanted:
            return sheet
    synonym = _SHEET_WORDS.get(wanted)
    return SHEET_BY_NAME[synonym] if synonym else None


def column_for_header(sheet: Sheet, text: object) -> str | None:
    """The contract column a header cell names, by its own name or a synonym.

    >>> customers = SHEET_BY_NAME["Customers"]
    >>> [column_for_header(customers, h) for h in ("E-post", "Kunde siden", "Stock")]
    ['email', 'since', None]
    """
    loose = normalize_header(text)
    if loose in sheet.loose_names:
        return sheet.loose_names[loose]
    return _HEADER_WORDS.get(sheet.name, {}).get(loose)


def match_headers(sheet: Sheet, headers: Sequence[tuple[int, object]]) -> dict[str, int]:
    """Which header cell (by position) holds each contract column: names first, then synonyms.

    A column the owner named exactly as the contract does always wins over a
    synonym elsewhere in the row; of two cells meaning one column the left one wins.

    >>> match_headers(SHEET_BY_NAME["Customers"], [(0, "Navn"), (1, "E-post"), (2, "name")])
    {'name': 2, 'email': 1}
    """
    found: dict[str, int] = {}
    for position, text in headers:
        if isinstance(text, str) and normalize_header(text) in sheet.loose_names:
            found.setdefault(sheet.loose_names[normalize_header(text)], position)
    words = _HEADER_WORDS.get(sheet.name, {})
    for position, text in headers:
        if not isinstance(text, str) or position in found.values():
            continue
        column = words.get(normalize_header(text))
        if column is not None and column not in found:
            found[column] = position
    return found


def to_markdown() -> str:
    """The contract as the Markdown table the README carries."""
    lines = [
        "| sheet | column | type | required | allowed values / rule |",
        "|---|---|---|---|---|",
    ]
    for sheet in SHEETS:
        for col in sheet.columns:
            rule = ", ".join(col.choices)
            if col.minimum is not None or col.maximum is not None:
                lo = "" if col.minimum is None else f"{col.minimum:g}"
                hi = "" if col.maximum is None else f"{col.maximum:g}"
                rule = f"{lo} to {hi}" if hi else f"at least {lo}"
            if col.references:
                rule = f"must exist in {col.references[0]}.{col.references[1]}"
            if col.name == sheet.key and sheet.unique_key:
                rule = (rule + "; " if rule else "") + "unique"
            req = "yes" if col.required else ""
            lines.append(f"| {sheet.name} | {col.name} | {col.kind} | {req} | {rule} |")
    return "\n".join(lines) + "\n"


# What an erased customer's name and texts read afterwards (``customer erase``); the
# duplicate search and the export know it is no one.
ERASED = "(erased)"
