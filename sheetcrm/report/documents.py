"""A report's context made into documents: the charts drawn, the templates rendered.

Everything the report's second process does (:mod:`sheetcrm.report.worker`), kept
apart from the figures: it needs matplotlib, jinja2 and docxtpl, not pandas, so
the worker can start before the figures' code is imported and never imports it.
"""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
from babel.dates import format_date

from sheetcrm import i18n
from sheetcrm.errors import Problem, SheetCRMError
from sheetcrm.report import charts
from sheetcrm.report.templates import environment, find_template
from sheetcrm.report.worker import RenderWorker

# What the worker does, by name: it imports this module itself.
WORKER_TASKS = {
    "charts": "sheetcrm.report.documents:draw_charts",
    "render": "sheetcrm.report.documents:render",
}


def start_worker() -> RenderWorker:
    """The second process that draws the charts and renders the Word document; it can
    start before the report's figures (and pandas) are imported."""
    return RenderWorker(WORKER_TASKS)


DOCX_CHART_WIDTH_MM = {"interactions": 170, "complaints": 120, "sla": 120, "satisfaction": 110}
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_CHANGE_COLOURS = {True: "15803D", False: "B91C1C", None: "52606D"}  # good, bad, neither


def draw_charts(context: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """The four charts from :func:`metrics.chart_data` (or a whole context)."""
    code = context["locale"]
    babel = i18n.babel_locale(code)

    def translate(text: str, **values: Any) -> str:
        return i18n.translate(code, text, **values)

    def day(d: date) -> str:
        return format_date(d, "EEE d", locale=babel)

    pictures = {
        "interactions": (
            charts.interactions_by_day(context["daily"], translate, day),
            "Interactions per day by channel",
        ),
        # the same chart for a phone's narrow screen (the HTML picks it by the screen's width)
        "interactions_narrow": (
            charts.interactions_by_day(context["daily"], translate, day, narrow=True),
            "Interactions per day by channel",
        ),
        "complaints": (
            charts.complaints_trend(context["trends"]["weeks"], translate),
            "Complaints opened and resolved, last 8 weeks",
        ),
        "sla": (
            charts.sla_trend(context["trends"]["weeks"], translate),
            "Service level met on time, last 8 weeks",
        ),
        "satisfaction": (
            charts.satisfaction_distribution(context["satisfaction"]["distribution"], translate),
            "Satisfaction scores",
        ),
    }
    result = {}
    for name, (png, title) in pictures.items():
        encoded = base64.b64encode(png).decode("ascii")
        result[name] = {
            "src": "data:image/png;base64," + encoded,
            "cid": f"chart-{name}@sheetcrm",
            "png": encoded,
            "alt": translate(title),
            "filename": f"{name}.png",
        }
    return result


def chart_bytes(context: Mapping[str, Any], name: str) -> bytes:
    """The PNG of chart ``name`` (for an e-mail attachment or a file)."""
    return base64.b64decode(context["charts"][name]["png"])


def with_cid(context: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``context`` whose charts point at ``cid:`` parts instead of data URIs."""
    result = dict(context)
    result["charts"] = {
        name: {**chart, "src": "cid:" + chart["cid"]} for name, chart in context["charts"].items()
    }
    return result


# ----------------------------------------------------------------------------- rendering


def render(context: Mapping[str, Any], name: str, templates_dir: Path | None = None) -> str | bytes:
    """The report from template ``name``: text for ``*.j2``, the bytes of a document for ``.docx``.

    The owner's ``templates_dir`` is searched first, then the built-in templates.
    A broken template raises :class:`SheetCRMError` naming the file and line.
    """
    try:
        if name.endswith(".docx"):
            return _render_docx(context, name, templates_dir)
        return environment(templates_dir).get_template(name).render(context)
    except jinja2.TemplateNotFound as e:
        raise SheetCRMError(
            Problem(
                "template_error",
                f"there is no template {e.name}",
                value=name,
                hint="export the default templates to a folder and edit those",
                remedy="export_templates",
            )
        ) from e
    except jinja2.TemplateSyntaxError as e:
        raise SheetCRMError(
            Problem(
                "template_error",
                f"template {e.filename or e.name or name}, line {e.lineno}: {e.message}",
                value=name,
                hint="fix the template, or delete it to use the built-in one",
            )
        ) from e
    except jinja2.TemplateError as e:
        raise SheetCRMError(
            Problem(
                "template_error",
                f"template {name}: {e.message or e}",
                value=name,
                hint="check the spelling of the names in the template; "
                "the built-in templates show every name available",
            )
        ) from e


def _render_docx(context: Mapping[str, Any], name: str, user_dir: Path | None) -> bytes:
    from docx.shared import Mm
    from docxtpl import DocxTemplate, InlineImage, RichText

    template = DocxTemplate(str(find_template(name, user_dir)))
    env = environment(user_dir, autoescape=True)
    change = env.from_string("{{ h|change }}")
    ctx = dict(context)
    ctx.setdefault("definitions", [])
    # the partials the HTML and text reports share ("so far, until ...", "Last week"), with
    # this document's figures, so every format says the same words
    ctx["text"] = env.get_template("_macros.txt.j2").make_module(vars=ctx)
    ctx["headlines"] = [
        {
            **h,
            "change_text": RichText(
                change.render(locale=context["locale"], currency=context["currency"], h=h),
                color=_CHANGE_COLOURS[h["good"]],
                bold=h["good"] is not None,
            ),
        }
        for h in context["headlines"]
    ]
    ctx["charts"] = {
        key: {
            **chart,
            "image": InlineImage(
                template,
                io.BytesIO(chart_bytes(context, key)),
                width=Mm(DOCX_CHART_WIDTH_MM.get(key, 120)),
            ),
        }
        for key, chart in context["charts"].items()
    }
    template.render(ctx, jinja_env=env, autoescape=True)
    buffer = io.BytesIO()
    template.save(buffer)
    return _stable_zip(buffer.getvalue())


def _stable_zip(data: bytes) -> bytes:
    """The same document with fixed zip timestamps, so equal figures give equal bytes."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            stable = zipfile.ZipInfo(info.filename, date_time=_ZIP_EPOCH)
            stable.compress_type = zipfile.ZIP_DEFLATED
            stable.external_attr = info.external_attr
            target.writestr(stable, source.read(info.filename))
    return out.getvalue()
