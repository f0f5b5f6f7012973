"""The sheetcrm benchmark: fast at a shop's 10,000 and 100,000 interactions, working at 1,048,575?

    python bench/run.py                                  # everything, all sizes
    python bench/run.py --sizes 10000,100000 --repeat 5
    python bench/run.py --only validate --openpyxl-max 1048575
    python bench/run.py --list

Every measurement is a separate process (so each pays Python's start-up and its
own imports, as a user does), started by a small launcher that times it by the
wall clock and takes its peak memory, the maximum resident set size from
``os.wait4``. The best (minimum) of ``--repeat`` runs is reported; the peak memory
is the largest seen.

The table is printed and written to ``bench/RESULTS.md``. The exit status is 1
when a goal fails (or a measured command fails), so the run can gate a release.

Cases are registered in ``CASES``; add one by subclassing :class:`Case` and
calling :func:`register`. Each case measures one workbook size at a time,
returns its rows of the table and judges its own goals.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib.metadata
import io
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from make_workbook import EXCEL_MAX_RECORDS, ensure_workbook  # noqa: E402

DEFAULT_SIZES = (10_000, 100_000, EXCEL_MAX_RECORDS)
AS_OF = "2026-11-20"
MB = 1024**2

# --------------------------------------------------------------------------- measuring


@dataclass
class Run:
    """One finished child process."""

    seconds: float
    peak_mb: float | None
    returncode: int
    output: str  # stdout and stderr (the last MiB of them)
    problem: str | None = None  # what a job's check found wrong after a clean exit


@dataclass
class Timing:
    """The best of several runs of one command."""

    label: str
    runs: list[Run] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(r.returncode == 0 and not r.problem for r in self.runs)

    @property
    def seconds(self) -> float:
        return min(r.seconds for r in self.runs)

    @property
    def peak_mb(self) -> float | None:
        peaks = [r.peak_mb for r in self.runs if r.peak_mb is not None]
        return max(peaks) if peaks else None

    @property
    def failure(self) -> str | None:
        for r in self.runs:
            if r.returncode != 0:
                return f"{self.label} exited {r.returncode}: {r.output.strip()[-400:]}"
            if r.problem:
                return f"{self.label}: {r.problem}"
        return None


# The measured command is started by this small launcher rather than by the bench
# itself: on Linux a process's peak resident memory (ru_maxrss) starts, when it
# execs, at the high-water mark of the process it was forked from. A command started
# by the bench would report at least the bench's own peak (which holds a million rows
# after reading the 1M workbook for its checks); started by a fresh launcher, at
# least the launcher's ~10 MB.
_LAUNCHER = """\
import json, os, subprocess, sys, threading, time
report, timeout, argv = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
started = time.perf_counter()
proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
killed = threading.Event()
def kill():
    killed.set()
    proc.kill()
timer = threading.Timer(timeout, kill)
timer.start()
try:
    if hasattr(os, "wait4"):
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
        peak = usage.ru_maxrss * scale
    else:  # Windows: time only
        code = proc.wait()
        seconds = time.perf_counter() - started
        peak = None
finally:
    timer.cancel()
with open(report, "w") as f:
    json.dump({"seconds": seconds, "peak": peak, "code": code, "killed": killed.is_set()}, f)
"""


def run_child(argv: Sequence[str], *, timeout: float) -> Run:
    """Run ``argv`` to the end: wall-clock seconds, peak RSS of the child, exit code.

    The clock and the peak are taken by :data:`_LAUNCHER` around the command
    itself (the launcher's own start-up is not timed).
    """
    with tempfile.TemporaryDirectory(prefix="sheetcrm-bench-run-") as tmp:
        report = Path(tmp) / "run.json"
        with (Path(tmp) / "output").open("w+b") as out:
            # no stdin: a command that stops to ask something fails instead of waiting forever
            launcher = subprocess.Popen(
                [sys.executable, "-c", _LAUNCHER, str(report), str(timeout), *argv],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
            launcher.wait()  # the launcher enforces the timeout
            # checks look for what a command printed; only a runaway one prints over a MiB
            out.seek(max(0, out.seek(0, io.SEEK_END) - MB))
            tail = out.read().decode("utf-8", "replace")
        if not report.is_file():  # the launcher itself failed (cannot start the command)
            return Run(0.0, None, launcher.returncode or 1, tail)
        got = json.loads(report.read_text())
    if got["killed"]:
        tail += f"\n(killed after the --timeout of {timeout:.0f} s)"
    peak = None if got["peak"] is None else got["peak"] / MB
    return Run(got["seconds"], peak, got["code"], tail)


class Job:
    """A command that needs work before and after every run, none of it timed.

    ``setup`` returns the argv to time (e.g. after copying the workbook into a
    fresh folder), ``check`` says what is wrong with the result (``None`` when it
    is right) and ``teardown`` removes what setup made. ``best_of`` takes a Job
    wherever it takes an argv.
    """

    def setup(self) -> list[str]:
        raise NotImplementedError

    def check(self, run: Run) -> str | None:
        return None

    def teardown(self) -> None:
        pass


class Scratch(Job):
    """A command run in a new temporary folder, optionally on a fresh copy of a workbook.

    With ``copy_of``, that workbook is copied to ``folder / "crm.xlsx"`` before
    the clock starts (writing commands keep backups and a lock file beside the
    workbook, so every copy gets a folder of its own). ``argv(folder)`` builds
    the command, ``check(folder, run)`` looks at the result after a clean exit,
    and the folder is deleted after every run.
    """

    WORKBOOK = "crm.xlsx"

    def __init__(
        self,
        argv: Callable[[Path], list[str]],
        check: Callable[[Path, Run], str | None] | None = None,
        *,
        copy_of: Path | None = None,
    ) -> None:
        self.make_argv, self.verify, self.copy_of = argv, check, copy_of
        self.folder: Path | None = None

    def setup(self) -> list[str]:
        self.folder = Path(tempfile.mkdtemp(prefix="sheetcrm-bench-"))
        if self.copy_of is not None:
            shutil.copyfile(self.copy_of, self.folder / self.WORKBOOK)
        return self.make_argv(self.folder)

    def check(self, run: Run) -> str | None:
        if self.verify is None or run.returncode != 0 or self.folder is None:
            return None
        try:
            return self.verify(self.folder, run)
        except Exception as exc:  # a result the check cannot even read is a failed run
            return f"the check failed: {type(exc).__name__}: {exc}"

    def teardown(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def python_argv(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


def sheetcrm_argv(*args: str) -> list[str]:
    """The installed ``sheetcrm`` console script next to this Python (not a pyenv shim)."""
    bindir = Path(sys.executable).parent
    for name in ("sheetcrm", "sheetcrm.exe"):
        if (bindir / name).is_file():
            return [str(bindir / name), *args]
    found = shutil.which("sheetcrm")
    return [found, *args] if found else [sys.executable, "-m", "sheetcrm", *args]


# --------------------------------------------------------------------------- tables


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        cells = [self.headers, *self.rows]
        widths = [max(len(r[j]) for r in cells) for j in range(len(self.headers))]
        lines = [self.title]
        for r in [self.headers, ["-" * w for w in widths], *self.rows]:
            lines.append("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))
        return "\n".join(lines)

    def markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        lines.append("| " + " | ".join(self.headers) + " |")
        lines.append("|" + "|".join("---:" for _ in self.headers) + "|")
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        if self.notes:
            lines += ["", *self.notes]
        return "\n".join(lines)


@dataclass
class Goal:
    name: str
    status: str  # PASS, FAIL or NOT RUN
    detail: str
    gating: bool = True  # False: reported (FAIL included) but does not set the exit status
    case: str = ""  # filled in by main()

    @property
    def result(self) -> str:
        return f"**{self.status}**" + ("" if self.gating else " (informational)")


def fmt_s(t: Timing | None) -> str:
    if t is None:
        return "skipped"
    return f"{t.seconds:.2f}" if t.ok else "FAILED"


def fmt_mb(t: Timing | None) -> str:
    return "" if t is None or t.peak_mb is None else f"{t.peak_mb:,.0f}"


def ratio(a: Timing | None, b: Timing | None) -> float | None:
    """The median of the ratios of runs made back to back, in the same round.

    On a shared machine the whole machine's speed drifts by a third within
    minutes (validate took 3.0 to 4.5 s within one run here), so a ratio of two
    bests sets one command's luckiest moment against an ordinary one of the
    other. Runs of one round are seconds apart and see the same machine.
    """
    if a is None or b is None or not (a.ok and b.ok):
        return None
    pairs = [x.seconds / y.seconds for x, y in zip(a.runs, b.runs, strict=False)]
    return statistics.median(pairs) if pairs else None


def fmt_ratio(r: float | None) -> str:
    return "" if r is None else f"{r:.2f}×"


# --------------------------------------------------------------------------- cases


@dataclass
class Options:
    sizes: list[int]
    repeat: int
    openpyxl_max: int
    timeout: float


class Case:
    """One section of the benchmark. Subclasses fill in the three methods."""

    name = ""
    description = ""

    def __init__(self) -> None:
        self.results: dict[int, dict[str, Timing]] = {}
        self.files: dict[int, Path] = {}

    def applies(self, size: int, opts: Options) -> bool:
        return True

    def measure(self, size: int, book: Path, opts: Options) -> dict[str, Timing]:
        raise NotImplementedError

    def table(self) -> Table:
        raise NotImplementedError

    def goals(self) -> list[Goal]:
        return []

    # helpers
    @staticmethod
    def best_of(commands: dict[str, list[str] | Job], opts: Options) -> dict[str, Timing]:
        """Each command ``opts.repeat`` times, interleaved so drift hits all alike.

        A :class:`Job` is set up before and checked and torn down after each of
        its runs; only the command itself is timed.
        """
        timings = {label: Timing(label) for label in commands}
        for i in range(opts.repeat):
            for label, command in commands.items():
                if isinstance(command, Job):
                    try:
                        run = run_child(command.setup(), timeout=opts.timeout)
                        run.problem = command.check(run)
                    finally:
                        command.teardown()
                else:
                    run = run_child(command, timeout=opts.timeout)
                timings[label].runs.append(run)
                mem = "" if run.peak_mb is None else f", peak {run.peak_mb:,.0f} MB"
                flag = "" if run.returncode == 0 else f"  EXIT {run.returncode}"
                if run.problem:
                    flag += "  CHECK FAILED"
                print(f"    {label:<10} run {i + 1}/{opts.repeat}: {run.seconds:7.2f} s{mem}{flag}")
                if run.returncode != 0:
                    print("      " + run.output.strip()[-600:].replace("\n", "\n      "))
                if run.problem:
                    print(f"      {run.problem}")
        return timings


CASES: dict[str, Case] = {}


def register(case: Case) -> Case:
    CASES[case.name] = case
    return case


_CALAMINE = """\
import sys
from python_calamine import CalamineWorkbook
wb = CalamineWorkbook.from_path(sys.argv[1])
rows = sum(len(wb.get_sheet_by_name(name).to_python()) for name in wb.sheet_names)
print(rows, "rows")
"""

_OPENPYXL = """\
import sys
import pandas as pd
frames = pd.read_excel(sys.argv[1], sheet_name=None, engine="openpyxl")
print(sum(len(f) for f in frames.values()), "records")
"""


class Validate(Case):
    """``sheetcrm validate`` against reading the same workbook with calamine and openpyxl."""

    name = "validate"
    description = "sheetcrm validate vs a raw calamine read vs pandas+openpyxl, every sheet"
    goal_size = 100_000
    max_size = EXCEL_MAX_RECORDS
    max_peak_mb = 4096  # 4 GiB

    def measure(self, size: int, book: Path, opts: Options) -> dict[str, Timing]:
        commands = {
            "validate": sheetcrm_argv("validate", "-w", str(book), "--as-of", AS_OF),
            "calamine": python_argv(_CALAMINE, str(book)),
        }
        if size <= opts.openpyxl_max:
            commands["openpyxl"] = python_argv(_OPENPYXL, str(book))
        return self.best_of(commands, opts)

    def table(self) -> Table:
        t = Table(
            "validate: sheetcrm validate vs a raw read of every sheet "
            "(best seconds; ratios: median of per-round ratios)",
            [
                "interactions",
                "file MB",
                "validate s",
                "calamine s",
                "openpyxl s",
                "validate/calamine",
                "validate/openpyxl",
                "validate MB",
                "calamine MB",
                "openpyxl MB",
            ],
        )
        for size, r in sorted(self.results.items()):
            v, c, o = r.get("validate"), r.get("calamine"), r.get("openpyxl")
            t.rows.append(
                [
                    f"{size:,}",
                    f"{self.files[size].stat().st_size / MB:,.1f}",
                    fmt_s(v),
                    fmt_s(c),
                    fmt_s(o),
                    fmt_ratio(ratio(v, c)),
                    fmt_ratio(ratio(v, o)),
                    fmt_mb(v),
                    fmt_mb(c),
                    fmt_mb(o),
                ]
            )
        t.notes = [
            f"`validate` is `sheetcrm validate -w FILE --as-of {AS_OF}` (the installed CLI, "
            "end to end). `calamine` is a Python process that imports only python_calamine and "
            "reads every sheet with `CalamineWorkbook.from_path(p)` and "
            "`get_sheet_by_name(n).to_python()`. `openpyxl` is "
            '`pandas.read_excel(p, sheet_name=None, engine="openpyxl")`. Each is a fresh process '
            "(start-up and imports included); MB is the peak resident memory of that process.",
        ]
        return t

    def goals(self) -> list[Goal]:
        goals: list[Goal] = []
        for size, r in sorted(self.results.items()):
            for timing in r.values():
                if not timing.ok:
                    name = f"{timing.label} runs cleanly at {size:,}"
                    goals.append(Goal(name, "FAIL", timing.failure or ""))
        r = self.results.get(self.goal_size)
        v = r.get("validate") if r else None
        c = r.get("calamine") if r else None
        o = r.get("openpyxl") if r else None
        at = f"at {self.goal_size:,} interactions"
        x = ratio(v, c)
        goals.append(
            Goal(f"validate ≤ 2× the raw calamine read {at}", "NOT RUN", "size not measured")
            if x is None
            else Goal(
                f"validate ≤ 2× the raw calamine read {at}",
                "PASS" if x <= 2 else "FAIL",
                f"{x:.2f}×, median of the rounds' ratios (best runs "
                f"{v.seconds:.2f} s and {c.seconds:.2f} s)",  # type: ignore[union-attr]
            )
        )
        y = ratio(v, o)
        goals.append(
            Goal(f"validate ≤ 1/5 of the openpyxl read {at}", "NOT RUN", "openpyxl not measured")
            if y is None
            else Goal(
                f"validate ≤ 1/5 of the openpyxl read {at}",
                "PASS" if y <= 0.2 else "FAIL",
                f"1/{1 / y:.1f}, median of the rounds' ratios (best runs "
                f"{v.seconds:.2f} s and {o.seconds:.2f} s)",  # type: ignore[union-attr]
            )
        )
        r = self.results.get(self.max_size)
        v = r.get("validate") if r else None
        name = f"validate finishes at {self.max_size:,} under {self.max_peak_mb // 1024} GB peak"
        if v is None:
            goals.append(Goal(name, "NOT RUN", "size not measured"))
        elif not v.ok:
            goals.append(Goal(name, "FAIL", v.failure or "did not finish"))
        elif v.peak_mb is None:
            goals.append(Goal(name, "PASS", f"{v.seconds:.1f} s (peak memory not measurable here)"))
        else:
            goals.append(
                Goal(
                    name,
                    "PASS" if v.peak_mb < self.max_peak_mb else "FAIL",
                    f"{v.seconds:.1f} s, peak {v.peak_mb:,.0f} MB",
                )
            )
        return goals


register(Validate())


# --------------------------------------------------------------------------- writing cases

LOG_DATE = datetime(2026, 11, 20, 14, 0)
LOG_SUMMARY = "bench"
REPORT_AS_OF = "2026-11-20 15:00"
IMPORT_ROWS = 10_000
IMPORT_HEADERS = ["date", "customer_id", "staff", "channel", "type", "summary", "direction"]

_ROUND_TRIP = """\
import sys
import openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
wb.save(sys.argv[2])
"""


def _sheet(book: Path, name: str) -> tuple[dict[str, int], list[list[object]]]:
    """A sheet read with calamine: its columns by header name, and its non-empty data rows."""
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(book)).get_sheet_by_name(name).to_python()
    header = {str(h).strip().lower(): j for j, h in enumerate(rows[0])} if rows else {}
    return header, [r for r in rows[1:] if any(v not in ("", None) for v in r)]


@dataclass
class Facts:
    """What the writing cases need to know about a cached workbook (read once, untimed)."""

    interactions: int
    customer: str  # one that prefers the phone and may be contacted: ``log`` has no warning
    customers: list[str]
    staff: list[str]


_FACTS: dict[Path, Facts] = {}


def facts(book: Path) -> Facts:
    if book not in _FACTS:
        col, customers = _sheet(book, "Customers")
        ids = [str(r[col["customer_id"]]) for r in customers]
        quiet = [
            str(r[col["customer_id"]])
            for r in customers
            if r[col["preferred_channel"]] == "phone" and r[col["do_not_contact"]] != "yes"
        ]
        col_s, staff = _sheet(book, "Staff")
        names = [str(r[col_s["name"]]) for r in staff]
        _, interactions = _sheet(book, "Interactions")
        _FACTS[book] = Facts(len(interactions), (quiet or ids)[0], ids, names)
    return _FACTS[book]


def round_trip(book: Path) -> Scratch:
    """openpyxl's load-and-save of a fresh copy of ``book`` (what a naive writer costs)."""

    def argv(folder: Path) -> list[str]:
        return python_argv(_ROUND_TRIP, str(folder / Scratch.WORKBOOK), str(folder / "saved.xlsx"))

    def check(folder: Path, run: Run) -> str | None:
        saved = folder / "saved.xlsx"
        return None if saved.is_file() and saved.stat().st_size else "openpyxl saved nothing"

    return Scratch(argv, check, copy_of=book)


def fmt_times(x: float) -> str:
    """0.05 as 1/20.0, 1.6 as 1.60×: how goals are phrased."""
    return f"1/{1 / x:.1f}" if x < 1 else f"{x:.2f}×"


def failed_commands(case: Case) -> list[Goal]:
    """A FAIL goal for every command that exited non-zero or failed its check."""
    return [
        Goal(f"{t.label} runs cleanly at {size:,}", "FAIL", t.failure or "")
        for size, r in sorted(case.results.items())
        for t in r.values()
        if not t.ok
    ]


def ratio_goal(
    name: str, a: Timing | None, b: Timing | None, limit: float, *, gating: bool = True
) -> Goal:
    """``a`` takes at most ``limit`` times ``b``; NOT RUN when either was not measured."""
    x = ratio(a, b)
    if a is None or b is None:
        return Goal(name, "NOT RUN", "not measured", gating)
    if x is None:
        return Goal(name, "FAIL", "a command failed (see above)", gating)
    detail = (
        f"{fmt_times(x)}, median of the rounds' ratios "
        f"(best runs {a.seconds:.2f} s and {b.seconds:.2f} s)"
    )
    return Goal(name, "PASS" if x <= limit else "FAIL", detail, gating)


class Append(Case):
    """``sheetcrm log`` of one interaction against an openpyxl load-and-save of the same file."""

    name = "append"
    description = "sheetcrm log of one interaction vs an openpyxl load + save, on fresh copies"
    goal_size = 100_000
    max_size = 100_000  # the round trip alone takes over ten minutes at 1M
    limit = 1 / 20

    def applies(self, size: int, opts: Options) -> bool:
        return size <= self.max_size

    def measure(self, size: int, book: Path, opts: Options) -> dict[str, Timing]:
        known = facts(book)

        def argv(folder: Path) -> list[str]:
            return sheetcrm_argv(
                "log",
                "-w",
                str(folder / Scratch.WORKBOOK),
                "--customer",
                known.customer,
                "--channel",
                "phone",
                "--type",
                "support",
                "--summary",
                LOG_SUMMARY,
                "--date",
                LOG_DATE.strftime("%Y-%m-%d %H:%M"),
            )

        def check(folder: Path, run: Run) -> str | None:
            col, rows = _sheet(folder / Scratch.WORKBOOK, "Interactions")
            if len(rows) != known.interactions + 1:
                return f"{len(rows):,} interactions after log, expected {known.interactions + 1:,}"
            last = rows[-1]
            got = (
                last[col["customer_id"]],
                last[col["channel"]],
                last[col["type"]],
                last[col["summary"]],
                last[col["date"]],
            )
            want = (known.customer, "phone", "support", LOG_SUMMARY, LOG_DATE)
            return None if got == want else f"the last row is {got!r}, expected {want!r}"

        commands: dict[str, list[str] | Job] = {"log": Scratch(argv, check, copy_of=book)}
        if size <= opts.openpyxl_max:
            commands["openpyxl"] = round_trip(book)
        return self.best_of(commands, opts)

    def table(self) -> Table:
        t = Table(
            "append: sheetcrm log of one interaction vs an openpyxl load + save "
            "(best seconds; ratios: median of per-round ratios)",
            [
                "interactions",
                "file MB",
                "log s",
                "openpyxl s",
                "log/openpyxl",
                "log MB",
                "openpyxl MB",
            ],
        )
        for size, r in sorted(self.results.items()):
            a, o = r.get("log"), r.get("openpyxl")
            x = ratio(a, o)
            t.rows.append(
                [
                    f"{size:,}",
                    f"{self.files[size].stat().st_size / MB:,.1f}",
                    fmt_s(a),
                    fmt_s(o),
                    "" if x is None else fmt_times(x),
                    fmt_mb(a),
                    fmt_mb(o),
                ]
            )
        t.notes = [
            "`log` is `sheetcrm log -w COPY --customer ID --channel phone --type support "
            f'--summary "{LOG_SUMMARY}" --date "{LOG_DATE:%Y-%m-%d %H:%M}"` (the installed CLI, '
            "end to end: lock, read, check, write the new file, read it back, keep a backup, "
            "replace). `openpyxl` is a Python process doing `openpyxl.load_workbook(COPY)` and "
            "`wb.save(COPY2)`. Every run gets a fresh copy of the cached workbook in a new "
            "temporary folder (the copy is not timed; the folder is deleted after), and each "
            "`log` run is checked: exit 0 and exactly one new last row on Interactions with the "
            "values given, read back with python-calamine.",
        ]
        return t

    def goals(self) -> list[Goal]:
        r = self.results.get(self.goal_size, {})
        name = f"log of one interaction ≤ 1/20 of an openpyxl load + save at {self.goal_size:,}"
        return [
            *failed_commands(self),
            ratio_goal(name, r.get("log"), r.get("openpyxl"), self.limit),
        ]


class Import(Case):
    """``sheetcrm import Interactions`` of 10,000 CSV rows against the openpyxl round trip."""

    name = "import"
    description = (
        f"sheetcrm import Interactions of {IMPORT_ROWS:,} CSV rows vs an openpyxl load + save"
    )
    goal_size = 100_000
    max_size = 100_000
    limit = 1 / 5

    def applies(self, size: int, opts: Options) -> bool:
        return size <= self.max_size

    @staticmethod
    def write_csv(path: Path, known: Facts, size: int) -> list[str]:
        """10,000 valid interactions for the workbook; returns the last row."""
        rng = random.Random(20261120 + size)
        start = datetime(2026, 11, 2, 8, 0)
        minutes = 18 * 24 * 60  # 2026-11-02 .. 2026-11-19
        moments = [start + timedelta(minutes=rng.randrange(minutes)) for _ in range(IMPORT_ROWS)]
        moments = sorted(m.replace(hour=8 + m.hour % 10) for m in moments)  # working hours
        channels = ("phone", "email", "sms", "in_person", "web")
        kinds = ("enquiry", "sale", "support", "follow_up", "feedback")
        last: list[str] = []
        with path.open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(IMPORT_HEADERS)
            for i, when in enumerate(moments):
                last = [
                    when.strftime("%Y-%m-%d %H:%M"),
                    rng.choice(known.customers),
                    rng.choice(known.staff),
                    rng.choice(channels),
                    rng.choice(kinds),
                    f"Imported contact {i + 1} of {IMPORT_ROWS}",
                    rng.choice(("inbound", "outbound")),
                ]
                out.writerow(last)
        return last

    def measure(self, size: int, book: Path, opts: Options) -> dict[str, Timing]:
        known = facts(book)
        with tempfile.TemporaryDirectory(prefix="sheetcrm-bench-csv-") as tmp:
            csv_path = Path(tmp) / "interactions.csv"
            last = self.write_csv(csv_path, known, size)

            def argv(folder: Path) -> list[str]:
                return sheetcrm_argv(
                    "import", "Interactions", str(csv_path), "-w", str(folder / Scratch.WORKBOOK)
                )

            def check(folder: Path, run: Run) -> str | None:
                col, rows = _sheet(folder / Scratch.WORKBOOK, "Interactions")
                want = known.interactions + IMPORT_ROWS
                if len(rows) != want:
                    return f"{len(rows):,} interactions after import, expected {want:,}"
                got = (rows[-1][col["customer_id"]], rows[-1][col["summary"]])
                if got != (last[1], last[5]):
                    return f"the last row is {got!r}, expected {(last[1], last[5])!r}"
                return None

            commands: dict[str, list[str] | Job] = {"import": Scratch(argv, check, copy_of=book)}
            if size <= opts.openpyxl_max:
                commands["openpyxl"] = round_trip(book)
            return self.best_of(commands, opts)

    def table(self) -> Table:
        t = Table(
            f"import: sheetcrm import Interactions of {IMPORT_ROWS:,} rows vs an openpyxl "
            "load + save (best seconds; ratios: median of per-round ratios)",
            [
                "interactions",
                "file MB",
                "import s",
                "openpyxl s",
                "import/openpyxl",
                "import MB",
                "openpyxl MB",
            ],
        )
        for size, r in sorted(self.results.items()):
            a, o = r.get("import"), r.get("openpyxl")
            x = ratio(a, o)
            t.rows.append(
                [
                    f"{size:,}",
                    f"{self.files[size].stat().st_size / MB:,.1f}",
                    fmt_s(a),
                    fmt_s(o),
                    "" if x is None else fmt_times(x),
                    fmt_mb(a),
                    fmt_mb(o),
                ]
            )
        t.notes = [
            f"`import` is `sheetcrm import Interactions FILE.csv -w COPY` of {IMPORT_ROWS:,} "
            "valid rows (date, customer_id, staff, channel, type, summary, direction; customers "
            "and staff of the workbook, dates in November 2026, ids left to sheetcrm), the "
            "installed CLI end to end. `openpyxl` is the same load + save round trip as in "
            "`append`. Fresh copy per run, untimed; each `import` run is checked for exit 0, "
            f"exactly {IMPORT_ROWS:,} more rows on Interactions and the CSV's last row last.",
        ]
        return t

    def goals(self) -> list[Goal]:
        r = self.results.get(self.goal_size, {})
        name = (
            f"import of {IMPORT_ROWS:,} rows ≤ 1/5 of an openpyxl load + save at {self.goal_size:,}"
        )
        goal = ratio_goal(name, r.get("import"), r.get("openpyxl"), self.limit, gating=False)
        return [*failed_commands(self), goal]


class Report(Case):
    """``sheetcrm report`` (all three formats) against ``sheetcrm validate`` of the same file."""

    name = "report"
    description = "sheetcrm report (html, docx, md) vs sheetcrm validate of the same file"
    goal_size = 100_000
    max_size = 100_000
    limit = 1.5

    def applies(self, size: int, opts: Options) -> bool:
        return size <= self.max_size

    def measure(self, size: int, book: Path, opts: Options) -> dict[str, Timing]:
        def argv(folder: Path) -> list[str]:
            return sheetcrm_argv(
                "report", "-w", str(book), "--as-of", REPORT_AS_OF, "--out", str(folder)
            )

        def check(folder: Path, run: Run) -> str | None:
            made = {p.suffix for p in folder.glob("weekly-*") if p.stat().st_size}
            missing = {".html", ".docx", ".md"} - made
            return f"no {', '.join(sorted(missing))} report written" if missing else None

        commands: dict[str, list[str] | Job] = {
            "report": Scratch(argv, check),
            "validate": sheetcrm_argv("validate", "-w", str(book), "--as-of", AS_OF),
        }
        return self.best_of(commands, opts)

    def table(self) -> Table:
        t = Table(
            "report: sheetcrm report vs sheetcrm validate of the same file "
            "(best seconds; ratios: median of per-round ratios)",
            [
                "interactions",
                "file MB",
                "report s",
                "validate s",
                "report/validate",
                "report MB",
                "validate MB",
            ],
        )
        for size, r in sorted(self.results.items()):
            a, v = r.get("report"), r.get("validate")
            t.rows.append(
                [
                    f"{size:,}",
                    f"{self.files[size].stat().st_size / MB:,.1f}",
                    fmt_s(a),
                    fmt_s(v),
                    fmt_ratio(ratio(a, v)),
                    fmt_mb(a),
                    fmt_mb(v),
                ]
            )
        t.notes = [
            f'`report` is `sheetcrm report -w FILE --as-of "{REPORT_AS_OF}" --out TMPDIR` (the '
            "weekly report in all three formats, html, docx and md, into a new temporary folder "
            "per run, checked and deleted after); `validate` is `sheetcrm validate -w FILE "
            f"--as-of {AS_OF}`. Both read the cached workbook itself (neither writes to it).",
        ]
        return t

    def goals(self) -> list[Goal]:
        r = self.results.get(self.goal_size, {})
        name = f"report ≤ 1.5× validate of the same file at {self.goal_size:,}"
        return [*failed_commands(self), ratio_goal(name, r.get("report"), r.get("validate"), 1.5)]


class CustomerValue(Case):
    """The customer value models inside ``report`` and ``followups`` against ``validate``.

    Both commands fit BG/NBD and Gamma-Gamma on the Sales sheet (N/4 orders: 25,000
    at 100,000 interactions) and the report computes the RFM segments twice (this
    period and the one before). The report is the one the owner gets (html, docx,
    md), checked for its Customer value section in each.
    """

    name = "value"
    description = "report and followups (customer value fitted) vs validate"
    goal_size = 100_000
    max_size = 100_000
    limit = 1.5

    def applies(self, size: int, opts: Options) -> bool:
        return size <= self.max_size

    def measure(self, size: int, book: Path, opts: Options) -> dict[str, Timing]:
        def argv(folder: Path) -> list[str]:
            return sheetcrm_argv(
                "report", "-w", str(book), "--as-of", REPORT_AS_OF, "--out", str(folder)
            )

        def check(folder: Path, run: Run) -> str | None:
            for suffix in (".md", ".html", ".docx"):
                made = list(folder.glob(f"weekly-*{suffix}"))
                if not made:
                    return f"no {suffix} report written"
                data = made[0].read_bytes()
                if suffix == ".docx":
                    with zipfile.ZipFile(io.BytesIO(data)) as z:
                        data = z.read("word/document.xml")
                if b"Customer value" not in data:
                    return f"no Customer value section in the {suffix} report"
            return None

        commands: dict[str, list[str] | Job] = {
            "report": Scratch(argv, check),
            "followups": sheetcrm_argv(
                "followups", "-w", str(book), "--as-of", AS_OF, "--format", "json"
            ),
            "validate": sheetcrm_argv("validate", "-w", str(book), "--as-of", AS_OF),
        }
        return self.best_of(commands, opts)

    def table(self) -> Table:
        t = Table(
            "value: report and followups with customer value vs sheetcrm validate "
            "(best seconds; ratios: median of per-round ratios)",
            [
                "interactions",
                "sales",
                "report s",
                "followups s",
                "validate s",
                "report/validate",
                "followups/validate",
            ],
        )
        for size, r in sorted(self.results.items()):
            a, f, v = r.get("report"), r.get("followups"), r.get("validate")
            t.rows.append(
                [
                    f"{size:,}",
                    f"{size // 4:,}",
                    fmt_s(a),
                    fmt_s(f),
                    fmt_s(v),
                    fmt_ratio(ratio(a, v)),
                    fmt_ratio(ratio(f, v)),
                ]
            )
        t.notes = [
            f'`report` is `sheetcrm report -w FILE --as-of "{REPORT_AS_OF}" --out TMPDIR` '
            "(html, docx and md, each checked for its Customer value section); `followups` is "
            "`sheetcrm "
            f"followups -w FILE --as-of {AS_OF} --format json`; `validate` as above.",
        ]
        return t

    def goals(self) -> list[Goal]:
        r = self.results.get(self.goal_size, {})
        at = f"at {self.goal_size:,} interactions and {self.goal_size // 4:,} sales"
        return [
            *failed_commands(self),
            ratio_goal(
                f"report with customer value ≤ 1.5× validate {at}",
                r.get("report"),
                r.get("validate"),
                self.limit,
            ),
        ]


register(Append())
register(Import())
register(Report())
register(CustomerValue())


# --------------------------------------------------------------------------- report


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory() -> str:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return f"{total / 1024**3:.1f} GB"
    except (ValueError, OSError, AttributeError):
        return "unknown"


def _load() -> str:
    """Other work on the machine skews timings; the 1, 5 and 15 minute load averages."""
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (at the end of the run)"
    except (OSError, AttributeError):
        return "unknown"


def _git() -> str:
    """HEAD, and whether what is measured (sheetcrm/, pyproject.toml) differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "sheetcrm", "pyproject.toml"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{' + uncommitted changes to sheetcrm/' if dirty else ''}" if head else "unknown"


def source_stamp() -> str:
    """A hash of every file under sheetcrm/: did the code measured change during the run?"""
    h = hashlib.sha256()
    for f in sorted((ROOT / "sheetcrm").rglob("*")):
        if f.is_file() and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:10]


# sheetcrm's commit and source hash when the run started (set by main)
STARTED: dict[str, str] = {}


def source_warning() -> str | None:
    """Set when sheetcrm's source at the end of the run is not what it was at the start."""
    if not STARTED:
        return None
    now, commit = source_stamp(), _git()
    if now == STARTED["source"]:
        return None
    return (
        f"sheetcrm's source changed during this run (commit {STARTED['commit']}, source "
        f"{STARTED['source']} at the start; {commit}, source {now} at the end): measurements "
        "may mix versions; run again on a quiet tree"
    )


def machine() -> list[tuple[str, str]]:
    return [
        ("date", datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("machine", f"{platform.platform()} ({platform.machine()})"),
        ("cpu", f"{_cpu_model()}, os.cpu_count() = {os.cpu_count()}"),
        ("memory", _memory()),
        ("load average", _load()),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        (
            "packages",
            ", ".join(
                f"{d} {_version(d)}"
                for d in ("sheetcrm", "python-calamine", "pandas", "openpyxl", "xlsxwriter")
            ),
        ),
        ("sheetcrm commit", STARTED.get("commit") or _git()),
        ("sheetcrm source", STARTED.get("source") or source_stamp()),
    ]


@dataclass
class Earlier:
    """What an existing results file holds, by case: sections and goal rows to keep."""

    sections: dict[str, str] = field(default_factory=dict)  # case name -> Markdown block
    goals: dict[str, list[str]] = field(default_factory=dict)  # case name -> table rows


_SECTION = re.compile(
    r"<!-- case:(?P<name>[\w-]+) -->\n(?P<body>.*?)\n<!-- /case:(?P=name) -->", re.S
)


def read_earlier(path: Path) -> Earlier:
    """The sections and goals of a results file, to keep those of cases not run now.

    Files written since cases could be run alone mark each section with
    ``<!-- case:NAME -->`` and give each goal row a case column. An older file
    (one ``### NAME: ...`` section per case, goal rows without a case column)
    is read by its headings, its run's date, command and commit noted in each
    section kept.
    """
    earlier = Earlier()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return earlier
    in_goals = False
    for line in text.splitlines():
        if line.startswith("## "):
            in_goals = line.strip() == "## Goals"
        elif in_goals and line.startswith("| ") and not line.startswith("| goal "):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells[0] == "case" or set(line) <= set("|-: "):
                continue
            if len(cells) == 3:  # older file: the case is the goal's first word
                name, row = cells[0].split()[0], f"| {cells[0].split()[0]} {line.strip()}"
            else:
                name, row = cells[0], line.strip()
            earlier.goals.setdefault(name, []).append(row)
    found = list(_SECTION.finditer(text))
    for m in found:
        earlier.sections[m["name"]] = m["body"].strip()
    if found:
        return earlier
    # an older file: provenance from its header, sections by their headings
    head = {}
    for key in ("date", "sheetcrm commit"):
        m = re.search(rf"^- \*\*{key}\*\*: (.*)$", text, re.M)
        head[key] = m[1] if m else "unknown"
    m = re.search(r"^Command: `(.*)`$", text, re.M)
    command = m[1] if m else "unknown"
    blocks = re.split(r"^(?=### )", text.split("## Measurements", 1)[-1], flags=re.M)
    for block in blocks:
        m = re.match(r"### ([\w-]+):", block)
        if m:
            title, _, rest = block.strip().partition("\n")
            note = (
                f"_From the run of {head['date']}: `{command}`, commit {head['sheetcrm commit']}._"
            )
            earlier.sections[m[1]] = f"{title}\n\n{note}\n{rest}"
    return earlier


def _cell(text: str) -> str:
    """Text safe in one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def write_results(path: Path, command: str, opts: Options, cases: list[Case], goals: list[Goal]):  # type: ignore[no-untyped-def]
    """Write the Markdown; sections (and goals) of cases not run now are kept from the file."""
    info = dict(machine())
    ran = {case.name for case in cases}
    earlier = read_earlier(path)
    kept = [name for name in earlier.sections if name not in ran]
    lines = [
        "# sheetcrm benchmark results",
        "",
        "Written by `bench/run.py`; see `bench/README.md` for what is measured and how.",
        "",
        f"Command: `{command}`",
        "",
    ]
    lines += [f"- **{k}**: {v}" for k, v in info.items()]
    changed = source_warning()
    if changed:
        lines.append(f"- **WARNING**: {changed}")
    lines += [
        f"- **sizes** (interactions): {', '.join(f'{s:,}' for s in opts.sizes)}",
        f"- **runs**: {opts.repeat} rounds; seconds are the best run, ratios the median of "
        f"the ratios within each round; openpyxl up to {opts.openpyxl_max:,} interactions",
    ]
    if kept:
        lines.append(
            f"- **kept from earlier runs** (not run now; each says when it ran): {', '.join(kept)}"
        )
    lines += [
        "",
        "## Goals",
        "",
        "| case | goal | result | measured |",
        "|---|---|---|---|",
    ]
    order = list(CASES) + [n for n in [*earlier.sections, *earlier.goals] if n not in CASES]
    for name in dict.fromkeys(order):
        if name in ran:
            lines += [
                f"| {name} | {g.name} | {g.result} | {_cell(g.detail)} |"
                for g in goals
                if g.case == name
            ]
        else:
            lines += earlier.goals.get(name, [])
    lines += ["", "## Measurements", ""]
    provenance = (
        f"_Run {info['date']}: `{command}`, commit {info['sheetcrm commit']}, "
        f"source {info['sheetcrm source']}{' (CHANGED DURING THE RUN)' if changed else ''}, "
        f"load {info['load average']}._"
    )
    by_name = {case.name: case for case in cases}
    for name in dict.fromkeys(order):
        if name in by_name:
            title, _, rest = by_name[name].table().markdown().partition("\n")
            body = f"{title}\n\n{provenance}\n{rest}"
        elif name in earlier.sections:
            body = earlier.sections[name]
        else:
            continue
        lines += [f"<!-- case:{name} -->", body, f"<!-- /case:{name} -->", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


# --------------------------------------------------------------------------- main


def _sizes(text: str) -> list[int]:
    sizes = []
    for part in text.split(","):
        part = part.strip().lower()
        size = EXCEL_MAX_RECORDS if part == "max" else int(part)
        if not 1 <= size <= EXCEL_MAX_RECORDS:
            raise argparse.ArgumentTypeError(f"{size:,} is not 1 .. {EXCEL_MAX_RECORDS:,}")
        sizes.append(size)
    return sorted(set(sizes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=list(DEFAULT_SIZES),
        help="interaction counts, comma separated ('max' = 1048575); default: %(default)s",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per command; the best counts")
    parser.add_argument("--only", help=f"comma-separated cases: {', '.join(CASES)}")
    parser.add_argument(
        "--openpyxl-max",
        type=int,
        default=100_000,
        help="largest size read with openpyxl too (it takes minutes at 1M); default %(default)s",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per command")
    parser.add_argument(
        "--results",
        type=Path,
        default=HERE / "RESULTS.md",
        help="where to write the Markdown (default bench/RESULTS.md)",
    )
    parser.add_argument("--no-results", action="store_true", help="print only")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)

    if args.list:
        for name, case in CASES.items():
            print(f"{name:<12} {case.description}")
        return 0
    names = [n.strip() for n in args.only.split(",")] if args.only else list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case {', '.join(unknown)}; choose from {', '.join(CASES)}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    opts = Options(args.sizes, args.repeat, args.openpyxl_max, args.timeout)
    cases = [CASES[n] for n in names]

    STARTED.update(commit=_git(), source=source_stamp())
    for size in opts.sizes:
        if not any(case.applies(size, opts) for case in cases):
            print(f"== {size:,} interactions: no selected case runs at this size")
            continue
        print(f"== {size:,} interactions")
        book = ensure_workbook(size)
        print(f"  workbook {book.relative_to(ROOT)} ({book.stat().st_size / MB:,.1f} MB)")
        for case in cases:
            if not case.applies(size, opts):
                continue
            print(f"  -- {case.name}")
            case.files[size] = book
            case.results[size] = case.measure(size, book, opts)

    goals: list[Goal] = []
    for case in cases:
        for goal in case.goals():
            goal.case = case.name
            goals.append(goal)
    print()
    for case in cases:
        print(case.table().text())
        print()
    changed = source_warning()
    if changed:
        print(f"WARNING: {changed}\n")
    print("Goals")
    for g in goals:
        note = "" if g.gating else " (informational, not gating)"
        print(f"  {g.status:<7} {g.name}: {g.detail}{note}")
    if not args.no_results:
        command = "python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
        write_results(args.results, command.strip(), opts, cases, goals)
        print(f"\nwrote {args.results}")
    return 1 if any(g.status == "FAIL" and g.gating for g in goals) else 0


if __name__ == "__main__":
    sys.exit(main())
