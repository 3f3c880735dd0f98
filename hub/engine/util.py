"""Small shared helpers of the engine: hashing, JSON safety, timestamps, golden ids."""
from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

GOLDEN_NS = uuid.UUID("6f6e636f-7264-4775-9b1d-676f6c64656e")


def _default(o: Any) -> Any:
    if isinstance(o, (dt.datetime, dt.date, dt.time)):
        return o.isoformat()
    if isinstance(o, decimal.Decimal):
        return str(o)
    if isinstance(o, (bytes, bytearray)):
        return o.decode("utf-8", "replace")
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)


def json_safe(value: Any) -> Any:
    """A JSON-serialisable deep copy of a vendor payload."""
    return json.loads(json.dumps(value, default=_default, ensure_ascii=False))


def unicode_safe(value: Any) -> Any:
    """A copy whose text holds no lone surrogates (they cannot be stored as UTF-8): each becomes its
    ``\\udcXX`` escape, so a record carrying one can be quarantined with every other byte intact."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {unicode_safe(k): unicode_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [unicode_safe(v) for v in value]
    return value


def require_utf8(text: str) -> None:
    """A record whose text cannot be stored as UTF-8 (a lone surrogate) is a record error, not a crash."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        from hub.errors import RecordError

        raise RecordError(f"the record holds text that is not valid Unicode (a lone surrogate at character "
                          f"{exc.start}, e.g. from invalid UTF-8 at the source); quarantined with it escaped") from None


def stable_hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=_default, ensure_ascii=False,
                                     separators=(",", ":")).encode("utf-8")).hexdigest()


def golden_id_for(entity: str, system: str, source_id: str) -> str:
    """Deterministic golden id of a record first seen at (system, source_id)."""
    return uuid.uuid5(GOLDEN_NS, f"{entity}\x1f{system}\x1f{source_id}").hex


def idempotency_key(*parts: Any) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:40]


def normalise_timestamp(value: Any) -> str | None:
    """A source change timestamp as a comparable UTC ISO string (None when it is not one)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        d = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        d = dt.datetime.fromtimestamp(value / 1000 if value > 1e11 else value, dt.timezone.utc)
    else:
        s = str(value).strip()
        if s.startswith("/Date("):
            try:
                ms = int(s[6:].split(")")[0].split("+")[0].split("-")[0])
                d = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)
            except ValueError:
                return None
        else:
            try:
                d = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
            except ValueError:
                if s.isdigit():
                    return normalise_timestamp(int(s))
                return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.timezone.utc)
    return d.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def title_of(model_cls: Any, flat: Mapping[str, Any]) -> str | None:
    field = getattr(model_cls, "title_field", "name")
    v = flat.get(field)
    if field == "last_name" and flat.get("first_name"):
        v = f"{flat.get('first_name')} {v}"
    return None if v is None else str(v)[:300]
