"""Server-rendered SVG sparklines (no JavaScript, no external assets)."""
from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup


def sparkline(values: Sequence[float | int | None], *, width: int = 120, height: int = 24, label: str = "",
              css_class: str = "spark") -> Markup:
    """A polyline over ``values`` (oldest first); None is a gap. Empty input draws a flat baseline."""
    pts = [(i, float(v)) for i, v in enumerate(values) if v is not None]
    title = escape(label)
    if not pts:
        return Markup(f'<svg class="{css_class} empty" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
                      f'role="img" aria-label="{title}: no data"><title>{title}: no data</title>'
                      f'<line x1="0" y1="{height - 1}" x2="{width}" y2="{height - 1}" /></svg>')
    lo = min(v for _i, v in pts)
    hi = max(v for _i, v in pts)
    span = hi - lo or 1.0
    n = max(len(values) - 1, 1)
    pad = 2

    def xy(i: int, v: float) -> str:
        x = pad + (width - 2 * pad) * (i / n if len(values) > 1 else 0.5)
        y = pad + (height - 2 * pad) * (1 - (v - lo) / span) if hi != lo else height / 2
        return f"{x:.1f},{y:.1f}"

    segments: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append(xy(i, float(v)))
    lines = "".join(f'<polyline points="{" ".join(s)}" />' for s in segments if len(s) > 1)
    last_i, last_v = pts[-1]
    dot = xy(last_i, last_v).split(",")
    summary = f"{title}: last {_fmt(last_v)}, min {_fmt(lo)}, max {_fmt(hi)} over {len(values)} runs"
    return Markup(f'<svg class="{css_class}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
                  f'role="img" aria-label="{summary}"><title>{summary}</title>{lines}'
                  f'<circle cx="{dot[0]}" cy="{dot[1]}" r="2" /></svg>')


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}"
