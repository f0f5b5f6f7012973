"""A command imports only what its own path uses: ``--help`` is not slowed by pandas.

Each case is a real ``python -X importtime -m sheetcrm ...`` process; the modules it
imported are read from what ``-X importtime`` prints, so an import anywhere (at the top
of a module or inside a function) counts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sheetcrm

ROOT = Path(sheetcrm.__file__).resolve().parent.parent

# Heavy libraries that only the report, the mail, the value models or a write need.
HEAVY = (
    "scipy",
    "matplotlib",
    "openpyxl",
    "docxtpl",
    "docx",
    "jinja2",
    "babel",
    "imap_tools",
    "mailparser_reply",
    "msoffcrypto",
    "css_inline",
    "premailer",
    "xlsxwriter",
    "smtplib",
)


def imported(*argv: str, cwd: Path) -> set[str]:
    """The top-level names of every module ``sheetcrm argv...`` imported, in a fresh process."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    for name in [k for k in env if k.startswith("SHEETCRM_")]:
        del env[name]  # no workbook, no mail server from the environment
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sheetcrm", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
    )
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line
                names.add(name)
    assert "sheetcrm.cli" in names, proc.stderr[-2000:]  # it did run, and was measured
    return names


def tops(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def test_the_reader_sees_the_imports_of_a_command_that_uses_them(tmp_path: Path) -> None:
    """The check itself: ``report`` does import jinja2 and babel, so their absence elsewhere
    means something."""
    book = tmp_path / "crm.xlsx"
    from sheetcrm.workbook.sample import write_sample_workbook

    write_sample_workbook(book)
    found = tops(
        imported(
            "report",
            "-w",
            str(book),
            "--as-of",
            "2026-11-20 15:00",
            "--format",
            "md",
            "--out",
            str(tmp_path / "out"),
            cwd=tmp_path,
        )
    )
    assert {"jinja2", "babel", "pandas"} <= found


@pytest.mark.parametrize("argv", [["--help"], ["overdue", "--help"], ["log", "--help"]])
def test_help_imports_nothing_heavy(tmp_path: Path, argv: list[str]) -> None:
    found = tops(imported(*argv, cwd=tmp_path))
    assert found.isdisjoint({*HEAVY, "pandas", "numpy", "lxml", "python_calamine", "filelock"})


def test_validate_imports_nothing_it_does_not_use(sample_book: Path, tmp_path: Path) -> None:
    found = tops(
        imported("validate", "-w", str(sample_book), "--as-of", "2026-11-20", cwd=tmp_path)
    )
    assert found.isdisjoint(HEAVY), sorted(found & set(HEAVY))


def test_a_write_that_queues_a_notice_imports_no_report(sample_book: Path, tmp_path: Path) -> None:
    """`complaint open --notify` asks the mail side for a notice id; the report's templates,
    charts and figures are not needed for that."""
    found = imported(
        "complaint", "open", "-w", str(sample_book), "--customer", "C-0001",
        "--severity", "high", "--summary", "Charged twice", "--notify", "Finance",
        cwd=tmp_path,
    )  # fmt: skip
    assert "sheetcrm.delivery.outbox" in found  # it did take the notice path
    assert not any(n.startswith("sheetcrm.report") for n in found), sorted(found)
    heavy = set(HEAVY) - {"smtplib"}  # the mail side's own (cheap): it keeps the sent log
    assert tops(found).isdisjoint(heavy), sorted(tops(found) & heavy)


def test_overdue_imports_neither_the_value_models_nor_the_report(
    sample_book: Path, tmp_path: Path
) -> None:
    argv = ["overdue", "-w", str(sample_book), "--as-of", "2026-11-20 15:00"]
    found = imported(*argv, cwd=tmp_path)
    assert "sheetcrm.rules.sla" in found
    assert not {"sheetcrm.rules.value", "sheetcrm.rules.followups"} & found
    assert tops(found).isdisjoint(HEAVY), sorted(tops(found) & set(HEAVY))


# Checking a workbook and adding a row to it work on plain typed columns: pandas
# (0.3 s to import) and numpy are for the computations of reports and follow-ups.
PANDAS_FREE = {
    "validate": ["validate", "--as-of", "2026-11-20"],
    "log": ["log", "--customer", "C-0001", "--channel", "phone", "--type", "support",
            "--summary", "Asked about the winter check", "--date", "2026-11-20 14:00"],
    "customer add": ["customer", "add", "--name", "Ny Kunde", "--email", "ny@example.com",
                     "--owner", "Ingrid"],
    "complaint open": ["complaint", "open", "--customer", "C-0001", "--summary",
                       "Brakes squeal", "--severity", "normal", "--at", "2026-11-20 14:00"],
    "sale": ["sale", "--customer", "C-0001", "--amount", "450", "--at", "2026-11-20 14:00"],
}  # fmt: skip


@pytest.mark.parametrize("command", PANDAS_FREE)
def test_checking_and_adding_rows_import_neither_pandas_nor_numpy(
    command: str, sample_book: Path, tmp_path: Path
) -> None:
    argv = [*PANDAS_FREE[command], "-w", str(sample_book)]
    before = sample_book.read_bytes()
    found = tops(imported(*argv, cwd=tmp_path))
    assert found.isdisjoint({"pandas", "numpy"}), sorted(found & {"pandas", "numpy"})
    if command != "validate":  # the write happened (imports that fail would not get here)
        assert sample_book.read_bytes() != before


@given(st.text(), st.sampled_from([None, {'"': "&quot;"}, {'"': "&quot;", "\n": "&#10;"}]))
def test_the_xlsx_layers_own_escape_is_xml_sax_saxutils_escape(text: str, entities) -> None:  # type: ignore[no-untyped-def]
    """Kept in the xlsx layer so a read does not import urllib, http, email and ssl."""
    from xml.sax.saxutils import escape

    from sheetcrm.xlsx.markup import xml_escape

    assert xml_escape(text, entities) == escape(text, entities or {})


def test_a_library_imported_meanwhile_is_there_after_and_a_failure_is_silent() -> None:
    """import_meanwhile: the command finds the library imported; one that cannot be
    imported leaves no trace (the command's own import reports it, in words); settle()
    leaves no import thread running (before a fork)."""
    code = (
        "import sys, threading\n"
        "from sheetcrm.background import import_meanwhile, settle\n"
        "import_meanwhile('sheetcrm_there_is_no_such_module', 'wave')\n"
        "import_meanwhile('colorsys')\n"
        "import colorsys\n"
        "settle()\n"
        "left = [t for t in threading.enumerate() if t.name == 'sheetcrm-import']\n"
        "print('colorsys' in sys.modules, 'wave' in sys.modules, left)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "True True []\n", "")
