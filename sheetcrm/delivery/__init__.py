"""Delivery: moving data in and out of the workbook by mail and files.

``inbox`` reads the CRM mailbox over IMAP and logs each conversation with a
customer as an interaction; ``survey`` asks customers, once their complaint is
resolved, how it was handled, and recognises their answers. Parsing and
deciding are pure functions; only the ``fetch``/``run`` functions touch the
network and the files.
"""
