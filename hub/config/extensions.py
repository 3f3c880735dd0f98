"""An open canonical model: a project's own fields and value maps, declared in concord.yaml.

    extensions:
      account:                              # a shipped canonical entity
        fields:
          customer_class: {type: enum, values: [A, B, C], description: SAP customer classification}
          industry_segment: {type: string, max_length: 40}
          lifetime_value: {type: decimal, ge: 0}
    value_maps:
      sf_rating:                            # used by name in a mapping: {from: Rating, map: sf_rating}
        map: {Hot: A, Warm: B, Cold: C}     # source value -> canonical value
        reverse_map: {C: Cold}              # optional: canonical value -> source value
      sap_industries: value_maps/sap_industries.yaml   # or a file holding map: (and reverse_map:)
    # or a whole folder, one map per file named by the file:  value_maps: value_maps/

For the project, the canonical model of an extended entity is the shipped pydantic model plus these
fields (:func:`extended_models`, pydantic ``create_model`` from the shipped class): still frozen and
strict, every extension field optional (records from before the field existed, and systems that do
not have it, stay valid). Mappings map the new fields like any other, in both directions; sync
rules, survivorship, match rules, derivations and roll-ups may name them; the warehouse's typed
table gets a column per field (``hub.warehouse.evolve``). Everything is validated with file:line.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from concord import schemas
from concord.hub.errors import ConfigError

ExtensionType = Literal["string", "integer", "decimal", "boolean", "date", "datetime", "enum"]
NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")       # a column name too: no "__" (nested columns use it)
RESERVED = frozenset({"golden_id", "position", "schema_version", "model_config", "entity_name"})
MAX_NAME = 60                                             # PostgreSQL identifiers stop at 63 bytes


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ExtensionField(_Frozen):
    """One field an integrator adds to a canonical entity."""

    type: ExtensionType
    description: str | None = None
    max_length: int | None = Field(None, gt=0, description="string: at most this many characters.")
    min_length: int | None = Field(None, ge=0, description="string: at least this many characters.")
    pattern: str | None = Field(None, description="string: a regular expression found in the value (anchor it: ^...$).")
    values: tuple[str, ...] = Field((), description="enum: the allowed values.")
    ge: Decimal | None = Field(None, description="integer/decimal: the smallest allowed value.")
    le: Decimal | None = Field(None, description="integer/decimal: the largest allowed value.")

    @model_validator(mode="after")
    def _options_fit_the_type(self) -> "ExtensionField":
        own = {"string": ("max_length", "min_length", "pattern"), "enum": ("values",),
               "integer": ("ge", "le"), "decimal": ("ge", "le")}.get(self.type, ())
        for opt in ("max_length", "min_length", "pattern", "values", "ge", "le"):
            if getattr(self, opt) not in (None, ()) and opt not in own:
                raise ValueError(f"`{opt}` does not apply to a {self.type} field"
                                 + (f" (it takes: {', '.join(own)})" if own else ""))
        if self.type == "enum":
            if not self.values:
                raise ValueError("an enum field needs `values` (the allowed values)")
            if len(set(self.values)) != len(self.values):
                raise ValueError("enum `values` are listed twice")
            if any(len(v) > 64 for v in self.values):
                raise ValueError("an enum value is at most 64 characters (the warehouse column is VARCHAR(64))")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"`pattern` is not a regular expression: {exc}") from None
        if self.min_length is not None and self.max_length is not None and self.min_length > self.max_length:
            raise ValueError("min_length is above max_length")
        if self.ge is not None and self.le is not None and self.ge > self.le:
            raise ValueError("ge is above le")
        return self

    def annotation(self) -> Any:
        base: Any = {"string": str, "integer": int, "decimal": Decimal, "boolean": bool, "date": dt.date,
                     "datetime": dt.datetime}.get(self.type)
        if self.type == "enum":
            base = Literal[self.values]  # type: ignore[valid-type]
        return Optional[base]  # noqa: UP007 - a runtime annotation for create_model

    def field_info(self) -> Any:
        kw: dict[str, Any] = {k: getattr(self, k) for k in ("max_length", "min_length", "pattern")
                              if getattr(self, k) is not None}
        if self.type == "integer":
            kw.update({k: int(v) for k, v in (("ge", self.ge), ("le", self.le)) if v is not None})
        elif self.type == "decimal":
            kw.update({k: v for k, v in (("ge", self.ge), ("le", self.le)) if v is not None})
        return Field(None, description=self.description or "A project extension field.", **kw)


class EntityExtension(_Frozen):
    fields: dict[str, ExtensionField] = Field(..., min_length=1)


class ValueMapDecl(_Frozen):
    """A named value map: ``map`` (source value -> canonical value) and an optional ``reverse_map``."""

    description: str | None = None
    map: dict[Any, Any] = Field(..., min_length=1)
    reverse_map: dict[Any, Any] = Field(default_factory=dict)

    @field_validator("map", "reverse_map")
    @classmethod
    def _scalars(cls, v: dict[Any, Any]) -> dict[Any, Any]:
        for k, x in v.items():
            for item in (k, x):
                if isinstance(item, (dict, list)):
                    raise ValueError(f"value-map keys and values are single values, got {item!r}")
        return v


@dataclass(frozen=True)
class NamedValueMap:
    """A project value map, ready for the mapping compiler (``map: <name>`` in a rule)."""

    name: str
    map: Mapping[Any, Any]
    reverse_map: Mapping[Any, Any]
    file: str
    line: int | None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class Vocabulary:
    """What a project adds to Concord's canonical model: extended models and named value maps."""

    models: Mapping[str, type[schemas.CanonicalEntity]] = field(default_factory=lambda: dict(schemas.ENTITIES))
    value_maps: Mapping[str, NamedValueMap] = field(default_factory=dict)
    extension_fields: Mapping[str, Mapping[str, ExtensionField]] = field(default_factory=dict)
    declared_at: Mapping[tuple[str, str], int] = field(default_factory=dict)   # (entity, field) -> line

    @property
    def extended(self) -> bool:
        return bool(self.extension_fields)


def declaration_errors(extensions: Mapping[str, EntityExtension], doc: Any) -> list[ConfigError]:
    """What pydantic cannot see: unknown entities, bad names, a name the shipped model already has."""
    errors = []
    for entity, ext in extensions.items():
        if entity not in schemas.ENTITIES:
            errors.append(doc.error(f"unknown canonical entity {entity!r}; extensions add fields to one of: "
                                    f"{', '.join(sorted(schemas.ENTITIES))}", ("extensions", entity)))
            continue
        for name in ext.fields:
            where = ("extensions", entity, "fields", name)
            base: Any = schemas.ENTITIES[entity]
            if isinstance(name, str) and "." in name:        # a field of the entity's items: lines.plant_note
                coll, _, name = name.partition(".")
                item = _item_model(base, coll)
                if item is None:
                    known = ", ".join(_collections(base)) or "none"
                    errors.append(doc.error(f"{entity} has no list of items {coll!r} (its lists: {known}); "
                                            f"`<list>.<field>` adds a field to each item", where))
                    continue
                base = item
            if not isinstance(name, str) or not NAME.match(name) or len(name) > MAX_NAME:
                errors.append(doc.error(f"extension field name {name!r}: lower-case letters, digits and single "
                                        f"underscores, starting with a letter, at most {MAX_NAME} characters", where))
            elif name in base.model_fields:
                errors.append(doc.error(f"{base.__name__} already has a field {name!r} in Concord's model; an extension adds "
                                        f"a new field (map the shipped one, or choose another name)", where))
            elif name in RESERVED or name.startswith("model_") or hasattr(base, name):   # pydantic's own names
                errors.append(doc.error(f"{name!r} is reserved (the warehouse or the model uses it); choose another "
                                        f"name", where))
    return errors


def extended_models(extensions: Mapping[str, EntityExtension]) -> dict[str, type[schemas.CanonicalEntity]]:
    """Entity -> model: the shipped model, or the shipped model plus the project's fields (cached)."""
    key = json.dumps({e: {n: f.model_dump(mode="json") for n, f in x.fields.items()}
                      for e, x in extensions.items()}, sort_keys=True)
    return dict(_build(key))


@lru_cache(maxsize=64)
def _build(key: str) -> tuple[tuple[str, type[schemas.CanonicalEntity]], ...]:
    spec = json.loads(key)
    out = dict(schemas.ENTITIES)
    for entity, fields in spec.items():
        base = schemas.ENTITIES[entity]
        own: dict[str, Any] = {}
        per_item: dict[str, dict[str, Any]] = {}
        for name, d in fields.items():
            f = ExtensionField.model_validate(d)
            coll, dot, sub = name.partition(".")
            if dot:
                per_item.setdefault(coll, {})[sub] = (f.annotation(), f.field_info())
            else:
                own[name] = (f.annotation(), f.field_info())
        for coll, defs in per_item.items():       # the list's items get the fields; the list takes the new items
            item = _extend(_item_model(base, coll), defs)
            info = base.model_fields[coll]
            own[coll] = (tuple[item, ...], Field(info.default, description=info.description))  # type: ignore[valid-type]
        out[entity] = _extend(base, own)
    return tuple(out.items())


def _extend(base: Any, defs: dict[str, Any]) -> Any:
    model = create_model(base.__name__, __base__=base, __module__=base.__module__, **defs)
    model.__doc__ = base.__doc__
    return model


def _collections(model: Any) -> list[str]:
    return [n for n in model.model_fields if _item_model(model, n) is not None]


def _item_model(model: Any, name: str) -> Any:
    """The item model of a list-of-models field (``SalesOrder.lines`` -> SalesOrderLine), else None."""
    info = model.model_fields.get(name)
    if info is None:
        return None
    ann = info.annotation
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        ann = args[0] if len(args) == 1 else ann
    if typing.get_origin(ann) in (tuple, list):
        item = typing.get_args(ann)[0]
        if isinstance(item, type) and issubclass(item, schemas.CanonicalModel):
            return item
    return None


def load_value_maps(raw: Mapping[str, Any] | str, doc: Any, resolve: Any) -> tuple[dict[str, NamedValueMap], list[ConfigError]]:
    """``value_maps:`` of concord.yaml: each an inline {map:, reverse_map:} or the path of a YAML file holding one;
    or the path of a folder whose every ``*.yaml`` is one map named by its file."""
    from pydantic import ValidationError

    from concord.hub.config.yamlsource import load_yaml, validation_errors

    out: dict[str, NamedValueMap] = {}
    errors: list[ConfigError] = []
    folder = None
    if isinstance(raw, str):                      # a folder: every *.yaml in it is one map, named by its file
        folder = resolve(raw)
        if not os.path.isdir(folder):
            return out, [doc.error(f"value_maps: {raw!r} is not a folder of the project", ("value_maps",))]
        raw = {os.path.splitext(f)[0]: os.path.join(folder, f) for f in sorted(os.listdir(folder))
               if f.endswith((".yaml", ".yml"))}
    if not isinstance(raw, Mapping):
        return out, [doc.error("value_maps is a folder, or a mapping of name -> {map: ...} or name -> file path",
                               ("value_maps",))]
    for name, decl in raw.items():
        where = ("value_maps",) if folder else ("value_maps", name)
        if not isinstance(name, str) or not re.match(r"^[A-Za-z][A-Za-z0-9_\-]*$", name):
            errors.append(doc.error(f"value map name {name!r}: letters, digits, '_' or '-'", where))
            continue
        src, path = doc, where
        if isinstance(decl, str):
            try:
                src = load_yaml(resolve(decl))
            except ConfigError as exc:
                errors.append(doc.error(f"value map {name!r}: {exc.message}", where))
                continue
            decl, path = src.data, ()
        try:
            vm = ValueMapDecl.model_validate(decl)
        except ValidationError as exc:
            errors.extend(validation_errors(exc, src, path))
            continue
        out[name] = NamedValueMap(name, dict(vm.map), dict(vm.reverse_map), src.file, src.line(path + ("map",)))
    return out, errors


__all__ = ["ExtensionField", "EntityExtension", "ValueMapDecl", "NamedValueMap", "Vocabulary", "declaration_errors",
           "extended_models", "load_value_maps"]
