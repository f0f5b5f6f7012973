"""Rules: pure computations on a Book.

A rule takes a Book (or one of its frames) and the moment it is asked about
(``as_of``, or the end of a report's period) and gives plain data back: numbers,
dicts, frames. A rule never reads a clock, a file or the network and imports
nothing from the report, CLI or delivery layers, so every figure can be tested on
frames built in memory and gives the same answer on every run.

Here: business time is in ``workbook`` (the Book's calendar); ``sla`` (complaint
targets), ``followups`` (whom to contact), ``metrics`` (the weekly figures),
``history`` (one customer's story), ``value`` and ``rfm`` (what customers are worth).
"""
