"""OData V2 wire types <-> Python values, and Python values -> JSON-able record values.

V2 JSON: ``Edm.DateTime`` is ``/Date(ms)/`` (UTC), ``Edm.DateTimeOffset`` is ``/Date(ms+0000)/`` (offset in
minutes), ``Edm.Time`` is an ISO duration ``PT10H11M12S``, ``Edm.Decimal``/``Edm.Int64`` are strings.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_DATE_RX = re.compile(r"^/Date\((-?\d+)(?:([+-])(\d{4}))?\)/$")
_TIME_RX = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")

INTEGER_TYPES = {"Edm.Byte", "Edm.SByte", "Edm.Int16", "Edm.Int32"}
FLOAT_TYPES = {"Edm.Double", "Edm.Single"}


class WireError(ValueError):
    pass


def parse_date(value: str) -> dt.datetime:
    m = _DATE_RX.match(value.strip())
    if not m:
        raise WireError(f"not a V2 date literal /Date(ms)/: {value!r}")
    when = EPOCH + dt.timedelta(milliseconds=int(m.group(1)))
    return when  # the offset only says how the value was displayed; the instant is UTC ms


def format_date(value: dt.datetime, offset: bool = False) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    ms = (value - EPOCH) // dt.timedelta(milliseconds=1)
    return f"/Date({ms}+0000)/" if offset else f"/Date({ms})/"


def parse_time(value: str) -> dt.timedelta:
    m = _TIME_RX.match(value.strip())
    if not m:
        raise WireError(f"not an Edm.Time duration PTnnHnnMnnS: {value!r}")
    h, mi, s = m.groups()
    return dt.timedelta(hours=int(h or 0), minutes=int(mi or 0), seconds=float(s or 0))


def format_time(value: dt.timedelta | dt.time) -> str:
    if isinstance(value, dt.time):
        value = dt.timedelta(hours=value.hour, minutes=value.minute, seconds=value.second)
    total = int(value.total_seconds())
    return f"PT{total // 3600:02d}H{total % 3600 // 60:02d}M{total % 60:02d}S"


def to_wire(edm: str, value: Any) -> Any:
    """A stored Python value as V2 JSON."""
    if value is None:
        return None
    if edm == "Edm.DateTime":
        return format_date(value)
    if edm == "Edm.DateTimeOffset":
        return format_date(value, offset=True)
    if edm == "Edm.Time":
        return format_time(value)
    if edm in ("Edm.Decimal", "Edm.Int64"):
        return str(value)
    if edm == "Edm.Guid":
        return str(value)
    if edm in FLOAT_TYPES:
        return float(value)
    if edm == "Edm.Binary":
        return value if isinstance(value, str) else value.decode("ascii")
    return value


def from_wire(edm: str, value: Any) -> Any:
    """A V2 JSON value (as pyodata sends it) as a stored Python value. Raises WireError."""
    if value is None:
        return None
    try:
        if edm in ("Edm.DateTime", "Edm.DateTimeOffset"):
            if isinstance(value, str) and value.startswith("/Date("):
                return parse_date(value)
            if isinstance(value, str):  # lenient: ISO (SAP accepts it in JSON payloads)
                d = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
                return d if d.tzinfo else d.replace(tzinfo=UTC)
            raise WireError(f"expected a /Date(ms)/ string, got {value!r}")
        if edm == "Edm.Time":
            return parse_time(str(value))
        if edm == "Edm.Decimal":
            if isinstance(value, bool):
                raise WireError(f"expected a decimal, got {value!r}")
            return Decimal(str(value))
        if edm in INTEGER_TYPES or edm == "Edm.Int64":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise WireError(f"expected an integer, got {value!r}")
            return int(value)
        if edm in FLOAT_TYPES:
            return float(value)
        if edm == "Edm.Boolean":
            if not isinstance(value, bool):
                raise WireError(f"expected true or false, got {value!r}")
            return value
        if edm == "Edm.Guid":
            return str(uuid.UUID(str(value)))
        if edm == "Edm.String":
            if not isinstance(value, str):
                raise WireError(f"expected a string, got {value!r}")
            return value
    except (InvalidOperation, ValueError, TypeError) as exc:
        if isinstance(exc, WireError):
            raise
        raise WireError(f"invalid {edm} value {value!r}") from None
    return value


def jsonable(value: Any, *, date_only: bool = False) -> Any:
    """A Python value (as pyodata returns it) as a JSON-able record value: ISO-8601 with offset, decimals as strings."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        if date_only:
            return value.date().isoformat()
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return format_time(value)
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        import base64
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return str(value)
