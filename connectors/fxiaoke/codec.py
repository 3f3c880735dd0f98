"""Wire values <-> record values, by the describe's field types.

Fxiaoke sends ``date`` and ``date_time`` as epoch milliseconds (a ``date`` is midnight in
the tenant's time zone, ``GMT+8`` for mainland tenants, so reading it in UTC gives the
day before). Records handed to the hub carry them as ISO-8601 instead: ``date`` as
``YYYY-MM-DD``, ``date_time`` as a timestamp with the field's offset. Numbers, currency
and percentages stay the strings the API sends. On the way out the same table turns
ISO strings, ``date``/``datetime`` and ``Decimal``/numbers back into what the API wants
(epoch ms, numeric strings), and a single employee id into the list the API wants.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from concord.hub.errors import RecordError

NUMERIC = frozenset({"number", "currency", "percentile"})
LISTS = frozenset({"employee", "employee_many", "department", "department_many", "object_reference_many"})
_TZ = re.compile(r"^(?:GMT|UTC)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$")


def tz_of(fd: dict[str, Any]) -> dt.timezone:
    m = _TZ.match(str(fd.get("time_zone") or "GMT+8").strip())
    if not m:
        return dt.timezone(dt.timedelta(hours=8))
    sign = -1 if m.group(1) == "-" else 1
    return dt.timezone(sign * dt.timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0)))


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _ms(d: dt.datetime) -> int:
    return (d - EPOCH) // dt.timedelta(milliseconds=1)


class Codec:
    """Converts the date fields of one object (and its embedded details) both ways."""

    def __init__(self, describe: dict[str, Any], details: dict[str, "Codec"] | None = None) -> None:
        self.api = describe.get("api_name", "?")
        self.fields: dict[str, dict[str, Any]] = describe.get("fields") or {}
        self.dates = {n: tz_of(f) for n, f in self.fields.items() if f.get("type") == "date"}
        self.datetimes = {n: tz_of(f) for n, f in self.fields.items() if f.get("type") == "date_time"}
        self.details = details or {}

    # ---- read --------------------------------------------------------------------------------
    def decode(self, row: dict[str, Any]) -> dict[str, Any]:
        out = dict(row)
        for name, tz in self.dates.items():
            v = out.get(name)
            if isinstance(v, int) and not isinstance(v, bool):
                out[name] = (EPOCH + dt.timedelta(milliseconds=v)).astimezone(tz).date().isoformat()
        for name, tz in self.datetimes.items():
            v = out.get(name)
            if isinstance(v, int) and not isinstance(v, bool):
                out[name] = (EPOCH + dt.timedelta(milliseconds=v)).astimezone(tz).isoformat(timespec="milliseconds")
        for api, codec in self.details.items():
            if isinstance(out.get(api), list):
                out[api] = [codec.decode(r) for r in out[api]]
        return out

    # ---- write -------------------------------------------------------------------------------
    def encode(self, fields: dict[str, Any], record_id: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in fields.items():
            if name in self.details and isinstance(value, list):
                out[name] = [self.details[name].encode(dict(r), record_id) if isinstance(r, dict) else r for r in value]
                continue
            fd = self.fields.get(name)
            typ = fd.get("type") if fd else None
            try:
                out[name] = self._encode(typ, fd or {}, value)
            except (ValueError, TypeError, ArithmeticError) as exc:
                raise RecordError(f"fxiaoke {self.api}.{name}: cannot send {value!r} as {typ}: {exc}",
                                  record_id=record_id, field=name) from None
        return out

    @staticmethod
    def _encode(typ: str | None, fd: dict[str, Any], value: Any) -> Any:
        if value is None:
            return None
        if typ in NUMERIC and not isinstance(value, bool) and isinstance(value, (int, float, Decimal)):
            return format(Decimal(str(value)), "f")
        if typ == "date":
            tz = tz_of(fd)
            if isinstance(value, str) and not value.isdigit():
                value = dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
            if isinstance(value, dt.datetime):
                value = value.astimezone(tz).date() if value.tzinfo else value.date()
            if isinstance(value, dt.date):
                return _ms(dt.datetime(value.year, value.month, value.day, tzinfo=tz))
            return int(value)
        if typ == "date_time":
            if isinstance(value, str) and not value.lstrip("-").isdigit():
                value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if isinstance(value, dt.datetime):
                if value.tzinfo is None:
                    value = value.replace(tzinfo=tz_of(fd))
                return _ms(value)
            return int(value)
        if typ == "true_or_false" and isinstance(value, str):
            if value.lower() not in ("true", "false"):
                raise ValueError("not a boolean")
            return value.lower() == "true"
        if typ in LISTS and isinstance(value, str):
            return [value]
        return value
