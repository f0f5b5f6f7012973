"""Delivery: getting things to people and back, by mail.

``mail`` sends (SMTP, at most once) and ``outbox`` decides what to send: the
weekly summary, staff digests and department notices. ``inbox`` reads the CRM
mailbox over IMAP and logs each conversation with a customer as an interaction;
``survey`` asks customers, once their complaint is resolved, how it was handled,
and recognises their answers. Parsing and deciding are pure functions; only the
``fetch``/``run``/``send`` functions touch the network and the files.
"""
