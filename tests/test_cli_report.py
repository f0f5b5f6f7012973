"""`sheetcrm report` and `sheetcrm templates export` through the CLI."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from sheetcrm.cli import cli
from tests.conftest import SAMPLE

AS_OF = "2026-11-20 15:00"


def test_report_defaults_to_last_complete_week_in_all_three_formats(runner, sample_book):
    result = runner.invoke(
        cli, ["report", "-w", str(sample_book), "--as-of", AS_OF], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    folder = sample_book.parent / "reports"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["weekly-2026-W46.docx", "weekly-2026-W46.html", "weekly-2026-W46.md"]
    assert "Weekly report for 2026-W46 (2026-11-09 to 2026-11-15)" in result.stdout
    html = (folder / "weekly-2026-W46.html").read_text()
    assert "Sykkelverkstedet Bergen" in html and "<img" in html
    assert zipfile.ZipFile(folder / "weekly-2026-W46.docx").testzip() is None


def test_report_week_period_and_format_options(runner, sample_book, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        cli,
        [
            "report",
            "-w",
            str(sample_book),
            "--week",
            "2026-W45",
            "--format",
            "md",
            "--out",
            str(out),
            "--as-of",
            AS_OF,
        ],
    )
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == ["weekly-2026-W45.md"]
    custom = runner.invoke(
        cli,
        [
            "report",
            "-w",
            str(sample_book),
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-14",
            "--format",
            "md,txt",
            "--out",
            str(out),
            "--as-of",
            AS_OF,
        ],
    )
    assert custom.exit_code == 0, custom.output
    assert (out / "weekly-2026-11-01_to_2026-11-14.md").exists()


def test_report_refuses_bad_options(runner, sample_book):
    bad_week = runner.invoke(cli, ["report", "-w", str(sample_book), "--week", "2026-W60"])
    assert bad_week.exit_code == 2 and "2026-W47" in bad_week.stderr
    both = runner.invoke(
        cli,
        [
            "report",
            "-w",
            str(sample_book),
            "--week",
            "2026-W45",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-02",
        ],
    )
    assert both.exit_code == 2 and "not both" in both.stderr
    fmt = runner.invoke(cli, ["report", "-w", str(sample_book), "--format", "pdf"])
    assert fmt.exit_code == 2 and "pdf" in fmt.stderr


def test_owner_templates_override_and_extend_the_built_in_ones(runner, sample_book, tmp_path):
    mine = tmp_path / "mine"
    exported = runner.invoke(cli, ["templates", "export", str(mine)])
    assert exported.exit_code == 0, exported.output
    assert (mine / "weekly.html.j2").exists() and (mine / "weekly.docx").exists()
    again = runner.invoke(cli, ["templates", "export", str(mine)])
    assert again.exit_code == 2 and "will not overwrite" in again.stderr
    for p in mine.iterdir():
        p.unlink()
    (mine / "weekly.md.j2").write_text('{% extends "default:weekly.md.j2" %}\n', encoding="utf-8")
    (mine / "weekly.html.j2").write_text(
        "<h1>Our own page for {{ meta.company }}</h1>", encoding="utf-8"
    )
    out = tmp_path / "out"
    result = runner.invoke(
        cli,
        [
            "report",
            "-w",
            str(sample_book),
            "--templates",
            str(mine),
            "--format",
            "html,md",
            "--out",
            str(out),
            "--as-of",
            AS_OF,
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "weekly-2026-W46.html").read_text() == (
        "<h1>Our own page for Sykkelverkstedet Bergen</h1>"
    )
    assert "Sykkelverkstedet Bergen" in (out / "weekly-2026-W46.md").read_text()


def test_a_template_typo_is_a_clear_error(runner, sample_book, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "weekly.md.j2").write_text("{{ meta.compnay }}", encoding="utf-8")
    result = runner.invoke(
        cli,
        [
            "report",
            "-w",
            str(sample_book),
            "--templates",
            str(mine),
            "--format",
            "md",
            "--as-of",
            AS_OF,
        ],
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "weekly.md.j2" in result.stderr


def test_report_in_a_real_subprocess(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sheetcrm",
            "report",
            "-w",
            str(SAMPLE),
            "--as-of",
            AS_OF,
            "--format",
            "md",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "weekly-2026-W46.md").read_text().startswith("#")


def test_the_render_worker_changes_nothing_but_the_time(tmp_path):
    from datetime import datetime

    from sheetcrm.report import render as reports
    from sheetcrm.workbook.validation import load

    book, _ = load(SAMPLE)
    as_of = datetime(2026, 11, 20, 15)
    period = reports.week_period(book, as_of)
    alone = reports.write_reports(book, period, as_of, out_dir=tmp_path / "alone")
    with reports.start_worker() as worker:
        helped = reports.write_reports(
            book, period, as_of, out_dir=tmp_path / "helped", worker=worker
        )
    assert [p.read_bytes() for p in alone] == [p.read_bytes() for p in helped]


def test_a_failing_worker_is_replaced_by_doing_the_work_here(tmp_path, monkeypatch):
    from datetime import datetime

    from sheetcrm.report import render as reports
    from sheetcrm.workbook.validation import load

    book, _ = load(SAMPLE)
    as_of = datetime(2026, 11, 20, 15)
    worker = reports.start_worker()
    worker._proc.terminate()  # the helper process dies before it is asked anything
    worker._proc.join()
    paths = reports.write_reports(
        book, reports.week_period(book, as_of), as_of, out_dir=tmp_path, worker=worker
    )
    worker.close()
    assert zipfile.ZipFile(paths[1]).testzip() is None and "<img" in paths[0].read_text()


def _no_drawing(monkeypatch):
    """Make drawing a chart in this process fail the test."""
    from sheetcrm.report import charts

    def refuse(*args, **kwargs):
        raise AssertionError("a chart was drawn for a report that shows none")

    for name in ("interactions_by_day", "complaints_trend", "sla_trend"):
        monkeypatch.setattr(charts, name, refuse)


def test_markdown_and_text_reports_draw_no_charts(runner, sample_book, tmp_path, monkeypatch):
    _no_drawing(monkeypatch)
    out = tmp_path / "out"
    result = runner.invoke(
        cli,
        [
            *("report", "-w", str(sample_book), "--format", "md,txt"),
            *("--out", str(out), "--as-of", AS_OF),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Sykkelverkstedet Bergen" in (out / "weekly-2026-W46.md").read_text()
    assert (out / "weekly-2026-W46.txt").read_text().strip()


def test_an_owners_markdown_that_shows_a_chart_gets_it(runner, sample_book, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    # through a macro in a second template: the check follows imports
    (mine / "_pictures.md.j2").write_text(
        "{% macro picture(name) %}![{{ charts[name].alt }}]({{ charts[name].src }}){% endmacro %}",
        encoding="utf-8",
    )
    (mine / "weekly.md.j2").write_text(
        '{% from "_pictures.md.j2" import picture with context %}# {{ meta.company }}\n'
        "{{ picture('sla') }}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = runner.invoke(
        cli,
        [
            *("report", "-w", str(sample_book), "--templates", str(mine), "--format", "md"),
            *("--out", str(out), "--as-of", AS_OF),
        ],
    )
    assert result.exit_code == 0, result.output
    text = (out / "weekly-2026-W46.md").read_text()
    assert "](data:image/png;base64,iVBOR" in text


def test_which_templates_read_a_variable(tmp_path):
    from sheetcrm.report.templates import uses

    assert uses("weekly.html.j2", "charts")
    assert not uses("weekly.md.j2", "charts")
    assert not uses("email.txt.j2", "charts")
    assert uses("weekly.docx", "charts")  # a Word template is not looked into
    mine = tmp_path / "mine"
    mine.mkdir()
    cases = {
        "comment.md.j2": ("{# no charts here #}{{ meta.company }}", False),
        "shadowed.md.j2": ("{% set charts = {} %}{{ charts }}", False),
        "loop.md.j2": ("{% for c in charts.values() %}{{ c.alt }}{% endfor %}", True),
        "extends.md.j2": ('{% extends "loop.md.j2" %}', True),
        "extends_default.md.j2": ('{% extends "default:weekly.html.j2" %}', True),
        "dynamic.md.j2": ("{% include meta.part %}", True),
        "broken.md.j2": ("{% if %}", True),
    }
    for name, (source, _) in cases.items():
        (mine / name).write_text(source, encoding="utf-8")
    for name, (_, expected) in cases.items():
        assert uses(name, "charts", mine) is expected, name
