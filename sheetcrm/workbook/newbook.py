"""A brand-new contract workbook, pleasant to open in Excel (``sheetcrm init``).

Everything here is driven by :mod:`sheetcrm.contract`: one Excel Table per
contract sheet in contract order, headers exactly as the contract writes them,
column widths and number formats by column kind, drop-down lists from the
vocabularies, range checks from ``minimum``/``maximum``, drop-downs on reference
columns pointing at the referenced sheet's key column, a frozen header row,
and the Settings and SLA sheets filled with the contract's defaults.

The file is written with xlsxwriter (which writes Tables, validations and frozen
panes the way Excel itself does) to a temporary file in the same folder and only
then moved into place, so there is never a half-written workbook.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import xlsxwriter
import xlsxwriter.exceptions
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from sheetcrm import contract
from sheetcrm.contract import Column, Sheet
from sheetcrm.errors import Problem, SheetCRMError, column_letter, quote_sheet

__all__ = [
    "HEADER_ROW_HEIGHT",
    "NUMBER_FORMATS",
    "TABLE_STYLE",
    "VALIDATION_ROWS",
    "Locate",
    "column_validation",
    "create_workbook",
]

#: Excel number format of each column kind (kinds not listed are General / text).
NUMBER_FORMATS: dict[str, str] = {
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
    "number": "#,##0.00",
    "whole": "0",
}

#: Validations cover at least this many worksheet rows (header included), so rows
#: an owner adds below the table keep their drop-downs.
VALIDATION_ROWS = 5000

TABLE_STYLE = "Table Style Medium 2"
HEADER_ROW_HEIGHT = 20
EXTRA_COLUMN_WIDTH = 40
YES_NO = ("yes", "no")

_FIRST_EXCEL_DATE = date(1900, 1, 1)
_LAST_EXCEL_DATE = date(9999, 12, 31)

Row = Mapping[str, object]


def create_workbook(
    path: Path | str,
    records: Mapping[str, Sequence[Row]] | None = None,
    *,
    overwrite: bool = False,
    created: datetime | None = None,
    title: str | None = None,
) -> None:
    """Write a new workbook with every contract sheet to ``path``.

    ``records`` maps contract sheet names to rows (mappings keyed by contract
    column names; keys that are not contract columns become extra owner columns
    after the contract ones). Sheets not given are left with one blank row,
    except Settings (every contract setting with its default; given rows
    override values) and SLA (``contract.DEFAULT_SLA`` unless rows are given).

    ``created`` fixes the workbook's creation time in its document properties
    (default: now), so the same input and ``created`` give a byte-identical file.

    Raises :class:`SheetCRMError` when the file exists (unless ``overwrite``),
    the folder does not exist, the name does not end in ``.xlsx`` or ``records``
    names a sheet the contract does not know.
    """
    path = Path(path)
    records = dict(records or {})
    unknown = [name for name in records if name not in contract.SHEET_BY_NAME]
    if unknown:
        known = ", ".join(s.name for s in contract.SHEETS)
        raise SheetCRMError(
            Problem(
                "unknown_sheet",
                f"unknown sheet(s) {', '.join(unknown)}; the contract has {known}",
                sheet=unknown[0],
            )
        )
    if path.suffix.lower() != ".xlsx":
        raise SheetCRMError(
            Problem(
                "bad_name",
                f"{path.name}: a sheetcrm workbook is an Excel .xlsx file; "
                f"choose a name ending in .xlsx, e.g. {path.stem or 'crm'}.xlsx",
                value=path.name,
            )
        )
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise SheetCRMError(
            Problem("missing_file", f"the folder {folder} does not exist; create it first")
        )
    if path.exists() and not overwrite:
        raise _exists_error(path)

    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".xlsx.tmp", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _write(tmp, records, created=created, title=title)
        _set_default_mode(tmp)
        if overwrite:
            os.replace(tmp, path)
        else:
            _move_no_clobber(tmp, path)
    except (OSError, xlsxwriter.exceptions.FileCreateError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise SheetCRMError(
            Problem(
                "not_writable",
                f"could not write {path.name}: {reason}; "
                "check that the folder is writable and the file is not open in Excel",
            )
        ) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


#: Where a contract column sits in a workbook: (contract sheet, column) ->
#: (the sheet's name there, the column's letter, the header's Excel row).
Locate = Callable[[str, str], tuple[str, str, int]]


def _contract_place(sheet: str, column: str) -> tuple[str, str, int]:
    spec = contract.SHEET_BY_NAME[sheet]
    return sheet, column_letter(spec.columns.index(spec.column(column))), 1


def column_validation(
    sheet: Sheet,
    col: Column,
    last_rows: Mapping[str, int] | None = None,
    locate: Locate = _contract_place,
) -> dict[str, Any] | None:
    """The xlsxwriter ``data_validation`` options for one contract column, or None.

    The formulas are written for the first data cell (below the header); Excel
    shifts them for the rest of the range. ``last_rows`` gives the last 0-based
    row each sheet's validations reach (default ``VALIDATION_ROWS - 1``), used
    for the ranges that reference columns point at. ``locate`` says where the
    columns are: in contract order on a new workbook, wherever the owner put
    them on an adopted one (``init --into``).
    """
    if col.choices:
        values = ", ".join(col.choices)
        return {
            "validate": "list",
            "source": list(col.choices),
            "input_title": _title(col.name),
            "input_message": _clip(f"Pick a value from the list: {values}."),
            "error_title": "Not in the list",
            "error_message": _clip(f"{col.name} must be one of: {values}."),
            "error_type": "stop",
        }
    if col.kind == "yesno":
        return {
            "validate": "list",
            "source": list(YES_NO),
            "input_title": _title(col.name),
            "input_message": _clip(_sentence(col.description) + "Pick yes or no."),
            "error_title": "yes or no",
            "error_message": f"{col.name} must be yes or no.",
            "error_type": "stop",
        }
    if col.kind in ("whole", "number"):
        rule = _number_rule(col)
        if rule is None:
            return None
        options, wording = rule
        whole = col.kind == "whole"
        return options | {
            "validate": "integer" if whole else "decimal",
            "input_title": _title(col.name),
            "input_message": _clip(
                _sentence(col.description) + f"Type a {'whole ' if whole else ''}number {wording}."
            ),
            "error_title": "Number out of range",
            "error_message": _clip(
                f"{col.name} must be a {'whole ' if whole else ''}number {wording}."
            ),
            "error_type": "stop",
        }
    if col.kind in ("date", "datetime"):
        example = "2026-11-20" if col.kind == "date" else "2026-11-20 14:30"
        what = "a date" if col.kind == "date" else "a date (and time)"
        return {
            "validate": "date",
            "criteria": "between",
            "minimum": _FIRST_EXCEL_DATE,
            "maximum": _LAST_EXCEL_DATE,
            "input_title": _title(col.name),
            "input_message": _clip(_sentence(col.description) + f"Type {what} like {example}."),
            "error_title": "Not a date",
            "error_message": _clip(
                f"{col.name} should be {what} such as {example}; "
                "text like 03/04/2026 can be read two ways."
            ),
            "error_type": "warning",
        }
    _, own_letter, own_header = locate(sheet.name, col.name)
    first = f"{own_letter}{own_header + 1}"
    if col.references:
        ref_sheet = contract.SHEET_BY_NAME[col.references[0]]
        ref_col = ref_sheet.column(col.references[1])
        ref_name, letter, ref_header = locate(ref_sheet.name, ref_col.name)
        last = (last_rows or {}).get(ref_sheet.name, VALIDATION_ROWS - 1) + ref_header
        return {
            "validate": "list",
            "source": f"={quote_sheet(ref_name)}!${letter}${ref_header + 1}:${letter}${last}",
            "input_title": _title(col.name),
            "input_message": _clip(
                _sentence(col.description)
                + f"Pick a {ref_col.name} from the {ref_sheet.name} sheet."
            ),
            "error_title": f"Unknown {ref_col.name}"[:32],
            "error_message": _clip(
                f"This {ref_col.name} is not on the {ref_sheet.name} sheet yet. "
                f"Add it there first, or check the spelling."
            ),
            "error_type": "warning",
        }
    if col.name == sheet.key and sheet.unique_key:
        return {
            "validate": "custom",
            "value": f"=COUNTIF(${own_letter}:${own_letter},{first})<=1",
            "input_title": _title(col.name),
            "input_message": _clip(_sentence(col.description) + "Must be unique on this sheet."),
            "error_title": "Used twice",
            "error_message": f"This {col.name} is already used in another row.",
            "error_type": "warning",
        }
    if col.kind == "email":
        return {
            "validate": "custom",
            "value": f'=ISNUMBER(SEARCH("@",{first}))',
            "error_title": "Not an email address",
            "error_message": f"{col.name} should look like name@example.com.",
            "error_type": "information",
        }
    return None


# --------------------------------------------------------------------------- writing


def _write(
    target: Path,
    records: Mapping[str, Sequence[Row]],
    *,
    created: datetime | None,
    title: str | None,
) -> None:
    settings = _settings_rows(records)
    company = next(
        (str(r["value"]) for r in settings if r.get("key") == "company_name" and r.get("value")),
        "",
    )
    rows_by_sheet = {sheet.name: _rows_for(sheet, records, settings) for sheet in contract.SHEETS}
    last_rows = {
        name: max(VALIDATION_ROWS - 1, max(len(rows), 1)) for name, rows in rows_by_sheet.items()
    }

    book = xlsxwriter.Workbook(
        str(target),
        {
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "remove_timezone": True,
            "default_date_format": NUMBER_FORMATS["date"],
        },
    )
    try:
        props: dict[str, Any] = {
            "title": title or (f"{company} CRM" if company else "sheetcrm workbook"),
            "subject": "Customers, interactions, complaints and sales",
            "author": company or "sheetcrm",
            "company": company,
            "keywords": "sheetcrm, CRM",
            "comments": "Created by sheetcrm. Edit freely in Excel: keep the header row.",
        }
        if created is not None:
            props["created"] = created
        book.set_properties(props)
        formats = _Formats(book)
        for sheet in contract.SHEETS:
            _write_sheet(book, formats, sheet, rows_by_sheet[sheet.name], last_rows)
    finally:
        book.close()


class _Formats:
    """The few cell formats the workbook uses, created once."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.by_kind: dict[str, Format] = {
            kind: book.add_format({"num_format": fmt}) for kind, fmt in NUMBER_FORMATS.items()
        }
        self.text = book.add_format({"num_format": "@"})
        self.header = book.add_format({"bold": True, "valign": "vcenter", "text_wrap": False})

    def for_kind(self, kind: str) -> Format | None:
        return self.by_kind.get(kind)


def _write_sheet(
    book: xlsxwriter.Workbook,
    formats: _Formats,
    sheet: Sheet,
    rows: Sequence[Row],
    last_rows: Mapping[str, int],
) -> None:
    ws = book.add_worksheet(sheet.name)
    extras = _extra_columns(sheet, rows)
    rows = _by_header(rows, [c.name for c in sheet.columns] + extras)
    headers = [c.name for c in sheet.columns] + extras
    kinds = [c.kind for c in sheet.columns] + ["text"] * len(extras)
    last_row = max(len(rows), 1)  # an Excel table needs at least one data row

    for index, col in enumerate(sheet.columns):
        ws.set_column(index, index, col.width, formats.for_kind(col.kind))
    for index in range(len(sheet.columns), len(headers)):
        ws.set_column(index, index, EXTRA_COLUMN_WIDTH)
    ws.set_row(0, HEADER_ROW_HEIGHT, formats.header)
    ws.freeze_panes(1, 0)

    columns = [
        {"header": name, "header_format": formats.header, "format": formats.for_kind(kind)}
        for name, kind in zip(headers, kinds, strict=True)
    ]
    status = ws.add_table(
        0,
        0,
        last_row,
        len(headers) - 1,
        {
            "name": sheet.name,
            "style": TABLE_STYLE,
            "banded_rows": True,
            "columns": columns,
            "description": sheet.description,
        },
    )
    if status != 0:  # xlsxwriter warns instead of raising
        raise SheetCRMError(
            Problem(
                "write_failed",
                f"could not create the Excel table for sheet {sheet.name}",
                sheet=sheet.name,
            )
        )

    for r, row in enumerate(rows, start=1):
        for c, (name, kind) in enumerate(zip(headers, kinds, strict=True)):
            _write_cell(ws, formats, r, c, kind, row.get(name))

    for index, col in enumerate(sheet.columns):
        options = column_validation(sheet, col, last_rows)
        if options is None:
            continue
        status = ws.data_validation(1, index, last_rows[sheet.name], index, options)
        if status != 0:
            raise SheetCRMError(
                Problem(
                    "write_failed",
                    f"could not add the drop-down for {sheet.name}.{col.name}",
                    sheet=sheet.name,
                    column=col.name,
                )
            )

    text_cols = [i for i, kind in enumerate(kinds) if kind == "text"]
    if text_cols and rows:
        # Settings values such as "24" are text on purpose: no green triangles.
        ranges = " ".join(
            f"{column_letter(i)}2:{column_letter(i)}{last_row + 1}" for i in text_cols
        )
        ws.ignore_errors({"number_stored_as_text": ranges})


def _write_cell(
    ws: Worksheet, formats: _Formats, row: int, col: int, kind: str, value: object
) -> None:
    if value is None or value == "":
        return
    if isinstance(value, bool):
        value = YES_NO[0] if value else YES_NO[1]
    if kind in ("date", "datetime"):
        moment = _as_moment(value)
        if moment is not None:
            if kind == "date" or not isinstance(moment, datetime):
                day = moment.date() if isinstance(moment, datetime) else moment
                ws.write_datetime(row, col, day, formats.by_kind["date"])
            else:
                ws.write_datetime(row, col, moment, formats.by_kind["datetime"])
            return
    elif kind in ("number", "whole"):
        if isinstance(value, int | float):
            ws.write_number(row, col, value, formats.by_kind[kind])
            return
    elif kind == "yesno" and isinstance(value, str):
        value = value.strip().casefold() if value.strip().casefold() in YES_NO else value
    # Everything else is text, written as text: never a formula, never a link.
    ws.write_string(row, col, str(value))


def _as_moment(value: object) -> date | datetime | None:
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str):
        text = value.strip()
        for parse in (date.fromisoformat, datetime.fromisoformat):
            try:
                parsed = parse(text)
            except ValueError:
                continue
            if isinstance(parsed, datetime) and parsed.time() == time(0) and len(text) <= 10:
                return parsed.date()
            return parsed
    return None


# --------------------------------------------------------------------------- rows


def _rows_for(
    sheet: Sheet, records: Mapping[str, Sequence[Row]], settings: list[dict[str, object]]
) -> Sequence[Row]:
    if sheet is contract.SHEET_BY_NAME["Settings"]:
        return settings
    rows = records.get(sheet.name)
    if not rows and sheet is contract.SHEET_BY_NAME["SLA"]:
        names = [c.name for c in sheet.columns]
        return [dict(zip(names, values, strict=True)) for values in contract.DEFAULT_SLA]
    return list(rows or ())


def _settings_rows(records: Mapping[str, Sequence[Row]]) -> list[dict[str, object]]:
    """Every contract setting (given value or default), then any other given keys."""
    sheet = contract.SHEET_BY_NAME["Settings"]
    key_col, value_col = sheet.key, next(c.name for c in sheet.columns if c.name != sheet.key)
    given: dict[str, Row] = {}
    for row in records.get(sheet.name, ()):
        key = row.get(key_col)
        if key not in (None, "") and str(key) not in given:
            given[str(key)] = row
    rows: list[dict[str, object]] = []
    for setting in contract.SETTINGS:
        row = dict(given.pop(setting.key, {}))
        row[key_col] = setting.key
        if row.get(value_col) is None:
            row[value_col] = setting.default
        row.setdefault("description", setting.description)
        rows.append(row)
    rows.extend(dict(row) for row in given.values())
    return rows


def _by_header(rows: Sequence[Row], headers: Sequence[str]) -> list[Row]:
    """Rows keyed by the headers, matching keys loosely (``"Customer ID"`` = ``customer_id``)."""
    loose = {contract.normalize_header(h): h for h in headers}
    out: list[Row] = []
    for row in rows:
        if all(key in loose.values() for key in row):
            out.append(row)
            continue
        fixed: dict[str, object] = {}
        for key, value in row.items():
            header = loose.get(contract.normalize_header(key), str(key))
            if fixed.get(header) in (None, ""):
                fixed[header] = value
        out.append(fixed)
    return out


def _extra_columns(sheet: Sheet, rows: Sequence[Row]) -> list[str]:
    """Owner columns found in the rows, in first-seen order, after the contract ones."""
    taken = {contract.normalize_header(c.name) for c in sheet.columns}
    extras: list[str] = []
    for row in rows:
        for name in row:
            loose = contract.normalize_header(name)
            if loose and loose not in taken:
                taken.add(loose)
                extras.append(str(name))
    return extras


# --------------------------------------------------------------------------- helpers


def _number_rule(col: Column) -> tuple[dict[str, Any], str] | None:
    lo, hi = col.minimum, col.maximum
    if lo is not None and hi is not None:
        return {"criteria": "between", "minimum": lo, "maximum": hi}, f"from {lo:g} to {hi:g}"
    if lo is not None:
        return {"criteria": ">=", "value": lo}, f"of at least {lo:g}"
    if hi is not None:
        return {"criteria": "<=", "value": hi}, f"of at most {hi:g}"
    return None


def _title(text: str) -> str:
    return text[:32]


def _clip(text: str) -> str:
    return text if len(text) <= 255 else text[:254] + "…"


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return (text if text.endswith((".", "!", "?")) else text + ".") + " "


def _exists_error(path: Path) -> SheetCRMError:
    # The command line names its own way to adopt the file (init --into): see cli/workbook.py.
    return SheetCRMError(
        Problem(
            "file_exists",
            f"{path.name} already exists; choose another name "
            "or adopt it to add the missing sheets to it",
            value=str(path),
        )
    )


def _move_no_clobber(tmp: Path, path: Path) -> None:
    """Move ``tmp`` to ``path`` atomically, refusing if ``path`` appeared meanwhile."""
    try:
        os.link(tmp, path)  # atomic and fails when path exists
    except FileExistsError:
        raise _exists_error(path) from None
    except OSError:  # no hard links here (some network or FAT drives)
        if path.exists():
            raise _exists_error(path) from None
        os.replace(tmp, path)


def _set_default_mode(file: Path) -> None:
    """mkstemp makes a private file; give the workbook the mode a new file would get."""
    umask = os.umask(0)
    os.umask(umask)
    with contextlib.suppress(OSError):
        os.chmod(file, 0o666 & ~umask)
