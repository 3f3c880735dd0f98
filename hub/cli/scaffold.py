"""``concord init --erp X --crm Y`` and ``concord add system``: a project for real systems (or their sandboxes).

What each connector needs is data (``hub/starter/vendors.yaml``): its ``config:`` block with every
credential as an ``${ENV}`` reference, the variables to set, and the steps to take in the vendor's
system. Entities, match rules, survivorship and sync rules come from the same profiles the demo uses
(``hub.demo.profiles``), so a generated project behaves like the demo's.

``--sandbox`` wires the systems to local sandboxes instead: their URLs and CA file are ``${ENV}``
references too (``CONCORD_SANDBOX_<CONNECTOR>_URL``...), and ``concord sandbox up --project DIR``
writes their values, with the sandboxes' throwaway credentials, to ``DIR/sandbox.env``.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from concord.hub.config.yamlsource import load_packaged
from concord.hub.errors import ConfigError

ORIGIN = re.compile(r"(?:https?)://(?:127\.0\.0\.1|localhost|\[::1\]):\d+")
ENTITY_ORDER = ("account", "product", "contact", "opportunity", "sales_order", "invoice")


def vendors() -> dict[str, Any]:
    text = resources.files("concord.hub.starter").joinpath("vendors.yaml").read_text(encoding="utf-8")
    return load_packaged(text) or {}


def vendor(connector: str) -> dict[str, Any]:
    v = vendors()
    if connector not in v:
        hint = (" (for `files`, run `concord init` without --erp/--crm: that is the files starter)"
                if connector == "files" else "")
        raise ConfigError(f"no project template for connector {connector!r}; known: {', '.join(sorted(v))}{hint}")
    return v[connector]


def shipped_entities(connector: str) -> list[str]:
    from concord.hub.demo.project import mappings_dir

    folder = mappings_dir() / connector
    return sorted((p.stem for p in folder.glob("*.yaml")), key=_order)


def _order(entity: str) -> tuple[int, str]:
    return (ENTITY_ORDER.index(entity) if entity in ENTITY_ORDER else len(ENTITY_ORDER), entity)


def default_entities(connector: str) -> list[str]:
    """The entities a new project syncs with this connector: those the demo proves (its profile)."""
    from concord.hub.demo.profiles import PROFILES

    prof = PROFILES.get(connector)
    ents = list(prof.entities) if prof else [e for e in shipped_entities(connector) if e in ("account", "contact")]
    return [e for e in ents if e in shipped_entities(connector)]


# ---- sandbox wiring --------------------------------------------------------------------------------

def env_prefix(system: str) -> str:
    return "CONCORD_SANDBOX_" + re.sub(r"[^A-Z0-9]", "_", system.upper())


def sandbox_wiring(system: str, connector_config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The sandbox's ``config:`` block with its loopback URLs and CA file as ``${ENV}`` references, and
    the values of those references. The same function names them at ``init`` and at ``sandbox up``."""
    prefix = env_prefix(system)
    text = json.dumps(dict(connector_config))
    values: dict[str, str] = {}
    for i, origin in enumerate(dict.fromkeys(ORIGIN.findall(text))):
        name = f"{prefix}_URL" + (str(i + 1) if i else "")
        values[name] = origin
        text = text.replace(origin, "${" + name + "}")
    cfg = json.loads(text)
    if isinstance(cfg.get("ca_file"), str):
        name = f"{prefix}_CA_FILE"
        values[name] = cfg["ca_file"]
        cfg["ca_file"] = "${" + name + "}"
    return cfg, values


def start_sandbox(connector: str, *, size: int = 12, seed: int = 42, world: Any = None, port: int = 0) -> Any:
    from concord.hub import registry
    from concord.hub.sandbox.faults import FaultConfig
    from concord.hub.sandbox.world import World

    start = registry.sandbox_starter(connector)
    return start(world or World(seed=seed, size=size), faults=FaultConfig(rate=0.0, seed=seed), port=port)


def sandbox_env(system: str, sb: Any) -> dict[str, str]:
    """Every variable a sandbox-wired system's config references: its secrets, URLs and CA file."""
    cfg, values = sandbox_wiring(system, sb.connector_config)
    wanted = set(_refs(cfg))
    return {**{k: v for k, v in sb.env.items() if k in wanted}, **values}


def write_env_file(path: Path, values: Mapping[str, str], *, header: str) -> Path:
    import shlex

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(header.rstrip("\n") + "\n")
        for k, v in sorted(values.items()):
            fh.write(f"export {k}={shlex.quote(v)}\n")
    os.chmod(path, 0o600)
    return path


# ---- the project -----------------------------------------------------------------------------------

@dataclass
class SystemPlan:
    name: str
    connector: str
    role: str
    config: dict[str, Any]
    entities: list[str]
    sandbox: bool = False
    env: dict[str, str] = field(default_factory=dict)     # variable -> what to put in it


def plan_system(name: str, connector: str, *, role: str | None = None, sandbox: bool = False,
                entities: Sequence[str] | None = None) -> SystemPlan:
    from concord.hub import registry

    registry.connector_class(connector)          # an unknown connector: the error lists the known ones
    v = vendor(connector)
    ents = list(entities) if entities else default_entities(connector)
    missing = [e for e in ents if e not in shipped_entities(connector)]
    if missing:
        raise ConfigError(f"{connector} ships no mapping for {', '.join(missing)}; it has "
                          f"{', '.join(shipped_entities(connector))}")
    if sandbox:
        sb = start_sandbox(connector, size=3)
        try:
            cfg, _values = sandbox_wiring(name, sb.connector_config)
        finally:
            sb.stop()
        env = {k: "set by `concord sandbox up --project .` in sandbox.env" for k in _refs(cfg)}
    else:
        cfg = json.loads(json.dumps(v.get("config") or {}))
        env = dict(v.get("env") or {})
    return SystemPlan(name, connector, role or v.get("role", "other"), cfg, ents, sandbox, env)


def _refs(obj: Any) -> list[str]:
    return sorted(set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", json.dumps(obj))))


def build_project(systems: Sequence[SystemPlan], folder: Path, *, warehouse: str = "sqlite:///concord.db",
                  only_shared: bool = True) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """The concord.yaml document and the mappings copied into ``folder`` (system -> entity -> path)."""
    from concord.hub.demo.project import build_config, mappings_dir

    mappings: dict[str, dict[str, str]] = {}
    for s in systems:
        wanted = s.entities
        if only_shared and len(systems) > 1:
            others = {e for o in systems if o is not s for e in o.entities}
            wanted = [e for e in wanted if e in others]
        out = {}
        for e in wanted:
            src = mappings_dir() / s.connector / f"{e}.yaml"
            rel = Path("mappings") / s.name / f"{e}.yaml"
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(src.read_bytes())
            out[e] = rel.as_posix()
        mappings[s.name] = out
    doc = build_config({s.name: {"connector": s.connector, "config": s.config} for s in systems}, mappings,
                       warehouse=warehouse, base=folder)
    for s in systems:
        doc["systems"][s.name]["role"] = s.role if s.role in ("erp", "crm") else "other"
    if not doc["entities"]:
        names = ", ".join(f"{s.name} ({', '.join(s.entities) or 'nothing'})" for s in systems)
        raise ConfigError(f"the systems share no entity with a shipped mapping: {names}")
    return doc, mappings


# ---- what the user must do ---------------------------------------------------------------------------

def todo(systems: Sequence[SystemPlan], mappings: Mapping[str, Mapping[str, str]], folder: Path,
         doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per system: the steps to take in the vendor (empty for a sandbox, which is ready)."""
    out = []
    for s in systems:
        v = vendor(s.connector)
        steps: list[str] = []
        if s.sandbox:
            steps.append("nothing in the vendor: the sandbox is ready (start it with `concord sandbox up --project .`)")
        else:
            steps.extend(" ".join(str(t).split()) for t in v.get("todo") or ())
            targets = {e for e, ecfg in doc["entities"].items() for r in ecfg.get("sync", ())
                       if r["target"] == s.name and r["mode"] in ("upsert", "create", "mirror")}
            custom = re.compile(v["custom_field"]) if v.get("custom_field") else None
            ext = v.get("external_id") or {}
            for entity, rel in mappings.get(s.name, {}).items():
                m = load_packaged((folder / rel).read_text(encoding="utf-8")) or {}
                obj = m.get("source", entity)
                fields = sorted({f for f in _source_fields(m.get("fields") or {}) if custom and custom.match(f)}
                                - {ext.get("field")})
                if fields:
                    steps.append(f"create the custom field(s) on {obj}: {', '.join(fields)}")
                if ext.get("field") and (entity in targets or not ext.get("optional")):
                    steps.append(f"create the external-id field {ext['field']} on {obj} "
                                 f"({' '.join(str(ext.get('how', '')).split())})"
                                 + ("" if entity in targets else "; optional while Concord does not write " + obj))
            for var, what in sorted(s.env.items()):
                steps.append(f"set {var}: {what}")
        out.append({"system": s.name, "connector": s.connector, "role": s.role, "steps": steps})
    return out


def _source_fields(fields: Mapping[str, Any]) -> set[str]:
    out: set[str] = set()
    for rule in fields.values():
        refs: list[Any] = []
        if isinstance(rule, str):
            refs = [rule]
        elif isinstance(rule, dict):
            refs = [rule.get("from"), rule.get("to")]
            if isinstance(rule.get("from"), list):
                refs = list(rule["from"])
        for r in refs:
            if isinstance(r, str):
                out.add(r.split(".")[0].split("[")[0])
    return out


def render_todo(items: Sequence[Mapping[str, Any]], *, sandbox: bool, folder: str) -> str:
    lines = ["# TODO: what to do before the first `concord sync`", ""]
    for it in items:
        lines.append(f"## {it['system']} ({it['connector']}, {it['role']})")
        lines.extend(f"- [ ] {step}" for step in it["steps"])
        lines.append("")
    lines.append("## then")
    cd = f"cd {folder} && " if folder not in (".", "") else ""
    if sandbox:
        lines.append(f"- [ ] `{cd}concord sandbox up --project . &` (starts the sandboxes, writes sandbox.env)")
        lines.append("- [ ] `. ./sandbox.env && concord check && concord sync`")
    else:
        lines.append(f"- [ ] `{cd}concord doctor` (connectivity, credentials, permissions, metadata per system)")
        lines.append("- [ ] `concord check`, then `concord plan` (writes nothing), then `concord sync`")
    return "\n".join(lines) + "\n"


HEADER = """\
# Concord project, written by `concord init{args}`.
# Credentials are ${{ENV}} references only; TODO.md lists what to set and what to create in each system.
# Run:  concord doctor   ·   concord check   ·   concord plan   ·   concord sync   ·   concord status
"""


def write_config(folder: Path, doc: Mapping[str, Any], args: str) -> Path:
    path = folder / "concord.yaml"
    text = yaml.safe_dump(dict(doc), sort_keys=False, allow_unicode=True, width=110)
    path.write_text(HEADER.format(args=args) + text, encoding="utf-8")
    return path
