"""`sheetcrm validate` through the CLI: every rule of the contract, by cell and code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime

import pytest

from sheetcrm.cli import cli
from sheetcrm.workbook.validation import load


def problems(runner, path, *extra):
    result = runner.invoke(
        cli,
        ["validate", "-w", str(path), "--format", "json", "--as-of", "2026-11-20 15:00", *extra],
    )
    assert "Traceback" not in result.output
    data = json.loads(result.stdout)
    return result, [(p["sheet"], p["cell"], p["code"]) for p in data["problems"]]


def test_valid_workbook_passes(runner, make_book):
    path = make_book()
    result = runner.invoke(
        cli, ["validate", "-w", str(path), "--as-of", "2026-11-20"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "no problems" in result.stdout
    assert result.stdout.startswith("✓ crm.xlsx: 8 sheets, ")


def test_workbook_option_before_and_after_command_and_env(runner, make_book, monkeypatch):
    path = str(make_book())
    for args in (
        ["-w", path, "validate"],
        ["validate", "-w", path],
        ["--workbook", path, "validate"],
    ):
        assert runner.invoke(cli, args).exit_code == 0
    monkeypatch.setenv("SHEETCRM_WORKBOOK", path)
    assert runner.invoke(cli, ["validate"]).exit_code == 0


def test_no_workbook_is_a_usage_error(runner, monkeypatch):
    monkeypatch.delenv("SHEETCRM_WORKBOOK", raising=False)
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 2
    assert "which workbook?" in result.stderr


def test_missing_sheet_and_column(runner, make_book, valid_records):
    del valid_records["Complaints"]
    for row in valid_records["Interactions"]:
        del row["summary"]
        row.pop("complaint_id", None)
    del valid_records["Sales"]
    path = make_book(valid_records)
    result, found = problems(runner, path)
    assert result.exit_code == 1
    assert ("Interactions", None, "missing_column") in found
    assert ("Complaints", None, "missing_sheet") in found
    data = json.loads(result.stdout)
    severities = {(p["sheet"], p["code"]): p["severity"] for p in data["problems"]}
    assert severities[("Complaints", "missing_sheet")] == "error"
    assert severities[("Sales", "missing_sheet")] == "warning"  # a shop may keep no sales


def test_header_matching_is_loose_and_owner_columns_are_ignored(runner, make_book, valid_records):
    headers = {
        "Customers": [
            "Customer ID",
            "NAME",
            "E-mail",
            "Owner",
            "stage",
            "Birthday wishes",
            "Preferred Channel",
        ]
    }
    valid_records["Customers"] = [
        ["C-0001", "Jane Doe", "jane@example.com", "Kari", "Customer", "cake!", "In person"],
        ["C-0002", "Ola", "ola@example.com", "Per", "prospect ", 42, "EMAIL"],
    ]
    path = make_book(valid_records, headers=headers)
    result, found = problems(runner, path)
    assert found == []
    assert result.exit_code == 0


def test_every_cell_rule_names_its_cell(runner, make_book, valid_records):
    i = valid_records["Interactions"]
    i[0]["date"] = "03/04/2026"  # B2 ambiguous
    i[1]["date"] = "next tuesday"  # B3 invalid
    i[0]["channel"] = "fax"  # E2 not in list
    i[1]["satisfaction"] = 7  # out of range
    i[0]["satisfaction"] = "4.5"  # not a whole number
    i[1]["summary"] = "   "  # required, blank
    c = valid_records["Customers"]
    c[1]["email"] = "ola@"  # invalid email
    c[1]["do_not_contact"] = "maybe"  # invalid yes/no
    valid_records["Sales"][0]["amount"] = -5
    valid_records["Sales"].append(
        {
            "order_id": "S-0002",
            "date": date(2026, 10, 2),
            "customer_id": "C-0001",
            "amount": "12 kr",
        }
    )
    path = make_book(valid_records)
    result, found = problems(runner, path)
    assert result.exit_code == 1
    # Interactions columns: A id, B date, C customer, D staff, E channel, F direction,
    # G type, H summary, I outcome, J satisfaction, K complaint_id, L follow_up_on
    expected = {
        ("Customers", "C3", "invalid_email"),
        ("Customers", "I3", "invalid_yes_no"),
        ("Interactions", "B2", "ambiguous_date"),
        ("Interactions", "E2", "not_in_list"),
        ("Interactions", "J2", "invalid_number"),
        ("Interactions", "B3", "invalid_date"),
        ("Interactions", "H3", "missing_value"),
        ("Interactions", "J3", "out_of_range"),
        ("Sales", "D2", "out_of_range"),
        ("Sales", "D3", "invalid_number"),
    }
    assert expected <= set(found), sorted(set(found))
    assert len(found) == len(expected), found


def test_problems_are_grouped_by_sheet_and_ordered_by_row(runner, make_book, valid_records):
    valid_records["Interactions"][1]["channel"] = "pigeon"
    valid_records["Interactions"][0]["type"] = "rant"
    valid_records["Customers"][1]["stage"] = "vip"
    path = make_book(valid_records)
    _, found = problems(runner, path)
    assert found == [
        ("Customers", "G3", "not_in_list"),
        ("Interactions", "G2", "not_in_list"),
        ("Interactions", "E3", "not_in_list"),
    ]


def test_ambiguous_date_says_both_readings(runner, make_book, valid_records):
    valid_records["Interactions"][0]["date"] = "03/04/2026"
    path = make_book(valid_records)
    result = runner.invoke(cli, ["validate", "-w", str(path), "--as-of", "2026-11-20"])
    assert "Interactions!B2" in result.stdout
    assert "3 April 2026" in result.stdout and "4 March 2026" in result.stdout
    assert "2026-04-03" in result.stdout


def test_unambiguous_text_dates_are_dates(runner, make_book, valid_records):
    valid_records["Interactions"][0]["date"] = "2026-11-02 10:30"
    valid_records["Interactions"][1]["date"] = "25/10/2026"
    valid_records["Complaints"][0]["resolved"] = "03.11.2026 12:00"  # dots are day-first
    path = make_book(valid_records)
    _, found = problems(runner, path)
    assert found == []
    book, _ = load(str(path))
    assert book.interactions["date"].tolist() == [
        datetime(2026, 11, 2, 10, 30),
        datetime(2026, 10, 25),
    ]


def test_duplicate_ids_flag_the_second_occurrence(runner, make_book, valid_records):
    valid_records["Customers"][1]["customer_id"] = "c-0001"
    valid_records["Interactions"][1]["customer_id"] = "C-0001"
    path = make_book(valid_records)
    result, found = problems(runner, path)
    assert found == [("Customers", "A3", "duplicate_id")]
    assert "already used in row 2" in json.loads(result.stdout)["problems"][0]["message"]


@pytest.mark.parametrize(
    "keys, different",
    [
        (["C-1", "C-2", None, None], True),
        (["C-1", "c-1"], False),  # case alone does not make two ids
        (["STRASSE", "straße"], False),  # nor does it in German
        ([1.0, "1.0"], False),  # a number and its text
        ([1.0, 2.0, None], True),
        (["a\x00b", "a", "b"], False),  # the separator inside a key: the loop decides
        ([], True),
    ],
)
def test_the_quick_check_for_repeated_keys(keys, different):
    """validation._all_different answers in C what the key loop then spells out; it may
    only say "all different" when no two keys fold to one."""
    from sheetcrm.workbook.validation import _all_different

    assert _all_different(keys) is different
    present = [str(k).casefold() for k in keys if k is not None]
    if different:
        assert len(set(present)) == len(present)


def test_a_reference_in_another_case_is_stored_as_on_its_sheet(make_book, valid_records):
    """Every other reference in the sheet is exact, so only this one needs the loop."""
    valid_records["Interactions"][1]["staff"] = valid_records["Staff"][0]["name"].upper()
    book, report = load(str(make_book(valid_records)))
    assert not report.errors
    assert book.table("Interactions").columns["staff"][1] == valid_records["Staff"][0]["name"]


def test_references_are_checked_with_suggestions(runner, make_book, valid_records):
    valid_records["Interactions"][0]["customer_id"] = "C-0010"
    valid_records["Interactions"][1]["staff"] = "Nina"
    valid_records["Interactions"][0]["complaint_id"] = "K-0009"
    valid_records["Complaints"][0]["owner"] = "Olga"
    valid_records["Customers"][1]["owner"] = "per"  # case differs: the same person
    path = make_book(valid_records)
    result, found = problems(runner, path)
    assert found == [
        ("Interactions", "C2", "unknown_reference"),
        ("Interactions", "K2", "unknown_reference"),
        ("Interactions", "D3", "unknown_reference"),
        ("Complaints", "H2", "unknown_reference"),
    ]
    first = json.loads(result.stdout)["problems"][0]
    assert "did you mean C-0001 Jane Doe?" in first["hint"]


def test_cross_field_rules(runner, make_book, valid_records):
    k = valid_records["Complaints"][0]
    k["first_response"] = datetime(2026, 11, 1, 9, 0)  # before opened
    valid_records["Complaints"].append(
        {
            "complaint_id": "K-0002",
            "opened": datetime(2026, 11, 5, 9, 0),
            "customer_id": "C-0002",
            "severity": "low",
            "summary": "Slow reply",
            "owner": "Per",
            "status": "closed",
        }
    )  # closed without resolved
    path = make_book(valid_records)
    _, found = problems(runner, path)
    assert found == [("Complaints", "J2", "date_order"), ("Complaints", "K3", "missing_value")]


def test_warnings_do_not_fail(runner, make_book, valid_records):
    valid_records["Customers"][1]["email"] = "JANE@example.com"  # same email as C-0001
    valid_records["Sales"][0]["date"] = date(2027, 1, 1)  # in the future
    valid_records["Staff"][1]["active"] = "no"  # Per owns C-0002
    path = make_book(valid_records)
    result, found = problems(runner, path)
    assert result.exit_code == 0
    assert found == [
        ("Customers", "C3", "duplicate_email"),
        ("Customers", "F3", "inactive_owner"),
        ("Sales", "B2", "future_date"),
    ]


def test_empty_formatted_rows_and_title_rows_are_not_records(tmp_path):
    import xlsxwriter

    path = tmp_path / "styled.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    fill = wb.add_format({"bg_color": "#FFFF00", "border": 1})

    ws = wb.add_worksheet("Staff")
    ws.write("A1", "Our team (keep up to date!)")
    ws.write_row(2, 0, ["Name", "Email", "Active"])
    ws.write_row(3, 0, ["Kari", "kari@example.com", "yes"])
    ws.write_row(4, 0, ["Per", "not-an-email", "yes"])
    for r in range(5, 200):
        for c in range(3):
            ws.write_blank(r, c, None, fill)
    wb.close()
    book, report = load(str(path))
    assert book.staff["name"].tolist() == ["Kari", "Per"]
    assert book.staff["excel_row"].tolist() == [4, 5]
    assert ("Staff", "B5", "invalid_email") in report.flatten("sheet", "cell", "code")


def test_1904_date_system_is_honoured(make_book, valid_records):
    path = make_book(valid_records, date1904=True)
    book, report = load(str(path))
    assert report.ok
    assert book.interactions["date"].iloc[0] == datetime(2026, 11, 2, 10, 30)


def test_settings_typos_are_warnings_with_cells(runner, make_book, valid_records):
    valid_records["Settings"] = [
        {"key": "company_name", "value": "Test Cycles"},
        {"key": "Time zone ", "value": "Mars/Olympus"},
        {"key": "business_hours", "value": "nine to five"},
        {"key": "my own key", "value": "kept"},
    ]
    path = make_book(valid_records)
    result, found = problems(runner, path)
    assert result.exit_code == 0
    assert found == [("Settings", "B3", "invalid_setting"), ("Settings", "B4", "invalid_setting")]
    book, _ = load(str(path))
    assert book.settings.timezone == "Europe/Oslo"
    assert book.settings.extra == {"my own key": "kept"}


def test_json_equals_library_report(runner, make_book, valid_records):
    valid_records["Interactions"][0]["channel"] = "fax"
    path = make_book(valid_records)
    result = runner.invoke(
        cli, ["validate", "-w", str(path), "--format", "json", "--as-of", "2026-11-20 15:00"]
    )
    _, report = load(str(path), as_of=datetime(2026, 11, 20, 15))
    assert json.loads(result.stdout) == report.to_json()
    assert set(json.loads(result.stdout)) == {"workbook", "errors", "warnings", "problems"}


def test_human_output_is_plain_when_piped(runner, make_book, valid_records):
    valid_records["Interactions"][0]["channel"] = "fax"
    path = make_book(valid_records)
    result = runner.invoke(cli, ["validate", "-w", str(path), "--as-of", "2026-11-20"])
    assert "\x1b[" not in result.stdout
    assert result.stdout.splitlines()[0] == "Interactions"
    assert "Interactions!E2  error: channel 'fax' is not one of the allowed values" in result.stdout
    assert result.stdout.rstrip().endswith("✗ crm.xlsx: 1 error")


@pytest.mark.slow
def test_real_subprocess(make_book, valid_records, tmp_path):
    valid_records["Interactions"][0]["date"] = "03/04/2026"
    path = make_book(valid_records)
    env = {**os.environ, "SHEETCRM_WORKBOOK": str(path)}
    proc = subprocess.run(
        [sys.executable, "-m", "sheetcrm", "validate", "--as-of", "2026-11-20"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert "Interactions!B2" in proc.stdout
    assert proc.stderr == ""
    bad = subprocess.run(
        [sys.executable, "-m", "sheetcrm", "validate", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "is a folder" in bad.stderr and "Traceback" not in bad.stderr


def test_an_empty_sheet_reports_its_required_columns(runner, tmp_path, valid_records):
    from tests.conftest import write_book

    path = write_book(tmp_path / "crm.xlsx", valid_records)
    import openpyxl

    wb = openpyxl.load_workbook(path)
    wb.remove(wb["Sales"])
    wb.create_sheet("Sales")  # the owner cleared it completely
    wb.save(path)
    _, found = problems(runner, path)
    assert found == [("Sales", None, "missing_column")] * 4
