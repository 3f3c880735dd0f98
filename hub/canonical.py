"""Canonical value helpers: flat records, JSON-safe values, field types and record hashes.

A canonical model is nested (``Account.billing_address.city``, ``SalesOrder.lines``); the
warehouse, the planner and the mapping engine work on *flat* records:

* nested model fields become dotted keys (``"billing_address.city"``);
* a list of models (``SalesOrder.lines``) stays one key holding a list of flat dicts;
* values are JSON-safe: ``Decimal`` -> normalised fixed-point string (``"5000"``, ``"12.5"``),
  ``date`` -> ``"YYYY-MM-DD"``, ``datetime`` -> ISO-8601 in UTC ending ``+00:00`` (naive = UTC);
  ``bool``/``int``/``str`` as they are;
* ``None`` values and empty lists are omitted.

Everything here is pure and cached per model class, so it is cheap to call per record.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from concord.schemas import ENTITIES, CanonicalEntity, CanonicalModel

#: The canonical field types that ``field_types`` reports.
CanonicalType = Literal["string", "integer", "decimal", "boolean", "date", "datetime", "list", "literal"]

_UTC = dt.timezone.utc


@dataclass(frozen=True)
class FieldMeta:
    """What the engine needs to know about one field of a canonical model."""

    name: str
    type: str                                   # a CanonicalType, or "model" for a nested model
    annotation: Any                             # the field's annotation with Optional removed
    required: bool
    literals: tuple[Any, ...] = ()              # allowed values of a Literal field
    model: type[CanonicalModel] | None = None   # the nested model, or the item model of a list


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _classify(annotation: Any) -> tuple[str, tuple[Any, ...], type[CanonicalModel] | None]:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "literal", typing.get_args(annotation), None
    if origin in (tuple, list):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        if args and isinstance(args[0], type) and issubclass(args[0], CanonicalModel):
            return "list", (), args[0]
        return "list", (), None
    if isinstance(annotation, type):
        if issubclass(annotation, CanonicalModel):
            return "model", (), annotation
        for cls, name in ((bool, "boolean"), (int, "integer"), (Decimal, "decimal"), (float, "decimal"),
                          (dt.datetime, "datetime"), (dt.date, "date"), (str, "string")):
            if issubclass(annotation, cls):
                return name, (), None
    return "string", (), None


@lru_cache(maxsize=None)
def model_fields_meta(model: type[BaseModel]) -> dict[str, FieldMeta]:
    """Field name -> :class:`FieldMeta` for a canonical model class (cached)."""
    out: dict[str, FieldMeta] = {}
    for name, info in model.model_fields.items():
        annotation, _ = _strip_optional(info.annotation)
        kind, literals, sub = _classify(annotation)
        out[name] = FieldMeta(name, kind, annotation, info.is_required(), literals, sub)
    return out


def _model_of(entity: str | type[BaseModel]) -> type[BaseModel]:
    if isinstance(entity, str):
        try:
            return ENTITIES[entity]
        except KeyError:
            raise KeyError(f"unknown canonical entity {entity!r}; known: {', '.join(sorted(ENTITIES))}") from None
    return entity


@lru_cache(maxsize=None)
def _field_types(model: type[BaseModel]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, meta in model_fields_meta(model).items():
        if meta.type == "model" and meta.model is not None:
            for sub, kind in _field_types(meta.model).items():
                out[f"{name}.{sub}"] = kind
        else:
            out[name] = meta.type
    return out


def field_types(entity: str | type[BaseModel]) -> dict[str, str]:
    """Dotted canonical field -> string/integer/decimal/boolean/date/datetime/list/literal.

    Accepts an entity name (``"account"``) or a model class (e.g. ``SalesOrderLine``).
    """
    return dict(_field_types(_model_of(entity)))


# --------------------------------------------------------------------------- JSON-safe values

def decimal_str(value: Decimal) -> str:
    """Fixed-point string without trailing zeros or exponent: 5000.00 -> "5000", 12.50 -> "12.5"."""
    if not value.is_finite():
        raise ValueError(f"not a finite number: {value}")
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def datetime_str(value: dt.datetime) -> str:
    """ISO-8601 in UTC ending ``+00:00``; a naive datetime is taken to be UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=_UTC)
    elif value.utcoffset() != dt.timedelta(0) or value.tzinfo is not _UTC:
        value = value.astimezone(_UTC)
    return value.isoformat()


def jsonable(value: Any) -> Any:
    """The JSON-safe form of a canonical value (recursing into models, dicts and lists)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, Decimal):
        return decimal_str(value)
    if isinstance(value, dt.datetime):
        return datetime_str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return decimal_str(Decimal(repr(value)))
    if isinstance(value, BaseModel):
        return flatten(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    raise TypeError(f"not a canonical value: {type(value).__name__}")


def canonical_json(value: Any) -> str:
    """Compact, deterministic JSON (sorted keys, UTF-8) of a canonical value, model or flat record."""
    return json.dumps(jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(flat: Mapping[str, Any]) -> str:
    """Stable sha256 (hex) of a flat canonical record's canonical JSON."""
    return hashlib.sha256(canonical_json(flat).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- flatten / unflatten

@lru_cache(maxsize=None)
def _plan(model: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    return tuple((name, meta.type) for name, meta in model_fields_meta(model).items())


def _flatten_into(model: BaseModel, prefix: str, out: dict[str, Any]) -> None:
    values = model.__dict__
    for name, kind in _plan(type(model)):
        value = values.get(name)
        if value is None:
            continue
        if kind == "model":
            _flatten_into(value, prefix + name + ".", out)
        elif kind == "list":
            if value:
                out[prefix + name] = [flatten(v) if isinstance(v, BaseModel) else jsonable(v) for v in value]
        else:
            out[prefix + name] = jsonable(value)


def flatten(model: BaseModel) -> dict[str, Any]:
    """A canonical model as a flat dict of JSON-safe values (see the module docstring)."""
    out: dict[str, Any] = {}
    _flatten_into(model, "", out)
    return out


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted keys -> nested dicts (``{"a.b": 1}`` -> ``{"a": {"b": 1}}``); list items are nested too."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None:
            continue
        if isinstance(value, list):
            value = [nest(v) if isinstance(v, Mapping) else v for v in value]
        parts = key.split(".")
        target = out
        for part in parts[:-1]:
            nxt = target.get(part)
            if not isinstance(nxt, dict):
                nxt = target[part] = {}
            target = nxt
        target[parts[-1]] = value
    return out


def unflatten(entity: str | type[CanonicalEntity], flat: Mapping[str, Any]) -> CanonicalEntity:
    """Rebuild the canonical model from a flat record (the inverse of :func:`flatten`).

    Raises ``hub.errors.RecordError`` naming the field when a value does not fit the model.
    """
    model = _model_of(entity)
    try:
        return model.model_validate(nest(flat))  # type: ignore[return-value]
    except ValidationError as exc:
        from concord.hub.errors import RecordError

        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise RecordError(f"{model.__name__}: field {field!r}: {first['msg']}", field=field) from None


__all__ = [
    "FieldMeta", "model_fields_meta", "field_types", "decimal_str", "datetime_str", "jsonable",
    "canonical_json", "record_hash", "flatten", "nest", "unflatten",
]
