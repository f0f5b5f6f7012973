"""Workbooks protected with a password to open: read and written, encrypted again, never
decrypted on disk."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import msoffcrypto
import openpyxl
import pytest
import python_calamine
from click.testing import CliRunner

from sheetcrm.cli import cli
from sheetcrm.xlsx.encryption import PASSWORD_ENV, encrypt
from tests.conftest import CORPUS, SAMPLE

PASSWORD = "Sykkel-2026!"
ROOT = Path(__file__).resolve().parent.parent


def run(*args: object) -> object:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def locked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample workbook encrypted as Excel's Encrypt with Password does, password set."""
    path = tmp_path / "crm.xlsx"
    path.write_bytes(encrypt(SAMPLE.read_bytes(), PASSWORD))
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    return path


def _decrypt(path: Path, password: str) -> bytes:
    office = msoffcrypto.OfficeFile(io.BytesIO(path.read_bytes()))
    office.load_key(password=password, verify_password=True)
    out = io.BytesIO()
    office.decrypt(out)
    return out.getvalue()


def _last_row(path: Path, sheet: str, password: str = PASSWORD) -> list[object]:
    plain = _decrypt(path, password)
    ws = openpyxl.load_workbook(io.BytesIO(plain), read_only=True)[sheet]
    rows = list(ws.iter_rows(values_only=True))
    cal = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(plain))
    assert [list(r) for r in rows][-1][:2] == cal.get_sheet_by_name(sheet).to_python()[-1][:2]
    return list(rows[-1])


def _is_plain_xlsx(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"


def _no_plain_copies(folder: Path, since: float) -> None:
    """No decrypted workbook anywhere in the folder (backups too), nor new in the temp dir."""
    for p in folder.rglob("*"):
        if p.is_file() and p.suffix == ".xlsx":
            assert not _is_plain_xlsx(p), p
    tmp = Path(tempfile.gettempdir())
    for p in tmp.iterdir():
        try:
            if p.is_file() and p.stat().st_mtime >= since and _is_plain_xlsx(p):
                pytest.fail(f"a decrypted workbook was left in {p}")
        except OSError:
            continue


def test_log_writes_the_workbook_encrypted_again_with_an_encrypted_backup(
    locked: Path,
) -> None:
    import time

    since = time.time()
    r = run(
        "log",
        "-w",
        locked,
        "--customer",
        "C-0001",
        "--channel",
        "phone",
        "--type",
        "enquiry",
        "--summary",
        "asked about locks",
        "--staff",
        "Ingrid",
    )
    assert r.exit_code == 0, r.output
    assert _last_row(locked, "Interactions")[2] == "C-0001"
    assert "asked about locks" in _last_row(locked, "Interactions")
    backups = list((locked.parent / "backups").iterdir())
    assert len(backups) == 1
    assert _decrypt(backups[0], PASSWORD) == SAMPLE.read_bytes()  # the version before, encrypted
    _no_plain_copies(locked.parent, since)
    with pytest.raises(Exception):  # noqa: B017 - msoffcrypto's own error for a wrong key
        _decrypt(locked, "not the password")


def test_import_and_report_on_an_encrypted_workbook(locked: Path, tmp_path: Path) -> None:
    import time

    since = time.time()
    csv_path = tmp_path / "new.csv"
    csv_path.write_text(
        "name,email,owner,stage\nNina Berg,nina.berg@example.com,Ingrid,prospect\n",
        encoding="utf-8",
    )
    r = run("import", "Customers", csv_path, "-w", locked)
    assert r.exit_code == 0, r.output
    assert _last_row(locked, "Customers")[1] == "Nina Berg"
    r = run(
        "report",
        "-w",
        locked,
        "--as-of",
        "2026-11-30",
        "--format",
        "html,md",
        "--out",
        tmp_path / "reports",
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "reports" / "weekly-2026-W48.html").is_file()
    _no_plain_copies(locked.parent, since)


def test_no_password_says_how_to_give_one(locked: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV)
    before = locked.read_bytes()
    r = run(
        "log",
        "-w",
        locked,
        "--customer",
        "C-0001",
        "--channel",
        "phone",
        "--type",
        "enquiry",
        "--summary",
        "x",
        "--staff",
        "Ingrid",
    )
    assert r.exit_code == 2, r.output
    assert PASSWORD_ENV in r.output and "never takes it on the command line" in r.output
    assert "Traceback" not in r.output
    assert locked.read_bytes() == before
    assert not (locked.parent / "backups").exists()


def test_a_wrong_password_is_a_clear_refusal(locked: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    before = locked.read_bytes()
    for args in (["validate"], ["report", "--as-of", "2026-11-30"]):
        r = run(*args, "-w", locked)
        assert r.exit_code == 2, r.output
        assert "does not open crm.xlsx" in r.output and "Traceback" not in r.output
    assert locked.read_bytes() == before


def test_a_real_excel_encrypted_file_opens_with_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = CORPUS / "xlsx-real" / "poi-protected_passtika.xlsx"
    if not path.is_file():
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    monkeypatch.setenv(PASSWORD_ENV, "tika")
    r = run("validate", "-w", path)
    # Not a CRM workbook, but read: the sheets it lacks are named, not the password.
    assert r.exit_code == 1 and "there is no Customers sheet" in r.output


def test_the_password_is_never_an_argument() -> None:
    r = run("validate", "--help")
    assert "password" not in r.output.lower()
    r = run("validate", "--password", "x", "-w", "crm.xlsx")
    assert r.exit_code == 2 and "No such option" in r.output


def test_a_real_process_reads_and_writes_without_leaving_plain_files(locked: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), PASSWORD_ENV: PASSWORD}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "sheetcrm",
            "customer",
            "edit",
            "C-0001",
            "-w",
            str(locked),
            "--set",
            "segment=sport",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    wb = openpyxl.load_workbook(io.BytesIO(_decrypt(locked, PASSWORD)), read_only=True)
    row = next(wb["Customers"].iter_rows(min_row=2, max_row=2, values_only=True))
    header = next(wb["Customers"].iter_rows(max_row=1, values_only=True))
    assert dict(zip(header, row, strict=False))["segment"] == "sport"
    assert sorted(p.name for p in locked.parent.iterdir() if not p.name.startswith(".")) == [
        "backups",
        "crm.xlsx",
    ]


def test_a_workbook_read_once_with_the_password_is_not_readable_without_it(
    locked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("validate", "-w", locked).exit_code == 0
    monkeypatch.delenv(PASSWORD_ENV)
    r = run("validate", "-w", locked)
    assert r.exit_code == 2 and PASSWORD_ENV in r.output


def test_erase_reaches_into_encrypted_backups(locked: Path) -> None:
    r = run(
        "log",
        "-w",
        locked,
        "--customer",
        "C-0001",
        "--channel",
        "phone",
        "--type",
        "enquiry",
        "--summary",
        "x",
        "--staff",
        "Ingrid",
    )
    assert r.exit_code == 0, r.output
    old = list((locked.parent / "backups").iterdir())
    assert b"Kowalska" in _unzipped(_decrypt(old[0], PASSWORD))
    r = run("customer", "erase", "C-0001", "-w", locked)
    assert r.exit_code == 0, r.output
    backups = list((locked.parent / "backups").iterdir())
    assert old[0] not in backups and len(backups) == 1
    for path in (locked, backups[0]):
        assert not _is_plain_xlsx(path)
        text = _unzipped(_decrypt(path, PASSWORD))
        assert b"Kowalska" not in text and b"961 69 774" not in text


def _unzipped(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return b"".join(zf.read(n) for n in zf.namelist())


def _libreoffice(path: Path, sheet: str, cell: str, password: str | None) -> str:
    python = Path("/usr/bin/python3")
    if shutil.which("soffice") is None or not python.exists():
        pytest.skip("LibreOffice is not installed (make system-deps)")
    if subprocess.run([python, "-c", "import uno"], capture_output=True).returncode:
        pytest.skip("python3-uno is not installed (make system-deps)")
    args = [str(python), str(ROOT / "tests" / "lo_open.py"), str(path), sheet, cell]
    r = subprocess.run(
        args + ([password] if password is not None else []),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_libreoffice_opens_the_written_workbook_with_the_password_only(locked: Path) -> None:
    r = run(
        "log",
        "-w",
        locked,
        "--customer",
        "C-0002",
        "--channel",
        "email",
        "--type",
        "praise",
        "--summary",
        "loved the new saddle",
        "--staff",
        "Ingrid",
    )
    assert r.exit_code == 0, r.output
    plain = _decrypt(locked, PASSWORD)
    rows = list(openpyxl.load_workbook(io.BytesIO(plain), read_only=True)["Interactions"].rows)
    header = [c.value for c in rows[0]]
    cell = f"{openpyxl.utils.get_column_letter(header.index('summary') + 1)}{len(rows)}"
    assert _libreoffice(locked, "Interactions", cell, PASSWORD) == "loved the new saddle"
    assert _libreoffice(locked, "Interactions", cell, None) == "REFUSED"
    assert _libreoffice(locked, "Interactions", cell, "wrong") == "REFUSED"


def test_the_password_can_come_from_the_system_keyring(
    locked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import types

    monkeypatch.delenv(PASSWORD_ENV)
    asked: list[tuple[str, str]] = []

    def get_password(service: str, user: str) -> str | None:
        asked.append((service, user))
        return PASSWORD if (service, user) == ("sheetcrm", "crm.xlsx") else None

    monkeypatch.setitem(sys.modules, "keyring", types.SimpleNamespace(get_password=get_password))
    assert run("validate", "-w", locked).exit_code == 0
    assert ("sheetcrm", "crm.xlsx") in asked

    def no_backend(service: str, user: str) -> str | None:
        raise RuntimeError("No recommended backend was available")

    # A keyring without a backend is ignored: the refusal says how to give the password.
    monkeypatch.setitem(sys.modules, "keyring", types.SimpleNamespace(get_password=no_backend))
    r = run("validate", "-w", locked)
    assert r.exit_code == 2 and PASSWORD_ENV in r.output and "Traceback" not in r.output
