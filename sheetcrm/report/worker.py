"""A second process that draws the report's charts and renders its Word document.

matplotlib and docxtpl take about a second to import and the charts and the
Word file another half; none of it needs the main process. The worker starts
first, imports them while the main process reads the workbook (a thread would
share one core's worth of Python with the reading), then draws the charts while the
figures are computed and renders the .docx while the page and Markdown are
written. Anything that goes wrong in the worker makes the caller do the work
itself, so the result never depends on it; only the time does.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from typing import Any

from sheetcrm.background import settle


class RenderWorker:
    """``with RenderWorker(tasks) as worker: ...``; ``submit(task, *args)`` then ``result()``.

    ``tasks`` names the functions the worker may run (module-level functions: where
    processes cannot fork they are sent by name). The caller chooses them, so this
    module knows nothing of reports (see :func:`sheetcrm.report.documents.start_worker`).
    """

    def __init__(self, tasks: Mapping[str, Callable[..., Any] | str]) -> None:
        """``tasks``: task name -> function, or its name as ``"package.module:function"``
        (imported by the worker itself: it can then start before that module is)."""
        settle()  # no import thread may be running when this process is copied
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(  # type: ignore[attr-defined]  # every context has one
            target=_serve, args=(child, dict(tasks)), daemon=True, name="sheetcrm-render"
        )
        self._proc.start()
        child.close()

    def submit(self, task: str, *args: Any) -> bool:
        """Hand a task over; False if the worker is gone (the caller does it itself)."""
        try:
            self._conn.send((task, args))
        except (OSError, ValueError):
            return False
        return True

    def result(self, timeout: float = 300) -> Any:
        """The answer to the oldest task submitted; RuntimeError if the worker failed."""
        if not self._conn.poll(timeout):
            raise RuntimeError("the render worker did not answer")
        kind, value = self._conn.recv()
        if kind != "ok":
            raise RuntimeError(value)
        return value

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # already gone: nothing to stop
            self._conn.send(None)
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.terminate()
        self._conn.close()

    def __enter__(self) -> RenderWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(conn: Connection, named: dict[str, Callable[..., Any] | str]) -> None:
    # The slow imports, done while the main process is still reading the workbook.
    import docxtpl  # noqa: F401
    from matplotlib.backends import backend_agg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401

    tasks = {task: _function(fn) for task, fn in named.items()}

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        task, args = message
        try:
            conn.send(("ok", tasks[task](*args)))
        except BaseException as e:  # the caller redoes the work and reports it properly
            conn.send(("error", f"{type(e).__name__}: {e}"))


def _function(fn: Callable[..., Any] | str) -> Callable[..., Any]:
    if callable(fn):
        return fn
    module, _, name = fn.partition(":")
    found: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return found


class Forked:
    """``fn(*args)`` computed in a forked copy of this process, at the same time as the rest.

    The copy shares the workbook already read, so nothing is sent but the
    answer. Where processes cannot fork (Windows), or the copy fails, ``result()``
    computes it here instead: the answer is the same either way.
    """

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self._fn, self._args = fn, args
        self._proc: Any = None
        if "fork" in multiprocessing.get_all_start_methods():
            settle()  # no import thread may be running when this process is copied
            ctx = multiprocessing.get_context("fork")
            self._conn, child = ctx.Pipe(duplex=False)
            self._proc = ctx.Process(target=_call_and_send, args=(child, fn, args), daemon=True)
            self._proc.start()
            child.close()

    def result(self, timeout: float = 300) -> Any:
        if self._proc is not None:
            try:
                if self._conn.poll(timeout):
                    kind, value = self._conn.recv()
                    if kind == "ok":
                        return value
            except (EOFError, OSError):
                pass
            finally:
                self._conn.close()
                self._proc.join(timeout=5)
                if self._proc.is_alive():
                    self._proc.terminate()
        return self._fn(*self._args)  # here, so that a real error is raised properly


def _call_and_send(conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        conn.send(("ok", fn(*args)))
    except BaseException as e:
        conn.send(("error", f"{type(e).__name__}: {e}"))
