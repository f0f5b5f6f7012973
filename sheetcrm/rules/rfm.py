"""RFM segments: who buys recently, often and for much, in named groups.

Every customer with at least one order up to the period end gets three scores
from 1 to 5 (quintiles of their rank among all buyers):

- **R**ecency: days since their last order (fewer days, higher score);
- **F**requency: the days they bought on (orders on one day count once);
- **M**onetary: what they spent in all, in the Settings currency.

Customers with equal values get equal scores: the quintiles are cut on the
average rank (``rank(pct=True)``), because cutting ``qcut`` on first-come ranks
would put two one-order customers in different groups by the order of their ids.
F and M are joined into one score, FM = (F + M) / 2 rounded half up, and R and FM
name the segment:

=======  ===========  ===========  ===========  ===============  ===============
R \\ FM  1            2            3            4                5
=======  ===========  ===========  ===========  ===============  ===============
5        new          potential    potential    champions        champions
4        new          potential    potential    loyal            loyal
3        hibernating  hibernating  potential    loyal            loyal
2        hibernating  hibernating  at risk      at risk          at risk
1        lost         lost         at risk      can't lose them  can't lose them
=======  ===========  ===========  ===========  ===============  ===============

("potential" is potential loyalists.)

With fewer than :data:`MIN_BUYERS` buyers, quintiles mean nothing and no
customer gets a segment. Pure: the Sales frame and a day in, a frame out.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

#: Segment keys, best first: the order of every count and table.
SEGMENTS = (
    "champions",
    "loyal",
    "potential_loyalists",
    "new",
    "at_risk_buyers",
    "cant_lose_them",
    "hibernating",
    "lost",
)
#: The words the owner reads for each key.
SEGMENT_WORDS = {
    "champions": "champions",
    "loyal": "loyal",
    "potential_loyalists": "potential loyalists",
    "new": "new",
    "at_risk_buyers": "at risk",
    "cant_lose_them": "can't lose them",
    "hibernating": "hibernating",
    "lost": "lost",
}
MIN_BUYERS = 5

# GRID[r - 1][fm - 1]: the table in the module docstring.
GRID = (
    ("lost", "lost", "at_risk_buyers", "cant_lose_them", "cant_lose_them"),
    ("hibernating", "hibernating", "at_risk_buyers", "at_risk_buyers", "at_risk_buyers"),
    ("hibernating", "hibernating", "potential_loyalists", "loyal", "loyal"),
    ("new", "potential_loyalists", "potential_loyalists", "loyal", "loyal"),
    ("new", "potential_loyalists", "potential_loyalists", "champions", "champions"),
)
_EDGES = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


def purchases(sales: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """One row per customer and day they bought on, up to and including ``as_of``.

    Columns ``customer_id``, ``day`` (a day number, ``date.toordinal``) and
    ``amount`` (that day's total). Rows without a customer, a date or an amount
    are left out; so are days with a total of zero or less (a refund is not a
    purchase).
    """
    rows = sales[["customer_id", "date", "amount"]].dropna()
    if rows.empty:
        return pd.DataFrame(
            {
                "customer_id": pd.Series(dtype=object),
                "day": pd.Series(dtype="int64"),
                "amount": pd.Series(dtype="float64"),
            }
        )
    frame = pd.DataFrame(
        {
            "customer_id": rows["customer_id"].astype(str),
            # Day numbers: pandas compares date objects one by one, in Python.
            "day": rows["date"].map(date.toordinal).astype("int64"),
            "amount": rows["amount"].astype("float64"),
        }
    )
    frame = frame[frame["day"] <= as_of.toordinal()]
    days = frame.groupby(["customer_id", "day"], as_index=False, sort=True)["amount"].sum()
    return days[days["amount"] > 0].reset_index(drop=True)


def _score(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """1-5 by quintile of the average rank; equal values get equal scores."""
    ranks = values.rank(method="average", pct=True, ascending=higher_is_better)
    return pd.cut(ranks, _EDGES, labels=[1, 2, 3, 4, 5], include_lowest=True).astype("int64")


def segments(sales: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """RFM scores and segment per buyer, indexed by customer_id (sorted).

    Columns: ``recency_days``, ``orders`` (days bought on), ``spent``, ``r``,
    ``f``, ``m``, ``fm`` and ``segment`` (a key of :data:`SEGMENTS`, or None
    for everyone when there are fewer than :data:`MIN_BUYERS` buyers).
    """
    days = purchases(sales, as_of)
    per = days.groupby("customer_id", sort=True).agg(
        last=("day", "max"), orders=("day", "size"), spent=("amount", "sum")
    )
    result = pd.DataFrame(
        {
            "recency_days": (as_of.toordinal() - per["last"]).astype("int64"),
            "orders": per["orders"].astype("int64"),
            "spent": per["spent"].astype("float64"),
        },
        index=per.index,
    )
    if len(result) < MIN_BUYERS:
        for column in ("r", "f", "m", "fm"):
            result[column] = pd.Series(dtype="int64")
        result["segment"] = None
        return result
    result["r"] = _score(result["recency_days"], higher_is_better=False)
    result["f"] = _score(result["orders"])
    result["m"] = _score(result["spent"])
    result["fm"] = (result["f"] + result["m"] + 1) // 2
    grid = np.array(GRID, dtype=object)
    result["segment"] = grid[result["r"].to_numpy() - 1, result["fm"].to_numpy() - 1]
    return result


def counts(table: pd.DataFrame) -> dict[str, int]:
    """Customers per segment, every segment present, in :data:`SEGMENTS` order."""
    found = table["segment"].value_counts() if len(table) else pd.Series(dtype="int64")
    return {key: int(found.get(key, 0)) for key in SEGMENTS}
