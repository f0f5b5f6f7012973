"""``init --into``: adopt the owner's workbook, their own data included, not only their file.

Why one module (~850 lines): adoption is one use case (plan, show, apply, check)
and the plan is what --dry-run prints; each step reads the plan of the one before.

An owner arrives with a workbook of their own: a "Kunder" sheet with Navn /
E-post / Tlf, a "Stock" sheet sheetcrm has no business with. Adoption

- recognises their sheets and columns by the contract's names and synonyms
  (:mod:`sheetcrm.contract`, the one table the reader and the writer use too);
- adds the contract columns they lack at the right end of their table (header
  cells, and a widened Excel Table when the range is one), never moving theirs;
- gives rows without an id a new one (C-0001 ...), fills required values the
  owner named with ``--default owner=Kari`` and leaves the rest for validate;
- lists on the Staff sheet the people the owner already names as owners or staff,
  so their own data does not turn into "unknown staff member" errors;
- adds the contract sheets that are missing (Notices included) and the drop-downs
  ``init`` gives a new workbook, where the owner has none of their own.

Everything goes through the part-level writer (``writer.edit``): only the cells
and parts named here change, the rest of the file stays byte for byte. The plan
is made first and is exactly what ``--dry-run`` prints.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sheetcrm.contract import (
    DEFAULT_SLA,
    SETTINGS,
    SHEET_BY_NAME,
    SHEETS,
    Column,
    Sheet,
    find_sheet,
    match_headers,
    normalize_choice,
    normalize_header,
)
from sheetcrm.errors import Problem, SheetCRMError, column_letter
from sheetcrm.workbook import reader, writer
from sheetcrm.workbook.cells import is_blank
from sheetcrm.workbook.naming import CONTRACT
from sheetcrm.workbook.newbook import NUMBER_FORMATS, VALIDATION_ROWS, YES_NO, column_validation
from sheetcrm.workbook.reader import RawBook, RawSheet, raw_sheet, read_book
from sheetcrm.xlsx.package import Package, column_index, excel_serial

__all__ = ["Adoption", "SheetPlan", "adopt", "parse_defaults", "plan"]

# What the owner calls each kind of sheet, for the plan's wording.
_WHAT = {
    "Customers": "customer list",
    "Interactions": "contact log",
    "Complaints": "complaint log",
    "Sales": "sales list",
    "Staff": "staff list",
    "SLA": "service levels",
    "Holidays": "list of closed days",
    "Settings": "settings",
    "Notices": "notices",
}

# Columns whose values name a staff member (the Staff sheet is seeded with them).
_STAFF_COLUMNS = (
    ("Customers", "owner"),
    ("Complaints", "owner"),
    ("Interactions", "staff"),
    ("Sales", "staff"),
)


@dataclass(slots=True)
class SheetPlan:
    """What adoption does to one contract sheet."""

    spec: Sheet
    owner_name: str | None  # the sheet's name in the workbook; None when it is added
    recognised: dict[str, str] = field(default_factory=dict)  # column -> owner's own header
    recognised_all: list[str] = field(default_factory=list)  # every heading that matched
    new_columns: list[str] = field(default_factory=list)
    ids: dict[int, str] = field(default_factory=dict)  # Excel row -> new id
    fills: dict[str, tuple[Any, list[int]]] = field(default_factory=dict)  # column -> value, rows
    left_empty: dict[str, list[int]] = field(default_factory=dict)  # required, no default
    staff: list[str] = field(default_factory=list)  # names added to Staff
    rows: list[list[Any]] = field(default_factory=list)  # a new sheet's rows
    dropdowns: list[str] = field(default_factory=list)
    note: str | None = None  # why a recognised sheet is left alone
    renamed_from: str | None = None  # the owner's sheet, found by its headings, renamed
    blocked: bool = False  # the owner's list is there but cannot be renamed safely

    @property
    def changes(self) -> bool:
        if self.blocked:
            return False
        return bool(
            self.owner_name is None
            or self.renamed_from
            or self.new_columns
            or self.ids
            or self.fills
            or self.staff
            or self.dropdowns
        )

    def lines(self) -> list[str]:
        """What changes on this sheet, in the owner's words."""
        spec = self.spec
        if self.blocked:
            return [f"{spec.name}: {self.note}"]
        if self.owner_name is None:
            what = f"{spec.name}: add the sheet"
            if self.staff:
                what += f", listing {_names(self.staff)} (named in your sheets)"
            elif self.rows:
                what += f" with {_count(len(self.rows), 'row')} of defaults"
            return [what + (", with drop-downs" if self.dropdowns else "")]
        label = spec.name if self.owner_name == spec.name else f"{spec.name} ({self.owner_name!r})"
        out = [f"{label}: {self.note}"] if self.note else []
        if self.renamed_from:
            out.append(
                f"{label}: rename your sheet {self.renamed_from!r} to {spec.name!r}: its "
                f"headings ({', '.join(self.recognised_all)}) make it your "
                f"{_WHAT[spec.name]}, and every command looks for it by that name"
            )
        if self.recognised:
            words = ", ".join(f"{h!r} as {c}" for c, h in self.recognised.items())
            out.append(f"{label}: read your columns {words}")
        if self.new_columns:
            out.append(
                f"{label}: add the columns {', '.join(self.new_columns)} after your last column"
            )
        if self.ids:
            rows = sorted(self.ids)
            first, last = self.ids[rows[0]], self.ids[rows[-1]]
            span = first if len(rows) == 1 else f"{first} to {last}"
            out.append(
                f"{label}: give {_count(len(rows), 'row')} without an id the ids {span} "
                f"({_rows(rows)})"
            )
        for column, (value, rows) in self.fills.items():
            out.append(
                f"{label}: fill the empty {column} of {_count(len(rows), 'row')} with "
                f"{_show(value)} ({_rows(rows)})"
            )
        if self.staff:
            out.append(f"{label}: add {_names(self.staff)} (named in your sheets)")
        if self.dropdowns:
            out.append(f"{label}: add drop-downs to {', '.join(self.dropdowns)}")
        for column, rows in self.left_empty.items():
            out.append(
                f"{label}: {column} stays empty in {_count(len(rows), 'row')} ({_rows(rows)}); "
                f"fill it in Excel or give a default for {column}"
            )
        return out


@dataclass(slots=True)
class Adoption:
    """The plan, and what writing it did."""

    path: Path
    sheets: list[SheetPlan]
    ignored: list[str]  # the owner's sheets that are no CRM sheet, left as they are
    written: bool = False
    backup: Path | None = None

    @property
    def changes(self) -> bool:
        return any(s.changes for s in self.sheets)

    def lines(self) -> list[str]:
        out = [line for s in self.sheets for line in s.lines()]
        if self.ignored:
            out.append(f"left as they are: {', '.join(repr(n) for n in self.ignored)}")
        return out


# ------------------------------------------------------------------------- defaults


def parse_defaults(items: Iterable[str]) -> dict[str, str]:
    """``["owner=Kari", "stage=customer"]`` -> ``{"owner": "Kari", "stage": "customer"}``.

    Names are contract column names, matched loosely; a name no contract sheet has
    is refused with the ones that could be meant.
    """
    known = {normalize_header(c.name): c.name for s in SHEETS for c in s.columns}
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        column = known.get(normalize_header(name))
        if not sep or column is None or not value.strip():
            raise SheetCRMError(
                Problem(
                    "bad_default",
                    f"the default {item!r} is not COLUMN=VALUE with a CRM column",
                    hint="for example owner=Kari or stage=customer",
                    remedy="default_example",
                )
            )
        out[column] = value.strip()
    return out


def _typed_default(spec: Sheet, column: Column, text: str) -> Any:
    """The default as the cell should hold it, or a refusal naming what is allowed."""
    if column.choices:
        choice = normalize_choice(text)
        if choice not in column.choices:
            raise SheetCRMError(
                Problem(
                    "bad_default",
                    f"the default {column.name}={text} is not one of: {', '.join(column.choices)}",
                    sheet=spec.name,
                    hint=f"pick one, e.g. {column.name}={column.choices[1]}",
                    remedy="default_choice",
                    remedy_args=(column.name, column.choices[1]),
                )
            )
        return choice
    if column.kind == "yesno":
        answer = text.strip().casefold()
        if answer not in YES_NO:
            raise SheetCRMError(
                Problem("bad_default", f"the default {column.name}= must be yes or no")
            )
        return answer
    if column.kind in ("date", "datetime"):
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            raise SheetCRMError(
                Problem(
                    "bad_default",
                    f"the default {column.name}={text} is not a date like 2026-11-20",
                )
            ) from None
    if column.kind in ("number", "whole"):
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            raise SheetCRMError(
                Problem("bad_default", f"the default {column.name}={text} is not a number")
            ) from None
        return int(number) if column.kind == "whole" or number.is_integer() else number
    return text


# ------------------------------------------------------------------------- planning


def plan(pkg: Package, raw: RawBook, defaults: Mapping[str, str]) -> Adoption:
    """Work out every change adoption makes, without making any."""
    sheets: list[SheetPlan] = []
    by_name: dict[str, SheetPlan] = {}
    found = _by_headings(pkg, raw)
    for spec in SHEETS:
        sheet = raw.sheets.get(spec.name)
        other = found.get(spec.name)
        if sheet is None and other is not None and not _referenced(pkg, other.name):
            raw.sheets[spec.name] = other  # the owner's list, under a name of its own
            step = _plan_sheet(pkg, spec, other, defaults)
            step.owner_name, step.renamed_from = spec.name, other.name
            step.recognised_all = list(other.headers.values())
        elif sheet is None and other is not None:
            step = SheetPlan(spec, None, blocked=True)
            step.note = (
                f"your sheet {other.name!r} looks like your {_WHAT[spec.name]}, but "
                f"formulas refer to it by name; rename it {spec.name!r} in Excel (which "
                "updates them) and adopt the workbook again"
            )
        elif sheet is None:
            step = SheetPlan(spec, None, rows=_default_rows(spec))
            step.dropdowns = [c.name for c in spec.columns if _has_dropdown(spec, c)]
        else:
            step = _plan_sheet(pkg, spec, sheet, defaults)
        sheets.append(step)
        by_name[spec.name] = step
    _plan_staff(raw, by_name)
    wanted = {s.owner_name for s in sheets if s.owner_name}
    wanted |= {s.renamed_from for s in sheets if s.renamed_from}
    wanted |= {other.name for other in found.values()}
    ignored = [n for n in pkg.sheet_names if n not in wanted and _is_worksheet(pkg, n)]
    return Adoption(raw.path, sheets, ignored)


def _by_headings(pkg: Package, raw: RawBook) -> dict[str, RawSheet]:
    """Contract sheets the owner keeps under a name of their own ("Sheet1"), by their headings.

    Only sheets whose name means nothing to the contract are looked at, and only
    for contract sheets the workbook lacks. A customer list needs a name and an
    email or phone; any other sheet at least three of its columns. Each owner
    sheet serves one contract sheet: the best match wins.
    """
    missing = [s for s in SHEETS if s.name not in raw.sheets and not s.managed]
    others = [n for n in raw.sheet_names if find_sheet(n) is None and _is_worksheet(pkg, n)]
    if not missing or not others:
        return {}
    scored: list[tuple[int, int, str, Sheet]] = []
    heads: dict[str, list[list[Any]]] = {}
    book = reader.calamine_book(pkg, pkg.source_bytes())
    try:
        for name in others:
            try:
                heads[name] = book.get_sheet_by_name(name).to_python(nrows=30)
            except Exception:  # a sheet calamine cannot read is no CRM list of ours
                continue
            for order, spec in enumerate(missing):
                best = max(
                    (match_headers(spec, list(enumerate(row))) for row in heads[name]),
                    key=len,
                    default={},
                )
                if _strong(spec, best):
                    scored.append((len(best), -order, name, spec))
        found: dict[str, RawSheet] = {}
        used: set[str] = set()
        for _score, _order, name, spec in sorted(scored, key=lambda t: t[:2], reverse=True):
            if name in used or spec.name in found:
                continue
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            found[spec.name] = raw_sheet(name, spec, rows)
            used.add(name)
        return found
    finally:
        book.close()


def _strong(spec: Sheet, matched: Mapping[str, int]) -> bool:
    """Headings that make a sheet that kind of list beyond doubt.

    A customer list is a name with an email or phone; any other sheet needs
    every column it requires besides its id (a product list with a date and an
    amount is no sales list without the customer).
    """
    if spec.name == "Customers":
        return "name" in matched and bool({"email", "phone"} & set(matched))
    needed = {c.name for c in spec.required if c.name != spec.key or not spec.id_prefix}
    return needed <= set(matched) and len(matched) >= 2


def _referenced(pkg: Package, name: str) -> bool:
    """Whether any formula, defined name, chart or pivot table names the sheet."""
    plain = _attr(name)
    quoted = _attr("'" + name.replace("'", "''") + "'")
    needles = (plain + b"!", quoted + b"!", b'sheet="' + plain + b'"')
    for part in pkg.part_names:
        if not part.lower().endswith(".xml"):
            continue
        data = pkg.read(part)
        if any(n in data for n in needles):
            return True
    return False


def _rename(pkg: Package, old: str, new: str) -> None:
    """Give the owner's sheet the contract's name: in the workbook part and the document list."""
    part = pkg.workbook_part
    data = pkg.read(part)
    m = re.search(rb"<(?:[\w.-]+:)?sheet\b[^>]*?\sname=\"" + re.escape(_attr(old)) + rb"\"", data)
    if m is None:
        raise SheetCRMError(Problem("unsupported", f"cannot find the sheet {old!r} to rename"))
    tag = m.group(0)
    renamed = tag.replace(b'name="' + _attr(old) + b'"', b'name="' + _attr(new) + b'"')
    pkg.write(part, data[: m.start()] + renamed + data[m.end() :])
    for info in pkg.sheets:
        if info.name == old:
            info.name = new
    if pkg.has("docProps/app.xml"):
        app = pkg.read("docProps/app.xml")
        titles = re.search(
            rb"<(?:[\w.-]+:)?TitlesOfParts>.*?</(?:[\w.-]+:)?TitlesOfParts>", app, re.S
        )
        if titles is not None:
            block = re.sub(
                rb"(<(?:[\w.-]+:)?lpstr>)" + re.escape(_attr(old)) + rb"(</)",
                lambda t: t.group(1) + _attr(new) + t.group(2),
                titles.group(0),
                count=1,
            )
            pkg.write("docProps/app.xml", app[: titles.start()] + block + app[titles.end() :])


def _is_worksheet(pkg: Package, name: str) -> bool:
    return any(s.name == name and s.kind == "worksheet" for s in pkg.sheets)


def _default_rows(spec: Sheet) -> list[list[Any]]:
    if spec.name == "Settings":
        return [[s.key, s.default] for s in SETTINGS]
    if spec.name == "SLA":
        return [[s, fr, res, "yes" if bh else "no"] for s, fr, res, bh in DEFAULT_SLA]
    return []


def _plan_sheet(
    pkg: Package, spec: Sheet, sheet: RawSheet, defaults: Mapping[str, str]
) -> SheetPlan:
    step = SheetPlan(spec, sheet.name)
    step.recognised = {
        c: text
        for c, text in sheet.headers.items()
        if normalize_header(text) != normalize_header(c)
    }
    try:
        pkg.headers(sheet.name)
    except SheetCRMError:  # an empty sheet with the right name: no header row to extend
        step.note = (
            "left as it is: it has no header row; type the column names in row 1 "
            f"({', '.join(c.name for c in spec.required)}) and adopt the workbook again"
        )
        return step
    step.new_columns = [c.name for c in spec.columns if c.name not in sheet.headers]
    rows = sheet.excel_rows

    def empty_rows(column: str) -> list[int]:
        values = sheet.columns.get(column)
        if values is None:
            return list(rows)
        return [r for r, v in zip(rows, values, strict=False) if is_blank(v)]

    if spec.id_prefix and rows:
        missing = empty_rows(spec.key)
        if missing:
            from sheetcrm.workbook.newrows import next_ids

            existing = [_id_text(v) for v in sheet.columns.get(spec.key, ()) if not is_blank(v)]
            step.ids = dict(
                zip(missing, next_ids(existing, spec.id_prefix, len(missing)), strict=True)
            )
    for column in spec.columns:
        if column.name == spec.key or not rows:
            continue
        text = defaults.get(column.name)
        if text is not None:
            blanks = empty_rows(column.name)
            if blanks:
                step.fills[column.name] = (_typed_default(spec, column, text), blanks)
        elif column.required:
            blanks = empty_rows(column.name)
            if blanks:
                step.left_empty[column.name] = blanks
    covered = _validated_columns(pkg, sheet.name, sheet.header_row)
    for column in spec.columns:
        if not _has_dropdown(spec, column):
            continue
        letter = sheet.letters.get(column.name)
        if letter is None or column_index(letter) not in covered:
            step.dropdowns.append(column.name)
    return step


def _plan_staff(raw: RawBook, by_name: Mapping[str, SheetPlan]) -> None:
    """Staff named in the owner's sheets (or by --default) but not on the Staff sheet."""
    staff_sheet = raw.sheets.get("Staff")
    listed = {
        str(v).strip().casefold()
        for v in (staff_sheet.columns.get("name", ()) if staff_sheet else ())
        if not is_blank(v)
    }
    named: dict[str, str] = {}
    for sheet_name, column in _STAFF_COLUMNS:
        sheet = raw.sheets.get(sheet_name)
        if sheet is not None:
            for value in set(sheet.columns.get(column, ())):
                if not is_blank(value):
                    named.setdefault(str(value).strip().casefold(), str(value).strip())
        fill = by_name[sheet_name].fills.get(column)
        if fill is not None:
            named.setdefault(str(fill[0]).casefold(), str(fill[0]))
    new = sorted(name for key, name in named.items() if key not in listed)
    step = by_name["Staff"]
    if step.note or step.blocked:  # no heading row, or left for the owner to rename
        return
    step.staff = new
    if step.owner_name is None:
        step.rows = [[name, None, None, "yes"] for name in new]


def _has_dropdown(spec: Sheet, column: Column) -> bool:
    return column_validation(spec, column) is not None


def _id_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _validated_columns(pkg: Package, sheet: str, header_row: int) -> set[int]:
    """0-based columns whose first data cell already has a data validation (the owner's)."""
    data = pkg.read(pkg.sheet_part(sheet))
    refs = re.findall(rb'<(?:[\w.-]+:)?dataValidation\b[^>]*?\ssqref="([^"]*)"', data)
    refs += re.findall(rb"<(?:[\w.-]+:)?sqref>([^<]*)<", data)  # x14 validations
    covered: set[int] = set()
    row = header_row + 1
    for ref in refs:
        for part in ref.decode("utf-8", "replace").split():
            m = re.match(r"^\$?([A-Za-z]{1,3})\$?(\d+)(?::\$?([A-Za-z]{1,3})\$?(\d+))?$", part)
            if not m:
                continue
            c1, r1 = column_index(m.group(1)), int(m.group(2))
            c2 = column_index(m.group(3)) if m.group(3) else c1
            r2 = int(m.group(4)) if m.group(4) else r1
            if r1 <= row <= r2:
                covered.update(range(c1, c2 + 1))
    return covered


# ------------------------------------------------------------------------- applying


def adopt(
    path: Path, defaults: Mapping[str, str] | None = None, *, dry_run: bool = False
) -> Adoption:
    """Adopt the workbook at ``path``; with ``dry_run`` only say what would change."""
    defaults = dict(defaults or {})
    if dry_run:
        raw = read_book(path)
        return plan(Package.from_path(path, CONTRACT), raw, defaults)
    with writer.edit(path) as tx:
        raw = read_book(path)
        adoption = plan(tx.package, raw, defaults)
        if adoption.changes:
            _apply(tx, adoption)
            _check_readable(tx.package, adoption)
    adoption.written = tx.written
    adoption.backup = tx.backup
    return adoption


def _apply(tx: writer.Transaction, adoption: Adoption) -> None:
    pkg = tx.package
    for step in adoption.sheets:
        if step.renamed_from:
            _rename(pkg, step.renamed_from, step.spec.name)
    for step in adoption.sheets:
        if step.owner_name is None:
            continue
        name = step.owner_name
        if step.new_columns:
            tx.ensure_columns(name, step.new_columns, adopting=True)
        changes: dict[int, dict[str, Any]] = {}
        for r, new_id in step.ids.items():
            changes.setdefault(r, {})[step.spec.key] = new_id
        for column, (value, rows) in step.fills.items():
            for r in rows:
                changes.setdefault(r, {})[column] = value
        tx.update_rows(name, changes)
        if step.staff:
            tx.append(name, [{"name": n, "active": "yes"} for n in step.staff])
    for step in adoption.sheets:
        if step.owner_name is None and not step.blocked:
            spec = step.spec
            tx.add_sheet(
                spec.name,
                [c.name for c in spec.columns],
                step.rows,
                [c.width for c in spec.columns],
            )
    for step in adoption.sheets:
        if step.new_columns and step.owner_name is not None:
            _format_columns(pkg, step)
        if step.dropdowns:
            _add_dropdowns(pkg, adoption, step)


def _check_readable(pkg: Package, adoption: Adoption) -> None:
    """Refuse, writing nothing, a result a second reader cannot open.

    The writer verifies the rows it was asked to write; adoption also adds whole
    sheets, so the new file is opened once more, every CRM sheet included.
    """
    try:
        book = reader.calamine_book(pkg, pkg.to_bytes())
        for step in adoption.sheets:
            if not step.blocked:
                book.get_sheet_by_name(step.owner_name or step.spec.name).to_python(nrows=3)
    except Exception as exc:  # calamine raises several unrelated types
        raise SheetCRMError(
            Problem(
                "unsupported",
                f"{pkg.name} is stored in a way sheetcrm cannot add sheets to safely "
                f"({str(exc)[:120]}); nothing was written",
                hint="open it in Excel, save a fresh copy, and adopt that copy",
                remedy="adopt_again",
            )
        ) from None


def _place(pkg: Package, adoption: Adoption) -> Any:
    """Where each contract column is now: the owner's sheet and letter, or the new sheet's."""
    owner_names = {s.spec.name: s.owner_name for s in adoption.sheets}

    def locate(sheet: str, column: str) -> tuple[str, str, int]:
        name = owner_names.get(sheet) or sheet
        header_row, _ = pkg.headers(name)
        return name, column_letter(pkg.column_of(name, column)), header_row

    return locate


def _add_dropdowns(pkg: Package, adoption: Adoption, step: SheetPlan) -> None:
    spec = step.spec
    name = step.owner_name or spec.name
    locate = _place(pkg, adoption)
    header_row, _ = pkg.headers(name)
    last = max([header_row + VALIDATION_ROWS - 1, *(r for r in step.ids)])
    last_rows = {s: VALIDATION_ROWS - 1 for s in SHEET_BY_NAME}
    xml = b""
    for column in step.dropdowns:
        try:
            options = column_validation(spec, spec.column(column), last_rows, locate)
        except SheetCRMError:  # it points at a sheet left for the owner to rename
            continue
        if options is None:
            continue
        letter = column_letter(pkg.column_of(name, column))
        xml += _validation_xml(options, f"{letter}{header_row + 1}:{letter}{last}", pkg.date1904)
    if xml:
        _insert_validations(pkg, pkg.sheet_part(name), xml)


def _attr(text: object) -> bytes:
    return (
        str(text)
        .replace("&", "&amp;")
        .replace('"', "&quot;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\n", "&#10;")
        .encode()
    )


def _formula(value: object, date1904: bool) -> bytes:
    if isinstance(value, date):
        # A workbook on Excel's 1904 date system starts on 1904-01-01: the drop-down's
        # "not before Excel's first date" bound is that day there, not 1900-01-01.
        first = date(1904, 1, 1) if date1904 else date(1900, 1, 1)
        text = f"{excel_serial(max(value, first), date1904):g}"
    elif isinstance(value, list):
        text = '"' + ",".join(str(v) for v in value) + '"'
    else:
        text = str(value)
        text = text[1:] if text.startswith("=") else text
    return _attr(text).replace(b"&quot;", b'"')


_OPERATORS = {
    "between": "between",
    ">=": "greaterThanOrEqual",
    "<=": "lessThanOrEqual",
}


def _validation_xml(options: Mapping[str, Any], sqref: str, date1904: bool) -> bytes:
    """One <dataValidation> as Excel writes it, from xlsxwriter-style ``options``."""
    kind = {"integer": "whole"}.get(options["validate"], options["validate"])
    attrs = [b'type="' + _attr(kind) + b'"']
    style = options.get("error_type", "stop")
    if style != "stop":
        attrs.append(b'errorStyle="' + _attr(style) + b'"')
    criteria = options.get("criteria")
    if criteria:
        attrs.append(b'operator="' + _attr(_OPERATORS[criteria]) + b'"')
    attrs.append(b'allowBlank="1"')
    if options.get("input_message"):
        attrs.append(b'showInputMessage="1"')
    attrs.append(b'showErrorMessage="1"')
    for key, xml_name in (
        ("error_title", "errorTitle"),
        ("error_message", "error"),
        ("input_title", "promptTitle"),
        ("input_message", "prompt"),
    ):
        if options.get(key):
            attrs.append(xml_name.encode() + b'="' + _attr(options[key]) + b'"')
    attrs.append(b'sqref="' + sqref.encode() + b'"')
    if kind == "list":
        body = b"<formula1>" + _formula(options["source"], date1904) + b"</formula1>"
    elif kind == "custom":
        body = b"<formula1>" + _formula(options["value"], date1904) + b"</formula1>"
    elif criteria == "between":
        body = (
            b"<formula1>"
            + _formula(options["minimum"], date1904)
            + b"</formula1><formula2>"
            + _formula(options["maximum"], date1904)
            + b"</formula2>"
        )
    else:
        body = b"<formula1>" + _formula(options["value"], date1904) + b"</formula1>"
    return b"<dataValidation " + b" ".join(attrs) + b">" + body + b"</dataValidation>"


# Worksheet children that come after <dataValidations> (the schema fixes the order).
_AFTER_VALIDATIONS = (
    "hyperlinks",
    "printOptions",
    "pageMargins",
    "pageSetup",
    "headerFooter",
    "rowBreaks",
    "colBreaks",
    "customProperties",
    "cellWatches",
    "ignoredErrors",
    "smartTags",
    "drawing",
    "legacyDrawing",
    "legacyDrawingHF",
    "drawingHF",
    "picture",
    "oleObjects",
    "controls",
    "webPublishItems",
    "tableParts",
    "extLst",
)


def _prefix(data: bytes) -> bytes:
    m = re.search(rb"<((?:[\w.-]+:)?)sheetData\b", data)
    return m.group(1) if m else b""


def _with_prefix(xml: bytes, p: bytes) -> bytes:
    if not p:
        return xml
    return re.sub(rb"<(/?)(dataValidation|formula1|formula2)\b", rb"<\1" + p + rb"\2", xml)


def _insert_validations(pkg: Package, part: str, xml: bytes) -> None:
    data = pkg.read(part)
    p = _prefix(data)
    xml = _with_prefix(xml, p)
    added = xml.count(b"<" + p + b"dataValidation ")
    end_sheet_data = data.find(b"</" + p + b"sheetData>")
    m = re.search(rb"<((?:[\w.-]+:)?)dataValidations\b[^>]*?(/?)>", data[end_sheet_data:])
    if m:  # the owner has validations of their own: ours join them
        start = end_sheet_data + m.start()
        tag = m.group(0)
        a = re.search(rb'\scount="(\d+)"', tag)
        count = (int(a.group(1)) if a else 0) + added
        new_tag = re.sub(rb'\scount="\d+"', b"", tag).replace(b"/>", b">").rstrip(b">")
        new_tag += b' count="%d">' % count
        if m.group(2):
            block = new_tag + xml + b"</" + p + b"dataValidations>"
            data = data[:start] + block + data[start + len(tag) :]
        else:
            close = data.find(b"</" + p + b"dataValidations>", start)
            data = data[:start] + new_tag + data[start + len(tag) : close] + xml + data[close:]
    else:
        block = (
            b"<"
            + p
            + b'dataValidations count="%d">' % added
            + xml
            + b"</"
            + p
            + b"dataValidations>"
        )
        at = len(data)
        for name in _AFTER_VALIDATIONS:
            found = re.search(
                rb"<" + re.escape(p) + name.encode() + rb"[\s/>]", data[end_sheet_data:]
            )
            if found:
                at = min(at, end_sheet_data + found.start())
        if at == len(data):
            at = data.rfind(b"</" + p + b"worksheet>")
        data = data[:at] + block + data[at:]
    pkg.write(part, data)


def _format_columns(pkg: Package, step: SheetPlan) -> None:
    """Width and number format of the columns adoption added, where the owner set none."""
    name = step.owner_name or step.spec.name
    part = pkg.sheet_part(name)
    data = pkg.read(part)
    p = _prefix(data)
    taken: list[tuple[int, int]] = [
        (int(a), int(b))
        for a, b in re.findall(rb'<(?:[\w.-]+:)?col\b[^>]*?\smin="(\d+)"[^>]*?\smax="(\d+)"', data)
    ]
    new_cols: list[tuple[int, bytes]] = []
    for column in step.new_columns:
        spec_col = step.spec.column(column)
        number = pkg.column_of(name, column) + 1
        if any(a <= number <= b for a, b in taken):
            continue
        attrs = b'min="%d" max="%d" width="%d" customWidth="1"' % (number, number, spec_col.width)
        style = _column_style(pkg, spec_col)
        if style:
            attrs += b' style="%d"' % style
        new_cols.append((number, b"<" + p + b"col " + attrs + b"/>"))
    if not new_cols:
        return
    cols = re.search(rb"<((?:[\w.-]+:)?)cols\b[^>]*>(.*?)</\1cols>", data, re.S)
    if cols:
        body = cols.group(2) + b"".join(x for _, x in new_cols)
        items = re.findall(rb"<(?:[\w.-]+:)?col\b[^>]*/>", body)
        items.sort(key=lambda x: int(re.search(rb'\smin="(\d+)"', x).group(1)))  # type: ignore[union-attr]
        block = data[cols.start() : cols.start(2)] + b"".join(items) + b"</" + p + b"cols>"
        data = data[: cols.start()] + block + data[cols.end() :]
    else:
        at = data.find(b"<" + p + b"sheetData")
        data = (
            data[:at]
            + b"<"
            + p
            + b"cols>"
            + b"".join(x for _, x in new_cols)
            + b"</"
            + p
            + b"cols>"
            + data[at:]
        )
    pkg.write(part, data)


def _column_style(pkg: Package, column: Column) -> int:
    """A cell style carrying the column kind's number format (0: General, nothing to set)."""
    if column.kind in ("date", "datetime"):
        return pkg.styles.dated(0, column.kind)
    if column.kind in NUMBER_FORMATS:
        builtin = {"#,##0.00": b"4", "0": b"1"}[NUMBER_FORMATS[column.kind]]
        styles = pkg.styles
        return styles._add_xf(styles._clone(0, numFmtId=builtin, applyNumberFormat=b"1"))
    return 0


# ------------------------------------------------------------------------- wording


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _names(names: Sequence[str]) -> str:
    return ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")


def _show(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else repr(value)


def _rows(rows: Sequence[int]) -> str:
    """``rows 2-13`` or ``rows 2, 5, 9 and 4 more``, as the owner finds them in Excel."""
    rows = sorted(rows)
    if len(rows) == 1:
        return f"row {rows[0]}"
    if rows[-1] - rows[0] + 1 == len(rows):
        return f"rows {rows[0]}-{rows[-1]}"
    shown = ", ".join(str(r) for r in rows[:5])
    return f"rows {shown}" + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
