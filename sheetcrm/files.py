"""Writing a whole file so that a reader sees the old one or the new one, never half.

Reports, templates, .eml files and the sent log all go through ``write_atomic``;
the workbook has its own, stricter path in ``writer.py`` (lock, verify, backup).
Files sheetcrm keeps beside the workbook for itself (the lock, temp files, the
sent log) are dot-named; :func:`hide` also hides them on Windows.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from sheetcrm.errors import Problem, SheetCRMError

FILE_ATTRIBUTE_HIDDEN = 0x2
WINDOWS = os.name == "nt"


def hide(path: Path) -> None:
    """Set the Windows hidden attribute (dot-named files are hidden elsewhere already)."""
    if not WINDOWS:
        return
    import ctypes

    with contextlib.suppress(Exception):  # hiding is a courtesy; never fail a write for it
        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
        attrs = kernel32.GetFileAttributesW(str(path))
        if attrs != -1 and attrs != 0xFFFFFFFF and not attrs & FILE_ATTRIBUTE_HIDDEN:
            kernel32.SetFileAttributesW(str(path), attrs | FILE_ATTRIBUTE_HIDDEN)


def read_json_sidecar(path: Path, unreadable: Callable[[str], SheetCRMError]) -> object:
    """A JSON file sheetcrm keeps beside the workbook (the sent log, the inbox log).

    None when it does not exist yet, ``{}`` when it is empty; ``unreadable(why)`` is
    raised when it cannot be read or is not JSON, so nothing goes out or in twice
    on a record nobody can read.
    """
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise unreadable(e.strerror or str(e)) from e
    try:
        return json.loads(raw) if raw.strip() else {}
    except ValueError as e:
        raise unreadable("it is not valid JSON") from e


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, flush it, then rename it over."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if path.name.startswith("."):  # a sidecar file: hidden on Windows as elsewhere
            hide(Path(tmp))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)  # mkstemp makes the file private; give it the usual mode
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def os_problem(exc: OSError, what: str, where: Path) -> SheetCRMError:
    """An error of the machine (full disk, no permission, read-only disk) in plain words.

    ``what`` says what was being done ("write crm.xlsx"), ``where`` the file or folder.
    """
    folder = where if where.is_dir() else where.parent
    code = exc.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return SheetCRMError(
            Problem(
                "disk_full",
                f"could not {what}: the disk holding {folder} is full; nothing was written",
                hint="free some space there (empty the bin, move old files away), then run "
                "the command again",
            )
        )
    if code == errno.EROFS:
        return SheetCRMError(
            Problem(
                "not_writable",
                f"could not {what}: {folder} is on a read-only disk; nothing was written",
                hint="copy the workbook to a folder you can write, or ask whoever set up the "
                "disk to allow writing",
            )
        )
    if code in (errno.EACCES, errno.EPERM):
        return SheetCRMError(
            Problem(
                "not_writable",
                f"could not {what}: you may not write {where}; nothing was written",
                hint="ask the owner of the file (or an administrator) for write permission, "
                "or work on a copy you own",
            )
        )
    reason = exc.strerror or str(exc)
    return SheetCRMError(
        Problem(
            "write_failed",
            f"could not {what} ({reason}, in {folder}); nothing was written",
            hint="check the disk and the folder, then run the command again",
        )
    )
