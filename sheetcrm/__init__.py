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
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Book": "sheetcrm.book",
    "Problem": "sheetcrm.errors",
    "Report": "sheetcrm.errors",
    "SheetCRMError": "sheetcrm.errors",
    "WorkbookOpenError": "sheetcrm.errors",
    "load": "sheetcrm.validation",
    "validate": "sheetcrm.validation",
    "read_book": "sheetcrm.reader",
    "overdue": "sheetcrm.sla",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sheetcrm' has no attribute {name!r}")
