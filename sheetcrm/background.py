"""Libraries imported in a thread while a command reads the workbook, and the rule with it.

A read spends most of its time in calamine and zlib, which do not hold Python's
lock; pandas, scipy and the report's libraries take a quarter of a second to a
second to import. Started in a thread first, the import runs beside the read on
a second core (on one core it costs nothing extra: the same work, interleaved).

Two rules keep this safe. Only libraries that never import sheetcrm: two threads
importing each other's modules in opposite orders could deadlock. And a process
is forked only once these threads are done (:func:`settle`): a fork copies the
locks a running thread holds, the import lock among them, and the copy would
wait for them for ever.
"""

from __future__ import annotations

import importlib
import threading

_started: list[threading.Thread] = []


def import_meanwhile(*modules: str) -> None:
    """Import ``modules`` in a thread. A failed import is left for the command's own
    import to report, in words; the others are still imported."""
    thread = threading.Thread(target=_import_all, args=modules, name="sheetcrm-import")
    _started.append(thread)
    thread.start()


def settle() -> None:
    """Wait for the imports started here (before a fork, see above)."""
    while _started:
        _started.pop().join()


def _import_all(*modules: str) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException:
            continue
