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
