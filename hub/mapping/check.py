"""``concord check`` for mappings: source paths against the system's own metadata.

For every rule with a source path: the first segment must be a field of the ``EntitySpec``
(and nested segments children of it, where the metadata lists children); the source type
must suit the rule (a ``decimal`` transform cannot read a boolean; a date canonical field
needs a date, datetime or text source, or a date transform); rules that write back need a
createable or updateable field; value-map keys must be picklist values.
"""
from __future__ import annotations

from typing import Any

from concord.hub.contracts import EntitySpec, FieldSpec
from concord.hub.errors import ConfigError
from concord.hub.mapping.registry import NUMERIC, TEMPORAL, TEXTUAL
from concord.hub.mapping.rules import Rule, map_key

#: Envelope segments that some APIs put between a navigation and its items.
_ENVELOPES = ("results", "records", "data", "items")
#: Source types a canonical type can take without a transform.
_DIRECT: dict[str, frozenset[str]] = {
    "string": TEXTUAL | NUMERIC,
    "literal": TEXTUAL | NUMERIC | frozenset({"boolean"}),
    "decimal": TEXTUAL | NUMERIC,
    "integer": TEXTUAL | NUMERIC,
    "boolean": TEXTUAL | frozenset({"boolean", "integer"}),
    "date": TEXTUAL | frozenset({"date", "datetime"}),
    "datetime": TEXTUAL | frozenset({"datetime", "date"}),
}


def check_against(mapping: Any, spec: EntitySpec) -> list[ConfigError]:
    """All problems of ``mapping`` against ``spec`` (empty when it fits or the spec has no fields)."""
    if spec.fields is None:
        return []
    errors: list[ConfigError] = []
    if spec.name != mapping.source:
        errors.append(ConfigError(f"mapping is for source entity {mapping.source!r}, checked against {spec.name!r}",
                                  file=mapping.file, line=1, key="source"))
    for rule in mapping.rules:
        _check(rule, spec.fields, mapping.file, spec.name, errors)
    return errors


def _err(rule: Rule, file: str, message: str) -> ConfigError:
    return ConfigError(message, file=file, line=rule.line, key=rule.field)


def _find(fields: tuple[FieldSpec, ...], segments: tuple, entity: str) -> tuple[FieldSpec | None, str | None]:
    """Walk a path through field specs: (the field it ends on, or None with a reason)."""
    current: FieldSpec | None = None
    scope = fields
    where = entity
    for seg in segments:
        if isinstance(seg, int):
            continue
        if current is not None:
            if current.children is None:
                return None, None              # metadata stops here: nothing more to check
            names = {f.name: f for f in current.children}
            if seg not in names and seg in _ENVELOPES and current.type in ("array", "object"):
                continue
            scope = current.children
        found = next((f for f in scope if f.name == seg), None)
        if found is None:
            known = sorted(f.name for f in scope)
            import difflib

            close = difflib.get_close_matches(seg, known, n=3, cutoff=0.6)
            hint = ("did you mean " + " or ".join(map(repr, close)) + "?") if close else f"{len(known)} fields known"
            return None, f"{where} has no field {seg!r}; {hint}"
        current, where = found, f"{where}.{seg}"
    return current, None


def _check(rule: Rule, fields: tuple[FieldSpec, ...], file: str, entity: str, errors: list[ConfigError],
           base: FieldSpec | None = None) -> None:
    if rule.kind == "const":
        return
    scope = fields
    target: FieldSpec | None = base
    if rule.segments:
        target, problem = _find(fields, rule.segments, entity)
        if problem:
            errors.append(_err(rule, file, f"source path {rule.source!r}: {problem}"))
            return
    if rule.kind in ("object", "list"):
        if target is not None:
            if target.children is None:
                return
            # children of a list/object are relative to it: skip envelopes such as results
            scope = target.children
        for child in rule.children:
            _check(child, scope, file, entity + (f".{rule.source}" if rule.source else ""), errors)
        return
    if target is None:
        return
    if rule.ref is not None:         # read from `from` as a value; written as an id into write_ref.to
        if rule.writes and rule.out_segments:
            out, problem = _find(fields, rule.out_segments, entity)
            if problem:
                errors.append(_err(rule, file, f"write_ref path {rule.out_source!r}: {problem}"))
            elif out is not None and not (out.createable or out.updateable):
                errors.append(_err(rule, file, f"source field {out.name!r} (write_ref) is read-only"))
        _check_type(rule, target, file, errors)
        return
    _check_type(rule, target, file, errors)
    if rule.writes and not (target.createable or target.updateable):
        errors.append(_err(rule, file, f"source field {target.name!r} is read-only (neither createable nor "
                                       f"updateable) but the rule writes it back (direction {rule.direction}); "
                                       f"set direction: in"))
    if target.picklist is not None:
        allowed = {map_key(v) for v in target.picklist}
        folded = {a.casefold() for a in allowed}
        bad: list = []
        if rule.map_keys:
            bad = [k for k in rule.map_keys if map_key(k) not in allowed and map_key(k).casefold() not in folded]
            if bad:
                errors.append(_err(rule, file, f"map keys {', '.join(map(repr, bad))} are not values of picklist "
                                               f"{target.name!r} (allowed: {_show(target.picklist)})"))
        if rule.writes and rule.rmap_values:
            reported = {map_key(k) for k in bad}
            wrong = [v for v in rule.rmap_values if map_key(v) not in allowed and map_key(v) not in reported]
            if wrong:
                errors.append(_err(rule, file, f"values written back {', '.join(map(repr, wrong))} are not values of "
                                               f"picklist {target.name!r} (allowed: {_show(target.picklist)})"))


def _show(values: tuple[str, ...]) -> str:
    return ", ".join(values[:15]) + (" ..." if len(values) > 15 else "")


def _check_type(rule: Rule, target: FieldSpec, file: str, errors: list[ConfigError]) -> None:
    kind = target.type
    if kind in ("object", "array", "binary") and not rule.transforms:
        errors.append(_err(rule, file, f"source field {target.name!r} is {kind}, not a value; map one of its "
                                       f"parts (a path such as {target.name}.<part>) or use a transform such as join"))
        return
    if rule.lookup is not None:
        return
    if rule.transforms:
        first = rule.transforms[0].transform
        if kind not in first.accepts:
            errors.append(_err(rule, file, f"transform {first.name!r} cannot read source field {target.name!r} "
                                           f"of type {kind}"))
        return
    if rule.vmap is not None:
        return
    allowed = _DIRECT.get(rule.ftype)
    if allowed is not None and kind not in allowed:
        hint = {"date": "a date transform", "datetime": "a datetime transform", "decimal": "the decimal transform",
                "boolean": "the bool transform"}.get(rule.ftype, "a transform")
        if kind in TEMPORAL and rule.ftype in ("string", "literal"):
            hint = "a date/datetime field for it"
        errors.append(_err(rule, file, f"canonical field {rule.field!r} is a {rule.ftype} but source field "
                                       f"{target.name!r} is {kind}; use {hint}"))
