"""Server-rendered SVG bar charts (no JavaScript, no library): grouped bars per label,
a y axis with four grid lines, an optional target line, a legend, and a `<title>` on
every bar (the value on hover); the page shows the same numbers in a table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 250
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 30, 40
MAX_LABELS = 12
CHAR_PX = 9  # a character's width at the charts' 15 px font (ui.css), for spacing
MAX_BAR = 56  # px: one interval's bars stay bars, not a wall


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per label; None: no bar
    css: str  # the bar's class (its colour in ui.css)


def nice_max(value: float) -> float:
    """A round axis top at or above `value` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(float(m * power) for m in (1, 2, 2.5, 5, 10) if m * power >= value)


def count_max(value: float) -> float:
    """An axis top for counts whose four grid steps are whole numbers."""
    return float(max(4, math.ceil(value / 4) * 4)) if value <= 40 else nice_max(value)


def _fmt(value: float, percent: bool) -> str:
    return f"{value * 100:.0f}%" if percent else f"{value:g}"


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    percent: bool = False,
    counts: bool = False,
    target: float | None = None,
) -> Markup:
    """`percent`: values are ratios, the axis 0-100 %; `counts`: whole-number steps."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [v for s in series for v in s.values if v is not None]
    biggest = max(values, default=0.0)
    top = 1.0 if percent else count_max(biggest) if counts else nice_max(biggest)
    cid = escape(chart_id)
    svg = f'<svg class="chart" id="{cid}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
    parts = [
        f'{svg} aria-labelledby="{cid}-t" preserveAspectRatio="xMidYMid meet">',
        f'<title id="{cid}-t">{escape(title)}</title>',
    ]
    for i in range(5):  # grid and y labels
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f"{escape(_fmt(top * i / 4, percent))}</text>")  # fmt: skip
    n = max(len(labels), 1)
    slot = plot_w / n
    bar_w = max(min(slot * 0.8 / max(len(series), 1), MAX_BAR), 1.0)
    pad = (slot - bar_w * len(series)) / 2  # the group centred in its slot
    for j, s in enumerate(series):
        for i, value in enumerate(s.values):
            if value is None:
                continue
            h = max(plot_h * min(value / top, 1.0), 2.0)  # a zero is a sliver, not nothing
            x = LEFT + slot * i + pad + bar_w * j
            parts.append(
                f'<rect class="{escape(s.css)}" x="{x:.1f}" y="{TOP + plot_h - h:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}"><title>{escape(labels[i])} '
                f"{escape(s.name)}: {escape(_fmt(value, percent))}</title></rect>"
            )
    widest = CHAR_PX * max((len(label) for label in labels), default=1) + 10
    step = max(1, math.ceil(n / MAX_LABELS), math.ceil(n * widest / plot_w))
    for i in range(0, len(labels), step):
        x = LEFT + slot * (i + 0.5)
        parts.append(f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                     f'text-anchor="middle">{escape(labels[i])}</text>')  # fmt: skip
    if target is not None:
        y = TOP + plot_h - plot_h * min(target / top, 1.0)
        parts.append(
            f'<line class="target" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(f'<text class="axis target-label" x="{WIDTH - RIGHT}" y="{y - 4:.1f}" '
                     f'text-anchor="end">target {escape(_fmt(target, percent))}</text>')  # fmt: skip
    x = LEFT
    for s in series:  # legend
        parts.append(f'<rect class="{escape(s.css)}" x="{x}" y="8" width="12" height="12"/>')
        parts.append(f'<text class="legend" x="{x + 16}" y="18">{escape(s.name)}</text>')
        x += 24 + CHAR_PX * len(s.name)
    if not labels:
        parts.append(f'<text class="axis" x="{WIDTH / 2}" y="{TOP + plot_h / 2}" '
                     'text-anchor="middle">no data in this range</text>')  # fmt: skip
    parts.append("</svg>")
    return Markup("".join(parts))  # every interpolated text was escaped above
