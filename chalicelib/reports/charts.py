"""Charts as inline SVG: horizontal bars, lines over time, and a donut of shares.

Reports are single HTML files that print well and open without a network: no JavaScript, no
external fonts or images, every label escaped. Sizes are in SVG user units with a viewBox, so a
chart scales with the page.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = ("#1f5fa8", "#e07b24", "#2e9e5b", "#c23b3b", "#7b4fb5", "#8c6d31", "#d35d9d", "#5f7b8c",
           "#17a2b8", "#6c757d")
FONT = "font-family='Noto Sans CJK SC, Microsoft YaHei, PingFang SC, SimHei, sans-serif'"


def _fmt(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _empty(title: str, width: int) -> Markup:
    return Markup(
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} 60' class='chart' role='img' "
        f"aria-label='{escape(title)}'><text x='{width / 2}' y='35' text-anchor='middle' {FONT} font-size='13' "
        f"fill='#888'>{escape(title)}：本期无数据</text></svg>")


def bar_chart(items: Sequence[tuple[str, float]], title: str, *, unit: str = "", width: int = 680,
              colour: str = PALETTE[0]) -> Markup:
    """Horizontal bars, largest first as given."""
    items = [(label, float(value or 0)) for label, value in items]
    if not items or max(v for _, v in items) <= 0:
        return _empty(title, width)
    row, top, left, right = 24, 34, 170, 80
    height = top + row * len(items) + 10
    scale = (width - left - right) / max(v for _, v in items)
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' class='chart' role='img' "
             f"aria-label='{escape(title)}'>",
             f"<text x='0' y='18' {FONT} font-size='14' font-weight='bold'>{escape(title)}</text>"]
    for n, (label, value) in enumerate(items):
        y = top + n * row
        bar = max(value * scale, 1 if value > 0 else 0)
        short = label if len(label) <= 12 else label[:11] + "…"
        parts.append(f"<text x='{left - 8}' y='{y + 15}' text-anchor='end' {FONT} font-size='12'>"
                     f"{escape(short)}</text>")
        parts.append(f"<rect x='{left}' y='{y + 3}' width='{bar:.1f}' height='{row - 8}' fill='{colour}' rx='2'/>")
        parts.append(f"<text x='{left + bar + 6:.1f}' y='{y + 15}' {FONT} font-size='12'>"
                     f"{escape(_fmt(value))}{escape(unit)}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(x_labels: Sequence[str], series: dict[str, Sequence[float]], title: str, *,
               width: int = 680, height: int = 260) -> Markup:
    """One line per series over the same x labels (days or months), with a legend."""
    if not x_labels or not series or all(max(list(v) or [0]) <= 0 for v in series.values()):
        return _empty(title, width)
    left, right, top, bottom = 50, 20, 40, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(max(v) for v in series.values() if len(v)) or 1
    step = _nice_step(peak)
    y_max = step * math.ceil(peak / step)
    count = len(x_labels)
    dx = plot_w / max(count - 1, 1)
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' class='chart' role='img' "
             f"aria-label='{escape(title)}'>",
             f"<text x='0' y='18' {FONT} font-size='14' font-weight='bold'>{escape(title)}</text>"]
    for n in range(int(y_max / step) + 1):
        value = n * step
        y = top + plot_h - plot_h * value / y_max
        parts.append(f"<line x1='{left}' y1='{y:.1f}' x2='{width - right}' y2='{y:.1f}' stroke='#e5e5e5'/>")
        parts.append(f"<text x='{left - 6}' y='{y + 4:.1f}' text-anchor='end' {FONT} font-size='10' fill='#666'>"
                     f"{escape(_fmt(value))}</text>")
    every = max(1, math.ceil(count / 12))
    for n, label in enumerate(x_labels):
        if n % every == 0 or n == count - 1:
            x = left + n * dx
            parts.append(f"<text x='{x:.1f}' y='{height - bottom + 16}' text-anchor='middle' {FONT} "
                         f"font-size='10' fill='#666'>{escape(label)}</text>")
    for k, (name, values) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        points = " ".join(f"{left + n * dx:.1f},{top + plot_h - plot_h * float(v or 0) / y_max:.1f}"
                          for n, v in enumerate(values))
        parts.append(f"<polyline fill='none' stroke='{colour}' stroke-width='2' points='{points}'/>")
        lx = left + k * 130
        parts.append(f"<rect x='{lx}' y='{height - 14}' width='12' height='4' fill='{colour}'/>")
        parts.append(f"<text x='{lx + 16}' y='{height - 8}' {FONT} font-size='11'>{escape(name)}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))


def _nice_step(peak: float) -> float:
    raw = peak / 5
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def donut_chart(items: Sequence[tuple[str, float]], title: str, *, width: int = 680) -> Markup:
    """Shares of a whole (channels, kinds), with percentages in the legend."""
    items = [(label, float(value or 0)) for label, value in items if (value or 0) > 0]
    total = sum(v for _, v in items)
    if total <= 0:
        return _empty(title, width)
    height = max(200, 40 + 22 * len(items))
    cx, cy, r, inner = 110, 115, 80, 45
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' class='chart' role='img' "
             f"aria-label='{escape(title)}'>",
             f"<text x='0' y='18' {FONT} font-size='14' font-weight='bold'>{escape(title)}</text>"]
    angle = -math.pi / 2
    for n, (label, value) in enumerate(items):
        colour = PALETTE[n % len(PALETTE)]
        share = value / total
        if share >= 0.9999:
            parts.append(f"<circle cx='{cx}' cy='{cy}' r='{(r + inner) / 2}' fill='none' stroke='{colour}' "
                         f"stroke-width='{r - inner}'/>")
        else:
            end = angle + share * 2 * math.pi
            large = 1 if share > 0.5 else 0
            x1, y1 = cx + r * math.cos(angle), cy + r * math.sin(angle)
            x2, y2 = cx + r * math.cos(end), cy + r * math.sin(end)
            x3, y3 = cx + inner * math.cos(end), cy + inner * math.sin(end)
            x4, y4 = cx + inner * math.cos(angle), cy + inner * math.sin(angle)
            parts.append(f"<path d='M{x1:.2f},{y1:.2f} A{r},{r} 0 {large} 1 {x2:.2f},{y2:.2f} "
                         f"L{x3:.2f},{y3:.2f} A{inner},{inner} 0 {large} 0 {x4:.2f},{y4:.2f} Z' fill='{colour}'/>")
            angle = end
        ly = 40 + n * 22
        parts.append(f"<rect x='240' y='{ly}' width='12' height='12' fill='{colour}'/>")
        parts.append(f"<text x='258' y='{ly + 11}' {FONT} font-size='12'>{escape(label)}："
                     f"{escape(_fmt(value))}（{share * 100:.1f}%）</text>")
    parts.append("</svg>")
    return Markup("".join(parts))
