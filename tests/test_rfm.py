"""RFM segments (sheetcrm.rules.rfm): scores, ties, the segment table, the guard."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetcrm.rules import rfm

END = date(2026, 11, 15)


def orders(*rows: tuple[str, int, float]) -> pd.DataFrame:
    """(customer, days before END, amount) -> a Sales frame."""
    return pd.DataFrame(
        [
            {"order_id": f"S-{n}", "date": END - timedelta(days=ago), "customer_id": c, "amount": a}
            for n, (c, ago, a) in enumerate(rows)
        ]
    )


def test_same_day_orders_count_once_and_refunds_and_later_orders_are_left_out() -> None:
    sales = orders(
        ("A", 10, 100.0),
        ("A", 10, 50.0),  # same day: one purchase day of 150
        ("A", 5, -80.0),  # a refund is not a purchase
        ("A", -3, 500.0),  # after the period end
    )
    days = rfm.purchases(sales, END)
    assert days.to_dict("records") == [
        {"customer_id": "A", "day": (END - timedelta(days=10)).toordinal(), "amount": 150.0}
    ]


def test_the_segment_table() -> None:
    rows: list[tuple[str, int, float]] = []
    # Ten buyers from best to worst on every score: the best buys often, lately, a lot.
    for i in range(10):
        name = f"C{i}"
        for k in range(10 - i):
            rows.append((name, 5 + 40 * i + 7 * k, 100.0 * (10 - i)))
    table = rfm.segments(orders(*rows), END)
    assert table.loc["C0", "segment"] == "champions"
    assert table.loc["C9", "segment"] == "lost"
    assert (table.loc["C0", ["r", "f", "m"]] == 5).all()
    assert (table.loc["C9", ["r", "f", "m"]] == 1).all()
    assert table.loc["C0", "orders"] == 10 and table.loc["C0", "recency_days"] == 5


def test_cant_lose_them_and_new() -> None:
    rows = [("big", 400 + 7 * k, 1000.0) for k in range(8)]  # was the best, long gone
    rows += [("fresh", 1, 20.0)]  # one small order yesterday
    rows += [(f"mid{i}", 30 + 10 * i, 100.0) for i in range(3) for _ in range(2)]
    rows += [(f"mid{i}", 35 + 10 * i, 100.0) for i in range(3)]
    table = rfm.segments(orders(*rows), END)
    assert table.loc["big", "segment"] == "cant_lose_them"
    assert table.loc["fresh", "segment"] == "new"


def test_equal_buyers_get_equal_scores() -> None:
    rows = [(f"C{i}", 30, 100.0) for i in range(12)] + [("X", 2, 900.0), ("X", 9, 900.0)]
    table = rfm.segments(orders(*rows), END)
    same = table.drop(index="X")
    assert same[["r", "f", "m"]].nunique().eq(1).all()
    assert same["segment"].nunique() == 1


def test_too_few_buyers_get_no_segment() -> None:
    table = rfm.segments(orders(("A", 1, 10.0), ("B", 2, 20.0), ("C", 3, 30.0)), END)
    assert table["segment"].isna().all()
    assert rfm.counts(table) == dict.fromkeys(rfm.SEGMENTS, 0)


def test_no_sales_at_all() -> None:
    empty = pd.DataFrame(columns=["order_id", "date", "customer_id", "amount"])
    table = rfm.segments(empty, END)
    assert table.empty
    assert sum(rfm.counts(table).values()) == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([f"C{i}" for i in range(15)]),
            st.integers(0, 700),
            st.floats(1, 10_000),
        ),
        min_size=1,
        max_size=80,
    )
)
def test_every_buyer_is_scored_and_counted(rows: Any) -> None:
    table = rfm.segments(orders(*rows), END)
    assert sorted(table.index) == sorted({c for c, _, _ in rows})
    counts = rfm.counts(table)
    assert list(counts) == list(rfm.SEGMENTS)
    if len(table) >= rfm.MIN_BUYERS:
        assert table[["r", "f", "m", "fm"]].isin([1, 2, 3, 4, 5]).all().all()
        assert set(table["segment"]) <= set(rfm.SEGMENTS)
        assert sum(counts.values()) == len(table)
