"""Horizontal bar charts as inline SVG, computed here and drawn by templates/chart.html.

Server-side: no script, nothing fetched, the CSP stays `default-src 'none'`; the numbers
are also in the page's table, which is the text alternative of each chart.
"""

from __future__ import annotations

from dataclasses import dataclass

LABEL_WIDTH = 150
BAR_WIDTH = 300
ROW_HEIGHT = 26
VALUE_WIDTH = 110


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    css: str
    value: float
    name: str


@dataclass(frozen=True)
class BarRow:
    label: str
    y: int
    segments: list[Segment]
    text: str  # the value shown after the bar


@dataclass(frozen=True)
class Chart:
    ident: str
    title: str
    legend: list[tuple[str, str]]  # (css class, name)
    rows: list[BarRow]
    width: int
    height: int
    label_width: int = LABEL_WIDTH


def bar_chart(
    ident: str,
    title: str,
    series: list[tuple[str, str]],
    data: list[tuple[str, list[float], str]],
) -> Chart:
    """`series` names each stacked part (css class, name); `data` is (label, parts, text)."""
    largest = max((sum(parts) for _, parts, _ in data), default=0) or 1
    rows = []
    for n, (label, parts, text) in enumerate(data):
        x, segments = float(LABEL_WIDTH), []
        for (css, name), value in zip(series, parts, strict=True):
            width = BAR_WIDTH * value / largest
            segments.append(Segment(round(x, 1), round(width, 1), css, value, name))
            x += width
        rows.append(BarRow(label[:24], n * ROW_HEIGHT, segments, text))
    height = max(len(rows), 1) * ROW_HEIGHT
    return Chart(ident, title, series, rows, LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH, height)
