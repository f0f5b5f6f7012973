"""templates/README.md documents what the templates receive, checked on a real report.

Every top-level name of build_context() (and of build_digest()) is documented, every
documented dotted name exists in the sample's context, the filters listed are the
environment's, and tools/make_weekly_docx.py still makes the committed weekly.docx.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import pytest

import sheetcrm
from sheetcrm.report import render
from sheetcrm.report.templates import environment

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "templates" / "README.md"
AS_OF = datetime(2026, 11, 20, 15, 0)


def _block(name: str, text: str | None = None) -> str:
    text = README.read_text(encoding="utf-8") if text is None else text
    m = re.search(rf"<!-- {name}:start -->\n(.*?)<!-- {name}:end -->", text, re.S)
    assert m, f"templates/README.md has no {name} block"
    return m.group(1)


def documented(name: str, text: str | None = None) -> tuple[set[str], set[str]]:
    """(top-level names, every dotted name) named in `code` at the start of list items."""
    top, dotted = set(), set()
    for line in _block(name, text).splitlines():
        m = re.match(r"^- (.*?) — ", line)
        if m:
            top.update(re.findall(r"`([a-z_]+)`", m.group(1)))
        dotted.update(re.findall(r"`([a-z_]+(?:\.[a-z_]+)+)`", line))
    return top, dotted


def _resolve(context: dict[str, Any], dotted: str) -> bool:
    value: Any = context
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True


@pytest.fixture(scope="module")
def sample_book(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from sheetcrm.workbook.sample import write_sample_workbook

    path = tmp_path_factory.mktemp("sample") / "crm.xlsx"
    write_sample_workbook(path)
    book, _ = sheetcrm.load(path, as_of=AS_OF)
    return book


def test_every_weekly_variable_is_documented_and_exists(sample_book: Any) -> None:
    context = render.build_context(sample_book, render.week_period(sample_book, AS_OF), AS_OF)
    top, dotted = documented("weekly-variables")
    assert set(context) - top == set(), "document these in templates/README.md"
    assert top - set(context) == set(), "templates/README.md names variables that do not exist"
    missing = sorted(d for d in dotted if not _resolve(context, d))
    assert missing == []


def test_every_digest_variable_is_documented_and_exists(sample_book: Any) -> None:
    staff = str(sample_book.staff["name"].iloc[0])
    digest = render.build_digest(sample_book, staff, AS_OF)
    top, dotted = documented("digest-variables")
    assert top == set(digest)
    assert sorted(d for d in dotted if not _resolve(digest, d)) == []


def test_the_filters_listed_are_the_ones_templates_get() -> None:
    listed = set(re.findall(r"^  - `([a-z]+)` — ", _block("filters"), re.M))
    ours = set(environment().filters) - set(jinja2.Environment().filters)
    assert listed == ours


def test_the_doc_check_reads_names_and_sees_a_missing_one() -> None:
    """The checker itself, on a made-up README."""
    text = (
        "<!-- x:start -->\n- `locale`, `currency` — words.\n"
        "  - `meta.company`, `meta.nowhere` — the name.\n<!-- x:end -->\n"
    )
    top, dotted = documented("x", text)
    assert top == {"locale", "currency"} and dotted == {"meta.company", "meta.nowhere"}
    context = {"locale": "en", "currency": "NOK", "meta": {"company": "x"}, "sales": {}}
    assert set(context) - top == {"meta", "sales"}
    assert [d for d in sorted(dotted) if not _resolve(context, d)] == ["meta.nowhere"]


@pytest.mark.slow
def test_the_tool_reproduces_the_committed_word_template(tmp_path: Path) -> None:
    out = tmp_path / "weekly.docx"
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "make_weekly_docx.py"), str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == (ROOT / "templates" / "weekly.docx").read_bytes()
