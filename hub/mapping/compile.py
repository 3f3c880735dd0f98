"""Compile a mapping document into a :class:`CompiledMapping`.

Every problem is a ``ConfigError`` that names the file, the line and the key and says what
was expected. Nothing of the YAML is looked at again per record.
"""
from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from concord.hub.canonical import FieldMeta, model_fields_meta
from concord.hub.config.yamlsource import Located, first_validation_error, load_yaml
from concord.hub.errors import ConfigError
from concord.hub.mapping.compiled import CompiledMapping
from concord.hub.mapping.paths import compile_getter, compile_setter, format_path, parse_path
from concord.hub.mapping.registry import TRANSFORMS, BoundTransform
from concord.hub.mapping.rules import UNSET, Rule, ValueMap, map_key
from concord.hub.mapping.spec import MappingSpec, RuleSpec, rule_data
from concord.schemas import ENTITIES

_SCALAR_OK = {
    "string": {"string", "literal", "decimal", "integer", "boolean", "date", "datetime"},
    "integer": {"integer", "decimal", "string", "literal"},
    "decimal": {"decimal", "integer", "string", "literal"},
}


def load_mapping(path: str | os.PathLike[str], *, system: str | None = None,
                 models: Mapping[str, type] | None = None, value_maps: Mapping[str, Any] | None = None) -> CompiledMapping:
    """Load and compile ``mappings/<system>/<entity>.yaml``; raises ConfigError(file=, line=, key=).

    ``models``: the project's canonical models (its ``extensions:``); ``value_maps``: its named value maps."""
    doc = load_yaml(path)
    if system is None:
        system = os.path.basename(os.path.dirname(os.path.abspath(os.fspath(path)))) or None
    return compile_mapping(doc, system=system, models=models, value_maps=value_maps)


def load_mappings(folder: str | os.PathLike[str], *, system: str | None = None) -> dict[str, CompiledMapping]:
    """Every ``*.yaml``/``*.yml`` mapping in a folder, keyed by canonical entity (one file per entity)."""
    out: dict[str, CompiledMapping] = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith((".yaml", ".yml")):
            m = load_mapping(os.path.join(folder, name), system=system)
            if m.entity in out:
                raise ConfigError(f"a second mapping for canonical entity {m.entity!r} (first: {out[m.entity].file})",
                                  file=m.file, line=1, key="entity")
            out[m.entity] = m
    return out


def compile_mapping(doc: Located | Mapping[str, Any], *, file: str | None = None, system: str | None = None,
                    models: Mapping[str, type] | None = None,
                    value_maps: Mapping[str, Any] | None = None) -> CompiledMapping:
    """Compile a parsed mapping (a ``Located`` from the YAML loader, or a plain dict)."""
    if not isinstance(doc, Located):
        doc = Located(doc, file or "<mapping>", {})
    return _Compiler(doc, models, value_maps).compile(system)


def _adapter(meta: FieldMeta, model: type) -> TypeAdapter:
    info = model.model_fields[meta.name]
    return TypeAdapter(Annotated[info.annotation, info])


def _closest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return "known: " + ", ".join(options)


class _Compiler:
    def __init__(self, doc: Located, models: Mapping[str, type] | None = None,
                 value_maps: Mapping[str, Any] | None = None) -> None:
        self.doc = doc
        self.file = doc.file
        self.models = models or ENTITIES
        self.named_maps = value_maps or {}

    def err(self, message: str, path: tuple[Any, ...]) -> ConfigError:
        return self.doc.error(message, path)

    # ------------------------------------------------------------------ top level
    def compile(self, system: str | None) -> CompiledMapping:
        data = self.doc.data
        if not isinstance(data, Mapping):
            raise self.err("a mapping file must be a YAML object with entity, source and fields", ())
        try:
            spec = MappingSpec.model_validate(data)
        except ValidationError as exc:
            raise first_validation_error(exc, self.doc) from None
        if spec.entity not in self.models:
            raise self.err(f"unknown canonical entity {spec.entity!r}; {_closest(spec.entity, sorted(self.models))}",
                           ("entity",))
        model = self.models[spec.entity]
        rules = self.rules(model, spec.fields, ("fields",), "", inherited=None)
        self.check_required(model, rules, ("fields",), "")
        self.check_out_paths(rules)
        return CompiledMapping(file=self.file, entity=spec.entity, source=spec.source, model=model,
                               rules=tuple(rules), system=system)

    def rules(self, model: type, fields: Mapping[str, Any], ypath: tuple[Any, ...], canon_prefix: str,
              inherited: str | None) -> list[Rule]:
        out: list[Rule] = []
        seen: dict[str, int | None] = {}
        for key, raw in fields.items():
            where = ypath + (key,)
            if not isinstance(key, str) or not key.strip():
                raise self.err("a canonical field name must be a non-empty string", where)
            rule = self.rule(model, key, raw, where, canon_prefix, inherited)
            for name in _canonical_keys(rule):
                if name in seen:
                    raise self.err(f"canonical field {name!r} is mapped twice (first at line {seen[name]})", where)
                seen[name] = rule.line
            out.append(rule)
        return out

    # ------------------------------------------------------------------ one rule
    def rule(self, model: type, key: str, raw: Any, where: tuple[Any, ...], canon_prefix: str,
             inherited: str | None) -> Rule:
        parts = [p.strip() for p in key.split(".")]
        meta, owner = self.resolve_field(model, parts, where)
        data = rule_data(raw)
        if isinstance(raw, bool):
            raise self.err(f"YAML reads this source path as the boolean {raw} (yes/no/on/off/true/false are booleans "
                           f"in YAML); quote it: {key}: \"...\"", where)
        if not isinstance(data, Mapping):
            raise self.err(f"a rule must be a source path or an object with from/const/...; got {raw!r}", where)
        try:
            spec = RuleSpec.model_validate(data)
        except ValidationError as exc:
            raise first_validation_error(exc, self.doc, where) from None
        line = self.doc.line(where)
        field = canon_prefix + ".".join(parts)
        common = dict(field=field, flat_key=field, canon_path=tuple(canon_prefix.split(".")[:-1] + parts) if canon_prefix else tuple(parts),
                      ftype=meta.type, line=line, file=self.file, default=UNSET, vmap=None, rmap=None)
        if meta.type in ("model", "list"):
            return self.container_rule(meta, spec, where, common, inherited)
        if spec.fields is not None:
            raise self.err(f"'fields' is only for nested objects and lists; {field!r} is a {meta.type}", where + ("fields",))
        adapter = _adapter(meta, owner)
        if spec.has_const:
            return self.const_rule(spec, where, common, adapter, meta)
        if spec.from_ is None:
            raise self.err("a rule needs 'from' (a source path) or 'const' (a fixed value)", where)
        segments = self.path(spec.from_, where + ("from",))
        transforms = self.transforms(spec.transform, where + ("transform",))
        direction = spec.direction or inherited or "both"
        if spec.lookup is not None:
            self.check_lookup(spec, meta, where)
        elif spec.by is not None:
            raise self.err("'by' names the business key of a lookup; it needs 'lookup'", where + ("by",))
        if transforms:
            self.check_produces(transforms, meta, where)
            not_invertible = [t.name for t in transforms if t.reverse is None]
            if not_invertible and direction != "in":
                if spec.direction or inherited:
                    raise self.err(f"transform {not_invertible[0]!r} cannot be reversed, so this rule cannot write "
                                   f"back (direction {direction}); set direction: in", where + ("direction",))
                direction = "in"
        default = UNSET
        if "default" in spec.model_fields_set:
            default = self.canonical_value(adapter, spec.default, meta, where + ("default",), "default")
        vmap = rmap = None
        if isinstance(spec.map, str):
            spec = self.named_map(spec, where)
        if spec.map is not None:
            vmap, rmap = self.value_maps(spec, adapter, meta, where, check_values=not transforms)
        elif spec.reverse_map is not None:
            raise self.err("reverse_map needs a map", where + ("reverse_map",))
        ref, out_segments = None, segments
        if spec.write_ref is not None:
            ref, out_segments = self.write_ref(spec, meta, where, direction)
        return Rule(kind="value", source=format_path(segments), segments=segments, direction=direction,
                    explicit_direction=spec.direction is not None, const=UNSET, transforms=transforms,
                    lookup=spec.lookup, adapter=adapter, get=compile_getter(segments), set=compile_setter(out_segments),
                    ref=ref, out_segments=out_segments if ref else None, lookup_by=spec.by,
                    out_source=format_path(out_segments) if ref else None,
                    map_keys=tuple(spec.map) if spec.map else (),
                    rmap_values=tuple((rmap.exact.values() if rmap else ())),
                    **{**common, "default": default, "vmap": vmap, "rmap": rmap})

    def const_rule(self, spec: RuleSpec, where: tuple[Any, ...], common: dict[str, Any], adapter: TypeAdapter,
                   meta: FieldMeta) -> Rule:
        for other in ("from_", "transform", "map", "reverse_map", "lookup", "default"):
            if other in spec.model_fields_set:
                name = "from" if other == "from_" else other
                raise self.err(f"'const' cannot be combined with {name!r}", where + (name,))
        if spec.direction not in (None, "in"):
            raise self.err("a const rule only sets the canonical value on the way in (direction: in); it has no "
                           "source field to write", where + ("direction",))
        value = self.canonical_value(adapter, spec.const, meta, where + ("const",), "const")
        return Rule(kind="const", source=None, segments=None, direction="in", explicit_direction=True, const=value,
                    adapter=adapter, get=None, set=None, **common)

    def container_rule(self, meta: FieldMeta, spec: RuleSpec, where: tuple[Any, ...], common: dict[str, Any],
                       inherited: str | None) -> Rule:
        field = common["field"]
        is_list = meta.type == "list"
        if spec.fields is None:
            sub = ", ".join(model_fields_meta(meta.model)) if meta.model else ""
            what = "a list" if is_list else "an object"
            raise self.err(f"{field!r} is {what}; give 'fields' with its parts ({sub})"
                           + ("" if is_list else f" or map them one by one as {field}.<part>"), where)
        for other in ("const", "transform", "map", "reverse_map", "default", "lookup"):
            if other in spec.model_fields_set:
                raise self.err(f"{other!r} is not allowed on {field!r} (it has 'fields'); put it on its parts",
                               where + (other,))
        if is_list and spec.from_ is None:
            raise self.err(f"the list {field!r} needs 'from' (the source path of the items)", where)
        segments = self.path(spec.from_, where + ("from",)) if spec.from_ is not None else None
        direction = spec.direction or inherited
        if is_list:
            children = self.rules(meta.model, spec.fields, where + ("fields",), "", direction)
            self.check_required(meta.model, children, where + ("fields",), field + "[].")
            self.check_out_paths(children)
        else:
            children = self.rules(meta.model, spec.fields, where + ("fields",), field + ".", direction)
        return Rule(kind="list" if is_list else "object", source=format_path(segments) if segments else None,
                    segments=segments, direction=direction or "both", explicit_direction=spec.direction is not None,
                    const=UNSET, children=children, get=compile_getter(segments) if segments else None,
                    set=compile_setter(segments) if segments else None, **common)

    # ------------------------------------------------------------------ pieces
    def resolve_field(self, model: type, parts: list[str], where: tuple[Any, ...]) -> tuple[FieldMeta, type]:
        owner = model
        for i, part in enumerate(parts):
            metas = model_fields_meta(owner)
            if part not in metas:
                known = sorted(metas)
                prefix = ".".join(parts[:i])
                scope = f"{owner.__name__}" + (f" ({prefix})" if prefix else "")
                hint = ("; a field of your own is declared in concord.yaml under extensions.<entity>.fields"
                        if i == 0 else "")
                raise self.err(f"unknown canonical field {'.'.join(parts)!r}: {scope} has no field {part!r}; "
                               f"{_closest(part, known)}{hint}", where)
            meta = metas[part]
            if i < len(parts) - 1:
                if meta.type != "model":
                    raise self.err(f"canonical field {'.'.join(parts[:i + 1])!r} is a {meta.type}, not an object "
                                   f"with parts", where)
                owner = meta.model
        return meta, owner

    def path(self, text: Any, where: tuple[Any, ...]) -> tuple:
        try:
            return parse_path(text)
        except ValueError as exc:
            raise self.err(f"bad source path: {exc}", where) from None

    def transforms(self, raw: Any, where: tuple[Any, ...]) -> tuple[BoundTransform, ...]:
        if raw is None:
            return ()
        items = raw if isinstance(raw, list) else [raw]
        out = []
        for i, item in enumerate(items):
            at = where + (i,) if isinstance(raw, list) else where
            if isinstance(item, str):
                name, params, ppath = item, None, at
            elif isinstance(item, Mapping) and len(item) == 1:
                name, params = next(iter(item.items()))
                ppath = at + (name,)
            else:
                raise self.err("a transform is a name or {name: {parameters}}, e.g. {date: {format: sap}}", at)
            if name not in TRANSFORMS:
                raise self.err(f"unknown transform {name!r}; {_closest(str(name), sorted(TRANSFORMS))}", ppath)
            t = TRANSFORMS[name]
            if params is not None and not isinstance(params, Mapping):
                if t.params.shorthand is None:
                    raise self.err(f"transform {name!r} takes parameters as an object, got {params!r}", ppath)
                params = {t.params.shorthand: params}
            try:
                p = t.params.model_validate(params or {})
            except ValidationError as exc:
                errs = exc.errors()
                if params is None and any(e["type"] == "missing" for e in errs):
                    need = ", ".join(str(e["loc"][0]) for e in errs if e["type"] == "missing")
                    raise self.err(f"transform {name!r} needs parameters: {need}", ppath) from None
                raise first_validation_error(exc, self.doc, ppath) from None
            try:
                out.append(t.bind(p))
            except ValueError as exc:
                raise self.err(f"transform {name!r}: {exc}", ppath) from None
        return tuple(out)

    def check_produces(self, transforms: tuple[BoundTransform, ...], meta: FieldMeta, where: tuple[Any, ...]) -> None:
        produced = next((t.transform.produces for t in reversed(transforms) if t.transform.produces != "any"), "any")
        want = meta.type
        if produced == "any" or produced == want or want in _SCALAR_OK.get(produced, ()):
            return
        raise self.err(f"transform {transforms[-1].name!r} gives {_a(produced)}, but canonical field {meta.name!r} "
                       f"is {_a(want)}", where + ("transform",))

    def write_ref(self, spec: RuleSpec, meta: FieldMeta, where: tuple[Any, ...], direction: str
                  ) -> tuple[tuple[str, str], tuple[Any, ...]]:
        ref, at = spec.write_ref, where + ("write_ref",)
        assert ref is not None
        if ref.lookup not in ENTITIES:
            raise self.err(f"write_ref: unknown canonical entity {ref.lookup!r}; {_closest(ref.lookup, sorted(ENTITIES))}",
                           at + ("lookup",))
        if ref.by not in ENTITIES[ref.lookup].model_fields:
            raise self.err(f"write_ref: {ref.lookup} has no field {ref.by!r}", at + ("by",))
        if meta.type != "string":
            raise self.err(f"write_ref writes a record id for a business key (text), but {meta.name!r} is a {meta.type}", at)
        for other in ("lookup", "map", "reverse_map", "transform"):
            if other in spec.model_fields_set:
                raise self.err(f"'write_ref' cannot be combined with {other!r}", where + (other,))
        if direction == "in":
            raise self.err("write_ref says how the field is written, but the rule only reads (direction: in)", at)
        return (ref.lookup, ref.by), self.path(ref.to, at + ("to",))

    def check_lookup(self, spec: RuleSpec, meta: FieldMeta, where: tuple[Any, ...]) -> None:
        if spec.lookup not in ENTITIES:
            raise self.err(f"lookup of unknown canonical entity {spec.lookup!r}; {_closest(spec.lookup, sorted(ENTITIES))}",
                           where + ("lookup",))
        if meta.type != "string":
            raise self.err(f"a lookup gives a golden id (text), but {meta.name!r} is a {meta.type}", where + ("lookup",))
        if spec.by is not None:
            if spec.by not in ENTITIES[spec.lookup].model_fields:
                raise self.err(f"lookup by: {spec.lookup} has no field {spec.by!r}", where + ("by",))
            if (spec.direction or "both") != "in":
                raise self.err("a lookup by a business key only reads (it finds the golden record that holds the "
                               "key); set direction: in", where + ("by",))
        for other in ("map", "reverse_map", "default"):
            if other in spec.model_fields_set:
                raise self.err(f"'lookup' cannot be combined with {other!r}", where + (other,))

    def canonical_value(self, adapter: TypeAdapter, value: Any, meta: FieldMeta, where: tuple[Any, ...],
                        what: str) -> Any:
        if isinstance(value, str):
            value = value.strip()
        try:
            return adapter.validate_python(value)
        except ValidationError as exc:
            allowed = f" (allowed: {', '.join(map(str, meta.literals))})" if meta.literals else ""
            raise self.err(f"{what} {value!r} does not fit canonical field {meta.name!r} ({meta.type}): "
                           f"{exc.errors()[0]['msg']}{allowed}", where) from None

    def named_map(self, spec: RuleSpec, where: tuple[Any, ...]) -> RuleSpec:
        """``map: <name>``: the project's value map of that name (its reverse_map, then the rule's own, win)."""
        name = str(spec.map)
        named = self.named_maps.get(name)
        if named is None:
            known = sorted(self.named_maps)
            raise self.err(f"unknown value map {name!r}; "
                           + (_closest(name, known) if known else "declare it in concord.yaml under value_maps"),
                           where + ("map",))
        reverse = {**named.reverse_map, **(spec.reverse_map or {})}
        return spec.model_copy(update={"map": dict(named.map), "reverse_map": reverse or None})

    def value_maps(self, spec: RuleSpec, adapter: TypeAdapter, meta: FieldMeta, where: tuple[Any, ...],
                   check_values: bool) -> tuple[ValueMap, ValueMap]:
        assert spec.map is not None
        if any(isinstance(k, str) for k in spec.map):
            for k in spec.map:
                if isinstance(k, bool):
                    raise self.err(f"YAML reads this map key as the boolean {str(k).lower()} (unquoted yes/no/on/off/"
                                   f"true/false are booleans) while the other keys are text; quote it, e.g. 'OFF'",
                                   where + ("map", k))
        pairs = []
        for k, v in spec.map.items():
            if check_values:
                v = self.canonical_value(adapter, v, meta, where + ("map", k), "map value")
            pairs.append((k, v))
        reverse = [(v, k) for k, v in pairs]
        for k, v in (spec.reverse_map or {}).items():
            if check_values:
                k = self.canonical_value(adapter, k, meta, where + ("reverse_map", k), "reverse_map key")
            reverse.insert(0, (k, v))
        # reverse_map entries win; then the first source value listed for a canonical value
        return ValueMap(pairs), ValueMap(reverse)

    def check_required(self, model: type, rules: list[Rule], where: tuple[Any, ...], label: str) -> None:
        mapped = {r for rule in rules if rule.reads for r in _canonical_keys(rule, reading=True)}
        for name, meta in model_fields_meta(model).items():
            if meta.required and name not in mapped:
                raise self.err(f"required canonical field {label + name!r} has no rule that reads it "
                               f"(add '{name}: <source path>' or a const)", where)

    def check_out_paths(self, rules: list[Rule]) -> None:
        seen: dict[str, Rule] = {}
        for rule in _walk(rules):
            if rule.kind != "value" or not rule.writes or rule.source is None:
                continue
            key = rule.out_source or rule.source
            if key in seen:
                first = seen[key]
                raise ConfigError(f"source path {key!r} is written back by two rules ({first.field!r} at line "
                                  f"{first.line} and {rule.field!r}); set direction: in on one of them",
                                  file=self.file, line=rule.line, key=rule.field)
            seen[key] = rule


def _a(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _walk(rules: list[Rule] | tuple[Rule, ...]):
    for rule in rules:
        if rule.kind == "object":
            yield from _walk(rule.children)
        else:
            yield rule


def _canonical_keys(rule: Rule, reading: bool = False) -> list[str]:
    """The canonical keys a rule fills (objects contribute their parts; lists their own name)."""
    if rule.kind == "object":
        keys = [k for c in rule.children if (c.reads or not reading) for k in _canonical_keys(c, reading)]
        return keys + ([] if keys or reading else [rule.field])
    return [rule.field]


def normalised_map_keys(values: Any) -> set[str]:
    return {map_key(v) for v in values}
