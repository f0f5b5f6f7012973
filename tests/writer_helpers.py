"""Builders for the writer tests: a decorated workbook, zip part snapshots, Excel owner files."""

from __future__ import annotations

import datetime as dt
import io
import os
import time
import zipfile
from pathlib import Path

HEADERS = [
    "Interaction ID", "Date", "Customer ID", "Staff", "Channel", "Direction", "Type",
    "Summary", "Outcome", "Satisfaction", "Follow up on", "Complaint ID",
]  # fmt: skip

ROWS = [
    ["I-0001", dt.datetime(2026, 11, 2, 9, 30), "C-0001", "Jane", "email", "inbound",
     "enquiry", "Asked about prices", "info_sent", 4, dt.date(2026, 11, 9), None],
    ["I-0002", dt.datetime(2026, 11, 3, 14, 0), "C-0002", "Ola", "phone", "outbound",
     "sale", "Sold the blue one", "resolved", 5, None, None],
    ["I-0003", dt.datetime(2026, 11, 4, 10, 15), "C-0001", "Jane", "in_person", "inbound",
     "complaint", "Broken on arrival", "escalated", 2, dt.date(2026, 11, 6), "K-0001"],
]  # fmt: skip

TRAILING_EMPTY_ROWS = 3  # formatted-but-empty rows below the table, as owners leave them


def png_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def build_workbook(path: Path, *, date1904: bool = False) -> Path:
    """An Interactions Table decorated with everything an owner might add."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"date_1904": date1904})
    ws = wb.add_worksheet("Interactions")
    fmt_dt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm", "border": 1})
    fmt_d = wb.add_format({"num_format": "dd.mm.yyyy", "border": 1})
    fmt_txt = wb.add_format({"border": 1, "font_color": "#333399"})
    fmt_wrap = wb.add_format({"border": 1, "text_wrap": True})
    fmt_num = wb.add_format({"border": 1, "num_format": "0"})
    col_fmts = [fmt_txt, fmt_dt, fmt_txt, fmt_txt, fmt_txt, fmt_txt, fmt_txt, fmt_wrap,
                fmt_txt, fmt_num, fmt_d, fmt_txt]  # fmt: skip
    for r, row in enumerate(ROWS, start=1):
        for c, value in enumerate(row):
            if value is None:
                ws.write_blank(r, c, None, col_fmts[c])
            elif isinstance(value, dt.datetime | dt.date):
                ws.write_datetime(r, c, value, col_fmts[c])
            else:
                ws.write(r, c, value, col_fmts[c])
    n = len(ROWS)
    ws.add_table(0, 0, n, len(HEADERS) - 1, {
        "name": "Interactions", "style": "Table Style Medium 2",
        "columns": [{"header": h} for h in HEADERS],
    })  # fmt: skip
    for r in range(n + 1, n + 1 + TRAILING_EMPTY_ROWS):  # formatted empty rows
        for c in range(len(HEADERS)):
            ws.write_blank(r, c, None, col_fmts[c])
    ws.data_validation(
        1, 4, n, 4, {"validate": "list", "source": ["email", "phone", "in_person", "web"]}
    )
    ws.conditional_format(
        1, 9, n, 9, {"type": "data_bar", "bar_color": "#63C384", "data_bar_2010": True}
    )
    ws.conditional_format(
        1, 8, n, 8, {"type": "cell", "criteria": "==", "value": '"escalated"', "format": fmt_d}
    )
    ws.write_comment("H2", "Owner's note")
    ws.set_column(7, 7, 40)
    ws.freeze_panes(1, 0)
    # formulas with cached values, a sparkline, a chart and an image beside the table
    ws.write_formula("N1", "=SUM(J2:J4)", None, 11)
    ws.write_formula("N2", '=COUNTIF(G:G,"complaint")', None, 1)
    ws.add_sparkline("O1", {"range": "Interactions!J2:J4"})
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": f"=Interactions!$J$2:$J${n + 1}"})
    ws.insert_chart("P2", chart)
    img = path.with_suffix(".png")
    img.write_bytes(png_bytes())
    ws.insert_image("P20", str(img))
    wb.define_name("Scores", f"=Interactions!$J$2:$J${n + 1}")
    other = wb.add_worksheet("Customers")
    other.write_row(0, 0, ["Customer ID", "Name"])
    other.write_row(1, 0, ["C-0001", "Kari Nordmann"])
    hidden = wb.add_worksheet("Lists")
    hidden.write_column(0, 0, ["email", "phone"])
    hidden.hide()
    wb.close()
    img.unlink()
    return path


def parts(path: Path) -> dict[str, bytes]:
    """Every member of a zip, uncompressed."""
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def owner_file_name(path: Path, long_form: bool = False) -> Path:
    name = path.name
    return path.with_name("~$" + (name[2:] if long_form else name))


def make_owner_file(
    path: Path, user: str = "Jane Doe", *, long_form: bool = False, age_hours: float = 0.0
) -> Path:
    """An Excel owner (lock) file as Office leaves it while the workbook is open."""
    owner = owner_file_name(path, long_form)
    raw = user.encode("cp1252", "replace")[:54]
    data = bytes([len(raw)]) + raw + b" " * (54 - len(raw)) + b"\x00" * 2
    data += user.encode("utf-16-le") + b"\x00" * 4
    data = data.ljust(165, b"\x00")
    owner.write_bytes(data)
    if age_hours:
        t = time.time() - age_hours * 3600
        os.utime(owner, (t, t))
    return owner


def contract_tables(
    path: Path,
    *,
    cells: dict[str, object] | None = None,
    merge: str | None = None,
) -> Path:
    """Every contract sheet as an Excel Table holding the VALID records; ``cells`` are
    the owner's own cells on the Interactions sheet (``{"A8": "Note to self"}``) and
    ``merge`` a range of it they merged."""
    import xlsxwriter

    from sheetcrm.contract import SHEETS
    from tests.conftest import VALID

    wb = xlsxwriter.Workbook(str(path))
    dt_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for spec in SHEETS:
        ws = wb.add_worksheet(spec.name)
        rows = VALID.get(spec.name, [])
        for i, row in enumerate(rows, start=1):
            for j, col in enumerate(spec.columns):
                value = row.get(col.name)
                if isinstance(value, dt.date):
                    value = (
                        dt.datetime.combine(value, dt.time())
                        if not isinstance(value, dt.datetime)
                        else value
                    )
                    ws.write_datetime(i, j, value, dt_fmt)
                elif value is not None:
                    ws.write(i, j, value)
        ws.add_table(
            0, 0, max(len(rows), 1), len(spec.columns) - 1,
            {"name": spec.name, "columns": [{"header": c.name} for c in spec.columns]},
        )  # fmt: skip
        if spec.name == "Interactions":
            if merge:
                ws.merge_range(merge, "")
            for ref, value in (cells or {}).items():
                ws.write(ref, value)
    wb.close()
    return path
