"""Files that are not workbooks, or not safe ones: one clear line, exit 2, never a traceback."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from sheetcrm.cli import cli


def run(runner, path):
    result = runner.invoke(cli, ["validate", "-w", str(path)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


def assert_refused(result, *words):
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith("Error: ")
    for word in words:
        assert word in result.stderr, result.stderr


def test_missing_file(runner, tmp_path):
    assert_refused(run(runner, tmp_path / "nope.xlsx"), "nope.xlsx does not exist", "sheetcrm init")


def test_folder(runner, tmp_path):
    assert_refused(run(runner, tmp_path), "is a folder")


def test_csv_renamed(runner, tmp_path):
    path = tmp_path / "customers.xlsx"
    path.write_text("customer_id,name\nC-1,Jane\n")
    assert_refused(run(runner, path), "looks like a text or CSV file", "sheetcrm import")


def test_old_xls_renamed(runner, tmp_path):
    path = tmp_path / "old.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))
    assert_refused(run(runner, path), "Excel 97-2003", "Save As")


def test_random_bytes(runner, tmp_path):
    path = tmp_path / "noise.xlsx"
    path.write_bytes(bytes(range(256)) * 8)
    assert_refused(run(runner, path), "is not an Excel workbook")


def test_empty_file(runner, tmp_path):
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    assert_refused(run(runner, path), "is empty")


def test_truncated_zip(runner, make_book, tmp_path):
    good = make_book()
    data = good.read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(data[: len(data) // 2])
    assert_refused(run(runner, path), "damaged or incomplete", "backup")


def test_zip_that_is_not_a_workbook(runner, tmp_path):
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "hi")
    assert_refused(run(runner, path), "zip file but not an Excel workbook")


def test_word_document_renamed_is_not_a_workbook(runner, tmp_path):
    """A .docx has the same package layout; its main part is not a workbook."""
    path = tmp_path / "letter.xlsx"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}" Target="word/document.xml"/></Relationships>',
        )
        zf.writestr(
            "word/document.xml",
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>',
        )
    assert_refused(run(runner, path), "letter.xlsx is an Office file but not an Excel workbook")


def test_zip_encrypted_members(runner, make_book):
    """A zip password (not Excel's own encryption) on a part: named, not a crash."""
    path = make_book()
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        first = zf.infolist()[0]
    local = first.header_offset
    data[local + 6] |= 1  # general purpose flag bit 0: encrypted
    central = data.find(b"PK\x01\x02")
    data[central + 8] |= 1
    path.write_bytes(bytes(data))
    assert_refused(run(runner, path), "locked with a zip password", first.filename)


def test_encrypted_workbook(runner, corpus):
    result = run(runner, corpus / "xlsx-real" / "poi-protected_passtika.xlsx")
    assert_refused(result, "protected with a password", "Encrypt with Password")


def test_xml_bomb(runner, corpus):
    assert_refused(run(runner, corpus / "xlsx-real" / "poi-poc-xmlbomb.xlsx"), "XML bomb")


def test_oversized_part_is_refused_before_unpacking(runner, make_book, tmp_path):
    good = make_book()
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<sheetData>", b"<sheetData>" + b" " * (60 * 1024**2))
            dst.writestr(info.filename, data)
    assert_refused(run(runner, path), "zip bomb", "sheet1.xml")


def _corpus_files() -> list[Path]:
    from tests.conftest import CORPUS

    folder = CORPUS / "xlsx-real"
    return sorted(p for p in folder.glob("*.xls*")) if folder.is_dir() else []


@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: p.name)
def test_every_real_workbook_validates_or_gets_a_clear_message(runner, path):
    result = runner.invoke(cli, ["validate", "-w", str(path), "--format", "json"])
    assert "Traceback" not in result.output
    assert result.exit_code in (1, 2), result.output
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert lines[0].startswith("Error: ") and path.name in lines[0]
        assert all(line.startswith("  hint: ") for line in lines[1:])
    else:
        data = json.loads(result.stdout)
        missing = {p["sheet"] for p in data["problems"] if p["code"] == "missing_sheet"}
        assert {"Customers", "Interactions", "Complaints", "Staff"} <= missing


def test_corpus_is_present_in_ci():
    import os

    if os.environ.get("CI"):
        assert len(_corpus_files()) >= 40, "the shared corpus must be beside the checkout in CI"
