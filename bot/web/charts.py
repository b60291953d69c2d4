"""Charts of the 集計 page, drawn on the server as inline SVG (no JavaScript, no library).

Readable without colour: every series has its own fill pattern as well as its own shade (solid,
hatched, dotted), values are written on or beside the bars, and the legend shows the patterns.
Each chart is a pure function of plain numbers returning escaped SVG markup (``Markup``); the
page shows the same numbers as a table next to every chart. Only presentation attributes are
used (the console's Content-Security-Policy forbids inline styles).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from markupsafe import Markup, escape

FONT = 12
INK, MUTED, GRID = "#1f2328", "#59636e", "#d0d7de"


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    shade: str          # fill colour
    pattern: str        # "solid" | "hatch" | "dots"


DEFS = Markup(
    '<defs>'
    '<pattern id="p-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f3c9a6"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#8a3b00" stroke-width="2.5"/></pattern>'
    '<pattern id="p-dots" width="6" height="6" patternUnits="userSpaceOnUse">'
    '<rect width="6" height="6" fill="#f6d4d1"/><circle cx="3" cy="3" r="1.6" fill="#9b1c14"/>'
    '</pattern></defs>')


def _fill(s: Series) -> str:
    return s.shade if s.pattern == "solid" else f"url(#p-{s.pattern})"


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = FONT,
          fill: str = INK, weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{fill}" font-weight="{weight}">{escape(text)}</text>')


def _svg(width: int, height: int, title: str, desc: str, body: list[str]) -> Markup:
    uid = abs(hash((title, width, height))) % 10**8
    return Markup(
        f'<svg class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="t{uid} d{uid}" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="t{uid}">{escape(title)}</title>'
        f'<desc id="d{uid}">{escape(desc)}</desc>{DEFS}' + "".join(body) + "</svg>")


def _nice_max(value: float) -> float:
    """The top of a 4-step axis: the smallest 4 x (1, 2, 2.5 or 5 x 10^k) >= value."""
    if value <= 0:
        return 1.0
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * magnitude >= raw:
            return 4 * m * magnitude
    return value


def legend(series: Sequence[Series], x: float, y: float) -> list[str]:
    out = []
    for s in series:
        out.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="14" height="12" fill="{_fill(s)}" '
                   f'stroke="{INK}" stroke-width="0.6"/>')
        out.append(_text(x + 18, y, s.label))
        x += 28 + FONT * len(s.label)
    return out


def stacked_columns(labels: Sequence[str], rows: Sequence[Sequence[int]], series: Sequence[Series],
                    *, title: str, width: int = 1040, height: int = 260) -> Markup:
    """One column per label (e.g. a week), stacked by series; the total above each column."""
    left, right, top, bottom = 44, 10, 30, 38
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(r) for r in rows]
    ymax = max(4.0, _nice_max(max(totals, default=0)))
    body = legend(series, left, 16)
    for i in range(5):
        v = ymax * i / 4
        y = top + plot_h - plot_h * i / 4
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                    f'stroke="{GRID}" stroke-width="1"/>')
        body.append(_text(left - 6, y + 4, f"{v:,.0f}", anchor="end", fill=MUTED, size=11))
    n = max(1, len(labels))
    slot = plot_w / n
    bar = max(2.0, min(36.0, slot * 0.7))
    every = max(1, round(n / 12))
    for i, (label, values) in enumerate(zip(labels, rows)):
        x = left + slot * i + (slot - bar) / 2
        y = top + plot_h
        for s, v in zip(series, values):
            if v <= 0:
                continue
            h = plot_h * v / ymax
            y -= h
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                        f'fill="{_fill(s)}" stroke="{INK}" stroke-width="0.4">'
                        f'<title>{escape(f"{label} {s.label}: {v:,} 件")}</title></rect>')
        if totals[i] and n <= 26:
            body.append(_text(x + bar / 2, y - 3, f"{totals[i]:,}", anchor="middle", size=10,
                              fill=MUTED))
        if i % every == 0:
            body.append(_text(x + bar / 2, top + plot_h + 16, label, anchor="middle", size=11,
                              fill=MUTED))
    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" '
                f'y2="{top + plot_h}" stroke="{INK}" stroke-width="1"/>')
    desc = "、".join(f"{lab}: {t:,} 件" for lab, t in zip(labels, totals))
    return _svg(width, height, title, desc or "データがありません", body)


def horizontal_bars(items: Sequence[tuple[str, int]], *, title: str, width: int = 680,
                    unit: str = "件") -> Markup:
    """One bar per item, the value written at its end; the label on the left."""
    row_h, left, right, top = 22, 200, 60, 8
    height = top + row_h * max(1, len(items)) + 8
    vmax = max((v for _, v in items), default=0) or 1
    body = []
    for i, (label, value) in enumerate(items):
        y = top + row_h * i
        shown_full = label or "未設定"
        shown = shown_full if len(shown_full) <= 15 else shown_full[:14] + "…"
        body.append(_text(left - 8, y + 15, shown, anchor="end"))
        w = (width - left - right) * value / vmax
        body.append(f'<rect x="{left}" y="{y + 4:.1f}" width="{max(w, 1):.1f}" height="{row_h - 8}" '
                    f'fill="#2f6db5"><title>{escape(f"{shown_full}: {value:,} {unit}")}</title></rect>')
        body.append(_text(left + w + 6, y + 15, f"{value:,}", fill=MUTED))
    desc = "、".join(f"{label or '未設定'}: {v:,} {unit}" for label, v in items)
    return _svg(width, height, title, desc or "データがありません", body)


def line(labels: Sequence[str], series: Sequence[tuple[Series, Sequence[float | None]]], *,
         title: str, ymax: float | None = None, fmt=lambda v: f"{v:.0%}", width: int = 1040,
         height: int = 220) -> Markup:
    """Lines over the labels; a missing value breaks the line. Each series has its own marker
    shape (circle, square) and dash, so the lines are told apart without colour."""
    left, right, top, bottom = 56, 16, 30, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs in series for v in vs if v is not None]
    top_v = ymax if ymax is not None else _nice_max(max(values, default=0))
    top_v = top_v or 1.0
    body = legend([s for s, _ in series], left, 16)
    for i in range(5):
        v = top_v * i / 4
        y = top + plot_h - plot_h * i / 4
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                    f'stroke="{GRID}" stroke-width="1"/>')
        body.append(_text(left - 6, y + 4, fmt(v), anchor="end", fill=MUTED, size=11))
    n = max(1, len(labels))
    step = plot_w / max(1, n - 1) if n > 1 else 0
    every = max(1, round(n / 12))
    for i, label in enumerate(labels):
        if i % every == 0:
            body.append(_text(left + step * i, top + plot_h + 16, label, anchor="middle", size=11,
                              fill=MUTED))
    for k, (s, vs) in enumerate(series):
        dash = "" if k == 0 else ' stroke-dasharray="6 4"'
        segment: list[str] = []
        for i, v in enumerate(list(vs) + [None]):
            if v is None:
                if len(segment) > 1:
                    body.append(f'<polyline fill="none" stroke="{s.shade}" stroke-width="2"{dash} '
                                f'points="{" ".join(segment)}"/>')
                segment = []
                continue
            x, y = left + step * i, top + plot_h - plot_h * min(v, top_v) / top_v
            segment.append(f"{x:.1f},{y:.1f}")
            tip = f"<title>{escape(f'{labels[i]} {s.label}: {fmt(v)}')}</title>"
            if k == 0:
                body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{s.shade}">{tip}</circle>')
            else:
                body.append(f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" '
                            f'fill="#ffffff" stroke="{s.shade}" stroke-width="2">{tip}</rect>')
    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" '
                f'y2="{top + plot_h}" stroke="{INK}" stroke-width="1"/>')
    desc = "; ".join(f"{s.label}: " + "、".join(f"{lab} {fmt(v)}" for lab, v in zip(labels, vs)
                                                if v is not None)
                     for s, vs in series if any(v is not None for v in vs))
    return _svg(width, height, title, desc or "データがありません", body)
