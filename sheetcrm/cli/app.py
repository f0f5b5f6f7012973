"""The ``sheetcrm`` group, the options and helpers its commands share, and exit codes.

Exit codes (documented in the README): 0 done, 1 findings need attention
(errors in the workbook, breached complaints), 2 could not do it (usage, bad
file, refused write), 3 the workbook is open in Excel (try again later).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from sheetcrm import __version__
from sheetcrm.contract import VOCABULARIES, canonical_choice
from sheetcrm.errors import Problem, SheetCRMError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FINDINGS, EXIT_CANNOT, EXIT_OPEN = 0, 1, 2, 3


_DEBUG_HELP = "Show the full traceback of an unexpected problem (for whoever looks after sheetcrm)."


def _remember_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:  # meta is shared by every context of one run, the group's included
        ctx.meta["sheetcrm.debug"] = True


def _debug_option() -> click.Option:
    """``--debug`` for a command: ``sheetcrm email --debug`` works as ``sheetcrm --debug email``."""
    return click.Option(
        ["--debug"],
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_remember_debug,
        help=_DEBUG_HELP,
    )


class SheetCRMCommand(click.Command):
    """Every command takes ``--debug`` too, where people type it: after the command name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not any(p.name == "debug" for p in self.params):
            self.params.append(_debug_option())


class SheetCRMGroup(click.Group):
    """Turns the library's one exception into one clear message on stderr and its exit code."""

    command_class = SheetCRMCommand

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not any(p.name == "debug" for p in self.params):
            self.params.append(_debug_option())

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SheetCRMError as e:
            if _debug(ctx):
                raise
            _print_error(e)
            ctx.exit(e.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            # `sheetcrm customer show X | head`: the reader has what it wanted. Not an
            # error; anything written to the workbook was complete before printing began.
            _silence_stdout()
            ctx.exit(EXIT_OK)
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing was written.", err=True)
            ctx.exit(130)
        except Exception as e:  # promise: no tracebacks for users
            if _debug(ctx):
                raise
            click.echo(
                f"Error: sheetcrm hit an unexpected problem ({type(e).__name__}: {e}). "
                "Nothing was written.\n  hint: run the command again with --debug and "
                "send the output to whoever looks after sheetcrm",
                err=True,
            )
            ctx.exit(EXIT_CANNOT)


def _debug(ctx: click.Context) -> bool:
    return (
        bool(ctx.find_root().params.get("debug"))
        or bool(ctx.meta.get("sheetcrm.debug"))
        or bool(os.environ.get("SHEETCRM_DEBUG"))
    )


def _silence_stdout() -> None:
    """Point stdout at the null device, so Python's final flush does not hit the pipe again."""
    with contextlib.suppress(OSError, ValueError):  # no real file (CliRunner): nothing to do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


# The command line's words for each remedy key of errors.REMEDIES: the library says
# what to do in its own words, the CLI names the option or command that does it
# (issue 15). A text is filled in with the Problem's remedy_args; a function words a
# hint the library composed itself. Tests check every key of REMEDIES is here.
CLI_REMEDIES: dict[str, str | Callable[[Problem], str]] = {
    "add_customer": "check the Customers sheet, or add them with: sheetcrm customer add",
    "add_staff": "add them with: sheetcrm staff add {0}",
    "add_staff_or_typo": "did you mean {0}? Or add them with: sheetcrm staff add {1}",
    "allow_duplicate_email": "use that customer, or add --allow-duplicate-email if two people "
    "really share the address",
    "check_when": "check --at",
    "default_example": "for example --default owner=Kari --default stage=customer",
    "default_choice": "pick one, e.g. --default {0}={1}",
    "adopt_again": "open it in Excel, save a fresh copy, and run init --into again",
    "other_folder": "choose another --out folder, or move the old export away",
    "export_folder": "choose a folder you can write to with --out",
    "smtp_user": "set {0}USER (or put USER:PASSWORD@ in --smtp-url)",
    "smtp_cafile": "point {0}CAFILE (or ?cafile= in --smtp-url) at the server's "
    "certificate (PEM), or leave it out to trust the usual authorities",
    "smtp_from": "set {0}FROM (or ?from= in --smtp-url) to the address mail comes from",
    "smtp_url": lambda p: (p.hint or "").replace("the SMTP URL", "--smtp-url"),
    "recipients": "give --to ADDRESS or set report_recipients on the Settings sheet",
    "eml_folder": "choose a folder you can write to for --dry-run",
    "imap_url": "set {0}HOST, _USER and _PASSWORD (and _PORT, _SECURITY, _FOLDER), "
    "or give --imap-url imaps://user@imap.example.com/INBOX",
    "imap_cafile": "point {0}CAFILE (or ?cafile= in --imap-url) at the server's certificate "
    "(PEM), or leave it out to trust the usual authorities",
    "period_order": "give --from a date on or before --to",
    "export_templates": "export the defaults with: sheetcrm templates export DIR",
    "import_csv": "open it in Excel and save it as .xlsx, or load it with: sheetcrm import",
    "create_workbook": "check the path, or create a workbook with: sheetcrm init crm.xlsx --sample",
    "force_signed": "if that is fine, run the same command with --force after sheetcrm "
    "(sheetcrm --force ...); or keep the signed file and work on a copy",
    "adopt_workbook": "add it with: sheetcrm init --into WORKBOOK",
    "validate": "run: sheetcrm validate -w {0}",
    "merge_customers": "if so, run: sheetcrm customer merge {0} {1}",
    "resend_key": 'copy the key from the "may have been sent" line, with the same --week, '
    "--to and --per-owner{0}",
    "smtp_setup": "set SHEETCRM_SMTP_HOST (and _PORT, _USER, _PASSWORD, _FROM), give "
    "--smtp-url smtp+starttls://user@host:587, or try --dry-run FOLDER first",
    "create_templates": "create it with: sheetcrm templates export FOLDER",
}


def cli_problem(p: Problem) -> Problem:
    """The problem as the command line tells it: its remedy named as an option or command."""
    text = CLI_REMEDIES.get(p.remedy) if p.remedy else None
    if text is None:
        return p
    hint = text(p) if callable(text) else text.format(*p.remedy_args)
    return dataclasses.replace(p, hint=hint)


def _print_error(e: SheetCRMError) -> None:
    problems = [cli_problem(p) for p in e.problems]
    click.echo(f"Error: {problems[0]}", err=True)
    for p in problems[1:]:
        click.echo(f"  {p}", err=True)


@click.group(cls=SheetCRMGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-w",
    "--workbook",
    "workbook",
    envvar="SHEETCRM_WORKBOOK",
    type=click.Path(dir_okay=True, path_type=Path),
    help="The CRM workbook (.xlsx). Also SHEETCRM_WORKBOOK.",
)
@click.option("--debug", is_flag=True, help=_DEBUG_HELP)
@click.option(
    "--force",
    is_flag=True,
    help="Write a digitally signed workbook anyway (its signature is removed).",
)
@click.version_option(__version__, "--version", prog_name="sheetcrm")
@click.pass_context
def cli(ctx: click.Context, workbook: Path | None, debug: bool, force: bool) -> None:
    """sheetcrm: a CRM whose record store is one Excel workbook.

    \b
    Example:
        sheetcrm init crm.xlsx --sample
        sheetcrm -w crm.xlsx validate
    """
    ctx.ensure_object(dict)
    ctx.obj["workbook"] = workbook
    # Set on every run where it can matter (tests reuse the process), but only import
    # the writer for it when it is loaded already or asked for: a read command and
    # ``--help`` need none of it, and unset it means no.
    if force or "sheetcrm.workbook.writer" in sys.modules:
        from sheetcrm.workbook import writer

        writer.allow_removing_signature(force)


def workbook_option(f: F) -> F:
    """``-w/--workbook`` on a command too: ``sheetcrm validate -w crm.xlsx`` works."""
    return click.option(
        "-w",
        "--workbook",
        "workbook",
        type=click.Path(dir_okay=True, path_type=Path),
        default=None,
        help="The CRM workbook (.xlsx). Also SHEETCRM_WORKBOOK.",
    )(f)


def resolve_workbook(ctx: click.Context, workbook: Path | None) -> Path:
    path = workbook or (ctx.obj or {}).get("workbook")
    if path is None:
        raise click.UsageError(
            "which workbook? Give -w crm.xlsx (or set SHEETCRM_WORKBOOK=crm.xlsx)", ctx
        )
    return Path(path)


def as_of_option(f: F) -> F:
    return click.option(
        "--as-of",
        "as_of",
        type=WHEN,
        default=None,
        help="Pretend it is this local date-time (default: now).",
    )(f)


def now_or(as_of: datetime | None) -> datetime:
    """The one place sheetcrm reads the clock."""
    return as_of if as_of is not None else datetime.now().replace(microsecond=0)


# -------------------------------------------------------------------------- helpers


def load_book(  # type: ignore[no-untyped-def]
    path: Path,
    as_of: datetime | None = None,
    sheets: Sequence[str] | None = None,
    *,
    meanwhile: Sequence[str] = (),
):
    """Read and validate; refuse to compute on a workbook whose errors would skew the answer.

    With ``sheets``, only those and the small ones (Settings, SLA, Staff, Holidays)
    are read and judged: what the command computes from, not every interaction.
    ``meanwhile``: libraries the command computes with (pandas, say), imported
    beside the read (see :mod:`sheetcrm.background`).
    """
    from sheetcrm.background import import_meanwhile
    from sheetcrm.workbook.reader import start_reading

    # calamine starts on the workbook first; the checks and the command's libraries
    # are imported beside it.
    reading = start_reading(path, sheets, importing=bool(meanwhile))
    import_meanwhile(*meanwhile)
    from sheetcrm.workbook.validation import load, refuse_unusable

    book, report = load(str(path), as_of=as_of, sheets=sheets, reading=reading)
    refuse_unusable(path, report)
    if report.errors:
        _errors_note(path, len(report.errors), read_all=sheets is None)
    return book


def _errors_note(path: Path, n: int, *, read_all: bool = True) -> None:
    # After a partial read only the sheets read were checked: say so, not "the workbook".
    where = path.name if read_all else f"the sheets of {path.name} this command reads"
    click.echo(
        f"Note: {where} {'has' if read_all else 'have'} {plural(n, 'error')}; rows with bad "
        f"cells are counted as far as they can be. See: sheetcrm validate -w {path}",
        err=True,
    )


def owner_option(f: F) -> F:
    return click.option("--owner", default=None, help="Only this staff member's.")(f)


def table_or_json(f: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help="Output format.",
    )(f)


# ----------------------------------------------------------------------------- writes


class VocabularyChoice(click.Choice):
    """A drop-down word, or a plain word for it (``call`` -> phone; contract.ALIASES)."""

    def __init__(self, vocabulary: str) -> None:
        super().__init__(list(VOCABULARIES[vocabulary]), case_sensitive=False)
        self.vocabulary = vocabulary

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        meant = canonical_choice(self.vocabulary, value)
        if meant is not None:
            return meant
        return super().convert(value, param, ctx)


class When(click.ParamType):
    """A local date and time as people type it: ``2026-11-20 14:30`` or just ``2026-11-20``."""

    name = "date and time"
    example = "2026-11-20 14:30"
    _formats: tuple[str, ...] = (
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d",
    )

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return f'"{self.example}"'

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        for fmt in self._formats:
            try:
                return datetime.strptime(text, fmt)
            except ValueError:
                continue
        self.fail(f"{value!r} is not a {self.name}; type it as {self.example}", param, ctx)


class Day(When):
    """A date as people type it: ``2026-11-27``."""

    name = "date"
    example = "2026-11-27"
    _formats = ("%Y-%m-%d",)


CHOICE = {name: VocabularyChoice(name) for name in VOCABULARIES}
WHEN = When()
DAY = Day()


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def backup_note(done: Any) -> None:
    if done.backup is not None:
        click.echo(click.style(f"  previous version kept as {done.backup}", dim=True), err=True)


def report_write(done: Any, path: Path | None = None, when: datetime | None = None) -> None:
    for warning in done.warnings:
        click.echo(click.style(f"Warning: {warning}", fg="yellow"), err=True)
    for note in done.notes:
        click.echo(note)
    backup_note(done)
    if done.notices and path is not None and when is not None:
        _send_notices_now(path, done.notices, when)


def _send_notices_now(path: Path, notice_ids: list[str], when: datetime) -> None:
    """Print what became of the notices a write queued (outbox.send_notices_now decides)."""
    from sheetcrm.delivery import mail, outbox

    now = outbox.send_notices_now(path, notice_ids, mail.SmtpConfig.from_env(), when)
    if now.queued:
        click.echo(
            f"Notice {', '.join(now.notice_ids)} is queued in the Notices sheet; "
            "`sheetcrm email` will send it."
        )
        return
    if now.workbook_errors:
        _errors_note(path, now.workbook_errors)
    if now.problem is not None:
        click.echo(
            click.style(
                f"Warning: the notice could not be sent now ({now.problem.message}); "
                "it stays queued and `sheetcrm email` will send it.",
                fg="yellow",
            ),
            err=True,
        )
        return
    assert now.result is not None
    for key in now.result.sent:
        click.echo(f"  sent {key}")
    for key, reason in now.result.failed.items():
        click.echo(click.style(f"Warning: {key} was not sent: {reason}", fg="yellow"), err=True)
    for key in now.result.uncertain:  # the answer was lost: never retried silently
        click.echo(
            click.style(f"Warning: {key} may have been sent; see `sheetcrm email`", fg="yellow"),
            err=True,
        )


def main() -> None:
    # One OpenBLAS thread unless the user chose otherwise: starting its thread pool is a
    # sixth of numpy's import time (0.05 s per command on 2 cores), and nothing here does
    # linear algebra big enough to gain from threads (the value fits come out identical).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # Windows consoles default to a code page that cannot print ✓ or Ø.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            with contextlib.suppress(ValueError, OSError):
                stream.reconfigure(errors="replace")
    try:
        cli.main(prog_name="sheetcrm")
    except SystemExit as e:
        _leave(e.code)
    _leave(0)


def _leave(code: str | int | None) -> NoReturn:
    """End the process with ``code``, without taking the interpreter apart first.

    When a command is done, every file it wrote is closed and in place. A normal exit
    would still free every object one by one (the workbook's cells, pandas' and
    matplotlib's modules): 0.05 to 0.15 s of a command that takes half a second, for
    memory the system takes back at once anyway. What such an exit does that matters
    is still done here: the functions registered to run at exit (logging's flush,
    multiprocessing's clean-up, temporary folders) and the screen's last line. Anything
    unusual (a thread still running, a code that is not a number, the screen gone, a
    Python without ``atexit._run_exitfuncs``) takes the normal way out.
    """
    run_exit_functions = getattr(atexit, "_run_exitfuncs", None)
    working = any(
        t is not threading.current_thread() and not t.daemon for t in threading.enumerate()
    )
    if working or run_exit_functions is None or not isinstance(code, int | None):
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)  # the normal way reports a closed pipe as it always has
    run_exit_functions()
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code or 0)
