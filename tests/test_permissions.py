"""Writes as an ordinary user: refuse what the user may not write, keep mode and owner (12.3).

The CLI runs in a real process as ``nobody`` (setpriv). Where the Python in use sits
in a folder ``nobody`` cannot enter (a venv under /root), the process keeps one
capability, reading any folder (CAP_DAC_READ_SEARCH): it can load sheetcrm, but it
writes exactly as an ordinary user does.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import python_calamine

from sheetcrm.cli import cli
from tests.writer_helpers import contract_tables

ROOT = Path(__file__).resolve().parent.parent
AT = "2026-11-20 14:00"


def _nobody() -> tuple[int, int] | None:
    try:
        user = pwd.getpwnam("nobody")
    except KeyError:
        return None
    return user.pw_uid, user.pw_gid


NOBODY = _nobody()

pytestmark = [
    pytest.mark.skipif(
        not hasattr(os, "geteuid") or os.geteuid() != 0,
        reason="runs the CLI as another user, which needs root",
    ),
    pytest.mark.skipif(NOBODY is None, reason="there is no user 'nobody' to run as"),
    pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv is not installed"),
]


def _as_nobody_prefix() -> list[str]:
    assert NOBODY is not None
    uid, gid = NOBODY
    base = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
    probe = subprocess.run([*base, sys.executable, "-c", "import sheetcrm"], env=_env(),
                           capture_output=True, cwd="/")  # fmt: skip
    if probe.returncode == 0:
        return base
    # the interpreter lives where nobody may not look: lend it read access only
    caps = ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
    probe = subprocess.run([*base, *caps, sys.executable, "-c", "import sheetcrm"],
                           env=_env(), capture_output=True, cwd="/")  # fmt: skip
    if probe.returncode != 0:
        pytest.skip(f"nobody cannot run {sys.executable}: {probe.stderr.decode()[-200:]}")
    return [*base, *caps]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "HOME": "/tmp"}


@pytest.fixture(scope="module")
def as_nobody() -> list[str]:
    return _as_nobody_prefix()


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Path]:
    """A folder anybody may write, as a shared folder of a small office is."""
    folder = Path(tempfile.mkdtemp(prefix="sheetcrm-perm-", dir="/tmp"))
    os.chmod(folder, 0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def log_as(prefix: list[str], book: Path) -> subprocess.CompletedProcess[str]:
    args = ["log", "-w", str(book), "--customer", "C-0001", "--channel", "phone", "--type",
            "support", "--summary", "Called back", "--date", AT]  # fmt: skip
    return subprocess.run(
        [*prefix, sys.executable, "-m", "sheetcrm", *args],
        env=_env(), capture_output=True, text=True, timeout=120, cwd="/",
    )  # fmt: skip


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def interactions(path: Path) -> int:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    return len(book.get_sheet_by_name("Interactions").to_python())


@pytest.mark.parametrize("case", ["mode 444, the user's own", "another user's, in their folder"])
def test_a_workbook_the_user_may_not_write_is_refused(as_nobody, shared, case):
    book = contract_tables(shared / "crm.xlsx")
    assert NOBODY is not None
    if case.startswith("mode 444"):
        os.chown(book, *NOBODY)
        os.chmod(book, 0o444)
    else:  # root's file, readable by all, in a folder nobody may write
        os.chmod(book, 0o644)
    before, st = sha(book), book.stat()
    result = log_as(as_nobody, book)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "you may not write" in result.stderr and "crm.xlsx" in result.stderr
    assert sha(book) == before
    after = book.stat()
    assert (after.st_uid, after.st_gid, after.st_mode) == (st.st_uid, st.st_gid, st.st_mode)
    assert sorted(p.name for p in shared.iterdir()) == ["crm.xlsx"]  # no temp, no backup


def test_a_write_keeps_the_files_mode_and_owner(as_nobody, shared):
    assert NOBODY is not None
    book = contract_tables(shared / "crm.xlsx")
    os.chown(book, *NOBODY)
    os.chmod(book, 0o640)
    result = log_as(as_nobody, book)
    assert result.returncode == 0, result.stderr
    st = book.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (*NOBODY, 0o640)
    assert interactions(book) == 4
    (backup,) = (shared / "backups").iterdir()
    bst = backup.stat()  # the previous version is as private as the workbook
    assert (bst.st_uid, bst.st_mode & 0o7777) == (NOBODY[0], 0o640)


def test_roots_scheduled_job_leaves_the_users_private_file_theirs(runner, shared):
    assert NOBODY is not None
    book = contract_tables(shared / "crm.xlsx")
    os.chown(book, *NOBODY)
    os.chmod(book, 0o600)
    result = runner.invoke(
        cli,
        ["log", "-w", str(book), "--customer", "C-0001", "--channel", "phone", "--type",
         "support", "--summary", "Nightly", "--date", AT],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    st = book.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (*NOBODY, 0o600)
    (backup,) = (shared / "backups").iterdir()
    assert (backup.stat().st_uid, backup.stat().st_mode & 0o7777) == (NOBODY[0], 0o600)


@pytest.mark.skipif(shutil.which("setfacl") is None, reason="setfacl (package acl) is missing")
def test_a_write_keeps_the_files_acl(runner, shared):
    book = contract_tables(shared / "crm.xlsx")
    os.chmod(book, 0o640)
    done = subprocess.run(["setfacl", "-m", "u:nobody:rw", str(book)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"this file system has no ACLs: {done.stderr.decode().strip()}")
    before = subprocess.run(["getfacl", "-c", str(book)], capture_output=True, text=True).stdout
    result = runner.invoke(
        cli,
        ["log", "-w", str(book), "--customer", "C-0001", "--channel", "phone", "--type",
         "support", "--summary", "Nightly", "--date", AT],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    after = subprocess.run(["getfacl", "-c", str(book)], capture_output=True, text=True).stdout
    assert "user:nobody:rw-" in after and after == before
