"""The ``sheetcrm`` command: Click only. Parse, call the library, print, choose the exit code.

One module per group of commands; each registers its commands on :data:`cli`
when imported, which this package does below.
"""

from sheetcrm.cli import (  # noqa: F401  (registers)
    care,
    complaints,
    contacts,
    inbox,
    reporting,
    sales,
    staff,
    workbook,
)
from sheetcrm.cli.app import cli, main

__all__ = ["cli", "main"]
