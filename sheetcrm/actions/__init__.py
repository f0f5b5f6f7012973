"""What the owner does to the workbook: log, sell, open and answer complaints, import,
adopt an existing workbook, mark problems. Each use case goes through
:class:`sheetcrm.workbook.writer.Transaction`.
"""
