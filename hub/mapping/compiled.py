"""The compiled mapping: runs raw records to canonical models and canonical changes back."""
from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, NamedTuple

from pydantic import BaseModel, ValidationError

from concord.hub.canonical import _plan, flatten, jsonable
from concord.hub.errors import ConfigError, RecordError
from concord.hub.mapping.rules import UNSET, Resolver, Rule, short
from concord.schemas import CanonicalEntity


class SourceRef(NamedTuple):
    """One source path a mapping reads or writes (for ``concord check`` and documentation)."""

    path: str          # e.g. "BillingCity", "to_Item.results[*].Material"
    field: str         # canonical field, e.g. "billing_address.city", "lines.sku"
    direction: str     # in / out / both
    line: int | None   # line of the rule in the mapping file


class CompiledMapping:
    """One canonical entity <-> one source entity, compiled once (see ``hub.mapping.load_mapping``)."""

    def __init__(self, *, file: str, entity: str, source: str, model: type[CanonicalEntity],
                 rules: tuple[Rule, ...], system: str | None = None) -> None:
        self.file, self.entity, self.source, self.model, self.system = file, entity, source, model, system
        self.rules = rules
        self._in = tuple(r for r in rules if r.reads)
        self._readers = tuple(r.reader() for r in self._in)
        self._out = tuple(r for r in rules if r.writes or (r.kind == "object" and any(_writes(c) for c in r.children)))
        self._by_field = {r.field: r for r in _all(rules)}
        for r in _all(rules):
            if r.kind == "list":
                self._by_field.update({f"{r.field}.{c.field}": c for c in r.children})
        self._validate = model.model_validate

    def __repr__(self) -> str:
        return f"<CompiledMapping {self.system or '?'}:{self.source} -> {self.entity} ({self.file})>"

    @property
    def lookup_entities(self) -> frozenset[str]:
        """Canonical entities this mapping's reads look up (a contact's account): their golden records must
        exist for a reference to resolve."""
        return frozenset(r.lookup for r in _all(self._in) if r.lookup)

    # ------------------------------------------------------------------ source -> canonical
    def to_canonical(self, raw: Mapping[str, Any], resolver: Resolver | None = None) -> CanonicalEntity:
        """Map one raw record to the canonical model; RecordError names field, source path and value."""
        data: dict[str, Any] = {}
        for read in self._readers:
            read(raw, data, resolver)
        try:
            return self._validate(data)
        except ValidationError as exc:
            raise self._record_error(exc) from None

    def to_canonical_flat(self, raw: Mapping[str, Any], resolver: Resolver | None = None) -> dict[str, Any]:
        """``hub.canonical.flatten(self.to_canonical(raw, resolver))``."""
        out: dict[str, Any] = {}
        _flatten_into(self.to_canonical(raw, resolver), "", out)
        return out

    def _record_error(self, exc: ValidationError) -> RecordError:
        problems = []
        first_field = None
        for err in exc.errors():
            loc = err["loc"]
            shown = "".join(f"[{p}]" if isinstance(p, int) else ("." if i else "") + str(p) for i, p in enumerate(loc))
            key = ".".join(str(p) for p in loc if not isinstance(p, int))
            rule = self._by_field.get(key)
            source = f" from source {rule.source!r}" if rule is not None and rule.source else ""
            if err["type"] == "missing":
                text = f"required canonical field {shown!r}{source} is empty"
            else:
                text = f"canonical field {shown!r}{source}: {err['msg']}; got {short(err.get('input'))}"
            problems.append(text)
            first_field = first_field or shown
        message = f"{self.entity} from {self.source}: " + "; ".join(problems[:5])
        if len(problems) > 5:
            message += f" (and {len(problems) - 5} more)"
        return RecordError(message, field=first_field)

    # ------------------------------------------------------------------ canonical -> source
    def to_source(self, flat: Mapping[str, Any], *, fields: Collection[str] | None = None,
                  resolver: Resolver | None = None) -> dict[str, Any]:
        """A flat canonical record -> a nested dict in the system's field names (out/both rules only).

        With ``fields`` only those canonical fields are written (a top-level name such as
        ``billing_address`` selects all its parts) and a missing/None value is written as None
        (it clears the field); without ``fields`` every out field with a value is written.
        """
        out: dict[str, Any] = {}
        if fields is None:
            for rule in self._out:
                rule.write(flat, out, resolver, False)
            return out
        wanted = set(fields)
        for rule in self._out:
            if rule.kind == "object":
                _write_selected(rule, flat, out, resolver, wanted)
            elif rule.field in wanted or rule.field.split(".", 1)[0] in wanted:
                rule.write(flat, out, resolver, True)
        return out

    def writes_alike(self, field: str, a: Any, b: Any) -> bool:
        """Whether canonical values ``a`` and ``b`` of ``field`` are written as the same source value: a many-to-one
        value map (Zoho's one "Created" for draft and open orders), so a target whose record reads back as ``b``
        already holds ``a`` and needs no write."""
        rule = self._by_field.get(field)
        if rule is None or rule.rmap is None or rule.transforms or a is None or b is None:
            return False
        hit = rule.rmap.get(a)
        return hit is not UNSET and hit == rule.rmap.get(b)

    # ------------------------------------------------------------------ introspection
    def out_fields(self) -> set[str]:
        """Canonical fields this mapping can write back (dotted; a list is its own name)."""
        return {r.field for r in _all(self.rules) if r.kind in ("value", "list") and r.writes}

    def in_fields(self) -> set[str]:
        """Canonical fields this mapping fills."""
        return {r.field for r in _all(self.rules) if r.kind in ("value", "const", "list") and r.reads
               }

    def source_paths(self) -> list[SourceRef]:
        """Every source path with its canonical field, direction and line."""
        out: list[SourceRef] = []
        for rule in self.rules:
            _refs(rule, "", "", out)
        return out

    def check_against(self, spec: Any) -> list[ConfigError]:
        """Check the source paths against a system's ``EntitySpec`` (existence, type, writability, picklists)."""
        from concord.hub.mapping.check import check_against

        return check_against(self, spec)


def _flatten_into(model: Any, prefix: str, out: dict[str, Any]) -> None:
    """``hub.canonical.flatten`` with text values stored without the ``jsonable`` call (same result)."""
    values = model.__dict__
    for name, kind in _plan(type(model)):
        value = values.get(name)
        if value is None:
            continue
        if value.__class__ is str:
            out[prefix + name] = value
        elif kind == "model":
            _flatten_into(value, prefix + name + ".", out)
        elif kind == "list":
            if value:
                out[prefix + name] = [flatten(v) if isinstance(v, BaseModel) else jsonable(v) for v in value]
        else:
            out[prefix + name] = jsonable(value)


def _writes(rule: Rule) -> bool:
    if rule.kind == "object":
        return any(_writes(c) for c in rule.children)
    return rule.writes


def _write_selected(rule: Rule, flat: Mapping[str, Any], out: dict[str, Any], resolver: Any, wanted: set[str]) -> None:
    target = out if rule.set is None else {}
    whole = rule.field in wanted or rule.field.split(".", 1)[0] in wanted
    for child in rule.children:
        if child.kind == "object":
            _write_selected(child, flat, target, resolver, wanted if not whole else wanted | {child.field})
        elif child.writes and (whole or child.field in wanted):
            child.write(flat, target, resolver, True)
    if rule.set is not None and target:
        rule.set(out, target)


def _all(rules: tuple[Rule, ...]):
    for rule in rules:
        yield rule
        if rule.kind == "object":
            yield from _all(rule.children)


def _refs(rule: Rule, path_prefix: str, field_prefix: str, out: list[SourceRef]) -> None:
    path = rule.source or ""
    full = (path_prefix + ("." if path_prefix and path and not path.startswith("[") else "") + path) if path else path_prefix
    if rule.kind == "value":
        out.append(SourceRef(full, field_prefix + rule.field, rule.direction, rule.line))
    elif rule.kind == "object":
        for child in rule.children:
            _refs(child, full, field_prefix, out)
    elif rule.kind == "list":
        for child in rule.children:
            _refs(child, full + "[*]", field_prefix + rule.field + ".", out)
