"""The survey figures: what customers themselves said when asked after a complaint or sale.

Pure: a Book and a period in, plain numbers out (the report shows them; the
asking and the answers' mail are :mod:`sheetcrm.delivery.survey`'s).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pandas as pd

from sheetcrm.workbook.book import Book

__all__ = ["ORDER_IN_SUMMARY", "cases", "figures"]


# A sale's survey rows carry the order in their summary ("... about order S-0001"):
# Interactions has no order column, and these summaries are written by sheetcrm.
ORDER_IN_SUMMARY = re.compile(r"\border ([A-Za-z0-9][A-Za-z0-9_-]*)")


def cases(frame: pd.DataFrame) -> pd.Series:
    """Which survey each row is about: its complaint_id, else the order in its summary."""
    orders = frame["summary"].astype("string").str.extract(ORDER_IN_SUMMARY, expand=False)
    return frame["complaint_id"].astype("object").where(frame["complaint_id"].notna(), orders)


def figures(book: Book, period: Any, as_of: datetime) -> dict[str, Any]:
    """The weekly report's survey block: sent, answered, response rate, share satisfied.

    * ``sent``: surveys sent in the period (outbound ``survey`` interactions);
    * ``answered``: of those, the ones with a scored answer by ``as_of``;
    * ``response_rate``: answered / sent (None when none were sent);
    * ``scores``: scored answers received in the period, ``satisfied`` those 4 or 5,
      ``satisfied_share`` satisfied / scores;
    * ``staff_average``: the average satisfaction staff entered on other
      interactions in the period, to compare with what customers say themselves;
    * ``low``: answers of 1 or 2 in the period, with the customer's comment.
    """
    inter = book.interactions
    lo = pd.Timestamp(period.start)
    hi = pd.Timestamp(period.end) + pd.Timedelta(days=1)
    in_period = (inter["date"] >= lo) & (inter["date"] < hi)
    is_survey = inter["type"] == "survey"
    sent = inter[is_survey & (inter["direction"] == "outbound") & in_period]
    answers = inter[is_survey & (inter["direction"] != "outbound") & inter["satisfaction"].notna()]
    answers = answers[answers["date"] <= pd.Timestamp(as_of)]
    answered_cases = set(cases(answers).dropna())
    answered = int(cases(sent).isin(answered_cases).sum())
    scores = answers[(answers["date"] >= lo) & (answers["date"] < hi)]
    satisfied = int((scores["satisfaction"] >= 4).sum())
    staff_rated = inter[in_period & ~is_survey & inter["satisfaction"].notna()]
    # An id typed twice is one customer: the first row wins, as in every lookup by id.
    customers = book.customers.drop_duplicates("customer_id").set_index("customer_id")["name"]
    low_rows = scores[scores["satisfaction"] <= 2]
    low = [
        {
            "complaint_id": "" if pd.isna(case) else str(case),  # or the order asked about
            "customer_id": r.customer_id,
            "customer": customers.get(r.customer_id, ""),
            "score": int(r.satisfaction),
            "comment": str(r.summary or ""),
            "date": pd.Timestamp(r.date).isoformat(timespec="minutes"),  # JSON-ready
        }
        for r, case in zip(low_rows.itertuples(index=False), cases(low_rows), strict=True)
    ]
    return {
        "sent": len(sent),
        "answered": answered,
        "response_rate": answered / len(sent) if len(sent) else None,
        "scores": len(scores),
        "satisfied": satisfied,
        "satisfied_share": satisfied / len(scores) if len(scores) else None,
        "average": float(scores["satisfaction"].mean()) if len(scores) else None,
        "staff_average": float(staff_rated["satisfaction"].mean()) if len(staff_rated) else None,
        "staff_responses": len(staff_rated),
        "low": low,
    }
