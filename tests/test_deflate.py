"""Big members deflated in pieces on every core: one ordinary stream, proved piece by piece.

The pieces path runs for sheets of tens of megabytes (the bench's 100,000 rows);
here the thresholds are lowered so that a small workbook takes it, and the result
is read by zipfile (CRC), calamine, openpyxl and LibreOffice.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest
import python_calamine as pc

from sheetcrm.errors import SheetCRMError
from sheetcrm.workbook import writer
from sheetcrm.xlsx import deflate
from tests.test_writer import ROW, _ids
from tests.writer_helpers import build_workbook


def _text(n: int) -> bytes:
    rng = random.Random(7)
    words = [b"<row>", b"<c r=", b"Kari", b"Nordmann", b"\xc3\xa6\xc3\xb8", b"12", b"</c>"]
    return b" ".join(rng.choice(words) for _ in range(n))[:n]


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 3 * 4096 + 17])
def test_pieces_laid_end_to_end_are_one_stream_of_the_data(monkeypatch, size):
    monkeypatch.setattr(deflate, "PIECE", 4096)
    data = _text(size)
    pieces: list[bytes] = []
    packed = deflate.deflate(data, pieces.append)
    stored = b"".join(pieces)
    assert zlib.decompress(stored, -zlib.MAX_WBITS) == data  # what any unzip does
    assert packed.crc == zlib.crc32(data) and sum(packed.raw_sizes) == len(data)
    assert deflate.unpacks_to(stored, packed.sizes, packed.raw_sizes, data)


@pytest.mark.parametrize("size", [0, 1, 70_000, 1_500_000])
def test_a_stream_zlib_made_unpacks_in_one_step_to_its_bytes_and_crc(size):
    """deflate.unpack and deflate.crc32 (ISA-L) give exactly what zlib gives, on streams
    zlib made (what Excel and other tools write)."""
    data = _text(size)
    for level in (1, 6, 9):
        packer = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
        stored = packer.compress(data) + packer.flush()
        assert deflate.unpack(stored, len(data)) == data
    assert deflate.crc32(data) == zlib.crc32(data)


def test_a_member_that_claims_less_than_it_holds_is_not_unpacked_whole():
    """A crafted zip may record a small size for a member that unpacks to gigabytes: the
    one-step unpack stops one byte past the size recorded (the caller's length check then
    refuses the member), and a damaged stream raises zlib.error like zlib's own."""
    data = b"A" * 50_000_000
    stored = zlib.compress(data, 9)[2:-4]  # raw deflate: 50 MB in about 50 KB
    out = deflate.unpack(stored, 1_000_000)
    assert len(out) == 1_000_001
    with pytest.raises(zlib.error):
        deflate.unpack(b"\xff" * 64, 1000)
    with pytest.raises(zlib.error):
        deflate.unpack(stored[: len(stored) // 2] + b"\xff" * 64, len(data))


def test_a_big_member_claiming_a_smaller_size_is_refused_as_damaged(tmp_path):
    """Through the package's unpacking: a sheet of a megabyte or more whose recorded size
    is smaller than what it holds is refused (zipfile.BadZipFile, which every read tells
    as the file's damage, naming the part)."""
    from sheetcrm.xlsx import zipstore

    book = tmp_path / "crm.xlsx"
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", _text(3_000_000))
    data = bytearray(book.read_bytes())
    with zipfile.ZipFile(book) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    # the size in the central directory (offset 24 of its entry) made 2 MB smaller
    entry = data.rindex(b"PK\x01\x02")
    data[entry + 24 : entry + 28] = (info.file_size - 2_000_000).to_bytes(4, "little")
    book.write_bytes(bytes(data))
    with zipfile.ZipFile(book) as zf, pytest.raises(zipfile.BadZipFile):
        zipstore._unpack(zf, "xl/worksheets/sheet1.xml")


def test_the_proof_finds_any_change_to_the_stored_bytes(monkeypatch):
    monkeypatch.setattr(deflate, "PIECE", 4096)
    data = _text(5 * 4096 + 100)
    pieces: list[bytes] = []
    packed = deflate.deflate(data, pieces.append)
    stored = b"".join(pieces)

    def proved(blob: bytes, sizes=packed.sizes, raw=packed.raw_sizes, meant=data) -> bool:
        return deflate.unpacks_to(blob, sizes, raw, meant)

    for at in range(0, len(stored), max(1, len(stored) // 40)):
        damaged = bytearray(stored)
        damaged[at] ^= 0x41
        assert not proved(bytes(damaged)), at
    assert not proved(stored[:-1])
    assert not proved(stored, meant=data[:-1] + b"!")
    # a piece that ends the stream early: a reader from the start would stop there
    packer = zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS)
    final_first = packer.compress(data[:4096]) + packer.flush()
    blob = final_first + b"".join(pieces[1:])
    sizes = [len(final_first), *packed.sizes[1:]]
    assert not proved(blob, sizes=sizes)
    assert not proved(stored, sizes=[*packed.sizes[:-2], packed.sizes[-2] + packed.sizes[-1]])


@pytest.fixture
def small_pieces(monkeypatch):
    """Every changed member goes through the pieces path, in pieces of 4 KB."""
    monkeypatch.setattr(deflate, "IN_PIECES_FROM", 0)
    monkeypatch.setattr(deflate, "PIECE", 4096)


def _book(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "crm.xlsx"
    build_workbook(path)
    with writer.edit(path) as tx:
        tx.append(
            "Interactions",
            [
                {**ROW, "interaction_id": f"I-{n:05d}", "summary": os.urandom(40).hex()}
                for n in range(10, 10 + rows)
            ],
        )
    return path


def test_a_workbook_written_in_pieces_reads_the_same_everywhere(tmp_path, small_pieces):
    book = _book(tmp_path, 600)  # a sheet of several pieces
    with zipfile.ZipFile(book) as zf:
        assert zf.testzip() is None
        size = zf.getinfo("xl/worksheets/sheet1.xml").file_size
    assert size > 4 * 4096
    ids = _ids(book)
    assert ids[-1] == "I-00609" and len(ids) == 603
    rows = pc.CalamineWorkbook.from_path(str(book)).get_sheet_by_name("Interactions").to_python()
    sheet = openpyxl.load_workbook(book, read_only=True)["Interactions"]
    assert [list(r) for r in sheet.iter_rows(values_only=True)][-1][0] == rows[-1][0] == ids[-1]


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed"
)
def test_libreoffice_reads_a_sheet_written_in_pieces(tmp_path, small_pieces):
    book = _book(tmp_path, 600)
    out, profile = tmp_path / "csv", tmp_path / "lo-profile"
    subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to",
         "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(out), str(book)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    lines = (out / "crm.csv").read_text("utf-8").splitlines()
    assert len(lines) == 604 and lines[-1].startswith("I-00609,")


def test_a_member_that_does_not_unpack_to_what_was_meant_is_not_put_in_place(
    tmp_path, small_pieces, monkeypatch
):
    book = _book(tmp_path, 50)
    before = book.read_bytes()
    real = deflate.deflate

    def bad(data: bytes, write, level: int = 1) -> deflate.Deflated:  # type: ignore[no-untyped-def]
        pieces: list[bytes] = []
        packed = real(data, pieces.append, level)
        write(pieces[0][:-1] + bytes([pieces[0][-1] ^ 1]))  # the last byte of the first piece
        for piece in pieces[1:]:
            write(piece)
        return packed

    monkeypatch.setattr(deflate, "deflate", bad)
    with pytest.raises(SheetCRMError, match="differs from what was meant"), writer.edit(book) as tx:
        tx.append("Interactions", [{**ROW, "interaction_id": "I-99999"}])
    assert book.read_bytes() == before
