"""The read commands compute from only what they need, and give the same answers for it.

``overdue`` reads the Complaints and Customers (not 100,000 interactions) and works
out due times only for complaints that can still be pending; ``followups`` and
``customer show`` take the customer-value fit from a cache beside the workbook when
its inputs are unchanged. Each shortcut is checked here against the long way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from sheetcrm.cli import cli
from sheetcrm.rules import sla
from sheetcrm.workbook.validation import load
from tests.test_imports import ROOT


def _pending_the_long_way(book, as_of: datetime) -> list[tuple]:
    """Breached and due-soon targets from the due times of every complaint, as sla.overdue
    orders them."""
    frame = sla.targets(book, as_of)
    frame = frame[frame["state"].isin(["breached", "due_soon"])]
    rows = [
        (r.state != "breached", r.owner or "", r.due, r.complaint_id, r.target, round(r.minutes))
        for r in frame.itertuples(index=False)
    ]
    return sorted(rows, key=lambda r: r[:4])


@pytest.mark.parametrize("book_kind", ["sample", "sla"])
def test_overdue_equals_the_pending_targets_of_every_complaint(
    book_kind: str, sample_book: Path, sla_book: Path
) -> None:
    path = sample_book if book_kind == "sample" else sla_book
    book, _ = load(path)
    opened = book.complaints["opened"].dropna()
    first, last = opened.min().to_pydatetime(), opened.max().to_pydatetime()
    # Every 29 hours from before the first complaint to well after the last: moments in
    # and out of business hours, with complaints open, just closed and long closed.
    moments, at = [], first - timedelta(days=2)
    while at <= last + timedelta(days=40):
        moments.append(at.replace(second=0, microsecond=0))
        at += timedelta(hours=29)
    assert len(moments) > 20
    listed = 0
    for as_of in moments:
        quick = [
            (b.state != "breached", b.owner, b.due, b.complaint_id, b.target, b.minutes)
            for b in sla.overdue(book, as_of)
        ]
        assert quick == _pending_the_long_way(book, as_of), as_of
        listed += len(quick)
    assert listed > 0  # the comparison saw breaches, not only empty lists


def _edited(path: Path, name: str, edit) -> Path:  # type: ignore[no-untyped-def]
    import openpyxl

    wb = openpyxl.load_workbook(path)
    edit(wb)
    out = path.with_name(name)
    wb.save(out)
    return out


def test_overdue_is_not_held_up_by_a_sheet_it_does_not_read(runner, sla_book: Path) -> None:
    """An unreadable date on Interactions is validate's business, not overdue's: the same
    answer and no note. A bad cell on a sheet overdue reads is noted, naming what was read."""
    argv = ["overdue", "--as-of", "2026-11-20 15:00", "--format", "json"]
    clean = runner.invoke(cli, [*argv, "-w", str(sla_book)])
    assert clean.exit_code == 1 and clean.stderr == ""

    def bad_interaction(wb) -> None:  # type: ignore[no-untyped-def]
        ws = wb["Interactions"]
        headers = [c.value for c in ws[1]]
        row = {"interaction_id": "I-1", "date": "03/04/2026", "customer_id": "C-1"}
        row |= {"staff": "Kari", "channel": "phone", "type": "support", "summary": "Brakes"}
        ws.append([row.get(h) for h in headers])

    other = _edited(sla_book, "other.xlsx", bad_interaction)
    assert runner.invoke(cli, ["validate", "-w", str(other)]).exit_code == 1  # it is an error
    result = runner.invoke(cli, [*argv, "-w", str(other)])
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout) == json.loads(clean.stdout)
    assert result.stderr == ""

    def bad_complaint(wb) -> None:  # type: ignore[no-untyped-def]
        ws = wb["Complaints"]
        column = [c.value for c in ws[1]].index("severity") + 1
        ws.cell(row=6, column=column, value="whenever")  # K-4, long resolved: same list

    third = _edited(sla_book, "third.xlsx", bad_complaint)
    result = runner.invoke(cli, [*argv, "-w", str(third)])
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout) == json.loads(clean.stdout)
    assert "Note: the sheets of third.xlsx this command reads have 1 error" in result.stderr


# ------------------------------------------------------------------ the kept fit


def _fit_figures(est):  # type: ignore[no-untyped-def]
    return est.purchases, est.spend, est.reason, est.spend_reason, est.customers


def test_a_kept_fit_gives_the_same_figures_to_the_last_digit(sample_book: Path) -> None:
    from sheetcrm.rules import value

    book, _ = load(sample_book)
    day = datetime(2026, 11, 20).date()
    fresh = value.estimate(book.sales, day)
    assert fresh.fitted and fresh.spend is not None and not fresh.reused
    kept = json.loads(json.dumps({"key": fresh.fit_key, **(fresh.fits or {})}))  # as on disk
    again = value.estimate(book.sales, day, known=kept)
    assert again.reused
    assert again.purchases == fresh.purchases and again.spend == fresh.spend
    pd.testing.assert_frame_equal(again.customers, fresh.customers, check_exact=True)
    assert value.followup_hints(again) == value.followup_hints(fresh)
    # Another day, or other sales, is another fit: the kept one is not used.
    other_day = value.estimate(book.sales, day - timedelta(days=1), known=kept)
    assert not other_day.reused and other_day.fit_key != fresh.fit_key
    fewer = book.sales.iloc[1:]
    assert not value.estimate(fewer, day, known=kept).reused
    # A record that is not what estimate writes is not used either.
    for broken in (
        {**kept, "purchases": {**kept["purchases"], "r": -1.0}},
        {**kept, "purchases": {**kept["purchases"], "r": "2"}},
        {**kept, "spend": {"p": 1.0}},
        {k: v for k, v in kept.items() if k != "purchases"} | {"purchases": None},
        {"key": fresh.fit_key},
    ):
        assert not value.estimate(book.sales, day, known=broken).reused, broken
    # The expected orders are kept with the fit and given back as kept (for this horizon
    # and this many buyers), else worked out again.
    assert kept["orders"]["horizon_days"] == value.HORIZON_DAYS
    doubled = {
        **kept,
        "orders": {**kept["orders"], "values": [2 * v for v in kept["orders"]["values"]]},
    }
    twice = value.estimate(book.sales, day, known=doubled).customers["expected_orders"]
    assert list(twice) == [2 * v for v in fresh.customers["expected_orders"]]
    for stale in (
        {**kept["orders"], "horizon_days": 30},
        {**kept["orders"], "values": kept["orders"]["values"][1:]},
        {**kept["orders"], "values": [-1.0] * len(kept["orders"]["values"])},
    ):
        shown = value.estimate(book.sales, day, known={**kept, "orders": stale})
        pd.testing.assert_frame_equal(shown.customers, fresh.customers, check_exact=True)
    # A fit that did not settle is kept as such: no spend model without a purchase model.
    unsettled = {"key": fresh.fit_key, "purchases": None, "spend": None}
    shown = value.estimate(book.sales, day, known=unsettled)
    assert shown.reused and not shown.fitted and "did not settle" in (shown.reason or "")


def test_p_alive_is_scipys_expit_to_the_last_bit() -> None:
    """Worked out without scipy.special, so a kept fit needs no scipy; the same numbers."""
    import numpy as np
    from scipy.special import expit

    from sheetcrm.rules import value

    rng = np.random.default_rng(11)
    x = rng.integers(0, 40, 20_000).astype(float)
    age = rng.uniform(1, 3000, 20_000)
    t_x = np.where(x > 0, age * rng.uniform(0, 1, 20_000), 0.0)
    for r, alpha, a, b in ([0.24, 4.4, 0.79, 2.4], [2.2, 509.0, 0.095, 136.9], [9.0, 0.5, 40, 0.2]):
        one_more = np.maximum(x, 1.0)
        log_odds = np.log(a) - np.log(b + one_more - 1)
        log_odds = log_odds + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
        with np.errstate(over="ignore"):
            expected = expit(-np.where(x > 0, log_odds, -np.inf))
        got = value.p_alive((r, alpha, a, b), x, t_x, age)
        assert got.shape == expected.shape
        assert np.array_equal(got, expected), (r, alpha, a, b)


def test_an_estimate_without_expected_orders_ranks_the_same(sample_book: Path) -> None:
    from sheetcrm.rules import history, value

    book, _ = load(sample_book)
    day = datetime(2026, 11, 20).date()
    full = value.estimate(book.sales, day)
    short = value.estimate(book.sales, day, orders=False)
    assert value.followup_hints(short) == value.followup_hints(full)
    assert short.customers["expected_orders"].isna().all()
    for column in ("p_alive", "band", "value_at_risk", "expected_order_value"):
        pd.testing.assert_series_equal(short.customers[column], full.customers[column])
    with pytest.raises(ValueError, match="without the expected orders"):
        history.story(book, "C-0001", datetime(2026, 11, 20, 15), worth=short)


def _sheetcrm(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sheetcrm", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
    )


def _imports(proc: subprocess.CompletedProcess[str]) -> set[str]:
    return {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }


def test_the_second_run_reads_the_fit_and_prints_the_same(sample_book: Path) -> None:
    """followups and customer show, run twice: the first fits and keeps the fit beside the
    workbook, the second prints the same without scipy's optimiser; the report too."""
    from sheetcrm.report.fits import cache_path

    cwd = sample_book.parent
    followups = ["followups", "-w", str(sample_book), "--as-of", "2026-11-20", "--format", "json"]
    show = ["customer", "show", "C-0001", "-w", str(sample_book), "--as-of", "2026-11-20"]
    show += ["--format", "json"]
    report = ["report", "-w", str(sample_book), "--as-of", "2026-11-20"]
    report += ["--format", "json", "--out", "-"]
    kept = cache_path(sample_book)
    assert not kept.exists()
    first = _sheetcrm(*followups, cwd=cwd)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "scipy.optimize" in _imports(first)
    assert kept.is_file()
    record = json.loads(kept.read_text())
    assert set(record) == {"key", "as_of", "purchases", "spend"}
    second = _sheetcrm(*followups, cwd=cwd)
    assert second.stdout == first.stdout and json.loads(second.stdout)
    assert not any(m.split(".")[0] == "scipy" for m in _imports(second))
    assert json.loads(kept.read_text()) == record
    # customer show works out the expected orders (followups did not) and keeps them too:
    # the next show needs no scipy at all, and prints the same.
    with_orders = _sheetcrm(*show, cwd=cwd)
    assert with_orders.returncode == 0, with_orders.stderr[-2000:]
    assert "scipy.optimize" not in _imports(with_orders)
    kept_now = json.loads(kept.read_text())
    assert set(kept_now) == {*record, "orders"}
    assert {k: kept_now[k] for k in record} == record
    again = _sheetcrm(*show, cwd=cwd)
    assert not any(m.split(".")[0] == "scipy" for m in _imports(again))
    assert again.stdout == with_orders.stdout
    assert json.loads(kept.read_text()) == kept_now
    outputs = {}
    for argv in (show, report):
        warm = _sheetcrm(*argv, cwd=cwd)
        assert warm.returncode == 0, warm.stderr[-2000:]
        # the kept fit holds the expected orders: not even scipy.special is imported
        assert not any(m.split(".")[0] == "scipy" for m in _imports(warm))
        kept.unlink()
        cold = _sheetcrm(*argv, cwd=cwd)
        assert "scipy.optimize" in _imports(cold)
        assert warm.stdout == cold.stdout
        outputs[argv[0]] = json.loads(cold.stdout)
    assert outputs["customer"]["value"]["p_alive"] is not None  # the figures were there
    assert outputs["report"]["customer_value"]["estimate"] is True


def _followups_json(runner, path: Path, as_of: str = "2026-11-20") -> list:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        cli, ["followups", "-w", str(path), "--as-of", as_of, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_stale_or_broken_kept_fit_is_fitted_again(runner, sample_book: Path) -> None:
    from sheetcrm.report.fits import cache_path

    kept = cache_path(sample_book)
    expected = _followups_json(runner, sample_book)
    good = json.loads(kept.read_text())
    for broken in ("", "{not json", "[]", '{"key": "x"}', "\udcff"):
        kept.write_text(broken, errors="surrogateescape")
        assert _followups_json(runner, sample_book) == expected
        assert json.loads(kept.read_text()) == good  # and kept again, sound
    # The right key with made-up parameters is refused: they are not what a fit gives.
    kept.write_text(json.dumps({**good, "purchases": {"r": 1.0}}))
    assert _followups_json(runner, sample_book) == expected
    # Another day: fitted again for that day, and the fit kept is that day's.
    before = _followups_json(runner, sample_book, "2026-11-13")
    assert json.loads(kept.read_text())["as_of"] == "2026-11-13"
    kept.unlink()
    assert _followups_json(runner, sample_book, "2026-11-13") == before
    # A changed sale is another fit.
    import openpyxl

    wb = openpyxl.load_workbook(sample_book)
    ws = wb["Sales"]
    column = [c.value for c in ws[1]].index("amount") + 1
    last = ws.max_row  # a repeat purchase (a first one is not in the spend model's average)
    ws.cell(row=last, column=column, value=ws.cell(row=last, column=column).value + 1000)
    wb.save(sample_book)
    changed = _followups_json(runner, sample_book)
    assert json.loads(kept.read_text())["key"] != good["key"]
    kept.unlink()
    assert _followups_json(runner, sample_book) == changed


def test_a_fit_that_cannot_be_kept_is_no_error(runner, sample_book: Path) -> None:
    from sheetcrm.report.fits import cache_path

    expected = _followups_json(runner, sample_book)
    kept = cache_path(sample_book)
    kept.unlink()
    kept.mkdir()  # neither readable nor writable as a file
    assert _followups_json(runner, sample_book) == expected
    assert kept.is_dir() and list(kept.iterdir()) == []
    assert sorted(p.name for p in sample_book.parent.iterdir()) == sorted(
        [sample_book.name, kept.name]
    )  # no temporary file left behind


def test_no_fit_is_kept_beside_an_encrypted_workbook(
    runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sheetcrm.report.fits import cache_path
    from sheetcrm.xlsx.encryption import PASSWORD_ENV, encrypt
    from tests.conftest import SAMPLE

    path = tmp_path / "crm.xlsx"
    path.write_bytes(encrypt(SAMPLE.read_bytes(), "Sykkel-2026!"))
    monkeypatch.setenv(PASSWORD_ENV, "Sykkel-2026!")
    assert _followups_json(runner, path)
    assert not cache_path(path).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm.xlsx"]


def test_a_customers_story_times_their_open_complaints_as_the_full_table_does(
    sample_book: Path,
) -> None:
    from sheetcrm.rules import history, value

    as_of = datetime(2026, 11, 20, 15)
    book, _ = load(sample_book)
    every = sla.targets(book, as_of)
    worth = value.estimate(book.sales, as_of.date())
    seen = 0
    for customer_id in book.customers["customer_id"].dropna().unique():
        for k in history.story(book, customer_id, as_of, worth=worth)["open_complaints"]:
            rows = every[every["complaint_id"] == k["complaint_id"]]
            assert [(t["target"], t["state"], t["minutes"]) for t in k["targets"]] == [
                (r.target, r.state, None if pd.isna(r.minutes) else round(r.minutes))
                for r in rows.itertuples(index=False)
            ]
            seen += len(k["targets"])
    assert seen > 0


def test_the_value_fit_is_the_same_with_one_blas_thread_or_more(tmp_path: Path) -> None:
    """sheetcrm's main() asks OpenBLAS for one thread (a faster numpy import): the fitted
    models must not depend on it."""
    code = (
        "import json, sys; from datetime import date;"
        "from sheetcrm.workbook.validation import load; from sheetcrm.rules import value;"
        "book, _ = load(sys.argv[1], sheets=['Sales']);"
        "est = value.estimate(book.sales, date(2026, 11, 20));"
        "print(json.dumps([est.purchases, est.spend, est.customers['p_alive'].tolist()]))"
    )
    from tests.conftest import SAMPLE

    outputs = []
    for threads in ("1", "2"):
        env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "PYTHONPATH": str(ROOT)}
        proc = subprocess.run(
            [sys.executable, "-c", code, str(SAMPLE)],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1] and json.loads(outputs[0])[0] is not None


def test_an_email_run_fits_the_value_models_once(
    sample_book: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The summary and every staff digest rank follow-ups by the same estimate: one fit,
    even where none can be kept beside the workbook."""
    from sheetcrm.delivery import outbox
    from sheetcrm.report import render as reports
    from sheetcrm.report.fits import cache_path
    from sheetcrm.rules import value

    fitted = []
    real = value.fit_bgnbd

    def counted(*args):  # type: ignore[no-untyped-def]
        fitted.append(1)
        return real(*args)

    monkeypatch.setattr(value, "fit_bgnbd", counted)
    cache_path(sample_book).mkdir()  # nothing can be kept: every estimate would fit
    when = datetime(2026, 11, 23, 7, 0)
    book, _ = load(sample_book, as_of=when)
    period = reports.week_period(book, when, None)
    run = outbox.email_messages(
        sample_book, book, period, when, "crm@example.com", ["boss@example.com"],
        per_owner=True, attach=[],
    )  # fmt: skip
    digests = [m for m in run.messages if m.key.startswith("digest:")]
    assert len(digests) >= 3 and any(m.key.startswith("weekly:") for m in run.messages)
    assert len(fitted) == 1


def test_overdue_needs_no_pandas(sla_book: Path) -> None:
    """The scheduled alert runs every few minutes: the service-level rules are plain Python
    (sla.target_rows), and the report builds its frame from the same rows."""
    for extra in ([], ["--owner", "kari"], ["--format", "json"]):
        argv = ["overdue", "-w", str(sla_book), "--as-of", "2026-11-20 15:00", *extra]
        proc = _sheetcrm(*argv, cwd=sla_book.parent)
        assert proc.returncode in (0, 1), proc.stderr[-2000:]
        assert "BREACHED" in proc.stdout or '"state"' in proc.stdout or extra, proc.stdout
        imported = {m.split(".")[0] for m in _imports(proc)}
        assert not imported & {"pandas", "numpy"}, extra
