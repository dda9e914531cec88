"""Charts as server-side SVG: numbers in, an SVG string out. No Django, no script, no external fonts.

Every chart carries role="img", an aria-label and a <title> naming what it shows; every data point carries its
own <title> (the value as a person reads it), so a screen reader and a mouse hover both get the numbers.
Colours come from CSS classes (series-1, series-2...) styled by the site's stylesheet.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 12, 22, 28


@dataclass(frozen=True)
class Series:
    """One line: its name (legend, titles) and one value per label (None: no value that day)."""

    name: str
    values: Sequence[float | None]


def number(value: float | None, decimals: int = 1) -> str:
    """A value as people read it: rounded, with thousands separators ("12,345.7"); "-" for no value."""
    if value is None:
        return "-"
    return f"{value:,.{decimals}f}"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^k at or above value (a readable top for an axis); 1 for value <= 0."""
    if value <= 0:
        return 1.0
    magnitude = 1.0
    while magnitude * 10 < value:
        magnitude *= 10
    while magnitude > value:
        magnitude /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover (the loop always returns)


def _frame(title: str, body: list[str], width: int, height: int) -> str:
    label = escape(title, quote=True)
    return (f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{label}" '
            f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet"><title>{label}</title>'
            + "".join(body) + "</svg>")


def _empty(title: str, width: int, height: int) -> str:
    text = f'<text class="empty" x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle">No data yet</text>'
    return _frame(title, [text], width, height)


def _grid(ticks: Sequence[float], y_of, width: int, decimals: int) -> list[str]:
    """Horizontal grid lines at the given values, each labelled on the left."""
    parts = []
    for value in ticks:
        y = y_of(value)
        parts.append(f'<line class="grid" x1="{PAD_LEFT}" x2="{width - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f"{escape(number(value, decimals))}</text>")
    return parts


def _x_labels(labels: Sequence[str], x_of, height: int, every: bool = False) -> list[str]:
    """The first, middle and last x labels (enough to read dates without crowding a phone screen), or ``every``
    label (a few named bands: deciles, stages)."""
    parts = []
    indexes = range(len(labels)) if every else sorted({0, len(labels) // 2, len(labels) - 1})
    for index in indexes:
        anchor = "middle" if every else (
            "start" if index == 0 and len(labels) > 1 else "end" if index == len(labels) - 1 else "middle")
        parts.append(f'<text class="axis" x="{x_of(index):.1f}" y="{height - 8}" text-anchor="{anchor}">'
                     f"{escape(labels[index])}</text>")
    return parts


def line_chart(*, title: str, labels: Sequence[str], series: Sequence[Series], decimals: int = 1,
               width: int = WIDTH, height: int = HEIGHT) -> str:
    """Lines over shared x labels (e.g. days), y from 0 (or the lowest value when negative) to a nice top.

    A gap in a series (None) breaks its line. Each point is a <circle class="point"> with a <title>.
    """
    values = [v for s in series for v in s.values if v is not None]
    if not labels or not values:
        return _empty(title, width, height)
    low = min(0.0, min(values))
    top = low + nice_ceiling(max(values) - low)
    plot_width, plot_height = width - PAD_LEFT - PAD_RIGHT, height - PAD_TOP - PAD_BOTTOM

    def x_of(index: int) -> float:
        return PAD_LEFT + (plot_width * index / (len(labels) - 1) if len(labels) > 1 else plot_width / 2)

    def y_of(value: float) -> float:
        return PAD_TOP + plot_height * (1 - (value - low) / (top - low))

    ticks = (low, 0.0, top) if low < 0 else (0.0, top / 2, top)
    parts = _grid(ticks, y_of, width, decimals) + _x_labels(labels, x_of, height)
    for k, line in enumerate(series, start=1):
        css = f"series-{k}"
        runs: list[list[str]] = [[]]
        points = []
        for index, value in enumerate(line.values[:len(labels)]):
            if value is None:
                runs.append([])
                continue
            x, y = x_of(index), y_of(value)
            runs[-1].append(f"{x:.1f},{y:.1f}")
            points.append(f'<circle class="point {css}" cx="{x:.1f}" cy="{y:.1f}" r="2.5">'
                          f"<title>{escape(line.name)}, {escape(labels[index])}: {escape(number(value, decimals))}"
                          "</title></circle>")
        for run in runs:
            if len(run) > 1:
                parts.append(f'<polyline class="line {css}" fill="none" points="{" ".join(run)}"/>')
        parts.extend(points)
    if len(series) > 1:
        x = PAD_LEFT
        for k, line in enumerate(series, start=1):
            parts.append(f'<rect class="swatch series-{k}" x="{x}" y="2" width="10" height="10"/>'
                         f'<text class="legend" x="{x + 14}" y="11">{escape(line.name)}</text>')
            x += 24 + 8 * len(line.name)
    return _frame(title, parts, width, height)


@dataclass(frozen=True)
class Reference:
    """A horizontal line across a chart at ``value`` (a target, a capacity), named in its label and title."""

    name: str
    value: float


def bar_chart(*, title: str, labels: Sequence[str], values: Sequence[float | None], name: str = "",
              decimals: int = 0, width: int = WIDTH, height: int = HEIGHT, every_label: bool = False,
              unit: str = "", top: float | None = None, reference: Reference | None = None) -> str:
    """Vertical bars, one per label (e.g. actions per day), from 0 to a nice top (or ``top``). Each bar has a
    <title>; a None value draws no bar (no data in that band). ``unit`` follows each number ("%"); ``reference``
    draws a dashed line (e.g. sales capacity) that the top makes room for."""
    present = [v for v in values[:len(labels)] if v is not None]
    if not labels or not present or (max(present) <= 0 and top is None and reference is None):
        return _empty(title, width, height)
    top = top or nice_ceiling(max(present + ([reference.value] if reference else [])))
    plot_width, plot_height = width - PAD_LEFT - PAD_RIGHT, height - PAD_TOP - PAD_BOTTOM
    slot = plot_width / len(labels)

    def x_of(index: int) -> float:
        return PAD_LEFT + slot * (index + 0.5)

    def y_of(value: float) -> float:
        return PAD_TOP + plot_height * (1 - value / top)

    def shown(value: float) -> str:
        return escape(number(value, decimals) + unit)

    parts = _grid((0.0, top / 2, top), y_of, width, decimals) + _x_labels(labels, x_of, height, every_label)
    bar = max(1.0, slot * 0.8)
    for index, value in enumerate(values[:len(labels)]):
        if value is None:
            continue
        h = plot_height * min(1.0, max(0.0, value) / top)
        parts.append(f'<rect class="bar series-1" x="{x_of(index) - bar / 2:.1f}" y="{PAD_TOP + plot_height - h:.1f}" '
                     f'width="{bar:.1f}" height="{h:.1f}"><title>{escape(labels[index])}: '
                     f"{shown(value)}{(' ' + escape(name)) if name else ''}</title></rect>")
    if reference is not None:
        y = y_of(min(reference.value, top))
        parts.append(f'<line class="reference" x1="{PAD_LEFT}" x2="{width - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}">'
                     f"<title>{escape(reference.name)}: {shown(reference.value)}</title></line>"
                     f'<text class="legend" x="{width - PAD_RIGHT}" y="{y - 4:.1f}" text-anchor="end">'
                     f"{escape(reference.name)}: {shown(reference.value)}</text>")
    return _frame(title, parts, width, height)


def funnel_chart(*, title: str, steps: Sequence[tuple[str, int]], width: int = WIDTH, row: int = 30) -> str:
    """Horizontal bars centred like a funnel, one per (stage, members), widest = the largest count."""
    if not steps or max(n for _, n in steps) <= 0:
        return _empty(title, width, row * 3)
    largest = max(n for _, n in steps)
    height = row * len(steps) + 4
    label_width = 130
    plot = width - label_width - 70
    parts = []
    for index, (name, count) in enumerate(steps):
        w = max(2.0, plot * count / largest)
        x = label_width + (plot - w) / 2
        y = 2 + index * row
        parts.append(f'<text class="axis" x="{label_width - 8}" y="{y + row / 2 + 4:.1f}" text-anchor="end">'
                     f"{escape(name)}</text>")
        parts.append(f'<rect class="bar funnel series-{index % 6 + 1}" x="{x:.1f}" y="{y + 3}" width="{w:.1f}" '
                     f'height="{row - 6}"><title>{escape(name)}: {escape(number(count, 0))} members</title></rect>')
        parts.append(f'<text class="value" x="{width - 8}" y="{y + row / 2 + 4:.1f}" text-anchor="end">'
                     f"{escape(number(count, 0))}</text>")
    return _frame(title, parts, width, height)
