"""sheetcrm: a lightweight CRM whose record store is one Excel workbook."""

__version__ = "0.1.0"
