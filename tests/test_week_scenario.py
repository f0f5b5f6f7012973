"""A week in a small bike shop, every step through the command line, none through Excel.

Three staff (Kari in the workshop, Per in sales, Amira in finance) set up a new
workbook on Monday, import their customer list (twice, from the semicolon-separated
Windows-1252 file Excel saves in Norway), record sales and contacts, open
and answer complaints, edit customers, take on Lise and see Per leave, and mark
what is left to fix. At the end the workbook validates, a second reader sees
the rows, and `customer show` and the week's figures say what the week did.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import python_calamine

from sheetcrm.cli import cli
from sheetcrm.rules import metrics
from sheetcrm.workbook.validation import load

# As Excel in a Norwegian locale saves "CSV": semicolons, Windows-1252, Norwegian headings.
CUSTOMERS_CSV = """Navn;E-post;Telefon;Kanal;Ansvarlig;Fase;Kundegruppe
Yuki Tanaka;yuki@example.com;+47 401 00 001;email;Per;customer;pendler
Ola Nordmann;ola@example.com;+47 401 00 002;phone;Per;prospect;familie på tur
Jane Doe;jane@example.com;+47 401 00 003;text;Kari;customer;terreng og løp
"""

SATURDAY = "2026-11-21 10:00"


def table(path: Path, sheet: str) -> list[dict]:
    rows = (
        python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()
    )
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]


class Shop:
    def __init__(self, runner, path: Path) -> None:
        self.runner, self.path = runner, path

    def __call__(self, *args: object, code: int = 0) -> str:
        result = self.runner.invoke(
            cli, [str(a) for a in args], env={"SHEETCRM_WORKBOOK": str(self.path)}
        )
        assert "Traceback" not in result.output
        assert result.exit_code == code, (args, result.output)
        return result.stdout

    def story(self, who: str) -> dict:
        return json.loads(self("customer", "show", who, "--as-of", SATURDAY, "--format", "json"))


def test_a_week_without_excel(runner, tmp_path):
    path = tmp_path / "shop.xlsx"
    shop = Shop(runner, path)

    # Monday: a new workbook, the staff, the customer list.
    shop("init", path)
    for name, email, dept in (
        ("Kari", "kari@shop.test", "Workshop"),
        ("Per", "per@shop.test", "Sales"),
        ("Amira", "amira@shop.test", "Finance"),
    ):
        shop("staff", "add", name, "--email", email, "--department", dept)
    csv = tmp_path / "customers.csv"
    csv.write_bytes(CUSTOMERS_CSV.encode("cp1252"))
    first = shop("import", "Customers", csv)
    # Tuesday someone imports the same list again: nobody is doubled.
    again = shop("import", "Customers", csv)
    assert "Read customers.csv as Windows-1252 text separated by ';'." in first
    assert "Imported 3 rows into Customers" in first
    assert "Skipped 3 rows already in Customers" in again
    assert len(table(path, "Customers")) == 3
    assert {r["segment"] for r in table(path, "Customers")} == {
        "pendler",
        "familie på tur",
        "terreng og løp",
    }
    shop(
        "customer",
        "add",
        "--name",
        "Nils Berg",
        "--email",
        "nils@example.com",
        "--owner",
        "Kari",
        "--stage",
        "customer",
        "--as-of",
        "2026-11-16 09:00",
    )
    ids = {c["name"]: c["customer_id"] for c in table(path, "Customers")}
    assert list(ids) == ["Yuki Tanaka", "Ola Nordmann", "Jane Doe", "Nils Berg"]

    # Tuesday: a service sold in the shop, a phone enquiry, a complaint about billing.
    shop(
        "sale",
        "--customer",
        "yuki",
        "--amount",
        1290,
        "--item",
        "Service",
        "--at",
        "2026-11-17 10:15",
        "--log",
        "--staff",
        "Kari",
    )
    shop(
        "log",
        "--customer",
        "ola",
        "--channel",
        "call",
        "--type",
        "enquiry",
        "--direction",
        "inbound",
        "--summary",
        "Asked about child seats",
        "--staff",
        "Per",
        "--at",
        "2026-11-17 11:00",
    )
    out = shop(
        "complaint",
        "open",
        "--customer",
        "jane@example.com",
        "--severity",
        "high",
        "--category",
        "billing",
        "--summary",
        "Charged twice for the service",
        "--notify",
        "Finance",
        "--at",
        "2026-11-17 13:00",
    )
    kid = out.split()[1]
    assert kid == "K-0001"

    # Wednesday: the complaint answered by phone; Ola buys; Jane moves up a stage.
    shop(
        "complaint",
        "respond",
        kid,
        "--channel",
        "call",
        "--staff",
        "Amira",
        "--summary",
        "Apologised; refund is on its way",
        "--at",
        "2026-11-18 09:30",
    )
    shop(
        "sale",
        "--customer",
        ids["Ola Nordmann"],
        "--amount",
        450,
        "--item",
        "Child seat",
        "--at",
        "2026-11-18 15:00",
    )
    out = shop(
        "customer",
        "edit",
        "Jane Doe",
        "--set",
        "stage=client",
        "--note",
        "Loyal racer; offer the winter service",
        "--as-of",
        "2026-11-18",
    )
    assert "  stage: customer -> client" in out

    # Thursday: Jane visits and buys; the complaint is resolved; Lise starts.
    shop(
        "log",
        "--customer",
        "jane",
        "--channel",
        "visit",
        "--type",
        "sale",
        "--amount",
        300,
        "--item",
        "Bar tape",
        "--summary",
        "Bought bar tape",
        "--staff",
        "Kari",
        "--at",
        "2026-11-19 12:00",
    )
    shop(
        "complaint",
        "resolve",
        kid,
        "--resolution",
        "Refunded the second charge",
        "--summary",
        "Called: refund done",
        "--channel",
        "phone",
        "--staff",
        "Amira",
        "--at",
        "2026-11-19 14:00",
    )
    shop("staff", "add", "Lise", "--email", "lise@shop.test", "--department", "Sales")

    # Friday: Per leaves; what he owned shows as problems until it is handed over.
    out = shop("staff", "leave", "Per")
    assert "customer " + ids["Yuki Tanaka"] in out and "customer " + ids["Ola Nordmann"] in out
    shop(
        "customer",
        "edit",
        "yuki",
        "--set",
        "do_not_contact=yes",
        "--note",
        "Asked for no more offers",
        "--as-of",
        "2026-11-20",
    )
    shop("validate", "--mark", "--as-of", "2026-11-20 16:00")  # warnings only: exit 0
    wb = openpyxl.load_workbook(path)
    assert wb.active.title == "CRM problems"
    owner_cells = {row[0] for row in wb["CRM problems"].iter_rows(min_row=2, values_only=True)}
    assert len(owner_cells) == 2  # Yuki's and Ola's owner cells
    shop("customer", "edit", "yuki", "--set", "owner=Lise")
    shop("customer", "edit", "ola", "--set", "owner=Lise")
    out = shop("validate", "--mark", "--as-of", "2026-11-20 16:30")
    assert "CRM problems" not in openpyxl.load_workbook(path).sheetnames

    # Saturday: the workbook is clean and the figures tell the week.
    report = json.loads(shop("validate", "--as-of", SATURDAY, "--format", "json"))
    assert report["problems"] == []
    staff = {s["name"]: s for s in table(path, "Staff")}
    assert staff["Per"]["active"] == "no" and staff["Lise"]["active"] == "yes"

    sales = table(path, "Sales")
    assert [(s["customer_id"], s["amount"], s["product"]) for s in sales] == [
        (ids["Yuki Tanaka"], 1290, "Service"),
        (ids["Ola Nordmann"], 450, "Child seat"),
        (ids["Jane Doe"], 300, "Bar tape"),
    ]
    yuki = shop.story("yuki")
    assert (yuki["figures"]["orders"], yuki["figures"]["total_sales"]) == (1, 1290)
    assert yuki["customer"]["owner"] == "Lise" and yuki["customer"]["do_not_contact"] is True
    jane = shop.story("jane")
    assert (jane["figures"]["orders"], jane["figures"]["total_sales"]) == (1, 300)
    assert jane["customer"]["stage"] == "client"
    assert jane["customer"]["preferred_channel"] == "sms"  # "text" in the CSV
    assert jane["customer"]["notes"] == "2026-11-18: Loyal racer; offer the winter service"
    said = [e["text"] for e in jane["timeline"] if e["kind"] == "interaction"]
    assert said == [
        "Called: refund done",
        "Bought bar tape",
        "Apologised; refund is on its way",
        "Charged twice for the service",
    ]

    book, _ = load(path)
    as_of = dt.datetime(2026, 11, 21, 10)
    week = metrics.figures(
        metrics.prepare(book, as_of, since=dt.date(2026, 11, 1)),
        dt.date(2026, 11, 16),
        dt.date(2026, 11, 22),
    )
    assert week["sales"]["orders"] == 3
    assert week["sales"]["revenue"] == 2040
    assert week["sales"]["customers"] == 3
    assert week["complaints"]["opened"] == 1 and week["complaints"]["resolved"] == 1
    assert week["contact"]["interactions"] == 6
    # the weekly report (Markdown) is built from the same workbook
    shop(
        "report",
        "--week",
        "2026-W47",
        "--format",
        "md",
        "--out",
        tmp_path / "reports",
        "--as-of",
        SATURDAY,
    )
    text = next((tmp_path / "reports").glob("*.md")).read_text(encoding="utf-8")
    assert "- Orders: **3**" in text
    assert "- Revenue: **NOK\xa02,040**" in text  # whole kroner, a non-breaking space
