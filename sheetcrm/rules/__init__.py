"""Pure computations on a Book: SLA, follow-ups, figures, a customer's history.

No files, no clock (the moment is passed in as ``as_of``), no processes: the same
Book and moment always give the same answer.
"""
