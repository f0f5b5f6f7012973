"""`sheetcrm sale` and `log --type sale --amount`: the order reaches the Sales sheet."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import python_calamine

from sheetcrm.cli import cli
from tests.conftest import AS_OF
from tests.test_cli_write import build_decorated, changed_parts, parts, sheet_part


def rows_of(path, sheet):
    return (
        python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()
    )


def run(runner, *args, ok=True):
    result = runner.invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    if ok:
        assert result.exit_code == 0, result.output
    return result


def story(runner, path, who):
    out = run(runner, "customer", "show", who, "-w", path, "--as-of", AS_OF, "--format", "json")
    return json.loads(out.stdout)


def test_sale_writes_only_the_sales_sheet_and_counts_in_customer_show(
    runner, make_book, valid_records
):
    path = make_book(valid_records)
    before = parts(path)
    assert story(runner, path, "C-0002")["figures"]["orders"] == 0
    out = run(
        runner,
        "sale",
        "-w",
        path,
        "--customer",
        "ola",  # a name, as the owner says it
        "--amount",
        "1290",
        "--item",
        "Service",
        "--at",
        "2026-11-20 14:30",
    )
    assert "Recorded sale S-0002: 1290 (Service) to C-0002 Ola Nordmann" in out.stdout
    assert changed_parts(before, parts(path)) <= {sheet_part(path, "Sales"), "xl/styles.xml"}
    row = rows_of(path, "Sales")[2]
    assert row[:6] == ["S-0002", dt.date(2026, 11, 20), "C-0002", 1290.0, "Service", "Per"]
    figures = story(runner, path, "C-0002")["figures"]
    assert (figures["orders"], figures["total_sales"]) == (1, 1290.0)
    # --product is the contract's word for the same column
    run(runner, "sale", "-w", path, "--customer", "C-0002", "--amount", "10", "--product", "Bell")
    assert rows_of(path, "Sales")[3][4] == "Bell"


def test_sale_with_log_writes_both_in_one_save(runner, make_book, valid_records):
    path = make_book(valid_records)
    out = run(
        runner,
        "sale",
        "-w",
        path,
        "--customer",
        "jane@example.com",
        "--amount",
        "450.5",
        "--at",
        "2026-11-20 14:30",
        "--log",
        "--channel",
        "visit",
    )
    assert "Logged I-0003: sale by in_person" in out.stdout
    backups = sorted((path.parent / "backups").glob("*.xlsx"))
    assert len(backups) == 1  # one save for both rows
    inter = rows_of(path, "Interactions")[3]
    assert inter[:8] == [
        "I-0003",
        dt.datetime(2026, 11, 20, 14, 30),
        "C-0001",
        "Kari",
        "in_person",
        "inbound",
        "sale",
        "Sale S-0002: NOK 450.50",
    ]
    assert rows_of(path, "Sales")[2][:4] == ["S-0002", dt.date(2026, 11, 20), "C-0001", 450.5]
    assert run(runner, "validate", "-w", path, "--as-of", AS_OF).exit_code == 0


def test_log_type_sale_with_amount_records_the_order(runner, make_book, valid_records):
    path = make_book(valid_records)
    out = run(
        runner,
        "log",
        "-w",
        path,
        "--customer",
        "C-0002",
        "--channel",
        "call",
        "--type",
        "sale",
        "--summary",
        "Bought a helmet on the phone",
        "--amount",
        "300",
        "--item",
        "Helmet",
        "--date",  # the old name of --at still works
        "2026-11-19 10:00",
    )
    assert "Recorded sale S-0002: 300 on the Sales sheet." in out.stdout
    inter = rows_of(path, "Interactions")[3]
    assert (inter[4], inter[6], inter[7]) == ("phone", "sale", "Bought a helmet on the phone")
    assert rows_of(path, "Sales")[2][:5] == [
        "S-0002",
        dt.date(2026, 11, 19),
        "C-0002",
        300.0,
        "Helmet",
    ]


def test_log_type_sale_without_amount_warns(runner, make_book):
    path = make_book()
    out = run(
        runner,
        "log",
        "-w",
        path,
        "--customer",
        "C-0002",
        "--channel",
        "phone",
        "--type",
        "sale",
        "--summary",
        "Sold something",
    )
    assert "no --amount, so nothing went on the Sales sheet" in out.stderr
    assert len(rows_of(path, "Sales")) == 2


def test_sale_refusals_write_nothing(runner, make_book):
    path = make_book()
    before = path.read_bytes()
    typo = run(runner, "sale", "-w", path, "--customer", "C-0020", "--amount", "5", ok=False)
    assert typo.exit_code == 2 and "did you mean C-0002" in typo.stderr
    negative = run(runner, "sale", "-w", path, "--customer", "C-0001", "--amount", "-5", ok=False)
    assert negative.exit_code == 2
    ghost = run(
        runner,
        "sale",
        "-w",
        path,
        "--customer",
        "C-0001",
        "--amount",
        "5",
        "--staff",
        "Bob",
        ok=False,
    )
    assert ghost.exit_code == 2 and "Bob" in ghost.stderr and "nothing was written" in ghost.stderr
    lonely = run(
        runner,
        "sale",
        "-w",
        path,
        "--customer",
        "C-0001",
        "--amount",
        "5",
        "--summary",
        "x",
        ok=False,
    )
    assert lonely.exit_code == 2 and "--log" in lonely.stderr
    assert path.read_bytes() == before


def test_sale_makes_the_sales_sheet_when_there_is_none(runner, make_book, valid_records):
    del valid_records["Sales"]
    path = make_book(valid_records)
    run(runner, "sale", "-w", path, "--customer", "C-0001", "--amount", "99", "--at", "2026-11-20")
    wb = openpyxl.load_workbook(path)
    assert "Sales" in wb.sheetnames
    assert [c.value for c in wb["Sales"][2]][:4] == [
        "S-0001",
        dt.datetime(2026, 11, 20),
        "C-0001",
        99,
    ]
    assert run(runner, "validate", "-w", path, "--as-of", AS_OF).exit_code == 0


def test_sale_appends_into_a_table(runner, tmp_path):
    decorated = build_decorated(tmp_path / "crm.xlsx")
    run(runner, "sale", "-w", decorated, "--customer", "C-0001", "--amount", "75")
    table = openpyxl.load_workbook(decorated)["Sales"].tables["Sales"]
    assert table.ref == "A1:F3"  # the Table grew to take the new row
