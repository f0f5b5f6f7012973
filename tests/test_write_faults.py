"""Writes under faults and on the owner's layout: nothing lost, nothing harmed (issue 12)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from click.testing import CliRunner

from sheetcrm.cli import cli
from tests.writer_helpers import contract_tables

AT = "2026-11-20 14:00"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def log(runner: CliRunner, book: Path, *extra: str, summary: str = "Called back"):
    args = ["log", "-w", str(book), "--customer", "C-0001", "--channel", "phone"]
    args += ["--type", "support", "--summary", summary, "--date", AT, *extra]
    result = runner.invoke(cli, args)
    assert "Traceback" not in result.output
    return result


def calamine_rows(path: Path, sheet: str) -> list[list]:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    return book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def table_ref(path: Path, sheet: str) -> str:
    wb = openpyxl.load_workbook(path)
    (table,) = wb[sheet].tables.values()
    return table.ref


# ------------------------------------------------------------------ 12.5 the owner's layout


def test_a_note_below_the_table_stays_and_the_record_goes_right_under_it(runner, tmp_path):
    book = contract_tables(tmp_path / "crm.xlsx", cells={"A8": "Note to self"})
    result = log(runner, book)
    assert result.exit_code == 0, result.output
    rows = calamine_rows(book, "Interactions")
    assert rows[3][0] == "I-0003" and rows[3][7] == "Called back"  # Excel row 4
    assert rows[7][0] == "Note to self" and all(v == "" for v in rows[7][1:])
    assert all(v == "" for r in rows[4:7] for v in r)
    assert table_ref(book, "Interactions") == "A1:L4"  # not widened over the note


@pytest.mark.parametrize(
    ("cells", "merge", "expected"),
    [
        ({"A4": "TOTAL", "J4": "=SUM(J2:J3)"}, None, "Interactions!A4 holds 'TOTAL'"),
        ({"H4": "Note to self"}, None, "Interactions!H4 holds 'Note to self'"),
        ({}, "A4:L4", "Interactions!A4:L4 is merged"),
    ],
)
def test_the_owners_cells_right_under_the_table_are_refused_by_cell(
    runner, tmp_path, cells, merge, expected
):
    book = contract_tables(tmp_path / "crm.xlsx", cells=cells, merge=merge)
    before = sha(book)
    result = log(runner, book)
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "right under the table" in result.output
    assert sha(book) == before
    assert not (tmp_path / "backups").exists()


def test_rows_in_a_fresh_workbook_are_not_bold_like_the_header(runner, tmp_path):
    book = tmp_path / "crm.xlsx"
    assert runner.invoke(cli, ["init", str(book)]).exit_code == 0
    csv = tmp_path / "staff.csv"
    csv.write_text("name,email,department,active\nKari,kari@example.com,Workshop,yes\n")
    result = runner.invoke(cli, ["-w", str(book), "import", "Staff", str(csv)])
    assert result.exit_code == 0, result.output
    ws = openpyxl.load_workbook(book)["Staff"]
    assert ws["A1"].font.b  # the header is bold...
    assert ws["A2"].value == "Kari"
    for cell in ws[2]:
        assert not cell.font.b, cell.coordinate  # ...a record is not
        assert cell.fill.fgColor.rgb in (None, "00000000"), cell.coordinate
    assert ws.row_dimensions[2].height in (None, 15)


# ------------------------------------------------------------------ 12.6 Excel's cell limit


def test_text_over_excels_cell_limit_is_refused_at_write(runner, tmp_path):
    book = contract_tables(tmp_path / "crm.xlsx")
    before = sha(book)
    result = log(runner, book, summary="x" * 32_768)
    assert result.exit_code == 2, result.output
    assert "summary" in result.output and "32,767" in result.output
    assert sha(book) == before
    # the limit itself is fine, counted as Excel counts (an emoji is two)
    assert log(runner, book, summary="x" * 32_767).exit_code == 0
    assert len(calamine_rows(book, "Interactions")[3][7]) == 32_767
    result = log(runner, book, summary="😀" * 16_384)
    assert result.exit_code == 2 and "32,768 characters" in result.output


def test_text_over_excels_cell_limit_is_flagged_by_validate(runner, tmp_path):
    from tests.conftest import VALID, write_book

    records = {k: [dict(r) for r in v] for k, v in VALID.items()}
    records["Customers"][0]["notes"] = "LONG-NOTE"
    records["Interactions"][1]["summary"] = "LONG-SUMMARY"
    book = write_book(tmp_path / "crm.xlsx", records)
    # xlsxwriter and openpyxl cut text at the limit; other tools do not: edit the XML
    long_texts = {
        b"LONG-SUMMARY": b"y" * 40_000,
        b"LONG-NOTE": ("n" * 16_000 + "😀" * 8_400).encode(),  # over in UTF-16 units only
    }
    with zipfile.ZipFile(book) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    for name, data in members.items():
        for old, new in long_texts.items():
            members[name] = data = data.replace(b">" + old + b"<", b">" + new + b"<")
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    result = CliRunner().invoke(
        cli, ["validate", "-w", str(book), "--format", "json", "--as-of", AT]
    )
    import json

    problems = json.loads(result.output)["problems"]
    found = {(p["sheet"], p["cell"]) for p in problems if p["code"] == "text_too_long"}
    assert found == {("Interactions", "H3"), ("Customers", "J2")}
    assert result.exit_code == 1


# ------------------------------------------------------------------ 12.7 _xHHHH_ escaping


@pytest.mark.parametrize(
    "text", ["_x005F_x0041_", "_x0041_", "a_x0041__x0042_b", "_x005f_", "__x0041___", "_xABCD"]
)
def test_text_that_looks_like_an_excel_escape_round_trips(runner, tmp_path, text):
    book = contract_tables(tmp_path / "crm.xlsx")
    result = log(runner, book, summary=text)
    assert result.exit_code == 0, result.output
    assert calamine_rows(book, "Interactions")[3][7] == text
    # openpyxl hands inline text over as stored, _xHHHH_ undecoded: decoding it as Excel
    # does (left to right, each sequence once) must give the text back.
    from openpyxl.utils.escape import unescape

    stored = openpyxl.load_workbook(book)["Interactions"]["H4"].value
    assert unescape(stored) == text


# ------------------------------------------------------------------ 12.2 a full disk


def disk_full(monkeypatch, where: str, after: int) -> None:
    """Files whose path holds ``where`` take ``after`` bytes, then the disk is full."""
    from sheetcrm.workbook import writer

    real = writer._os_write

    def write(fd: int, data) -> int:
        name = os.readlink(f"/proc/self/fd/{fd}")
        if where in name:
            done = os.lseek(fd, 0, os.SEEK_CUR)
            room = max(0, after - done)
            if len(data) > room:
                if room:
                    return real(fd, data[:room])
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)

    monkeypatch.setattr(writer, "_os_write", write)


def whole(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.testzip() is None
    except (zipfile.BadZipFile, OSError):
        return False


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*"))


needs_proc = pytest.mark.skipif(
    not Path("/proc/self/fd").is_dir(), reason="needs /proc to tell which file is written"
)


@needs_proc
def test_a_full_disk_while_keeping_the_backup_leaves_no_partial_file(runner, tmp_path, monkeypatch):
    book = contract_tables(tmp_path / "crm.xlsx")
    for i in range(3):
        assert log(runner, book, summary=f"good {i}").exit_code == 0
    before = sha(book)
    disk_full(monkeypatch, "/backups/", 1000)
    result = log(runner, book, summary="lost")
    assert result.exit_code == 2, result.output
    assert "disk" in result.output and "is full" in result.output
    assert "backup" in result.output and "unexpected" not in result.output
    assert sha(book) == before
    backups = sorted((tmp_path / "backups").iterdir())
    assert len(backups) == 3 and all(whole(b) for b in backups)
    assert leftovers(tmp_path) == [".crm.xlsx.lock"]


@needs_proc
def test_nine_failed_backups_then_a_success_keep_every_good_backup(runner, tmp_path, monkeypatch):
    book = contract_tables(tmp_path / "crm.xlsx")
    for i in range(2):
        assert log(runner, book, summary=f"good {i}").exit_code == 0
    with monkeypatch.context() as m:
        disk_full(m, "/backups/", 3000)
        for i in range(9):
            assert log(runner, book, summary=f"failed {i}").exit_code == 2
    assert log(runner, book, summary="at last").exit_code == 0
    backups = sorted((tmp_path / "backups").iterdir())
    assert len(backups) == 3 and all(whole(b) for b in backups)
    summaries = [r[7] for r in calamine_rows(book, "Interactions")[1:]]
    assert summaries[-3:] == ["good 0", "good 1", "at last"]


def test_rotation_never_drops_a_good_backup_for_a_broken_one(runner, tmp_path):
    book = contract_tables(tmp_path / "crm.xlsx")
    for i in range(2):
        assert log(runner, book, summary=f"good {i}").exit_code == 0
    folder = tmp_path / "backups"
    good = sorted(folder.iterdir())
    # nine cut-short backups, newer than the good ones, as an older sheetcrm left them
    for i in range(9):
        (folder / f"crm-20991231-2359{i:02d}-000000.xlsx").write_bytes(book.read_bytes()[:500])
    assert log(runner, book, summary="now").exit_code == 0  # 12 backups: over the 10 kept
    kept = sorted(folder.iterdir())
    assert set(good) < set(kept) and len(kept) == 3 and all(whole(b) for b in kept)


@needs_proc
def test_a_full_disk_while_writing_the_new_copy_leaves_nothing(runner, tmp_path, monkeypatch):
    book = contract_tables(tmp_path / "crm.xlsx")
    before = sha(book)
    disk_full(monkeypatch, ".crm.xlsx.sheetcrm-", 2000)
    result = log(runner, book)
    assert result.exit_code == 2, result.output
    assert "is full" in result.output and "free some space" in result.output
    assert sha(book) == before and leftovers(tmp_path) == [".crm.xlsx.lock"]
    assert not (tmp_path / "backups").exists()


@contextlib.contextmanager
def small_disk(tmp_path: Path, size: str = "256k") -> Iterator[Path]:
    """A real, small file system (tmpfs); skips where mounting is not allowed."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root")
    where = tmp_path / "disk"
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def run_log(book: Path) -> subprocess.CompletedProcess[str]:
    args = ["log", "-w", str(book), "--customer", "C-0001", "--channel", "phone", "--type",
            "support", "--summary", "Called back", "--date", AT]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    return subprocess.run([sys.executable, "-m", "sheetcrm", *args], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_a_really_full_disk(tmp_path):
    with small_disk(tmp_path) as disk:
        book = contract_tables(disk / "crm.xlsx")
        before = sha(book)
        filler = disk / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        with contextlib.suppress(OSError):  # fill it to the last byte
            while os.write(fd, b"\0" * 512):
                pass
        os.close(fd)
        result = run_log(book)
        assert result.returncode == 2, result.stderr
        assert "is full" in result.stderr and "Traceback" not in result.stderr
        assert "unexpected" not in result.stderr
        assert sha(book) == before
        assert sorted(p.name for p in disk.iterdir()) in (
            [".crm.xlsx.lock", "crm.xlsx", "filler"],
            ["crm.xlsx", "filler"],  # not even the lock file fitted
        )
        filler.unlink()
        result = run_log(book)
        assert result.returncode == 0, result.stderr
        assert len(calamine_rows(book, "Interactions")) == 4


def test_a_read_only_disk_is_said_in_plain_words(tmp_path):
    with small_disk(tmp_path) as disk:
        book = contract_tables(disk / "crm.xlsx")
        before = sha(book)
        done = subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot remount read-only: {done.stderr.decode().strip()}")
        result = run_log(book)
        assert result.returncode == 2, result.stderr
        assert "read-only disk" in result.stderr and "unexpected" not in result.stderr
        assert sha(book) == before


# ------------------------------------------------------------------ 12.15 other refusals


@pytest.mark.parametrize(
    ("option", "value"),
    [("--date", "9999-12-31 23:59"), ("--date", "1800-01-01"), ("--follow-up-on", "3000-01-01")],
)
def test_dates_out_of_range_are_refused_in_plain_words(runner, tmp_path, option, value):
    book = contract_tables(tmp_path / "crm.xlsx")
    before = sha(book)
    args = ["log", "-w", str(book), "--customer", "C-0001", "--channel", "phone", "--type",
            "support", "--summary", "x", option, value]  # fmt: skip
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "outside the dates sheetcrm can use" in result.output
    assert "unexpected" not in result.output and sha(book) == before


def test_log_refuses_a_renamed_header_as_reads_do(runner, tmp_path):
    from tests.conftest import VALID, write_book

    records = {k: [dict(r) for r in v] for k, v in VALID.items()}
    for row in records["Interactions"]:
        row["What was said"] = row.pop("summary")
    book = write_book(tmp_path / "crm.xlsx", records)
    before = sha(book)
    result = log(runner, book)
    assert result.exit_code == 2, result.output
    assert "has no summary column" in result.output and sha(book) == before
    read = runner.invoke(cli, ["followups", "-w", str(book), "--as-of", AT])
    assert read.exit_code == 2 and "summary" in read.output  # the same refusal


def test_log_refuses_a_workbook_without_staff_as_reads_do(runner, tmp_path):
    from tests.conftest import VALID, write_book

    records = {k: v for k, v in VALID.items() if k != "Staff"}
    book = write_book(tmp_path / "crm.xlsx", records)
    before = sha(book)
    result = log(runner, book)
    assert result.exit_code == 2, result.output
    assert "there is no Staff sheet" in result.output and sha(book) == before


# ------------------------------------------------------------------ 12.4 symlinks


def test_a_symlinked_workbook_is_written_through_to_its_target(runner, tmp_path):
    from tests.writer_helpers import make_owner_file

    real = tmp_path / "shared" / "crm.xlsx"
    real.parent.mkdir()
    contract_tables(real)
    link = tmp_path / "crm-link.xlsx"
    link.symlink_to(real)
    result = log(runner, link)
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and link.resolve() == real
    assert len(calamine_rows(real, "Interactions")) == 4
    assert len(list((real.parent / "backups").iterdir())) == 1
    assert not (tmp_path / "backups").exists()
    assert not list(tmp_path.glob(".crm-link*"))  # lock and temp files sit beside the target
    make_owner_file(real, "Jane Doe")  # Excel has the real file open
    before = sha(real)
    result = log(runner, link)
    assert result.exit_code == 3, result.output
    assert "open in Excel by Jane Doe" in result.output and sha(real) == before


# ------------------------------------------------------------------ 12.8 signed workbooks


def signed(book: Path, corpus: Path) -> Path:
    """``book`` with the signature parts of the corpus' signed workbook grafted on."""
    source = corpus / "xlsx-real" / "poi-hello-world-signed.xlsx"
    if not source.is_file():
        pytest.skip(f"{source.name} is not in the corpus")
    with zipfile.ZipFile(source) as zf:
        sig = {n: zf.read(n) for n in zf.namelist() if n.startswith("_xmlsignatures/")}
    with zipfile.ZipFile(book) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    members["_rels/.rels"] = members["_rels/.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rIdSig" Type="http://schemas.openxmlformats.org/package/2006/'
        b'relationships/digital-signature/origin" Target="_xmlsignatures/origin.sigs"/>'
        b"</Relationships>",
    )
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Default Extension="sigs" ContentType="application/vnd.openxmlformats-package.'
        b'digital-signature-origin"/><Override PartName="/_xmlsignatures/sig1.xml" '
        b'ContentType="application/vnd.openxmlformats-package.digital-signature-xmlsignature'
        b'+xml"/></Types>',
    )
    members.update(sig)
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return book


def test_a_signed_workbook_is_refused_unless_forced(runner, tmp_path, corpus):
    book = signed(contract_tables(tmp_path / "crm.xlsx"), corpus)
    before = sha(book)
    result = log(runner, book)
    assert result.exit_code == 2, result.output
    assert "digitally signed" in result.output and "--force" in result.output
    assert sha(book) == before and not (tmp_path / "backups").exists()
    result = runner.invoke(
        cli,
        ["--force", "log", "-w", str(book), "--customer", "C-0001", "--channel", "phone",
         "--type", "support", "--summary", "Signed off", "--date", AT],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(book) as zf:
        names = zf.namelist()
        rels, types = zf.read("_rels/.rels"), zf.read("[Content_Types].xml")
        assert zf.testzip() is None
    assert not [n for n in names if "signature" in n.lower() or n.endswith(".sigs")]
    assert b"digital-signature" not in rels and b"digital-signature" not in types
    assert b"sigs" not in types
    assert openpyxl.load_workbook(book)["Interactions"]["H4"].value == "Signed off"
    assert calamine_rows(book, "Interactions")[3][7] == "Signed off"
    # --force is for that one run: the next signed workbook is refused again
    assert log(runner, signed(contract_tables(tmp_path / "b.xlsx"), corpus)).exit_code == 2


def test_the_signed_corpus_workbook_is_left_alone_unless_forced(runner, tmp_path, corpus):
    source = corpus / "xlsx-real" / "poi-hello-world-signed.xlsx"
    if not source.is_file():
        pytest.skip(f"{source.name} is not in the corpus")
    book = tmp_path / "signed.xlsx"
    shutil.copyfile(source, book)
    result = runner.invoke(cli, ["init", "--into", str(book)])
    assert result.exit_code == 2, result.output
    assert "digitally signed" in result.output and sha(book) == sha(source)
    result = runner.invoke(cli, ["--force", "init", "--into", str(book)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(book) as zf:
        names = zf.namelist()
        assert b"digital-signature" not in zf.read("_rels/.rels")
    assert not [n for n in names if n.startswith("_xmlsignatures/")]
    assert "Interactions" in openpyxl.load_workbook(book).sheetnames


# ------------------------------------------------------------------ 12.14 writers queue

HOLDER = """
import sys, time
from filelock import FileLock
lock = FileLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


@contextlib.contextmanager
def lock_held(book: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the workbook's lock, as a long write would."""
    from sheetcrm.workbook import writer

    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(writer.lock_path(book)),
                             str(seconds)], stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_a_waiting_write_says_so_and_goes_when_its_turn_comes(runner, tmp_path, monkeypatch):
    from sheetcrm.workbook import writer

    monkeypatch.setattr(writer, "WAIT_NOTICE", 0.5)
    book = contract_tables(tmp_path / "crm.xlsx")
    queue = tmp_path / ".crm.xlsx.queue"
    queue.mkdir()
    with lock_held(book, 3.0) as holder:
        # two writes queued before this one (live processes: the holder and this test)
        now = time.time_ns()
        fake = {f"{now - 2000:020d}-{holder.pid}-aaaaaa", f"{now - 1000:020d}-{os.getpid()}-bb"}
        for name in fake:
            (queue / name).touch()
        result = log(runner, book)
    assert result.exit_code == 0, result.output
    assert "waiting for 3 other writes to crm.xlsx to finish" in result.output
    assert len(calamine_rows(book, "Interactions")) == 4
    assert {p.name for p in queue.iterdir()} <= fake  # its own ticket is gone


def test_a_write_stuck_behind_a_lock_gives_up_with_the_true_reason(runner, tmp_path, monkeypatch):
    from sheetcrm.workbook import writer

    monkeypatch.setattr(writer, "LOCK_TIMEOUT", 1.5)
    book = contract_tables(tmp_path / "crm.xlsx")
    before = sha(book)
    with lock_held(book, 60):
        result = log(runner, book)
    assert result.exit_code == 2, result.output
    assert "waited 2 s for a turn to write crm.xlsx" in result.output
    assert "kept crm.xlsx locked the whole time; it may be stuck" in result.output
    assert "nothing was written" in result.output and sha(book) == before


SOAK_WRITER = """
import sys
from click.testing import CliRunner
from sheetcrm.cli import cli

path, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
runner = CliRunner()
failed = 0
for i in range(count):
    result = runner.invoke(cli, ["log", "-w", path, "--customer", "C-0001", "--channel",
                                 "phone", "--type", "support", "--summary", f"{tag} {i}",
                                 "--date", "2026-11-20 14:00"])
    if result.exit_code != 0:
        failed += 1
        print(f"{tag} {i}: exit {result.exit_code}: {result.output}", file=sys.stderr)
sys.exit(1 if failed else 0)
"""


@pytest.mark.slow
def test_sixteen_writers_in_turn_lose_nothing_and_refuse_nothing(tmp_path):
    book = contract_tables(tmp_path / "crm.xlsx")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    writers, count = 16, 25
    procs = [
        subprocess.Popen([sys.executable, "-c", SOAK_WRITER, str(book), f"w{n}", str(count)],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in range(writers)
    ]  # fmt: skip
    for proc in procs:
        _out, err = proc.communicate(timeout=1800)
        assert proc.returncode == 0, err[-2000:]
    rows = calamine_rows(book, "Interactions")[1:]
    assert len(rows) == 2 + writers * count
    ids = [r[0] for r in rows]
    assert ids == [f"I-{n:04d}" for n in range(1, len(rows) + 1)]
    for n in range(writers):
        assert sorted(r[7] for r in rows if str(r[7]).startswith(f"w{n} ")) == sorted(
            f"w{n} {i}" for i in range(count)
        )
    assert not list((tmp_path / ".crm.xlsx.queue").iterdir())


# ------------------------------------------------------------------ issue 14: sidecar files


def test_sidecar_files_are_hidden_on_windows(runner, tmp_path, monkeypatch):
    """On Windows each dot-named file sheetcrm makes gets the hidden attribute."""
    import ctypes

    from sheetcrm import files

    hidden: list[str] = []

    class Kernel32:
        def GetFileAttributesW(self, name: str) -> int:
            return 0x80 if os.path.exists(name) else -1

        def SetFileAttributesW(self, name: str, attrs: int) -> int:
            assert attrs & files.FILE_ATTRIBUTE_HIDDEN
            hidden.append(Path(name).name)
            return 1

    monkeypatch.setattr(files, "WINDOWS", True)
    monkeypatch.setattr(ctypes, "windll", type("WinDLL", (), {"kernel32": Kernel32()})(),
                        raising=False)  # fmt: skip
    book = contract_tables(tmp_path / "crm.xlsx")
    assert log(runner, book).exit_code == 0
    assert ".crm.xlsx.lock" in hidden
    assert any(n.startswith(".crm.xlsx.sheetcrm-") and n.endswith(".tmp") for n in hidden)
    assert any(n.startswith(".crm-") and n.endswith(".part") for n in hidden)  # backup aside
    assert all(n.startswith(".") for n in hidden)
    hidden.clear()
    files.write_atomic(tmp_path / ".crm.xlsx.sent.json", b"{}")  # the sent log's way
    files.write_atomic(tmp_path / "report.html", b"<p>")
    assert len(hidden) == 1 and hidden[0].startswith("..crm.xlsx.sent.json.")


@pytest.mark.parametrize("command", ["overdue", "log"])
def test_a_command_reading_few_sheets_still_refuses_a_missing_one(runner, tmp_path, command):
    """overdue reads Complaints, log reads Customers: neither reads Interactions, and
    each still refuses a workbook that has none (the rule every command keeps)."""
    from tests.conftest import VALID, write_book

    book = write_book(
        tmp_path / "crm.xlsx", {k: v for k, v in VALID.items() if k != "Interactions"}
    )
    before = sha(book)
    if command == "log":
        result = log(runner, book)
    else:
        result = runner.invoke(cli, ["overdue", "-w", str(book), "--as-of", AT])
    assert result.exit_code == 2, result.output
    assert "there is no Interactions sheet" in result.output and sha(book) == before
