"""Deterministic, realistic contract workbooks of any size, for the benchmark.

``python bench/make_workbook.py 100000`` writes ``bench/out/crm-100000-<key>.xlsx``
with 100,000 interactions and a business to match:

- Customers: N/50 (at least 50), every column filled (a company on most, notes
  on some, a few do-not-contact);
- Staff: 5, all active;
- Interactions: N, in date order over 2019-01-02 .. 2026-11-19, working hours,
  customers skewed (a few customers call a lot), vocabularies weighted like a
  real shop, satisfaction on about a third, follow_up_on when a follow-up is
  needed, a complaint_id on every complaint;
- Complaints: about N/20, each opened by one of the interactions above (same
  customer, channel and time), first response and resolution times in order and
  never after the as-of date, recent ones still open;
- Sales: N/4 (capped at Excel's row limit), dates only, amounts with two decimals;
- SLA (4 severities), Holidays (Norwegian public holidays 2019-2026), Settings.

Dates and times are real Excel dates (serial numbers with a date number
format), as Excel itself stores them. Every reference resolves and no value is
after ``AS_OF``, so ``sheetcrm validate --as-of 2026-11-20`` reports no
problems and must still do all the work.

The workbook is written with xlsxwriter in ``constant_memory`` mode (rows
streamed to disk in order, sheet by sheet), so even Excel's full 1,048,575
records take little memory. One consequence: constant_memory writes strings
inline (``<is><t>``) rather than into the shared-strings table Excel uses.
calamine, openpyxl and sheetcrm read both; a copy saved by Excel would use
shared strings.

The cache key in the file name is a hash of this file and of the contract's
sheet and column names, so a changed generator or contract means a new file.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import xlsxwriter

from sheetcrm.contract import DEFAULT_SLA, SHEET_BY_NAME, SHEETS, VOCABULARIES
from sheetcrm.workbook.sample import easter

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
SEED = 20261120
EXCEL_MAX_RECORDS = 1_048_575  # 1,048,576 rows minus the header row
AS_OF = datetime(2026, 11, 20, 15, 0)
FIRST_DAY = date(2019, 1, 2)
LAST_DAY = date(2026, 11, 19)
VALIDATION_ROWS = 5000  # drop-downs on the first rows, as ``sheetcrm init`` does

_EPOCH = datetime(1899, 12, 30)  # Excel's 1900 date system, as a serial-number origin
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MONEY_FORMAT = "#,##0.00"

Progress = Callable[[str], None]

# --------------------------------------------------------------------------- vocabulary

STAFF = (
    ("Kari Nordmann", "kari@nordlys-sykkel.no", "Sales"),
    ("Per Hansen", "per@nordlys-sykkel.no", "Workshop"),
    ("Ingrid Berg", "ingrid@nordlys-sykkel.no", "Customer service"),
    ("Ahmed Khan", "ahmed@nordlys-sykkel.no", "Customer service"),
    ("Sofie Lund", "sofie@nordlys-sykkel.no", "Accounts"),
)
FIRST_NAMES = [
    "Anne",
    "Inger",
    "Kari",
    "Marit",
    "Ingrid",
    "Liv",
    "Eva",
    "Berit",
    "Astrid",
    "Bjørg",
    "Hilde",
    "Nina",
    "Sara",
    "Emma",
    "Nora",
    "Ida",
    "Maja",
    "Jan",
    "Per",
    "Bjørn",
    "Ole",
    "Lars",
    "Kjell",
    "Knut",
    "Arne",
    "Svein",
    "Hans",
    "Geir",
    "Jonas",
    "Emil",
    "Noah",
    "Oskar",
    "Lucas",
    "Aksel",
    "Mohammed",
    "Fatima",
    "Olga",
    "Piotr",
    "Anna",
    "Tomasz",
    "Ali",
    "Zainab",
    "Sigrid",
    "Håkon",
]
LAST_NAMES = [
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Johnsen",
    "Pettersen",
    "Eriksen",
    "Berg",
    "Haugen",
    "Hagen",
    "Johannessen",
    "Andreassen",
    "Jacobsen",
    "Dahl",
    "Jørgensen",
    "Halvorsen",
    "Henriksen",
    "Lund",
    "Sørensen",
    "Jakobsen",
    "Moen",
    "Gundersen",
    "Iversen",
    "Strand",
    "Solberg",
    "Svendsen",
    "Eide",
    "Knutsen",
    "Martinsen",
    "Paulsen",
    "Bakken",
    "Kristoffersen",
    "Mathisen",
    "Lie",
    "Ahmed",
    "Khan",
    "Nowak",
    "Kowalski",
    "Nguyen",
    "Ali",
]
COMPANY_WORDS = [
    "Fjord",
    "Nord",
    "Sør",
    "Vest",
    "Øst",
    "Berg",
    "Dal",
    "Elve",
    "Skog",
    "Havn",
    "Byen",
    "Kyst",
    "Fjell",
    "Lys",
    "Tind",
    "Bryggen",
]
COMPANY_KINDS = ("Sykkel", "Transport", "Bygg", "Regnskap", "Kafé", "Eiendom", "Tannlege", "IT")
COMPANY_FORMS = ("AS", "AS", "AS", "ANS", "ENK")
SEGMENTS = ("retail", "retail", "retail", "business", "business", "club", "public")
CUSTOMER_NOTES = (
    "Prefers morning calls",
    "Has two bikes in for yearly service",
    "Ask for Kari when calling",
    "Pays by invoice, 14 days",
    "Member of the local cycling club",
    "Allergic to marketing emails - keep it short",
    "Referred by a friend",
    "Fleet of 12 cargo bikes",
)
EMAIL_DOMAINS = ("example.com", "example.no", "mail.example.org", "post.example.net")

# (value, weight) pairs for the vocabularies
CHANNELS = (
    ("phone", 34),
    ("email", 34),
    ("in_person", 12),
    ("sms", 8),
    ("web", 6),
    ("social", 4),
    ("letter", 2),
)
TYPES = (  # "complaint" is given to the interactions that open a complaint
    ("enquiry", 24),
    ("support", 22),
    ("sale", 16),
    ("follow_up", 16),
    ("feedback", 7),
    ("praise", 6),
    ("survey", 5),
    ("other", 4),
)
OUTCOMES = (
    ("resolved", 46),
    ("info_sent", 22),
    ("follow_up_needed", 16),
    ("no_answer", 11),
    ("escalated", 5),
)
STAGES = (
    ("prospect", 20),
    ("customer", 40),
    ("client", 20),
    ("supporter", 10),
    ("advocate", 6),
    ("partner", 4),
)
SEVERITIES = (("low", 30), ("normal", 45), ("high", 20), ("critical", 5))
SATISFACTION = ((1, 5), (2, 8), (3, 17), (4, 36), (5, 34))

SUMMARIES = {
    "enquiry": (
        "Asked about the price of a yearly service",
        "Wants to know when the new e-bikes arrive",
        "Asked whether we fit child seats",
        "Question about opening hours in the holidays",
        "Asked for a quote on a fleet service contract",
    ),
    "support": (
        "Gears slip under load, booked in for adjustment",
        "Puncture on the rear wheel, fixed while waiting",
        "E-bike battery does not charge fully",
        "Brakes squeal after wet weather",
        "Help with the app pairing for the bike computer",
    ),
    "sale": (
        "Bought a new city bike",
        "Ordered winter tyres and fitting",
        "Bought helmet and lights",
        "Signed the yearly service agreement",
        "Ordered a cargo bike for delivery next month",
    ),
    "follow_up": (
        "Called to check the bike runs well after service",
        "Reminded about the booked service",
        "Followed up on the quote we sent",
        "Checked the replacement part arrived",
    ),
    "complaint": (
        "Unhappy that the repair took two weeks",
        "Charged twice for the same service",
        "The new chain broke after a week",
        "Rude answer on the phone",
        "Wrong part fitted, bike returned",
        "Invoice sent to the wrong address",
    ),
    "praise": (
        "Thanked Per for the quick repair",
        "Very happy with the new bike",
        "Praised the friendly service in the shop",
    ),
    "feedback": (
        "Suggested longer opening hours on Saturdays",
        "Would like online booking",
        "Thinks the waiting area is too small",
    ),
    "survey": (
        "Answered the after-service survey",
        "Answered the yearly satisfaction survey",
    ),
    "other": (
        "Returned a borrowed pump",
        "Asked us to update their address",
        "Dropped by to say hello",
    ),
}
COMPLAINT_CATEGORIES = (
    "repair quality",
    "waiting time",
    "billing",
    "staff attitude",
    "wrong part",
    "delivery",
    "product defect",
)
RESOLUTIONS = (
    "Repaired again free of charge",
    "Refunded the double charge",
    "Replaced the part under warranty",
    "Apologised and gave a 20% voucher",
    "Explained the invoice; customer satisfied",
    "Delivered the bike to the customer's home",
)
NOTIFY = {"billing": "Accounts", "wrong part": "Warehouse", "delivery": "Warehouse"}
PRODUCTS = (
    ("Yearly service", 1290.0),
    ("City bike", 8990.0),
    ("E-bike", 24990.0),
    ("Cargo bike", 39990.0),
    ("Winter tyres", 1198.0),
    ("Helmet", 799.0),
    ("Lights", 449.0),
    ("Chain replacement", 590.0),
    ("Brake adjustment", 350.0),
    ("Child seat", 1490.0),
)


def _holidays() -> list[tuple[date, str]]:
    days: list[tuple[date, str]] = []
    for year in range(2019, 2027):
        sunday = easter(year)  # the sample's computus, not a second table of dates
        days += [
            (date(year, 1, 1), "New Year's Day"),
            (sunday - timedelta(days=3), "Maundy Thursday"),
            (sunday - timedelta(days=2), "Good Friday"),
            (sunday + timedelta(days=1), "Easter Monday"),
            (date(year, 5, 1), "Labour Day"),
            (date(year, 5, 17), "Constitution Day"),
            (sunday + timedelta(days=39), "Ascension Day"),
            (sunday + timedelta(days=50), "Whit Monday"),
            (date(year, 12, 24), "Christmas Eve (closed)"),
            (date(year, 12, 25), "Christmas Day"),
            (date(year, 12, 26), "Boxing Day"),
        ]
    return sorted(days)


SETTINGS_ROWS = (
    ("company_name", "Nordlys Sykkel AS"),
    ("locale", "en"),
    ("timezone", "Europe/Oslo"),
    ("currency", "NOK"),
    ("week_start", "monday"),
    ("business_hours", "09:00-17:00"),
    ("business_days", "mon-fri"),
    ("due_soon_hours", "24"),
    ("followup_cooldown_days", "7"),
    ("at_risk_after_days", "90"),
    ("report_recipients", "kari@nordlys-sykkel.no, sofie@nordlys-sykkel.no"),
    ("backups_to_keep", "10"),
)

#: Every contract column this generator fills; a contract column missing here is a warning.
FILLED = {
    "Customers": "customer_id name company email phone preferred_channel owner stage segment "
    "since do_not_contact notes",
    "Interactions": "interaction_id date customer_id staff channel direction type summary "
    "outcome satisfaction follow_up_on complaint_id",
    "Complaints": "complaint_id opened customer_id channel category severity summary owner "
    "status first_response resolved resolution notify_department",
    "Sales": "order_id date customer_id amount product staff",
    "Staff": "name email department active",
    "SLA": "severity first_response_hours resolution_hours business_hours_only",
    "Holidays": "date name",
    "Settings": "key value",
}


# --------------------------------------------------------------------------- file naming


def cache_key() -> str:
    """Changes whenever this generator or the contract's sheets and columns change."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(repr([(s.name, [c.name for c in s.columns]) for s in SHEETS]).encode())
    return h.hexdigest()[:10]


def workbook_path(n: int, seed: int = SEED) -> Path:
    suffix = "" if seed == SEED else f"-s{seed}"
    return OUT / f"crm-{n}-{cache_key()}{suffix}.xlsx"


def ensure_workbook(n: int, *, seed: int = SEED, progress: Progress = print) -> Path:
    """The cached workbook of ``n`` interactions, generated first if missing or stale."""
    path = workbook_path(n, seed)
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.glob(f"crm-{n}-*.xlsx"):  # older generator versions of this size
        if stale != path and (seed == SEED) == ("-s" not in stale.stem):
            stale.unlink()
    generate(path, n, seed=seed, progress=progress)
    return path


# --------------------------------------------------------------------------- generation


def _serial(moment: datetime | date) -> float:
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    return (moment - _EPOCH).total_seconds() / 86400.0


def _picker(rng: random.Random, pairs: tuple[tuple[object, int], ...]):  # type: ignore[no-untyped-def]
    """A fast weighted choice: one random() and a table look-up per call."""
    table: list[object] = []
    for value, weight in pairs:
        table += [value] * weight
    size, rand = len(table), rng.random
    return lambda: table[int(rand() * size)]


class _Writer:
    """One worksheet: contract header, widths, frozen header, then rows in order."""

    def __init__(self, book: xlsxwriter.Workbook, sheet: str, formats: dict[str, object]) -> None:
        self.spec = SHEET_BY_NAME[sheet]
        self.ws = book.add_worksheet(sheet)
        self.col = {c.name: j for j, c in enumerate(self.spec.columns)}
        header = formats["header"]
        for j, column in enumerate(self.spec.columns):
            self.ws.write_string(0, j, column.name, header)
            kind_format = {
                "date": formats["date"],
                "datetime": formats["datetime"],
                "number": formats["money"],
            }.get(column.kind)
            self.ws.set_column(j, j, column.width, kind_format)
            if column.vocabulary or column.kind == "yesno":
                choices = list(VOCABULARIES[column.vocabulary]) if column.vocabulary else []
                self.ws.data_validation(
                    1,
                    j,
                    VALIDATION_ROWS,
                    j,
                    {"validate": "list", "source": choices or ["yes", "no"]},
                )
        self.ws.freeze_panes(1, 0)
        missing = set(self.col) - set(FILLED[sheet].split())
        if missing:
            print(f"warning: the generator leaves {sheet} columns empty: {sorted(missing)}")


def generate(path: Path, n: int, *, seed: int = SEED, progress: Progress = print) -> Path:
    """Write the workbook for ``n`` interactions to ``path`` (via a temporary file)."""
    if not 1 <= n <= EXCEL_MAX_RECORDS:
        raise ValueError(f"n must be 1 .. {EXCEL_MAX_RECORDS:,}")
    started = time.perf_counter()
    rng = random.Random(seed)
    tmp = path.with_name(path.name + ".part")
    book = xlsxwriter.Workbook(
        str(tmp), {"constant_memory": True, "strings_to_numbers": False, "strings_to_urls": False}
    )
    book.set_properties({"title": f"sheetcrm benchmark, {n:,} interactions", "author": "bench"})
    formats = {
        "header": book.add_format({"bold": True}),
        "date": book.add_format({"num_format": DATE_FORMAT}),
        "datetime": book.add_format({"num_format": DATETIME_FORMAT}),
        "money": book.add_format({"num_format": MONEY_FORMAT}),
    }
    n_customers = max(50, n // 50)
    n_sales = min(EXCEL_MAX_RECORDS, n // 4)
    width = max(4, len(str(max(n, n_customers, n_sales))))
    staff_names = [s[0] for s in STAFF]

    def say(text: str) -> None:
        progress(f"  [{time.perf_counter() - started:6.1f}s] {path.name}: {text}")

    # ---- Customers
    w = _Writer(book, "Customers", formats)
    ws, col = w.ws, w.col
    channel, stage = _picker(rng, CHANNELS), _picker(rng, STAGES)
    owners: list[str] = []
    customer_ids: list[str] = []
    dfmt = formats["date"]
    for i in range(n_customers):
        r = i + 1
        cid = f"C-{r:0{width}d}"
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        owner = staff_names[rng.randrange(3)]  # sales, workshop and service own customers
        customer_ids.append(cid)
        owners.append(owner)
        ascii_name = f"{first}.{last}".lower().translate(str.maketrans("øåæ", "oae"))
        ws.write_string(r, col["customer_id"], cid)
        ws.write_string(r, col["name"], f"{first} {last}")
        if rng.random() < 0.6:
            company = (
                f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)} "
                f"{rng.choice(COMPANY_FORMS)}"
            )
            ws.write_string(r, col["company"], company)
        ws.write_string(r, col["email"], f"{ascii_name}{r}@{rng.choice(EMAIL_DOMAINS)}")
        ws.write_string(
            r,
            col["phone"],
            f"+47 {rng.randint(400, 999)} {rng.randint(10, 99)} {rng.randint(100, 999)}",
        )
        ws.write_string(r, col["preferred_channel"], channel())
        ws.write_string(r, col["owner"], owner)
        ws.write_string(r, col["stage"], stage())
        ws.write_string(r, col["segment"], rng.choice(SEGMENTS))
        since = date(2012, 1, 1) + timedelta(days=rng.randrange(5400))
        ws.write_number(r, col["since"], _serial(since), dfmt)
        ws.write_string(r, col["do_not_contact"], "yes" if rng.random() < 0.03 else "no")
        if rng.random() < 0.2:
            ws.write_string(r, col["notes"], rng.choice(CUSTOMER_NOTES))
    say(f"Customers {n_customers:,}")

    # ---- Interactions (complaints are collected here and written on their own sheet)
    w = _Writer(book, "Interactions", formats)
    ws, col = w.ws, w.col
    dtfmt = formats["datetime"]
    kind, outcome = _picker(rng, TYPES), _picker(rng, OUTCOMES)
    score, severity = _picker(rng, SATISFACTION), _picker(rng, SEVERITIES)
    first_serial = _serial(FIRST_DAY)
    days = (LAST_DAY - FIRST_DAY).days + 1
    rand, randrange = rng.random, rng.randrange
    complaints: list[tuple] = []  # type: ignore[type-arg]
    step = max(1, n // 10) if n >= 200_000 else n + 1
    c_i, c_staff, c_chan = col["interaction_id"], col["staff"], col["channel"]
    c_date, c_cust, c_dir, c_type = col["date"], col["customer_id"], col["direction"], col["type"]
    c_sum, c_out, c_sat = col["summary"], col["outcome"], col["satisfaction"]
    c_fup, c_kid = col["follow_up_on"], col["complaint_id"]
    write_string, write_number = ws.write_string, ws.write_number
    for i in range(n):
        r = i + 1
        day = first_serial + (i * days) // n
        minute = 8 * 60 + randrange(10 * 60)  # 08:00 .. 17:59
        when = day + minute / 1440.0
        c = int(n_customers * rand() ** 2)  # a few customers are in touch a lot
        cid = customer_ids[c]
        staff = owners[c] if rand() < 0.7 else staff_names[randrange(5)]
        chan = channel()
        is_complaint = i % 20 == 7
        typ = "complaint" if is_complaint else kind()
        write_string(r, c_i, f"I-{r:0{width}d}")
        write_number(r, c_date, when, dtfmt)
        write_string(r, c_cust, cid)
        write_string(r, c_staff, staff)
        write_string(r, c_chan, chan)
        inbound = typ in ("complaint", "enquiry", "support", "praise") or rand() < 0.3
        write_string(r, c_dir, "inbound" if inbound else "outbound")
        write_string(r, c_type, typ)
        summaries = SUMMARIES[typ]
        text = summaries[int(rand() * len(summaries))]
        if typ in ("sale", "support", "complaint") and rand() < 0.5:
            text = f"{text} (order {10000 + randrange(90000)})"
        write_string(r, c_sum, text)
        if is_complaint:
            out = "escalated" if rand() < 0.6 else "resolved"
        else:
            out = outcome() if rand() < 0.9 else ""
        if out:
            write_string(r, c_out, out)
        if rand() < 0.33:
            write_number(r, c_sat, score())
        if out in ("follow_up_needed", "escalated"):
            write_number(r, c_fup, day + 2 + randrange(12), dfmt)
        if is_complaint:
            kid = f"K-{len(complaints) + 1:0{width}d}"
            write_string(r, c_kid, kid)
            complaints.append((kid, when, cid, chan, text, staff, severity(), out))
        if (i + 1) % step == 0:
            say(f"Interactions {i + 1:,} / {n:,}")
    say(f"Interactions {n:,}")

    # ---- Complaints
    w = _Writer(book, "Complaints", formats)
    ws, col = w.ws, w.col
    as_of = _serial(AS_OF)
    resolve_hours = {s: res for s, _, res, _ in DEFAULT_SLA}
    for i, (kid, opened, cid, chan, text, staff, sev, out) in enumerate(complaints):
        r = i + 1
        category = rng.choice(COMPLAINT_CATEGORIES)
        ws.write_string(r, col["complaint_id"], kid)
        ws.write_number(r, col["opened"], opened, dtfmt)
        ws.write_string(r, col["customer_id"], cid)
        ws.write_string(r, col["channel"], chan)
        ws.write_string(r, col["category"], category)
        ws.write_string(r, col["severity"], sev)
        ws.write_string(r, col["summary"], text)
        ws.write_string(r, col["owner"], staff)
        first = opened + (0 if out == "resolved" else rng.uniform(0.2, 30) / 24)
        # Most are solved inside the target, some late; first-contact ones at once.
        done = first + rng.uniform(0.05, 1.6) * resolve_hours[sev] / 24
        if out == "resolved":
            done = opened
        first, done = round(first * 1440) / 1440, round(done * 1440) / 1440  # whole minutes
        if done < as_of - 0.01 and not (as_of - opened < 14 and rng.random() < 0.4):
            status = "closed" if rng.random() < 0.3 else "resolved"
            ws.write_string(r, col["status"], status)
            ws.write_number(r, col["first_response"], min(first, done), dtfmt)
            ws.write_number(r, col["resolved"], done, dtfmt)
            ws.write_string(r, col["resolution"], rng.choice(RESOLUTIONS))
        else:
            status = rng.choice(("open", "in_progress", "in_progress", "waiting_on_customer"))
            ws.write_string(r, col["status"], status)
            if status != "open" and first < as_of:
                ws.write_number(r, col["first_response"], first, dtfmt)
        if category in NOTIFY:
            ws.write_string(r, col["notify_department"], NOTIFY[category])
    say(f"Complaints {len(complaints):,}")

    # ---- Sales
    w = _Writer(book, "Sales", formats)
    ws, col = w.ws, w.col
    mfmt = formats["money"]
    product = _picker(rng, tuple((p, 1) for p in PRODUCTS))
    step = max(1, n_sales // 4) if n_sales >= 200_000 else n_sales + 1
    for i in range(n_sales):
        r = i + 1
        c = int(n_customers * rand() ** 2)
        name, price = product()  # type: ignore[misc]
        quantity = 1 if rand() < 0.85 else 2 + randrange(4)
        ws.write_string(r, col["order_id"], f"S-{r:0{width}d}")
        ws.write_number(r, col["date"], first_serial + (i * days) // n_sales, dfmt)
        ws.write_string(r, col["customer_id"], customer_ids[c])
        ws.write_number(r, col["amount"], round(price * quantity * rng.uniform(0.8, 1.0), 2), mfmt)
        ws.write_string(r, col["product"], name)
        ws.write_string(r, col["staff"], owners[c] if rand() < 0.8 else staff_names[0])
        if (i + 1) % step == 0:
            say(f"Sales {i + 1:,} / {n_sales:,}")
    say(f"Sales {n_sales:,}")

    # ---- Staff, SLA, Holidays, Settings
    w = _Writer(book, "Staff", formats)
    for r, (name, email, department) in enumerate(STAFF, start=1):
        w.ws.write_row(r, 0, [name, email, department, "yes"])
    w = _Writer(book, "SLA", formats)
    for r, (sev, first_h, res_h, business) in enumerate(DEFAULT_SLA, start=1):
        w.ws.write_row(r, 0, [sev, first_h, res_h, "yes" if business else "no"])
    w = _Writer(book, "Holidays", formats)
    for r, (day, name) in enumerate(_holidays(), start=1):
        w.ws.write_number(r, 0, _serial(day), dfmt)
        w.ws.write_string(r, 1, name)
    w = _Writer(book, "Settings", formats)
    for r, (key, value) in enumerate(SETTINGS_ROWS, start=1):
        w.ws.write_row(r, 0, [key, value])

    say("saving")
    book.close()
    os.replace(tmp, path)
    say(f"done, {path.stat().st_size / 1024**2:,.1f} MB")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of interactions")
    parser.add_argument("-o", "--output", type=Path, help="where to write (default: the cache)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    if args.output:
        generate(args.output, args.n, seed=args.seed)
        print(args.output)
    else:
        print(ensure_workbook(args.n, seed=args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
