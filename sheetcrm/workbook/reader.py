"""Workbook -> RawBook: the cells as read, with the Excel position of every value.

Reading uses python-calamine (Rust) because it is many times faster than
openpyxl's cell-by-cell reader. This module never judges the data: it finds the
contract sheets and columns by loose header matching, drops rows that hold no
record, and keeps each record's Excel row number and each column's letter so
that validation can say ``Interactions!C14``. Files that are not workbooks we
can read safely become one :class:`SheetCRMError` with a clear message.

Why one module (~700 lines): it is one pipeline, file to columns, whose steps
share the package and calamine's workbook and hand each other the same errors:
the refusals of a file that is no workbook, the used-area check before calamine
lays a sheet out, :class:`SheetReader` laying out one sheet while the caller
checks the one before, and the gathering of the contract columns.
"""

from __future__ import annotations

import gc
import io
import itertools
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import python_calamine as calamine

from sheetcrm.contract import (
    SHEETS,
    Sheet,
    column_for_header,
    find_sheet,
    match_headers,
    normalize_header,
)
from sheetcrm.errors import Problem, SheetCRMError, column_letter
from sheetcrm.workbook import halves
from sheetcrm.workbook.cells import is_blank
from sheetcrm.workbook.naming import CONTRACT
from sheetcrm.xlsx import safety
from sheetcrm.xlsx.markup import xml_escape as escape
from sheetcrm.xlsx.package import Package, column_index

_NS_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
# A header row further down than this is not looked for (titles above a table are fine).
_HEADER_SEARCH_ROWS = 30
_BATCH_ROWS = 50_000  # rows gathered into columns at a time
# A sheet is laid out while the one before it is read only when their XML together is
# at most this large (a sheet of 100,000 interactions is about 60 MB).
_AHEAD_BYTES = 128 * 1024**2

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
                hint="check the path, or create a new workbook",
                remedy="create_workbook",
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
            from sheetcrm.xlsx import encryption

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
        hint, remedy = "give the path of an .xlsx workbook", None
        if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
            kind = "looks like a text or CSV file, not an Excel workbook (.xlsx)"
            hint = "open it in Excel and save it as .xlsx, or import it into a workbook"
            remedy = "import_csv"
        raise SheetCRMError(Problem("not_a_workbook", f"{name} {kind}", hint=hint, remedy=remedy))
    _check_zip(path)


def _check_zip(path: Path) -> None:
    name = path.name
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = {i.filename.replace("\\", "/").lower() for i in infos}
            # The workbook part is wherever _rels/.rels points; a zip with neither that
            # nor a workbook part anywhere is some other kind of file.
            if "_rels/.rels" not in names and not any(
                n.endswith(("workbook.xml", "workbook.bin")) for n in names
            ):
                raise SheetCRMError(
                    Problem(
                        "not_a_workbook",
                        f"{name} is a zip file but not an Excel workbook",
                        hint="give the path of an .xlsx workbook",
                    )
                )
            safety.check_archive(infos, name)
            for info in infos:
                if info.flag_bits & 0x1:  # zip encryption: not Excel's, but some tools do it
                    raise SheetCRMError(
                        Problem(
                            "encrypted",
                            f"{name} has parts locked with a zip password ({info.filename}), "
                            "so sheetcrm cannot read it",
                            hint="open it in Excel (or the tool that made it) and save it "
                            "without a password",
                        )
                    )
                if info.filename.endswith((".xml", ".rels")) and info.file_size:
                    try:
                        with zf.open(info) as part:
                            head = part.read(2048)
                    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
                        raise SheetCRMError(safety.damaged_part(name, info.filename, e)) from e
                    safety.check_xml(info.filename, head, name)
    except SheetCRMError:
        raise
    except zipfile.BadZipFile as e:
        raise SheetCRMError(
            Problem(
                "not_a_workbook",
                f"{name} is damaged or incomplete (not a valid zip archive)",
                hint="restore it from a backup (sheetcrm keeps them in the backups folder "
                "beside it), or open it in Excel and let it repair the file",
            )
        ) from e
    except (
        OSError,
        EOFError,
        zipfile.LargeZipFile,
        NotImplementedError,  # a compression method Python cannot unpack
        RuntimeError,  # zip members encrypted with a password
        ValueError,
    ) as e:
        raise SheetCRMError(
            Problem(
                "not_a_workbook",
                f"{name} cannot be read as a workbook: {_short(e)}",
                hint="open it in Excel and save a fresh copy",
            )
        ) from e


def open_package(
    path: Path, *, from_file: bool = False
) -> tuple[Package, calamine.CalamineWorkbook]:
    """The workbook at ``path``, after the safety checks: as a package and for calamine.

    With ``from_file`` (reading only) the package reads its parts from the open file
    instead of holding the whole file in memory; close it with ``Package.close``.
    """
    check_file(path)
    try:
        if from_file and not _is_ole(path):
            source: bytes | IO[bytes] = path.open("rb")
        else:
            from sheetcrm.xlsx import encryption  # (hashlib and the cipher: only when needed)

            source = encryption.plain_bytes(path)  # decrypted in memory, never on disk
    except OSError as e:
        raise SheetCRMError(
            Problem("not_a_workbook", f"cannot read {path.name}: {e.strerror or e}")
        ) from e
    pkg = Package(source, path.name, CONTRACT)
    if isinstance(source, bytes):
        return pkg, calamine_book(pkg, source)
    if not _moved_parts(pkg):
        # calamine reading the file itself holds less memory than reading the bytes
        # (about 200 MB less at a million rows), as long as it is the very file the
        # package reads: same inode, time and size before and after calamine opened it.
        try:
            before = os.fstat(source.fileno())
            wb = calamine.CalamineWorkbook.from_path(str(path))
            after = os.stat(path)
            if (before.st_ino, before.st_mtime_ns, before.st_size) == (
                after.st_ino,
                after.st_mtime_ns,
                after.st_size,
            ):
                return pkg, wb
            wb.close()  # replaced meanwhile: read the bytes that were checked
        except Exception:  # whatever went wrong, calamine_book below says it in words
            pass
    return pkg, calamine_book(pkg, pkg.source_bytes())


def _is_ole(path: Path) -> bool:
    """An OLE container: here, a password-protected workbook (check_file refused the rest)."""
    with path.open("rb") as f:
        return f.read(8) == _OLE_MAGIC


def sheet_rows(pkg: Package, wb: calamine.CalamineWorkbook, name: str) -> list[list[Any]]:
    """Every row of one sheet as calamine reads it (row i is Excel row i + 1).

    The sheet's used area is measured from its XML first: calamine lays out every
    cell from A1 to the last one, so one stray cell at XFD1048576 would make it ask
    for half a terabyte and abort the process. A sheet too large that way is read
    only as far right as its last contract column (nothing sheetcrm reads is further
    right); if even that is too large it is refused by name, with the far cell to
    delete, before calamine sees it.
    """
    laid = _laid_out(pkg, wb, name)
    if isinstance(laid, list):
        return laid
    try:
        return laid.to_python(skip_empty_area=False)
    except Exception as e:
        raise SheetCRMError(_unreadable(pkg, e, name)) from e


def _narrowed(pkg: Package, name: str) -> list[list[Any]] | None:
    """The sheet's rows read without far columns when its used area is too large for
    calamine to lay out (see :func:`sheet_rows`); None when it can be read as it is."""
    part = pkg.sheet_part(name)
    extent = _extent(pkg, part, lambda: pkg.open_part(part))
    if extent.cells > safety.LIMITS.cells:
        return _contract_columns_only(pkg, name, part, extent)
    return None


def _extent(pkg: Package, part: str, open_part: Callable[[], IO[bytes]]) -> safety.Extent:
    with _damage_told(pkg, part):
        return safety.sheet_extent(open_part)


@contextmanager
def _damage_told(pkg: Package, part: str) -> Iterator[None]:
    """A part that cannot be unpacked is the file's damage, told with the part's name."""
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
        raise SheetCRMError(safety.damaged_part(pkg.name, part, e)) from e


# A sheet with this much XML or more is laid out in two halves side by side
# (workbook.halves), when the sheets read together are at most _AHEAD_BYTES.
_HALVES_FROM = 4 * 1024**2
# ... and this much when the caller imports libraries beside the read: the imports keep
# the second core busy, and the halves of a smaller sheet only take turns with them
# (followups at 10,000 rows: 0.59 s with halves, 0.53 s without; the report at 100,000,
# whose interactions take longer to lay out than its imports: 2.65 s with, 2.98 s without).
_HALVES_BESIDE_IMPORTS_FROM = 32 * 1024**2


def _prepared(
    pkg: Package, name: str, cut_from: int | None
) -> list[list[Any]] | tuple[bytes, halves.Cut] | None:
    """The sheet measured, and what calamine is then given: the rows already read (a
    sheet too wide, see :func:`_narrowed`), the sheet's XML and where to cut it in two
    (when it has ``cut_from`` bytes or more; None: never), or None (the sheet as it is)."""
    part = pkg.sheet_part(name)
    size = pkg.part_size(part)
    cut = cut_from is not None and cut_from <= size <= _AHEAD_BYTES
    if not (cut and halves.usual_names(pkg)):
        return _narrowed(pkg, name)
    xml = pkg.unpacked(part)  # in one step (ISA-L): the scan and the halves need it whole
    extent = safety.extent_of(xml)
    if extent.cells > safety.LIMITS.cells:
        return _contract_columns_only(pkg, name, part, extent)
    where = halves.cut(xml) if extent.usual else None
    return None if where is None else (xml, where)


def _in_halves(
    pkg: Package, wb: calamine.CalamineWorkbook, name: str, xml: bytes, where: halves.Cut
) -> halves.Halves | calamine.CalamineSheet:
    try:
        return halves.lay_out(pkg, pkg.sheet_part(name), name, xml, where)
    except Exception:
        # Two halves are only a faster way to the same rows: whatever calamine made of a
        # half, the whole sheet is laid out, and its verdict is the one told.
        return _calamine_layout(pkg, wb, name)


# A cell in a column of two or three letters (AA and beyond), whole: <c ...>...</c> or <c .../>.
_WIDE_CELL = re.compile(
    rb'<((?:[\w.-]+:)?)c\s[^>]*?\br="([A-Z]{2,3})\d+"[^>]*?(?:/>|>.*?</\1c>)', re.S
)


def _contract_columns_only(
    pkg: Package, name: str, part: str, extent: safety.Extent
) -> list[list[Any]]:
    """The rows of a sheet whose used area is too large, read without the columns right
    of its last contract column (where a stray cell such as XFD20000 usually is)."""
    spec = find_sheet(name)
    known = {normalize_header(c.name) for c in spec.columns} if spec else set()
    try:
        _row, headers = pkg.headers(name)
    except SheetCRMError:
        headers = {}
    first: dict[str, int] = {}  # the first of two same-named columns is the one read
    for col in sorted(headers):
        norm = normalize_header(headers[col])
        if norm in known:
            first.setdefault(norm, col)
    width = max(first.values(), default=-1) + 1
    if not width or extent.rows * width > safety.LIMITS.cells:
        safety.check_extent(extent, name)  # refused: the message names the far cell
    data = pkg.read(part)

    def keep(m: re.Match[bytes]) -> bytes:
        letters = m.group(2).decode()
        return m.group(0) if column_index(letters) < width else b""

    trimmed = _WIDE_CELL.sub(keep, data)
    del data
    safety.check_extent(safety.extent_of(trimmed), name)
    narrow = Package(pkg.source_bytes(), pkg.name, pkg.naming)
    narrow.write(part, trimmed)
    narrow_bytes = narrow.to_bytes()
    wb = calamine_book(narrow, narrow_bytes)
    try:
        return wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except Exception as e:
        raise SheetCRMError(_unreadable(pkg, e, name)) from e
    finally:
        wb.close()


def sheet_stream(pkg: Package, wb: calamine.CalamineWorkbook, name: str) -> Iterator[list[Any]]:
    """:func:`sheet_rows`, one row at a time (row i is Excel row i + 1).

    A million rows as one list of lists, beside calamine's own copy of the sheet,
    is what a read's peak memory is made of; row by row, only the columns kept
    (see :func:`raw_sheet`) add to calamine's copy. The checks run at once; the
    rows come straight from calamine's iterator (no Python step per row).
    """
    return _rows_of(pkg, name, _laid_out(pkg, wb, name))


def _laid_out(
    pkg: Package, wb: calamine.CalamineWorkbook, name: str
) -> list[list[Any]] | calamine.CalamineSheet:
    """The sheet measured (see :func:`sheet_rows`), then laid out by calamine.

    This is the slow part of a read, and calamine does it without holding Python's
    lock, so :class:`SheetReader` runs it beside the Python work on other sheets.
    """
    narrow = _narrowed(pkg, name)
    if narrow is not None:
        return narrow
    return _calamine_layout(pkg, wb, name)


def _calamine_layout(
    pkg: Package, wb: calamine.CalamineWorkbook, name: str
) -> calamine.CalamineSheet:
    try:
        return wb.get_sheet_by_name(name)
    except Exception as e:
        raise SheetCRMError(_unreadable(pkg, e, name)) from e


def _rows_of(
    pkg: Package, name: str, sheet: list[list[Any]] | calamine.CalamineSheet
) -> Iterator[list[Any]]:
    if isinstance(sheet, list):
        return iter(sheet)
    if isinstance(sheet, halves.Halves):
        return halves.rows(sheet)
    try:
        start = sheet.start
        rows: Iterator[list[Any]] = sheet.iter_rows()
    except Exception as e:
        raise SheetCRMError(_unreadable(pkg, e, name)) from e
    if start is None:
        return iter(())
    if start[1]:
        # calamine's rows begin at the first used column; a sheet is read from column A.
        left = [""] * start[1]
        return (left + row for row in rows)
    return rows


def sheet_table(data: bytes, name: str) -> list[list[Any]]:
    """Every row of the sheet ``name`` of the workbook held in ``data``, read as read_book
    reads it (the same layout and used-area rules); for checking what was written."""
    pkg = Package(data, naming=CONTRACT)
    wb = calamine_book(pkg, data)
    try:
        return sheet_rows(pkg, wb, pkg.sheet(name).name)
    finally:
        wb.close()


def calamine_book(pkg: Package, data: bytes) -> calamine.CalamineWorkbook:
    """calamine's view of a package.

    calamine looks for the workbook, styles and shared strings at their usual
    names (xl/workbook.xml, xl/styles.xml, xl/sharedStrings.xml); other tools may
    put them anywhere the relationships say. calamine then gets a copy of the
    package laid out the usual way (only for reading: nothing is written).
    """
    try:
        if not _moved_parts(pkg):
            return calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        return calamine.CalamineWorkbook.from_filelike(io.BytesIO(_usual_layout(pkg)))
    except calamine.PasswordError as e:
        raise SheetCRMError(
            Problem(
                "encrypted",
                f"{pkg.name} is protected with a password",
                hint="save it in Excel without a password",
            )
        ) from e
    except SheetCRMError:
        raise
    except Exception as e:  # calamine raises several unrelated types for damaged files
        raise SheetCRMError(_unreadable(pkg, e)) from e


def _unreadable(pkg: Package, error: BaseException, sheet: str | None = None) -> Problem:
    """Why calamine could not read the workbook (or one sheet), as plainly as can be told.

    A part that fails its checksum is named (restore a backup); anything else is
    the file's own damage, described as calamine saw it.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(pkg.source_bytes())) as zf:
            bad = zf.testzip()  # unpacks every part: only done once reading has failed
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as e:
        return safety.damaged_part(pkg.name, "", e)
    if bad is not None:
        return safety.damaged_part(pkg.name, bad, ValueError("its checksum does not match"))
    what = f"the sheet {sheet!r} of {pkg.name}" if sheet else pkg.name
    return Problem(
        "not_a_workbook",
        f"{what} cannot be read{'' if sheet else ' as a workbook'}: {_short(error)}",
        sheet=sheet,
        hint="open it in Excel and save a fresh copy",
    )


_USUAL = {"styles": "xl/styles.xml", "sharedStrings": "xl/sharedStrings.xml"}


def _moved_parts(pkg: Package) -> dict[str, str]:
    """Parts calamine would not find where they are: part -> where calamine looks."""
    moved = {}
    if pkg.workbook_part != "xl/workbook.xml":
        moved[pkg.workbook_part] = "xl/workbook.xml"
    for _rid, typ, target, mode in pkg.rels(pkg.workbook_part):
        usual = _USUAL.get(typ.rsplit("/", 1)[-1])
        if usual and mode != "External" and target != usual and pkg.has(target):
            moved[target] = usual
    return moved


def _inside(pkg: Package, moved: dict[str, str], target: str) -> str:
    """Where the copy for calamine holds the part a relationship points at."""
    real = pkg._real(target) if pkg.has(target) else target
    return "/" + moved.get(real, real.replace("\\", "/"))


def _usual_layout(pkg: Package) -> bytes:
    """The package with the parts calamine looks for at their usual names; the other
    targets of the workbook made absolute, so they are found where they are."""
    wb_part = pkg.workbook_part
    rels = pkg.rels(wb_part)
    moved = _moved_parts(pkg)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{_NS_PKG_RELS}"><Relationship Id="rId1" '
            f'Type="{_OFFICE_DOC}" Target="xl/workbook.xml"/></Relationships>',
        )
        for part, usual in moved.items():
            zf.writestr(usual, pkg.read(part))
        if wb_part not in moved:
            zf.writestr("xl/workbook.xml", pkg.read(wb_part))
        entries = "".join(
            f'<Relationship Id="{escape(rid)}" Type="{escape(typ)}" '
            f'Target="{escape(target if mode == "External" else _inside(pkg, moved, target))}"'
            + (' TargetMode="External"' if mode == "External" else "")
            + "/>"
            for rid, typ, target, mode in rels
        )
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{_NS_PKG_RELS}">{entries}</Relationships>',
        )
        written = {"_rels/.rels", "xl/_rels/workbook.xml.rels", *moved.values()}
        for part in pkg.part_names:
            # names as calamine spells them: some tools write xl\workbook.xml or
            # [content_types].xml, which calamine does not recognise
            usual = part.replace("\\", "/")
            if usual.lower() == "[content_types].xml":
                usual = "[Content_Types].xml"
            if part in moved or usual in written or usual.lower() in written:
                continue
            written.add(usual)
            zf.writestr(usual, pkg.read(part))
    return out.getvalue()


def _short(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text if len(text) < 160 else text[:157] + "..."


# Small sheets every command may need (settings, service levels, who works here).
ALWAYS_READ = ("Staff", "SLA", "Holidays", "Settings")


def contract_sheets(names: Collection[str] | None = None) -> list[Sheet]:
    """The contract sheets a command reads: every one, or ``names`` and the small ones
    (``ALWAYS_READ``), in the contract's order."""
    if names is None:
        return list(SHEETS)
    wanted = set(names) | set(ALWAYS_READ)
    return [s for s in SHEETS if s.name in wanted]


def start_reading(
    path: str | Path, names: Collection[str] | None = None, *, importing: bool = False
) -> SheetReader:
    """A :class:`SheetReader` of ``contract_sheets(names)``, already laying out the first.

    A command calls this before importing what it checks and computes with, so those
    imports run beside calamine's work; :func:`sheetcrm.workbook.validation.load`
    then takes it over (``reading=``). ``importing``: the command also imports large
    libraries beside the read (only large sheets are then cut in halves).
    """
    most = _HALVES_BESIDE_IMPORTS_FROM if importing else None
    return SheetReader(path, contract_sheets(names), halves_from=most).start()


def read_book(path: str | Path, sheets: Sequence[Sheet] = SHEETS) -> RawBook:
    """Read every contract sheet of the workbook at ``path``.

    >>> raw = read_book("sample_workbook.xlsx")
    >>> raw.sheets["Interactions"].cell("customer_id", 2)
    'C2'
    """
    with SheetReader(path, sheets) as reading:
        return reading.book(list(reading))


class SheetReader:
    """The contract sheets of a workbook, each handed over as soon as it is read.

    calamine lays out the sheets one at a time in a background thread, the next one
    while the caller works on the one handed over (calamine's work does not hold
    Python's lock, so on a machine with two cores the two run side by side), unless
    together they are large enough to matter for memory (``_AHEAD_BYTES``). When all
    are read ahead, the smallest come first: the largest, the slowest to lay out, is
    laid out while the caller works on the rest. Otherwise they come in the order of
    ``sheets``. Iterate once, inside the ``with``; ``sheet_names`` is every sheet the
    workbook has. A sheet that cannot be read raises when its turn comes, the first
    such sheet of the workbook's order first. A sheet of ``halves_from`` bytes of XML
    or more (default ``_HALVES_FROM``) is laid out in two halves side by side
    (:mod:`sheetcrm.workbook.halves`).
    """

    def __init__(
        self, path: str | Path, sheets: Sequence[Sheet] = SHEETS, *, halves_from: int | None = None
    ) -> None:
        self.path = Path(path)
        self._asked = list(sheets)
        self.pkg, self.wb = open_package(self.path, from_file=True)
        try:
            metadata = self.wb.sheets_metadata
            self.sheet_names = [m.name for m in metadata]
            wanted = {s.name for s in sheets}
            self._todo: list[tuple[str, Sheet]] = []
            for m in metadata:
                spec = find_sheet(m.name)
                if m.typ != calamine.SheetTypeEnum.WorkSheet or spec is None:
                    continue
                if spec.name in wanted and spec.name not in {s.name for _n, s in self._todo}:
                    self._todo.append((m.name, spec))
        except BaseException:
            self.close()
            raise
        self._pool: ThreadPoolExecutor | None = None
        self._order: list[tuple[str, Sheet]] = []  # the sheets to read, in reading order
        self._waiting: list[tuple[str, Sheet]] = []  # of those, the ones not laid out yet
        # Sheets of this many bytes of XML or more are cut in halves (None: none is; see
        # start).
        self._cut_from: int | None = _HALVES_FROM if halves_from is None else halves_from
        # laid out (or being), not yet handed over: the future and the part's size
        self._held: dict[str, tuple[Future[Any], int]] = {}
        # Whether calamine is laying out the next sheet while the caller has this one:
        # work done now costs no time (and, when not, it may as well wait for memory).
        self.next_underway = False

    def __enter__(self) -> SheetReader:
        # calamine hands back millions of small lists at once; the cyclic garbage
        # collector would scan them over and over while nothing here makes cycles
        # (bench: the load of 1,048,575 interactions went from 45 s to 36 s without it).
        self._collecting = gc.isenabled()
        gc.disable()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        if self._collecting:
            gc.enable()

    def close(self) -> None:
        self._stop()
        self.wb.close()
        self.pkg.close()

    def book(self, read: Iterable[RawSheet]) -> RawBook:
        """The sheets handed over, as a RawBook in the order asked for (whatever order
        they were read in)."""
        got = {sheet.spec.name: sheet for sheet in read}
        sheets = {spec.name: got[spec.name] for spec in self._asked if spec.name in got}
        return RawBook(self.path, self.sheet_names, sheets)

    def _size(self, name: str) -> int:
        try:
            return self.pkg.part_size(self.pkg.sheet_part(name))
        except SheetCRMError:
            return 0

    def start(self) -> SheetReader:
        """Begin laying out the first sheets now, before the caller iterates (which
        starts them itself when this was not called): the caller's own imports then
        run beside calamine's work."""
        if self._pool is None:
            # In the order asked for (the workbook's own order only decides which failure
            # is told), unless all are read ahead at once: then the smaller sheets first,
            # so calamine lays them out while this thread measures the largest, and the
            # caller works on them while that one is laid out (validate at 100,000 rows:
            # 1.42 -> 1.39 s).
            rank = {spec.name: i for i, spec in enumerate(self._asked)}
            self._order = sorted(self._todo, key=lambda t: rank[t[1].name])
            if sum(self._size(name) for name, _spec in self._order) <= _AHEAD_BYTES:
                self._order.sort(key=lambda t: self._size(t[0]))
            else:
                # Halves hold a sheet's XML twice more while laid out, and their threads
                # keep memory of their own: not for a read this large (a million rows,
                # where the peak is near its bound).
                self._cut_from = None
            self._waiting = list(self._order)
            # One thread: calamine lays out one sheet of a workbook at a time.
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sheetcrm-read")
            self._ahead()
        return self

    def _ahead(self) -> None:
        # The next sheet is laid out while this one is read, unless the two together are
        # large: calamine's copy of a sheet is most of a read's peak memory.
        held = self._held
        while self._waiting:
            name, _spec = self._waiting[0]
            size = self._size(name)
            if held and sum(n for _f, n in held.values()) + size > _AHEAD_BYTES:
                return
            held[name] = (self._submit(name, self._cut_from), size)
            del self._waiting[0]

    def _submit(self, name: str, cut_from: int | None) -> Future[Any]:
        """The sheet measured here, then laid out by calamine in the thread (see _laid_out).

        Measuring is Python work (a regex over the XML): done in the thread, it would
        take turns with the caller's Python for the lock and hold the layout back. A
        failure waits in the future, to be told in its turn.
        """
        assert self._pool is not None
        done: Future[Any] = Future()
        try:
            prepared = _prepared(self.pkg, name, cut_from)
        except SheetCRMError as e:
            done.set_exception(e)
            return done
        if prepared is None:
            return self._pool.submit(_calamine_layout, self.pkg, self.wb, name)
        if isinstance(prepared, tuple):
            return self._pool.submit(_in_halves, self.pkg, self.wb, name, *prepared)
        done.set_result(prepared)
        return done

    def __iter__(self) -> Iterator[RawSheet]:
        self.start()
        held = self._held
        for name, spec in self._order:
            self._ahead()
            try:
                sheet = self._read(name, spec, held[name][0].result())
            except SheetCRMError as e:
                raise self._first_failure(name, e) from e.__cause__
            del held[name]
            self.next_underway = bool(held)
            yield sheet

    def _read(
        self, name: str, spec: Sheet, laid: list[list[Any]] | calamine.CalamineSheet
    ) -> RawSheet:
        try:
            return raw_sheet(name, spec, _rows_of(self.pkg, name, laid))
        except calamine.CalamineError as e:  # from calamine's iterator, mid-sheet
            self._stop()  # the message looks into the file: nothing else may read it meanwhile
            raise SheetCRMError(_unreadable(self.pkg, e, name)) from e

    def _stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _first_failure(self, name: str, error: SheetCRMError) -> SheetCRMError:
        """The failure a reader going through the sheets in the workbook's order meets first:
        sheets before ``name`` not read yet are read now, and the first of them that fails
        is the one told (the same message whatever order they were read in)."""
        self._stop()
        for earlier, spec in self._todo:
            if earlier == name:
                break
            try:
                self._read(earlier, spec, _laid_out(self.pkg, self.wb, earlier))
            except SheetCRMError as e:
                return e
        return error


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


def raw_sheet(name: str, spec: Sheet, rows: Iterable[list[Any]]) -> RawSheet:
    """One sheet's rows as read by calamine, as the contract sheet ``spec``.

    Only the contract columns are kept, gathered a slice of rows at a time, so the
    owner's other columns and the rows as lists are never all held at once.
    """
    stream = iter(rows)
    head = list(itertools.islice(stream, _HEADER_SEARCH_ROWS))
    header_index = _find_header(spec, head)
    if header_index is None:
        return RawSheet(name, spec, 1, {}, {}, {}, [])  # an empty sheet: every column missing
    header_cells = head[header_index]
    # Contract names and the owner's synonyms, matched by the contract's one table.
    positions = match_headers(spec, list(enumerate(header_cells)))
    headers: dict[str, str] = {c: str(header_cells[j]) for c, j in positions.items()}
    gathered: dict[str, list[Any]] = {c: [] for c in positions}
    width = len(header_cells)  # calamine rows are all one width
    body = 0
    batch = head[header_index + 1 :]
    while batch:
        body += len(batch)
        # Transposing in C is far faster than indexing each row per column.
        transposed = list(zip(*batch, strict=False))
        for c, j in positions.items():
            if j < width:
                gathered[c].extend(transposed[j])
        batch = list(itertools.islice(stream, _BATCH_ROWS))
    if body and positions:
        columns: dict[str, Sequence[Any]] = {
            c: gathered[c] if j < width else () for c, j in positions.items()
        }
        # A row is a record when any contract column holds something. Nearly every
        # record has its key, so one pass over the key column finds those and only the
        # keyless rows are looked at cell by cell (spaces alone are blank too).
        key_values = columns.get(spec.key)
        if key_values is not None and len(key_values):
            keep = [v != "" for v in key_values]
        else:
            keep = [False] * body
        filled = [vals for vals in columns.values() if len(vals)]
        for i, kept in enumerate(keep):
            if not kept:
                keep[i] = any(not is_blank(vals[i]) for vals in filled)
        if key_values is not None:
            for i, value in enumerate(key_values):
                if type(value) is str and not value.strip() and keep[i]:
                    keep[i] = any(not is_blank(vals[i]) for vals in filled)
        # Formatted but empty rows (and blank rows between records) are not records.
        if not all(keep):
            idx = [i for i, kept in enumerate(keep) if kept]
            columns = {c: [vals[i] for i in idx] for c, vals in columns.items()}
            excel_rows = [header_index + 2 + i for i in idx]
        else:
            excel_rows = list(range(header_index + 2, header_index + 2 + body))
    else:
        columns = {c: () for c in positions}
        excel_rows = []
    letters = {c: column_letter(j) for c, j in positions.items()}
    return RawSheet(name, spec, header_index + 1, headers, letters, columns, excel_rows)
