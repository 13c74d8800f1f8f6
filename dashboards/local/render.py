"""Server-side rendering of visuals: SVG charts and HTML tables, no JavaScript, nothing fetched.

Every function takes the rows of :mod:`dashboards.local.query` (columns d0.. then m0..) and returns
an HTML fragment. Values are formatted per the visual's format; every mark has a ``<title>``
tooltip with its exact value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Any

from dashboards.colors import category_color, series_color
from dashboards.local.query import Result
from dashboards.spec import Dimension, MeasureRef, Visual

Categories = Mapping[str, Sequence[str]]  # a dashboard's categories (dashboards.colors)
_W, _H = 100, 100  # pixels per width unit (of 12) and per height unit


# -- formatting ------------------------------------------------------------------------------------
def fmt_value(value: Any, fmt: str | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, int | float):
        return str(value)
    v = float(value)
    if math.isnan(v):
        return "–"
    if fmt == "percent":
        return f"{v * 100:.1f}%"
    if fmt == "vnd":
        return f"{v:,.0f} ₫"
    if fmt == "usd":
        return f"${v:,.2f}" if abs(v) >= 10 else f"${v:,.3f}"
    if fmt == "ms":
        return f"{v:,.0f} ms"
    if fmt == "seconds":
        return _duration(v)
    if fmt == "integer":
        return f"{v:,.0f}"
    if fmt == "decimal":
        return f"{v:,.2f}"
    return f"{v:,.0f}" if v == int(v) else f"{v:,.2f}"


def _duration(s: float) -> str:
    if abs(s) < 120:
        return f"{s:,.0f} s"
    if abs(s) < 7200:
        return f"{s / 60:,.1f} min"
    if abs(s) < 172800:
        return f"{s / 3600:,.1f} h"
    return f"{s / 86400:,.1f} d"


def fmt_axis(value: float, fmt: str | None) -> str:
    if fmt == "percent":
        return f"{value * 100:.0f}%"
    if fmt == "seconds":
        return _duration(value)
    a = abs(value)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            text = f"{value / div:.1f}".rstrip("0").rstrip(".") + suffix
            break
    else:
        text = f"{value:.2f}".rstrip("0").rstrip(".") if a < 10 and value != int(value) else f"{value:,.0f}"
    if fmt == "usd":
        return "$" + text
    if fmt == "vnd":
        return text + " ₫"
    return text


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: max(1, n - 1)] + "…"


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else escape(str(value))


def _label(value: Any) -> str:
    if isinstance(value, date):
        return value.strftime("%d %b")
    return str(value)


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    t = start
    while t <= hi + step * 0.5:
        ticks.append(round(t, 10))
        t += step
    return ticks


def _svg(width: int, height: int, body: str, label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}">{body}</svg>'
    )


def _legend(names: list[str], colors: dict[str, str], x: float, y: float, width: float) -> tuple[str, float]:
    """Legend items flowing left to right; returns (svg, height used)."""
    out, cx, cy = [], x, y
    for name in names:
        w = 26 + 6.2 * len(name)
        if cx + w > x + width and cx > x:
            cx, cy = x, cy + 16
        color = colors[name]
        out.append(
            f'<rect class="legend-key" data-series="{escape(name)}" x="{cx:.1f}" y="{cy - 9:.1f}" width="10" '
            f'height="10" fill="{color}"/>'
            f'<text class="legend" x="{cx + 14:.1f}" y="{cy:.1f}">{escape(name)}</text>'
        )
        cx += w
    return "".join(out), cy - y + 16


# -- series shaping --------------------------------------------------------------------------------
def _series(v: Visual, res: Result) -> tuple[list[Any], list[str], dict[str, list[float | None]]]:
    """(categories in order, series names, values per series aligned with categories)."""
    cats: list[Any] = []
    seen: set[Any] = set()
    for r in res.rows:
        if r[0] not in seen:
            seen.add(r[0])
            cats.append(r[0])
    index = {c: i for i, c in enumerate(cats)}
    if v.color is not None:
        names: list[str] = []
        data: dict[str, list[float | None]] = {}
        for r in res.rows:
            name = str(r[1])
            if name not in data:
                names.append(name)
                data[name] = [None] * len(cats)
            data[name][index[r[0]]] = None if r[2] is None else float(r[2])
        return cats, names, data
    names = [y.title for y in v.y]
    data = {n: [None] * len(cats) for n in names}
    for r in res.rows:
        for j, n in enumerate(names):
            data[n][index[r[0]]] = None if r[1 + j] is None else float(r[1 + j])
    return cats, names, data


def _colors(v: Visual, names: list[str], categories: Categories | None) -> dict[str, str]:
    """Series colours: per category value when the chart has a colour dimension, else by position."""
    if v.color is not None:
        return {n: category_color(v.color.column, n, categories) for n in names}
    return {n: series_color(k) for k, n in enumerate(names)}


def _fmt_of(v: Visual, ref: MeasureRef | None = None) -> str | None:
    return (ref.format if ref and ref.format else None) or v.format


# -- charts ----------------------------------------------------------------------------------------
PARTIAL_NOTE = {"day": "today so far", "week": "this week so far", "month": "this month so far"}


def line_or_bar(v: Visual, res: Result, categories: Categories | None = None, partial: date | None = None) -> str:
    """A line or bar chart; ``partial`` is the x value of the period still running (drawn hollow or
    faded, dashed to it, with a note), None when the chart shows no running period."""
    if v.type == "bar" and v.orientation == "horizontal":
        return hbar(v, res)
    cats, names, data = _series(v, res)
    colors = _colors(v, names, categories)
    partial = partial if partial in cats else None
    gran = (v.x.granularity if v.x else None) or "day"
    note = f"partial: {PARTIAL_NOTE.get(gran, 'so far')}"
    fmt = _fmt_of(v, v.y[0])
    width, height = v.width * _W, v.height * _H
    legend_svg, legend_h = ("", 0.0)
    if len(names) > 1:
        legend_svg, legend_h = _legend(names, colors, 56, 14, width - 70)
    top, left, right, bottom = 12 + legend_h, 56, 12, 34
    pw, ph = width - left - right, height - top - bottom
    stacked = v.type == "bar" and v.stacked
    values = [x for s in data.values() for x in s if x is not None]
    if stacked:
        sums = [sum(data[n][i] or 0 for n in names) for i in range(len(cats))]
        lo, hi = min(0.0, *sums), max(0.0, *sums)
    else:
        lo, hi = min(0.0, *values), max(0.0, *values)
    ticks = nice_ticks(lo, hi)
    lo, hi = ticks[0], ticks[-1]

    def y(val: float) -> float:
        return top + ph - (val - lo) / (hi - lo) * ph

    out = [legend_svg]
    for t in ticks:
        out.append(f'<line class="grid" x1="{left}" x2="{left + pw}" y1="{y(t):.1f}" y2="{y(t):.1f}"/>')
        out.append(
            f'<text class="tick" x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{escape(fmt_axis(t, fmt))}</text>'
        )
    n = len(cats)
    band = pw / max(n, 1)
    step = max(1, math.ceil(n / max(1, pw // 70)))
    max_chars = max(3, int(band * step / 6))
    for i, c in enumerate(cats):
        if i % step == 0:
            cx = left + band * (i + 0.5)
            text = _clip(_label(c), max_chars)
            out.append(
                f'<text class="tick" x="{cx:.1f}" y="{top + ph + 16}" text-anchor="middle">{escape(text)}'
                f"<title>{escape(_label(c))}</title></text>"
            )
    out.append(f'<line class="axis" x1="{left}" x2="{left + pw}" y1="{y(0):.1f}" y2="{y(0):.1f}"/>')
    if partial is not None:
        px = left + band * (cats.index(partial) + 0.5)
        out.append(
            f'<text class="partial-note" x="{min(px, left + pw):.1f}" y="{top - 2:.1f}" text-anchor="end">'
            f"{escape(note)} ◌</text>"
        )
    if v.type == "line":
        for name in names:
            color = colors[name]
            pts = [
                (left + band * (i + 0.5), y(val), cats[i], val) for i, val in enumerate(data[name]) if val is not None
            ]
            done = [p for p in pts if p[2] != partial]
            if len(done) > 1:
                path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _, _ in done)
                out.append(
                    f'<polyline class="series" data-series="{escape(name)}" fill="none" stroke="{color}" '
                    f'stroke-width="2" points="{path}"/>'
                )
            if done and len(done) < len(pts):  # dashed to the running period
                (ax, ay, _, _), (bx, by, _, _) = done[-1], pts[-1]
                out.append(
                    f'<line class="series partial" data-series="{escape(name)}" x1="{ax:.1f}" y1="{ay:.1f}" '
                    f'x2="{bx:.1f}" y2="{by:.1f}" stroke="{color}" stroke-width="2" stroke-dasharray="4 3"/>'
                )
            for px, py, c, val in pts:
                is_partial = c == partial
                tip = f"{name} · {_label(c)}: {fmt_value(val, fmt)}" + (f" ({note})" if is_partial else "")
                fill = f'fill="#fff" stroke="{color}" stroke-width="1.5"' if is_partial else f'fill="{color}"'
                out.append(
                    f'<circle class="mark" data-series="{escape(name)}" data-x="{_iso(c)}" '
                    f'data-partial="{str(is_partial).lower()}" data-value="{val}" cx="{px:.1f}" cy="{py:.1f}" '
                    f'r="{3 if n <= 40 else 1.5}" {fill}><title>{escape(tip)}</title></circle>'
                )
    else:
        inner = min(band * 0.8, 90.0)
        for i, c in enumerate(cats):
            x0 = left + band * i + (band - inner) / 2
            base = 0.0
            for k, name in enumerate(names):
                val = data[name][i]
                if val is None:
                    continue
                color = colors[name]
                if stacked:
                    y0, y1 = y(base + val), y(base)
                    bx, bw = x0, inner
                    base += val
                else:
                    bw = inner / len(names)
                    bx = x0 + k * bw
                    y0, y1 = min(y(val), y(0)), max(y(val), y(0))
                is_partial = c == partial
                tip = (
                    f"{name} · {_label(c)}: {fmt_value(val, fmt)}"
                    if len(names) > 1
                    else f"{_label(c)}: {fmt_value(val, fmt)}"
                ) + (f" ({note})" if is_partial else "")
                faded = ' fill-opacity="0.4" stroke-dasharray="3 2"' + f' stroke="{color}"' if is_partial else ""
                out.append(
                    f'<rect class="mark" data-series="{escape(name)}" data-x="{_iso(c)}" '
                    f'data-partial="{str(is_partial).lower()}" data-value="{val}" x="{bx:.1f}" y="{y0:.1f}" '
                    f'width="{max(bw - 1, 1):.1f}" height="{max(y1 - y0, 0.5):.1f}" fill="{color}"{faded}>'
                    f"<title>{escape(tip)}</title></rect>"
                )
    return _svg(width, height, "".join(out), v.title)


def hbar(v: Visual, res: Result) -> str:
    cats, names, data = _series(v, res)
    fmt = _fmt_of(v, v.y[0])
    width = v.width * _W
    row_h = 20
    label_w = min(240, max(60, 6 * max((len(_label(c)) for c in cats), default=4)))
    value_w = 80
    height = max(v.height * _H, 16 + row_h * len(cats))
    left, top = label_w + 8, 8
    pw = width - left - value_w
    totals = [sum(data[n][i] or 0 for n in names) for i in range(len(cats))]
    hi = max([0.0, *totals]) or 1.0
    out = []
    for i, c in enumerate(cats):
        cy = top + i * row_h
        out.append(
            f'<text class="tick" x="{left - 6}" y="{cy + 14}" text-anchor="end">'
            f"{escape(_clip(_label(c), label_w // 6))}</text>"
        )
        x = left
        for k, name in enumerate(names):
            val = data[name][i]
            if not val:
                continue
            w = max(val, 0) / hi * pw
            tip = f"{_label(c)}: {fmt_value(val, fmt)}"
            out.append(
                f'<rect class="mark" x="{x:.1f}" y="{cy + 3}" width="{max(w, 1):.1f}" height="{row_h - 6}" '
                f'fill="{series_color(k)}"><title>{escape(tip)}</title></rect>'
            )
            x += w
        out.append(f'<text class="value" x="{x + 4:.1f}" y="{cy + 14}">{escape(fmt_value(totals[i], fmt))}</text>')
    return _svg(width, height, "".join(out), v.title)


def pie(v: Visual, res: Result, categories: Categories | None = None) -> str:
    fmt = _fmt_of(v, v.value)
    assert v.group is not None
    rows = [(str(r[0]), float(r[1] or 0)) for r in res.rows if (r[1] or 0) > 0]
    total = sum(val for _, val in rows) or 1.0
    width, height = v.width * _W, v.height * _H
    stacked = width < 600  # narrow: legend under the donut
    if stacked:
        r_out = min(height / 2 - 30, width / 2 - 12)
        cx, cy = width / 2, 8 + r_out
        height = int(cy + r_out + 14 + 18 * len(rows))
    else:
        r_out = min(height / 2 - 12, width / 4)
        cx, cy = 12 + r_out, height / 2
    r_in = r_out * 0.55
    out = []
    angle = -math.pi / 2
    for name, val in rows:
        share = val / total
        a2 = angle + share * 2 * math.pi
        color = category_color(v.group.column, name, categories)
        tip = f"{name}: {fmt_value(val, fmt)} ({share * 100:.1f}%)"
        if share >= 0.9999:
            out.append(
                f'<circle class="mark" data-series="{escape(name)}" cx="{cx:.1f}" cy="{cy:.1f}" '
                f'r="{(r_out + r_in) / 2:.1f}" fill="none" stroke="{color}" stroke-width="{r_out - r_in:.1f}">'
                f"<title>{escape(tip)}</title></circle>"
            )
        else:
            large = 1 if share > 0.5 else 0
            p = [
                (cx + r_out * math.cos(angle), cy + r_out * math.sin(angle)),
                (cx + r_out * math.cos(a2), cy + r_out * math.sin(a2)),
                (cx + r_in * math.cos(a2), cy + r_in * math.sin(a2)),
                (cx + r_in * math.cos(angle), cy + r_in * math.sin(angle)),
            ]
            d = (
                f"M{p[0][0]:.2f},{p[0][1]:.2f} A{r_out:.2f},{r_out:.2f} 0 {large} 1 {p[1][0]:.2f},{p[1][1]:.2f} "
                f"L{p[2][0]:.2f},{p[2][1]:.2f} A{r_in:.2f},{r_in:.2f} 0 {large} 0 {p[3][0]:.2f},{p[3][1]:.2f} Z"
            )
            out.append(
                f'<path class="mark" data-series="{escape(name)}" d="{d}" fill="{color}">'
                f"<title>{escape(tip)}</title></path>"
            )
        angle = a2
    lx = 12 if stacked else cx + r_out + 18
    ly0 = cy + r_out + 24 if stacked else 16
    for k, (name, val) in enumerate(rows if stacked else rows[: int((height - 10) // 18)]):
        ly = ly0 + k * 18
        out.append(
            f'<rect class="legend-key" data-series="{escape(name)}" x="{lx:.1f}" y="{ly - 9}" width="10" '
            f'height="10" fill="{category_color(v.group.column, name, categories)}"/>'
            f'<text class="legend" x="{lx + 14:.1f}" y="{ly}">{escape(name)} · {escape(fmt_value(val, fmt))} '
            f"({val / total * 100:.0f}%)</text>"
        )
    return _svg(width, height, "".join(out), v.title)


def heatmap(v: Visual, res: Result, today: date | None = None) -> str:
    """A heat map; for cohorts (``v.cohorts``), the cells of periods not over by ``today`` are partial
    (faded, dashed, said in their tooltip and in a note)."""
    from dashboards.local.time_axis import cohort_cell_partial

    fmt = _fmt_of(v, v.value)
    rows = list(dict.fromkeys(r[0] for r in res.rows))
    cols = list(dict.fromkeys(r[1] for r in res.rows))
    cols.sort(key=lambda c: (c is None, c))
    cell = {(r[0], r[1]): r[2] for r in res.rows}
    vals = [float(x) for x in cell.values() if x is not None]
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    width = v.width * _W
    left, top = 90, 26
    cw = max(24.0, (width - left - 8) / max(len(cols), 1))
    ch = 24
    height = max(v.height * _H, top + ch * len(rows) + 8)
    out = []
    col_title = v.cols.title if v.cols else ""
    for j, c in enumerate(cols):
        text = f"{col_title} {_label(c)}" if isinstance(c, int | float) else _label(c)
        out.append(
            f'<text class="tick" x="{left + cw * (j + 0.5):.1f}" y="{top - 8}" text-anchor="middle">'
            f"{escape(text)}</text>"
        )
    for i, r in enumerate(rows):
        y = top + i * ch
        out.append(f'<text class="tick" x="{left - 6}" y="{y + 16}" text-anchor="end">{escape(_label(r))}</text>')
        for j, c in enumerate(cols):
            val = cell.get((r, c))
            if val is None:
                continue
            t = 0.0 if hi == lo else (float(val) - lo) / (hi - lo)
            fill = _blend(t)
            text_color = "#fff" if t > 0.55 else "#1b2733"
            partial = bool(v.cohorts and today and cohort_cell_partial(r, c, v.cohorts, today))
            tip = f"{_label(r)} · {_label(c)}: {fmt_value(val, fmt)}" + (
                f" ({v.cohorts} not over yet)" if partial else ""
            )
            faded = ' fill-opacity="0.45" stroke="#52606d" stroke-dasharray="3 2"' if partial else ""
            text_color = "#1b2733" if partial else text_color
            x = left + j * cw
            out.append(
                f'<rect class="mark" data-row="{_iso(r)}" data-col="{escape(str(c))}" '
                f'data-partial="{str(partial).lower()}" x="{x:.1f}" y="{y}" width="{cw - 2:.1f}" '
                f'height="{ch - 2}" fill="{fill}"{faded}><title>{escape(tip)}</title></rect>'
                f'<text class="cell" x="{x + cw / 2 - 1:.1f}" y="{y + 15}" text-anchor="middle" '
                f'style="fill:{text_color}">'
                f"{escape(fmt_value(val, fmt))}</text>"
            )
    return _svg(width, height, "".join(out), v.title)


def _blend(t: float) -> str:
    lo, hi = (0xE8, 0xF0, 0xFB), (0x1D, 0x4E, 0xB0)
    rgb = [round(a + (b - a) * t) for a, b in zip(lo, hi, strict=True)]
    return "#" + "".join(f"{c:02x}" for c in rgb)


def funnel(v: Visual, res: Result) -> str:
    fmt = _fmt_of(v, v.value)
    rows = [(str(r[0]), float(r[1] or 0)) for r in res.rows]
    first = rows[0][1] if rows and rows[0][1] else 1.0
    width = v.width * _W
    height = max(v.height * _H, 10 + 44 * len(rows))
    row_h = (height - 10) / max(len(rows), 1)
    out = []
    label_w = 150
    pw = width - label_w - 20
    for i, (name, val) in enumerate(rows):
        w = max(val / first * pw, 2)
        x = label_w + (pw - w) / 2
        y = 5 + i * row_h
        prev = rows[i - 1][1] if i else val
        step = f", {val / prev * 100:.1f}% of previous" if i and prev else ""
        tip = f"{name}: {fmt_value(val, fmt)} ({val / first * 100:.1f}% of first{step})"
        out.append(
            f'<text class="tick" x="{label_w - 8}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end">{escape(name)}</text>'
            f'<rect class="mark" x="{x:.1f}" y="{y + 3:.1f}" width="{w:.1f}" height="{row_h - 6:.1f}" '
            f'fill="{series_color(i)}"><title>{escape(tip)}</title></rect>'
            + _funnel_label(x, w, y + row_h / 2 + 4, f"{fmt_value(val, fmt)} · {val / first * 100:.0f}%")
        )
    return _svg(width, height, "".join(out), v.title)


def _funnel_label(x: float, w: float, y: float, text: str) -> str:
    if w > 7 * len(text):  # inside the bar, white
        return (
            f'<text class="cell" x="{x + w / 2:.1f}" y="{y:.1f}" text-anchor="middle" style="fill:#fff">'
            f"{escape(text)}</text>"
        )
    return f'<text class="cell" x="{x + w + 6:.1f}" y="{y:.1f}">{escape(text)}</text>'


def kpi(v: Visual, res: Result, previous: Comparison | None = None) -> str:
    val = res.rows[0][0] if res.rows else None
    fmt = _fmt_of(v, v.value)
    text = fmt_value(val, fmt)
    if len(text) > 10 and isinstance(val, int | float) and abs(val) >= 1e4:
        text = fmt_axis(float(val), fmt)  # 4,600,000 ₫ → 4.6M ₫ (exact value in the tooltip)
    out = f'<div class="kpi-value" title="{escape(fmt_value(val, fmt))}">{escape(text)}</div>'
    return out + (_comparison(val, previous, fmt) if previous is not None else "")


@dataclass(frozen=True)
class Comparison:
    """The KPI over the previous period of the same length; ``complete`` False when that period
    starts before the data does (no fair comparison)."""

    value: Any
    days: int
    complete: bool


def _comparison(val: Any, prev: Comparison, fmt: str | None) -> str:
    label = f"previous {prev.days} days" if prev.days != 1 else "previous day"
    attrs = f'class="kpi-compare" data-previous="{escape(str(prev.value))}"'
    if not prev.complete:
        return f'<div {attrs} data-change="">no full {escape(label)} in the data</div>'
    if not isinstance(val, int | float) or not isinstance(prev.value, int | float) or not prev.value:
        return f'<div {attrs} data-change="">vs {escape(label)}: {escape(fmt_value(prev.value, fmt))}</div>'
    change = (float(val) - float(prev.value)) / abs(float(prev.value))
    arrow, cls = ("▲", "up") if change > 0 else (("▼", "down") if change < 0 else ("=", "flat"))
    return (
        f'<div {attrs} data-change="{change:.6f}"><span class="{cls}">{arrow} {change * 100:+.1f}%</span> '
        f"vs {escape(label)} ({escape(fmt_value(prev.value, fmt))})</div>"
    )


def table(v: Visual, res: Result) -> str:
    heads = [d.title for d in v.dims] + [m.title for m in v.values]
    fmts: list[str | None] = [None] * len(v.dims) + [_fmt_of(v, m) for m in v.values]
    numeric = [False] * len(v.dims) + [True] * len(v.values)
    out = ['<div class="table-wrap"><table class="data"><thead><tr>']
    out += [f'<th class="{"num" if numeric[i] else ""}">{escape(h)}</th>' for i, h in enumerate(heads)]
    out.append("</tr></thead><tbody>")
    for r in res.rows:
        out.append("<tr>")
        out += [
            f'<td class="{"num" if numeric[i] else ""}">{escape(fmt_value(x, fmts[i]))}</td>' for i, x in enumerate(r)
        ]
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


RENDERERS = {
    "kpi": kpi,
    "line": line_or_bar,
    "bar": line_or_bar,
    "pie": pie,
    "heatmap": heatmap,
    "funnel": funnel,
    "table": table,
}


def render_visual(
    v: Visual,
    res: Result,
    categories: Categories | None = None,
    partial: date | None = None,
    today: date | None = None,
    previous: Comparison | None = None,
) -> str:
    """One visual's HTML; ``partial`` the running period of a time axis, ``today`` for cohort cells,
    ``previous`` a KPI's value over the previous period."""
    if v.type in ("line", "bar"):
        return line_or_bar(v, res, categories, partial)
    if v.type == "pie":
        return pie(v, res, categories)
    if v.type == "heatmap":
        return heatmap(v, res, today)
    if v.type == "kpi":
        return kpi(v, res, previous)
    return RENDERERS[v.type](v, res)


def is_empty(v: Visual, res: Result) -> bool:
    if v.type == "kpi":
        return False  # a KPI of nothing is a dash, still an answer
    return not res.rows


def dims_title(dims: list[Dimension]) -> str:
    return ", ".join(d.title for d in dims)
