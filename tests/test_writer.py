"""sheetcrm.workbook.writer: lock, write aside, verify, atomic replace, backups, Excel detection."""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import python_calamine as pc
from filelock import FileLock

from sheetcrm.errors import SheetCRMError, WorkbookOpenError
from sheetcrm.workbook import writer
from tests.writer_helpers import ROWS, build_workbook, make_owner_file, parts

ROOT = Path(__file__).resolve().parent.parent
LAST = len(ROWS) + 1
ROW = {"interaction_id": "I-0004", "date": dt.datetime(2026, 11, 5, 8, 15), "summary": "Hi"}


@pytest.fixture
def book(tmp_path: Path) -> Path:
    folder = tmp_path / "shop"
    folder.mkdir()
    return build_workbook(folder / "crm.xlsx")


def _ids(path: Path) -> list[object]:
    rows = pc.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Interactions").to_python()
    return [r[0] for r in rows[1:] if r[0] != ""]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_edit_appends_updates_and_keeps_a_backup(book: Path) -> None:
    before = book.read_bytes()
    with writer.edit(book) as tx:
        assert tx.append("Interactions", [ROW]) == [LAST + 1]
        tx.update("Interactions", 2, {"outcome": "resolved"})
    assert tx.written and tx.appended == {"Interactions": [LAST + 1]}
    assert _ids(book) == ["I-0001", "I-0002", "I-0003", "I-0004"]
    rows = pc.CalamineWorkbook.from_path(str(book)).get_sheet_by_name("Interactions").to_python()
    assert rows[1][8] == "resolved" and rows[LAST][1] == dt.datetime(2026, 11, 5, 8, 15)
    backups = list((book.parent / "backups").iterdir())
    assert len(backups) == 1 and backups[0].read_bytes() == before
    assert backups[0].name.startswith("crm-") and backups[0].suffix == ".xlsx"
    assert _leftovers(book.parent) == []
    # the untouched parts are byte-identical through the whole transaction
    old, new = parts(backups[0]), parts(book)
    assert {n for n in old if old[n] != new[n]} == {
        "xl/worksheets/sheet1.xml",
        "xl/tables/table1.xml",
    }


def test_nothing_to_write_writes_nothing(book: Path) -> None:
    st = book.stat()
    with writer.edit(book) as tx:
        tx.package.headers("Interactions")
    assert not tx.written and book.stat().st_mtime_ns == st.st_mtime_ns
    assert not (book.parent / "backups").exists()


def test_backups_rotate(book: Path) -> None:
    for i in range(5):
        with writer.edit(book, backups_to_keep=3) as tx:
            tx.append("Interactions", [{**ROW, "interaction_id": f"I-10{i}"}])
    backups = sorted((book.parent / "backups").iterdir())
    assert len(backups) == 3
    assert _ids(backups[-1])[-1] == "I-103" and _ids(backups[0])[-1] == "I-101"
    with writer.edit(book, backups_to_keep=0) as tx:
        tx.append("Interactions", [ROW])
    assert len(list((book.parent / "backups").iterdir())) == 3


def test_file_changed_meanwhile_is_refused(book: Path) -> None:
    other = build_workbook(book.parent / "other.xlsx")
    with (
        pytest.raises(SheetCRMError, match="changed while sheetcrm was writing"),
        writer.edit(book) as tx,
    ):
        tx.append("Interactions", [ROW])
        shutil.copyfile(other, book)  # the owner saved from Excel meanwhile
        os.utime(book, ns=(1, 1))
    assert book.read_bytes() == other.read_bytes()
    assert _leftovers(book.parent) == []


def test_exception_inside_writes_nothing(book: Path) -> None:
    before = book.read_bytes()
    with pytest.raises(RuntimeError), writer.edit(book) as tx:
        tx.append("Interactions", [ROW])
        raise RuntimeError("boom")
    assert book.read_bytes() == before and _leftovers(book.parent) == []
    assert not (book.parent / "backups").exists()


def test_control_characters_write_nothing(book: Path) -> None:
    before = book.read_bytes()
    with pytest.raises(SheetCRMError, match="U\\+0007"), writer.edit(book) as tx:
        tx.append("Interactions", [ROW])
        tx.append("Interactions", [{**ROW, "summary": "ring \x07"}])
    assert book.read_bytes() == before and _leftovers(book.parent) == []


def test_verification_failure_writes_nothing(book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = book.read_bytes()
    monkeypatch.setattr(writer, "_same", lambda expected, got: False)
    with pytest.raises(SheetCRMError, match="checked what it wrote"), writer.edit(book) as tx:
        tx.append("Interactions", [ROW])
    assert book.read_bytes() == before and _leftovers(book.parent) == []


def test_big_sheet_verification(book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer, "FULL_VERIFY_LIMIT", 0)  # take the path of 20 MB sheets
    with writer.edit(book) as tx:
        tx.append("Interactions", [ROW, {**ROW, "interaction_id": "I-0005", "satisfaction": 5}])
        tx.update("Interactions", 3, {"summary": "=changed"})
    assert _ids(book)[-2:] == ["I-0004", "I-0005"]
    monkeypatch.setattr(writer, "_same", lambda expected, got: False)
    with pytest.raises(SheetCRMError, match="checked what it wrote"), writer.edit(book) as tx:
        tx.append("Interactions", [ROW])


def test_an_append_is_proved_by_its_own_rows(book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """New rows under the last are read back alone (the rest is compared byte for byte),
    so a write's proof is proportional to what it wrote; an edit still re-reads the sheet."""

    def whole_sheet(*args: object) -> None:
        raise AssertionError("re-read the whole sheet")

    monkeypatch.setattr(writer, "_verify_full", whole_sheet)
    with writer.edit(book) as tx:
        tx.append("Interactions", [ROW])
    assert _ids(book)[-1] == "I-0004"
    before = book.read_bytes()
    with pytest.raises(AssertionError, match="whole sheet"), writer.edit(book) as tx:
        tx.update("Interactions", 3, {"summary": "changed"})
    assert book.read_bytes() == before


def test_an_append_notices_a_changed_row_above(book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the append proof relies on: every byte above the new rows is the original's."""
    before = book.read_bytes()
    original = writer.Package.original

    def altered(self: writer.Package, part: str) -> bytes | None:
        data = original(self, part)
        if data is None or b'<c r="B2"' not in data:
            return data
        return data.replace(b'<c r="B2"', b'<c  r="B2"', 1)  # one byte more in row 2

    monkeypatch.setattr(writer.Package, "original", altered)
    with pytest.raises(SheetCRMError, match="above row"), writer.edit(book) as tx:
        tx.append("Interactions", [{**ROW, "interaction_id": "I-0005"}])
    assert book.read_bytes() == before and _leftovers(book.parent) == []


@pytest.mark.parametrize("long_form", [False, True], ids=["~$name", "~$ame"])
def test_open_in_excel_is_refused(book: Path, long_form: bool) -> None:
    before = book.read_bytes()
    owner = make_owner_file(book, "Jane Doe", long_form=long_form)
    with pytest.raises(WorkbookOpenError) as err, writer.edit(book) as tx:
        tx.append("Interactions", [ROW])
    message = str(err.value)
    assert err.value.exit_code == 3 and err.value.problem.code == "workbook_open"
    assert "crm.xlsx is open in Excel by Jane Doe since" in message
    assert "close it in Excel" in message
    when = dt.datetime.fromtimestamp(owner.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    assert when in message
    assert book.read_bytes() == before


def test_opened_in_excel_while_writing(book: Path) -> None:
    before = book.read_bytes()
    with pytest.raises(WorkbookOpenError, match="Åse Ødegård"), writer.edit(book) as tx:
        tx.append("Interactions", [ROW])
        make_owner_file(book, "Åse Ødegård")
    assert book.read_bytes() == before and _leftovers(book.parent) == []


def test_stale_owner_file(book: Path) -> None:
    make_owner_file(book, "Ola", age_hours=30)
    with pytest.raises(WorkbookOpenError) as err:
        writer.check_not_open(book)
    assert "may be left over from a crash" in str(err.value)
    assert "delete ~$crm.xlsx if nobody has the file open" in str(err.value)


def test_lock_timeout(book: Path) -> None:
    with FileLock(str(writer.lock_path(book))):
        started = time.monotonic()
        with (
            pytest.raises(SheetCRMError, match="another sheetcrm command"),
            writer.edit(book, lock_timeout=0.3),
        ):
            pass
        assert time.monotonic() - started < 5


def test_missing_or_broken_workbook(tmp_path: Path) -> None:
    with pytest.raises(SheetCRMError, match="does not exist"), writer.edit(tmp_path / "x.xlsx"):
        pass
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"this is not a zip")
    with pytest.raises(SheetCRMError), writer.edit(bad):
        pass
    assert bad.read_bytes() == b"this is not a zip"


# ---------------------------------------------------------------- other processes

APPENDER = textwrap.dedent(
    """
    import sys, datetime as dt
    import python_calamine as pc
    from sheetcrm.workbook import writer

    path, count, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    for i in range(count):
        with writer.edit(path, backups_to_keep=2) as tx:
            wb = pc.CalamineWorkbook.from_path(path)
            rows = wb.get_sheet_by_name("Interactions").to_python()
            wb.close()
            ids = [int(r[0][2:]) for r in rows[1:] if str(r[0]).startswith("I-")]
            new_id = f"I-{max(ids) + 1:04d}"
            tx.append("Interactions", [{"interaction_id": new_id, "staff": tag,
                                        "summary": f"{tag} {i}", "date": dt.datetime.now()}])
        print(new_id, flush=True)
    """
)


def _run(path: Path, count: int, tag: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", APPENDER, str(path), str(count), tag],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize(
    ("name", "words"),
    [("poi-poc-xmlbomb.xlsx", "XML bomb"), ("poi-protected_passtika.xlsx", "password")],
)
def test_unsafe_files_are_refused_as_reads_refuse_them(
    corpus: Path, tmp_path: Path, name: str, words: str
) -> None:
    path = tmp_path / name
    shutil.copy(corpus / "xlsx-real" / name, path)
    before = path.read_bytes()
    with pytest.raises(SheetCRMError) as refused, writer.edit(path) as tx:
        tx.append("Interactions", [ROW])
    assert words in str(refused.value.problems[0])
    assert path.read_bytes() == before and _leftovers(tmp_path) == []


@pytest.mark.slow
def test_killed_writer_never_breaks_the_workbook(book: Path) -> None:
    rng = random.Random(20261123)
    for _ in range(30):
        proc = _run(book, 1000, "killer")
        time.sleep(rng.uniform(0.25, 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ids = _ids(book)  # opens, every time
        assert ids == [f"I-{n:04d}" for n in range(1, len(ids) + 1)]
        assert ids[:3] == ["I-0001", "I-0002", "I-0003"]
    assert len(_ids(book)) > 3  # some of the runs got their rows in
    with writer.edit(book) as tx:  # the next write clears what the killed ones left
        tx.update("Interactions", 2, {"outcome": "resolved"})
    assert _leftovers(book.parent) == []


def test_the_next_write_removes_temp_files_of_killed_writes(book: Path) -> None:
    killed = book.parent / ".crm.xlsx.sheetcrm-4242-0badc0de.tmp"
    killed.write_bytes(b"half a workbook")
    other = book.parent / ".crm-old.xlsx.sheetcrm-4242-0badc0de.tmp"  # another workbook's
    other.write_bytes(b"not ours")
    with writer.edit(book) as tx:
        tx.append("Interactions", [ROW])
    assert _leftovers(book.parent) == [other.name]
    assert _ids(book)[-1] == "I-0004"


@pytest.mark.slow
def test_concurrent_writers_lose_nothing(book: Path) -> None:
    procs = [_run(book, 25, f"p{n}") for n in range(8)]
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    ids = _ids(book)
    assert len(ids) == 3 + 200 and len(set(ids)) == len(ids)
    assert ids == [f"I-{n:04d}" for n in range(1, 204)]
    rows = pc.CalamineWorkbook.from_path(str(book)).get_sheet_by_name("Interactions").to_python()
    for n in range(8):
        assert sorted(r[7] for r in rows if r[3] == f"p{n}") == sorted(
            f"p{n} {i}" for i in range(25)
        )


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed"
)
def test_libreoffice_reads_the_new_row(book: Path, tmp_path: Path) -> None:
    text = "Ringte tilbake – «kvittering» 😀 =1+1"
    with writer.edit(book) as tx:
        tx.append("Interactions", [{**ROW, "summary": text}])
    out = tmp_path / "csv"
    profile = tmp_path / "lo-profile"
    subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to",
         "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(out), str(book)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    csv_text = (out / "crm.csv").read_text("utf-8")
    assert text in csv_text and "I-0004" in csv_text and "I-0003" in csv_text


def test_big_parts_are_unpacked_in_one_buffer_and_read_again(
    book: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memory-saving path for big parts (a million-row sheet): unpacked by zlib,
    CRC checked, and the original read again from the file for the proof."""
    from sheetcrm.xlsx import zipstore

    monkeypatch.setattr(zipstore, "_BIG_MEMBER", 64)  # every sheet part counts as big
    monkeypatch.setattr(zipstore, "_KEEP_ORIGINAL", 64)  # and is read again for the proof
    with writer.edit(book) as tx:
        tx.append("Interactions", [ROW])
    assert _ids(book)[-1] == "I-0004"
    # A byte changed inside the stored sheet: refused as damaged, nothing written.
    import zipfile

    data = bytearray(book.read_bytes())
    with zipfile.ZipFile(book) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    book.write_bytes(bytes(data))
    before = book.read_bytes()
    with pytest.raises(SheetCRMError, match=r"damaged|sheet1"), writer.edit(book) as tx:
        tx.append("Interactions", [{**ROW, "interaction_id": "I-0005"}])
    assert book.read_bytes() == before
