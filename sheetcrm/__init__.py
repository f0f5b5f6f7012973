"""sheetcrm: a lightweight CRM whose record store is one Excel workbook.

The library behind the ``sheetcrm`` command::

    import sheetcrm
    book, report = sheetcrm.load("crm.xlsx")      # read and validate
    for problem in report.errors:
        print(problem)                            # Interactions!C14: ...

Names are imported on first use, so ``sheetcrm --version`` stays quick.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    "Book": "sheetcrm.workbook.book",
    "Problem": "sheetcrm.errors",
    "Report": "sheetcrm.errors",
    "SheetCRMError": "sheetcrm.errors",
    "WorkbookOpenError": "sheetcrm.errors",
    "load": "sheetcrm.workbook.validation",
    "validate": "sheetcrm.workbook.validation",
    "read_book": "sheetcrm.workbook.reader",
    "overdue": "sheetcrm.rules.sla",
}

__all__ = [
    "Book",
    "Problem",
    "Report",
    "SheetCRMError",
    "WorkbookOpenError",
    "__version__",
    "load",
    "overdue",
    "read_book",
    "validate",
]

if TYPE_CHECKING:  # what type checkers and editors see; at run time __getattr__ imports
    from sheetcrm.errors import Problem, Report, SheetCRMError, WorkbookOpenError
    from sheetcrm.rules.sla import overdue
    from sheetcrm.workbook.book import Book
    from sheetcrm.workbook.reader import read_book
    from sheetcrm.workbook.validation import load, validate


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sheetcrm' has no attribute {name!r}")
