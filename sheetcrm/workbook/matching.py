"""Fuzzy look-ups for "did you mean ...?": ids, names and emails typed slightly wrong.

rapidfuzz does the scoring. Ids are compared by optimal string alignment, so
the typical slip of swapping two digits (C-0102 for C-0012) counts as one edit,
not two.
"""

from __future__ import annotations

from collections.abc import Sequence

# rapidfuzz is imported inside the functions: most runs never need a suggestion,
# and start-up time counts for a command run many times a day.


def closest_ids(value: str, choices: Sequence[str], *, limit: int = 3) -> list[str]:
    """The ids nearest to ``value``, best first; empty when nothing is close.

    >>> closest_ids("C-0102", ["C-0001", "C-0012", "C-0200"])
    ['C-0012']
    """
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    found = process.extract(
        value.casefold(),
        [c.casefold() for c in choices],
        scorer=OSA.normalized_similarity,
        limit=limit,
        score_cutoff=0.6,
    )
    best = max((score for _, score, _ in found), default=0)
    return [choices[i] for _, score, i in found if score >= best - 1e-9]


def closest_texts(value: str, choices: Sequence[str], *, limit: int = 3) -> list[str]:
    """Names or emails resembling ``value`` (``jane`` finds ``Jane Doe``), best first."""
    from rapidfuzz import fuzz, process

    found = process.extract(
        value.casefold(),
        [c.casefold() for c in choices],
        scorer=fuzz.WRatio,
        limit=limit,
        score_cutoff=80,
    )
    return [choices[i] for _, _, i in found]
