"""Customer value on the bundled sample: some good customers are slipping, and we know whom to call.

Issue 17 is done when the owner of the sample workbook can see which good customers
are slipping and whom to call first. These tests go through the CLI on a copy of
sample_workbook.xlsx at the sample's as-of (Friday 2026-11-20 15:00).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sheetcrm.cli import cli
from sheetcrm.workbook.sample import sample_records
from tests.conftest import SAMPLE

AT = ["--as-of", "2026-11-20 15:00"]


@pytest.fixture(scope="module")
def value_json(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    book = tmp_path_factory.mktemp("value") / "sample.xlsx"
    book.write_bytes(SAMPLE.read_bytes())
    result = CliRunner().invoke(
        cli, ["report", "-w", str(book), *AT, "--format", "json", "--out", "-"]
    )
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.stdout)["customer_value"]
    return found


def test_the_fit_finds_customers_slipping_and_lost(value_json: dict[str, Any]) -> None:
    assert value_json["estimate"] is True, value_json["reason"]
    purchases = value_json["models"]["purchases"]
    # A real dropout rate: the chance of dropping out after an order, a / (a + b).
    assert purchases["a"] / (purchases["a"] + purchases["b"]) > 0.005
    bands = value_json["bands"]
    assert bands["slipping"] >= 3
    assert bands["probably_lost"] >= 1
    assert bands["very_likely_active"] > bands["slipping"] + bands["probably_lost"]


def test_whom_to_call_has_an_owner_and_a_way_to_reach_them(value_json: dict[str, Any]) -> None:
    rows = value_json["slipping"]
    assert len(rows) >= 3
    customers = {c["customer_id"]: c for c in sample_records()["Customers"]}
    for row in rows:
        assert row["owner"], row
        assert row["phone"] or row["email"], row
        assert 0.3 <= row["p_alive"] < 0.8, row
        person = customers[row["customer_id"]]
        assert (row["name"], row["owner"]) == (person["name"], person["owner"])
        assert person["do_not_contact"] == "no"
    # Whom to call first: the most value at risk leads.
    stakes = [row["value_at_risk"] for row in rows]
    assert stakes == sorted(stakes, reverse=True)


def test_slipping_customers_are_good_repeat_buyers(value_json: dict[str, Any]) -> None:
    """Several orders on different days and decent spend, then a long silence."""
    sales = sample_records()["Sales"]
    as_of = date.fromisoformat(value_json["as_of"])
    assert value_json["slipping"]
    for row in value_json["slipping"]:
        mine = [s for s in sales if s["customer_id"] == row["customer_id"]]
        days = {s["date"] for s in mine}
        assert len(days) >= 2, row
        assert sum(float(s["amount"]) for s in mine) >= 3_000, row  # type: ignore[arg-type]
        silent = (as_of - max(days)).days  # type: ignore[operator]
        assert silent > row["usual_gap_days"], row


def test_customer_show_of_a_slipping_customer(
    runner: Any, sample_book: Path, value_json: dict[str, Any]
) -> None:
    first = value_json["slipping"][0]
    result = runner.invoke(
        cli, ["customer", "show", first["customer_id"], "-w", str(sample_book), *AT]
    )
    assert result.exit_code == 0, result.output
    assert f"Still a customer? Slipping (P(alive) {first['p_alive']:.2f})" in result.stdout


def test_followups_say_who_is_likely_slipping_away(
    runner: Any, sample_book: Path, value_json: dict[str, Any]
) -> None:
    result = runner.invoke(cli, ["followups", "-w", str(sample_book), *AT])
    assert result.exit_code in (0, 1), result.output
    assert "Likely slipping away (P(alive)" in result.stdout
    slipping_names = {row["name"] for row in value_json["slipping"]}
    assert sum(name in result.stdout for name in slipping_names) >= 3
