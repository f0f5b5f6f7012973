"""The weekly report: periods, the shared context, each format, languages and templates.

Figures themselves are tested in test_metrics.py; here the same hand-made
workbook (``SHOP``) is rendered and the rendered documents are read back (HTML
with html.parser, Word with python-docx) to find those figures in them.
"""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from dataclasses import replace
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import docx
import jinja2
import pytest

from sheetcrm import i18n
from sheetcrm.contract import VOCABULARIES
from sheetcrm.errors import SheetCRMError
from sheetcrm.report import render as reports
from sheetcrm.report.templates import environment, templates_dir
from sheetcrm.rules.metrics import Period
from sheetcrm.workbook.settings import Settings
from sheetcrm.workbook.validation import load
from tests.conftest import AS_OF, write_book
from tests.test_metrics import SHOP, W46

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    path = write_book(tmp_path_factory.mktemp("shop") / "shop.xlsx", SHOP)
    book, _ = load(str(path), as_of=AS_OF)
    return book


@pytest.fixture(scope="module")
def context(book) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return reports.build_context(book, W46, AS_OF)


@pytest.fixture(scope="module")
def nb_context(book) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    norsk = replace(book, settings=replace(book.settings, locale="nb"))
    return reports.build_context(norsk, W46, AS_OF)


class _Cards(HTMLParser):
    """Collects each headline card's texts: {"interactions": ["Interactions", "5", ...]}."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: dict[str, list[str]] = {}
        self.current: str | None = None
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        figure = dict(attrs).get("data-figure")
        if figure:
            self.current, self.depth = figure, 0
            self.cards[figure] = []
        if self.current and tag == "div":
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self.current and tag == "div":
            self.depth -= 1
            if self.depth == 0:
                self.current = None

    def handle_data(self, data: str) -> None:
        if self.current and data.strip(" \t\r\n"):
            self.cards[self.current].append(re.sub(r"[ \t\r\n]+", " ", data).strip())


def cards(html: str) -> dict[str, list[str]]:
    parser = _Cards()
    parser.feed(html)
    return parser.cards


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


# ----------------------------------------------------------------------------- periods


def test_default_week_is_the_last_complete_one() -> None:
    period = reports.week_period(Settings(), AS_OF)  # Friday 20 November
    assert period == Period(date(2026, 11, 9), date(2026, 11, 15), "2026-W46")
    monday = reports.week_period(Settings(), datetime(2026, 11, 16, 8))
    assert monday.label == "2026-W46"


def test_weeks_follow_week_start() -> None:
    sunday = Settings(week_start=6)
    assert reports.week_period(sunday, AS_OF) == Period(
        date(2026, 11, 8), date(2026, 11, 14), "2026-W46"
    )
    assert reports.week_period(sunday, AS_OF, "2026-W47").start == date(2026, 11, 15)


def test_an_iso_week_by_name() -> None:
    period = reports.week_period(Settings(), AS_OF, "2026-W47")
    assert (period.start, period.end, period.label) == (
        date(2026, 11, 16),
        date(2026, 11, 22),
        "2026-W47",
    )
    assert reports.week_period(Settings(), AS_OF, "2021w1").start == date(2021, 1, 4)


@pytest.mark.parametrize("week", ["2026-W54", "W47", "next week", "2026-47"])
def test_a_bad_week_says_how_to_write_one(week: str) -> None:
    with pytest.raises(SheetCRMError) as e:
        reports.week_period(Settings(), AS_OF, week)
    assert e.value.problem.code == "invalid_week"
    assert "2026-W47" in (e.value.problem.hint or "")


def test_custom_period() -> None:
    period = reports.custom_period(date(2026, 11, 1), date(2026, 11, 14))
    assert period.label == "2026-11-01_to_2026-11-14"
    assert period.previous() == Period(
        date(2026, 10, 18), date(2026, 10, 31), "2026-10-18_to_2026-10-31"
    )
    with pytest.raises(SheetCRMError):
        reports.custom_period(date(2026, 11, 14), date(2026, 11, 1))


# ----------------------------------------------------------------------------- context


def test_context_is_plain_json(context: dict[str, Any]) -> None:
    again = json.loads(json.dumps(context))
    assert again["contact"]["interactions"] == 5
    assert again["meta"]["company"] == "Test Cycles"
    assert again["meta"]["as_of"] == "2026-11-20T15:00"
    assert (again["locale"], again["currency"]) == ("en", "NOK")


def test_charts_are_png_shared_as_data_uris_or_cid(context: dict[str, Any]) -> None:
    assert set(context["charts"]) == {
        "interactions",
        "interactions_narrow",
        "complaints",
        "sla",
        "satisfaction",
    }
    for name, chart in context["charts"].items():
        png = reports.chart_bytes(context, name)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert b"Software" not in png and b"matplotlib" not in png  # no tool or time stamps
        assert chart["src"] == "data:image/png;base64," + base64.b64encode(png).decode()
    mail = reports.with_cid(context)
    assert mail["charts"]["sla"]["src"] == "cid:chart-sla@sheetcrm"
    assert context["charts"]["sla"]["src"].startswith("data:")  # the original is untouched


def test_charts_are_deterministic(book, context: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    again = reports.build_context(book, W46, AS_OF)
    assert again["charts"] == context["charts"]


# ----------------------------------------------------------------------------- HTML


def test_html_headline_cards_show_this_week_and_last(context: dict[str, Any]) -> None:
    html = reports.render(context, "weekly.html.j2")
    assert isinstance(html, str)
    found = cards(html)
    assert found["interactions"] == ["Interactions", "5", "▲ 2", "Last week 3"]
    assert found["complaints_opened"] == ["Complaints opened", "3", "▲ 2", "Last week 1"]
    assert found["sla_compliance"] == ["SLA met on time", "67%", "▲ 17 pp", "Last week 50%"]
    assert found["revenue"] == ["Revenue", "NOK\xa01,000", "▲ NOK\xa0200", "Last week NOK\xa0800"]
    assert found["at_risk"][:2] == ["Customers at risk", "3"]
    assert found["first_contact_resolution"] == ["First-contact resolution", "67%", "Last week –"]


def test_html_colours_the_change_by_what_is_good(context: dict[str, Any]) -> None:
    html = reports.render(context, "weekly.html.j2")
    opened = html.split('data-figure="complaints_opened"')[1].split('data-figure="')[0]
    assert 'class="delta bad"' in opened  # more complaints: up, and bad
    contacted = html.split('data-figure="customers_contacted"')[1].split('data-figure="')[0]
    assert 'class="delta good"' in contacted


def test_html_is_self_contained(context: dict[str, Any]) -> None:
    html = reports.render(context, "weekly.html.j2")
    assert "<style>" in html and "@page" in html and "@media print" in html
    assert 'name="viewport"' in html
    assert html.count('src="data:image/png;base64,') == 4
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched from outside


def test_workbook_text_never_becomes_markup(context: dict[str, Any]) -> None:
    html = reports.render(context, "weekly.html.j2")
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; =HYPERLINK(&#34;http://x&#34;)" in html
    md = reports.render(context, "weekly.md.j2")
    assert SCRIPT not in md
    assert r"\<script\>alert\(1\)\</script\>" in md


def test_html_lists_the_breach_and_who_is_at_risk(context: dict[str, Any]) -> None:
    html = reports.render(context, "weekly.html.j2")
    assert "K-2" in html and "Breached" in html
    assert "Complaint K-2 overdue" in html
    assert "No contact for 167 days" in html
    assert "Scored 1 on 5 Nov" in html


def test_html_shrinks_a_long_amount_to_fit_its_card(context: dict[str, Any]) -> None:
    rich = dict(context)
    rich["headlines"] = [
        {**h, "value": 682305.94} if h["key"] == "revenue" else h for h in context["headlines"]
    ]
    assert '<div class="value long">NOK\xa0682,306</div>' in reports.render(rich, "weekly.html.j2")
    assert '<div class="value">NOK\xa01,000</div>' in reports.render(context, "weekly.html.j2")


def test_html_in_norwegian(nb_context: dict[str, Any]) -> None:
    html = reports.render(nb_context, "weekly.html.j2")
    assert '<html lang="nb">' in html
    assert "Ukerapport" in html and "Kontakt med kundene" in html
    found = cards(html)
    assert found["revenue"][:2] == ["Omsetning", "1\xa0000\xa0kr"]
    assert found["sla_compliance"][1] == "67\xa0%"
    assert found["satisfaction"][1] == "4,0"
    assert "Forrige uke" in found["interactions"][-1]
    assert "9. nov." in html  # the week's first day, as Norwegians write it


# ----------------------------------------------------------------------------- Markdown, text


def test_markdown(context: dict[str, Any]) -> None:
    md = reports.render(context, "weekly.md.j2")
    assert md.startswith("# Test Cycles: Weekly report 2026-W46\n")
    assert "| Interactions | 5 | 3 | ▲ 2 ✓ |" in md
    assert "| Complaints opened | 3 | 1 | ▲ 2 ✗ |" in md
    assert "| Overall | 6 | 4 | 67% |" in md
    assert "- Orders: **3**" in md


def test_email_text(context: dict[str, Any]) -> None:
    text = reports.render(context, "email.txt.j2")
    assert text.startswith("Test Cycles: Weekly report 2026-W46\n")
    assert re.search(r"Interactions +5 +\(last week 3, ▲ 2\)", text)
    assert "- Breached, due Thu 12 Nov 22:00: Cy (K-2)\n  Who calls: Per" in text


# ----------------------------------------------------------------------------- Word


def test_docx_has_the_figures(context: dict[str, Any]) -> None:
    data = reports.render(context, "weekly.docx")
    assert isinstance(data, bytes)
    text = docx_text(data)
    assert "Weekly report 2026-W46" in text
    assert "Interactions | 5 | 3 | ▲ 2" in text
    assert "Revenue | NOK\xa01,000 | NOK\xa0800 | ▲ NOK\xa0200" in text
    assert "Overall | 6 | 4 | 67%" in text
    assert "Kari | 100% (2/2) | 100% (2/2) | 100%" in text
    assert SCRIPT + ' =HYPERLINK("http://x")' in text  # shown as the text it is
    assert "{{" not in text and "{%" not in text


def test_docx_embeds_the_charts(context: dict[str, Any]) -> None:
    data = reports.render(context, "weekly.docx")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        images = [n for n in z.namelist() if n.startswith("word/media/")]
    assert len(images) == 4


def test_docx_is_deterministic(context: dict[str, Any]) -> None:
    assert reports.render(context, "weekly.docx") == reports.render(context, "weekly.docx")


def test_docx_in_norwegian(nb_context: dict[str, Any]) -> None:
    text = docx_text(reports.render(nb_context, "weekly.docx"))
    assert "Ukerapport 2026-W46" in text
    assert "Omsetning | 1\xa0000\xa0kr | 800\xa0kr" in text


# ----------------------------------------------------------------------------- long lists


@pytest.fixture(scope="module")
def short_context(book) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    one = replace(book, settings=replace(book.settings, report_list_limit=1))
    return reports.build_context(one, W46, AS_OF)


def test_long_lists_show_the_most_pressing_rows_and_the_whole_count(
    context: dict[str, Any], short_context: dict[str, Any]
) -> None:
    full, short = context["relationships"], short_context["relationships"]
    assert [r["customer_id"] for r in full["at_risk"]] == ["C-3", "C-5", "C-4"]  # default 25
    assert [r["customer_id"] for r in short["at_risk"]] == ["C-3"]
    assert short["at_risk_count"] == 3
    assert len(full["followups"]) == full["followups_count"] == short["followups_count"] > 1
    assert short["followups"] == full["followups"][:1]
    note = (
        "The 1 most pressing of 3. To see more, raise “most rows a report shows in each list” "
        "on the Settings sheet (0 shows all)."
    )
    for name in ("weekly.html.j2", "weekly.md.j2", "email.txt.j2", "weekly.docx"):
        shown = reports.render(short_context, name)
        text = docx_text(shown) if isinstance(shown, bytes) else shown
        assert note in text, name
        assert "Customers at risk (3)" in text, name
        assert "most pressing" not in str(reports.render(context, name)), name
    html = reports.render(short_context, "weekly.html.j2")
    at_risk = '"id">{}</span> <span class="muted small">·'  # a row of the at-risk table
    assert at_risk.format("C-3") in html and at_risk.format("C-4") not in html
    assert at_risk.format("C-4") in reports.render(context, "weekly.html.j2")


def test_a_list_limit_of_zero_shows_every_row(book) -> None:  # type: ignore[no-untyped-def]
    everyone = replace(book, settings=replace(book.settings, report_list_limit=0))
    rel = reports.build_context(everyone, W46, AS_OF, with_charts=False)["relationships"]
    assert len(rel["at_risk"]) == rel["at_risk_count"] == 3


# ----------------------------------------------------------------------------- templates


def test_owner_templates_override_and_extend_the_defaults(
    context: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "weekly.html.j2").write_text(
        '{% extends "default:weekly.html.j2" %}{% block title %}Our week{% endblock %}'
    )
    html = reports.render(context, "weekly.html.j2", tmp_path)
    assert "<title>Our week</title>" in html
    assert cards(html)["interactions"][1] == "5"
    # a template the owner did not copy comes from the defaults
    assert reports.render(context, "weekly.md.j2", tmp_path).startswith("# Test Cycles")


def test_compiled_templates_are_cached_and_a_bad_cache_is_ignored(
    context: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sheetcrm.report import templates

    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.setattr(
        templates, "_bytecode_cache", lambda: templates._QuietBytecodeCache(str(folder))
    )
    first = reports.render(context, "weekly.md.j2")
    entries = list(folder.iterdir())
    assert entries, "the compiled template was kept"
    for entry in entries:
        entry.write_bytes(jinja2.bccache.bc_magic + b"\x80 damaged")  # unpickling fails
    assert reports.render(context, "weekly.md.j2") == first
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    monkeypatch.setattr(
        templates, "_bytecode_cache", lambda: templates._QuietBytecodeCache(str(not_a_folder))
    )
    assert reports.render(context, "weekly.md.j2") == first


def test_the_word_templates_xml_is_compiled_once_and_renders_the_same(
    context: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docxtpl makes the document's XML a template from a string on every run: kept in the
    bytecode cache like the files, the next run renders without compiling it again."""
    from sheetcrm.report import templates

    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.setattr(
        templates, "_bytecode_cache", lambda: templates._QuietBytecodeCache(str(folder))
    )
    first = reports.render(context, "weekly.docx")
    assert len(list(folder.iterdir())) > 2  # the files' entries and the XML's

    def no_compiling(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("compiled again")

    monkeypatch.setattr(templates._Environment, "compile", no_compiling)
    assert reports.render(context, "weekly.docx") == first
    # Another text, or the same text escaped differently, is compiled afresh.
    monkeypatch.undo()
    monkeypatch.setattr(
        templates, "_bytecode_cache", lambda: templates._QuietBytecodeCache(str(folder))
    )
    plain, escaped = environment(autoescape=False), environment(autoescape=True)
    assert plain.from_string("{{ x }}").render(x="<b>") == "<b>"
    assert escaped.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    assert plain.from_string("{{ x }}!").render(x="<b>") == "<b>!"


def test_a_typo_in_a_template_fails_loudly(context: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "weekly.md.j2").write_text("{{ contact.interactoins }}")
    with pytest.raises(SheetCRMError) as e:
        reports.render(context, "weekly.md.j2", tmp_path)
    assert e.value.problem.code == "template_error"
    assert "interactoins" in e.value.problem.message
    (tmp_path / "weekly.md.j2").write_text("{% if %}")
    with pytest.raises(SheetCRMError) as e:
        reports.render(context, "weekly.md.j2", tmp_path)
    assert "line 1" in e.value.problem.message


def test_autoescape_is_on_for_html_only() -> None:
    env = environment()
    assert env.autoescape("weekly.html.j2") is True  # type: ignore[operator]
    assert env.autoescape("weekly.md.j2") is False  # type: ignore[operator]
    assert isinstance(env.undefined, type) and issubclass(env.undefined, jinja2.StrictUndefined)


def test_write_reports(book, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "reports"
    paths = reports.write_reports(book, W46, AS_OF, ("html", "docx", "md", "txt"), out_dir=out)
    assert [p.name for p in paths] == [
        "weekly-2026-W46.html",
        "weekly-2026-W46.docx",
        "weekly-2026-W46.md",
        "weekly-2026-W46.txt",
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)  # no temp files
    assert paths[0].read_text(encoding="utf-8").startswith("<!doctype html>")
    with pytest.raises(SheetCRMError) as e:
        reports.write_reports(book, W46, AS_OF, ("pdf",), out_dir=out)
    assert e.value.problem.code == "invalid_format"


def test_export_templates_refuses_to_overwrite(tmp_path: Path) -> None:
    written = reports.export_templates(tmp_path / "mine")
    names = {p.name for p in written}
    assert {"weekly.html.j2", "base.html.j2", "_macros.html.j2", "weekly.md.j2"} <= names
    assert {"email.txt.j2", "weekly.docx"} <= names
    (tmp_path / "mine" / "weekly.md.j2").write_text("mine")
    (tmp_path / "mine" / "base.html.j2").unlink()
    with pytest.raises(SheetCRMError) as e:
        reports.export_templates(tmp_path / "mine")
    assert e.value.problem.code == "file_exists"
    assert (tmp_path / "mine" / "weekly.md.j2").read_text() == "mine"
    assert not (tmp_path / "mine" / "base.html.j2").exists()  # nothing copied


# ----------------------------------------------------------------------------- languages


def _template_labels() -> set[str]:
    labels: set[str] = set()
    for path in templates_dir().iterdir():
        if path.suffix == ".j2":
            text = path.read_text(encoding="utf-8")
        elif path.suffix == ".docx":
            with zipfile.ZipFile(path) as z:
                text = "".join(
                    re.sub(r"<[^>]+>", "", z.read(n).decode())
                    for n in z.namelist()
                    if n.startswith("word/") and n.endswith(".xml")
                )
        else:
            continue
        labels |= set(re.findall(r'_\("((?:[^"\\]|\\.)*)"', text))
    return labels


@pytest.mark.parametrize("code", i18n.available())
def test_every_label_is_in_every_catalogue(code: str) -> None:
    messages = i18n.catalogue(code)["messages"]
    english = i18n.catalogue("en")["messages"]
    labels = _template_labels()
    assert len(labels) > 60
    if code != "en":
        missing = sorted(label for label in labels if label not in messages)
        assert missing == []
        assert sorted(set(english) - set(messages)) == []
    words = {w for v in ("channel", "type", "stage", "severity") for w in VOCABULARIES[v]}
    assert sorted(words - set(messages)) == []


def test_catalogues_name_a_babel_locale() -> None:
    assert i18n.available() == ["en", "nb"]
    assert i18n.babel_locale("nb") == "nb_NO"
    assert i18n.translate("nb", "{n} days", n=3) == "3 dager"
    assert i18n.translate("xx", "Complaints") == "Complaints"  # unknown language: English


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "NOK\xa01,234.50 · 57% · 1,234.5 · 20 Nov 2026 · 45 min · 3.5 h · 3.0 days"),
        (
            "nb",
            "1\xa0234,50\xa0kr · 57\xa0% · 1\xa0234,5 · 20. nov. 2026 · 45 min · 3,5 t · 3,0 dager",
        ),
    ],
)
def test_filters_format_for_the_language(locale: str, expected: str) -> None:
    template = environment().from_string(
        "{{ 1234.5|money }} · {{ 0.5714|percent }} · {{ 1234.5|number(1) }} · "
        "{{ '2026-11-20'|date }} · {{ 0.75|hours }} · {{ 3.5|hours }} · {{ 72|hours }}"
    )
    assert template.render(locale=locale, currency="NOK") == expected


# ----------------------------------------------------------------------------- digest


def test_staff_digest(book) -> None:  # type: ignore[no-untyped-def]
    per = reports.build_digest(book, "per", AS_OF)
    assert [b["complaint_id"] for b in per["overdue"]] == ["K-2"]
    assert [f["customer_id"] for f in per["followups"]] == ["C-4", "C-2"]
    assert [r["customer_id"] for r in per["at_risk"]] == ["C-4"]
    kari = reports.build_digest(book, "Kari", AS_OF)
    assert kari["overdue"] == [] and [r["customer_id"] for r in kari["at_risk"]] == ["C-3", "C-5"]
    text = reports.render(per, "digest.txt.j2")
    assert "K-2 Cy: Breached, Resolution due 12 Nov 22:00" in text
    html = reports.render(per, "digest.html.j2")
    assert SCRIPT not in html and "Good morning, per" in html
