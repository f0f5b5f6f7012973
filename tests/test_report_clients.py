"""The reports in the programs owners open them with: Chromium for HTML, LibreOffice for Word.

Each test renders the hand-made workbook of test_metrics.py, lets the real
client turn the file into a PDF, and reads the PDF's text back (``pdftotext``)
to find the figures the tests there state. Skipped, with the reason, where a
client is not installed (``.ci/run`` installs chromium, libreoffice and
poppler-utils).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sheetcrm.report import render as reports
from sheetcrm.workbook.validation import load
from tests.conftest import AS_OF, write_book
from tests.test_metrics import SHOP, W46

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PDFTOTEXT = shutil.which("pdftotext")


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clients")
    book, _ = load(str(write_book(folder / "shop.xlsx", SHOP)), as_of=AS_OF)
    paths = reports.write_reports(book, W46, AS_OF, ("html", "docx"), out_dir=folder / "out")
    return {p.suffix[1:]: p for p in paths}


def pdf_text(pdf: Path) -> str:
    if PDFTOTEXT is None:
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils)")
    result = subprocess.run(
        [PDFTOTEXT, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    return re.sub(r"[ \t\u00a0\u202f]+", " ", result.stdout)  # one kind of space


def test_chromium_renders_the_html_report(written: dict[str, Path], tmp_path: Path) -> None:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    pdf = tmp_path / "weekly.pdf"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            written["html"].resolve().as_uri(),
        ],
        capture_output=True,
        timeout=180,
        check=True,
    )
    text = pdf_text(pdf)
    assert "Weekly report" in text and "Week 46" in text
    assert re.search(r"INTERACTIONS.*\n(.*\n)?\s*5\b", text)  # the first headline card
    assert "67%" in text  # SLA met on time
    assert "NOK 1,000" in text  # revenue
    assert "Last week NOK 800" in text
    assert "No contact for 167 days" in text
    assert "<script>alert(1)</script>" in text  # shown as text, not run


def test_libreoffice_renders_the_word_report(written: dict[str, Path], tmp_path: Path) -> None:
    if SOFFICE is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-writer)")
    subprocess.run(
        [
            SOFFICE,
            "--headless",
            f"-env:UserInstallation={(tmp_path / 'lo').resolve().as_uri()}",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(written["docx"]),
        ],
        capture_output=True,
        timeout=180,
        check=True,
    )
    text = pdf_text(tmp_path / "weekly-2026-W46.pdf")
    assert "Weekly report 2026-W46" in text
    # (pdftotext may drop the space after an arrow)
    assert re.search(r"Interactions +5 +3 +▲ ?2", text)
    assert re.search(r"Revenue +NOK 1,000 +NOK 800 +▲ ?NOK 200", text)
    assert re.search(r"Customers at risk +3 +2 +▲ ?1", text)
    assert re.search(r"Overall +6 +4 +67%", text)
    assert "No contact for 167 days" in text
    assert "<script>alert(1)</script>" in text
