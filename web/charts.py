"""Charts as plain SVG geometry for the templates: no script, no inline style (the page's CSP
allows neither), only shapes with presentation attributes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

COLOURS = {"new": "#8a94a6", "confirmed": "#c0392b", "dismissed": "#2e86de"}


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    rects: list[Rect]
    labels: list[Label]
    legend: list[tuple[str, str]]
    empty: bool


def stacked_bars(days: list[date], series: dict[str, list[int]], *, width: int = 720,
                 height: int = 200) -> Chart:
    """Alerts by status over time: one bar per day, stacked by the status reached that day."""
    n = len(days)
    top = max([sum(series[k][i] for k in series) for i in range(n)] or [0])
    plot_h = height - 30
    bw = (width - 40) / max(n, 1)
    rects, labels = [], []
    for i, d in enumerate(days):
        y: float = plot_h
        for k, values in series.items():
            v = values[i]
            if not v:
                continue
            h = plot_h * v / top if top else 0
            y -= h
            rects.append(Rect(40 + i * bw + 1, y, max(bw - 2, 1), h, COLOURS.get(k, "#555"),
                              f"{d.isoformat()}: {v} {k}"))
        if i % 7 == 0 or i == n - 1:
            labels.append(Label(40 + i * bw, height - 12, d.strftime("%d %b")))
    labels.append(Label(34, 12, str(top), "end"))
    labels.append(Label(34, plot_h, "0", "end"))
    legend = [(k, COLOURS.get(k, "#555")) for k in series]
    return Chart(width, height, rects, labels, legend, empty=top == 0)


def hbars(items: list[tuple[str, int]], *, width: int = 480, row: int = 22) -> Chart:
    top = max([v for _, v in items] or [0])
    rects, labels = [], []
    for i, (name, v) in enumerate(items):
        w = (width - 200) * v / top if top else 0
        rects.append(Rect(170, i * row + 4, w, row - 8, "#2e86de", f"{name}: {v}"))
        labels.append(Label(165, i * row + row - 7, name, "end"))
        labels.append(Label(175 + w, i * row + row - 7, str(v)))
    return Chart(width, row * max(len(items), 1), rects, labels, [], empty=top == 0)


BUCKETS = [(0, 1, "< 1 h"), (1, 24, "1-24 h"), (24, 72, "1-3 d"), (72, 168, "3-7 d"),
           (168, 720, "1-4 wk"), (720, float("inf"), "> 4 wk")]


def histogram(hours: list[float], *, width: int = 480) -> Chart:
    counts = [(label, sum(1 for h in hours if lo <= h < hi)) for lo, hi, label in BUCKETS]
    return hbars(counts, width=width)
