"""The write commands through the CLI: the workbook is sacred, text stays text, all or nothing."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
import python_calamine

from sheetcrm.cli import cli
from sheetcrm.contract import SHEETS
from tests.conftest import CORPUS, VALID
from tests.writer_helpers import make_owner_file, parts, png_bytes

AT = "2026-11-20 14:00"


def build_decorated(path: Path) -> Path:
    """A contract workbook as Tables, decorated with what owners add in Excel."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    dt_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm", "bg_color": "#EEF3FF"})
    d_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    text_fmt = wb.add_format({"font_color": "#333399"})
    for spec in SHEETS:
        ws = wb.add_worksheet(spec.name)
        cols = [c.name for c in spec.columns]
        rows = VALID.get(spec.name, [])
        for i, row in enumerate(rows, start=1):
            for j, col in enumerate(spec.columns):
                value = row.get(col.name)
                if isinstance(value, dt.datetime):
                    ws.write_datetime(i, j, value, dt_fmt)
                elif isinstance(value, dt.date):
                    ws.write_datetime(i, j, dt.datetime.combine(value, dt.time()), d_fmt)
                elif value is None:
                    ws.write_blank(i, j, None, text_fmt)
                else:
                    ws.write(i, j, value, text_fmt)
        ws.add_table(
            0,
            0,
            max(len(rows), 1),
            len(cols) - 1,
            {
                "name": spec.name,
                "columns": [{"header": c} for c in cols],
                "style": "Table Style Medium 9",
            },
        )
        ws.freeze_panes(1, 0)
        if spec.name == "Interactions":
            n = len(rows)
            ws.data_validation(
                1, 4, n, 4, {"validate": "list", "source": ["email", "phone", "in_person"]}
            )
            ws.conditional_format(1, 9, n, 9, {"type": "data_bar", "data_bar_2010": True})
            ws.write_comment("H2", "Owner's note: call back")
            ws.write_formula("O1", "=SUM(J2:J10)", None, 3)
            ws.add_sparkline("P1", {"range": "Interactions!J2:J3"})
            chart = wb.add_chart({"type": "column"})
            chart.add_series({"values": "=Interactions!$J$2:$J$3"})
            ws.insert_chart("Q2", chart)
            ws.insert_image("Q20", "logo.png", {"image_data": io.BytesIO(png_bytes())})
    wb.define_name("Scores", "=Interactions!$J$2:$J$3")
    hidden = wb.add_worksheet("Lists")
    hidden.write_column(0, 0, ["email", "phone"])
    hidden.hide()
    wb.close()
    return path


@pytest.fixture
def decorated(tmp_path) -> Path:
    return build_decorated(tmp_path / "crm.xlsx")


def sheet_part(path: Path, name: str) -> str:
    from sheetcrm.workbook.naming import package_from_path

    return package_from_path(path).sheet_part(name)


def changed_parts(
    before: dict[str, bytes], after: dict[str, bytes], *, new_allowed: bool = False
) -> set[str]:
    """Parts whose bytes changed; a part added or removed fails unless new ones are allowed."""
    assert set(before) <= set(after), f"parts disappeared: {set(before) - set(after)}"
    if not new_allowed:
        assert set(after) == set(before), f"parts added: {set(after) - set(before)}"
    return {n for n in before if before[n] != after[n]}


def table_part(path: Path, sheet: str) -> str:
    from sheetcrm.workbook.naming import package_from_path

    pkg = package_from_path(path)
    part = pkg.sheet_part(sheet)
    return next(t for _, typ, t, _ in pkg.rels(part) if typ.endswith("/table"))


def rows_of(path: Path, sheet: str) -> list[list]:
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    return wb.get_sheet_by_name(sheet).to_python()


def run(runner, *args, ok=True):
    result = runner.invoke(cli, list(args))
    assert "Traceback" not in result.output
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_log_changes_only_the_interactions_sheet(runner, decorated):
    before = parts(decorated)
    result = run(
        runner,
        "log",
        "-w",
        str(decorated),
        "--customer",
        "jane",
        "--channel",
        "phone",
        "--type",
        "support",
        "--summary",
        "Gears slip; booked a service",
        "--date",
        AT,
        "--follow-up-on",
        "2026-11-27",
    )
    assert result.stdout.startswith("Logged I-0003: support by phone with C-0001 Jane Doe (Kari)")
    after = parts(decorated)
    allowed = {
        sheet_part(decorated, "Interactions"),
        table_part(decorated, "Interactions"),
        "xl/styles.xml",
    }
    changed = changed_parts(before, after)
    assert sheet_part(decorated, "Interactions") in changed
    assert changed <= allowed, changed - allowed
    # The new row reads back in a second reader, inside the Table, like the rows above.
    table = rows_of(decorated, "Interactions")
    assert table[3][:8] == [
        "I-0003",
        dt.datetime(2026, 11, 20, 14),
        "C-0001",
        "Kari",
        "phone",
        "",
        "support",
        "Gears slip; booked a service",
    ]
    assert table[3][10] == dt.date(2026, 11, 27)
    wb = openpyxl.load_workbook(decorated)
    ws = wb["Interactions"]
    assert ws.tables["Interactions"].ref == "A1:L4"
    assert ws["B4"].number_format == ws["B3"].number_format
    assert ws["O1"].value == "=SUM(J2:J10)"  # the owner's formula is still a formula
    assert "Scores" in wb.defined_names
    assert wb["Lists"].sheet_state == "hidden"


def test_complaint_open_and_resolve_touch_only_their_rows(runner, decorated):
    before = parts(decorated)
    opened = run(
        runner,
        "complaint",
        "open",
        "-w",
        str(decorated),
        "--customer",
        "C-0002",
        "--severity",
        "high",
        "--summary",
        "Charged twice",
        "--category",
        "billing",
        "--notify",
        "sales",
        "--at",
        "2026-11-20 14:10",
    )
    # high: 4 business hours from Fri 14:10 = 2 h 50 Friday + 1 h 10 Monday.
    assert "first response due Mon 2026-11-23 10:10" in opened.stdout
    assert "Sales is to be told that K-0002 was opened: Per <per@example.com>" in opened.stdout
    mid = parts(decorated)
    assert changed_parts(before, mid) <= {
        sheet_part(decorated, "Complaints"),
        sheet_part(decorated, "Notices"),  # the notice for Sales, queued in the same write
        table_part(decorated, "Notices"),
        table_part(decorated, "Complaints"),
        sheet_part(decorated, "Interactions"),
        table_part(decorated, "Interactions"),
        "xl/styles.xml",
    }
    complaints = rows_of(decorated, "Complaints")
    assert complaints[2][:9] == [
        "K-0002",
        dt.datetime(2026, 11, 20, 14, 10),
        "C-0002",
        "phone",  # no --channel: the channel its interaction was logged with
        "billing",
        "high",
        "Charged twice",
        "Per",
        "open",
    ]
    assert complaints[2][12] == "Sales"
    interaction = rows_of(decorated, "Interactions")[3]
    assert (interaction[6], interaction[11]) == ("complaint", "K-0002")

    run(
        runner,
        "complaint",
        "resolve",
        "K-0002",
        "-w",
        str(decorated),
        "--resolution",
        "Refunded the second charge",
        "--at",
        "2026-11-20 16:00",
    )
    after = parts(decorated)
    assert changed_parts(mid, after) <= {sheet_part(decorated, "Complaints"), "xl/styles.xml"}
    row = rows_of(decorated, "Complaints")[2]
    assert row[8:12] == [
        "resolved",
        dt.datetime(2026, 11, 20, 16),
        dt.datetime(2026, 11, 20, 16),
        "Refunded the second charge",
    ]
    again = run(
        runner,
        "complaint",
        "resolve",
        "K-0002",
        "-w",
        str(decorated),
        "--resolution",
        "x",
        ok=False,
    )
    assert again.exit_code == 2 and "already resolved" in again.stderr


def test_first_contact_resolution_is_visible(runner, decorated):
    run(
        runner,
        "complaint",
        "open",
        "-w",
        str(decorated),
        "--customer",
        "C-0001",
        "--severity",
        "low",
        "--summary",
        "Wrong bell fitted",
        "--resolved-now",
        "Swapped the bell while she waited",
        "--at",
        AT,
    )
    k = rows_of(decorated, "Complaints")[2]
    assert k[8:11] == ["resolved", dt.datetime(2026, 11, 20, 14), dt.datetime(2026, 11, 20, 14)]
    i = rows_of(decorated, "Interactions")[3]
    assert (i[6], i[8]) == ("complaint", "resolved")


def test_respond_sets_first_response_and_in_progress(runner, make_book, valid_records):
    valid_records["Complaints"][0].update(
        status="open", first_response=None, resolved=None, resolution=None
    )
    path = make_book(valid_records)
    run(runner, "complaint", "respond", "k-0001", "-w", str(path), "--at", "2026-11-02 11:00")
    row = rows_of(path, "Complaints")[1]
    assert row[8:10] == ["in_progress", dt.datetime(2026, 11, 2, 11)]
    unknown = run(runner, "complaint", "respond", "K-0010", "-w", str(path), ok=False)
    assert unknown.exit_code == 2 and "did you mean K-0001?" in unknown.stderr


@pytest.mark.parametrize(
    "text",
    [
        "=1+1",
        "+47 99 99 99 99",
        "-5",
        "@SUM(A1)",
        "\tTabbed",
        "\rReturn",
        '=HYPERLINK("http://evil","x")',
    ],
)
def test_text_that_looks_like_a_formula_stays_text(runner, decorated, text):
    run(
        runner,
        "log",
        "-w",
        str(decorated),
        "--customer",
        "C-0001",
        "--channel",
        "email",
        "--type",
        "feedback",
        "--summary",
        text,
        "--date",
        AT,
    )
    cell = openpyxl.load_workbook(decorated)["Interactions"]["H4"]
    assert cell.data_type == "s" and cell.value == text
    assert cell.quotePrefix
    assert rows_of(decorated, "Interactions")[3][7] == text


def test_long_multiline_emoji_and_rtl_text_round_trips(runner, decorated):
    text = "Line one\nLine two 🚲✨\nمرحبا بالعالم — שלום\n" + "x" * 5000
    run(
        runner,
        "log",
        "-w",
        str(decorated),
        "--customer",
        "C-0001",
        "--channel",
        "email",
        "--type",
        "praise",
        "--summary",
        text,
        "--date",
        AT,
    )
    assert rows_of(decorated, "Interactions")[3][7] == text


def test_characters_xml_cannot_hold_are_refused(runner, decorated):
    before = decorated.read_bytes()
    result = run(
        runner,
        "log",
        "-w",
        str(decorated),
        "--customer",
        "C-0001",
        "--channel",
        "email",
        "--type",
        "other",
        "--summary",
        "bell\x07ring",
        ok=False,
    )
    assert result.exit_code == 2
    assert "summary" in result.stderr
    assert decorated.read_bytes() == before


def test_bad_values_are_refused_like_validate_would(runner, decorated):
    before = decorated.read_bytes()
    result = run(
        runner,
        "log",
        "-w",
        str(decorated),
        "--customer",
        "C-0001",
        "--channel",
        "email",
        "--type",
        "other",
        "--summary",
        "x",
        "--staff",
        "Nobody",
        "--complaint",
        "K-0404",
        ok=False,
    )
    assert result.exit_code == 2
    assert "staff 'Nobody' is not on the Staff sheet" in result.stderr
    assert "complaint_id 'K-0404' is not on the Complaints sheet" in result.stderr
    assert decorated.read_bytes() == before
    typo = run(
        runner,
        "log",
        "-w",
        str(decorated),
        "--customer",
        "C-0010",
        "--channel",
        "email",
        "--type",
        "other",
        "--summary",
        "x",
        ok=False,
    )
    assert "no customer C-0010" in typo.stderr and "did you mean C-0001 Jane Doe" in typo.stderr


def test_outbound_warnings(runner, make_book, valid_records):
    valid_records["Customers"][0].update(do_not_contact="yes", preferred_channel="email")
    path = make_book(valid_records)
    result = run(
        runner,
        "log",
        "-w",
        str(path),
        "--customer",
        "C-0001",
        "--channel",
        "phone",
        "--type",
        "sale",
        "--direction",
        "outbound",
        "--summary",
        "Offered a bell",
        "--date",
        "2026-11-03 10:00",
    )
    assert "C-0001 Jane Doe is marked do not contact." in result.stderr
    assert "prefers email, not phone" in result.stderr
    again = run(
        runner,
        "log",
        "-w",
        str(path),
        "--customer",
        "C-0001",
        "--channel",
        "email",
        "--type",
        "sale",
        "--direction",
        "outbound",
        "--summary",
        "Reminder",
        "--date",
        "2026-11-05 10:00",
    )
    assert "last contacted on 2026-11-03 10:00; the cool-down" in again.stderr


def test_log_prompts_on_a_terminal(runner, decorated, monkeypatch):
    monkeypatch.setattr("sheetcrm.cli.contacts._stdin_is_terminal", lambda: True)
    result = runner.invoke(
        cli,
        ["log", "-w", str(decorated), "--date", AT],
        input="Ola\nemail\nenquiry\nAsked for opening hours\n",
    )
    assert result.exit_code == 0, result.output
    assert rows_of(decorated, "Interactions")[3][7] == "Asked for opening hours"


def test_log_without_summary_in_a_script_is_a_usage_error(runner, decorated):
    result = run(runner, "log", "-w", str(decorated), "--customer", "C-0001", ok=False)
    assert result.exit_code == 2 and "missing --channel, --type, --summary" in result.stderr


def test_customer_add_refuses_a_duplicate_email(runner, decorated):
    result = run(
        runner,
        "customer",
        "add",
        "-w",
        str(decorated),
        "--name",
        "J. Doe",
        "--email",
        "JANE@example.com",
        "--owner",
        "Kari",
        ok=False,
    )
    assert result.exit_code == 2 and "already belongs to C-0001 Jane Doe" in result.stderr
    added = run(
        runner,
        "customer",
        "add",
        "-w",
        str(decorated),
        "--name",
        "J. Doe",
        "--email",
        "jane@example.com",
        "--owner",
        "kari",
        "--allow-duplicate-email",
        "--as-of",
        "2026-11-20",
    )
    assert added.stdout.startswith("Added C-0003 J. Doe (owner Kari, prospect).")
    row = rows_of(decorated, "Customers")[3]
    assert row[:2] == ["C-0003", "J. Doe"] and row[9] == dt.date(2026, 11, 20)


def test_workbook_open_in_excel_is_left_alone(runner, decorated):
    make_owner_file(decorated, "Kari Nordmann")
    before = decorated.read_bytes()
    result = run(
        runner,
        "log",
        "-w",
        str(decorated),
        "--customer",
        "C-0001",
        "--channel",
        "email",
        "--type",
        "other",
        "--summary",
        "x",
        ok=False,
    )
    assert result.exit_code == 3
    assert "open in Excel by Kari Nordmann" in result.stderr
    assert decorated.read_bytes() == before


def chinook_customers_csv(tmp_path: Path, corpus: Path) -> Path:
    """The Chinook customers, shaped the way an owner would save them from Excel."""
    import csv

    src = corpus / "crm-samples" / "chinook" / "Customer.csv"
    owners = {"3": "Kari", "4": "Per", "5": "Kari"}
    out = tmp_path / "customers.csv"
    with src.open(encoding="utf-8") as fh, out.open("w", newline="", encoding="utf-8") as dst:
        writer = csv.writer(dst)
        writer.writerow(["Name", "Company", "E-mail", "Phone", "Owner", "Stage"])
        for row in csv.DictReader(fh):
            writer.writerow(
                [
                    f"{row['FirstName']} {row['LastName']}",
                    row["Company"],
                    row["Email"],
                    row["Phone"],
                    owners[row["SupportRepId"]],
                    "customer",
                ]
            )
    return out


def test_import_real_customers(runner, decorated, tmp_path, corpus):
    csv_path = chinook_customers_csv(tmp_path, corpus)
    before = parts(decorated)
    dry = run(runner, "import", "Customers", str(csv_path), "-w", str(decorated), "--dry-run")
    assert "59 rows would be added to Customers" in dry.stdout
    assert parts(decorated) == before
    result = run(runner, "import", "customers", str(csv_path), "-w", str(decorated))
    assert "Imported 59 rows into customers (C-0003 to C-0061)" in result.stdout
    changed = changed_parts(before, parts(decorated))
    assert changed <= {
        sheet_part(decorated, "Customers"),
        table_part(decorated, "Customers"),
        "xl/styles.xml",
    }
    rows = rows_of(decorated, "Customers")
    assert len(rows) == 1 + 2 + 59
    assert rows[3][1] == "Luís Gonçalves"
    assert run(runner, "validate", "-w", str(decorated), "--as-of", AT).exit_code == 0


def test_import_is_all_or_nothing_with_every_bad_line(runner, decorated, tmp_path):
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text(
        "date,customer_id,staff,channel,type,summary,satisfaction\n"
        "2026-11-18 10:00,C-0001,Kari,phone,support,fine,5\n"
        "03/04/2026,C-0001,Kari,phone,support,ambiguous date,4\n"
        "2026-11-18 11:00,C-0099,Kari,fax,support,two problems,9\n",
        encoding="utf-8",
    )
    before = decorated.read_bytes()
    result = run(runner, "import", "Interactions", str(csv_path), "-w", str(decorated), ok=False)
    assert result.exit_code == 2
    err = result.stderr
    assert "refused, nothing was written (4 problems)" in err
    assert "line 3, date:" in err
    assert "line 4, customer_id:" in err and "line 4, channel:" in err
    assert "line 4, satisfaction:" in err
    assert "line 2" not in err
    assert decorated.read_bytes() == before


def test_import_refuses_duplicate_ids(runner, decorated, tmp_path):
    csv_path = tmp_path / "dupe.csv"
    csv_path.write_text("customer_id,name,owner,stage\nC-0001,Again,Kari,customer\n")
    # A re-import skips the row (tests/test_import.py); forced, the id is still never doubled.
    result = run(
        runner,
        "import",
        "Customers",
        str(csv_path),
        "-w",
        str(decorated),
        "--allow-duplicates",
        ok=False,
    )
    assert "line 2, customer_id: customer_id C-0001 is already used in row 2" in result.stderr


def _corpus_books() -> list[Path]:
    folder = CORPUS / "xlsx-real"
    return sorted(folder.glob("*.xls*")) if folder.is_dir() else []


STAFF_CSV = "name,email,department,active\nKari,kari@example.com,Workshop,yes\n"


@pytest.mark.slow
@pytest.mark.parametrize("source", _corpus_books(), ids=lambda p: p.name)
def test_real_workbooks_adopted_and_logged_keep_everything(runner, tmp_path, source):
    path = tmp_path / source.name
    shutil.copyfile(source, path)
    adopted = runner.invoke(cli, ["init", "--into", str(path)])
    assert "Traceback" not in adopted.output
    if adopted.exit_code != 0:
        assert adopted.exit_code == 2 and adopted.stderr.startswith("Error: ")
        return
    original, after_init = parts(source), parts(path)
    touched_by_adopt = changed_parts(original, after_init, new_allowed=True)
    from sheetcrm.workbook.naming import package_from_path

    pkg = package_from_path(path)
    book_part = pkg.workbook_part  # not always xl/workbook.xml
    folder, _, name = book_part.replace("\\", "/").rpartition("/")
    rels = f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"
    allowed = {"[Content_Types].xml", book_part, rels, "docProps/app.xml"}
    # A sheet init --into recognised as a CRM list is adopted (columns, ids, drop-downs):
    # its own part, its Table and the styles may change; every other sheet stays as it was.
    before_pkg = package_from_path(source)
    for info in before_pkg.sheets:
        if f"'{info.name}'" in adopted.stdout or f"  {info.name}: " in adopted.stdout:
            allowed.add(info.part)
            allowed.update(t for _r, typ, t, _m in before_pkg.rels(info.part) if "table" in typ)
            allowed.add("xl/styles.xml")
    allowed -= {""}

    def loose(names: set[str]) -> set[str]:  # some writers spell parts xl\Workbook.xml
        return {n.replace("\\", "/").casefold() for n in names}

    assert loose(touched_by_adopt) <= loose(allowed), touched_by_adopt
    staff = tmp_path / "staff.csv"
    staff.write_text(STAFF_CSV)
    run(runner, "import", "Staff", str(staff), "-w", str(path))
    run(runner, "customer", "add", "-w", str(path), "--name", "Jane", "--owner", "Kari")
    before_log = parts(path)
    styles = {n for n in before_log if n.replace("\\", "/").rsplit("/", 1)[-1] == "styles.xml"}
    run(
        runner,
        "log",
        "-w",
        str(path),
        "--customer",
        "Jane",
        "--channel",
        "phone",
        "--type",
        "enquiry",
        "--summary",
        "Asked about e-bikes",
        "--date",
        AT,
    )
    changed = changed_parts(before_log, parts(path))
    assert changed <= {
        sheet_part(path, "Interactions"),
        table_part(path, "Interactions"),
        *styles,
    }
    for name in original:  # everything the owner had is still byte for byte the same
        if name not in touched_by_adopt | changed:
            assert parts(path)[name] == original[name], name
    assert rows_of(path, "Interactions")[1][7] == "Asked about e-bikes"


CONCURRENT = """
import sys
from sheetcrm.cli import cli
for n in range(25):
    try:
        cli(["log", "-w", sys.argv[1], "--customer", "C-0001", "--channel", "phone",
             "--type", "other", "--summary", f"{sys.argv[2]}-{n}"], standalone_mode=False)
    except SystemExit as e:
        if e.code:
            raise
"""


@pytest.mark.slow
def test_eight_processes_logging_at_once_lose_nothing(tmp_path, make_book):
    path = make_book()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT, str(path), f"p{i}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for i in range(8)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.decode()
    rows = rows_of(path, "Interactions")[1:]
    ids = [r[0] for r in rows]
    assert len(rows) == 2 + 200
    assert len(set(ids)) == len(ids)
    summaries = {r[7] for r in rows}
    assert {f"p{i}-{n}" for i in range(8) for n in range(25)} <= summaries


@pytest.mark.slow
def test_libreoffice_reads_the_written_rows(runner, decorated, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed (.ci/run installs it)")
    run(
        runner,
        "log",
        "-w",
        str(decorated),
        "--customer",
        "C-0001",
        "--channel",
        "phone",
        "--type",
        "praise",
        "--summary",
        "Ødegård loved the new wheels 🚲",
        "--date",
        AT,
    )
    out = tmp_path / "out"
    profile = tmp_path / "lo-profile"
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(decorated),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    converted = out / decorated.name
    wb = openpyxl.load_workbook(converted)
    values = [c.value for c in wb["Interactions"][4]]
    assert values[0] == "I-0003" and values[7] == "Ødegård loved the new wheels 🚲"
    assert values[1] == dt.datetime(2026, 11, 20, 14)


def test_backups_are_kept(runner, decorated):
    run(
        runner,
        "log",
        "-w",
        str(decorated),
        "--customer",
        "C-0001",
        "--channel",
        "phone",
        "--type",
        "other",
        "--summary",
        "one",
        "--date",
        AT,
    )
    backups = list((decorated.parent / "backups").glob("crm-*.xlsx"))
    assert len(backups) == 1
    assert zipfile.ZipFile(backups[0]).testzip() is None


def test_json_of_written_workbook_still_validates(runner, decorated):
    run(
        runner,
        "log",
        "-w",
        str(decorated),
        "--customer",
        "C-0001",
        "--channel",
        "phone",
        "--type",
        "other",
        "--summary",
        "one",
        "--date",
        AT,
    )
    result = run(runner, "validate", "-w", str(decorated), "--format", "json", "--as-of", AT)
    assert json.loads(result.stdout)["errors"] == 0


def test_sheetcrm_staff_environment_variable(runner, decorated, monkeypatch):
    monkeypatch.setenv("SHEETCRM_STAFF", "Per")
    run(
        runner,
        "log",
        "-w",
        str(decorated),
        "--customer",
        "C-0001",
        "--channel",
        "phone",
        "--type",
        "other",
        "--summary",
        "by Per",
        "--date",
        AT,
    )
    assert rows_of(decorated, "Interactions")[3][3] == "Per"
    assert os.environ["SHEETCRM_STAFF"] == "Per"
