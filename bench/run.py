"""The sheetcrm benchmark: is it fast enough at 100,000 interactions, and does it work at 1,048,575?

    python bench/run.py                                  # everything, all sizes
    python bench/run.py --sizes 10000,100000 --repeat 5
    python bench/run.py --only validate --openpyxl-max 1048575
    python bench/run.py --list

Every measurement is a separate process started from here (so each pays Python's
start-up and its own imports, as a user does), timed by the wall clock, and its
peak memory is the child's maximum resident set size from ``os.wait4``. The best
(minimum) of ``--repeat`` runs is reported; the peak memory is the largest seen.

The table is printed and written to ``bench/RESULTS.md``. The exit status is 1
when a goal fails (or a measured command fails), so the run can gate a release.

Cases are registered in ``CASES``; add one by subclassing :class:`Case` and
calling :func:`register`. Each case measures one workbook size at a time,
returns its rows of the table and judges its own goals.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
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
    output: str  # the last few lines of stdout and stderr


@dataclass
class Timing:
    """The best of several runs of one command."""

    label: str
    runs: list[Run] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(r.returncode == 0 for r in self.runs)

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
        return None


def run_child(argv: Sequence[str], *, timeout: float) -> Run:
    """Run ``argv`` to the end: wall-clock seconds, peak RSS of the child, exit code."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            if hasattr(os, "wait4"):
                _, status, usage = os.wait4(proc.pid, 0)
                seconds = time.perf_counter() - started
                proc.returncode = code = os.waitstatus_to_exitcode(status)
                # ru_maxrss is in KiB on Linux, in bytes on macOS.
                scale = 1 if sys.platform == "darwin" else 1024
                peak: float | None = usage.ru_maxrss * scale / MB
            else:  # Windows: time only
                code = proc.wait()
                seconds = time.perf_counter() - started
                peak = None
        finally:
            timer.cancel()
        out.seek(0)
        tail = out.read()[-4000:].decode("utf-8", "replace")
    if killed.is_set():
        tail += f"\n(killed after the --timeout of {timeout:.0f} s)"
    return Run(seconds, peak, code, tail)


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


def fmt_s(t: Timing | None) -> str:
    if t is None:
        return "skipped"
    return f"{t.seconds:.2f}" if t.ok else "FAILED"


def fmt_mb(t: Timing | None) -> str:
    return "" if t is None or t.peak_mb is None else f"{t.peak_mb:,.0f}"


def ratio(a: Timing | None, b: Timing | None) -> float | None:
    if a is None or b is None or not (a.ok and b.ok):
        return None
    return a.seconds / b.seconds


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
    def best_of(commands: dict[str, list[str]], opts: Options) -> dict[str, Timing]:
        """Each command ``opts.repeat`` times, interleaved so drift hits all alike."""
        timings = {label: Timing(label) for label in commands}
        for i in range(opts.repeat):
            for label, argv in commands.items():
                run = run_child(argv, timeout=opts.timeout)
                timings[label].runs.append(run)
                mem = "" if run.peak_mb is None else f", peak {run.peak_mb:,.0f} MB"
                flag = "" if run.returncode == 0 else f"  EXIT {run.returncode}"
                print(f"    {label:<10} run {i + 1}/{opts.repeat}: {run.seconds:7.2f} s{mem}{flag}")
                if run.returncode != 0:
                    print("      " + run.output.strip()[-600:].replace("\n", "\n      "))
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
            "validate: sheetcrm validate vs a raw read of every sheet (seconds, best of runs)",
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
                f"{v.seconds:.2f} s vs {c.seconds:.2f} s = {x:.2f}×",  # type: ignore[union-attr]
            )
        )
        y = ratio(v, o)
        goals.append(
            Goal(f"validate ≤ 1/5 of the openpyxl read {at}", "NOT RUN", "openpyxl not measured")
            if y is None
            else Goal(
                f"validate ≤ 1/5 of the openpyxl read {at}",
                "PASS" if y <= 0.2 else "FAIL",
                f"{v.seconds:.2f} s vs {o.seconds:.2f} s = 1/{1 / y:.1f}",  # type: ignore[union-attr]
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

# Later sections register here the same way, e.g.:
#   "append"  sheetcrm log (one row) vs an openpyxl load + save round trip
#   "import"  sheetcrm import Interactions of 10,000 rows
#   "report"  sheetcrm report vs sheetcrm validate


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
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{' + uncommitted changes' if dirty else ''}" if head else "unknown"


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
        ("sheetcrm commit", _git()),
    ]


def write_results(path: Path, command: str, opts: Options, cases: list[Case], goals: list[Goal]):  # type: ignore[no-untyped-def]
    lines = [
        "# sheetcrm benchmark results",
        "",
        "Written by `bench/run.py`; see `bench/README.md` for what is measured and how.",
        "",
        f"Command: `{command}`",
        "",
    ]
    lines += [f"- **{k}**: {v}" for k, v in machine()]
    lines += [
        f"- **sizes** (interactions): {', '.join(f'{s:,}' for s in opts.sizes)}",
        f"- **runs**: best of {opts.repeat}; openpyxl up to {opts.openpyxl_max:,} interactions",
        "",
        "## Goals",
        "",
        "| goal | result | measured |",
        "|---|---|---|",
    ]
    lines += [f"| {g.name} | **{g.status}** | {g.detail} |" for g in goals]
    lines += ["", "## Measurements", ""]
    for case in cases:
        lines += [case.table().markdown(), ""]
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

    for size in opts.sizes:
        print(f"== {size:,} interactions")
        book = ensure_workbook(size)
        print(f"  workbook {book.relative_to(ROOT)} ({book.stat().st_size / MB:,.1f} MB)")
        for case in cases:
            if not case.applies(size, opts):
                continue
            print(f"  -- {case.name}")
            case.files[size] = book
            case.results[size] = case.measure(size, book, opts)

    goals = [g for case in cases for g in case.goals()]
    print()
    for case in cases:
        print(case.table().text())
        print()
    print("Goals")
    for g in goals:
        print(f"  {g.status:<7} {g.name}: {g.detail}")
    if not args.no_results:
        command = "python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
        write_results(args.results, command.strip(), opts, cases, goals)
        print(f"\nwrote {args.results}")
    return 1 if any(g.status == "FAIL" for g in goals) else 0


if __name__ == "__main__":
    sys.exit(main())
