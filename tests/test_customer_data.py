"""One customer's data through the CLI: export a copy, erase every trace sheetcrm keeps."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from click.testing import CliRunner

from sheetcrm.cli import cli
from tests.conftest import SAMPLE

SHEETS = ("Customers", "Interactions", "Complaints", "Sales", "Staff", "Settings")


def run(*args: object) -> object:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A workbook with everything sheetcrm writes beside it: reports, kept mail, backups."""
    book = tmp_path / "crm.xlsx"
    shutil.copyfile(SAMPLE, book)
    r = run("report", "-w", book, "--as-of", "2026-11-30", "--format", "html,docx,md,json")
    assert r.exit_code == 0, r.output
    r = run(
        "email",
        "-w",
        book,
        "--to",
        "o@example.com",
        "--dry-run",
        tmp_path / "mail",
        "--as-of",
        "2026-11-30",
    )
    assert r.exit_code == 0, r.output
    for who in ("C-0001", "C-0005"):
        r = run(
            "log",
            "-w",
            book,
            "--customer",
            who,
            "--channel",
            "phone",
            "--type",
            "enquiry",
            "--summary",
            f"<b>asked</b> about a =SUM(A1) bike for {who}",
            "--staff",
            "Ingrid",
            "--at",
            "2026-11-30 10:00",
        )
        assert r.exit_code == 0, r.output
    return book


def _text(path: Path) -> str:
    """A second, independent reading of a file: zips unpacked, e-mails decoded."""
    data = path.read_bytes()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            return "\n".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist())
    if path.suffix == ".eml":
        msg = email.message_from_bytes(data, policy=email.policy.default)
        parts = [str(v) for v in msg.values()]
        for part in msg.walk():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                parts.append(payload.decode("utf-8", "replace"))
        return "\n".join(parts)
    text = data.decode("utf-8", "replace")
    if path.suffix == ".json":
        text += json.dumps(json.loads(text), ensure_ascii=False)
    return text


def _all_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".lock"))


def _sheet(path: Path, sheet: str) -> list[list[object]]:
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    return wb.get_sheet_by_name(sheet).to_python()


def _openpyxl(path: Path, sheet: str) -> list[tuple[object, ...]]:
    return list(openpyxl.load_workbook(path, read_only=True)[sheet].iter_rows(values_only=True))


def test_export_writes_their_rows_as_json_and_an_escaped_page(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy"
    r = run("customer", "export", "C-0001", "-w", shop, "--out", out)
    assert r.exit_code == 0, r.output
    data = json.loads((out / "customer-C-0001.json").read_text(encoding="utf-8"))
    rows = _sheet(shop, "Interactions")
    cid = rows[0].index("customer_id")
    expected = sorted(str(r[0]) for r in rows[1:] if r[cid] == "C-0001")
    assert sorted(r["interaction_id"] for r in data["sheets"]["Interactions"]) == expected
    assert data["sheets"]["Customers"][0]["email"] == "anna.kowalska@example.org"
    assert all(r["customer_id"] == "C-0001" for r in data["sheets"]["Sales"])
    page = (out / "customer-C-0001.html").read_text(encoding="utf-8")
    assert "&lt;b&gt;asked&lt;/b&gt;" in page and "<b>asked" not in page
    assert data["emails"] and (out / "mail" / data["emails"][0]).is_file()
    # A second export into the same folder is refused rather than overwriting the first.
    r = run("customer", "export", "C-0001", "-w", shop, "--out", out)
    assert r.exit_code == 2 and "already exists" in r.output


def test_erase_dry_run_changes_nothing(shop: Path) -> None:
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in _all_files(shop.parent)}
    r = run("customer", "erase", "C-0001", "-w", shop, "--dry-run")
    assert r.exit_code == 0, r.output
    assert "would delete" in r.output and "AutoRecover" in r.output
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in _all_files(shop.parent)}
    assert after == before


@pytest.mark.parametrize(
    ("who", "traces"),
    [
        (
            "C-0001",
            [
                "Anna Kowalska",
                "anna.kowalska@example.org",
                "+47 961 69 774",
                "96169774",
                "bike for C-0001",
            ],
        ),
        (
            "C-0005",
            [
                "Bjørn Ødegård",
                "bjorn.odegard@example.org",
                "+47 938 06 119",
                "recommends us to club",
                "bike for C-0005",
            ],
        ),
    ],
)
def test_erase_leaves_no_trace_and_no_other_cell_changed(
    shop: Path, who: str, traces: list[str]
) -> None:
    before = {s: _sheet(shop, s) for s in SHEETS}
    before_op = {s: _openpyxl(shop, s) for s in SHEETS}
    r = run("customer", "erase", who, "-w", shop)
    assert r.exit_code == 0, r.output
    assert "fresh backup" in r.output and "cloud" in r.output
    files = _all_files(shop.parent)
    assert any(p.parent.name == "backups" for p in files)
    for path in files:
        text = _text(path).casefold()
        for trace in traces:
            assert trace.casefold() not in text, (path, trace)
    # Every other customer's cells, and every cell not about this customer, unchanged.
    for sheet in SHEETS:
        after, after_op = _sheet(shop, sheet), _openpyxl(shop, sheet)
        assert len(after) == len(before[sheet]) and len(after_op) == len(before_op[sheet])
        head = before[sheet][0]
        col = head.index("customer_id") if "customer_id" in head else None
        for old, new, old_op, new_op in zip(
            before[sheet], after, before_op[sheet], after_op, strict=True
        ):
            if col is not None and old[col] == who:
                assert new[col] == who  # still counted, still theirs by id
                continue
            assert new == old and new_op == old_op, (sheet, old)
    # Their interactions are still there, each with only what was said erased.
    inter = _sheet(shop, "Interactions")
    head = inter[0]
    mine = [
        dict(zip(head, r, strict=True)) for r in inter[1:] if r[head.index("customer_id")] == who
    ]
    old = [
        dict(zip(head, r, strict=True))
        for r in before["Interactions"][1:]
        if r[head.index("customer_id")] == who
    ]
    assert len(mine) == len(old) > 0
    for new_row, old_row in zip(mine, old, strict=True):
        assert new_row["summary"] == "(erased)"
        assert {k: v for k, v in new_row.items() if k != "summary"} == {
            k: v for k, v in old_row.items() if k != "summary"
        }
    r = run("validate", "-w", shop)
    assert r.exit_code == 0, r.output


def test_erased_customers_are_not_duplicates_and_not_erased_twice(shop: Path) -> None:
    for who in ("C-0001", "C-0004"):
        r = run("customer", "erase", who, "-w", shop)
        assert r.exit_code == 0, r.output
    r = run("customer", "duplicates", "-w", shop)
    assert r.exit_code == 0 and "No likely duplicate" in r.output
    before = shop.read_bytes()
    r = run("customer", "erase", "C-0001", "-w", shop)
    assert r.exit_code == 2 and "erased already" in r.output
    assert shop.read_bytes() == before
