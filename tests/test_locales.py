"""The translation catalogues: one translation per text (JSON keeps the last of two silently)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

LOCALES = sorted((Path(__file__).resolve().parent.parent / "sheetcrm" / "locales").glob("*.json"))


@pytest.mark.parametrize("catalogue", LOCALES, ids=lambda p: p.name)
def test_no_text_is_translated_twice(catalogue: Path) -> None:
    keys: list[str] = []

    def collect(pairs: list[tuple[str, object]]) -> dict[str, object]:
        keys.extend(k for k, _ in pairs)
        return dict(pairs)

    json.loads(catalogue.read_text(encoding="utf-8"), object_pairs_hook=collect)
    assert [k for k, n in Counter(keys).items() if n > 1] == []
