"""The weekly report and daily digests: periods, the plain context, charts, templates.

:mod:`sheetcrm.report.render` is the one orchestrator: it builds the context from
the rules, decides what runs in the second process (:mod:`sheetcrm.report.worker`)
and writes the files. :mod:`sheetcrm.report.fits` keeps the customer-value fit
beside the workbook for it and for the commands that rank by it.
"""
