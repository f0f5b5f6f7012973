"""Duplicate customers: detection measured on planted duplicates, and merge through the CLI."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import python_calamine
from click.testing import CliRunner

from sheetcrm.cli import cli
from sheetcrm.workbook.duplicates import (
    THRESHOLD,
    find_duplicates,
    plain_email,
    plain_name,
    plain_phone,
)
from tests.conftest import CORPUS, SAMPLE
from tests.dupes_helpers import base_customers, planted, synthetic


def _measure(frame, truth):  # type: ignore[no-untyped-def]
    found = {frozenset((p.first, p.second)) for p in find_duplicates(frame, THRESHOLD)}
    hits = len(found & truth)
    return hits / max(1, len(found)), hits / len(truth)


def test_the_same_person_written_differently_reads_the_same() -> None:
    assert plain_name("Løvås, Åse") == plain_name("ase lovas") == "ase lovas"
    assert plain_email("Jane.Doe@GMail.com") == plain_email("janedoe+shop@gmail.com")
    assert plain_email("jane.doe@example.com") != plain_email("janedoe@example.com")
    assert plain_phone("+47 961 69 774") == plain_phone("96169774") == plain_phone("004796169774")


@pytest.mark.parametrize("seed", [18, 19, 20])
def test_precision_and_recall_on_planted_duplicates(seed: int) -> None:
    corpus = CORPUS if (CORPUS / "crm-samples" / "chinook").is_dir() else None
    base = base_customers(SAMPLE, corpus)
    frame, truth = planted(base, 40 if corpus is None else 80, seed)
    precision, recall = _measure(frame, truth)
    assert recall >= 0.95 and precision >= 0.95, (precision, recall)


def test_the_corpus_customers_count_in_the_measure() -> None:
    if not (CORPUS / "crm-samples" / "chinook").is_dir():
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    base = base_customers(SAMPLE, CORPUS)
    assert base["customer_id"].str.startswith("K-").sum() == 59
    assert base["address"].notna().sum() >= 59


def test_namesakes_are_not_duplicates() -> None:
    # 10,000 customers, many sharing a name but not an e-mail or phone, plus 100 copies.
    # (How long the search takes is the benchmark's to say: `validate` runs it at 2,000
    # and 21,000 customers in bench/run.py, not a timed test.)
    frame, truth = planted(synthetic(10_000), 100, seed=5)
    precision, recall = _measure(frame, truth)
    assert recall >= 0.95 and precision >= 0.95, (precision, recall)


# ----------------------------------------------------------------------------- CLI


def run(*args: object) -> object:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def twice(sample_book: Path) -> Path:
    """The sample with Anna Kowalska (C-0001) typed in again, and a contact logged on the copy."""
    r = run(
        "customer",
        "add",
        "-w",
        sample_book,
        "--name",
        "Kowalska, Ana",
        "--phone",
        "96169774",
        "--owner",
        "Ingrid",
        "--as-of",
        "2026-11-30",
    )
    assert r.exit_code == 0, r.output
    r = run(
        "log",
        "-w",
        sample_book,
        "--customer",
        "C-0053",
        "--channel",
        "phone",
        "--type",
        "enquiry",
        "--summary",
        "asked about tyres",
        "--staff",
        "Ingrid",
        "--at",
        "2026-11-30 10:00",
    )
    assert r.exit_code == 0, r.output
    return sample_book


def _cells(path: Path, sheet: str) -> list[list[object]]:
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    return wb.get_sheet_by_name(sheet).to_python()


def test_duplicates_lists_the_pair_with_reasons(twice: Path) -> None:
    r = run("customer", "duplicates", "-w", twice)
    assert r.exit_code == 1, r.output
    assert "C-0001 Anna Kowalska" in r.output and "C-0053 Kowalska, Ana" in r.output
    assert "same phone" in r.output
    r = run("validate", "-w", twice, "--format", "json")
    import json

    found = [p for p in json.loads(r.output)["problems"] if p["code"] == "likely_duplicate"]
    assert [(p["sheet"], p["cell"], p["severity"]) for p in found] == [
        ("Customers", "B54", "warning")
    ]


def test_only_a_full_check_searches_for_likely_duplicates(twice: Path) -> None:
    # The fuzzy search costs seconds on a large list: `validate` asks for it, the
    # commands that only read the workbook (report, overdue, a write's checks) do not.
    from sheetcrm.workbook.validation import load

    _, everyday = load(twice)
    _, full = load(twice, likely_duplicates=True)
    assert ("likely_duplicate",) not in everyday.flatten("code")
    assert full.flatten("code").count(("likely_duplicate",)) == 1


def test_merge_dry_run_writes_nothing(twice: Path) -> None:
    before = twice.read_bytes()
    r = run("customer", "merge", "C-0001", "C-0053", "-w", twice, "--dry-run")
    assert r.exit_code == 0, r.output
    assert "Interactions: 1 moved (I-00756)" in r.output and "nothing was written" in r.output
    assert twice.read_bytes() == before


def test_merge_moves_history_fills_blanks_and_marks_the_other(twice: Path) -> None:
    before = {s: _cells(twice, s) for s in ("Customers", "Interactions", "Complaints", "Sales")}
    r = run("customer", "merge", "Anna Kowalska", "C-0053", "-w", twice, "--as-of", "2026-12-02")
    assert r.exit_code == 0, r.output
    assert "previous version kept" in r.output
    after = {s: _cells(twice, s) for s in before}
    # The interaction now belongs to C-0001; every other cell of every sheet is unchanged.
    inter_b, inter_a = before["Interactions"], after["Interactions"]
    cid = inter_b[0].index("customer_id")
    changed = [
        (i, j)
        for i, (rb, ra) in enumerate(zip(inter_b, inter_a, strict=True))
        for j, (x, y) in enumerate(zip(rb, ra, strict=True))
        if x != y
    ]
    assert changed == [(len(inter_b) - 1, cid)]
    assert inter_a[-1][cid] == "C-0001"
    for sheet in ("Complaints", "Sales"):
        assert after[sheet] == before[sheet]
    cust_b, cust_a = before["Customers"], after["Customers"]
    assert cust_a[:53] == cust_b[:53]  # C-0001 had no blank to fill: untouched
    head = cust_b[0]
    other = dict(zip(head, cust_a[53], strict=True))
    assert other["do_not_contact"] == "yes"
    assert other["notes"] == "merged into C-0001 on 2026-12-02"
    assert other["name"] == "Kowalska, Ana"  # kept as history
    # A second reader agrees, and the pair is no longer reported.
    ws = openpyxl.load_workbook(twice, read_only=True)["Interactions"]
    assert list(ws.iter_rows(values_only=True))[-1][cid] == "C-0001"
    r = run("customer", "duplicates", "-w", twice)
    assert r.exit_code == 0 and "No likely duplicate" in r.output
    r = run("validate", "-w", twice, "--format", "json")
    assert "likely_duplicate" not in r.output and "duplicate_email" not in r.output


def test_merge_fills_the_kept_rows_blank_cells(sample_book: Path) -> None:
    r = run(
        "customer",
        "add",
        "-w",
        sample_book,
        "--name",
        "Aase Lovaas",
        "--phone",
        "+47 400 11 222",
        "--owner",
        "Øyvind",
        "--as-of",
        "2026-11-30",
    )
    assert r.exit_code == 0, r.output
    r = run("customer", "merge", "C-0004", "C-0053", "-w", sample_book, "--as-of", "2026-12-02")
    assert r.exit_code == 0, r.output
    assert "C-0004 phone: (empty) -> +47 400 11 222" in r.output
    rows = _cells(sample_book, "Customers")
    assert dict(zip(rows[0], rows[4], strict=True))["phone"] == "+47 400 11 222"


def test_merge_refuses_one_customer_with_itself(twice: Path) -> None:
    before = twice.read_bytes()
    r = run("customer", "merge", "C-0001", "anna.kowalska@example.org", "-w", twice)
    assert r.exit_code == 2 and "same customer" in r.output and "Traceback" not in r.output
    r = run("customer", "merge", "C-0001", "C-0053", "-w", twice, "--as-of", "2026-12-02")
    assert r.exit_code == 0
    r = run("customer", "merge", "C-0002", "C-0053", "-w", twice)
    assert r.exit_code == 2 and "already merged into C-0001" in r.output
    assert twice.read_bytes() != before


def test_merge_can_remove_the_other_row_by_a_setting(twice: Path) -> None:
    _set(twice, "merged_customers", "remove")
    before = _cells(twice, "Customers")
    r = run("customer", "merge", "C-0001", "C-0053", "-w", twice)
    assert r.exit_code == 0, r.output
    assert "emptied" in r.output
    after = _cells(twice, "Customers")
    assert after[:53] == before[:53]
    assert len(after) == 53 or all(v in ("", None) for v in after[53])
    inter = _cells(twice, "Interactions")
    assert inter[-1][inter[0].index("customer_id")] == "C-0001"
    r = run("validate", "-w", twice)
    assert r.exit_code == 0, r.output


def test_a_bad_merged_customers_setting_is_named(sample_book: Path) -> None:
    _set(sample_book, "merged_customers", "delete")
    r = run("validate", "-w", sample_book)
    assert "merged_customers" in r.output and "type keep or remove" in r.output


def _set(path: Path, key: str, value: str) -> None:
    """The owner types a Settings value in Excel (a row added if the key is not there)."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Settings"]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == key:
            row[1].value = value
            break
    else:
        ws.append([key, value])
    wb.save(path)


def test_the_owners_address_column_counts(sample_book: Path) -> None:
    r = run(
        "customer",
        "add",
        "-w",
        sample_book,
        "--name",
        "A Kowalska-Nowak",
        "--owner",
        "Ingrid",
        "--as-of",
        "2026-11-30",
    )
    assert r.exit_code == 0, r.output
    # A married name and an initial alone are not enough to call them one person...
    r = run("customer", "duplicates", "-w", sample_book)
    assert r.exit_code == 0 and "No likely duplicate" in r.output
    # ...but at the same address (the owner's own column, with the town beside it) they are.
    wb = openpyxl.load_workbook(sample_book)
    ws = wb["Customers"]
    col = ws.max_column + 1
    ws.cell(1, col, "Address")
    ws.cell(1, col + 1, "City")
    for row in (2, 54):
        ws.cell(row, col, "Strandgaten 12")
        ws.cell(row, col + 1, "Bergen")
    ws.cell(3, col, "Strandgaten 14")
    wb.save(sample_book)
    r = run("customer", "duplicates", "-w", sample_book)
    assert r.exit_code == 1, r.output
    assert "C-0001 Anna Kowalska  =  C-0053 A Kowalska-Nowak" in r.output
    assert "same address" in r.output


def test_merge_keeps_a_do_not_contact_wish_given_under_the_other_row(sample_book: Path) -> None:
    r = run(
        "customer",
        "add",
        "-w",
        sample_book,
        "--name",
        "Anna Kowalska",
        "--owner",
        "Ingrid",
        "--as-of",
        "2026-11-30",
    )
    assert r.exit_code == 0, r.output
    r = run(
        "customer",
        "edit",
        "C-0053",
        "-w",
        sample_book,
        "--set",
        "do_not_contact=yes",
        "--set",
        "notes=No calls, please",
    )
    assert r.exit_code == 0, r.output
    r = run("customer", "merge", "C-0001", "C-0053", "-w", sample_book, "--as-of", "2026-12-02")
    assert r.exit_code == 0, r.output
    assert "C-0001 do_not_contact: no -> yes" in r.output
    rows = _cells(sample_book, "Customers")
    kept = dict(zip(rows[0], rows[1], strict=True))
    assert kept["do_not_contact"] == "yes" and kept["notes"] == "No calls, please"


def test_the_search_finds_the_same_pairs_during_the_read_or_after_it(
    twice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Searched while Interactions is laid out, or after the reading when the next sheet is
    too big to lay out beside (a million rows): the same warnings, on the same cells."""
    from sheetcrm.workbook import reader
    from sheetcrm.workbook.validation import load

    _, during = load(twice, likely_duplicates=True)
    monkeypatch.setattr(reader, "_AHEAD_BYTES", 0)
    _, after = load(twice, likely_duplicates=True)
    found = [p for p in during.problems if p.code == "likely_duplicate"]
    assert found and found == [p for p in after.problems if p.code == "likely_duplicate"]


@pytest.mark.parametrize("seed", range(6))
def test_the_search_finds_every_pair_that_shares_a_block_and_scores_enough(seed: int) -> None:
    """The search leaves pairs out by what their names cannot make up for (conflicting
    e-mails and phones, see duplicates._close_names); scoring every pair that shares a
    block finds the same pairs. Few names, e-mails and phones, so many pairs collide."""
    import random

    from sheetcrm.workbook import duplicates as d

    rng = random.Random(seed)
    first = ["Ola", "Kari", "Ole", "Karin", "Jonas", "Jon", "Ida", "Ina", "Berit", "Bert"]
    last = ["Hansen", "Hanssen", "Olsen", "Olson", "Berg", "Bergh", "Lie", "Lien"]
    rows = []
    for n in range(300):
        name = f"{rng.choice(first)} {rng.choice(last)}"
        if rng.random() < 0.2:
            name = ", ".join(reversed(name.split()))
        rows.append(
            {
                "customer_id": f"C-{n:04d}",
                "name": name,
                "email": rng.choice([None, f"{name.split()[0].lower()}{rng.randrange(9)}@x.no"]),
                "phone": rng.choice([None, f"9{rng.randrange(3):07d}", f"4{rng.randrange(50):07}"]),
                "company": rng.choice([None, None, "Berg AS", "Lie og Sønn"]),
                "address": rng.choice([None, "Storgata 1", "Storgata 2"]),
            }
        )
    frame = pd.DataFrame(rows)
    found = {(p.first, p.second, p.score, p.reasons) for p in d.find_duplicates(frame)}
    plain = [
        (
            d.plain_name(r["name"]),
            d.plain_email(r["email"]),
            d.plain_phone(r["phone"]),
            d.plain_address(r["address"]),
            d.plain_name(r["company"]),
        )
        for r in rows
    ]
    keys = []
    for name, email, phone, address, _company in plain:
        local = d._email_local(email) if email else ""
        keys.append(set(d._blocks(name, email, local, phone, address)))
    sizes = Counter(k for ks in keys for k in ks)
    expected = set()
    for i, j in itertools.combinations(range(len(rows)), 2):
        shared = {k for k in keys[i] & keys[j] if k[0] in "elpa" or sizes[k] <= d._MAX_BLOCK}
        if not shared:
            continue
        (ni, ei, pi, ai, ci), (nj, ej, pj, aj, cj) = plain[i], plain[j]
        locals_ = (d._email_local(ei) if ei else "", d._email_local(ej) if ej else "")
        score, reasons = d._score((ni, nj), (ei, ej), locals_, (pi, pj), (ai, aj), (ci, cj))
        if score >= d.THRESHOLD:
            ids = (rows[i]["customer_id"], rows[j]["customer_id"])
            expected.add((*ids, round(score, 1), tuple(reasons)))
    assert len(expected) >= 10  # the test means something: pairs to find
    assert found == expected
