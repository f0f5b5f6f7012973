"""``newbook.create_workbook``: a new contract workbook, checked as Excel and calamine see it."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from python_calamine import CalamineWorkbook

from sheetcrm import contract
from sheetcrm.errors import SheetCRMError, column_letter
from sheetcrm.workbook.newbook import NUMBER_FORMATS, VALIDATION_ROWS, create_workbook
from sheetcrm.workbook.sample import sample_records

CREATED = datetime(2026, 11, 20, 9, 0)


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("books")
    empty, sample = folder / "empty.xlsx", folder / "sample.xlsx"
    create_workbook(empty, created=CREATED)
    create_workbook(sample, sample_records(), created=CREATED)
    return {"empty": empty, "sample": sample}


@pytest.fixture(scope="module")
def opened(books: dict[str, Path]) -> dict[str, openpyxl.Workbook]:
    return {name: openpyxl.load_workbook(path) for name, path in books.items()}


@pytest.fixture(scope="module")
def records() -> dict[str, list[dict[str, object]]]:
    return sample_records()


def headers(ws: Worksheet) -> list[Any]:
    return [cell.value for cell in ws[1]]


def width_of(ws: Worksheet, column: int) -> float | None:
    """The width of a 1-based column (openpyxl groups equal neighbours into one range)."""
    for dim in ws.column_dimensions.values():
        if dim.min is not None and dim.min <= column <= dim.max:
            return dim.width
    return None


def validation_at(ws: Worksheet, cell: str) -> DataValidation | None:
    found = [dv for dv in ws.data_validations.dataValidation if cell in dv.sqref]
    assert len(found) <= 1, f"{ws.title}!{cell} has {len(found)} validations"
    return found[0] if found else None


def rows_given(name: str, kind: str, records: dict[str, list[dict[str, object]]]) -> int:
    if kind == "empty":
        return {"SLA": len(contract.DEFAULT_SLA), "Settings": len(contract.SETTINGS)}.get(name, 0)
    return len(records[name])


@pytest.mark.parametrize("kind", ["empty", "sample"])
def test_every_contract_sheet_is_a_table_with_the_contract_headers(
    kind: str, opened: dict[str, openpyxl.Workbook], records: dict[str, list[dict[str, object]]]
) -> None:
    wb = opened[kind]
    assert wb.sheetnames == [s.name for s in contract.SHEETS]
    for sheet in contract.SHEETS:
        ws = wb[sheet.name]
        names = [c.name for c in sheet.columns]
        found = headers(ws)
        assert found[: len(names)] == names
        # only Settings carries an extra owner-style column: the description
        assert found[len(names) :] == (["description"] if sheet.name == "Settings" else [])
        assert list(ws.tables) == [sheet.name]
        table = ws.tables[sheet.name]
        given = rows_given(sheet.name, kind, records)
        data_rows = max(given, 1)  # an empty table keeps one (blank) row
        assert table.ref == f"A1:{column_letter(len(found) - 1)}{data_rows + 1}"
        assert ws.max_row == given + 1
        assert table.tableStyleInfo.name == "TableStyleMedium2"
        assert table.tableStyleInfo.showRowStripes
        assert [c.name for c in table.tableColumns] == found
        assert ws.freeze_panes == "A2"
        for index, col in enumerate(sheet.columns):
            width = width_of(ws, index + 1)
            assert width == pytest.approx(col.width, abs=1), (sheet.name, col.name)


def test_an_empty_table_keeps_one_blank_row(opened: dict[str, openpyxl.Workbook]) -> None:
    ws = opened["empty"]["Customers"]
    assert ws.tables["Customers"].ref.endswith("2")
    assert all(cell.value is None for cell in ws[2])


@pytest.mark.parametrize("kind", ["empty", "sample"])
def test_drop_downs_follow_the_vocabularies(
    kind: str, opened: dict[str, openpyxl.Workbook]
) -> None:
    wb = opened[kind]
    checked = 0
    for sheet in contract.SHEETS:
        ws = wb[sheet.name]
        for index, col in enumerate(sheet.columns):
            letter = column_letter(index)
            dv = validation_at(ws, f"{letter}2")
            if col.choices or col.kind == "yesno":
                values = col.choices or ("yes", "no")
                assert dv is not None, f"{sheet.name}.{col.name} has no drop-down"
                assert dv.type == "list"
                assert dv.formula1 == '"' + ",".join(values) + '"'
                assert dv.errorStyle in (None, "stop")  # stop is Excel's default
                assert dv.showDropDown in (None, False)  # False means: show the arrow
                assert f"{letter}{VALIDATION_ROWS}" in dv.sqref  # rows the owner adds too
                assert "list" in dv.prompt or "yes or no" in dv.prompt
                checked += 1
    assert checked == sum(
        1 for s in contract.SHEETS for c in s.columns if c.choices or c.kind == "yesno"
    )


def test_numbers_dates_and_references_are_checked(opened: dict[str, openpyxl.Workbook]) -> None:
    wb = opened["empty"]
    for sheet in contract.SHEETS:
        ws = wb[sheet.name]
        for index, col in enumerate(sheet.columns):
            dv = validation_at(ws, f"{column_letter(index)}2")
            if col.kind in ("whole", "number") and col.minimum is not None:
                assert dv is not None
                assert dv.type == ("whole" if col.kind == "whole" else "decimal")
                if col.maximum is not None:
                    assert dv.operator in (None, "between")
                    assert (float(dv.formula1), float(dv.formula2)) == (col.minimum, col.maximum)
                else:
                    assert dv.operator == "greaterThanOrEqual"
                    assert float(dv.formula1) == col.minimum
            elif col.kind in ("date", "datetime"):
                assert dv is not None and dv.type == "date"
                assert dv.errorStyle == "warning"
                assert "2026-11-20" in dv.prompt
            elif col.references:
                ref_sheet = contract.SHEET_BY_NAME[col.references[0]]
                ref_index = [c.name for c in ref_sheet.columns].index(col.references[1])
                letter = column_letter(ref_index)
                assert dv is not None and dv.type == "list"
                assert dv.formula1 == f"{ref_sheet.name}!${letter}$2:${letter}${VALIDATION_ROWS}"
                assert dv.errorStyle == "warning"  # a new name is allowed, just questioned
    satisfaction = contract.SHEET_BY_NAME["Interactions"].column("satisfaction")
    assert (satisfaction.minimum, satisfaction.maximum) == (1, 5)


def test_number_formats_by_kind(
    opened: dict[str, openpyxl.Workbook], records: dict[str, list[dict[str, object]]]
) -> None:
    wb = opened["sample"]
    seen: set[str] = set()
    for sheet in contract.SHEETS:
        ws = wb[sheet.name]
        for index, col in enumerate(sheet.columns):
            if col.kind not in NUMBER_FORMATS:
                continue
            for row in range(2, ws.max_row + 1):
                cell = ws.cell(row, index + 1)
                if cell.value is None:
                    continue
                if col.kind == "datetime" and type(cell.value) is date:
                    continue  # a date alone in a date-or-datetime column
                assert cell.number_format == NUMBER_FORMATS[col.kind], (sheet.name, cell.coordinate)
                if col.kind in ("date", "datetime"):
                    assert isinstance(cell.value, datetime), "dates must be real Excel dates"
                seen.add(col.kind)
    assert seen == set(NUMBER_FORMATS)
    # the header row is text, not wrapped
    assert not wb["Interactions"]["H1"].alignment.wrap_text


def test_settings_and_sla_are_filled_with_the_contract_defaults(
    opened: dict[str, openpyxl.Workbook],
) -> None:
    ws = opened["empty"]["Settings"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [s.key for s in contract.SETTINGS]
    for (key, value, description), setting in zip(rows, contract.SETTINGS, strict=True):
        assert (value or "") == setting.default, key
        assert description == setting.description
    sla = list(opened["empty"]["SLA"].iter_rows(min_row=2, values_only=True))
    expected = [
        (sev, first, resolve, "yes" if business else "no")
        for sev, first, resolve, business in contract.DEFAULT_SLA
    ]
    assert sla == expected
    assert {r[0] for r in sla} == set(contract.VOCABULARIES["severity"])


def test_given_settings_override_defaults_and_keep_every_key(tmp_path: Path) -> None:
    path = tmp_path / "crm.xlsx"
    create_workbook(path, {"Settings": [{"key": "company_name", "value": "Test Cycles"}]})
    rows = list(openpyxl.load_workbook(path)["Settings"].iter_rows(min_row=2, values_only=True))
    values = {r[0]: r[1] for r in rows}
    assert values["company_name"] == "Test Cycles"
    assert set(values) == {s.key for s in contract.SETTINGS}
    assert openpyxl.load_workbook(path).properties.title == "Test Cycles CRM"


def test_refuses_to_overwrite_and_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "crm.xlsx"
    create_workbook(path)
    before = path.read_bytes()
    with pytest.raises(SheetCRMError) as info:
        create_workbook(path, sample_records())
    assert "crm.xlsx already exists" in str(info.value)
    assert "adopt it" in str(info.value)  # the command line names its flag (init --into)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm.xlsx"]  # no temp file left
    create_workbook(path, sample_records(), overwrite=True)
    assert openpyxl.load_workbook(path)["Customers"].max_row > 2


@pytest.mark.parametrize(
    ("name", "records", "message"),
    [
        ("crm.xls", None, ".xlsx"),
        ("missing/crm.xlsx", None, "does not exist"),
        ("crm.xlsx", {"Customer": []}, "unknown sheet"),
    ],
)
def test_refuses_bad_requests_without_writing(
    tmp_path: Path, name: str, records: Any, message: str
) -> None:
    with pytest.raises(SheetCRMError, match=message):
        create_workbook(tmp_path / name, records)
    assert list(tmp_path.iterdir()) == []


def test_calamine_reads_real_dates(books: dict[str, Path]) -> None:
    wb = CalamineWorkbook.from_path(str(books["sample"]))
    for sheet in contract.SHEETS:
        rows = wb.get_sheet_by_name(sheet.name).to_python()
        for index, col in enumerate(sheet.columns):
            if col.kind not in ("date", "datetime"):
                continue
            values = [r[index] for r in rows[1:] if r[index] != ""]
            want = datetime if col.kind == "datetime" else date
            assert values or sheet.name == "Complaints", (sheet.name, col.name)
            assert all(isinstance(v, want) for v in values), (sheet.name, col.name, values[:3])
            if col.kind == "date":
                assert not any(isinstance(v, datetime) for v in values), (sheet.name, col.name)


def test_text_stays_text_and_yes_no_is_written_as_words(tmp_path: Path) -> None:
    path = tmp_path / "crm.xlsx"
    create_workbook(
        path,
        {
            "Customers": [
                {
                    "customer_id": "C-0001",
                    "name": '=HYPERLINK("http://evil.test","click")',
                    "email": "ola@example.com",
                    "phone": "+47 912 34 567",
                    "notes": "http://example.com/notes",
                    "since": "2024-03-01",
                    "do_not_contact": True,
                    "loyalty card": "Gold",  # an owner's own column
                },
                {"Customer ID": "C-0002", "Name": "Kari", "Do not contact": "No"},
            ],
            "Staff": [{"name": "Kari", "active": False}],
        },
    )
    ws = openpyxl.load_workbook(path)["Customers"]
    by_header = {cell.value: ws.cell(2, cell.column) for cell in ws[1]}
    assert by_header["name"].data_type == "s"
    assert by_header["name"].value.startswith("=HYPERLINK")
    assert by_header["notes"].hyperlink is None
    assert by_header["phone"].value == "+47 912 34 567"
    assert by_header["since"].value == datetime(2024, 3, 1)  # ISO text became a real date
    assert by_header["do_not_contact"].value == "yes"
    assert headers(ws)[-1] == "loyalty card"
    assert by_header["loyalty card"].value == "Gold"
    # keys that match a contract header loosely land in that column
    assert [c.value for c in ws[3]][:2] == ["C-0002", "Kari"]
    assert ws.cell(3, by_header["do_not_contact"].column).value == "no"
    staff = openpyxl.load_workbook(path)["Staff"]
    assert staff["D2"].value == "no"


def test_same_input_gives_the_same_bytes(tmp_path: Path) -> None:
    records = sample_records()
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    create_workbook(first, records, created=CREATED)
    create_workbook(second, records, created=CREATED)
    assert first.read_bytes() == second.read_bytes()
    props = openpyxl.load_workbook(first).properties
    assert props.created == CREATED
    assert props.title


def test_the_new_workbook_validates(books: dict[str, Path]) -> None:
    from sheetcrm.workbook.validation import load

    for path in books.values():
        _, report = load(str(path), as_of=datetime(2026, 11, 20, 15, 0))
        assert report.problems == [], [str(p) for p in report.problems]


def test_a_failed_write_is_a_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "crm.xlsx"
    target.mkdir()  # something that cannot be replaced by a file
    with pytest.raises(SheetCRMError, match=r"could not write crm\.xlsx"):
        create_workbook(target, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["crm.xlsx"]
