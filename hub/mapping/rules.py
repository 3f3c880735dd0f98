"""Compiled rules: one small object per canonical field, holding closures built once.

``Rule.read(raw, data, resolver)`` runs getter -> clean -> value map -> transforms -> lookup
and stores the canonical value in the nested ``data`` dict that the model validates.
``Rule.write(flat, out, resolver, keep_none)`` runs the inverse: typed canonical value ->
lookup -> reverse transforms -> reverse map -> setter into the system-shaped ``out`` dict.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from concord.hub.canonical import decimal_str, jsonable
from concord.hub.errors import HubError, RecordError
from concord.hub.mapping.paths import Getter, Setter
from concord.hub.mapping.registry import BoundTransform

UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET"})()
SKIP: Any = type("Skip", (), {"__repr__": lambda self: "SKIP"})()
_YAML_TRUE, _YAML_FALSE = ("true", "yes", "on"), ("false", "no", "off")
_TYPED = frozenset({"decimal", "integer", "boolean", "date", "datetime"})


@runtime_checkable
class Resolver(Protocol):
    """Cross-reference lookups for ``lookup:`` rules, bound to one system by the engine."""

    def resolve_in(self, entity: str, source_id: str) -> str | None: ...   # system id -> golden id

    def resolve_out(self, entity: str, golden_id: str) -> str | None: ...  # golden id -> system id

    # optional (``write_ref`` rules): the system id of the record of ``entity`` whose ``field`` is ``value``
    # def resolve_key_out(self, entity: str, field: str, value: str) -> str | None: ...


def map_key(value: Any) -> str:
    """How value-map keys and source values are compared (1 == "1", True == "true")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return decimal_str(value)
    if isinstance(value, float):
        return decimal_str(Decimal(repr(value)))
    return str(value).strip()


class ValueMap:
    """A value map with exact, then case-insensitive lookup (YAML booleans also match yes/on/...)."""

    __slots__ = ("exact", "folded", "shown")

    def __init__(self, pairs: Sequence[tuple[Any, Any]]) -> None:
        self.exact: dict[str, Any] = {}
        self.folded: dict[str, Any] = {}
        for key, value in pairs:
            k = map_key(key)
            self.exact.setdefault(k, value)
            self.folded.setdefault(k.casefold(), value)
            if isinstance(key, bool):
                for alias in _YAML_TRUE if key else _YAML_FALSE:
                    self.folded.setdefault(alias, value)
        self.shown = ", ".join(repr(k) for k in list(self.exact)[:12]) + (" ..." if len(self.exact) > 12 else "")

    def get(self, value: Any) -> Any:
        k = map_key(value)
        hit = self.exact.get(k, UNSET)
        if hit is UNSET:
            hit = self.folded.get(k.casefold(), UNSET)
        return hit


def short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class RuleFailure(Exception):
    """Internal: a step of a rule failed; carries the reason and the offending value."""

    def __init__(self, reason: str, value: Any, step: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.value, self.step = reason, value, step


class Rule:
    """A compiled mapping rule for one canonical field (a value, a nested object or a list)."""

    __slots__ = ("field", "flat_key", "canon_path", "kind", "ftype", "source", "segments", "direction",
                 "explicit_direction", "line", "file", "const", "default", "transforms", "vmap", "rmap",
                 "lookup", "children", "adapter", "get", "set", "forward", "backward", "map_keys", "rmap_values",
                 "ref", "out_source", "out_segments", "lookup_by")

    def __init__(self, **kw: Any) -> None:
        for name in self.__slots__:
            setattr(self, name, kw.get(name))
        self.children = tuple(self.children or ())
        self.transforms = tuple(self.transforms or ())
        self.forward = self._build_forward()
        self.backward = self._build_backward()

    # ------------------------------------------------------------------ properties
    @property
    def reads(self) -> bool:
        return self.direction in ("in", "both")

    @property
    def writes(self) -> bool:
        return self.direction in ("out", "both") and self.kind != "const"

    def describe(self) -> str:
        return f"canonical field {self.field!r}" + (f" (source {self.source!r})" if self.source else "")

    # ------------------------------------------------------------------ pipelines
    def _build_forward(self) -> Callable[[Any, Any], Any]:
        if self.kind == "const":
            const = self.const
            return lambda _v, _r: const
        default, vmap, lookup, by = self.default, self.vmap, self.lookup, self.lookup_by
        steps = [(t.name, t.forward, t.transform.handles_none) for t in self.transforms]
        to_text = self.ftype in ("string", "literal")
        if default is UNSET and vmap is None and lookup is None and len(steps) <= 1:
            return _forward_simple(steps[0] if steps else None, to_text)

        def forward(value: Any, resolver: Any) -> Any:
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    value = None
            if value is None and default is not UNSET:
                return default
            if vmap is not None and value is not None:
                hit = vmap.get(value)
                if hit is UNSET:
                    if default is not UNSET:
                        return default
                    raise RuleFailure(f"value is not in the value map (known: {vmap.shown})", value, "map")
                value = hit
            for name, fn, handles_none in steps:
                if value is None and not handles_none:
                    break
                try:
                    value = fn(value)
                except (ValueError, TypeError, ArithmeticError) as exc:
                    raise RuleFailure(str(exc) or type(exc).__name__, value, f"transform {name!r}") from None
            if value is None:
                return None
            if to_text and isinstance(value, (int, Decimal, float)) and not isinstance(value, bool):
                value = str(value)
            if lookup is not None:
                if resolver is None:
                    return None
                if by is not None:       # a business key of the referenced record (its customer number)
                    key_in = getattr(resolver, "resolve_key_in", None)
                    return key_in(lookup, by, str(value)) if key_in is not None else None
                return resolver.resolve_in(lookup, str(value))
            return value

        return forward

    def _build_backward(self) -> Callable[[Any, Any], Any]:
        lookup, rmap, adapter = self.lookup, self.rmap, self.adapter
        typed = self.ftype in _TYPED and adapter is not None
        steps = [(t.name, t.reverse) for t in reversed(self.transforms) if t.reverse is not None]

        ref = self.ref

        def backward(value: Any, resolver: Any) -> Any:
            if value is None:
                return None
            if ref is not None:          # a business key written as the referenced record's id in the target
                key_out = getattr(resolver, "resolve_key_out", None)
                if key_out is None:
                    return SKIP
                found = key_out(ref[0], ref[1], str(value))
                return SKIP if found is None else found
            if typed:
                try:
                    value = adapter.validate_python(value)
                except ValueError as exc:
                    msg = exc.errors()[0]["msg"] if hasattr(exc, "errors") else str(exc)
                    raise RuleFailure(f"not a valid {self.ftype}: {msg}", value, "canonical value") from None
            if lookup is not None:
                if resolver is None:
                    return SKIP
                found = resolver.resolve_out(lookup, str(value))
                return SKIP if found is None else found
            for name, fn in steps:
                if value is None:
                    break
                try:
                    value = fn(value)
                except (ValueError, TypeError, ArithmeticError) as exc:
                    raise RuleFailure(str(exc) or type(exc).__name__, value, f"reverse of transform {name!r}") from None
            if rmap is not None and value is not None:
                hit = rmap.get(value)
                if hit is UNSET:
                    raise RuleFailure(f"value has no source value in the map (known: {rmap.shown})", value, "map")
                value = hit
            if isinstance(value, (Decimal, dt.date, float)):
                value = jsonable(value)
            return value

        return backward

    # ------------------------------------------------------------------ errors
    def fail(self, exc: Exception, value: Any, *, into: bool = True, prefix: str = "") -> RecordError:
        if isinstance(exc, RuleFailure):
            reason, value, step = exc.reason, exc.value, exc.step
        else:
            reason, step = str(exc), None
        where = prefix + self.field
        src = f" from source {self.source!r}" if self.source and into else (f" to source {self.source!r}" if self.source else "")
        how = f" ({step})" if step else ""
        direction = "" if into else "writing "
        return RecordError(f"{direction}canonical field {where!r}{src}: {reason}{how}; got {short(value)}",
                           field=where)

    # ------------------------------------------------------------------ run: source -> canonical
    def reader(self) -> Callable[[Any, dict[str, Any], Any], None]:
        """A specialised ``read`` for the hot path, chosen once at compile time.

        A value rule that only copies text (no transform, map, default or lookup) reads, strips and
        stores in line; other value and const rules into a top-level or nested field run getter and
        forward pipeline without the general dispatch. Results and errors are those of ``read``."""
        if self.kind == "value" and len(self.canon_path) <= 2 and self.get is not None:
            return self._value_reader()
        if self.kind not in ("value", "const") or len(self.canon_path) != 1:
            return self.read
        get, forward, key, fail = self.get, self.forward, self.canon_path[0], self.fail

        def read_value(raw: Any, data: dict[str, Any], resolver: Any) -> None:
            value = None
            try:
                if get is not None:
                    value = get(raw)
                result = forward(value, resolver)
            except (RuleFailure, ValueError, TypeError) as exc:
                raise fail(exc, value) from None
            if result is not None:
                data[key] = result

        return read_value

    def _value_reader(self) -> Callable[[Any, dict[str, Any], Any], None]:
        get, forward, fail, path = self.get, self.forward, self.fail, self.canon_path
        copy_text = self.default is UNSET and self.vmap is None and not self.transforms and self.lookup is None
        top, leaf = (path[0], None) if len(path) == 1 else (path[0], path[1])

        def read_fast(raw: Any, data: dict[str, Any], resolver: Any) -> None:
            value = None
            try:
                value = get(raw)
                if copy_text and value.__class__ is str:   # the common case: text copied as it is, stripped
                    result = value.strip() or None
                else:
                    result = forward(value, resolver)
            except (RuleFailure, ValueError, TypeError) as exc:
                raise fail(exc, value) from None
            if result is not None:
                if leaf is None:
                    data[top] = result
                else:
                    node = data.get(top)
                    if node is None:
                        node = data[top] = {}
                    node[leaf] = result

        return read_fast

    def read(self, raw: Any, data: dict[str, Any], resolver: Any) -> None:
        kind = self.kind
        value = None
        try:
            if self.get is not None:
                value = self.get(raw)
            if kind == "value" or kind == "const":
                result = self.forward(value, resolver)
                if result is not None:
                    _assign(data, self.canon_path, result)
                return
        except RuleFailure as exc:
            raise self.fail(exc, value) from None
        except (ValueError, TypeError) as exc:          # PathError and friends
            raise self.fail(exc, value) from None
        if kind == "object":
            sub = raw if self.get is None else value
            if sub is None:
                return
            if not isinstance(sub, Mapping):
                raise self.fail(RuleFailure("expected an object", sub), sub)
            for child in self.children:
                if child.reads:
                    child.read(sub, data, resolver)
            return
        # a list of models
        if value is None:
            return
        if not isinstance(value, (list, tuple)):
            raise self.fail(RuleFailure("expected a list", value), value)
        items = []
        for index, item in enumerate(value):
            entry: dict[str, Any] = {}
            try:
                for child in self.children:
                    if child.reads:
                        child.read(item, entry, resolver)
            except RecordError as exc:
                raise _prefixed(exc, f"{self.field}[{index}].", f"{self.source}[{index}].") from None
            items.append(entry)
        _assign(data, self.canon_path, items)

    # ------------------------------------------------------------------ run: canonical -> source
    def write(self, flat: Mapping[str, Any], out: dict[str, Any], resolver: Any, keep_none: bool) -> None:
        kind = self.kind
        if kind == "value":
            value = flat.get(self.flat_key)
            if value is None and not keep_none:
                return
            try:
                result = self.backward(value, resolver)
                if result is SKIP:
                    return
                self.set(out, result)
            except (RuleFailure, ValueError, TypeError) as exc:
                raise self.fail(exc, value, into=False) from None
            return
        if kind == "object":
            target = out if self.set is None else {}
            for child in self.children:
                if child.writes:
                    child.write(flat, target, resolver, keep_none)
            if self.set is not None and target:
                self.set(out, target)
            return
        if kind == "list":
            value = flat.get(self.flat_key)
            if value is None:
                if keep_none:
                    self.set(out, [])
                return
            items = []
            for index, item in enumerate(value):
                entry: dict[str, Any] = {}
                try:
                    for child in self.children:
                        if child.writes:
                            child.write(item, entry, resolver, False)
                except RecordError as exc:
                    raise _prefixed(exc, f"{self.field}[{index}].") from None
                items.append(entry)
            self.set(out, items)


def _forward_simple(step: tuple[str, Callable[[Any], Any], bool] | None, to_text: bool
                    ) -> Callable[[Any, Any], Any]:
    """The forward pipeline of a rule with at most one transform and no map, default or lookup
    (the general pipeline with the absent steps left out)."""
    if step is None:
        def copy(value: Any, resolver: Any) -> Any:
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    return None
            if value is None:
                return None
            if to_text and isinstance(value, (int, Decimal, float)) and not isinstance(value, bool):
                value = str(value)
            return value

        return copy
    name, fn, handles_none = step

    def transform(value: Any, resolver: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                value = None
        if value is not None or handles_none:
            try:
                value = fn(value)
            except (ValueError, TypeError, ArithmeticError) as exc:
                raise RuleFailure(str(exc) or type(exc).__name__, value, f"transform {name!r}") from None
        if value is None:
            return None
        if to_text and isinstance(value, (int, Decimal, float)) and not isinstance(value, bool):
            value = str(value)
        return value

    return transform


def _assign(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    if len(path) == 1:
        data[path[0]] = value
        return
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def _prefixed(exc: HubError, prefix: str, source_prefix: str | None = None) -> RecordError:
    field = getattr(exc, "field", None) or ""
    message = exc.message.replace(f"canonical field {field!r}", f"canonical field {prefix + field!r}", 1)
    if source_prefix:
        message = message.replace(" source '", f" source '{source_prefix}", 1)
    return RecordError(message, field=prefix + field)


def run_transforms(transforms: Sequence[BoundTransform], value: Any) -> Any:
    """Run a chain forward (used by tests and tools)."""
    for t in transforms:
        if value is None and not t.transform.handles_none:
            return None
        value = t.forward(value)
    return value


__all__ = ["Rule", "Resolver", "ValueMap", "map_key", "UNSET", "SKIP", "RuleFailure", "Getter", "Setter"]
