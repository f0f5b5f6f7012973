"""How the ``sheetcrm`` process ends (``sheetcrm.cli.app._leave``).

A finished command skips the interpreter's teardown (0.05 to 0.15 s of freeing
objects one by one). These run the real command in a real process and check that
nothing a normal exit does is lost: the whole of the output, the exit code, the
functions registered to run at exit, a thread still at work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "sample_workbook.xlsx"


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    # Buffered as on an owner's machine (this one may set PYTHONUNBUFFERED).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _sheetcrm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sheetcrm", *args], capture_output=True, text=True, timeout=120
    )


def test_a_long_answer_reaches_a_pipe_whole() -> None:
    # More than Python's own buffer for a pipe (8 KiB): what is still in it when the command
    # is done must be written out before the process ends.
    done = _sheetcrm(
        "report", "-w", str(SAMPLE), "--as-of", "2026-11-20 15:00", "--format", "json", "--out", "-"
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout) > 16384
    figures = json.loads(done.stdout)
    assert figures["period"]["label"] == "2026-W46"


def test_the_exit_code_is_the_commands(tmp_path: Path) -> None:
    missing = _sheetcrm("validate", "-w", str(tmp_path / "nowhere.xlsx"))
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    assert _sheetcrm("--version").returncode == 0
    wrong_flag = _sheetcrm("validate", "--no-such-flag")
    assert wrong_flag.returncode == 2
    assert "No such option" in wrong_flag.stderr


def test_functions_registered_to_run_at_exit_still_run(tmp_path: Path) -> None:
    mark = tmp_path / "ran.txt"
    done = _python(
        """
        import atexit, sys
        from pathlib import Path
        mark = Path(sys.argv[1])
        atexit.register(lambda: mark.write_text("ran"))
        sys.argv = ["sheetcrm", "--version"]
        from sheetcrm.cli import main
        main()
        """,
        str(mark),
    )
    assert done.returncode == 0, done.stderr
    assert "sheetcrm" in done.stdout
    assert mark.read_text() == "ran"


def test_a_thread_still_at_work_is_waited_for(tmp_path: Path) -> None:
    mark = tmp_path / "late.txt"
    done = _python(
        """
        import sys, threading, time
        from pathlib import Path
        def late(path):
            time.sleep(0.5)
            Path(path).write_text("finished")
        threading.Thread(target=late, args=(sys.argv[1],)).start()
        sys.argv = ["sheetcrm", "--version"]
        from sheetcrm.cli import main
        main()
        """,
        str(mark),
    )
    assert done.returncode == 0, done.stderr
    assert mark.read_text() == "finished"


def test_an_exit_with_words_is_left_to_python() -> None:
    # A code that is not a number: Python prints it and exits 1, as it always has.
    done = _python(
        """
        import sys
        import click
        from sheetcrm.cli import app
        @app.cli.command("leave-with-words")
        def leave_with_words():
            sys.exit("gone for lunch")
        sys.argv = ["sheetcrm", "leave-with-words"]
        app.main()
        """
    )
    assert done.returncode == 1
    assert "gone for lunch" in done.stderr
    assert "Traceback" not in done.stderr


def test_what_is_still_in_the_buffer_is_written_out() -> None:
    # click.echo flushes as it goes; a plain print (a library's, say) does not.
    done = _python(
        """
        import sys
        from sheetcrm.cli import app
        @app.cli.command("print-plainly")
        def print_plainly():
            for n in range(3000):
                print(f"line {n:05d} of the answer")
        sys.argv = ["sheetcrm", "print-plainly"]
        app.main()
        """
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3000
    assert lines[-1] == "line 02999 of the answer"
