"""Server-rendered SVG plots (no JavaScript, no external assets, no inline style: the CSP allows none).

- ``sparkline``: a small trend with axes: the y range (0 to the maximum) labelled on the left, the
  first and last run labelled under the x axis, a dot per run and a gap where a run has no value.
- ``timebar``: a run's wall time as one bar split by phase (the run page).
"""
from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup


def sparkline(values: Sequence[float | int | None], *, width: int = 380, height: int = 64, label: str = "",
              css_class: str = "spark", x_labels: Sequence[str] | None = None, unit: str = "") -> Markup:
    """A trend over ``values`` (oldest first); None is a gap. The y axis starts at 0 (counts, seconds)."""
    title = escape(label)
    pts = [(i, float(v)) for i, v in enumerate(values) if v is not None]
    left, right, top, bottom = 40, 6, 6, 16          # room for the axis labels
    pw, ph = width - left - right, height - top - bottom
    head = (f'<svg class="{css_class}{"" if pts else " empty"}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img"')
    axes = (f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" />'
            f'<line class="axis" x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" />')
    if not pts:
        return Markup(f'{head} aria-label="{title}: no data"><title>{title}: no data</title>{axes}'
                      f'<text class="tick" x="{left + pw / 2:.0f}" y="{top + ph / 2 + 4:.0f}" text-anchor="middle">'
                      f'no runs yet</text></svg>')
    lo = min(0.0, min(v for _i, v in pts))
    hi = top_value = max(v for _i, v in pts)
    if hi == lo:                                     # a flat series: the axis still has a range
        hi = lo + 1.0
    span = hi - lo
    n = max(len(values) - 1, 1)

    def x(i: int) -> float:
        return left + pw * (i / n if len(values) > 1 else 0.5)

    def y(v: float) -> float:
        return top + ph * (1 - (v - lo) / span)

    segments: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append(f"{x(i):.1f},{y(float(v)):.1f}")
    lines = "".join(f'<polyline points="{" ".join(s)}" />' for s in segments if len(s) > 1)
    dots = "".join(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="{2.2 if i == pts[-1][0] else 1.3}" />' for i, v in pts)
    xl = list(x_labels or [])
    ticks = (f'<text class="tick" x="{left - 3}" y="{top + 7}" text-anchor="end">{_fmt(hi)}{escape(unit)}</text>'
             f'<text class="tick" x="{left - 3}" y="{top + ph}" text-anchor="end">{_fmt(lo)}</text>')
    if len(xl) == 1 or (len(xl) > 1 and xl[0] == xl[-1]):
        ticks += f'<text class="tick" x="{left + pw / 2:.0f}" y="{height - 3}" text-anchor="middle">{escape(xl[0])}</text>'
    elif xl:
        ticks += (f'<text class="tick" x="{left}" y="{height - 3}" text-anchor="start">{escape(xl[0])}</text>'
                  f'<text class="tick" x="{left + pw}" y="{height - 3}" text-anchor="end">{escape(xl[-1])}</text>')
    last_v = pts[-1][1]
    summary = (f"{title}: last {_fmt(last_v)}{escape(unit)}, min {_fmt(min(v for _i, v in pts))}, max {_fmt(top_value)} "
               f"over {len(pts)} of the last {len(values)} runs")
    return Markup(f'{head} aria-label="{summary}"><title>{summary}</title>{axes}{ticks}{lines}{dots}</svg>')


def timebar(parts: Sequence[tuple[str, float]], total: float, *, width: int = 1000, height: int = 22) -> Markup:
    """One bar for ``total`` seconds split into ``(name, seconds)`` parts (classes ``seg seg-<name>``)."""
    total = max(total, sum(s for _n, s in parts), 1e-9)
    x = 0.0
    rects = []
    for name, secs in parts:
        w = width * max(0.0, secs) / total
        if w <= 0:
            continue
        pct = 100 * secs / total
        rects.append(f'<rect class="seg seg-{escape(name)}" x="{x:.2f}" y="0" width="{w:.2f}" height="{height}">'
                     f'<title>{escape(name)}: {secs:.3f} s ({pct:.1f} %)</title></rect>')
        x += w
    label = ", ".join(f"{n} {100 * s / total:.0f} %" for n, s in parts if s > 0)
    return Markup(f'<svg class="timebar" viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img" '
                  f'aria-label="where the time went: {escape(label)}">{"".join(rects)}</svg>')


def _fmt(v: float) -> str:
    if abs(v) >= 10_000:
        return f"{v / 1000:.0f}k"
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}"
