"""The .xlsx file format alone: the zip package, its parts and their XML.

Knows nothing of customers or complaints: it imports only :mod:`sheetcrm.errors`
(so that a damaged file is reported like every other problem) and is told which
sheet and column to touch by the layer above (:mod:`sheetcrm.workbook`).
"""
