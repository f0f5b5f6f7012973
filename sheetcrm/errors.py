"""Problems found in a workbook, and the one exception sheetcrm raises on purpose.

Bad *data* is never an exception: validation returns a :class:`Report` of
:class:`Problem` records, each located by sheet and cell so the owner can fix it
in Excel. :class:`SheetCRMError` is for "cannot go on" (the file is not a
workbook, it is open in Excel, an import was refused) and carries problems too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]

# Problem codes: stable, documented in the README, used by tests and --format json.
CODES: dict[str, str] = {
    "missing_sheet": "a sheet the contract needs is not in the workbook",
    "missing_column": "a required column is not on its sheet",
    "missing_value": "a required cell is empty",
    "invalid_date": "not a date (or date and time) sheetcrm can read",
    "ambiguous_date": "a text date that could be read two ways, such as 03/04/2026",
    "invalid_number": "not a number, or not a whole number where one is needed",
    "invalid_email": "not an email address",
    "invalid_yes_no": "not yes or no",
    "not_in_list": "a value outside the column's drop-down list",
    "out_of_range": "a number outside the allowed range",
    "duplicate_id": "an id used by an earlier row",
    "duplicate_email": "two customers share one email address",
    "unknown_reference": "refers to a customer, staff member or complaint that does not exist",
    "date_order": "a date before the date it must follow",
    "future_date": "a date in the future",
    "status_mismatch": "a complaint still open that has a resolved date",
    "missing_sla": "no SLA row for a severity, so the default target is used",
    "inactive_owner": "customers or complaints owned by a staff member marked inactive",
    "invalid_setting": "a Settings value sheetcrm cannot use",
    "not_a_workbook": "the file is not an Excel workbook sheetcrm can open",
    "encrypted": "the workbook is protected with a password and none was given",
    "unsafe_workbook": "the workbook holds XML that could exhaust memory",
    "workbook_open": "the workbook is open in Excel",
    "workbook_locked": "another sheetcrm command is writing the workbook",
    "workbook_changed": "the workbook changed on disk while sheetcrm was writing it",
    "verify_failed": "the written copy did not read back as intended, so it was not used",
    "backup_failed": "the previous version could not be kept, so nothing was written",
    "invalid_value": "text that cannot be stored in a workbook (control characters)",
    "unsupported": "a layout sheetcrm cannot append to safely (e.g. a Table with a totals row)",
    "unknown_customer": "no customer matches what was typed",
    "ambiguous_customer": "several customers match what was typed",
    "unknown_complaint": "no complaint has that id",
    "unknown_department": "no active staff member is in that department",
    "unknown_sheet": "the sheet named for an import is not a contract sheet",
    "empty_csv": "the CSV file to import is empty",
    "bad_csv": "the CSV file to import cannot be read",
    "not_utf8": "the CSV file is not UTF-8 text",
    "missing_file": "a file named on the command line does not exist",
    "template_error": "a report template cannot be rendered (a typo in it, or a missing file)",
    "invalid_week": "not an ISO week such as 2026-W47",
    "invalid_format": "a report format sheetcrm cannot write",
    "file_exists": "a file sheetcrm will not overwrite",
    "smtp_config": "the SMTP settings (SHEETCRM_SMTP_* or --smtp-url) cannot be used",
    "smtp_failed": "the mail server could not be reached, refused the login or a recipient",
    "not_sent": "an e-mail that was not sent; running the command again sends it",
    "sent": "an e-mail that was sent before a failure; running again will not resend it",
    "write_failed": "a file sheetcrm writes (an .eml of --dry-run, the sent log) failed",
    "sent_log_unreadable": "the record of e-mails already sent cannot be read",
    "already_done": "the complaint already has that response or resolution",
    # daily: staff and customer edits from the command line
    "unknown_staff": "a name that is not on the Staff sheet",
    "staff_exists": "a staff member of that name is already on the Staff sheet",
    "unknown_column": "a column the command cannot set (not on the sheet, or the id)",
    # mail: sending one run at a time, at most once
    "email_running": "another sheetcrm command is sending this workbook's e-mail right now",
    "maybe_sent": "an e-mail whose server answer was lost; it is sent again only with --resend",
    "unknown_message": "--resend names a message this run would not send",
    # writer: writes, backups, permissions and the owner's layout
    "text_too_long": "text longer than the 32,767 characters an Excel cell can hold",
    "in_the_way": "the owner's note, total or merged row sits where the next record would go",
    "signed_workbook": "the workbook is digitally signed; a write would remove the signature",
    "not_writable": "the user may not change the workbook, or its folder or disk is read-only",
    "disk_full": "the disk (or the user's quota) is full, so nothing was written",
    # figures: the weekly figures, overdue and followups
    "unknown_owner": "no staff member or owner has the name given with --owner",
    # adopt: init --into and import
    "bad_default": "a --default that is not COLUMN=VALUE with a value the column allows",
    # xlsx: the workbook file itself (reader, parts, safety)
    "damaged_part": "a part inside the workbook file is damaged and cannot be unpacked",
    "sheet_too_large": "a sheet reaches so far (its farthest cell) that reading it is refused",
    # inbox: the mailbox loop (IMAP capture and survey answers)
    "imap_config": "the IMAP settings (SHEETCRM_IMAP_* or --imap-url) cannot be used",
    "imap_failed": "the mailbox could not be read, so nothing was logged or moved",
    "inbox_log_unreadable": "the record of e-mails already logged cannot be read",
    "survey_key": "the key that signs survey answers cannot be read or made",
    # care: duplicates, merge, export and erase of one customer, encrypted workbooks
    "likely_duplicate": "two customer rows that are probably one person",
    "merge_refused": "the two customers named cannot be merged (the same one, or merged already)",
    "wrong_password": "the password given for a password-protected workbook does not open it",
    # house: the raises that carried no code of their own
    "bad_name": "a file or sheet name sheetcrm cannot use (not .xlsx, or not allowed by Excel)",
    "sheet_exists": "the workbook already has a sheet of that name",
}

# Remedies: stable keys for "what to do" that a front end can say in its own words.
# Library messages and hints never name command-line options (issue 15); a Problem
# whose fix is an option or a command carries one of these keys, and the CLI maps it
# to the option text. remedy_args are the words the advice needs, in this order.
REMEDIES: dict[str, str] = {
    "add_customer": "add the customer first",
    "add_staff": "add the staff member (args: name)",
    "add_staff_or_typo": "a near name was probably meant, or add them (args: names, name)",
    "allow_duplicate_email": "allow a second customer with the same email address",
    "check_when": "the time given for the change (or now) is before the record began",
    "default_example": "defaults are COLUMN=VALUE pairs",
    "default_choice": "a default must be one of the column's choices (args: column, choice)",
    "adopt_again": "adopt the workbook again after fixing it",
    "other_folder": "choose another folder to write into",
    "export_folder": "choose a folder the export can be written to",
    "smtp_user": "give the SMTP user name (args: environment prefix)",
    "smtp_cafile": "give the SMTP server's certificate file (args: environment prefix)",
    "smtp_from": "give the address mail comes from (args: environment prefix)",
    "smtp_url": "the hint's words 'the SMTP URL' name the way the caller gives the URL",
    "recipients": "give the recipients, or set report_recipients on Settings",
    "eml_folder": "choose a folder you can write the .eml files to",
    "imap_url": "give the mailbox address (args: environment prefix)",
    "imap_cafile": "give the IMAP server's certificate file (args: environment prefix)",
    "period_order": "the period's start must be on or before its end",
    "export_templates": "copy the default templates out to edit them",
    "import_csv": "a CSV file is imported into a workbook, not opened as one",
    "create_workbook": "create a new workbook (the sample one, to try sheetcrm)",
    "force_signed": "allow writing a signed workbook (its signature is removed)",
    "adopt_workbook": "adopt the workbook to add the missing sheets",
    "validate": "check the whole workbook (args: path)",
    "merge_customers": "merge the two customer rows (args: first id, second id)",
    "resend_key": "name a message of this same run to send again (args: what still waits)",
    "smtp_setup": "set up the mail server, or write the messages to files first",
    "create_templates": "copy the built-in templates into the folder first",
}

_PLAIN_SHEET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def quote_sheet(sheet: str) -> str:
    """The sheet name as Excel writes it in a reference: quoted when it needs to be.

    >>> quote_sheet("Customers"), quote_sheet("Customer list"), quote_sheet("O'Brien")
    ('Customers', "'Customer list'", "'O''Brien'")
    """
    if _PLAIN_SHEET_NAME.match(sheet) and not re.match(r"^[A-Za-z]{1,3}[0-9]+$", sheet):
        return sheet
    return "'" + sheet.replace("'", "''") + "'"


def cell_ref(sheet: str | None, cell: str | None) -> str:
    """``Interactions!C14``, ``'Customer list'!B2``, ``Interactions`` or ``''``."""
    if sheet is None:
        return ""
    return f"{quote_sheet(sheet)}!{cell}" if cell else quote_sheet(sheet)


def column_letter(index: int) -> str:
    """Excel's letter for a 0-based column index: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in the workbook, located precisely enough to fix it in Excel."""

    code: str
    message: str
    sheet: str | None = None
    cell: str | None = None
    row: int | None = None
    column: str | None = None
    value: Any = None
    hint: str | None = None
    severity: Severity = "error"
    # What the caller can do about it, as a key of REMEDIES (with its words in
    # remedy_args): the library's hint says it in library words, and the command line
    # swaps in its own option for it (cli/app.py, CLI_REMEDIES).
    remedy: str | None = None
    remedy_args: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return cell_ref(self.sheet, self.cell)

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text}\n  hint: {self.hint}" if self.hint else text

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["value"] = _jsonable(self.value)
        return data


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


_JSON_FIELDS = ("severity", "sheet", "cell", "row", "column", "code", "message", "hint")


@dataclass(slots=True)
class Report:
    """Every problem found in one workbook, in sheet and row order."""

    workbook: str = ""
    problems: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.problems)

    def __len__(self) -> int:
        return len(self.problems)

    def flatten(self, *fields: str) -> list[tuple[Any, ...]]:
        """The problems as tuples of the named fields, so tests read like tables."""
        return [tuple(getattr(p, f) for f in fields) for p in self.problems]

    def to_json(self) -> dict[str, Any]:
        return {
            "workbook": self.workbook,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "problems": [
                {k: v for k, v in p.to_dict().items() if k in _JSON_FIELDS} for p in self.problems
            ],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, indent=2)


class SheetCRMError(Exception):
    """The one exception sheetcrm raises on purpose: it cannot go on."""

    exit_code = 2

    def __init__(self, problem: Problem, *, problems: Sequence[Problem] = ()) -> None:
        # Always a Problem with a code from CODES (tests/test_error_family.py checks it).
        if not isinstance(problem, Problem):
            raise TypeError("SheetCRMError takes a Problem with a code from errors.CODES")
        super().__init__(str(problem))
        self.problem = problem
        self.problems = tuple(problems) or (problem,)


class WorkbookOpenError(SheetCRMError):
    """The workbook is open in Excel: not now, try again after it is closed."""

    exit_code = 3
