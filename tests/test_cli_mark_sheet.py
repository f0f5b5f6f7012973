"""`validate --mark`: the problems sheet opens first, reads plainly, each bad cell has a note."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile

import openpyxl
import pytest
import python_calamine

from sheetcrm.cli import cli
from sheetcrm.workbook import writer
from tests.conftest import AS_OF
from tests.test_cli_write import build_decorated, sheet_part

SHEET = "CRM problems"


def mark(runner, path, code=1):
    result = runner.invoke(cli, ["validate", "-w", str(path), "--mark", "--as-of", str(AS_OF)])
    assert "Traceback" not in result.output
    assert result.exit_code == code, result.output
    return result


def notes(path, sheet):
    ws = openpyxl.load_workbook(path)[sheet]
    return {
        c.coordinate: (c.comment.author, c.comment.text)
        for row in ws.iter_rows()
        for c in row
        if c.comment
    }


def set_cells(path, sheet, row, values):
    with writer.edit(path) as tx:
        tx.update(sheet, row, values)


def member(path, name):
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)


@pytest.fixture
def broken(tmp_path):
    """The decorated workbook (the owner has a note on Interactions!H2) with two bad cells."""
    path = build_decorated(tmp_path / "crm.xlsx")
    set_cells(path, "Interactions", 2, {"channel": "fax"})
    set_cells(path, "Customers", 3, {"stage": "vip"})
    return path


def test_problems_sheet_is_active_styled_and_plain(runner, broken):
    out = mark(runner, broken)
    assert "Marked 2 problems" in out.stderr
    wb = openpyxl.load_workbook(broken)
    assert wb.active.title == SHEET
    assert [ws.sheet_view.tabSelected for ws in wb.worksheets].count(True) == 1
    ws = wb[SHEET]
    header = [c.value for c in ws[1]]
    assert header == ["where", "kind", "what is wrong", "how to fix", "code"]
    assert all(c.font.b and c.fill.fgColor.rgb == "FF1F4E78" for c in ws[1])
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert [(r[0], r[1], r[4]) for r in rows] == [
        ("Customers!H3", "error", "not_in_list"),
        ("Interactions!E2", "error", "not_in_list"),
    ]
    assert rows[0][2] == "stage 'vip' is not one of the allowed values"
    assert rows[0][3].endswith(
        "choose one of: prospect, customer, client, supporter, advocate, partner"
    )
    assert ws["A2"].hyperlink.location == "Customers!H3"
    # a second reader agrees on the rows
    second = python_calamine.CalamineWorkbook.from_path(str(broken)).get_sheet_by_name(SHEET)
    assert second.to_python()[1][0] == "Customers!H3"


def test_each_bad_cell_has_a_note_and_the_owners_note_stays(runner, broken):
    mark(runner, broken)
    inter = notes(broken, "Interactions")
    assert inter["H2"][1] == "Owner's note: call back" and inter["H2"][0] != "sheetcrm"
    author, text = inter["E2"]
    assert author == "sheetcrm"
    assert text.startswith("error: channel 'fax' is not one of the allowed values\nTo fix: ")
    # a sheet without notes before gets its own comments part and VML box
    assert notes(broken, "Customers") == {
        "H3": (
            "sheetcrm",
            "error: stage 'vip' is not one of the allowed values\nTo fix: choose one of: "
            "prospect, customer, client, supporter, advocate, partner",
        )
    }
    assert b"<legacyDrawing " in member(broken, sheet_part(broken, "Customers"))
    # the next run replaces our notes rather than piling them up
    mark(runner, broken)
    assert set(notes(broken, "Interactions")) == {"H2", "E2"}
    with zipfile.ZipFile(broken) as zf:
        vml = [n for n in zf.namelist() if n.endswith(".vml")]
        shapes = sum(len(re.findall(rb'ObjectType="Note"', zf.read(n))) for n in vml)
    assert shapes == 3  # the owner's box and our two


def test_when_all_is_fixed_the_sheet_and_our_marks_go(runner, broken):
    mark(runner, broken)
    made = sheet_part(broken, SHEET)
    customers = sheet_part(broken, "Customers")
    set_cells(broken, "Interactions", 2, {"channel": "call"})  # a plain word is fine
    set_cells(broken, "Customers", 3, {"stage": "prospect"})
    out = mark(runner, broken, code=0)
    assert "Nothing to mark" in out.stderr
    wb = openpyxl.load_workbook(broken)
    assert SHEET not in wb.sheetnames
    assert wb.active.title == "Customers"
    left = notes(broken, "Interactions")
    assert list(left) == ["H2"] and left["H2"][1] == "Owner's note: call back"
    assert notes(broken, "Customers") == {}
    with zipfile.ZipFile(broken) as zf:
        names = zf.namelist()
        types = zf.read("[Content_Types].xml")
    assert made not in names and made.encode() not in types
    assert b"legacyDrawing" not in member(broken, customers)  # its notes part went too
    cf = member(broken, sheet_part(broken, "Interactions"))
    assert b'N("sheetcrm")' not in cf and b"N(&quot;sheetcrm&quot;)" not in cf
    # the workbook is whole: every relationship points at a part that is there
    with zipfile.ZipFile(broken) as zf:
        for rels in [n for n in zf.namelist() if n.endswith(".rels")]:
            folder = rels.replace("_rels/", "").removesuffix(".rels").rsplit("/", 1)[0]
            for target, mode in re.findall(
                rb'Target="([^"]+)"(?:\s+TargetMode="(\w+)")?', zf.read(rels)
            ):
                if mode == b"External":
                    continue
                t = target.decode()
                full = t.lstrip("/") if t.startswith("/") else f"{folder}/{t}".lstrip("/")
                parts = []
                for piece in full.split("/"):
                    if piece == "..":
                        parts.pop()
                    else:
                        parts.append(piece)
                assert "/".join(parts) in names, (rels, t)


def test_a_clean_workbook_is_not_written(runner, tmp_path):
    path = build_decorated(tmp_path / "crm.xlsx")
    before = path.read_bytes()
    mark(runner, path, code=0)
    assert path.read_bytes() == before


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_the_marked_workbook(runner, broken, tmp_path):
    mark(runner, broken)
    out = tmp_path / "lo"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(broken),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    again = openpyxl.load_workbook(out / "crm.xlsx")
    assert SHEET in again.sheetnames
    assert again["Interactions"]["E2"].comment is not None
    assert again["Interactions"]["H2"].comment.text.startswith("Owner's note")
