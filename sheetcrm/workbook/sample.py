"""A believable small business for ``sheetcrm init --sample``, the docs and the tests.

Why one module (~1,400 lines): most of it is the sample business itself (people,
products, stories), generated from one seeded random source; split, the same
seed would no longer give the same workbook.

Sykkelverkstedet Bergen is a bicycle shop with a workshop: four staff (one of
them has left), about fifty customers on every rung of the loyalty ladder, six
months of calls, emails and visits, complaints in every state of their service
level clock, two years of sales with repeat buyers, and the Norwegian public
holidays.

Everything comes from ``random.Random(seed)`` and the ``today`` argument: no
clock reads and no set or dict ordering, so the same arguments always give the
same records (and, through :func:`write_sample_workbook`, the same file).
Records are keyed by contract sheet name and contract column names.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TypeVar

from sheetcrm import contract
from sheetcrm.workbook.business_time import BusinessCalendar

__all__ = [
    "AS_OF_TIME",
    "COMPANY_NAME",
    "SAMPLE_TODAY",
    "SEED",
    "norwegian_holidays",
    "sample_records",
    "write_sample_workbook",
]

SAMPLE_TODAY = date(2026, 11, 20)
#: The moment of ``today`` the story is told up to (nothing happens later that day).
AS_OF_TIME = time(15, 0)
SEED = 20261120
COMPANY_NAME = "Sykkelverkstedet Bergen"
STAFF_DOMAIN = "sykkelverkstedet.test"
HISTORY_DAYS = 182  # six months of interactions
SALES_DAYS = 730  # two years of sales

Record = dict[str, object]
_T = TypeVar("_T")

_SHEET = contract.SHEET_BY_NAME
_CUSTOMERS = _SHEET["Customers"]
_INTERACTIONS = _SHEET["Interactions"]
_COMPLAINTS = _SHEET["Complaints"]
_SALES = _SHEET["Sales"]
_STAFF = _SHEET["Staff"]
_NOTICES = _SHEET["Notices"]
_SLA = _SHEET["SLA"]
_HOLIDAYS = _SHEET["Holidays"]
_SETTINGS = _SHEET["Settings"]

_VOCAB = contract.VOCABULARIES
_YES, _NO = "yes", "no"


def sample_records(today: date = SAMPLE_TODAY, *, seed: int = SEED) -> dict[str, list[Record]]:
    """The sample business as rows for every contract sheet, told up to ``today`` 15:00."""
    # The lapsed customers' earlier orders draw from their own stream, so adding
    # them leaves every other draw of the story (and so its figures) as it was.
    return _Story(today, random.Random(seed), random.Random(f"{seed}-lapsed")).build()


def write_sample_workbook(
    path: Path | str, today: date = SAMPLE_TODAY, *, overwrite: bool = False, seed: int = SEED
) -> None:
    """``sheetcrm init PATH --sample``: the sample business in a new workbook.

    The workbook's creation time is ``today`` 09:00, so the file is reproducible.
    """
    from sheetcrm.workbook.newbook import create_workbook

    create_workbook(
        path,
        sample_records(today, seed=seed),
        overwrite=overwrite,
        created=datetime.combine(today, time(9, 0)),
        title=f"{COMPANY_NAME} CRM",
    )


# --------------------------------------------------------------------------- holidays


def easter(year: int) -> date:
    """Easter Sunday (Gregorian; the anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


def norwegian_holidays(year: int) -> list[tuple[date, str]]:
    """Norway's public holidays, plus Christmas Eve and New Year's Eve (the shop is closed)."""
    easter_sunday = easter(year)
    days = [
        (date(year, 1, 1), "New Year's Day"),
        (easter_sunday - timedelta(days=3), "Maundy Thursday"),
        (easter_sunday - timedelta(days=2), "Good Friday"),
        (easter_sunday, "Easter Sunday"),
        (easter_sunday + timedelta(days=1), "Easter Monday"),
        (date(year, 5, 1), "Labour Day"),
        (date(year, 5, 17), "Constitution Day"),
        (easter_sunday + timedelta(days=39), "Ascension Day"),
        (easter_sunday + timedelta(days=49), "Whit Sunday"),
        (easter_sunday + timedelta(days=50), "Whit Monday"),
        (date(year, 12, 24), "Christmas Eve (shop closed)"),
        (date(year, 12, 25), "Christmas Day"),
        (date(year, 12, 26), "Boxing Day"),
        (date(year, 12, 31), "New Year's Eve (shop closed)"),
    ]
    merged: dict[date, str] = {}
    for day, name in sorted(days):  # Whit Monday can fall on 17 May (2027)
        merged[day] = f"{merged[day]} and {name}" if day in merged else name
    return list(merged.items())


# --------------------------------------------------------------------------- the clock


def _default_calendar(holidays: frozenset[date]) -> BusinessCalendar:
    setting = contract.SETTING_BY_KEY
    return BusinessCalendar.from_settings(
        business_hours=setting["business_hours"].default,
        business_days=setting["business_days"].default,
        holidays=holidays,
        timezone=setting["timezone"].default,
    )


@dataclass(frozen=True)
class _Clock:
    """The SLA clock of a new workbook: its default Settings and the holidays.

    The hours and days are :class:`BusinessCalendar`'s (one parser for Settings).
    ``add``/``sub`` walk naive local times and can go backwards, which the
    calendar (time-zone aware, forward only) does not need to; business hours
    never span a daylight-saving change, so the two agree.
    """

    calendar: BusinessCalendar

    @property
    def opens(self) -> time:
        return self.calendar.opens

    @property
    def closes(self) -> time:
        return self.calendar.closes

    def is_open_day(self, day: date) -> bool:
        return self.calendar.is_business_day(day)

    def _span(self, day: date) -> tuple[datetime, datetime]:
        return datetime.combine(day, self.opens), datetime.combine(day, self.closes)

    def elapsed(self, start: datetime, end: datetime, business: bool) -> float:
        """Hours on the SLA clock from ``start`` to ``end``."""
        if not business:
            return (end - start).total_seconds() / 3600
        total = 0.0
        day = start.date()
        while day <= end.date():
            if self.is_open_day(day):
                lo, hi = self._span(day)
                lo, hi = max(lo, start), min(hi, end)
                if hi > lo:
                    total += (hi - lo).total_seconds() / 3600
            day += timedelta(days=1)
        return total

    def add(self, start: datetime, hours: float, business: bool) -> datetime:
        """The moment ``hours`` on the SLA clock after ``start``."""
        if not business:
            return start + timedelta(hours=hours)
        left = timedelta(hours=hours)
        day = start.date()
        while True:
            if self.is_open_day(day):
                lo, hi = self._span(day)
                lo = max(lo, start)
                if hi > lo:
                    if left <= hi - lo:
                        return lo + left
                    left -= hi - lo
            day += timedelta(days=1)

    def sub(self, end: datetime, hours: float, business: bool) -> datetime:
        """The moment ``hours`` on the SLA clock before ``end``."""
        if not business:
            return end - timedelta(hours=hours)
        left = timedelta(hours=hours)
        day = end.date()
        while True:
            if self.is_open_day(day):
                lo, hi = self._span(day)
                hi = min(hi, end)
                if hi > lo:
                    if left <= hi - lo:
                        return hi - left
                    left -= hi - lo
            day -= timedelta(days=1)


def _sla_targets() -> dict[str, tuple[float, float, bool]]:
    return {
        sev: (first, resolve, business) for sev, first, resolve, business in contract.DEFAULT_SLA
    }


# --------------------------------------------------------------------------- the cast

# name, email local part, department, active
_STAFF_ROWS: tuple[tuple[str, str, str, bool], ...] = (
    ("Ingrid", "ingrid", "Sales", True),
    ("Øyvind", "oyvind", "Workshop", True),
    ("Amira", "amira", "Finance", True),
    ("Jonas", "jonas", "Workshop", False),
)
_OWNER_NAME = "Ingrid"  # runs the shop and the weekly report
_SALES_STAFF, _WORKSHOP_STAFF, _FINANCE_STAFF, _LEFT_STAFF = (s[0] for s in _STAFF_ROWS)
_LEFT_DAYS_AGO = 96  # Jonas left about three months ago

# name, company, stage, segment, buying rhythm (M ~30 days, Q ~90, H ~180, O once,
# R a few times, "" never)
_CAST: tuple[tuple[str, str, str, str, str], ...] = (
    ("Kjetil Fosse", "Bergen Sykkelklubb", "partner", "club", "M"),
    ("Birgitte Rasmussen", "Fjord Bike Tours AS", "partner", "business", "M"),
    ("Bjørn Ødegård", "", "advocate", "sport", "M"),
    ("Ingvild Sæther", "", "advocate", "e-bike", "Q"),
    ("Olumide Adeyemi", "", "advocate", "commuter", "Q"),
    ("Ragnhild Øvrebø", "", "advocate", "sport", "Q"),
    ("Lukas Müller", "", "advocate", "sport", "M"),
    ("Åse Løvås", "", "supporter", "e-bike", "Q"),
    ("Håkon Bråthen", "", "supporter", "commuter", "Q"),
    ("Solveig Dahl", "", "supporter", "family", "H"),
    ("Anna Kowalska", "", "supporter", "commuter", "Q"),
    ("Henrik Sørensen", "Bryggen Hotell AS", "supporter", "business", "Q"),
    ("Priya Raman", "", "supporter", "e-bike", "H"),
    ("Eivind Ulvik", "", "supporter", "sport", "Q"),
    ("Siobhán O'Neill", "", "supporter", "commuter", "H"),
    ("Magnus Halvorsen", "Bergen Budservice AS", "client", "business", "M"),
    ("Nora Lie", "", "client", "commuter", "Q"),
    ("Tor Einar Strøm", "", "client", "sport", "Q"),
    ("Marit Aasen", "", "client", "family", "H"),
    ("Chen Wei", "", "client", "e-bike", "Q"),
    ("Fatima Yusuf", "", "client", "commuter", "H"),
    ("Sofia Lindqvist", "", "client", "sport", "H"),
    ("Kristoffer Hågensen", "", "client", "commuter", "Q"),
    ("Hanne Bøe", "Nøstet Kaffebar", "client", "business", "H"),
    ("Oddvar Rød", "", "client", "family", "H"),
    ("Élodie Martin", "", "client", "e-bike", "Q"),
    ("Dmitri Ivanov", "", "client", "sport", "R"),
    ("Sindre Fjeld", "", "customer", "commuter", "R"),
    ("Ola Tveit", "", "customer", "family", "O"),
    ("Silje Mæland", "", "customer", "e-bike", "O"),
    ("Per Ivar Nygård", "", "customer", "commuter", "R"),
    ("Ida Rønning", "", "customer", "family", "O"),
    ("Jørgen Vik", "", "customer", "sport", "R"),
    ("Camilla Eide", "", "customer", "commuter", "O"),
    ("Anders Grønli", "", "customer", "e-bike", "O"),
    ("Liv Hjelmeland", "", "customer", "family", "R"),
    ("José García", "", "customer", "commuter", "O"),
    ("Mateusz Nowak", "", "customer", "commuter", "R"),
    ("Yuki Tanaka", "", "customer", "sport", "O"),
    ("Aisha Rahman", "", "customer", "family", "O"),
    ("Nils Åkerlund", "", "customer", "sport", "R"),
    ("Emma Solheim", "", "customer", "commuter", "O"),
    ("Ahmed Hassan", "", "customer", "commuter", "R"),
    ("Martine Skog", "", "customer", "family", "O"),
    ("Thea Myklebust", "", "prospect", "family", ""),
    ("Steinar Aarø", "", "prospect", "e-bike", ""),
    ("Guro Haugland", "Nordnes Barnehage", "prospect", "business", ""),
    ("Mohammed Al-Sayed", "", "prospect", "commuter", ""),
    ("Vegard Holm", "", "prospect", "sport", ""),
    ("Lena Fischer", "", "prospect", "e-bike", ""),
    ("Ane Marie Brekke", "Vestland Eiendom AS", "prospect", "business", ""),
    ("Eirik Kjær", "", "prospect", "commuter", ""),
)
_DO_NOT_CONTACT = ("Jørgen Vik", "Dmitri Ivanov", "Vegard Holm")
_GONE_QUIET = ("Marit Aasen", "Kristoffer Hågensen", "Håkon Bråthen", "Per Ivar Nygård")
_NEW_THIS_HALF_YEAR = ("Camilla Eide", "Anders Grønli", "Emma Solheim", "Martine Skog")
# Good repeat customers who stopped buying: a run of regular orders that ended
# seven to eleven months ago (lost), and regulars whose orders thinned out before
# the last half-year (fading). Without them nobody ever stops buying and the
# customer-value fit has no dropout to find. All their extra orders fall before
# the six months of interactions, so the everyday story is unchanged.
_LAPSED = ("Sindre Fjeld", "Ahmed Hassan", "Mateusz Nowak", "Silje Mæland", "Aisha Rahman")
_FADING = ("Sofia Lindqvist", "Solveig Dahl", "Fatima Yusuf", "Priya Raman")
_PREFERS = {"Oddvar Rød": "letter", "Magnus Halvorsen": "email", "Birgitte Rasmussen": "email"}
_NOTES = {
    "Kjetil Fosse": "Club chair; invoices to the club, 10% club discount",
    "Birgitte Rasmussen": "Rental fleet of 14 e-bikes; service contract, invoice monthly",
    "Magnus Halvorsen": "Courier company, 6 cargo bikes; needs bikes back the same day",
    "Henrik Sørensen": "Guest bikes for the hotel; contact reception if he is away",
    "Oddvar Rød": "Prefers letters; no email",
    "Jørgen Vik": "Asked not to be contacted with offers (2025)",
    "Dmitri Ivanov": "Does not want calls or newsletters; comes in himself",
    "Vegard Holm": "Asked us not to contact him again",
    "Bjørn Ødegård": "Races in Bergen Sykkelklubb; recommends us to club members",
    "Ingvild Sæther": "Two e-bikes in the family; left a great review in 2025",
    "Guro Haugland": "Kindergarten wants a cargo bike for trips",
    "Siobhán O'Neill": "Commutes from Fyllingsdalen all year",
}
_ACTIVITY = {
    "prospect": 0.6, "customer": 1.0, "client": 1.6,
    "supporter": 2.0, "advocate": 2.6, "partner": 3.5,
}  # fmt: skip

# --------------------------------------------------------------------------- the shop

_BIKES: tuple[tuple[str, int], ...] = (
    ("DBS Intruder hybrid", 8990),
    ("Giant Escape 2", 9490),
    ("Trek FX 3 Disc", 12990),
    ("Trek Marlin 7", 13490),
    ("Merida Big.Nine 300", 11490),
    ("Kids' bike 24\" (Trek Precaliber)", 8990),
    ("Scott Addict 30", 27990),
    ("Cube Kathmandu Hybrid e-bike", 34990),
    ("Kalkhoff Endeavour 5 e-bike", 36990),
    ("Specialized Turbo Vado 4.0", 42990),
    ("Tern GSD cargo e-bike", 57990),
    ("Riese & Müller Charger4", 59990),
)
_SERVICES: tuple[tuple[str, int, int], ...] = (
    ("Puncture repair", 450, 550),
    ("Gear adjustment", 450, 650),
    ("Wheel truing", 450, 700),
    ("Brake bleed", 590, 790),
    ("Basic service", 790, 990),
    ("Winter check and studded tyres fitted", 690, 990),
    ("Full service", 1690, 2290),
    ("E-bike service", 1490, 2500),
)
_PARTS: tuple[tuple[str, int, int], ...] = (
    ("Inner tube", 100, 150),
    ("Brake pads", 199, 349),
    ("Chain", 299, 549),
    ("Mudguards", 299, 499),
    ("LED light set", 349, 799),
    ("Tyre, Continental", 399, 599),
    ("Saddle", 399, 899),
    ("Bike lock", 449, 899),
    ("Cassette", 449, 899),
    ("Studded winter tyre", 599, 899),
    ("Helmet", 599, 899),
)
_BIKE_WORDS = tuple(name for name, _ in _BIKES)
_PART_WORDS = (
    "brake pads", "chain", "cassette", "studded tyres", "rear tyre", "mudguards",
    "front light", "saddle", "pedals", "bottom bracket", "derailleur hanger", "charger",
)  # fmt: skip
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")

# summaries by type and direction; {bike} {part} {weekday} {n} {inv} {colleague} are filled in
_SUMMARIES: dict[str, dict[str, tuple[str, ...]]] = {
    "enquiry": {
        "inbound": (
            "Asked about price and delivery time for a {bike}",
            "Wants to book a service before the winter; asked for the first free slot",
            "Asked if we fit studded winter tyres and how long it takes",
            "Question about e-bike battery range in cold weather",
            "Asked whether {part} for a {bike} is in stock",
            "Wants to trade in an old bike against a {bike}",
            "Asked about opening hours around Christmas",
            "Wants a quote for servicing {n} bikes",
            "Asked about child seats and trailers",
            "Asked if we do bike fitting and what it costs",
            "Asked about the warranty terms for the {bike}",
            "Asked about paying for an e-bike in instalments",
            "Wants to test ride a {bike} on {weekday}",
            "Asked if we can collect the bike from home for service",
        ),
        "outbound": (
            "Sent the quote for a {bike} as promised",
            "Called to say the {part} they asked about is back in stock",
            "Emailed the winter service price list",
            "Sent details of the e-bike test ride day",
        ),
    },
    "support": {
        "inbound": (
            "Puncture on the rear wheel; booked in for repair on {weekday}",
            "E-bike battery not holding charge; booked a battery check",
            "Gears skipping; asked them to bring the bike in",
            "Squeaking disc brakes; advised cleaning, check booked if it continues",
            "Display on the {bike} shows an error code; booked diagnosis",
            "Chain keeps coming off; booked an adjustment",
            "Wants studded tyres fitted; booked for {weekday}",
            "Needed help pairing the e-bike with the app; sorted on the phone",
            "Loose headset; tightened it on the spot in the shop",
            "Broken spoke on the rear wheel; wheel truing booked",
            "Collected the bike after service; went through the work done",
            "Brake lever feels soft; brake bleed booked for {weekday}",
            "Charger stopped working; lent a spare while we check it",
            "Creaking from the bottom bracket; booked in for {weekday}",
        ),
        "outbound": (
            "Called to say the bike is ready for collection",
            "Texted that the service is done and the bike can be collected",
            "Told them the {part} is delayed a week at the supplier",
            "Called to get approval to replace the worn {part}",
        ),
    },
    "follow_up": {
        "outbound": (
            "Checked how the bike rides after the service; all good",
            "Followed up on the battery check; new battery ordered",
            "Reminder: the yearly service is due",
            "Followed up on the quote for the {bike}",
            "Asked how the new {bike} works after the first month",
            "Checked that the brake adjustment stopped the noise",
            "Offered a winter check before the first snow",
            "Followed up on the test ride; thinking about it",
        ),
    },
    "praise": {
        "inbound": (
            "Thanked {colleague} for the quick puncture repair",
            "Very happy with the new {bike}; the fitting made a big difference",
            "Left a five-star review after the service",
            "Praised the workshop for finishing the repair a day early",
            "Thanked us for honest advice: only needed new {part}, not a new bike",
            "Loved the beginners' e-bike evening",
            "Recommended us to a colleague who will come by",
            "Said the studded tyres made the winter commute safe",
        ),
    },
    "feedback": {
        "inbound": (
            "Suggests opening on Saturdays in spring",
            "Would like a text message before the bike is ready",
            "Thought the service price was high but the work good",
            "Wants more kids' bikes in stock",
            "Found the online booking form confusing",
            "Likes the new coffee corner in the shop",
            "Asks for longer opening hours on Thursdays",
        ),
        "outbound": ("Asked for feedback on the new booking system",),
    },
    "survey": {
        "outbound": (
            "Sent the satisfaction survey after the service",
            "Short phone survey after the purchase",
            "Sent the yearly customer survey",
        ),
    },
    "other": {
        "inbound": (
            "New address and phone number",
            "Asked for a copy of the receipt for the insurance",
            "Lost the key for the bike lock; ordered a spare",
            "Returned the courtesy bike",
            "Left a bike for storage over the winter",
        ),
        "outbound": ("Reminded them to collect the stored bike",),
    },
}
_FINANCE_SUMMARIES: dict[str, tuple[str, ...]] = {
    "inbound": (
        "Asked for a corrected invoice with the organisation number on it",
        "Asked to pay the new e-bike in instalments; payment plan agreed",
        "Asked to receive invoices as EHF",
        "Asked why invoice {inv} shows a late fee",
    ),
    "outbound": (
        "Payment reminder sent for invoice {inv}",
        "Confirmed the refund for the returned {part} is paid",
        "Sent the statement of account for the quarter",
    ),
}
_SALE_SUMMARIES = (
    "Bought {product}",
    "Bought {product}; paid by card",
    "Picked up and paid: {product}",
    "{product}, paid in the shop",
)

# category: owner department staff, summaries, resolutions, notify when not handled there
_COMPLAINT_STORIES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], str]] = {
    "repair quality": (
        _WORKSHOP_STAFF,
        (
            "Brakes still squeal after a paid brake service",
            "Gears skip again two days after the service",
            "Wheel came back from truing still wobbling",
            "Scratch on the frame after the workshop visit",
            "Puncture again the day after the puncture repair",
        ),
        (
            "Redid the adjustment free of charge and test rode it with the customer",
            "Replaced the rim tape and tube; no charge",
            "Touched up the paint and gave 20% off the next service",
            "Rebuilt the wheel under our workmanship guarantee",
        ),
        "",
    ),
    "waiting time": (
        _WORKSHOP_STAFF,
        (
            "Service took two weeks instead of the promised three days",
            "Nobody called when the bike was ready",
            "Waited 40 minutes in the shop to collect the bike",
        ),
        (
            "Apologised and waived the service fee",
            "Lent a courtesy bike and finished the repair the next morning",
            "Added SMS notice when bikes are ready; apologised",
        ),
        "",
    ),
    "product fault": (
        _SALES_STAFF,
        (
            "E-bike battery died after eight months",
            "Display on the new e-bike keeps restarting",
            "Cracked seatpost after three rides",
            "Dynamo light stopped working after a week",
            "Grinding noise from the rear hub of a new bike",
        ),
        (
            "Battery replaced under warranty; claim filed with the supplier",
            "Display replaced; supplier credit requested",
            "Seatpost replaced with a stronger model at no cost",
            "Hub replaced under warranty",
        ),
        "Workshop",
    ),
    "delivery": (
        _SALES_STAFF,
        (
            "Ordered bike has not arrived after six weeks",
            "Wrong frame size delivered",
            "Web order sent to the old address",
        ),
        (
            "Offered an in-stock model at the same price; customer accepted",
            "Exchanged for the right size the same day",
            "Courier collected and redelivered; shipping refunded",
        ),
        "",
    ),
    "billing": (
        _FINANCE_STAFF,
        (
            "Charged twice for the same service",
            "Invoice lists parts that were not fitted",
            "Promised club discount missing from the invoice",
            "Refund for a returned helmet not received",
        ),
        (
            "Refunded the double charge",
            "Sent a corrected invoice",
            "Credited the discount on the next invoice",
            "Refund paid the same day",
        ),
        "Finance",
    ),
    "staff attitude": (
        _SALES_STAFF,
        (
            "Felt brushed off when asking about the warranty",
            "Staff member was short with them on the phone",
        ),
        (
            "Ingrid called to apologise; talked it through with the team",
            "Apologised in person and offered a free safety check",
        ),
        "",
    ),
}

# scenario, severity, status: the 40 complaints of the story
_COMPLAINT_PLAN: tuple[tuple[str, str, str], ...] = (
    *(("first_contact", sev, st) for sev, st in (
        ("low", "closed"), ("low", "resolved"), ("low", "closed"), ("normal", "closed"),
        ("normal", "resolved"), ("normal", "closed"), ("normal", "closed"), ("high", "resolved"),
    )),
    *(("on_time", sev, st) for sev, st in (
        ("low", "closed"), ("low", "resolved"), ("low", "closed"), ("normal", "closed"),
        ("normal", "closed"), ("normal", "resolved"), ("normal", "closed"), ("normal", "closed"),
        ("high", "closed"), ("high", "resolved"), ("critical", "closed"), ("critical", "resolved"),
    )),
    *(("late", sev, st) for sev, st in (
        ("low", "closed"), ("normal", "closed"), ("normal", "resolved"), ("normal", "closed"),
        ("high", "resolved"), ("critical", "closed"),
    )),
    *(("breached", sev, st) for sev, st in (
        ("normal", "in_progress"), ("normal", "open"), ("high", "in_progress"),
        ("low", "in_progress"),
    )),
    *(("due_soon", sev, "in_progress") for sev in ("high", "critical", "normal")),
    *(("fresh", sev, st) for sev, st in (
        ("low", "open"), ("normal", "open"), ("normal", "in_progress"), ("high", "open"),
    )),
    *(("waiting", sev, "waiting_on_customer") for sev in ("normal", "normal", "low")),
)  # fmt: skip

_RESPONSES = (
    "Got back to the customer about the complaint; arranged to look into it",
    "Apologised and promised an answer by tomorrow",
    "Replied with an apology and a plan to put it right",
    "Apologised; checking the details with the team",
)
_AWAKE = (time(7, 0), time(21, 0))
_WAITING = (
    "Asked the customer for photos and the receipt; waiting for a reply",
    "Asked the customer to bring the bike in; no time agreed yet",
    "Sent the warranty form to fill in; waiting for it",
)


# --------------------------------------------------------------------------- the story


@dataclass
class _Customer:
    name: str
    company: str
    stage: str
    segment: str
    rhythm: str
    since: date | None = None
    first_contact: date | None = None
    quiet_from: date | None = None  # nothing happens from this day on
    do_not_contact: bool = False
    preferred: str = "email"
    owner: str = _SALES_STAFF
    email: str = ""
    phone: str = ""
    customer_id: str = ""
    last_outbound: date | None = None


@dataclass
class _Interaction:
    when: datetime
    customer: _Customer
    staff: str
    channel: str
    direction: str
    type: str
    summary: str
    outcome: str | None = None
    satisfaction: int | None = None
    follow_up_on: date | None = None
    complaint: _Complaint | None = None


@dataclass
class _Complaint:
    scenario: str
    severity: str
    status: str
    customer: _Customer
    category: str
    owner: str
    channel: str
    summary: str
    opened: datetime
    first_response: datetime | None = None
    resolved: datetime | None = None
    resolution: str = ""
    notify_department: str = ""
    complaint_id: str = ""
    extras: list[_Interaction] = field(default_factory=list)


class _Story:
    def __init__(self, today: date, rng: random.Random, lapse_rng: random.Random) -> None:
        self.today = today
        self.rng = rng
        self.lapse_rng = lapse_rng
        self.as_of = datetime.combine(today, AS_OF_TIME)
        self.start = today - timedelta(days=HISTORY_DAYS)
        self.sales_start = today - timedelta(days=SALES_DAYS)
        self.left_on = today - timedelta(days=_LEFT_DAYS_AGO)
        years = range(self.sales_start.year, today.year + 2)
        self.holidays = [h for y in years for h in norwegian_holidays(y)]
        self.clock = _Clock(_default_calendar(frozenset(d for d, _ in self.holidays)))
        self.sla = _sla_targets()
        self.customers: list[_Customer] = []
        self.interactions: list[_Interaction] = []
        self.complaints: list[_Complaint] = []
        self.sales: list[tuple[date, _Customer, float, str, str | None]] = []
        self.complaint_outbound: dict[str, list[_Interaction]] = {}

    # ------------------------------------------------------------------ building

    def build(self) -> dict[str, list[Record]]:
        self._cast()
        self._sell()
        self._lapse()
        self._complain()
        self._talk()
        self._follow_ups()
        return self._records()

    def _cast(self) -> None:
        rng = self.rng
        used_emails: list[str] = []
        for name, company, stage, segment, rhythm in _CAST:
            c = _Customer(name, company, stage, segment, rhythm)
            if stage == "prospect":
                c.first_contact = self.start + timedelta(days=rng.randint(10, HISTORY_DAYS - 4))
            elif name in _NEW_THIS_HALF_YEAR:
                c.since = self.start + timedelta(days=rng.randint(5, HISTORY_DAYS - 30))
            else:
                oldest = {"partner": 2014, "advocate": 2015, "supporter": 2016, "client": 2017}
                first = date(oldest.get(stage, 2020), 1, 1)
                span = (self.start - timedelta(days=30) - first).days
                c.since = first + timedelta(days=rng.randint(0, span))
            c.since = self._open_day(c.since) if c.since else None
            if name in _GONE_QUIET:  # last contact that day, nothing since
                c.quiet_from = self._open_day(self.today - timedelta(days=rng.randint(100, 150)))
            c.do_not_contact = name in _DO_NOT_CONTACT
            c.preferred = _PREFERS.get(name) or _weighted(
                rng, {"email": 30, "phone": 25, "sms": 20, "in_person": 10, "social": 8, "web": 5}
            )
            if company and rng.random() < 0.6:
                c.owner = _FINANCE_STAFF
            elif segment in ("sport", "e-bike") and rng.random() < 0.6:
                c.owner = _WORKSHOP_STAFF
            else:
                c.owner = _SALES_STAFF if rng.random() < 0.65 else _WORKSHOP_STAFF
            mobile = rng.choice("94")
            c.phone = (
                f"+47 {mobile}{rng.randint(0, 99):02d} {rng.randint(0, 99):02d} "
                f"{rng.randint(0, 999):03d}"
            )
            if c.preferred == "letter":  # a landline
                c.phone = " ".join(["+47 55", *(f"{rng.randint(10, 99)}" for _ in range(3))])
            elif c.preferred not in ("phone", "sms") and rng.random() < 0.06:
                c.phone = ""
            if c.preferred != "letter" and not (c.preferred == "phone" and rng.random() < 0.25):
                local = _ascii(name).replace(" ", ".")
                email = f"{local}@{rng.choice(('example.com', 'example.net', 'example.org'))}"
                if email not in used_emails:
                    used_emails.append(email)
                    c.email = email
            self.customers.append(c)
        # ids in the order they became customers (prospects last, newest first contact last)
        ordered = sorted(
            self.customers,
            key=lambda c: (c.since is None, c.since or c.first_contact or self.today, c.name),
        )
        for number, c in enumerate(ordered, start=1):
            c.customer_id = f"{_CUSTOMERS.id_prefix}{number:04d}"
        self.customers = ordered

    def _sell(self) -> None:
        rng = self.rng
        for c in self.customers:
            if not c.rhythm or c.since is None:
                continue
            start = max(c.since, self.sales_start)
            end = c.quiet_from - timedelta(days=1) if c.quiet_from else self.today
            days: list[date] = []
            if c.name in _NEW_THIS_HALF_YEAR:
                days.append(c.since)
            if c.rhythm in ("M", "Q", "H"):
                mean, spread = {"M": (30, 5), "Q": (90, 14), "H": (180, 25)}[c.rhythm]
                day = start + timedelta(days=rng.randint(0, mean))
                while day <= end:
                    days.append(day)
                    day += timedelta(days=max(10, round(rng.gauss(mean, spread))))
            elif c.rhythm == "R":
                days.extend(
                    start + timedelta(days=rng.randint(0, (end - start).days))
                    for _ in range(rng.randint(2, 4))
                )
            elif c.rhythm == "O" and not days:
                days.append(start + timedelta(days=rng.randint(0, (end - start).days)))
            bikes = 0
            for n, day in enumerate(sorted(days)):
                day = min(self._open_day(day), end)
                if not self.clock.is_open_day(day):
                    day = self._open_day(day, backwards=True)
                weights = {
                    "M": {"parts": 55, "service": 40, "bike": 5},
                    "Q": {"parts": 35, "service": 55, "bike": 10},
                    "H": {"parts": 40, "service": 50, "bike": 10},
                    "R": {"parts": 40, "service": 40, "bike": 20},
                    "O": {"parts": 0, "service": 30, "bike": 70},
                }[c.rhythm]
                kind = _weighted(rng, weights)
                if c.name in _NEW_THIS_HALF_YEAR and n == 0:
                    kind = "bike"
                if kind == "bike" and bikes >= (2 if c.rhythm == "M" else 1):
                    kind = "service"
                product, amount = self._product(kind)
                bikes += kind == "bike"
                self.sales.append((day, c, amount, product, self._seller(kind, day)))
        self.sales.sort(key=lambda s: (s[0], s[1].customer_id, s[3]))

    def _lapse(self) -> None:
        """Earlier regular orders for the lapsed and fading customers (see ``_LAPSED``)."""
        rng = self.lapse_rng
        before = self.start - timedelta(days=1)  # the interactions' half-year stays as it is
        for c in self.customers:
            if c.since is None or c.name not in (*_LAPSED, *_FADING):
                continue
            first = max(c.since, self.sales_start)
            if c.name in _LAPSED:
                last = min(before, self.today - timedelta(days=rng.randint(230, 330)))
                count, mean = rng.randint(6, 9), rng.randint(28, 40)
            else:  # the year before the half-year: about every six weeks
                last, count, mean = before - timedelta(days=rng.randint(0, 20)), 8, 42
            first = max(first, last - timedelta(days=count * mean))
            bought = {s[0] for s in self.sales if s[1] is c}
            day = first + timedelta(days=rng.randint(0, 20))
            while day <= last:
                day = self._open_day(day, backwards=True)
                if day not in bought:  # one order a day, like the rest of the story
                    bought.add(day)
                    self._lapsed_order(c, day, rng)
                day += timedelta(days=max(14, round(rng.gauss(mean, 8))))
        self.sales.sort(key=lambda s: (s[0], s[1].customer_id, s[3]))

    def _lapsed_order(self, c: _Customer, day: date, rng: random.Random) -> None:
        if day < max(c.since or day, self.sales_start):
            return
        kind = _weighted(rng, {"parts": 45, "service": 55})
        product, amount = self._product(kind, rng)
        self.sales.append((day, c, amount, product, self._seller(kind, day, rng)))

    def _product(self, kind: str, rng: random.Random | None = None) -> tuple[str, float]:
        rng = rng or self.rng
        if kind == "bike":
            name, price = rng.choice(_BIKES)
            discount = rng.choice((0, 0, 0, 5, 10))
            return name, float(round(price * (100 - discount) / 100))
        table, step = (_SERVICES, 50) if kind == "service" else (_PARTS, 10)
        name, lo, hi = rng.choice(table)
        return name, float(lo + step * rng.randint(0, (hi - lo) // step))

    def _seller(self, kind: str, day: date, rng: random.Random | None = None) -> str | None:
        rng = rng or self.rng
        jonas = day < self.left_on
        if kind == "bike":
            return (
                _SALES_STAFF if rng.random() < 0.75 else (_LEFT_STAFF if jonas else _WORKSHOP_STAFF)
            )
        if kind == "service":
            return _LEFT_STAFF if jonas and rng.random() < 0.4 else _WORKSHOP_STAFF
        if rng.random() < 0.08:
            return None  # web shop order
        return rng.choice((_SALES_STAFF, _WORKSHOP_STAFF, _LEFT_STAFF if jonas else _SALES_STAFF))

    def _complain(self) -> None:
        rng = self.rng
        eligible = [
            c
            for c in self.customers
            if c.stage != "prospect"
            and not c.do_not_contact
            and c.quiet_from is None
            and c.since is not None
            and c.since <= self.start
        ]
        open_scenarios = ("breached", "due_soon", "fresh", "waiting")
        open_count = sum(1 for s, _, _ in _COMPLAINT_PLAN if s in open_scenarios)
        open_customers = rng.sample(eligible, open_count)
        categories = list(_COMPLAINT_STORIES)
        for scenario, severity, status in _COMPLAINT_PLAN:
            pick_open = scenario in open_scenarios
            customer = open_customers.pop() if pick_open else rng.choice(eligible)
            category = categories[len(self.complaints) % len(categories)]
            home, summaries, resolutions, notify = _COMPLAINT_STORIES[category]
            stays_home = 0.5 if notify == _department(home) else 0.8
            owner = (
                home if rng.random() < stays_home else rng.choice((_SALES_STAFF, _WORKSHOP_STAFF))
            )
            channel = _weighted(
                rng, {"phone": 30, "email": 30, "in_person": 25, "web": 10, "social": 5}
            )
            k = _Complaint(
                scenario, severity, status, customer, category, owner, channel,
                rng.choice(summaries), self.as_of,
            )  # fmt: skip
            self._clock_complaint(k)
            if k.resolved is not None:
                k.resolution = rng.choice(resolutions)
            if notify and _department(owner) != notify and k.resolved is not None:
                k.notify_department = notify
            self.complaints.append(k)
        self.complaints.sort(key=lambda k: (k.opened, k.customer.customer_id))
        for number, k in enumerate(self.complaints, start=1):
            k.complaint_id = f"{_COMPLAINTS.id_prefix}{number:04d}"
            self._complaint_interactions(k)
        for item in self.interactions:
            if item.direction == "outbound":
                self.complaint_outbound.setdefault(item.customer.customer_id, []).append(item)

    def _clock_complaint(self, k: _Complaint) -> None:
        """Opened, first response and resolved times that tell the scenario's story."""
        rng, clock = self.rng, self.clock
        first_h, resolve_h, business = self.sla[k.severity]
        after = clock.add if business else (lambda t, h, _b: t + timedelta(hours=h))
        any_time = not business and rng.random() < 0.5

        def moment(lo_days: int, hi_days: int) -> datetime:
            return self._moment(
                self.today - timedelta(days=hi_days), self.today - timedelta(days=lo_days), any_time
            )

        def within(start: datetime, hours: float) -> datetime:
            return _minute(after(start, hours, business))

        if k.scenario == "first_contact":
            k.opened = moment(2, HISTORY_DAYS - 2)
            k.first_response = k.opened
            k.resolved = k.opened + timedelta(minutes=rng.randint(3, 20))
        elif k.scenario in ("on_time", "late"):
            lo = 25 if k.scenario == "on_time" else 75
            while True:
                k.opened = moment(lo, HISTORY_DAYS - 2)
                late_first = k.scenario == "late" and rng.random() < 0.35
                first = first_h * (rng.uniform(1.3, 2.5) if late_first else rng.uniform(0.05, 0.6))
                total = resolve_h * (
                    rng.uniform(0.15, 0.7) if k.scenario == "on_time" else rng.uniform(1.4, 3.0)
                )
                k.first_response = within(k.opened, first)
                k.resolved = max(within(k.opened, total), k.first_response + timedelta(minutes=30))
                awake = business or all(
                    _AWAKE[0] <= t.time() <= _AWAKE[1] for t in (k.first_response, k.resolved)
                )  # critical ones run on the clock, but nobody calls at midnight
                if awake and k.resolved <= self.as_of - timedelta(hours=1):
                    break
        else:
            elapsed = {
                "breached": rng.uniform(1.3, 2.5) * resolve_h,
                "fresh": rng.uniform(0.1, 0.6) * min(first_h, resolve_h),
                "waiting": rng.uniform(0.2, 0.6) * resolve_h,
            }.get(k.scenario)
            if k.scenario == "due_soon":
                due = clock.add(self.as_of, rng.uniform(0.5, 1.8), business)
                k.opened = _minute(clock.sub(due, resolve_h, business))
            else:
                assert elapsed is not None
                k.opened = _minute(clock.sub(self.as_of, elapsed, business))
            if k.status != "open":
                k.first_response = within(k.opened, first_h * rng.uniform(0.2, 0.8))
                if k.first_response > self.as_of:
                    k.first_response = _minute(
                        k.opened + (self.as_of - k.opened) * rng.uniform(0.3, 0.8)
                    )

    def _complaint_interactions(self, k: _Complaint) -> None:
        rng = self.rng
        fcr = k.scenario == "first_contact"
        outcome = (
            "resolved" if fcr else "escalated" if k.severity in ("high", "critical")
            else "follow_up_needed"
        )  # fmt: skip
        score = rng.choice((4, 5, 5)) if fcr else rng.choice((None, None, 1, 2, 2, 3))
        opening_staff = k.owner if rng.random() < 0.6 else self._staff_at(k.opened, "any")
        summary = k.summary + (f". {k.resolution}" if fcr else "")
        self.interactions.append(
            _Interaction(
                k.opened, k.customer, opening_staff, k.channel, "inbound", "complaint",
                summary, outcome, score if fcr or rng.random() < 0.4 else None, None, k,
            )
        )  # fmt: skip
        if fcr:
            return

        def reply_channel(at: datetime) -> str:
            if not self.clock.is_open_day(at.date()) or not (
                self.clock.opens <= at.time() < self.clock.closes
            ):
                return "email" if k.customer.email else "sms"
            return k.channel if k.channel in ("phone", "email", "sms") else "phone"

        if k.first_response is not None:
            answer_by = reply_channel(k.first_response)
            waiting = k.status == "waiting_on_customer"
            text = rng.choice(_WAITING if waiting else _RESPONSES)
            follow = k.first_response.date() + timedelta(days=3) if waiting else None
            self.interactions.append(
                _Interaction(
                    k.first_response, k.customer, k.owner, answer_by, "outbound",
                    "follow_up" if waiting else "support", text, "follow_up_needed",
                    None, follow, k,
                )
            )  # fmt: skip
        if k.resolved is not None:
            solved_by = reply_channel(k.resolved)
            late = k.scenario == "late"
            score = rng.choice((1, 2, 3, 3)) if late else rng.choice((3, 4, 4, 5, 5))
            self.interactions.append(
                _Interaction(
                    k.resolved, k.customer, k.owner, solved_by, "outbound", "support",
                    f"Resolved: {k.resolution}", "resolved",
                    score if rng.random() < 0.7 else None, None, k,
                )
            )  # fmt: skip

    def _talk(self) -> None:
        """Six months of everyday contacts, sales visits and first enquiries."""
        rng = self.rng
        for c in self.customers:
            if c.first_contact is not None:
                when = self._moment(c.first_contact, c.first_contact, False)
                channel = c.preferred if c.preferred != "letter" else "email"
                staff = _SALES_STAFF if self.rng.random() < 0.7 else _WORKSHOP_STAFF
                self._add(when, c, staff, channel, "inbound", "enquiry", first=True)
            if c.quiet_from is not None:
                day = c.quiet_from
                when = self._moment(day, day, False)
                item = self._add(
                    when, c, self._staff_at(when, "support"), c.preferred if
                    c.preferred in ("phone", "email", "sms") else "phone", "inbound", "support",
                )  # fmt: skip
                item.outcome, item.satisfaction = "follow_up_needed", None
                item.follow_up_on = day + timedelta(days=7)
        for day_c, c, _amount, product, seller in self.sales:
            if day_c < self.start or seller is None or rng.random() > 0.55:
                continue
            when = self._moment(day_c, day_c, False)
            summary = rng.choice(_SALE_SUMMARIES).format(product=product)
            score = _weighted(rng, {5: 50, 4: 35, 3: 10, 2: 5}) if rng.random() < 0.4 else None
            self.interactions.append(
                _Interaction(when, c, seller, "in_person", "inbound", "sale", summary, "resolved",
                             score)
            )  # fmt: skip
        day = self.start
        while day <= self.today:
            if self.clock.is_open_day(day):
                for _ in range(rng.randint(3, 5)):
                    self._routine(self._moment(day, day, False), after_hours=False)
                if day < self.today and rng.random() < 0.3:
                    self._routine(self._evening(day), after_hours=True)
            elif day < self.today:
                for _ in range(rng.choice((0, 1, 1, 2))):
                    self._routine(self._evening(day), after_hours=True)
            day += timedelta(days=1)

    def _routine(self, when: datetime, *, after_hours: bool) -> None:
        rng = self.rng
        c = self._pick_customer(when.date())
        if c is None:
            return
        if after_hours:
            kind = _weighted(rng, {"enquiry": 45, "support": 25, "feedback": 15, "praise": 15})
            channel = _weighted(rng, {"email": 50, "web": 35, "social": 15})
            self._add(when, c, self._staff_at(when, kind), channel, "inbound", kind)
            return
        if c.stage == "prospect":
            kind = _weighted(rng, {"enquiry": 50, "follow_up": 40, "other": 10})
        else:
            kind = _weighted(
                rng,
                {"enquiry": 20, "support": 22, "follow_up": 16, "praise": 9, "feedback": 8,
                 "survey": 6, "other": 5},
            )  # fmt: skip
        p_out = {"enquiry": 0.1, "support": 0.25, "follow_up": 1.0, "praise": 0.0,
                 "feedback": 0.15, "survey": 1.0, "other": 0.3}[kind]  # fmt: skip
        direction = "outbound" if rng.random() < p_out else "inbound"
        if direction == "outbound" and not self._may_contact(c, when.date()):
            direction = "inbound"
            if kind in ("follow_up", "survey"):
                kind = "enquiry" if c.stage == "prospect" else rng.choice(("enquiry", "support"))
        staff = self._staff_at(when, kind, owner=c.owner)
        if direction == "outbound":
            reachable = ("email", "phone", "sms", "social", "letter")
            channel = c.preferred if c.preferred in reachable else "phone"
            if kind == "survey" and channel in ("phone", "letter", "social"):
                channel = rng.choice(("email", "sms", "phone"))
            c.last_outbound = when.date()
        elif rng.random() < 0.5 and c.preferred != "letter":
            channel = c.preferred
        else:
            channel = _weighted(
                rng,
                {
                    "enquiry": {"email": 30, "phone": 30, "web": 20, "social": 10, "in_person": 10},
                    "support": {"phone": 35, "in_person": 35, "email": 20, "sms": 5, "web": 5},
                    "praise": {"in_person": 30, "social": 25, "email": 25, "web": 10, "phone": 10},
                    "feedback": {"email": 40, "web": 30, "in_person": 20, "social": 10},
                    "other": {"email": 40, "phone": 30, "in_person": 20, "letter": 10},
                }.get(kind, {"phone": 50, "email": 50}),
            )
        self._add(when, c, staff, channel, direction, kind)

    def _add(
        self,
        when: datetime,
        c: _Customer,
        staff: str,
        channel: str,
        direction: str,
        kind: str,
        *,
        first: bool = False,
    ) -> _Interaction:
        rng = self.rng
        fill = {
            "bike": rng.choice(_BIKE_WORDS),
            "part": rng.choice(_PART_WORDS),
            "weekday": rng.choice(_WEEKDAYS),
            "n": rng.randint(2, 6),
            "inv": rng.randint(20500, 29999),
            "colleague": rng.choice((_WORKSHOP_STAFF, _SALES_STAFF)),
        }
        if staff == _FINANCE_STAFF and kind in ("enquiry", "other", "follow_up") and not first:
            text = rng.choice(_FINANCE_SUMMARIES[direction])
        else:
            texts = _SUMMARIES[kind].get(direction) or next(iter(_SUMMARIES[kind].values()))
            text = rng.choice(texts[:4] if first else texts)
        summary = text.format_map(fill)
        outcome = self._outcome(kind, direction, channel)
        score = None
        if outcome not in ("no_answer", "info_sent"):
            chance = {"support": 0.45, "follow_up": 0.5, "survey": 0.8, "praise": 0.7,
                      "feedback": 0.4, "enquiry": 0.06, "other": 0.1}.get(kind, 0)  # fmt: skip
            if rng.random() < chance:
                score = (
                    rng.choice((4, 5, 5)) if kind == "praise"
                    else _weighted(rng, {5: 42, 4: 36, 3: 11, 2: 7, 1: 4})
                )  # fmt: skip
        follow = None
        if outcome == "follow_up_needed" and rng.random() < 0.7:
            follow = when.date() + timedelta(days=rng.randint(2, 10))
        item = _Interaction(
            when, c, staff, channel, direction, kind, summary, outcome, score, follow
        )
        self.interactions.append(item)
        return item

    def _outcome(self, kind: str, direction: str, channel: str) -> str | None:
        options: dict[str, dict[str | None, int]] = {
            "enquiry": {"info_sent": 45, "resolved": 35, "follow_up_needed": 20},
            "support": {"resolved": 60, "follow_up_needed": 25, "escalated": 5, "info_sent": 10},
            "follow_up": {"resolved": 55, "follow_up_needed": 15, "info_sent": 10, "no_answer": 20},
            "praise": {"resolved": 70, None: 30},
            "feedback": {"resolved": 50, "info_sent": 30, None: 20},
            "survey": {"resolved": 50, "info_sent": 30, "no_answer": 20},
            "other": {"resolved": 70, "info_sent": 30},
        }
        weights = dict(options[kind])
        if not (direction == "outbound" and channel == "phone"):
            weights.pop("no_answer", None)
        return _weighted(self.rng, weights)

    def _follow_ups(self) -> None:
        """A few follow-ups due in the coming days, so ``followups`` has work."""
        self.interactions.sort(key=_order)
        recent = [
            i
            for i in self.interactions
            if i.complaint is None
            and i.type in ("enquiry", "support")
            and (self.today - i.when.date()).days <= 3
            and not i.customer.do_not_contact
        ]
        for item in recent[-4:]:
            item.outcome = "follow_up_needed"
            item.follow_up_on = self.today + timedelta(days=self.rng.randint(1, 5))

    # ------------------------------------------------------------------ choosing

    def _pick_customer(self, day: date) -> _Customer | None:
        weights: dict[int, float] = {}
        for index, c in enumerate(self.customers):
            begins = c.first_contact or c.since
            if begins is not None and begins > day:
                continue
            if c.quiet_from is not None and day >= c.quiet_from:
                continue
            weights[index] = _ACTIVITY[c.stage]
        if not weights:
            return None
        return self.customers[_weighted(self.rng, weights)]

    def _may_contact(self, c: _Customer, day: date) -> bool:
        cooldown = int(contract.SETTING_BY_KEY["followup_cooldown_days"].default)
        if c.do_not_contact:
            return False
        recent = [
            i.when.date()
            for i in self.complaint_outbound.get(c.customer_id, ())
            if 0 <= (day - i.when.date()).days < cooldown
        ]
        return not recent and (c.last_outbound is None or (day - c.last_outbound).days >= cooldown)

    def _staff_at(self, when: datetime, kind: str, owner: str | None = None) -> str:
        rng = self.rng
        jonas = when.date() < self.left_on
        workshop = (_WORKSHOP_STAFF, _LEFT_STAFF) if jonas else (_WORKSHOP_STAFF,)
        if owner is not None and kind in ("follow_up", "survey") and rng.random() < 0.7:
            return owner
        if kind == "support":
            return rng.choice(workshop) if rng.random() < 0.85 else _SALES_STAFF
        if kind in ("enquiry", "other"):
            return _weighted(rng, {_SALES_STAFF: 50, rng.choice(workshop): 35, _FINANCE_STAFF: 15})
        return rng.choice((_SALES_STAFF, *workshop))

    def _moment(self, lo: date, hi: date, any_time: bool) -> datetime:
        """A time on an open day between ``lo`` and ``hi`` (or any day, 07–20, if any_time)."""
        rng = self.rng
        lo = max(lo, self.start)
        hi = min(hi, self.today)
        for _ in range(200):
            day = lo + timedelta(days=rng.randint(0, max(0, (hi - lo).days)))
            if any_time or self.clock.is_open_day(day):
                break
        else:
            day = self._open_day(lo)
        if any_time:
            start, minutes = _AWAKE[0], 13 * 60
        else:
            start = self.clock.opens
            minutes = self._minutes(self.clock.opens, self.clock.closes) - 15
        if day == self.today:
            minutes = min(minutes, self._minutes(start, AS_OF_TIME) - 10)
        moment = datetime.combine(day, start) + timedelta(minutes=rng.randint(0, minutes))
        return moment

    def _evening(self, day: date) -> datetime:
        minute = self.rng.randint(0, 5 * 60)
        base = time(17, 30) if self.clock.is_open_day(day) else time(10, 0)
        return datetime.combine(day, base) + timedelta(minutes=minute)

    def _open_day(self, day: date, backwards: bool = False) -> date:
        step = timedelta(days=-1 if backwards else 1)
        while not self.clock.is_open_day(day):
            day += step
        return day

    @staticmethod
    def _minutes(a: time, b: time) -> int:
        return (b.hour * 60 + b.minute) - (a.hour * 60 + a.minute)

    # ------------------------------------------------------------------ rows

    def _records(self) -> dict[str, list[Record]]:
        self.interactions.sort(key=_order)
        width = 5
        interactions = [
            _row(
                _INTERACTIONS,
                interaction_id=f"{_INTERACTIONS.id_prefix}{n:0{width}d}",
                date=i.when,
                customer_id=i.customer.customer_id,
                staff=i.staff,
                channel=i.channel,
                direction=i.direction,
                type=i.type,
                summary=i.summary,
                outcome=i.outcome,
                satisfaction=i.satisfaction,
                follow_up_on=i.follow_up_on,
                complaint_id=i.complaint.complaint_id if i.complaint else None,
            )
            for n, i in enumerate(self.interactions, start=1)
        ]
        customers = [
            _row(
                _CUSTOMERS,
                customer_id=c.customer_id,
                name=c.name,
                company=c.company or None,
                email=c.email or None,
                phone=c.phone or None,
                preferred_channel=c.preferred,
                owner=c.owner,
                stage=c.stage,
                segment=c.segment,
                since=c.since,
                do_not_contact=_YES if c.do_not_contact else _NO,
                notes=_NOTES.get(c.name),
            )
            for c in self.customers
        ]
        complaints = [
            _row(
                _COMPLAINTS,
                complaint_id=k.complaint_id,
                opened=k.opened,
                customer_id=k.customer.customer_id,
                channel=k.channel,
                category=k.category,
                severity=k.severity,
                summary=k.summary,
                owner=k.owner,
                status=k.status,
                first_response=k.first_response,
                resolved=k.resolved,
                resolution=k.resolution or None,
                notify_department=k.notify_department or None,
            )
            for k in self.complaints
        ]
        sales = [
            _row(
                _SALES,
                order_id=f"{_SALES.id_prefix}{n:04d}",
                date=day,
                customer_id=c.customer_id,
                amount=amount,
                product=product,
                staff=staff,
            )
            for n, (day, c, amount, product, staff) in enumerate(self.sales, start=1)
        ]
        staff = [
            _row(
                _STAFF,
                name=name,
                email=f"{local}@{STAFF_DOMAIN}",
                department=department,
                active=_YES if active else _NO,
            )
            for name, local, department, active in _STAFF_ROWS
        ]
        sla_columns = [c.name for c in _SLA.columns]
        sla = []
        for values in contract.DEFAULT_SLA:
            row = dict(zip(sla_columns, values, strict=True))
            row = {k: (_YES if v else _NO) if isinstance(v, bool) else v for k, v in row.items()}
            sla.append(_row(_SLA, **row))
        shown_years = range(self.start.year, self.today.year + 2)
        holidays = [
            _row(_HOLIDAYS, date=day, name=name)
            for day, name in self.holidays
            if day.year in shown_years
        ]
        overrides = {
            "company_name": COMPANY_NAME,
            "report_recipients": f"{_OWNER_NAME.lower()}@{STAFF_DOMAIN}",
        }
        key_col, value_col = (c.name for c in _SETTINGS.columns)
        settings: list[Record] = [
            {key_col: s.key, value_col: overrides.get(s.key, s.default)} for s in contract.SETTINGS
        ]
        # Every department told about a complaint heard from sheetcrm a minute later.
        members = {
            dept: ", ".join(
                f"{local}@{STAFF_DOMAIN}"
                for _, local, d, active in _STAFF_ROWS
                if d == dept and active
            )
            for _, _, dept, _ in _STAFF_ROWS
        }
        notices: list[Record] = []
        for k in self.complaints:
            if not k.notify_department:
                continue
            event, created = ("resolved", k.resolved) if k.resolved else ("opened", k.opened)
            notices.append(
                _row(
                    _NOTICES,
                    notice_id=f"{_NOTICES.id_prefix}{len(notices) + 1:04d}",
                    created=created,
                    complaint_id=k.complaint_id,
                    event=event,
                    department=k.notify_department,
                    recipients=members[k.notify_department],
                    sent=created + timedelta(minutes=1),
                )
            )
        return {
            _CUSTOMERS.name: customers,
            _INTERACTIONS.name: interactions,
            _COMPLAINTS.name: complaints,
            _SALES.name: sales,
            _STAFF.name: staff,
            _SLA.name: sla,
            _HOLIDAYS.name: holidays,
            _SETTINGS.name: settings,
            _NOTICES.name: notices,
        }


# --------------------------------------------------------------------------- helpers


def _row(sheet: contract.Sheet, **values: object) -> Record:
    """A row in contract column order; a name the contract does not know is a bug here."""
    unknown = [name for name in values if name not in sheet.column_by_name]
    if unknown:
        raise KeyError(f"{sheet.name} has no column(s) {unknown}")
    return {c.name: values.get(c.name) for c in sheet.columns}


def _weighted(rng: random.Random, weights: Mapping[_T, float]) -> _T:
    items = list(weights.items())
    return rng.choices([k for k, _ in items], weights=[w for _, w in items])[0]


def _department(staff: str) -> str:
    return next(department for name, _, department, _ in _STAFF_ROWS if name == staff)


def _order(item: _Interaction) -> tuple[datetime, str, str, str]:
    return (item.when, item.customer.customer_id, item.type, item.summary)


def _minute(moment: datetime) -> datetime:
    """Round to the minute, as someone typing it in Excel would."""
    return (moment + timedelta(seconds=30)).replace(second=0, microsecond=0)


_FOLD = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "ß": "ss", "'": ""})


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(ch for ch in folded if ch.isascii()).casefold()
