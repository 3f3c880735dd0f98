"""Presentation helpers: secrets masked before anything is shown, JSON pretty-printing, durations."""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import humanize
import pycountry

from concord.hub.http.redact import redact

MASK = "***"
SECRET_KEY = re.compile(
    r"(?i)(pass(word|wd)?|secret|token|api[_-]?key|apikey|private[_-]?key|credential|session[_-]?id|authorization|"
    r"auth[_-]?header|cookie|assertion|signature|permanent[_-]?code)")


def mask(value: Any, _depth: int = 0) -> Any:
    """A deep copy of ``value`` with secret-looking keys masked and every string redacted."""
    if _depth > 50:
        return MASK
    if isinstance(value, dict):
        return {str(k): (MASK if SECRET_KEY.search(str(k)) and v not in (None, "") else mask(v, _depth + 1))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask(v, _depth + 1) for v in value]
    if isinstance(value, str):
        return redact(value)
    return value


def pretty(value: Any) -> str:
    """Masked, indented JSON for a <pre> block."""
    if value is None:
        return ""
    return json.dumps(mask(value), indent=2, ensure_ascii=False, sort_keys=True, default=str)


def short(value: Any, n: int = 80) -> str:
    """A one-line, masked rendering of a value."""
    if value is None:
        return "—"
    text = mask(value) if isinstance(value, str) else json.dumps(mask(value), ensure_ascii=False, default=str)
    return text if len(text) <= n else text[: n - 1] + "…"


def when(ts: Any) -> str:
    if ts is None:
        return "—"
    if isinstance(ts, str):
        return ts[:19].replace("T", " ")
    return ts.strftime("%Y-%m-%d %H:%M:%S")


def ago(ts: Any, now: dt.datetime) -> str:
    """How long ago, in words (humanize): "3 minutes ago", "a day ago"."""
    if ts is None:
        return "never"
    if isinstance(ts, str):
        ts = dt.datetime.fromisoformat(ts)
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.timezone.utc)
    return humanize.naturaltime(now - ts)


def since(seconds: float | None) -> str:
    """A span in words (humanize), for lags: "4 minutes", "2 hours"; "—" when unknown."""
    if seconds is None:
        return "—"
    if float(seconds) < 60:
        return duration(seconds)
    return humanize.naturaldelta(dt.timedelta(seconds=float(seconds)))


def number(n: Any) -> str:
    """A count with thousands separators (1,818)."""
    if n is None or n == "":
        return "—"
    try:
        return humanize.intcomma(int(n))
    except (TypeError, ValueError):
        return str(n)


def country(code: Any) -> str:
    """An ISO 3166-1 alpha-2 or alpha-3 code with its English name (pycountry): "DE (Germany)"."""
    if not isinstance(code, str) or len(code) not in (2, 3):
        return short(code)
    found = pycountry.countries.get(**{"alpha_2" if len(code) == 2 else "alpha_3": code.upper()})
    return f"{code} ({found.name})" if found is not None else code


def duration(seconds: float | None) -> str:
    """A measured duration, compact and precise enough to compare phases (0.6 ms, 12 ms, 4.2 s, 10 min)."""
    if seconds is None:
        return "—"
    s = max(0.0, float(seconds))
    if s < 0.01:
        return f"{s * 1000:.1f} ms"
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 90:
        return f"{s:.1f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.0f} d"


def seconds_between(start: Any, end: Any) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def amount(value: Any, places: int = 2) -> str:
    """A money amount or other decimal figure, rounded for reading (``—`` when unknown)."""
    if value is None or value == "":
        return "—"
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{d:.{places}f}"


def percent(ratio: Any) -> str:
    """A ratio as a percentage (0.465 -> 46.5 %)."""
    if ratio is None:
        return "—"
    return f"{float(ratio) * 100:.1f} %"


def day(value: Any) -> str:
    """A date (a ``date``, or ISO text as SQLite returns it), as YYYY-MM-DD."""
    if value is None or value == "":
        return "—"
    return value.isoformat()[:10] if hasattr(value, "isoformat") else str(value)[:10]


def bar_class(ratio: Any) -> str:
    """CSS classes of a fill bar for a ratio (in steps of 5 %; the page's CSP allows no inline style)."""
    if ratio is None:
        return "w0"
    r = max(0.0, float(ratio))
    width = min(100, round(r * 20) * 5)
    return f"w{width}" + (" bad" if r > 1 else " warn" if r > 0.8 else "")
