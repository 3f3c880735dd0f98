"""The transform registry: named, typed, pure value functions.

A transform is registered with a pydantic *params* model and a factory. At compile time the
mapping engine validates the YAML parameters against the params model and calls the factory
once; the factory returns ``(forward, reverse)`` closures that run per value:

* ``forward(value)`` turns a source value into a canonical value;
* ``reverse(value)`` turns a canonical value back into the source's form, or is ``None`` when
  the transform cannot be inverted (a rule using it is then read-only).

Both get a non-None value (unless the transform declares ``handles_none``) and raise
``TransformError`` (a ``ValueError``) with a short reason when the value does not fit; the
engine wraps that into a ``RecordError`` that names the field, the source path and the value.

Third parties add transforms the same way::

    class Pad(Params):
        width: int
    @register_transform("zpad", params=Pad, produces="string", accepts=TEXTUAL)
    def _zpad(p: Pad):
        return (lambda v: str(v).zfill(p.width)), (lambda v: str(v).lstrip("0"))
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

Fn = Callable[[Any], Any]
Factory = Callable[[Any], tuple[Fn, Fn | None]]

#: Source field types (hub.contracts.FieldType) that hold text.
TEXTUAL = frozenset({"string", "text", "picklist", "reference", "id", "email", "phone", "url", "other"})
NUMERIC = frozenset({"integer", "decimal"})
TEMPORAL = frozenset({"date", "datetime", "time"})
ANY_SOURCE = frozenset({"string", "text", "integer", "decimal", "boolean", "date", "datetime", "time", "picklist",
                        "reference", "id", "email", "phone", "url", "object", "array", "binary", "other"})


class TransformError(ValueError):
    """A value does not fit a transform; the message is the reason (no field context)."""


class Params(BaseModel):
    """Base of transform parameter models: frozen, unknown keys are errors.

    ``shorthand`` names the parameter that a scalar stands for: ``{date: sap}`` is
    ``{date: {format: sap}}``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    shorthand: ClassVar[str | None] = None


class NoParams(Params):
    """A transform without parameters."""


@dataclass(frozen=True)
class Transform:
    """A registered transform."""

    name: str
    params: type[Params]
    factory: Factory
    produces: str                 # canonical type of the result: string/integer/decimal/boolean/date/datetime/any
    accepts: frozenset[str]       # source field types it can read (for concord check)
    handles_none: bool = False    # forward is also called with None (e.g. ``default``)
    summary: str = ""

    def bind(self, params: Params) -> BoundTransform:
        forward, reverse = self.factory(params)
        return BoundTransform(self, params, forward, reverse)


@dataclass(frozen=True)
class BoundTransform:
    """A transform with its parameters applied: ready to run."""

    transform: Transform
    params: Params
    forward: Fn
    reverse: Fn | None

    @property
    def name(self) -> str:
        return self.transform.name


TRANSFORMS: dict[str, Transform] = {}


def register_transform(name: str, *, params: type[Params] = NoParams, produces: str = "any",
                       accepts: frozenset[str] = ANY_SOURCE, handles_none: bool = False,
                       replace: bool = False) -> Callable[[Factory], Factory]:
    """Register ``factory(params) -> (forward, reverse | None)`` under ``name`` (a decorator)."""

    def deco(factory: Factory) -> Factory:
        if name in TRANSFORMS and not replace:
            raise ValueError(f"transform {name!r} is already registered")
        summary = (factory.__doc__ or "").strip().split("\n")[0]
        TRANSFORMS[name] = Transform(name, params, factory, produces, frozenset(accepts), handles_none, summary)
        return factory

    return deco


def identity(value: Any) -> Any:
    return value
