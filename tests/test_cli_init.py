"""`sheetcrm init` through the CLI, and the bundled sample workbook kept in step with it."""

from __future__ import annotations

import python_calamine

from sheetcrm.cli import cli
from tests.conftest import SAMPLE


def all_values(path) -> dict[str, list[list]]:
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    return {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def test_sample_workbook_is_made_by_init_and_up_to_date(runner, tmp_path):
    fresh = tmp_path / "sample.xlsx"
    result = runner.invoke(cli, ["init", str(fresh), "--sample"], catch_exceptions=False)
    assert result.exit_code == 0
    assert all_values(fresh) == all_values(SAMPLE), (
        "sample_workbook.xlsx is out of date: rm sample_workbook.xlsx && "
        "sheetcrm init sample_workbook.xlsx --sample"
    )


def test_sample_validates_cleanly(runner):
    result = runner.invoke(cli, ["validate", "-w", str(SAMPLE), "--as-of", "2026-11-20 15:00"])
    assert result.exit_code == 0
    assert result.stdout.strip().endswith("no problems")


def test_init_refuses_to_overwrite(runner, tmp_path):
    path = tmp_path / "crm.xlsx"
    path.write_bytes(b"owner's precious data")
    result = runner.invoke(cli, ["init", str(path)])
    assert result.exit_code == 2
    assert "already exists" in result.stderr and "--into" in result.stderr
    assert path.read_bytes() == b"owner's precious data"


def test_init_empty_workbook_validates(runner, tmp_path):
    path = tmp_path / "crm.xlsx"
    assert runner.invoke(cli, ["init", str(path)]).exit_code == 0
    result = runner.invoke(cli, ["validate", "-w", str(path)])
    assert result.exit_code == 0, result.output


def test_init_needs_an_xlsx_name(runner, tmp_path):
    result = runner.invoke(cli, ["init", str(tmp_path / "crm.xls")])
    assert result.exit_code == 2 and "must end in .xlsx" in result.stderr


def test_init_into_adds_only_the_missing_sheets(runner, make_book, valid_records):
    del valid_records["Holidays"], valid_records["SLA"], valid_records["Settings"]
    path = make_book(valid_records)
    result = runner.invoke(cli, ["init", "--into", str(path)])
    assert result.exit_code == 0, result.output
    added = [line for line in result.stdout.splitlines() if "add the sheet" in line]
    assert [line.split(":")[0].strip() for line in added] == [
        "SLA",
        "Holidays",
        "Settings",
        "Notices",  # --into adds Notices too (issue 11), so --notify never needs it later
    ]
    values = all_values(path)
    assert values["SLA"][1] == ["low", 24.0, 120.0, "yes"]
    assert ["timezone", "Europe/Oslo"] in values["Settings"]
    again = runner.invoke(cli, ["init", "--into", str(path)])
    assert "already has every CRM sheet" in again.stdout, again.stdout
    assert runner.invoke(cli, ["validate", "-w", str(path)]).exit_code == 0
