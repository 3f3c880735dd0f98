"""Small shared helpers of the engine: hashing, JSON safety, timestamps, golden ids."""
from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import gc
import hashlib
import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import orjson as _orjson

from concord.hub.warehouse import jsoncodec
from concord.hub.warehouse.bulk import RawJSON

GOLDEN_NS = uuid.UUID("6f6e636f-7264-4775-9b1d-676f6c64656e")
_GOLDEN_NS_BYTES = GOLDEN_NS.bytes


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
        from concord.hub.errors import RecordError

        raise RecordError(f"the record holds text that is not valid Unicode (a lone surrogate at character "
                          f"{exc.start}, e.g. from invalid UTF-8 at the source); quarantined with it escaped") from None


def stable_hash(value: Any) -> str:
    """SHA-256 of ``value``'s canonical JSON (sorted keys, compact, UTF-8; ``_default`` for what JSON
    lacks). Values of text, integers, booleans and null only are encoded by orjson, whose bytes are
    then those of ``json.dumps`` (see :func:`payload_hash`); anything else by ``json.dumps`` itself."""
    if _plain(value):
        try:
            return hashlib.sha256(_orjson.dumps(value, option=_orjson.OPT_SORT_KEYS)).hexdigest()
        except TypeError:            # an integer beyond 64 bits, a lone surrogate: the reference decides
            pass
    return _reference_hash(value)


def _reference_hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=_default, ensure_ascii=False,
                                     separators=(",", ":")).encode("utf-8")).hexdigest()


_PLAIN_LEAVES = (str, int, bool, type(None))     # exact types: a subclass may encode otherwise


def _plain(value: Any) -> bool:
    """Whether ``value`` is dicts with text keys, lists, and text, integers, booleans and null only."""
    t = type(value)
    if t is dict:
        for k, v in value.items():
            if type(k) is not str:
                return False
            tv = type(v)
            if tv not in _PLAIN_LEAVES and not ((tv is dict or tv is list) and _plain(v)):
                return False
        return True
    if t is list:
        return all(type(v) in _PLAIN_LEAVES or (type(v) in (dict, list) and _plain(v)) for v in value)
    return t in _PLAIN_LEAVES


_json_state = threading.local()


def _seen_float(text: str) -> float:
    _json_state.floats = True
    return float(text)


def _seen_constant(name: str) -> float:
    _json_state.floats = True
    return float({"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}[name])


_DECODER = json.JSONDecoder(parse_float=_seen_float, parse_constant=_seen_constant)


def land_encoding(record: Any) -> tuple[Any, RawJSON, bool]:
    """A vendor record encoded once: ``(json_safe(record), its JSON text, plain)``.

    The text is what the payload's JSON column stores, so the payload is not encoded again when it
    lands. ``plain``: the payload holds no number with a fraction or an exponent (nor NaN/Infinity),
    so ``payload_hash`` may take the fast route.

    orjson encodes and decodes it; ``json.dumps`` (the reference, :func:`json_safe`) does where the two
    would differ: integers beyond 64 bits and lone surrogates (orjson refuses both), NaN and infinities
    (orjson writes null). Datetimes and dataclasses go through the same ``_default`` as before; a plain
    ``Enum`` (no str or int mixin) lands as its value where ``json_safe`` gives its ``str``."""
    try:
        raw = _orjson.dumps(record, default=_default, option=jsoncodec.OPTIONS)
    except TypeError:
        return _land_reference(record)
    if b"null" in raw and jsoncodec.has_non_finite(record):
        return _land_reference(record)
    payload = _orjson.loads(raw)
    return payload, RawJSON(raw.decode()), _plain(payload)


def _land_reference(record: Any) -> tuple[Any, RawJSON, bool]:
    text = json.dumps(record, default=_default)
    _json_state.floats = False
    payload = _DECODER.decode(text)
    return payload, RawJSON(text), not _json_state.floats


def payload_hash(payload: Any, plain: bool) -> str:
    """``stable_hash(payload)`` of a payload from ``land_encoding``: through orjson when it is ``plain``
    (sorted keys, compact, UTF-8: byte for byte Python's output for text, integers of 64 bits,
    booleans and null), else, and for what orjson refuses, through ``stable_hash`` itself."""
    if plain:
        try:
            return hashlib.sha256(_orjson.dumps(payload, option=_orjson.OPT_SORT_KEYS)).hexdigest()
        except TypeError:            # an integer beyond 64 bits, a lone surrogate: the reference decides
            pass
    return _reference_hash(payload)


def golden_id_for(entity: str, system: str, source_id: str) -> str:
    """Deterministic golden id of a record first seen at (system, source_id): the hex of
    ``uuid.uuid5(GOLDEN_NS, "entity\x1fsystem\x1fsource_id")``, computed without building UUID objects."""
    b = bytearray(hashlib.sha1(_GOLDEN_NS_BYTES + f"{entity}\x1f{system}\x1f{source_id}".encode()).digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x50           # version 5
    b[8] = (b[8] & 0x3F) | 0x80           # RFC 4122 variant
    return b.hex()


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


#: The cyclic garbage collector's first-generation threshold while records are processed. A batch
#: allocates hundreds of thousands of small containers that refcounting frees; with the default
#: (700) the collector runs thousands of times a batch and, every tenth round, rescans every
#: surviving object: a quarter of the processing time at 10,000 records. Only the frequency changes.
GC_THRESHOLD = 50_000
_gc_lock = threading.Lock()
_gc_depth = 0
_gc_saved: tuple[int, ...] = ()


@contextlib.contextmanager
def relaxed_gc() -> Iterator[None]:
    """Collect cyclic garbage less often inside the block (restored after; nestable, thread-safe)."""
    global _gc_depth, _gc_saved
    with _gc_lock:
        if _gc_depth == 0:
            _gc_saved = gc.get_threshold()
            if _gc_saved[0] and _gc_saved[0] < GC_THRESHOLD:
                gc.set_threshold(GC_THRESHOLD, *_gc_saved[1:])
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_saved[0] and _gc_saved[0] < GC_THRESHOLD:
                gc.set_threshold(*_gc_saved)
