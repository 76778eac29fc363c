"""Charts as server-side SVG: no script, no library, and the page works offline.

Each chart is an ``<svg role="img">`` with a title and a text description, drawn with SVG
presentation attributes only (the console's Content-Security-Policy allows no inline style).
Pages put the numbers beside it in a table as well, for screen readers and for copying.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from coupa_connector.console._html import Markup, html, join

__all__ = ["Series", "by_series", "line_chart"]

_WIDTH, _HEIGHT = 720, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 16, 40
# Colour-blind-safe (Okabe-Ito), in the order series are drawn.
_PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")
_MAX_POINTS = 400


@dataclass(frozen=True, slots=True)
class Series:
    """One line: a name and its ``(x, y)`` points, x ascending."""

    name: str
    points: Sequence[tuple[float, float]]


def _nice_step(span: float, count: int = 4) -> float:
    """A step of 1, 2 or 5 times a power of ten that cuts ``span`` into about ``count``."""
    raw = span / count if span > 0 else 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    if high <= low:
        return [low]
    step = _nice_step(high - low, count)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _thin(points: Sequence[tuple[float, float]]) -> Sequence[tuple[float, float]]:
    # A polyline of more points than pixels draws nothing more; keep every n-th and the last.
    if len(points) <= _MAX_POINTS:
        return points
    step = len(points) / _MAX_POINTS
    kept = [points[int(i * step)] for i in range(_MAX_POINTS)]
    return [*kept, points[-1]]


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    y_label: str,
    x_format: Callable[[float], str],
    y_format: Callable[[float], str] = lambda v: f"{v:,.0f}",
) -> Markup:
    """A line chart of one or more series with axes, ticks and a legend.

    Args:
        series: The lines (empty ones are left out).
        title: What it shows (the SVG's accessible name).
        y_label: What the vertical axis counts.
        x_format: Text of an x value (a date, a time).
        y_format: Text of a y value.
    """
    drawn = [s for s in series if s.points]
    if not drawn:
        return html('<p class="empty">{title}: nothing to draw yet.</p>', title=title)
    xs = [x for s in drawn for x, _y in s.points]
    ys = [y for s in drawn for _x, y in s.points]
    x_low, x_high = min(xs), max(xs)
    # The top of the plot is the first round number at or above the largest value.
    y_step = _nice_step(max(ys) or 1.0)
    y_high = math.ceil((max(ys) or 1.0) / y_step) * y_step
    if x_high == x_low:
        # One point: a span around it, never below zero for counts of seconds or days.
        x_low, x_high = (max(0.0, x_low - 1) if x_low >= 0 else x_low - 1), x_high + 1
    plot_w = _WIDTH - _LEFT - _RIGHT
    plot_h = _HEIGHT - _TOP - _BOTTOM

    def px(x: float) -> float:
        return _LEFT + (x - x_low) / (x_high - x_low) * plot_w

    def py(y: float) -> float:
        return _TOP + plot_h - y / y_high * plot_h

    parts: list[Markup] = []
    for tick in _ticks(0, y_high):
        parts.append(
            html(
                '<line x1="{x1}" x2="{x2}" y1="{y}" y2="{y}" stroke="#dddddd"/>'
                '<text x="{tx}" y="{ty}" text-anchor="end" font-size="11">{label}</text>',
                x1=_LEFT,
                x2=_WIDTH - _RIGHT,
                y=f"{py(tick):.1f}",
                tx=_LEFT - 6,
                ty=f"{py(tick) + 4:.1f}",
                label=y_format(tick),
            )
        )
    seen: set[str] = set()
    for tick in _ticks(x_low, x_high):
        label = x_format(tick)
        if label in seen:
            continue  # days drawn as several ticks of the same date
        seen.add(label)
        x = px(tick)
        anchor = "start" if x < _LEFT + 30 else "end" if x > _WIDTH - _RIGHT - 30 else "middle"
        parts.append(
            html(
                '<text x="{x}" y="{y}" text-anchor="{a}" font-size="11">{label}</text>',
                x=f"{x:.1f}",
                y=_HEIGHT - _BOTTOM + 16,
                a=anchor,
                label=label,
            )
        )
    legend: list[Markup] = []
    for i, s in enumerate(drawn):
        colour = _PALETTE[i % len(_PALETTE)]
        pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in _thin(s.points))
        parts.append(
            html(
                '<polyline points="{pts}" fill="none" stroke="{c}" stroke-width="2"/>',
                pts=pts,
                c=colour,
            )
        )
        if len(s.points) == 1:
            x, y = s.points[0]
            parts.append(
                html(
                    '<circle cx="{x}" cy="{y}" r="3" fill="{c}"/>',
                    x=f"{px(x):.1f}",
                    y=f"{py(y):.1f}",
                    c=colour,
                )
            )
        legend.append(
            html(
                '<li><svg class="swatch" width="12" height="12" aria-hidden="true">'
                '<rect width="12" height="12" fill="{c}"/></svg> {name}</li>',
                c=colour,
                name=s.name,
            )
        )
    return html(
        '<figure class="chart"><svg class="plot" viewBox="0 0 {w} {h}" role="img" '
        'aria-labelledby="{id}-t {id}-d" preserveAspectRatio="xMidYMid meet">'
        '<title id="{id}-t">{title}</title><desc id="{id}-d">{desc}</desc>'
        '<line x1="{l}" x2="{l}" y1="{t}" y2="{b}" stroke="#555555"/>'
        '<line x1="{l}" x2="{r}" y1="{b}" y2="{b}" stroke="#555555"/>'
        '<text x="12" y="{mid}" font-size="11" transform="rotate(-90 12 {mid})" '
        'text-anchor="middle">{y_label}</text>{parts}</svg>'
        '<figcaption>{title}<ul class="legend">{legend}</ul></figcaption></figure>',
        w=_WIDTH,
        h=_HEIGHT,
        id=_chart_id(title),
        title=title,
        desc=f"{y_label} from {x_format(x_low)} to {x_format(x_high)}, up to "
        f"{y_format(y_high)}; series: {', '.join(s.name for s in drawn)}",
        l=_LEFT,
        r=_WIDTH - _RIGHT,
        t=_TOP,
        b=_TOP + plot_h,
        mid=_TOP + plot_h / 2,
        y_label=y_label,
        parts=join(parts),
        legend=join(legend),
    )


def _chart_id(title: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in title.lower())[:40]


def by_series(rows: Sequence[Mapping[str, Any]], key: str) -> dict[str, list[Mapping[str, Any]]]:
    """Rows grouped by the value of ``key``, in first-seen order."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        out.setdefault(str(row[key]), []).append(row)
    return out
