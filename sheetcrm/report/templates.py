"""Where the built-in templates live, and the Jinja environment that renders them.

The templates sit at the top of the repository and are packaged into the wheel
as ``sheetcrm/templates``; an editable install imports sheetcrm from the
checkout, where they are ``../templates``. This module owns that lookup and the
Jinja environment: the owner's folder first, then the built-ins; a
``default:`` prefix to extend a built-in (``{% extends "default:weekly.html.j2" %}``,
as datasette does); autoescaping for HTML; ``StrictUndefined`` so a typo fails
loudly; and the filters that format numbers, money and dates for the report's
language with Babel. The filters read ``locale`` and ``currency`` from the
template's context, so one environment serves every language.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import MutableMapping
from datetime import date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_currency, format_decimal, format_percent
from jinja2 import meta

from sheetcrm import i18n
from sheetcrm.errors import Problem, SheetCRMError
from sheetcrm.workbook.book import Book, is_missing


def templates_dir() -> Path:
    """The built-in templates: inside the installed package, or the checkout's templates/."""
    packaged = Path(str(files("sheetcrm"))) / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"  # sheetcrm/report/ -> checkout


def find_template(name: str, user_dir: Path | None = None) -> Path:
    """The file of template ``name``: the owner's copy if there is one, else the built-in."""
    for folder in ([Path(user_dir)] if user_dir else []) + [templates_dir()]:
        path = folder / name
        if path.is_file():
            return path
    raise jinja2.TemplateNotFound(name)


def uses(name: str, variable: str, user_dir: Path | None = None) -> bool:
    """Whether template ``name``, or one it extends, includes or imports, reads ``variable``.

    The charts take a second of CPU to draw at 100,000 rows, and the built-in Markdown
    and text reports never show them; an owner's own may. Read from the templates'
    syntax (jinja2.meta), so a name only in a comment does not count. Answers yes
    when it cannot tell: a Word template (docxtpl's XML is not parsed here), a
    template named by a variable, or one that does not parse (its error is reported
    when it is rendered).
    """
    if not name.endswith(".j2"):
        return True
    env = environment(user_dir)
    seen: set[str] = set()
    waiting = [name]
    while waiting:
        current = waiting.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            source = env.loader.get_source(env, current)[0]  # type: ignore[union-attr]
            tree = env.parse(source)
        except jinja2.TemplateError:
            return True
        if variable in meta.find_undeclared_variables(tree):
            return True
        for other in meta.find_referenced_templates(tree):
            if other is None:  # chosen at run time: it may be any of them
                return True
            waiting.append(other)
    return False


def owner_templates(workbook: Path, given: Path | None, book: Book) -> Path | None:
    """The owner's own templates folder for the report, e-mail and digests, or None.

    The folder given for this run wins; else Settings ``templates_dir``, read
    relative to the workbook's folder so the workbook and its templates move
    together. A folder named but missing is refused before anything is written
    or sent, rather than quietly falling back to the built-in look.
    """
    if given is not None:
        folder = given
    elif book.settings.templates_dir:
        folder = workbook.parent / book.settings.templates_dir
    else:
        return None
    if not folder.is_dir():
        raise SheetCRMError(
            Problem(
                "missing_file",
                f"the templates folder {folder} does not exist",
                hint="copy the built-in templates into it first, then edit them",
                remedy="create_templates",
            )
        )
    return folder


class _QuietBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between runs, in the user's own temp folder.

    Compiling the report's templates takes longer than rendering them. Jinja
    checks each cached entry against its template's source, so an edited
    template is compiled afresh. A cache that cannot be read or written is
    skipped: it never stops a report.
    """

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # a damaged entry: compile instead
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


class _Environment(jinja2.Environment):
    """An environment whose templates made from strings are kept in the bytecode cache too.

    docxtpl makes a Word template's XML into a template with ``from_string`` on every
    run; compiling it took most of the time the Word document takes to render.
    """

    def from_string(
        self,
        source: str | jinja2.nodes.Template,
        globals: MutableMapping[str, Any] | None = None,
        template_class: type[jinja2.Template] | None = None,
    ) -> jinja2.Template:
        bcc = self.bytecode_cache
        plain = isinstance(self.autoescape, bool)
        if bcc is None or template_class is not None or not isinstance(source, str) or not plain:
            return super().from_string(source, globals, template_class)
        # Named by what the code depends on: the text, and whether it escapes (a setting
        # of the environment, compiled into the code).
        digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
        name = f"<string {digest} autoescape={self.autoescape}>"
        bucket = bcc.get_bucket(self, name, None, source)
        if bucket.code is None:
            bucket.code = self.compile(source)
            bcc.set_bucket(bucket)
        return self.template_class.from_code(self, bucket.code, self.make_globals(globals), None)


@functools.cache
def _bytecode_cache() -> jinja2.BytecodeCache | None:
    try:
        return _QuietBytecodeCache()
    except (OSError, RuntimeError):  # no private temp folder: compile every time
        return None


def environment(
    user_dir: Path | None = None, *, autoescape: bool | None = None
) -> jinja2.Environment:
    """The Jinja environment for reports: the owner's templates first, then the built-ins.

    ``autoescape`` is on for ``*.html.j2`` (and ``*.html``) unless given; the
    Word renderer passes True, since docxtpl renders XML.
    """
    builtin = str(templates_dir())
    folders = [str(user_dir), builtin] if user_dir else [builtin]
    env = _Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(folders),
                jinja2.PrefixLoader({"default": jinja2.FileSystemLoader(builtin)}, delimiter=":"),
            ]
        ),
        autoescape=(
            jinja2.select_autoescape(["html", "html.j2", "htm", "xml"])
            if autoescape is None
            else autoescape
        ),
        undefined=jinja2.StrictUndefined,
        bytecode_cache=_bytecode_cache(),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["_"] = _translate
    env.filters.update(
        number=_number,
        percent=_percent,
        money=_money,
        date=_date,
        datetime=_datetime,
        hours=_hours,
        change=_change,
        figure=_figure,
        md=md_escape,
    )
    return env


# ----------------------------------------------------------------------------- filters
# Each reads the language from the context ("locale": "en" | "nb") and formats with Babel.


def _code(ctx: Any) -> str:
    return str(ctx.get("locale") or i18n.DEFAULT)


def _babel(ctx: Any) -> str:
    return i18n.babel_locale(_code(ctx))


@jinja2.pass_context
def _translate(ctx: Any, text: str, **values: Any) -> str:
    """``{{ _("Complaints") }}``, ``{{ _("{count} days", count=3) }}``."""
    return i18n.translate(_code(ctx), text, **values)


@jinja2.pass_context
def _number(ctx: Any, value: Any, digits: int = 0, dash: str = "–") -> str:
    """``1 234`` / ``1,234``; ``digits`` fixed decimals."""
    if is_missing(value):
        return dash
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(round(float(value), digits), format=pattern, locale=_babel(ctx))


@jinja2.pass_context
def _percent(ctx: Any, value: Any, digits: int = 0, dash: str = "–") -> str:
    """A share (0.8) as a percentage: ``80%`` / ``80 %``."""
    if is_missing(value):
        return dash
    locale = Locale.parse(_babel(ctx))
    pattern = locale.percent_formats[None].pattern  # "#,##0%" / "#,##0 %"
    if digits:
        head, tail = pattern.rsplit("0", 1)
        pattern = head + "0." + "0" * digits + tail
    return format_percent(float(value), format=pattern, locale=locale)


@jinja2.pass_context
def _money(ctx: Any, value: Any, whole: bool = False, dash: str = "–") -> str:
    """Money in the Settings currency: ``NOK 1,250.50`` / ``1 250,50 kr``."""
    if is_missing(value):
        return dash
    currency = str(ctx.get("currency") or "NOK")
    locale = Locale.parse(_babel(ctx))
    pattern = locale.currency_formats["standard"].pattern
    if whole:
        pattern = pattern.replace(".00", "")
        value = round(float(value))
    text = format_currency(
        float(value), currency, format=pattern, locale=locale, currency_digits=not whole
    )
    # en_GB writes "NOK1,250.50": a code glued to the number reads badly
    if text.startswith(currency) and text[len(currency) : len(currency) + 1].isdigit():
        text = currency + "\u00a0" + text[len(currency) :]
    return text


def _as_date(value: Any) -> date | datetime:
    if isinstance(value, date):
        return value
    text = str(value)
    return datetime.fromisoformat(text) if "T" in text or " " in text else date.fromisoformat(text)


# Named date formats, as Babel skeletons: each language orders and punctuates them its way
# ("9 Nov" / "9. nov.").
_SKELETONS = {"day": "MMMd", "weekday": "MMMEd", "medium": "yMMMd", "time": "Hm"}


def _format_day(value: date, format: str, locale: str) -> str:
    skeleton = _SKELETONS.get(format)
    if skeleton:
        return format_skeleton(skeleton, value, locale=locale)
    return format_date(value, format=format, locale=locale)


@jinja2.pass_context
def _date(ctx: Any, value: Any, format: str = "medium", dash: str = "–") -> str:
    """``20 Nov 2026`` / ``20. nov. 2026``; ``day``, ``weekday``, or a Babel pattern."""
    if is_missing(value) or value == "":
        return dash
    moment = _as_date(value)
    day = moment.date() if isinstance(moment, datetime) else moment
    return _format_day(day, format, _babel(ctx))


@jinja2.pass_context
def _datetime(ctx: Any, value: Any, format: str = "day", dash: str = "–") -> str:
    """``9 Nov 13:05`` (``format`` names the date part: day, weekday, medium)."""
    if is_missing(value) or value == "":
        return dash
    moment = _as_date(value)
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    locale = _babel(ctx)
    clock = format_skeleton("Hm", moment, locale=locale)
    return f"{_format_day(moment.date(), format, locale)} {clock}"


@jinja2.pass_context
def _hours(ctx: Any, value: Any, dash: str = "–") -> str:
    """Hours as ``3.5 h`` (``45 min`` under an hour, days over 48 hours)."""
    if is_missing(value):
        return dash
    hours = float(value)
    code = _code(ctx)
    if hours < 1:
        return i18n.translate(code, "{n} min", n=_number(ctx, hours * 60))
    if hours >= 48:
        return i18n.translate(code, "{n} days", n=_number(ctx, hours / 24, 1))
    return i18n.translate(code, "{n} h", n=_number(ctx, hours, 1))


@jinja2.pass_context
def _figure(ctx: Any, value: Any, kind: str) -> str:
    """A headline figure by its kind: count, percent, money, score, hours."""
    if kind == "percent":
        return _percent(ctx, value)
    if kind == "money":
        return _money(ctx, value, whole=True)
    if kind == "score":
        return _number(ctx, value, 1)
    if kind == "hours":
        return _hours(ctx, value)
    return _number(ctx, value)


@jinja2.pass_context
def _change(ctx: Any, headline: dict[str, Any]) -> str:
    """The change of a headline figure with its arrow: ``▲ 3``, ``▼ 12 pp``, ``= 0``."""
    change = headline.get("change")
    if is_missing(change):
        return ""
    arrow = {"up": "▲", "down": "▼"}.get(headline.get("direction", ""), "=")
    kind = headline.get("kind", "count")
    size = abs(float(change))  # type: ignore[arg-type]  # not missing: checked above
    if kind == "percent":
        text = i18n.translate(_code(ctx), "{n} pp", n=_number(ctx, size * 100))
    elif kind == "money":
        text = _money(ctx, size, whole=True)
    elif kind == "score":
        text = _number(ctx, size, 1)
    else:
        text = _number(ctx, size)
    return f"{arrow} {text}"


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_{}[]<>()#+!|~&"} | {"\n": " ", "\r": " "})


def md_escape(value: Any) -> str:
    """Workbook text made inert in Markdown: no markup, links, HTML or table breaks."""
    text = "" if value is None else str(value)
    return text.translate(_MD_SPECIAL)
