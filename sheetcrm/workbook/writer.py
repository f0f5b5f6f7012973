"""The one way sheetcrm writes the owner's workbook: lock, write aside, verify, replace, backup.

Why one module (~1,000 lines): every step of a write (lock, write aside, verify,
replace, backup) has its own failure mode and message, and Transaction is the
only door to them; apart, a step could be skipped.

::

    with writer.edit(path) as tx:       # locked: nobody else writes until the block ends
        tx.append("Interactions", [row])
        tx.update("Complaints", 14, {"status": "resolved"})

On a normal exit the edited package is written to a temp file beside the workbook,
read back with python-calamine and checked (the new rows hold what was written,
every other row of the edited sheets is as before), the previous version is copied
to ``backups/`` (written aside, checked, then renamed) and the temp file atomically
replaces the workbook, with the workbook's mode, owner, group and ACL. On an
exception nothing is written. A workbook open in Excel is left alone
(:class:`WorkbookOpenError`); a symlinked workbook is written through to its target;
writers queue for the lock in turn.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import hashlib
import io
import math
import os
import re
import secrets
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from sheetcrm.contract import SHEET_BY_NAME
from sheetcrm.errors import Problem, SheetCRMError, WorkbookOpenError, column_letter
from sheetcrm.files import hide, os_problem
from sheetcrm.workbook.naming import CONTRACT
from sheetcrm.workbook.reader import calamine_book, check_file
from sheetcrm.xlsx import encryption, notes
from sheetcrm.xlsx.fragments import HAS_DATA
from sheetcrm.xlsx.package import Package
from sheetcrm.xlsx.safety import ROW_TAG

__all__ = [
    "Transaction",
    "allow_removing_signature",
    "backup_name",
    "check_not_open",
    "edit",
    "excel_owner_file",
    "lock_path",
]

# Writers wait their turn. One write takes well under a few seconds, so ten minutes
# holds a queue of dozens; past it, something is stuck and the message says what.
LOCK_TIMEOUT = 600.0
WAIT_NOTICE = 3.0  # seconds of waiting before telling the user, then every WAIT_REPEAT
WAIT_REPEAT = 15.0
STALE_OWNER_FILE = dt.timedelta(hours=24)
CHANGED_MESSAGE = (
    "the workbook changed while sheetcrm was writing; nothing was written, run the command again"
)


# --------------------------------------------------------------------------- Excel detection


def excel_owner_file(path: str | Path) -> Path | None:
    """The owner file Office keeps beside a workbook open in Excel, if there is one."""
    path = Path(path)
    names = ["~$" + path.name]
    if len(path.name) > 2:
        names.append("~$" + path.name[2:])
    for name in names:
        candidate = path.with_name(name)
        with contextlib.suppress(OSError):
            if candidate.is_file():
                return candidate
    return None


def _owner_user(owner: Path) -> str:
    try:
        data = owner.read_bytes()[:256]
    except OSError:
        return "someone"
    if data:
        n = data[0]
        raw = data[1 : 1 + n]
        name = raw.decode("cp1252", "replace").strip(" \x00")
        if name and name.isprintable():
            return name
    return "someone"


def check_not_open(path: str | Path) -> None:
    """Raise :class:`WorkbookOpenError` when Excel has the workbook open."""
    path = Path(path)
    owner = excel_owner_file(path)
    if owner is None:
        return
    user = _owner_user(owner)
    try:
        since = dt.datetime.fromtimestamp(owner.stat().st_mtime)
    except OSError:  # closed in the meantime
        return
    when = since.strftime("%Y-%m-%d %H:%M")
    message = f"{path.name} is open in Excel by {user} since {when}; "
    if dt.datetime.now() - since > STALE_OWNER_FILE:
        message += (
            f"the lock file {owner.name} is more than a day old and may be left over from a "
            f"crash: delete {owner.name} if nobody has the file open, then run the command again."
        )
        hint = f"delete {owner.name} if nobody has the file open"
    else:
        message += "close it in Excel and run the command again."
        hint = "close the workbook in Excel (or ask them to), then run the command again"
    raise WorkbookOpenError(Problem("workbook_open", message, hint=hint, value=user))


# --------------------------------------------------------------------------- the transaction


def lock_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(f".{path.name}.lock")


def backup_name(path: Path, when: dt.datetime | None = None) -> str:
    when = when or dt.datetime.now()
    return f"{path.stem}-{when:%Y%m%d-%H%M%S-%f}{path.suffix}"


@dataclass(slots=True)
class _Stamp:
    mtime_ns: int
    size: int
    sha256: str


def _read_stamped(path: Path) -> tuple[bytes, _Stamp]:
    for _ in range(5):
        st = os.stat(path)
        data = path.read_bytes()
        st2 = os.stat(path)
        if (
            (st.st_mtime_ns, st.st_size)
            == (st2.st_mtime_ns, st2.st_size)
            == (
                st2.st_mtime_ns,
                len(data),
            )
        ):
            return data, _Stamp(st.st_mtime_ns, st.st_size, hashlib.sha256(data).hexdigest())
        time.sleep(0.05)
    raise SheetCRMError(Problem("workbook_changed", CHANGED_MESSAGE))


class _Columns:
    def __init__(self, package: Package, sheet: str) -> None:
        self.package, self.sheet = package, sheet

    def __getitem__(self, key: str) -> int:
        return self.package.column_of(self.sheet, key)


# A sheet bigger than this is unpacked when it is edited, not beside the reading: at a
# million rows (570 MB) the two together would raise the peak memory, and time matters less.
_UNPACK_SOON_UP_TO = 128 * 1024**2


@dataclass
class Transaction:
    """What one ``edit()`` block changes; see :func:`edit`."""

    path: Path
    package: Package
    original: bytes = field(repr=False)
    appended: dict[str, list[int]] = field(default_factory=dict)
    _expected: dict[str, dict[int, dict[int, object]]] = field(default_factory=dict, repr=False)
    written: bool = False
    backup: Path | None = None
    # A command may lower or raise this once it has read the Settings sheet.
    backups_to_keep: int = 10
    # An encrypted workbook: the password to encrypt the new bytes with, and the file's
    # own (encrypted) bytes, which are what its backup keeps.
    password: str | None = field(default=None, repr=False)
    stored: bytes | None = field(default=None, repr=False)

    def unpack_soon(self, *sheets: str) -> None:
        """Start unpacking sheets this write will edit, while the command reads and checks
        the workbook (unpacking 100,000 interactions is 40 ms of ISA-L, which
        lets Python go on). Sheets the workbook lacks are left to the edit to report."""
        for sheet in sheets:
            try:
                part = self.package.sheet_part(self._owner_name(sheet))
            except SheetCRMError:
                continue
            if self.package.part_size(part) <= _UNPACK_SOON_UP_TO:
                self.package.unpack_soon(part)

    def append(self, sheet: str, rows: Sequence[Mapping[str, object]]) -> list[int]:
        """Append records to a sheet; returns their Excel row numbers."""
        sheet = self._owner_name(sheet)
        numbers = self.package.append_rows(sheet, rows)
        self.appended.setdefault(sheet, []).extend(numbers)
        # Each column is looked up once per batch, not once per cell.
        names = {k for values in rows for k in values}
        columns = {k: self.package.column_of(sheet, k) for k in names}
        exp = self._expected.setdefault(sheet, {})
        for r, values in zip(numbers, rows, strict=True):
            exp[r] = {columns[k]: v for k, v in values.items()}
        return numbers

    def update(self, sheet: str, excel_row: int, values: Mapping[str, object]) -> None:
        """Set cells of one existing row (found by its Excel row number)."""
        sheet = self._owner_name(sheet)
        self.package.update_cells(sheet, excel_row, values)
        header = self._columns(sheet)
        cols = {header[k]: v for k, v in values.items()}
        self._expected.setdefault(sheet, {}).setdefault(excel_row, {}).update(cols)

    def update_rows(self, sheet: str, changes: Mapping[int, Mapping[str, object]]) -> None:
        """Set cells of many existing rows at once (``init --into``: ids for every row)."""
        sheet = self._owner_name(sheet)
        self.package.update_rows(sheet, changes)
        header = self._columns(sheet)
        for excel_row, values in changes.items():
            cols = {header[k]: v for k, v in values.items()}
            self._expected.setdefault(sheet, {}).setdefault(excel_row, {}).update(cols)

    def ensure_columns(
        self, sheet: str, names: Sequence[str], *, adopting: bool = False
    ) -> list[str]:
        """Add header cells for columns the sheet lacks; verification expects them too.

        A required contract column is never added by an ordinary write: its absence
        means the owner renamed or deleted it, and every read command refuses the
        workbook until it is back. Only adoption (``init --into``) adds them, on purpose.
        """
        spec = SHEET_BY_NAME.get(sheet)
        sheet = self._owner_name(sheet)
        added = self.package.ensure_columns(sheet, names)
        wanted = {c.name for c in spec.required} if spec is not None and not adopting else set()
        required = [n for n in added if n in wanted]
        if required:
            header_row, _ = self.package.headers(sheet)
            raise SheetCRMError(
                Problem(
                    "missing_column",
                    f"{self.path.name} cannot be used until this is fixed: the {sheet} sheet "
                    f"has no {required[0]} column; nothing was written",
                    sheet=sheet,
                    row=header_row,
                    column=required[0],
                    hint=f"add a column headed {required[0]} to the header row (row "
                    f"{header_row}), or rename the one you use for it back to {required[0]}",
                )
            )
        if added:
            header_row, _ = self.package.headers(sheet)
            header = self._columns(sheet)
            self._expected.setdefault(sheet, {}).setdefault(header_row, {}).update(
                {header[name]: name for name in added}
            )
        return added

    def add_sheet(
        self,
        name: str,
        headers: Sequence[str],
        rows: Sequence[Sequence[object]] = (),
        widths: Sequence[float] | None = None,
    ) -> str:
        return self.package.add_sheet(name, headers, rows, widths)

    # ---- the rest of what a use case may do to the workbook. Nothing outside this
    # class touches the package: every change goes through here and is verified.

    @property
    def sheet_names(self) -> list[str]:
        """The workbook's sheet names, as the owner named them, in tab order."""
        return self.package.sheet_names

    def headers(self, sheet: str) -> tuple[int, dict[int, str]]:
        """The header row number and its texts by 0-based column."""
        return self.package.headers(sheet)

    def column_of(self, sheet: str, key: str) -> int:
        """The 0-based column of a contract column (matched as headers are)."""
        return self.package.column_of(sheet, key)

    def edge_values(self, sheet: str, key: str) -> list[str]:
        """The values of ``key`` in the first and last rows (enough for the next id)."""
        return self.package.edge_values(sheet, key)

    def holds_text(self, sheet: str, text: str) -> bool:
        """Whether ``text`` stands in a cell of the sheet (a cheap look, no parsing)."""
        return self.package.holds_text(sheet, text)

    def highlight(
        self, sheet: str, marker: str, rules: Sequence[tuple[str, str, str, str]]
    ) -> None:
        """Replace sheetcrm's conditional colours (those carrying ``marker``) on a sheet."""
        self.package.highlight(sheet, marker, rules)

    def replace_sheet(
        self,
        name: str,
        headers: Sequence[str],
        rows: Sequence[Sequence[object]],
        widths: Sequence[float] | None = None,
        links: Mapping[str, str] | None = None,
    ) -> str:
        """Write sheet ``name`` afresh (sheetcrm's own sheet, e.g. the problems); its part."""
        return self.package.replace_sheet(name, headers, rows, widths, links)

    def remove_sheet(self, name: str) -> bool:
        """Remove sheetcrm's own sheet ``name`` if it is there."""
        return notes.remove_sheet(self.package, name)

    def make_active(self, name: str) -> None:
        """Make ``name`` the tab Excel opens on."""
        notes.make_active(self.package, name)

    def style_header(self, part: str) -> None:
        """Bold, filled header row on a sheet sheetcrm wrote (by its part)."""
        notes.style_header(self.package, part)

    def blank_unused_strings(self, should_blank: Callable[[str], bool]) -> None:
        """Empty the shared strings no cell uses any more that ``should_blank`` (erasure)."""
        self.package.blank_unused_strings(should_blank)

    def clear_notes(self, sheet: str, author: str) -> None:
        """Remove the notes ``author`` left on a sheet; the owner's own notes stay."""
        notes.clear(self.package, sheet, author)

    def add_notes(self, sheet: str, author: str, texts: Mapping[str, str]) -> None:
        """A note on each cell of ``texts`` (``{"C14": "error: ..."}``), signed ``author``."""
        notes.add(self.package, sheet, author, texts)

    def _owner_name(self, sheet: str) -> str:
        """The sheet's name in the workbook ("Kunder" for Customers), as verification reads it."""
        return self.package.sheet(sheet).name

    def _columns(self, sheet: str) -> _Columns:
        return _Columns(self.package, sheet)

    # ---- commit
    def _commit(self, stamp: _Stamp, backups_to_keep: int) -> None:
        if not self.package.changed:
            return
        path = self.path
        _unsign(self.package, path)
        new = self.package.to_bytes()
        plain = new
        if self.password is not None:
            _verify(plain, self)  # checked in memory, then encrypted before it touches the disk
            new = encryption.encrypt(plain, self.password)
        _check_unchanged(path, stamp)
        try:
            st = os.stat(path)
        except OSError as exc:
            raise os_problem(exc, f"read {path.name}", path) from None
        tmp = path.with_name(f"{_temp_prefix(path)}{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            try:
                _write_new(tmp, new)
                _keep_owner(tmp, path, st)
            except OSError as exc:
                raise os_problem(exc, f"write the new {path.name}", path.parent) from None
            if self.password is None:
                new = plain = b""  # on disk now: the proof reads it back from there
                _verify(tmp, self)
            elif encryption.decrypt(tmp.read_bytes(), path, self.password) != plain:
                raise _fail("an encrypted copy that does not decrypt to what was meant")
            check_not_open(path)
            _check_unchanged(path, stamp)
            if backups_to_keep > 0:
                original = self.original if self.stored is None else self.stored
                self.backup = _backup(path, original, st)
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise os_problem(exc, f"replace {path.name}", path) from None
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _fsync_dir(path.parent)
        self.written = True
        if backups_to_keep > 0:
            _rotate(path, backups_to_keep)


# Tests make this raise ENOSPC after some bytes: a full disk, exactly where it hurts.
_os_write = os.write


def _write_new(target: Path, data: bytes) -> None:
    """Create ``target`` (never an existing file), write ``data`` and flush it to disk."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(target, flags, 0o600)  # private until it has the workbook's own mode
    try:
        hide(target)
        view = memoryview(data)
        while view:
            view = view[_os_write(fd, view[: 1 << 20]) :]
        os.fsync(fd)
    finally:
        os.close(fd)


_ACL = "system.posix_acl_access"


def _keep_owner(target: Path, source: Path, st: os.stat_result) -> None:
    """Give ``target`` the mode, owner, group and ACL of ``source`` (stat ``st``).

    Root's scheduled job keeps a user's file the user's. An ordinary user can give a
    file only their own owner: writing another user's group-writable workbook makes
    it theirs, with the group and mode kept (the README says so).
    """
    if hasattr(os, "chown"):
        try:
            os.chown(target, st.st_uid, st.st_gid)
        except OSError:
            with contextlib.suppress(OSError):
                os.chown(target, -1, st.st_gid)
    os.chmod(target, st.st_mode & 0o7777)
    acl = None
    with contextlib.suppress(OSError, AttributeError):
        acl = os.getxattr(source, _ACL)  # type: ignore[attr-defined,unused-ignore]
    if acl:
        with contextlib.suppress(OSError, AttributeError):
            os.setxattr(target, _ACL, acl)  # type: ignore[attr-defined,unused-ignore]


def _temp_prefix(path: Path) -> str:
    return f".{path.name}.sheetcrm-"


def _remove_leftovers(path: Path) -> None:
    """Delete the temp files of writes that were killed before they finished.

    Called under the lock: no other write to this workbook is running, so every
    temp file of it is a leftover. The workbook itself was never touched by them.
    """
    for leftover in path.parent.glob(glob.escape(_temp_prefix(path)) + "*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()
    backups = path.parent / "backups"
    for leftover in backups.glob("." + glob.escape(path.stem) + "-*" + ".part"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def _check_unchanged(path: Path, stamp: _Stamp) -> None:
    try:
        st = os.stat(path)
        same = (st.st_mtime_ns, st.st_size) == (stamp.mtime_ns, stamp.size)
        if same:
            same = hashlib.sha256(path.read_bytes()).hexdigest() == stamp.sha256
    except OSError:
        same = False
    if not same:
        raise SheetCRMError(Problem("workbook_changed", CHANGED_MESSAGE))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _backup(path: Path, data: bytes, st: os.stat_result) -> Path:
    """Keep ``data`` (the workbook before this write) in ``backups/``.

    Written under a dot-name, read back and compared, and only then renamed: a
    backup under its final name is always whole. On any failure nothing is left
    there and the write stops.
    """
    folder = path.parent / "backups"
    part: Path | None = None
    try:
        folder.mkdir(exist_ok=True)
        target = folder / backup_name(path)
        while target.exists():
            time.sleep(0.000_01)
            target = folder / backup_name(path)
        part = folder / f".{target.name}.part"
        _write_new(part, data)
        _keep_owner(part, path, st)
        if hashlib.sha256(part.read_bytes()).digest() != hashlib.sha256(data).digest():
            raise SheetCRMError(
                Problem(
                    "backup_failed",
                    f"the backup of {path.name} in {folder} did not read back as written; "
                    "nothing was written",
                    hint="check the disk, then run the command again",
                )
            )
        os.replace(part, target)
    except OSError as exc:
        if part is not None:
            with contextlib.suppress(OSError):
                part.unlink()
        raise os_problem(exc, f"keep a backup of {path.name} in {folder}", folder) from None
    except BaseException:
        if part is not None:
            with contextlib.suppress(OSError):
                part.unlink()
        raise
    return target


def _backups(path: Path) -> list[Path]:
    folder = path.parent / "backups"
    prefix, suffix = f"{path.stem}-", path.suffix
    try:
        return sorted(
            p
            for p in folder.iterdir()
            if p.name.startswith(prefix)
            and p.name.endswith(suffix)
            and len(p.name) == len(prefix) + len("YYYYmmdd-HHMMSS-ffffff") + len(suffix)
        )
    except OSError:
        return []


def _whole(backup: Path) -> bool:
    """A backup that opens as a zip (its directory, at the very end, is there)."""
    try:
        with zipfile.ZipFile(backup) as zf:
            return bool(zf.namelist())
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return False


def _rotate(path: Path, keep: int) -> None:
    """Keep the newest ``keep`` whole backups; a broken one never pushes a whole one out."""
    backups = _backups(path)
    if len(backups) <= keep:
        return
    whole = [b for b in backups if _whole(b)]
    broken = [b for b in backups if b not in whole]
    for old in broken + whole[: max(0, len(whole) - keep)]:
        with contextlib.suppress(OSError):
            old.unlink()


# --------------------------------------------------------------------------- verification


def _same(expected: object, got: object) -> bool:
    if expected is None or expected == "":
        return got in ("", None)
    if isinstance(expected, bool):
        return got is expected or got == expected
    if isinstance(expected, dt.datetime | dt.date):
        if isinstance(got, dt.date):
            e = (
                expected
                if isinstance(expected, dt.datetime)
                else dt.datetime.combine(expected, dt.time())
            )
            g = got if isinstance(got, dt.datetime) else dt.datetime.combine(got, dt.time())
            return abs((e.replace(tzinfo=None) - g).total_seconds()) < 0.002
        return False
    if isinstance(expected, int | float) or hasattr(expected, "__float__"):
        try:
            x, y = float(expected), float(got)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        return math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-9)
    return str(expected) == got


def _rows(data: bytes | Path, sheet: str) -> list[list[Any]]:
    """Every row of a sheet as calamine reads it, row i is Excel row i + 1."""
    from sheetcrm.workbook.reader import sheet_table  # the reader's layout and size rules

    return sheet_table(data.read_bytes() if isinstance(data, Path) else data, sheet)


FULL_VERIFY_LIMIT = 8_000_000  # sheet parts up to this size are re-read whole by calamine


class _VerifyError(SheetCRMError):
    pass


def _fail(msg: str) -> SheetCRMError:
    return _VerifyError(
        Problem(
            "verify_failed",
            f"sheetcrm checked what it wrote and found {msg}; nothing was written "
            "(please report this)",
        )
    )


def _verify(tmp: Path | bytes, tx: Transaction) -> None:
    """Read the written file (or, for an encrypted workbook, the bytes about to be
    encrypted) back; raise unless it holds exactly what was meant."""
    pkg = tx.package
    import zipfile

    from sheetcrm.xlsx.zipstore import raw_member

    source: Path | io.BytesIO = io.BytesIO(tmp) if isinstance(tmp, bytes) else tmp
    try:  # the container: every member reads back as the bytes meant
        with (
            zipfile.ZipFile(source) as zf,
            io.BytesIO(tmp) if isinstance(tmp, bytes) else open(tmp, "rb") as fp,
        ):
            infos = [i for i in zf.infolist() if not i.is_dir()]
            if [i.filename for i in infos] != pkg.part_names:
                raise _fail("a different list of parts")
            for info in infos:
                # A member copied unchanged must be stored byte for byte as before;
                # one sheetcrm wrote must unpack (CRC checked) to what it meant.
                stored = pkg.raw(info.filename)
                if stored is not None:
                    if raw_member(fp, info) != stored:
                        raise _fail(f"the part {info.filename} was not copied intact")
                elif not _unpacks_to(zf, fp, info, pkg.read(info.filename), pkg):
                    raise _fail(f"the part {info.filename} differs from what was meant")
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise _fail(f"a broken zip ({exc})") from None
    for sheet, rows in tx._expected.items():
        part = pkg.sheet_part(sheet)
        old = pkg.original(part)
        if old is not None and _below_the_records(old, min(rows)):
            # New rows under the last record: the proof is proportional to what was written.
            _verify_big(pkg, sheet, rows, old, appended=True)
        elif len(pkg.read(part)) <= FULL_VERIFY_LIMIT:
            _verify_full(tmp, tx.original, sheet, rows)
        else:
            _verify_big(pkg, sheet, rows, old)


def _unpacks_to(zf: Any, fp: Any, info: Any, meant: bytes, pkg: Package) -> bool:
    """Whether a member unpacks (its CRC checked) to ``meant``, compared a piece at a
    time: a sheet of a million rows is not unpacked into a second copy to compare.
    A member deflated in pieces is unpacked piece by piece on every core."""
    from sheetcrm.xlsx import deflate
    from sheetcrm.xlsx.zipstore import member_start

    packed = pkg.deflated(info.filename)
    if packed is not None:
        if packed.crc != info.CRC or packed.crc != deflate.crc32(meant):
            return False
        if info.file_size != len(meant) or info.compress_size != sum(packed.sizes):
            return False
        # read back a piece at a time, one thread at a time
        start, lock = member_start(fp, info), threading.Lock()

        def stored(at: int, n: int) -> bytes:
            with lock:
                fp.seek(start + at)
                data: bytes = fp.read(n)
                return data

        return deflate.unpacks_to(stored, packed.sizes, packed.raw_sizes, meant)
    at = 0
    with zf.open(info) as member:
        while piece := member.read(_COMPARE_PIECE):
            if not meant.startswith(piece, at):
                return False
            at += len(piece)
    return at == len(meant)


_COMPARE_PIECE = 4 * 1024**2


def _below_the_records(old: bytes, first: int) -> bool:
    """Whether no row from ``first`` down held a value before (rows added under the
    records, perhaps into the owner's formatted empty rows).

    Rows are written in order, so only the rows at the end of the part are looked
    at, back to the first one above ``first``: the cost is that of the rows written.
    A row without a number is placed by position: then it is not told, not an append."""
    end = old.rfind(b"sheetData>")
    boundary = start = end
    while True:
        pos = old.rfind(b"row", 0, start)
        start = old.rfind(b"<", 0, pos)
        if pos < 0 or start < 0:
            break  # no row above: every row is at or below ``first``
        tag = ROW_TAG.match(old, start)
        if tag is None:
            continue  # "row" inside another tag or text, or a </row>
        if tag.group(1) is None:
            return False
        if int(tag.group(1)) < first:
            break
        boundary = start
    # "Holds something" as the row writer judges it when it picks the rows to fill.
    return not HAS_DATA.search(old, boundary, end)


def _check_values(
    sheet: str, table: list[list[Any]], rows: Mapping[int, Mapping[int, object]]
) -> None:
    for r, cols in rows.items():
        got_row = table[r - 1] if r - 1 < len(table) else []
        for col, value in cols.items():
            got = got_row[col] if col < len(got_row) else ""
            if not _same(value, got):
                raise _fail(f"{sheet}!{column_letter(col)}{r} holds {got!r} instead of {value!r}")


def _verify_full(
    tmp: Path | bytes, original: bytes, sheet: str, rows: Mapping[int, Mapping[int, object]]
) -> None:
    try:
        new = _rows(tmp, sheet)
    except Exception as exc:
        raise _fail(f"the new workbook cannot be read ({exc})") from None
    _check_values(sheet, new, rows)
    try:
        old = _rows(original, sheet)
    except Exception:  # calamine could not read the original: the new rows were checked
        return
    for i in range(max(len(old), len(new))):
        r = i + 1
        a = old[i] if i < len(old) else []
        b = new[i] if i < len(new) else []
        touched = rows.get(r, {})
        for c in range(max(len(a), len(b))):
            if c in touched:
                continue
            va = a[c] if c < len(a) else ""
            vb = b[c] if c < len(b) else ""
            if va != vb and not (
                isinstance(va, float)
                and isinstance(vb, float)
                and math.isnan(va)
                and math.isnan(vb)
            ):
                raise _fail(f"{sheet}!{column_letter(c)}{r} changed from {va!r} to {vb!r}")


_DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\b[^>]*>")


def _verify_big(
    pkg: Package,
    sheet: str,
    rows: Mapping[int, Mapping[int, object]],
    old: bytes | None,
    *,
    appended: bool = False,
) -> None:
    """A big sheet, or rows appended: the rows above the first touched row are
    byte-identical (but for the <dimension> element), and the touched rows read back
    through calamine as written. After appended rows no row may follow."""
    part = pkg.sheet_part(sheet)
    new = pkg.read(part)
    first = min(rows)
    new_start = pkg.row_span(sheet, first, new)[0]
    if old is not None:
        # A view compared by startswith: memcmp, where slices would copy a million rows
        # twice and memoryview's own == compares byte by byte in Python's slow way.
        b = memoryview(new)
        da, db = _DIMENSION.search(old, 0, 8192), _DIMENSION.search(new, 0, 8192)
        a_skip = (da.start(), da.end()) if da else (0, 0)
        b_skip = (db.start(), db.end()) if db else (0, 0)
        same = a_skip[0] == b_skip[0] and old.startswith(b[: b_skip[0]])
        same = same and old.startswith(b[b_skip[1] : new_start], a_skip[1])
        if not same:
            raise _fail(f"rows of {sheet} above row {first} changed")
    # The stretch of rows from the first touched row to the last, read back by calamine
    # from a one-sheet workbook of its own; rows keep their numbers, so cells line up.
    lo, hi = min(rows), max(rows)
    span_end = pkg.row_span(sheet, hi, new)[1]
    span = new[pkg.row_span(sheet, lo, new)[0] : span_end]
    root = re.search(rb"<((?:[\w.-]+:)?)worksheet\b[^>]*>", new)
    p = root.group(1) if root else b""
    if appended and old is not None:
        # Below the new rows: the owner's empty rows (if any) exactly as they were.
        close = b"</" + p + b"sheetData>"
        below_new = new[span_end : new.find(close, span_end)]
        old_start = a_skip[1] + (new_start - b_skip[1])
        tail = old[old_start : old.find(close, old_start)]
        later = [m.start() for m in ROW_TAG.finditer(tail) if m.group(1) and int(m.group(1)) > hi]
        if below_new != (tail[later[0] :] if later else b""):
            raise _fail(f"rows of {sheet} below row {hi} changed")
    sheet_xml = (
        (root.group(0) if root else b"<worksheet>")
        + b"<"
        + p
        + b"sheetData>"
        + span
        + b"</"
        + p
        + b"sheetData></"
        + p
        + b"worksheet>"
    )
    try:
        table = _stretch(_mini_workbook(pkg, sheet_xml), "S", lo)
    except Exception as exc:
        raise _fail(f"the new rows cannot be read ({exc})") from None
    _check_values(sheet, table, rows)


def _stretch(data: bytes, sheet: str, first: int) -> list[list[Any]]:
    """Rows ``first``.. of a sheet, indexed as a whole sheet would be (row r at r - 1)."""
    book = calamine_book(Package(data, naming=CONTRACT), data)
    try:
        found = book.get_sheet_by_name(sheet)
        body = found.to_python(skip_empty_area=True)
        start = found.start if body else None
        row0, col0 = start if start is not None else (first - 1, 0)
    finally:
        with contextlib.suppress(Exception):
            book.close()
    padded: list[list[Any]] = [[] for _ in range(row0)]
    padded += [[""] * col0 + list(row) for row in body]
    return padded


def _mini_workbook(pkg: Package, sheet_xml: bytes) -> bytes:
    import zipfile

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    styles = pkg.styles.part
    sst = next(
        (t for _i, typ, t, _m in pkg.rels(pkg.workbook_part) if typ.endswith("/sharedStrings")),
        None,
    )
    sst = sst if sst and pkg.has(sst) else None
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
            f'<Override PartName="/xl/s.xml" ContentType="{ct}.worksheet+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/></Types>',
        )
        zf.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        date1904 = ' date1904="1"' if pkg.date1904 else ""
        zf.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{main}" xmlns:r="{rel}"><workbookPr{date1904}/><sheets>'
            '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="s.xml"/>'
            + (
                f'<Relationship Id="rId2" Type="{rel}/styles" Target="styles.xml"/>'
                if styles
                else ""
            )
            + (
                f'<Relationship Id="rId3" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
                if sst
                else ""
            )
            + "</Relationships>",
        )
        if sst:
            zf.writestr("xl/sharedStrings.xml", pkg.read(sst))
        zf.writestr("xl/s.xml", sheet_xml)
        if styles:
            zf.writestr("xl/styles.xml", pkg.read(styles))
    return buf.getvalue()


# --------------------------------------------------------------------------- signatures

_ALLOW_UNSIGN: ContextVar[bool] = ContextVar("sheetcrm_allow_unsign", default=False)
_SIG_ORIGIN = "/digital-signature/origin"


def allow_removing_signature(allow: bool) -> None:
    """``sheetcrm --force``: a digitally signed workbook may be written; its signature
    is removed cleanly (a signature over the old content would say "tampered")."""
    _ALLOW_UNSIGN.set(allow)


def _signature_parts(pkg: Package) -> list[str]:
    origins = [t for _i, typ, t, _m in pkg.rels("") if typ.endswith(_SIG_ORIGIN)]
    return [
        n
        for n in pkg.part_names
        if n.lower().startswith("_xmlsignatures/") or n in origins or n.lstrip("/") in origins
    ]


def _unsign(pkg: Package, path: Path) -> None:
    """Refuse to write a signed workbook unless allowed; then drop the signature whole."""
    parts = _signature_parts(pkg)
    if not parts:
        return
    if not _ALLOW_UNSIGN.get():
        raise SheetCRMError(
            Problem(
                "signed_workbook",
                f"{path.name} is digitally signed; writing to it would remove the signature "
                "(Excel would then show it as unsigned). Nothing was written",
                hint="if that is fine, allow removing the signature "
                "(allow_removing_signature(True)); or keep the signed file and work on a copy",
                remedy="force_signed",
            )
        )
    for name in parts:
        pkg.remove(name)
    rels = pkg.read("_rels/.rels")
    rels = re.sub(
        rb"<(?:[\w.-]+:)?Relationship\b[^>]*" + re.escape(_SIG_ORIGIN.encode()) + rb"[^>]*/>",
        b"",
        rels,
    )
    pkg.write("_rels/.rels", rels)
    ct = pkg.read("[Content_Types].xml")
    for name in parts:
        ct = re.sub(
            rb'<(?:[\w.-]+:)?Override\b[^>]*PartName="/?' + re.escape(name.encode()) + rb'"[^>]*/>',
            b"",
            ct,
            flags=re.I,
        )
    ct = re.sub(rb'<(?:[\w.-]+:)?Default\b[^>]*Extension="sigs"[^>]*/>', b"", ct, flags=re.I)
    pkg.write("[Content_Types].xml", ct)


# --------------------------------------------------------------------------- the queue


def _queue_dir(path: Path) -> Path:
    return path.with_name(f".{path.name}.queue")


def _alive(pid: int) -> bool:
    if os.name == "nt":
        return True  # cannot tell cheaply; old tickets still expire by age
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process
    return True


def _ahead(queue: Path, mine: str, max_age: float) -> list[tuple[str, int]]:
    """The live tickets before ``mine``: (name, pid), oldest first; stale ones removed."""
    now = time.time_ns()
    out = []
    try:
        names = sorted(p.name for p in queue.iterdir())
    except OSError:
        return []
    for name in names:
        if name >= mine:
            break
        try:
            born, pid = int(name.split("-")[0]), int(name.split("-")[1])
        except (ValueError, IndexError):
            continue
        if (now - born) / 1e9 > max_age or not _alive(pid):
            with contextlib.suppress(OSError):
                (queue / name).unlink()
            continue
        out.append((name, pid))
    return out


def _say(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _turn(path: Path, timeout: float) -> Iterator[None]:
    """Hold the workbook's lock; writers waiting for it take a ticket and say so."""
    lock = FileLock(str(lock_path(path)), timeout=timeout)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        _wait(lock, path, timeout)
    except OSError as exc:
        raise os_problem(exc, f"lock {path.name}", lock_path(path)) from None
    hide(lock_path(path))
    try:
        yield
    finally:
        lock.release()


def _wait(lock: FileLock, path: Path, timeout: float) -> None:
    queue = _queue_dir(path)
    ticket = None
    with contextlib.suppress(OSError):
        queue.mkdir(exist_ok=True)
        hide(queue)
        ticket = queue / f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(3)}"
        ticket.touch()
    started = time.monotonic()
    next_notice = WAIT_NOTICE
    try:
        while True:
            try:
                lock.acquire(timeout=0.25)
                return
            except Timeout:
                pass
            except OSError as exc:
                raise os_problem(exc, f"lock {path.name}", lock_path(path)) from None
            waited = time.monotonic() - started
            ahead = _ahead(queue, ticket.name, timeout * 2) if ticket else []
            if waited >= timeout:
                raise SheetCRMError(_stuck(path, waited, len(ahead)))
            if waited >= next_notice:
                n = len(ahead) + 1  # the one writing now holds no ticket
                others = f"{n} other writes" if n > 1 else "another write"
                _say(f"waiting for {others} to {path.name} to finish...")
                next_notice = waited + WAIT_REPEAT
    finally:
        if ticket is not None:
            with contextlib.suppress(OSError):
                ticket.unlink()


def _stuck(path: Path, waited: float, ahead: int) -> Problem:
    minutes = f"{waited / 60:.0f} minutes" if waited >= 90 else f"{waited:.0f} s"
    if ahead:
        why = f"{ahead + 1} other sheetcrm writes to {path.name} were still ahead of this one"
    else:
        why = f"another sheetcrm command kept {path.name} locked the whole time; it may be stuck"
    return Problem(
        "workbook_locked",
        f"waited {minutes} for a turn to write {path.name}, but {why}; nothing was written",
        hint=f"run the command again later; if no sheetcrm command is running, delete "
        f"{lock_path(path).name} beside the workbook",
    )


# --------------------------------------------------------------------------- edit()


def _target(path: Path) -> Path:
    """The file a (chain of) symbolic link(s) points to: that file is the workbook."""
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


def _check_writable(path: Path) -> None:
    """Refuse what the user may not write, by the test opening it for writing makes."""
    try:
        with open(path, "r+b"):
            pass
    except OSError as exc:
        raise os_problem(exc, f"write {path.name}", path) from None


@contextlib.contextmanager
def edit(
    path: str | Path, backups_to_keep: int = 10, *, lock_timeout: float | None = None
) -> Iterator[Transaction]:
    """Lock the workbook, yield a :class:`Transaction`, and write it safely on a normal exit."""
    given = Path(path)
    path = _target(given)
    check_not_open(path)
    if given != path:  # Excel opened through the link keeps its owner file beside it
        check_not_open(given)
    if not path.is_file():
        where = f"{given} (a link to {path})" if given != path else f"{path}"
        raise SheetCRMError(
            Problem("not_a_workbook", f"{where} does not exist", hint="check the path, or run init")
        )
    _check_writable(path)
    with _turn(path, LOCK_TIMEOUT if lock_timeout is None else lock_timeout):
        _remove_leftovers(path)
        check_file(path)  # the same refusals, in the same words, as every read
        data, stamp = _read_stamped(path)
        stored = data
        data, password = encryption.open_for_write(data, path)  # plain bytes, in memory only
        tx = Transaction(
            path, Package(data, path.name, CONTRACT), data, backups_to_keep=backups_to_keep
        )
        tx.password, tx.stored = password, stored
        yield tx
        tx._commit(stamp, tx.backups_to_keep)
