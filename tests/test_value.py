"""Customer value (sheetcrm.rules.value): the fit against a reference, guards, where it shows."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetcrm.cli import cli
from sheetcrm.rules import value
from tests.conftest import CORPUS, contact, customer

CDNOW = CORPUS / "crm-samples" / "cdnow" / "CDNOW_sample.txt"
CDNOW_END = date(1997, 9, 30)  # the paper's 39-week calibration period
# Fader, Hardie & Lee (2005) and the lifetimes docs, CDNOW sample, time in weeks.
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def _cdnow() -> pd.DataFrame:
    if not CDNOW.is_file():
        pytest.skip(f"the CDNOW sample is not at {CDNOW}")
    frame = pd.read_csv(
        CDNOW,
        sep=r"\s+",
        header=None,
        names=["customer_id", "index", "date", "quantity", "amount"],
        dtype={"customer_id": str, "date": str},
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d").dt.date
    return frame


def _all_buyers(sales: pd.DataFrame, end: date) -> pd.DataFrame:
    """x, t_x, T in days for every buyer, zero-value orders included (as the paper counts)."""
    rows = sales[sales["date"] <= end]
    days = rows.assign(day=rows["date"].map(date.toordinal)).drop_duplicates(["customer_id", "day"])
    per = days.groupby("customer_id")["day"].agg(["min", "max", "size"])
    return pd.DataFrame(
        {
            "x": per["size"] - 1,
            "t_x": (per["max"] - per["min"]).astype(float),
            "T": (end.toordinal() - per["min"]).astype(float),
        }
    )


def test_bgnbd_matches_the_published_cdnow_parameters() -> None:
    data = _all_buyers(_cdnow(), CDNOW_END)
    assert len(data) == 2357
    fit, settled = value.fit_bgnbd(data["x"], data["t_x"], data["T"])
    assert settled
    weekly = fit | {"alpha": fit["alpha"] / 7}  # α carries the time unit; the rest do not
    for name, published in PUBLISHED_BGNBD.items():
        assert weekly[name] == pytest.approx(published, rel=0.005), name


def test_gamma_gamma_matches_the_published_cdnow_parameters() -> None:
    est = value.estimate(_cdnow(), CDNOW_END)
    assert est.repeat_buyers == 946
    assert est.spend is not None
    for name, published in PUBLISHED_GAMMA_GAMMA.items():
        assert est.spend[name] == pytest.approx(published, rel=0.005), name


def test_fit_and_predictions_agree_with_lifetimes() -> None:
    lifetimes = pytest.importorskip("lifetimes", reason="lifetimes is the test reference")
    est = value.estimate(_cdnow(), CDNOW_END)
    table = est.customers
    reference = lifetimes.BetaGeoFitter().fit(table["frequency"], table["recency"], table["age"])
    assert est.purchases is not None
    for name in ("r", "alpha", "a", "b"):
        assert est.purchases[name] == pytest.approx(reference.params_[name], rel=1e-3), name
    alive = reference.conditional_probability_alive(
        table["frequency"], table["recency"], table["age"]
    )
    assert np.allclose(table["p_alive"], alive, atol=1e-3)
    expected = reference.conditional_expected_number_of_purchases_up_to_time(
        value.HORIZON_DAYS, table["frequency"], table["recency"], table["age"]
    )
    assert np.allclose(table["expected_orders"], expected, atol=1e-3, rtol=1e-3)
    repeat = table[table["frequency"] > 0]
    spend = lifetimes.GammaGammaFitter().fit(repeat["frequency"], repeat["monetary"])
    assert est.spend is not None
    for mine, theirs in (("p", "p"), ("q", "q"), ("gamma", "v")):
        assert est.spend[mine] == pytest.approx(spend.params_[theirs], rel=1e-3)
    theirs_value = spend.conditional_expected_average_profit(
        repeat["frequency"], repeat["monetary"]
    )
    assert np.allclose(repeat["expected_order_value"], theirs_value, rtol=1e-3)


# ------------------------------------------------------------------ properties

PARAMS = st.tuples(
    st.floats(0.05, 20), st.floats(0.5, 500), st.floats(0.05, 20), st.floats(0.05, 20)
)


@settings(max_examples=200, deadline=None)
@given(PARAMS, st.integers(0, 200), st.floats(0, 1), st.floats(0, 2000))
def test_p_alive_is_a_probability(params: Any, x: int, share: float, age: float) -> None:
    p = float(value.p_alive(params, [x], [age * share], [age])[0])
    assert 0.0 <= p <= 1.0


@settings(max_examples=100, deadline=None)
@given(PARAMS, st.floats(0, 2000))
def test_no_repeat_purchase_means_alive(params: Any, age: float) -> None:
    assert float(value.p_alive(params, [0], [0.0], [age])[0]) == 1.0


@settings(max_examples=200, deadline=None)
@given(PARAMS, st.integers(1, 100), st.floats(0, 1), st.floats(0, 1), st.floats(1, 2000))
def test_a_more_recent_purchase_never_lowers_p_alive(
    params: Any, x: int, a: float, b: float, age: float
) -> None:
    early, late = sorted((a * age, b * age))
    p_early, p_late = value.p_alive(params, [x, x], [early, late], [age, age])
    assert p_late >= p_early - 1e-12


@settings(max_examples=100, deadline=None)
@given(PARAMS, st.integers(1, 100), st.floats(1, 2000))
def test_a_customer_who_just_bought_is_as_alive_as_bg_nbd_allows(
    params: Any, x: int, age: float
) -> None:
    # Under BG/NBD a customer may drop out right after a purchase, so one who bought
    # today is alive with probability 1 / (1 + a / (b + x - 1)), not 1 (that holds
    # for Pareto/NBD): the most any recency can give, and 1 without a repeat.
    _, _, a, b = params
    today = float(value.p_alive(params, [x], [age], [age])[0])
    assert today == pytest.approx(1 / (1 + a / (b + x - 1)), rel=1e-9)
    assert today >= float(value.p_alive(params, [x], [age / 2], [age])[0]) - 1e-12


# ------------------------------------------------------------------ a shop


START = date(2025, 11, 1)
AS_OF_DAY = date(2026, 11, 20)


def shop_sales(buyers: int = 40, keep: int = 25) -> pd.DataFrame:
    """Regular buyers; the first ``keep`` still buy, the others stopped at different times."""
    rows = []
    for i in range(buyers):
        gap = 20 + (i % 7) * 5
        stop = 400 if i < keep else (150 + i if i < keep + 10 else 330 - (i - keep - 10) * 15)
        day, n = i % 9, 0
        while day <= min(stop, (AS_OF_DAY - START).days):
            rows.append(
                {
                    "order_id": f"S-{len(rows) + 1:05d}",
                    "date": START + timedelta(days=day),
                    "customer_id": f"C-{i + 1:04d}",
                    "amount": 200.0 + 10 * (i % 5) + 5 * n,
                    "product": "Service",
                    "staff": "Kari",
                }
            )
            day, n = day + gap, n + 1
    return pd.DataFrame(rows)


def test_the_fit_is_deterministic() -> None:
    first = value.estimate(shop_sales(), AS_OF_DAY)
    second = value.estimate(shop_sales(), AS_OF_DAY)
    assert first.purchases == second.purchases and first.spend == second.spend
    pd.testing.assert_frame_equal(first.customers, second.customers)


def test_customers_who_stopped_are_not_very_likely_active() -> None:
    est = value.estimate(shop_sales(), AS_OF_DAY)
    assert est.fitted
    bands = est.customers["band"]
    assert (bands.iloc[:25] == "very_likely_active").all()
    assert (bands.iloc[25:35] != "very_likely_active").all()  # stopped half a year ago
    assert (est.customers["expected_value"] >= 0).all()


def test_five_repeat_buyers_get_the_reason_not_a_fit() -> None:
    est = value.estimate(shop_sales(buyers=5, keep=5), AS_OF_DAY)
    assert not est.fitted
    assert est.reason == (
        "not enough history: 5 customers have bought on two different days; the estimate needs 20"
    )
    assert est.customers["p_alive"].isna().all()


def test_bands() -> None:
    assert value.band(0.8) == "very_likely_active"
    assert value.band(0.79) == "slipping"
    assert value.band(0.3) == "slipping"
    assert value.band(0.29) == "probably_lost"


# ------------------------------------------------------------------ through the CLI


def _shop_book(make_book: Any, valid_records: dict[str, Any], sales: pd.DataFrame) -> Path:
    records = dict(valid_records)
    ids = sorted(sales["customer_id"].unique())
    records["Customers"] = [customer(cid, f"Buyer{cid[-4:]}") for cid in ids]
    # One old contact each: every customer is also "gone quiet", so all are due a contact.
    records["Interactions"] = [
        contact(f"I-{n:04d}", datetime(2025, 11, 10, 10), cid) for n, cid in enumerate(ids, 1)
    ]
    records["Complaints"] = []
    records["Sales"] = sales.to_dict("records")
    return make_book(records)


def test_customer_show_and_followups_show_a_slipping_customer(
    runner: Any, make_book: Any, valid_records: dict[str, Any]
) -> None:
    path = _shop_book(make_book, valid_records, shop_sales())
    est = value.estimate(shop_sales(), AS_OF_DAY)
    slipping = est.customers[est.customers["band"] == "slipping"]
    cid = str(slipping.index[0])
    p = slipping["p_alive"].iloc[0]
    shown = runner.invoke(cli, ["customer", "show", cid, "-w", str(path), "--as-of", "2026-11-20"])
    assert shown.exit_code == 0, shown.output
    assert f"Still a customer? Slipping (P(alive) {p:.2f})" in shown.output
    assert "Expected orders in the next 90 days" in shown.output
    assert "Segment: " in shown.output
    data = runner.invoke(
        cli,
        ["customer", "show", cid, "-w", str(path), "--as-of", "2026-11-20", "--format", "json"],
    )
    figures = json.loads(data.output)["value"]
    assert figures["band"] == "slipping" and figures["p_alive"] == round(p, 2)

    due = runner.invoke(
        cli, ["followups", "-w", str(path), "--as-of", "2026-11-20", "--format", "json"]
    )
    assert due.exit_code == 0, due.output
    rows = json.loads(due.output)
    mine = [r for r in rows if r["customer_id"] == cid]
    assert mine and "slipping_away" in mine[0]["reasons"]
    gap = slipping["usual_gap_days"].iloc[0]
    assert (
        f"Likely slipping away (P(alive) {p:.2f}, usually orders every {gap:.0f} days)"
        in (mine[0]["why"])
    )
    # Most value at risk first.
    stakes = est.customers["value_at_risk"].fillna(0.0).round()  # whole currency units
    order = [stakes.get(r["customer_id"], 0.0) for r in rows if not r["suppressed"]]
    assert order == sorted(order, reverse=True)


def test_a_shop_with_five_repeat_buyers_is_told_why(
    runner: Any, make_book: Any, valid_records: dict[str, Any]
) -> None:
    path = _shop_book(make_book, valid_records, shop_sales(buyers=5, keep=5))
    shown = runner.invoke(
        cli, ["customer", "show", "C-0001", "-w", str(path), "--as-of", "2026-11-20"]
    )
    assert shown.exit_code == 0, shown.output
    assert "No estimate: not enough history: 5 customers have bought" in shown.output
    out = path.parent / "out"
    report = runner.invoke(
        cli,
        ["report", "-w", str(path), "--as-of", "2026-11-20", "--format", "md", "--out", str(out)],
    )
    assert report.exit_code == 0, report.output
    text = next(out.glob("*.md")).read_text(encoding="utf-8")
    assert "No estimate yet: 5 customers have bought on two different days" in text


def test_the_report_lists_whom_to_call(
    runner: Any, make_book: Any, valid_records: dict[str, Any]
) -> None:
    path = _shop_book(make_book, valid_records, shop_sales())
    out = path.parent / "out"
    report = runner.invoke(
        cli,
        [
            "report", "-w", str(path), "--as-of", "2026-11-20",
            "--format", "md,html,docx", "--out", str(out),
        ],
    )  # fmt: skip
    assert report.exit_code == 0, report.output
    md = next(out.glob("*.md")).read_text(encoding="utf-8")
    html = next(out.glob("*.html")).read_text(encoding="utf-8")
    est = value.estimate(shop_sales(), AS_OF_DAY)  # whom to call: as of the day it is made
    slipping = est.customers[est.customers["band"] == "slipping"]
    top = slipping.sort_values("value_at_risk", ascending=False).index[0]
    assert "Customer value" in md and "Customer value" in html
    assert f"Buyer{top[-4:]}" in md.split("whom to call first")[1]
    assert "Ladder of loyalty" in html
    from docx import Document

    word = [p.text for p in Document(str(next(out.glob("*.docx")))).paragraphs]
    assert "Customer value" in word
    called = word[word.index("Good customers slipping away: whom to call first") + 2]
    assert called.startswith(f"Buyer{top[-4:]} ({top}")


def test_the_sample_workbook_fits_and_renders(runner: Any, sample_book: Path) -> None:
    from sheetcrm.cli.app import load_book
    from sheetcrm.report.render import build_context, week_period

    as_of = pd.Timestamp("2026-11-20 15:00").to_pydatetime()
    book = load_book(sample_book, as_of)
    context = build_context(book, week_period(book, as_of), as_of, with_charts=False)
    section = context["customer_value"]
    assert section["estimate"] or section["reason"]
    assert sum(s["customers"] for s in section["segments"]) == section["buyers"]
    json.dumps(section)  # plain data, for report --format json


def test_the_section_is_plain_data_with_an_estimate() -> None:
    customers = pd.DataFrame(
        {"customer_id": [f"C-{i:04d}" for i in range(1, 41)], "stage": "customer", "name": "x"}
    )
    sales = shop_sales()
    section = value.report_section(
        value.estimate(sales, AS_OF_DAY), sales, customers, date(2026, 11, 15), date(2026, 11, 8)
    )
    assert section["estimate"] and section["slipping"]
    again = json.loads(json.dumps(section))
    assert again == section
    assert [s["segment"] for s in section["segments"]] == list(value.rfm.SEGMENTS)


def test_the_exact_gradients_match_finite_differences() -> None:
    from scipy.optimize import approx_fprime

    rng = np.random.default_rng(7)
    x = rng.integers(0, 12, 60).astype(float)
    age = rng.uniform(1, 40, 60)
    t_x = np.where(x > 0, age * rng.uniform(0, 1, 60), 0.0)
    for params in ([0.5, 3.0, 0.8, 2.5], [2.0, 10.0, 1.5, 0.7]):
        numeric = approx_fprime(
            np.array(params), lambda p: value.bgnbd_log_likelihood(p, x, t_x, age).sum(), 1e-7
        )
        exact = value.bgnbd_gradient(params, x, t_x, age).sum(axis=1)
        assert np.allclose(exact, numeric, rtol=1e-4, atol=1e-4)
    m_x = rng.uniform(5, 50, 60)
    repeat = np.maximum(x, 1)
    for params in ([6.0, 3.7, 15.0], [1.2, 2.0, 4.0]):
        numeric = approx_fprime(
            np.array(params),
            lambda p: value.gamma_gamma_log_likelihood(p, repeat, m_x).sum(),
            1e-7,
        )
        exact = value.gamma_gamma_gradient(params, repeat, m_x).sum(axis=1)
        assert np.allclose(exact, numeric, rtol=1e-4, atol=1e-4)


def test_a_stake_below_one_unit_does_not_reorder_followups() -> None:
    # Sample-like history: nobody seems to leave, so every stake is a tiny fraction.
    hints = value.followup_hints(value.estimate(shop_sales(buyers=30, keep=30), AS_OF_DAY))
    assert all(h.value_at_risk == round(h.value_at_risk) for h in hints.values())
    assert all(h.value_at_risk >= 1 or h.sentence for h in hints.values())
