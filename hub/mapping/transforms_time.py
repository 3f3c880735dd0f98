"""Date and datetime transforms for each vendor's wire format.

``format`` is one of

=============  ==========================================================  =================================
format         reads                                                       writes back
=============  ==========================================================  =================================
iso            ``2024-01-01``, ``2024-01-01T10:00:00Z``, ``...+05:30``       ``2024-01-01`` / ``...T10:00:00Z``
sap            ``/Date(1704067200000)/``, ``/Date(1704067200000+0060)/``     ``/Date(1704067200000)/``
sap_offset     same as sap                                                 ``/Date(1704067200000+0000)/``
epoch_ms       ``1704067200000`` (int or digits; Fxiaoke)                   int milliseconds
epoch_s        ``1704067200``                                              int seconds
oracle         ``2024-01-01`` / ``2024-01-01T10:00:00+00:00``               same shapes
salesforce     ``2024-01-01T10:00:00.000+0000``                            ``2024-01-01T10:00:00.000+0000``
zoho           ``2024-01-01T10:00:00+05:30``                               ``2024-01-01T10:00:00+00:00`` (or ``tz``)
%d.%m.%Y ...   a strftime pattern                                          the same pattern
=============  ==========================================================  =================================

Canonical datetimes are aware; a naive source value is read in ``tz`` (an IANA zone, default UTC).
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator

from concord.hub.mapping.registry import NUMERIC, TEMPORAL, TEXTUAL, Params, TransformError, register_transform

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
NAMED = ("iso", "sap", "sap_offset", "epoch_ms", "epoch_s", "oracle", "salesforce", "zoho")
_SAP = re.compile(r"^/Date\((-?\d+)(?:([+-])(\d{1,4}))?\)/$")


class TimeParams(Params):
    shorthand: ClassVar[str | None] = "format"
    format: str = "iso"
    tz: str | None = None

    @field_validator("format")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in NAMED and "%" not in v:
            raise ValueError(f"format must be one of {', '.join(NAMED)} or a strftime pattern such as '%d.%m.%Y'")
        if "%" in v:
            try:
                dt.datetime(2024, 1, 2, 3, 4, 5).strftime(v)
            except ValueError as exc:
                raise ValueError(f"bad strftime pattern: {exc}") from None
        return v

    @field_validator("tz")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                ZoneInfo(v)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Europe/Berlin)") from None
        return v


def _zone(p: TimeParams) -> dt.tzinfo:
    return ZoneInfo(p.tz) if p.tz else UTC


def _from_epoch(value: Any, scale: int) -> dt.datetime:
    if isinstance(value, bool):
        raise TransformError("a boolean is not a timestamp")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"-?\d+(\.\d+)?", text):
            raise TransformError("not an epoch timestamp")
        value = Decimal(text)
    if not isinstance(value, (int, float, Decimal)):
        raise TransformError(f"expected an epoch timestamp, got {type(value).__name__}")
    return EPOCH + dt.timedelta(microseconds=int(Decimal(value) * scale))


def _to_epoch(value: dt.datetime, scale: int) -> int:
    delta = value - EPOCH
    return (delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds) // scale


def parse_sap(text: str) -> dt.datetime:
    m = _SAP.match(text.strip())
    if not m:
        raise TransformError("not an SAP /Date(ms)/ value")
    ms, sign, offset = m.groups()
    moment = EPOCH + dt.timedelta(milliseconds=int(ms))
    if offset:
        minutes = int(offset) * (-1 if sign == "-" else 1)
        return moment.astimezone(dt.timezone(dt.timedelta(minutes=minutes)))
    return moment


def _parse_iso(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text.strip().replace(" ", "T", 1) if len(text.strip()) > 10 else text.strip())
    except ValueError:
        raise TransformError("not an ISO-8601 date/time") from None


def _to_datetime(value: Any, p: TimeParams, zone: dt.tzinfo) -> dt.datetime:
    """Any accepted source shape -> an aware datetime."""
    fmt = p.format
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, dt.date):
        result = dt.datetime(value.year, value.month, value.day)
    elif fmt in ("epoch_ms", "epoch_s"):
        result = _from_epoch(value, 1000 if fmt == "epoch_ms" else 1_000_000)
    elif not isinstance(value, str):
        raise TransformError(f"expected text, got {type(value).__name__}")
    elif fmt in ("sap", "sap_offset") or value.startswith("/Date("):
        result = parse_sap(value)
    elif "%" in fmt:
        try:
            result = dt.datetime.strptime(value.strip(), fmt)
        except ValueError:
            raise TransformError(f"does not match the pattern {fmt!r}") from None
    else:
        result = _parse_iso(value)
    if result.tzinfo is None:
        result = result.replace(tzinfo=zone)
    return result


def _out_zone(value: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone)


def _write_datetime(value: dt.datetime, p: TimeParams, zone: dt.tzinfo) -> Any:
    fmt = p.format
    if fmt == "epoch_ms":
        return _to_epoch(_out_zone(value, UTC), 1000)
    if fmt == "epoch_s":
        return _to_epoch(_out_zone(value, UTC), 1_000_000)
    if fmt in ("sap", "sap_offset"):
        ms = _to_epoch(_out_zone(value, UTC), 1000)
        return f"/Date({ms}+0000)/" if fmt == "sap_offset" else f"/Date({ms})/"
    local = _out_zone(value, zone)
    if "%" in fmt:
        return local.strftime(fmt)
    if fmt == "salesforce":
        utc = _out_zone(value, UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"
    if fmt in ("zoho", "oracle"):
        return local.replace(microsecond=0).isoformat()
    text = local.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        return _parse_iso(value)
    raise TransformError(f"expected a datetime, got {type(value).__name__}")


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise TransformError("not an ISO date") from None
    raise TransformError(f"expected a date, got {type(value).__name__}")


@register_transform("datetime", params=TimeParams, produces="datetime", accepts=TEXTUAL | TEMPORAL | NUMERIC)
def _datetime(p: TimeParams):
    """A vendor date/time (``format``) -> an aware datetime (reverse: the same format)."""
    zone = _zone(p)
    return (lambda v: _to_datetime(v, p, zone)), (lambda v: _write_datetime(_as_datetime(v), p, zone))


@register_transform("date", params=TimeParams, produces="date", accepts=TEXTUAL | TEMPORAL | NUMERIC)
def _date(p: TimeParams):
    """A vendor date (``format``) -> a date (reverse: the same format, midnight UTC for timestamps)."""
    zone = _zone(p)
    fmt = p.format

    def forward(v: Any) -> dt.date:
        if isinstance(v, str) and fmt in ("iso", "oracle", "zoho", "salesforce") and len(v.strip()) == 10:
            try:
                return dt.date.fromisoformat(v.strip())
            except ValueError:
                raise TransformError("not an ISO date") from None
        moment = _to_datetime(v, p, zone)
        if fmt in ("sap", "sap_offset", "epoch_ms", "epoch_s"):
            return moment.astimezone(zone).date() if p.tz else moment.astimezone(UTC).date()
        return moment.date()

    def reverse(v: Any) -> Any:
        day = _as_date(v)
        if fmt in ("iso", "oracle", "zoho", "salesforce"):
            return day.isoformat()
        if "%" in fmt:
            return day.strftime(fmt)
        return _write_datetime(dt.datetime(day.year, day.month, day.day, tzinfo=zone), p, zone)

    return forward, reverse
