"""`sheetcrm staff add/list/leave`, and a new workbook's first customer with a new owner."""

from __future__ import annotations

import json

import openpyxl
import python_calamine

from sheetcrm.cli import cli
from tests.conftest import AS_OF, complaint
from tests.test_cli_write import changed_parts, parts, sheet_part


def rows_of(path, sheet):
    return (
        python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()
    )


def run(runner, *args, ok=True, **kw):
    result = runner.invoke(cli, [str(a) for a in args], **kw)
    assert "Traceback" not in result.output
    if ok:
        assert result.exit_code == 0, result.output
    return result


def cells(path, sheet, column):
    """The values of one column, found by its header (workbooks order columns differently)."""
    rows = rows_of(path, sheet)
    i = rows[0].index(column)
    return [r[i] for r in rows[1:]]


def test_staff_add_and_list(runner, make_book):
    path = make_book()
    before = parts(path)
    out = run(
        runner,
        "staff",
        "add",
        "Lise",
        "-w",
        path,
        "--email",
        "lise@example.com",
        "--department",
        "Finance",
    )
    assert out.stdout.strip() == "Added Lise to Staff (lise@example.com, Finance)."
    assert changed_parts(before, parts(path)) <= {sheet_part(path, "Staff"), "xl/styles.xml"}
    assert rows_of(path, "Staff")[3] == ["Lise", "lise@example.com", "Finance", "yes"]
    listed = json.loads(run(runner, "staff", "list", "-w", path, "--format", "json").stdout)
    assert [(p["name"], p["customers"], p["open_complaints"]) for p in listed] == [
        ("Kari", 1, 0),
        ("Lise", 0, 0),
        ("Per", 1, 0),
    ]
    table = run(runner, "staff", "list", "-w", path).stdout.splitlines()
    assert table[0].split() == ["name", "department", "email", "customers", "open", "complaints"]
    again = run(runner, "staff", "add", "lise", "-w", path, ok=False)
    assert again.exit_code == 2 and "Lise is already on the Staff sheet" in again.stderr
    bad = run(runner, "staff", "add", "Ola", "-w", path, "--email", "not-an-email", ok=False)
    assert bad.exit_code == 2 and "not an email address" in bad.stderr
    assert len(rows_of(path, "Staff")) == 4


def test_staff_leave_lists_what_they_own_and_can_hand_it_over(runner, make_book, valid_records):
    valid_records["Complaints"].append(
        complaint("K-0002", valid_records["Interactions"][1]["date"], "C-0002", "high", owner="Per")
    )
    path = make_book(valid_records)
    out = run(runner, "staff", "leave", "per", "-w", path)
    assert "Per is now marked inactive on the Staff sheet." in out.stdout
    assert "customer C-0002 Ola Nordmann: sheetcrm customer edit C-0002 --set owner=NAME" in (
        out.stdout
    )
    assert "complaint K-0002 (open)" in out.stdout
    assert rows_of(path, "Staff")[2] == ["Per", "per@example.com", "Sales", "no"]
    # validate now points at what still belongs to someone who left
    report = json.loads(
        run(runner, "validate", "-w", path, "--as-of", AS_OF, "--format", "json").stdout
    )
    assert {p["code"] for p in report["problems"]} == {"inactive_owner"}
    assert len(json.loads(run(runner, "staff", "list", "-w", path, "--format", "json").stdout)) == 1
    # leaving twice changes nothing; handing over does the rest in one save
    out = run(runner, "staff", "leave", "Per", "-w", path, "--reassign-to", "kari")
    assert "Handed 1 customers and 1 open complaints to Kari." in out.stdout
    assert cells(path, "Customers", "owner") == ["Kari", "Kari"]
    assert cells(path, "Complaints", "owner") == ["Kari", "Kari"]
    report = json.loads(
        run(runner, "validate", "-w", path, "--as-of", AS_OF, "--format", "json").stdout
    )
    assert report["problems"] == []
    # history is not rewritten
    assert cells(path, "Interactions", "staff") == ["Kari", "Per"]


def test_staff_leave_unknown_name_suggests(runner, make_book):
    path = make_book()
    before = path.read_bytes()
    out = run(runner, "staff", "leave", "Karri", "-w", path, ok=False)
    assert out.exit_code == 2 and "did you mean Kari?" in out.stderr
    to_gone = run(runner, "staff", "leave", "Kari", "-w", path, "--reassign-to", "Bob", ok=False)
    assert to_gone.exit_code == 2 and "Bob is not on the Staff sheet" in to_gone.stderr
    assert path.read_bytes() == before


def test_staff_add_brings_someone_back(runner, make_book, valid_records):
    valid_records["Staff"][1]["active"] = "no"
    path = make_book(valid_records)
    out = run(runner, "staff", "add", "Per", "-w", path, "--department", "Workshop")
    assert "Per was inactive and is active again." in out.stdout
    assert rows_of(path, "Staff")[2] == ["Per", "per@example.com", "Workshop", "yes"]


def fresh_book(runner, tmp_path):
    path = tmp_path / "new.xlsx"
    run(runner, "init", path)
    return path


def test_first_customer_of_a_new_workbook_in_a_script(runner, tmp_path):
    path = fresh_book(runner, tmp_path)
    before = path.read_bytes()
    refused = run(
        runner, "customer", "add", "-w", path, "--name", "Jane Doe", "--owner", "Kari", ok=False
    )
    assert refused.exit_code == 2
    assert "Kari is not on the Staff sheet" in refused.stderr
    assert "sheetcrm staff add Kari" in refused.stderr
    assert path.read_bytes() == before
    out = run(
        runner,
        "customer",
        "add",
        "-w",
        path,
        "--name",
        "Jane Doe",
        "--owner",
        "Kari",
        "--add-staff",
    )
    assert "Added Kari to the Staff sheet." in out.stdout
    assert rows_of(path, "Staff")[1][0] == "Kari"
    assert cells(path, "Customers", "owner") == ["Kari"]
    assert run(runner, "validate", "-w", path, "--as-of", AS_OF).exit_code == 0


def test_first_customer_on_a_terminal_is_offered(runner, tmp_path, monkeypatch):
    path = fresh_book(runner, tmp_path)
    monkeypatch.setattr("sheetcrm.cli.contacts._stdin_is_terminal", lambda: True)
    out = run(
        runner,
        "customer",
        "add",
        "-w",
        path,
        "--name",
        "Jane Doe",
        "--owner",
        "kari ",
        input="y\n",
    )
    assert "Add kari to the Staff sheet now? [Y/n]" in out.stdout
    wb = openpyxl.load_workbook(path)
    assert wb["Staff"]["A2"].value == "kari"
    assert wb["Customers"]["G2"].value == "kari"
    # said no: nothing written
    before = path.read_bytes()
    out = run(
        runner,
        "customer",
        "add",
        "-w",
        path,
        "--name",
        "Ola",
        "--owner",
        "Per",
        input="n\n",
        ok=False,
    )
    assert out.exit_code == 2 and path.read_bytes() == before


def test_a_known_owner_typed_in_another_case_is_spelled_as_staff_spells_it(runner, make_book):
    path = make_book()
    run(runner, "customer", "add", "-w", path, "--name", "Nils", "--owner", "KARI")
    assert cells(path, "Customers", "owner")[-1] == "Kari"


def test_logging_as_someone_who_left_warns(runner, make_book, valid_records):
    # The active column is typed as numpy booleans: an ``is False`` test never warned.
    valid_records["Staff"][1]["active"] = "no"
    path = make_book(valid_records)
    out = run(
        runner,
        "log",
        "-w",
        path,
        "--customer",
        "C-0001",
        "--channel",
        "phone",
        "--type",
        "support",
        "--summary",
        "Checked the brakes",
        "--staff",
        "Per",
    )
    assert "Per is marked inactive on the Staff sheet." in out.stderr


def test_a_typo_of_an_owner_is_not_added_on_enter(runner, make_book, monkeypatch):
    path = make_book()
    before = path.read_bytes()
    monkeypatch.setattr("sheetcrm.cli.contacts._stdin_is_terminal", lambda: True)
    out = run(
        runner,
        "customer",
        "add",
        "-w",
        path,
        "--name",
        "Nils",
        "--owner",
        "Karri",
        input="\n",
        ok=False,
    )
    assert "did you mean Kari?" in out.stdout
    assert "Add Karri to the Staff sheet now? [y/N]" in out.stdout
    assert out.exit_code == 2 and path.read_bytes() == before
