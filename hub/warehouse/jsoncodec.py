"""How the warehouse's JSON columns are encoded and decoded: orjson, with the standard library's rules.

SQLAlchemy encodes a JSON column's value with ``json.dumps`` unless the engine is given a serializer.
A load writes three or four JSON values a record (the staged payload and its canonical form, the
golden data and its lineage, the match decision's evidence), so the encoder is a measurable part of
it: orjson encodes several times faster and decodes about twice as fast as the standard library, and
took about 5% off the CPU of a 100,000-record load (measured side by side, bench/bench_vs.py's drop).

The values stored are the same JSON values as before: only the text differs (compact separators,
UTF-8 instead of ``\\uXXXX`` escapes), and every reader decodes the text. Where orjson's rules differ
from ``json.dumps`` the standard library decides, so nothing is stored that was refused before and
nothing is refused that was stored before: datetimes and dataclasses, which orjson would encode
but ``json.dumps`` refuses, are handed to ``json.dumps``, which raises as it always did; integers
beyond 64 bits, which orjson refuses, go the same way and are stored (and are read back whole: see
``loads``). (UUIDs and plain enums, which
``json.dumps`` refuses, orjson stores as their text and value; the engine stores neither.)
Non-string keys become strings as ``json.dumps`` makes them; NaN and infinities, which are not JSON
(PostgreSQL refuses them), are written by ``json.dumps`` as ``NaN`` as before.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import orjson

OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _refuse(_value: Any) -> Any:
    raise TypeError


def dumps(value: Any) -> str:
    """``value`` as JSON text, the same JSON value ``json.dumps(value)`` gives (or its same error)."""
    try:
        text = orjson.dumps(value, default=_refuse, option=OPTIONS)
    except TypeError:
        return json.dumps(value)
    if b"null" in text and has_non_finite(value):     # orjson writes NaN/Infinity as null
        return json.dumps(value)
    return text.decode()


_DIGITS = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))    # ASCII digits -> "0", the rest -> " "
_LONG_RUN = b"0" * 19        # an integer beyond 64 bits has at least 19 digits (a regex search: 8x slower)
_BIG = 2.0 ** 63


def loads(text: str | bytes) -> Any:
    """A stored JSON column's value (text any JSON encoder wrote, ``NaN`` included).

    orjson reads an integer beyond 64 bits as a float (silently rounded); the standard library reads it
    whole, so text that may hold one (a run of 19 digits) and did give such a float is read by it."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    if _LONG_RUN in raw.translate(_DIGITS) and _has_big_float(value):
        return json.loads(text)
    return value


def _has_big_float(value: Any) -> bool:
    return _any_float(value, lambda f: abs(f) >= _BIG)


def has_non_finite(value: Any) -> bool:
    """Whether ``value`` holds a NaN or an infinity (which orjson writes as null)."""
    return _any_float(value, lambda f: not math.isfinite(f))


def _any_float(value: Any, test: Callable[[float], bool]) -> bool:
    """Whether a float in ``value`` (nested in mappings, lists and tuples) passes ``test``."""
    if isinstance(value, float):
        return test(value)
    if isinstance(value, Mapping):
        return any(_any_float(v, test) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_any_float(v, test) for v in value)
    return False
