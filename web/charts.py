"""Charts as plain SVG geometry for the templates: no script, no inline style (the page's CSP
allows neither), only shapes with presentation attributes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

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


def day_labels(days: list[date], x_of: Any, y: float, *, right: float,
               every: int = 7) -> list[Label]:
    """A date under the last day and under every ``every``-th day that stands clear of it (two
    labels a day or two apart overlap)."""
    n = len(days)
    if not n:
        return []
    # the last day (today) always, and every ``every``-th day that stands clear of it
    shown = [i for i in range(n - 1) if i % every == 0 and n - 1 - i >= every // 2 + 1]
    out = [Label(x_of(i), y, days[i].strftime("%d %b")) for i in shown]
    # the last one ends at the chart's right edge: it is not cut off
    return [*out, Label(right, y, days[n - 1].strftime("%d %b"), "end")]


def grouped_bars(days: list[date], series: dict[str, list[int]], *, width: int = 720,
                 height: int = 200) -> Chart:
    """Counts per day, one bar per series side by side. Not stacked: the series overlap (an
    alert detected on a day may be confirmed the same day), so a stack would add them up."""
    n = len(days)
    top = max([v for values in series.values() for v in values] or [0])
    plot_h = height - 30
    slot = (width - 40) / max(n, 1)
    k = max(len(series), 1)
    bw = max((slot - 2) / k, 1)
    rects = []
    for i, d in enumerate(days):
        for j, (name, values) in enumerate(series.items()):
            v = values[i]
            if not v:
                continue
            h = plot_h * v / top if top else 0
            rects.append(Rect(40 + i * slot + 1 + j * bw, plot_h - h, bw, h,
                              COLOURS.get(name, "#555"), f"{d.isoformat()}: {v} {name}"))
    labels = day_labels(days, lambda i: 40 + i * slot, height - 12, right=width - 2)
    labels.append(Label(34, 12, str(top), "end"))
    labels.append(Label(34, plot_h, "0", "end"))
    legend = [(name, COLOURS.get(name, "#555")) for name in series]
    return Chart(width, height, rects, labels, legend, empty=top == 0)


#: roughly how wide one character of an 11 px label is (for the label column's width)
CHAR_WIDTH = 6.5


def hbars(items: list[tuple[str, int]], *, width: int = 480, row: int = 22) -> Chart:
    """One bar per item; the label column is as wide as the longest label (none is cut)."""
    top = max([v for _, v in items] or [0])
    left = max(60.0, min(320.0, CHAR_WIDTH * max([len(n) for n, _ in items] or [0]) + 10))
    width = int(max(width, left + 310))
    rects, labels = [], []
    for i, (name, v) in enumerate(items):
        w = (width - left - 30) * v / top if top else 0
        rects.append(Rect(left + 5, i * row + 4, w, row - 8, "#2e86de", f"{name}: {v}"))
        labels.append(Label(left, i * row + row - 7, name, "end"))
        labels.append(Label(left + 10 + w, i * row + row - 7, str(v)))
    return Chart(width, row * max(len(items), 1), rects, labels, [], empty=top == 0)


BUCKETS = [(0, 1, "< 1 h"), (1, 24, "1-24 h"), (24, 72, "1-3 d"), (72, 168, "3-7 d"),
           (168, 720, "1-4 wk"), (720, float("inf"), "> 4 wk")]


def histogram(hours: list[float], *, width: int = 480) -> Chart:
    counts = [(label, sum(1 for h in hours if lo <= h < hi)) for lo, hi, label in BUCKETS]
    return hbars(counts, width=width)


def safe_link_url(url: str) -> str | None:
    """A listing's URL the page may show as a link: http(s) with a host, nothing else (no
    javascript:, data:, protocol-relative or malformed URLs)."""
    if not isinstance(url, str) or len(url) > 2000 or any(c in url for c in "\"'<> \\\n\r\t"):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url

