"""`sheetcrm customer edit`: checked like `customer add`, only the changed cells written."""

from __future__ import annotations

import python_calamine

from sheetcrm.cli import cli
from tests.conftest import AS_OF
from tests.test_cli_write import build_decorated, changed_parts, parts, sheet_part


def rows_of(path, sheet):
    return (
        python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()
    )


def record(path, sheet, key):
    rows = rows_of(path, sheet)
    return next(dict(zip(rows[0], r, strict=False)) for r in rows[1:] if r[0] == key)


def run(runner, *args, ok=True):
    result = runner.invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_edit_prints_old_to_new_and_writes_only_changed_cells(runner, tmp_path):
    path = build_decorated(tmp_path / "crm.xlsx")
    before_parts = parts(path)
    before = rows_of(path, "Customers")
    out = run(
        runner,
        "customer",
        "edit",
        "jane@example.com",
        "-w",
        path,
        "--set",
        "do_not_contact=yes",
        "--set",
        "Stage=Advocate",  # loose spelling, as headers are matched
        "--set",
        "preferred_channel=text",  # a plain word for sms
        "--set",
        "email=jane@example.com",  # unchanged: not written, not printed
        "--note",
        "Asked for no more calls",
        "--as-of",
        AS_OF,
    )
    assert out.stdout.splitlines() == [
        "Changed C-0001 Jane Doe:",
        "  preferred_channel: email -> sms",
        "  stage: customer -> advocate",
        "  do_not_contact: no -> yes",
        "  notes: (empty) -> 2026-11-20: Asked for no more calls",
    ]
    assert changed_parts(before_parts, parts(path)) <= {
        sheet_part(path, "Customers"),
        "xl/styles.xml",
        "xl/sharedStrings.xml",
    }
    after = rows_of(path, "Customers")
    header = after[0]
    changed = {
        (r, header[c])
        for r in range(len(after))
        for c in range(len(header))
        if before[r][c] != after[r][c]
    }
    assert changed == {
        (1, "preferred_channel"),
        (1, "stage"),
        (1, "do_not_contact"),
        (1, "notes"),
    }
    jane = record(path, "Customers", "C-0001")
    assert (jane["preferred_channel"], jane["stage"], jane["do_not_contact"]) == (
        "sms",
        "advocate",
        "yes",
    )
    # a second note keeps the first
    run(
        runner,
        "customer",
        "edit",
        "C-0001",
        "-w",
        path,
        "--note",
        "Moved to Bergen",
        "--as-of",
        "2026-11-21",
    )
    assert record(path, "Customers", "C-0001")["notes"] == (
        "2026-11-20: Asked for no more calls\n2026-11-21: Moved to Bergen"
    )
    assert run(runner, "validate", "-w", path, "--as-of", AS_OF).exit_code == 0


def test_edit_refuses_what_add_refuses_and_writes_nothing(runner, make_book):
    path = make_book()
    before = path.read_bytes()
    cases = [
        (["--set", "stage=vip"], "stage 'vip' is not one of the allowed values"),
        (["--set", "email=ola@example.com"], "already belongs to C-0002 Ola Nordmann"),
        (["--set", "email=not an email"], "not an email address"),
        (["--set", "owner=Bob"], "Bob is not on the Staff sheet"),
        (["--set", "name="], "name is empty"),
        (["--set", "customer_id=C-9"], "cannot be changed"),
        (["--set", "favourite=blue"], "Customers has no column 'favourite'"),
        (["--set", "stage"], "needs COLUMN=VALUE"),
        ([], "nothing to change"),
    ]
    for args, message in cases:
        out = run(runner, "customer", "edit", "C-0001", "-w", path, *args, ok=False)
        assert out.exit_code == 2, args
        assert message in out.stderr, (args, out.stderr)
    assert path.read_bytes() == before


def test_edit_clears_a_cell_and_hands_a_customer_over(runner, make_book):
    path = make_book()
    out = run(
        runner,
        "customer",
        "edit",
        "ola",
        "-w",
        path,
        "--set",
        "phone=",
        "--set",
        "owner=kari",
        "--set",
        "phone=+47 400 00 000",
    )
    assert "  owner: Per -> Kari" in out.stdout
    assert "  phone: (empty) -> +47 400 00 000" in out.stdout
    run(runner, "customer", "edit", "C-0002", "-w", path, "--set", "phone=")
    ola = record(path, "Customers", "C-0002")
    assert (ola["owner"], ola["phone"]) == ("Kari", "")


def test_edit_with_nothing_new_writes_nothing(runner, make_book):
    path = make_book()
    before = path.read_bytes()
    out = run(runner, "customer", "edit", "C-0001", "-w", path, "--set", "stage=customer")
    assert "Nothing changed; nothing was written." in out.stdout
    assert path.read_bytes() == before


def test_edit_an_unknown_customer_suggests(runner, make_book):
    path = make_book()
    out = run(runner, "customer", "edit", "C-0010", "-w", path, "--set", "stage=client", ok=False)
    assert out.exit_code == 2 and "did you mean C-0001" in out.stderr


def test_edit_formula_looking_text_stays_text(runner, make_book):
    path = make_book()
    run(runner, "customer", "edit", "C-0001", "-w", path, "--set", "company==1+1")
    import openpyxl

    cell = openpyxl.load_workbook(path)["Customers"]
    header = [c.value for c in cell[1]]
    if "company" in header:
        value = cell.cell(2, header.index("company") + 1)
    else:  # the column was added at the end of the table
        value = cell.cell(2, len(header))
    assert value.value == "=1+1" and value.data_type == "s"
