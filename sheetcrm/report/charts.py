"""The report's pictures: four small PNG charts drawn from the figures, shared by HTML and Word.

Each function takes the plain figures of :mod:`sheetcrm.rules.metrics` and a
``translate`` function, and returns PNG bytes. Drawn with matplotlib's Agg
canvas on a fresh ``Figure`` (no pyplot, no global state), at a fixed size and
DPI, with no software or date metadata: the same figures always give the same
bytes, so snapshot tests and e-mail attachments are stable. Never reads the
workbook or a clock.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

Translate = Callable[..., str]
DPI = 144
WIDTH, HEIGHT = 7.2, 2.4  # inches: the full width of an A4 page
HALF_WIDTH, HALF_HEIGHT = 4.4, 2.5  # half a page: read at about the same scale
# A phone shows a picture about 350 px wide: the per-day chart drawn narrower and taller keeps
# its day names and numbers as large there as the full-width one on a page.
NARROW_WIDTH, NARROW_HEIGHT = 3.6, 2.9

INK = "#1f2933"
MUTED = "#7b8794"
GRID = "#e4e7eb"
ACCENT = "#2563eb"
GOOD = "#16a34a"
BAD = "#dc2626"
CHANNEL_COLOURS = {
    "phone": "#2563eb",
    "email": "#0ea5e9",
    "sms": "#8b5cf6",
    "social": "#ec4899",
    "in_person": "#f59e0b",
    "letter": "#64748b",
    "web": "#10b981",
}
SCORE_COLOURS = ["#dc2626", "#f97316", "#facc15", "#84cc16", "#16a34a"]


def _figure(width: float = WIDTH, height: float = HEIGHT) -> Any:
    from matplotlib.figure import Figure  # imported here: matplotlib is slow to import

    fig = Figure(figsize=(width, height), dpi=DPI)
    fig.patch.set_facecolor("white")
    return fig


def _style(ax: Any) -> None:
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(GRID)
    ax.tick_params(colors=MUTED, labelsize=8, length=0)
    ax.yaxis.grid(True, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)


def _png(fig: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _legend(ax: Any, columns: int, above: float = 1.16) -> None:
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(0, above),
        ncol=columns,
        frameon=False,
        fontsize=8,
        labelcolor=INK,
        handlelength=1,
        columnspacing=1.2,
    )


def _integer_axis(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))


def interactions_by_day(
    daily: Mapping[str, Any],
    translate: Translate,
    day_label: Callable[[date], str],
    *,
    narrow: bool = False,
) -> bytes:
    """Stacked bars: interactions per day of the period, by channel (``narrow``: for a phone)."""
    fig = _figure(NARROW_WIDTH, NARROW_HEIGHT) if narrow else _figure()
    ax = fig.add_subplot()
    days = [date.fromisoformat(d) for d in daily["days"]]
    x = list(range(len(days)))
    bottom = [0] * len(days)
    for channel, counts in daily["series"].items():
        ax.bar(
            x,
            counts,
            bottom=bottom,
            width=0.62,
            label=translate(channel),
            color=CHANNEL_COLOURS.get(channel, MUTED),
        )
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    _style(ax)
    _integer_axis(ax)
    fits = 8 if narrow else 16  # day labels side by side before every other one is left out
    ax.set_xticks(
        x, [day_label(d) for d in days] if len(days) <= fits else _sparse(days, day_label, fits)
    )
    if narrow:
        ax.tick_params(axis="x", labelsize=7)
    columns = 3 if narrow else 7
    rows = -(-max(len(daily["series"]), 1) // columns)  # legend rows above the bars
    if daily["series"]:
        _legend(ax, min(len(daily["series"]), columns), above=1 + 0.11 * rows if narrow else 1.16)
    else:
        _empty(ax, translate)
    if narrow:
        fig.subplots_adjust(left=0.1, right=0.98, top=0.97 - 0.085 * rows, bottom=0.1)
    else:
        fig.subplots_adjust(left=0.06, right=0.99, top=0.84, bottom=0.13)
    return _png(fig)


def _sparse(days: Sequence[date], day_label: Callable[[date], str], fits: int = 16) -> list[str]:
    step = max(1, -(-len(days) // (fits * 5 // 8)))
    return [day_label(d) if i % step == 0 else "" for i, d in enumerate(days)]


def _empty(ax: Any, translate: Translate) -> None:
    ax.text(
        0.5,
        0.5,
        translate("Nothing recorded"),
        transform=ax.transAxes,
        ha="center",
        va="center",
        color=MUTED,
        fontsize=9,
    )


def complaints_trend(weeks: Sequence[Mapping[str, Any]], translate: Translate) -> bytes:
    """Grouped bars: complaints opened against resolved, week by week."""
    fig = _figure(HALF_WIDTH, HALF_HEIGHT)
    ax = fig.add_subplot()
    x = list(range(len(weeks)))
    opened = [w["opened"] for w in weeks]
    resolved = [w["resolved"] for w in weeks]
    ax.bar([i - 0.19 for i in x], opened, width=0.36, color=BAD, label=translate("Opened"))
    ax.bar([i + 0.19 for i in x], resolved, width=0.36, color=GOOD, label=translate("Resolved"))
    _style(ax)
    _integer_axis(ax)
    ax.set_xticks(x, [_week(w, translate) for w in weeks])
    _legend(ax, 2)
    fig.subplots_adjust(left=0.08, right=0.99, top=0.84, bottom=0.12)
    return _png(fig)


def sla_trend(weeks: Sequence[Mapping[str, Any]], translate: Translate) -> bytes:
    """Lines: the share of SLA targets met on time, week by week, in percent."""
    fig = _figure(HALF_WIDTH, HALF_HEIGHT)
    ax = fig.add_subplot()
    x = list(range(len(weeks)))
    for key, colour, label, style in (
        ("first_response", ACCENT, translate("First response"), "-"),
        ("resolution", "#8b5cf6", translate("Resolution"), "-"),
    ):
        values = [None if w[key] is None else w[key] * 100 for w in weeks]
        ax.plot(
            x,
            [float("nan") if v is None else v for v in values],
            style,
            color=colour,
            linewidth=2,
            marker="o",
            markersize=4,
            label=label,
        )
    _style(ax)
    ax.set_ylim(0, 105)
    ax.set_yticks([0, 50, 100], [translate("{n}%", n=n) for n in (0, 50, 100)])
    ax.set_xticks(x, [_week(w, translate) for w in weeks])
    _legend(ax, 2)
    fig.subplots_adjust(left=0.11, right=0.98, top=0.84, bottom=0.12)
    return _png(fig)


def satisfaction_distribution(distribution: Mapping[Any, int], translate: Translate) -> bytes:
    """Bars: how many scores of 1 to 5."""
    fig = _figure(HALF_WIDTH, HALF_HEIGHT)
    ax = fig.add_subplot()
    scores = [1, 2, 3, 4, 5]
    counts = [int(distribution.get(s, distribution.get(str(s), 0))) for s in scores]
    bars = ax.bar(scores, counts, width=0.6, color=SCORE_COLOURS)
    for bar, count in zip(bars, counts, strict=True):
        if count:
            ax.annotate(
                str(count),
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
                color=INK,
                xytext=(0, 2),
                textcoords="offset points",
            )
    _style(ax)
    _integer_axis(ax)
    ax.set_xticks(scores, ["1 ★", "2 ★", "3 ★", "4 ★", "5 ★"])
    if not any(counts):
        _empty(ax, translate)
    ax.set_ylim(0, max([*counts, 1]) * 1.2)
    fig.subplots_adjust(left=0.08, right=0.99, top=0.95, bottom=0.12)
    return _png(fig)


def _week(week: Mapping[str, Any], translate: Translate) -> str:
    """``W47`` / ``U47``: the week's number the way the report's language writes it."""
    label = str(week["label"])
    if "-W" in label:
        return translate("W{week}", week=int(label.split("-W", 1)[1]))
    return str(week["end"])[5:]
