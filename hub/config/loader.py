"""Load concord.yaml: line-aware errors, ``${ENV}`` references, no literal secrets, compiled mappings."""
from __future__ import annotations

import os
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

from concord import schemas
from concord.hub.config.dburl import expand_url, literal_password_problem
from concord.hub.config.extensions import (
    EntityExtension,
    Vocabulary,
    declaration_errors,
    extended_models,
    load_value_maps,
)
from concord.hub.config.model import ProjectConfig
from concord.hub.config.yamlsource import Located, load_yaml, validation_errors
from concord.hub.errors import ConfigError

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SECRET_KEY = re.compile(
    r"(?i)^(?:.*[_-])?(password|passwd|secret|token|api[_-]?key|private[_-]?key|client[_-]?secret|app[_-]?secret|"
    r"permanent[_-]?code|refresh[_-]?token|access[_-]?token|consumer[_-]?secret|security[_-]?token)$")


class ConfigErrors(ConfigError):
    """Several configuration errors at once (``errors`` holds each)."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        super().__init__("\n".join(e.message for e in errors))


def _walk(data: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    yield path, data
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _walk(v, path + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _walk(v, path + (i,))


def literal_secret_errors(doc: Located, root: tuple = ()) -> list[ConfigError]:
    """A value under a secret-looking key must be exactly one ``${ENV_VAR}`` reference."""
    errs = []
    for path, value in _walk(_get(doc.data, root), root):
        if not path or not isinstance(path[-1], str) or not SECRET_KEY.match(path[-1]):
            continue
        if value is None or isinstance(value, (dict, list)):
            continue
        if not (isinstance(value, str) and ENV_REF.fullmatch(value.strip())):
            errs.append(doc.error(
                "literal secret in YAML is refused; reference an environment variable instead, e.g. "
                f"{path[-1]}: ${{{_env_name(path)}}}", path))
    return errs


def _env_name(path: tuple) -> str:
    return "_".join(str(p).upper() for p in path if isinstance(p, str) and p not in ("systems", "config"))[:60]


def _get(data: Any, path: tuple) -> Any:
    for p in path:
        data = data[p]
    return data


def expand_env(doc: Located, environ: typing.Mapping[str, str] | None = None) -> Any:
    """Replace ``${VAR}`` in every string; a missing variable is an error at its line."""
    env = os.environ if environ is None else environ
    errors: list[ConfigError] = []

    def sub(value: Any, path: tuple) -> Any:
        if isinstance(value, dict):
            return {k: sub(v, path + (k,)) for k, v in value.items()}
        if isinstance(value, list):
            return [sub(v, path + (i,)) for i, v in enumerate(value)]
        if isinstance(value, str) and "${" in value:
            def repl(m: re.Match[str]) -> str:
                if m.group(1) not in env:
                    errors.append(doc.error(f"environment variable {m.group(1)} is not set", path))
                    return ""
                return env[m.group(1)]
            return ENV_REF.sub(repl, value)
        return value

    out = sub(doc.data, ())
    if errors:
        raise ConfigErrors(errors) if len(errors) > 1 else errors[0]
    return out


def secret_fields(model: type[BaseModel]) -> set[str]:
    """Names of a Config model's fields typed SecretStr (or Optional[SecretStr])."""
    out = set()
    for name, f in model.model_fields.items():
        ann = f.annotation
        args = typing.get_args(ann) or (ann,)
        if SecretStr in args or ann is SecretStr:
            out.add(name)
    return out


@dataclass
class Project:
    """A loaded, validated project: config, compiled mappings, and where it lives."""

    config: ProjectConfig
    file: str
    base_dir: str
    mappings: dict[tuple[str, str], Any] = field(default_factory=dict)   # (entity, system) -> CompiledMapping
    connector_configs: dict[str, BaseModel] = field(default_factory=dict)
    vocabulary: Vocabulary = field(default_factory=Vocabulary)   # extended models, named value maps
    doc: Located | None = None                                   # concord.yaml with its line numbers

    @property
    def models(self) -> typing.Mapping[str, Any]:
        """Canonical entity -> this project's model (the shipped one plus its ``extensions:``)."""
        return self.vocabulary.models

    def mapping(self, entity: str, system: str) -> Any:
        return self.mappings[(entity, system)]

    def source_entity(self, entity: str, system: str) -> str:
        src = self.config.entities[entity].sources[system]
        return src.entity or self.mappings[(entity, system)].source

    def entity_order(self) -> list[str]:
        ents = list(self.config.entities)
        order = {n: i for i, n in enumerate(schemas.WRITE_ORDER)}
        return sorted(ents, key=lambda e: order.get(e, len(order)))

    def system_order(self, entity: str) -> list[str]:
        """Sources of an entity, highest survivorship priority first."""
        pri = list(self.config.entities[entity].survivorship.priority)
        srcs = list(self.config.entities[entity].sources)
        return sorted(srcs, key=lambda s: pri.index(s) if s in pri else len(pri))

    def queues_replans(self, entity: str) -> bool:
        """Whether anything reads the entity's re-plan queue (``dirty``): its sync rules, a derivation from it
        or sending fields back into it, a roll-up of it, a KPI over it. Without any, a cycle's plan step only
        empties the queue, so golden records saved are not queued at all (an initial load of such an entity
        writes one row a record less)."""
        c = self.config
        return bool(c.entities[entity].sync
                    or any(d.from_ == entity or (d.to == entity and d.back) for d in c.derivations)
                    or any(r.from_ == entity for r in c.rollups)
                    or any(entity in k.inputs for k in c.kpis))

    def resolve(self, path: str) -> str:
        return path if os.path.isabs(path) else os.path.join(self.base_dir, path)


def load_project(path: str | os.PathLike[str] = "concord.yaml", *, environ: typing.Mapping[str, str] | None = None,
                 check_connectors: bool = True) -> Project:
    """Load and validate concord.yaml and every mapping it names. Raises ConfigError(s)."""
    from concord.hub import registry
    from concord.hub.mapping import load_mapping

    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise doc.error("concord.yaml must be a mapping with `systems` and `entities`")
    errors = literal_secret_errors(doc)
    raw_url = doc.data.get("warehouse")
    if isinstance(raw_url, str) and (problem := literal_password_problem(raw_url)):
        errors.append(doc.error(problem, ("warehouse",)))
    if errors:
        raise ConfigErrors(errors) if len(errors) > 1 else errors[0]
    data = expand_env(doc, environ)
    if isinstance(raw_url, str):
        data["warehouse"] = expand_url(raw_url, environ, where=doc.file)   # a password is URL-quoted and redacted
    vocabulary = _extensions(doc, data)
    try:
        cfg = ProjectConfig.model_validate(data, context={"models": vocabulary.models})
    except ValidationError as exc:
        errs = validation_errors(exc, doc)
        raise (ConfigErrors(errs) if len(errs) > 1 else errs[0]) from None

    base_dir = os.path.dirname(os.path.abspath(doc.file))
    project = Project(cfg, doc.file, base_dir, doc=doc)
    value_maps, errors = load_value_maps(cfg.value_maps, doc, project.resolve)
    project.vocabulary = Vocabulary(vocabulary.models, value_maps, vocabulary.extension_fields,
                                    vocabulary.declared_at)
    systems = set(cfg.systems)
    for ename, ecfg in cfg.entities.items():
        if ename not in schemas.ENTITIES:
            errors.append(doc.error(f"unknown canonical entity {ename!r}; known: {', '.join(sorted(schemas.ENTITIES))}",
                                    ("entities", ename)))
            continue
        model_fields = _canonical_fields(project.models[ename])
        for sname, src in ecfg.sources.items():
            if sname not in systems:
                errors.append(doc.error(f"unknown system {sname!r}; known: {', '.join(sorted(systems))}",
                                        ("entities", ename, "sources", sname)))
                continue
            try:
                m = load_mapping(project.resolve(src.mapping), system=sname, models=project.models,
                                 value_maps=project.vocabulary.value_maps)
            except ConfigError as exc:
                errors.extend(getattr(exc, "errors", [exc]))
                continue
            if m.entity != ename:
                errors.append(doc.error(f"mapping {src.mapping} maps entity {m.entity!r}, not {ename!r}",
                                        ("entities", ename, "sources", sname, "mapping")))
            project.mappings[(ename, sname)] = m
        for i, rule in enumerate(ecfg.match):
            for j, f in enumerate(rule.fields):
                if f not in model_fields:
                    errors.append(doc.error(f"unknown canonical field {f!r} of {ename}", ("entities", ename, "match", i, "fields", j)))
        for i, rule in enumerate(ecfg.sync):
            if rule.target not in systems:
                errors.append(doc.error(f"unknown target system {rule.target!r}", ("entities", ename, "sync", i, "target")))
            elif rule.target not in ecfg.sources:
                errors.append(doc.error(f"system {rule.target!r} has no mapping for {ename}; add it under sources",
                                        ("entities", ename, "sync", i, "target")))
            if rule.fields != "all":
                for j, f in enumerate(rule.fields):
                    if f not in model_fields:
                        errors.append(doc.error(f"unknown canonical field {f!r} of {ename}", ("entities", ename, "sync", i, "fields", j)))
        for i, rule in enumerate(ecfg.sync):
            for j, cond in enumerate(rule.when):
                if cond.field not in model_fields:
                    errors.append(doc.error(f"unknown canonical field {cond.field!r} of {ename} in condition",
                                            ("entities", ename, "sync", i, "when", j, "field")))
        for fname, owner in ecfg.ownership.items():
            if fname not in model_fields:
                errors.append(doc.error(f"unknown canonical field {fname!r} of {ename}", ("entities", ename, "ownership", fname)))
            if owner not in ecfg.sources:
                errors.append(doc.error(f"owner {owner!r} is not a source of {ename}", ("entities", ename, "ownership", fname)))
        for fname in ecfg.conflicts.fields:
            if fname not in model_fields:
                errors.append(doc.error(f"unknown canonical field {fname!r} of {ename}",
                                        ("entities", ename, "conflicts", "fields", fname)))
        surv = ecfg.survivorship
        for i, s in enumerate(surv.priority):
            if s not in systems:
                errors.append(doc.error(f"unknown system {s!r} in priority", ("entities", ename, "survivorship", "priority", i)))
        for fname, fs in surv.fields.items():
            if fname not in model_fields:
                errors.append(doc.error(f"unknown canonical field {fname!r} of {ename}", ("entities", ename, "survivorship", "fields", fname)))
            for i, s in enumerate(fs.priority or ()):
                if s not in systems:
                    errors.append(doc.error(f"unknown system {s!r} in priority",
                                            ("entities", ename, "survivorship", "fields", fname, "priority", i)))
    if check_connectors:
        for sname, scfg in cfg.systems.items():
            try:
                cls = registry.connector_class(scfg.connector)
            except ConfigError as exc:
                errors.append(doc.error(exc.message, ("systems", sname, "connector")))
                continue
            raw = _get(doc.data, ("systems", sname)).get("config") or {}
            for fname in sorted(secret_fields(cls.Config)):
                val = raw.get(fname)
                if isinstance(val, str) and not ENV_REF.fullmatch(val.strip()):
                    errors.append(doc.error(f"literal secret in YAML is refused; use ${{ENV_VAR}} for {fname}",
                                            ("systems", sname, "config", fname)))
            try:
                project.connector_configs[sname] = cls.Config.model_validate(_with_base(scfg.config, base_dir, cls.Config))
            except ValidationError as exc:
                errors.extend(validation_errors(exc, doc, ("systems", sname, "config")))
    if errors:
        raise ConfigErrors(errors) if len(errors) > 1 else errors[0]
    return project


def _with_base(config: dict[str, Any], base_dir: str, model: type[BaseModel]) -> dict[str, Any]:
    """Connectors whose Config has a ``base_dir`` field get the project folder (relative paths)."""
    if "base_dir" in model.model_fields and "base_dir" not in config:
        return {**config, "base_dir": base_dir}
    return config


def _canonical_fields(model: Any) -> set[str]:
    from concord.hub.canonical import field_types

    return set(field_types(model)) | {f.split(".", 1)[0] for f in field_types(model)}


def _extensions(doc: Located, data: Any) -> Vocabulary:
    """The ``extensions:`` block, validated first: every other part of the project may name its fields."""
    raw = data.get("extensions") if isinstance(data, dict) else None
    if raw is None:
        return Vocabulary()
    try:
        exts = TypeAdapter(dict[str, EntityExtension]).validate_python(raw)
    except ValidationError as exc:
        errs = validation_errors(exc, doc, ("extensions",))
        raise (ConfigErrors(errs) if len(errs) > 1 else errs[0]) from None
    errs = declaration_errors(exts, doc)
    if errs:
        raise ConfigErrors(errs) if len(errs) > 1 else errs[0]
    fields = {e: dict(x.fields) for e, x in exts.items()}
    lines = {(e, f): doc.line(("extensions", e, "fields", f)) or 1 for e, x in exts.items() for f in x.fields}
    return Vocabulary(extended_models(exts), {}, fields, lines)
