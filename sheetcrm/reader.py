"""Workbook -> RawBook: the cells as read, with the Excel position of every value.

Reading uses python-calamine (Rust) because it is many times faster than
openpyxl's cell-by-cell reader. This module never judges the data: it finds the
contract sheets and columns by loose header matching, drops rows that hold no
record, and keeps each record's Excel row number and each column's letter so
that validation can say ``Interactions!C14``. Files that are not workbooks we
can read safely become one :class:`SheetCRMError` with a clear message.
"""

from __future__ import annotations

import gc
import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import python_calamine as calamine

from sheetcrm.contract import SHEETS, Sheet, column_for_header, find_sheet, match_headers
from sheetcrm.errors import Problem, SheetCRMError, column_letter

# An XML part larger than this, or compressed more than _MAX_RATIO times, is
# treated as a zip bomb. A sheet of Excel's full 1,048,576 rows and a dozen
# columns is about 0.5 GB of XML at a ratio near 10, well inside both.
_MAX_PART_BYTES = 3 * 1024**3
_MAX_RATIO = 1000
_RATIO_CHECK_FROM = 50 * 1024**2
# A header row further down than this is not looked for (titles above a table are fine).
_HEADER_SEARCH_ROWS = 30

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(slots=True)
class RawSheet:
    """One contract sheet as the owner laid it out.

    ``columns`` maps a contract column name to its values, one per record, in
    the order of ``excel_rows``. Values are what calamine returns: ``str``,
    ``float``, ``int``, ``bool``, ``date``, ``datetime``, ``time`` or ``''``.
    """

    name: str
    spec: Sheet
    header_row: int
    headers: dict[str, str]
    letters: dict[str, str]
    columns: Mapping[str, Sequence[Any]]
    excel_rows: list[int]

    def cell(self, column: str, excel_row: int) -> str | None:
        letter = self.letters.get(column)
        return f"{letter}{excel_row}" if letter else None

    def __len__(self) -> int:
        return len(self.excel_rows)


@dataclass(slots=True)
class RawBook:
    path: Path
    sheet_names: list[str]
    sheets: dict[str, RawSheet] = field(default_factory=dict)


def check_file(path: Path) -> None:
    """Refuse, with one clear line, anything that is not a workbook we can read safely."""
    name = path.name
    if not path.exists():
        raise SheetCRMError(
            Problem(
                "not_a_workbook",
                f"{path} does not exist",
                hint="check the path, or create a workbook with: sheetcrm init crm.xlsx --sample",
            )
        )
    if path.is_dir():
        raise SheetCRMError(
            Problem(
                "not_a_workbook",
                f"{path} is a folder, not an Excel workbook",
                hint="give the path of the .xlsx file",
            )
        )
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError as e:
        raise SheetCRMError(Problem("not_a_workbook", f"cannot read {path}: {e.strerror}")) from e
    if head.startswith(_OLE_MAGIC):
        raw = path.read_bytes()
        if "EncryptedPackage".encode("utf-16-le") in raw:
            from sheetcrm import encryption

            # Readable with the password (decrypted in memory), else a refusal saying how.
            encryption.plain_bytes(path, raw)
            return
        raise SheetCRMError(
            Problem(
                "not_a_workbook",
                f"{name} is an old Excel 97-2003 (.xls) file",
                hint="open it in Excel and use File > Save As > Excel Workbook (.xlsx)",
            )
        )
    if not head.startswith(_ZIP_MAGIC):
        kind = "is empty" if not head else "is not an Excel workbook (.xlsx)"
        hint = "give the path of an .xlsx workbook"
        if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
            kind = "looks like a text or CSV file, not an Excel workbook (.xlsx)"
            hint = "open it in Excel and save it as .xlsx, or load it with: sheetcrm import"
        raise SheetCRMError(Problem("not_a_workbook", f"{name} {kind}", hint=hint))
    _check_zip(path)


def _check_zip(path: Path) -> None:
    name = path.name
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
            if "xl/workbook.xml" not in names and not any(
                n.lower().endswith("workbook.xml") for n in names
            ):
                raise SheetCRMError(
                    Problem(
                        "not_a_workbook",
                        f"{name} is a zip file but not an Excel workbook",
                        hint="give the path of an .xlsx workbook",
                    )
                )
            for info in infos:
                size, packed = info.file_size, max(info.compress_size, 1)
                if size > _MAX_PART_BYTES or (
                    size > _RATIO_CHECK_FROM and size / packed > _MAX_RATIO
                ):
                    raise SheetCRMError(
                        Problem(
                            "unsafe_workbook",
                            f"{name} holds a part ({info.filename}) that would unpack to "
                            f"{size / 1024**2:,.0f} MB; sheetcrm refuses it as a possible zip bomb",
                            hint="open it in Excel and save a fresh copy",
                        )
                    )
                if info.filename.endswith((".xml", ".rels")) and size:
                    with zf.open(info) as part:
                        start = part.read(2048)
                    if b"<!DOCTYPE" in start or b"<!ENTITY" in start:
                        raise SheetCRMError(
                            Problem(
                                "unsafe_workbook",
                                f"{name} holds XML entity declarations ({info.filename}), which "
                                "Excel never writes and which can exhaust memory (an XML bomb)",
                                hint="do not trust this file; if it is yours, open it in Excel "
                                "and save a fresh copy",
                            )
                        )
    except zipfile.BadZipFile as e:
        raise SheetCRMError(
            Problem(
                "not_a_workbook",
                f"{name} is damaged or incomplete (not a valid zip archive)",
                hint="restore it from a backup, or open it in Excel and let it repair the file",
            )
        ) from e
    except (OSError, EOFError, zipfile.LargeZipFile, NotImplementedError, ValueError) as e:
        raise SheetCRMError(
            Problem(
                "not_a_workbook",
                f"{name} cannot be read as a workbook: {e}",
                hint="open it in Excel and save a fresh copy",
            )
        ) from e


def open_workbook(path: Path) -> calamine.CalamineWorkbook:
    check_file(path)
    from sheetcrm import encryption

    try:
        if encryption.file_is_encrypted(path):  # decrypted in memory, never on disk
            return calamine.CalamineWorkbook.from_filelike(io.BytesIO(encryption.plain_bytes(path)))
        return calamine.CalamineWorkbook.from_path(str(path))
    except SheetCRMError:
        raise
    except calamine.PasswordError as e:
        raise SheetCRMError(
            Problem(
                "encrypted",
                f"{path.name} is protected with a password",
                hint="save it in Excel without a password",
            )
        ) from e
    except Exception as e:  # calamine raises several unrelated types for damaged files
        raise SheetCRMError(
            Problem(
                "not_a_workbook",
                f"{path.name} cannot be read as a workbook: {_short(e)}",
                hint="open it in Excel and save a fresh copy",
            )
        ) from e


def _short(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text if len(text) < 160 else text[:157] + "..."


def read_book(path: str | Path, sheets: Sequence[Sheet] = SHEETS) -> RawBook:
    """Read every contract sheet of the workbook at ``path``.

    >>> raw = read_book("sample_workbook.xlsx")
    >>> raw.sheets["Interactions"].cell("customer_id", 2)
    'C2'
    """
    path = Path(path)
    wb = open_workbook(path)
    # calamine hands back millions of small lists at once; the cyclic garbage
    # collector would scan them over and over while nothing here makes cycles
    # (bench: the load of 1,048,575 interactions went from 45 s to 36 s without it).
    collecting = gc.isenabled()
    gc.disable()
    try:
        metadata = wb.sheets_metadata
        names = [m.name for m in metadata if m.typ == calamine.SheetTypeEnum.WorkSheet]
        book = RawBook(path=path, sheet_names=[m.name for m in metadata])
        wanted = {s.name for s in sheets}
        for name in names:
            spec = find_sheet(name)
            if spec is None or spec.name not in wanted or spec.name in book.sheets:
                continue
            try:
                rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            except Exception as e:
                raise SheetCRMError(
                    Problem(
                        "not_a_workbook",
                        f"the sheet {name!r} of {path.name} cannot be read: {_short(e)}",
                        sheet=name,
                        hint="open the workbook in Excel and save a fresh copy",
                    )
                ) from e
            book.sheets[spec.name] = raw_sheet(name, spec, rows)
        return book
    finally:
        wb.close()
        if collecting:
            gc.enable()


def _is_blank(value: Any) -> bool:
    return value == "" or value is None or (isinstance(value, str) and not value.strip())


def _find_header(spec: Sheet, rows: list[list[Any]]) -> int | None:
    """Index of the header row: the first row naming a contract column (titles above are fine)."""
    first_filled = None
    for i, row in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        texts = [v for v in row if isinstance(v, str) and v.strip()]
        if texts and first_filled is None:
            first_filled = i
        # The owner's own words count too (contract synonyms): "E-post", "Kunde siden".
        if any(column_for_header(spec, t) for t in texts):
            return i
    return first_filled


def raw_sheet(name: str, spec: Sheet, rows: list[list[Any]]) -> RawSheet:
    """One sheet's rows as read by calamine, as the contract sheet ``spec``."""
    header_index = _find_header(spec, rows)
    if header_index is None:
        return RawSheet(name, spec, 1, {}, {}, {}, [])  # an empty sheet: every column missing
    header_cells = rows[header_index]
    # Contract names and the owner's synonyms, matched by the contract's one table.
    positions = match_headers(spec, list(enumerate(header_cells)))
    headers: dict[str, str] = {c: str(header_cells[j]) for c, j in positions.items()}

    body = rows[header_index + 1 :]
    if body and positions:
        # Transposing once in C is far faster than indexing 100,000 rows per column.
        transposed = list(zip(*body, strict=False))  # calamine rows are all one width
        columns: dict[str, Sequence[Any]] = {
            c: transposed[j] if j < len(transposed) else () for c, j in positions.items()
        }
        # A row is a record when any contract column holds something. Nearly every
        # record has its key, so numpy finds those in one pass over the key column and
        # only the keyless rows are looked at cell by cell (spaces alone are blank too).
        key_values = columns.get(spec.key)
        if key_values is not None and len(key_values):
            keep = np.asarray(key_values, dtype=object) != ""
        else:
            keep = np.zeros(len(body), dtype=bool)
        for i in np.flatnonzero(~keep).tolist():
            keep[i] = any(not _is_blank(vals[i]) for vals in columns.values() if len(vals))
        if key_values is not None:
            for i in np.flatnonzero(keep).tolist():
                if type(key_values[i]) is str and not key_values[i].strip():
                    keep[i] = any(not _is_blank(vals[i]) for vals in columns.values())
        # Formatted but empty rows (and blank rows between records) are not records.
        if not keep.all():
            idx = np.flatnonzero(keep).tolist()
            columns = {c: [vals[i] for i in idx] for c, vals in columns.items()}
            excel_rows = [header_index + 2 + i for i in idx]
        else:
            excel_rows = list(range(header_index + 2, header_index + 2 + len(body)))
    else:
        columns = {c: () for c in positions}
        excel_rows = []
    letters = {c: column_letter(j) for c, j in positions.items()}
    return RawSheet(name, spec, header_index + 1, headers, letters, columns, excel_rows)
