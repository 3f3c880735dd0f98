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

from hub.errors import ConfigError

ORIGIN = re.compile(r"(?:https?)://(?:127\.0\.0\.1|localhost|\[::1\]):\d+")
ENTITY_ORDER = ("account", "product", "contact", "opportunity", "sales_order", "invoice")


def vendors() -> dict[str, Any]:
    text = resources.files("hub.starter").joinpath("vendors.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text) or {}


def vendor(connector: str) -> dict[str, Any]:
    v = vendors()
    if connector not in v:
        hint = (" (for `files`, run `concord init` without --erp/--crm: that is the files starter)"
                if connector == "files" else "")
        raise ConfigError(f"no project template for connector {connector!r}; known: {', '.join(sorted(v))}{hint}")
    return v[connector]


def shipped_entities(connector: str) -> list[str]:
    from hub.demo.project import mappings_dir

    folder = mappings_dir() / connector
    return sorted((p.stem for p in folder.glob("*.yaml")), key=_order)


def _order(entity: str) -> tuple[int, str]:
    return (ENTITY_ORDER.index(entity) if entity in ENTITY_ORDER else len(ENTITY_ORDER), entity)


def default_entities(connector: str) -> list[str]:
    """The entities a new project syncs with this connector: those the demo proves (its profile)."""
    from hub.demo.profiles import PROFILES

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
    from hub import registry
    from hub.sandbox.faults import FaultConfig
    from hub.sandbox.world import World

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
    from hub import registry

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
    from hub.demo.project import build_config, mappings_dir

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
                m = yaml.safe_load((folder / rel).read_text(encoding="utf-8")) or {}
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


# ---- scenario packs (hub/packs/<scenario>/pack.yaml) ---------------------------------------------------

PACK_ORDER = ("customer-master", "catalogue", "order-to-cash")
_RANK = {"create": ("create",), "update": ("update",), "update_only": ("update",), "upsert": ("create", "update"),
         "mirror": ("create", "update")}


def pack_names() -> list[str]:
    root = resources.files("hub.packs")
    names = [c.name for c in root.iterdir() if c.is_dir() and c.joinpath("pack.yaml").is_file()]
    return sorted(names, key=lambda n: (PACK_ORDER.index(n) if n in PACK_ORDER else len(PACK_ORDER), n))


def load_pack(name: str) -> dict[str, Any]:
    if name not in pack_names():
        raise ConfigError(f"no scenario pack {name!r}; known: {', '.join(pack_names())}")
    text = resources.files("hub.packs").joinpath(name, "pack.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text) or {}


def resolve_scenarios(names: Sequence[str]) -> list[str]:
    """The packs asked for and the packs they require (customer-master is implied by the others), in order."""
    out: set[str] = set()

    def add(n: str) -> None:
        if n in out:
            return
        out.add(n)
        for r in load_pack(n).get("requires") or ():
            add(r)

    for n in names:
        add(n)
    order = pack_names()
    return sorted(out, key=order.index)


def _mapping_doc(connector: str, entity: str) -> dict[str, Any] | None:
    from hub.demo.project import mappings_dir

    path = mappings_dir() / connector / f"{entity}.yaml"
    if not path.is_file():
        return None
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _field_rule(m: Mapping[str, Any], fld: str) -> Any:
    fields = m.get("fields") or {}
    if fld in fields:
        return fields[fld]
    prefix = fld + "."
    nested = [v for k, v in fields.items() if k.startswith(prefix)]
    return nested[0] if nested else None


def _writes(m: Mapping[str, Any], fld: str) -> bool:
    rule = _field_rule(m, fld)
    return rule is not None and not (isinstance(rule, dict) and (rule.get("direction") == "in" or "const" in rule))


def _reads(m: Mapping[str, Any], fld: str) -> bool:
    rule = _field_rule(m, fld)
    return rule is not None and not (isinstance(rule, dict) and rule.get("direction") == "out")


def _capped_mode(mode: str, can: set[str]) -> str | None:
    want = set(_RANK[mode])
    have = want & can
    if have == want:
        return mode
    if have == {"update"}:
        return "update_only"
    if have == {"create"}:
        return "create"
    return None


def _subst(obj: Any, roles: Mapping[str, str], golive: str) -> Any:
    if isinstance(obj, dict):
        return {k: _subst(v, roles, golive) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_subst(v, roles, golive) for v in obj]
    if obj == "$golive":
        return golive
    return obj


@dataclass
class ScenarioProject:
    doc: dict[str, Any]
    mappings: dict[str, dict[str, str]]
    missing: list[str]          # one line per missing piece (a mapping, a field, a write the connector lacks)
    scenarios: list[str]
    left_out: list[str]         # entities, derivations and roll-ups not written


def build_scenario_project(scenarios: Sequence[str], systems: Sequence[SystemPlan], folder: Path, *,
                           golive: str, warehouse: str = "sqlite:///concord.db") -> ScenarioProject:
    """concord.yaml and mappings for ``scenarios`` (with what they require) between an ERP and a CRM.

    Whatever a connector lacks (a mapping the scenario needs, a field a sync rule writes, a write its
    connector does not do) is one line in ``missing``; the entity, derivation or roll-up it breaks is left
    out, so the project written always passes ``concord check``."""
    names = resolve_scenarios(scenarios)
    by_role = {s.role: s for s in systems}
    if set(by_role) != {"erp", "crm"}:
        raise ConfigError("a scenario needs one ERP and one CRM")
    roles = {r: s.name for r, s in by_role.items()}
    missing: list[str] = []
    left_out: list[str] = []
    entities: dict[str, dict[str, Any]] = {}
    used: dict[str, dict[str, dict[str, Any]]] = {}      # entity -> role -> mapping doc
    derivations: list[dict[str, Any]] = []
    rollups: list[dict[str, Any]] = []
    add_fields: dict[str, dict[str, list[str]]] = {}
    added_by: dict[tuple[str, str], str] = {}
    for pname in names:
        pack = load_pack(pname)
        for entity, spec in (pack.get("entities") or {}).items():
            if "mappings" not in spec:                     # an extension of an entity of a required pack
                for role, flds in (spec.get("add_fields") or {}).items():
                    add_fields.setdefault(entity, {}).setdefault(role, []).extend(flds)
                    added_by.update({(entity, f): pname for f in flds})
                continue
            if entity in entities or entity in left_out:
                continue
            have: dict[str, dict[str, Any]] = {}
            ok = True
            for role, need in spec["mappings"].items():
                s = by_role[role]
                m = _mapping_doc(s.connector, entity)
                if m is not None:
                    have[role] = m
                elif need == "required":
                    missing.append(f"{pname}: {s.connector} ({role}) has no {entity} mapping "
                                   f"(mappings/{s.connector}/{entity}.yaml): {entity} left out")
                    ok = False
            if ok and len(have) < int(spec.get("min_sources", 1)):
                absent = [f"{by_role[r].connector} ({r})" for r in spec["mappings"] if r not in have]
                missing.append(f"{pname}: {', '.join(absent)} has no {entity} mapping: {entity} has nothing to "
                               f"link with and is left out")
                ok = False
            if not ok:
                left_out.append(entity)
                continue
            used[entity] = have
            entities[entity] = {"spec": spec, "pack": pname}
    # derivations and roll-ups: their entities must be there, and the source mapping must read what they copy
    for pname in names:
        pack = load_pack(pname)
        for d in pack.get("derivations") or ():
            d = dict(d)
            needs = list(d.pop("requires", ()) or ())
            absent = [e for e in (d["from"], d["to"]) if e not in entities]
            if absent:
                missing.append(f"{pname}: derivation {d['name']} left out ({', '.join(absent)} not in the project)")
                left_out.append(f"derivation {d['name']}")
                continue
            src_role = next(iter(used[d["from"]]))
            s = by_role[src_role]
            lacking = [f for f in needs if not _reads(used[d["from"]][src_role], f)]
            if lacking:
                missing.append(f"{pname}: {s.connector} ({src_role}) {d['from']} mapping does not read "
                               f"{', '.join(lacking)}: derivation {d['name']} left out")
                left_out.append(f"derivation {d['name']}")
                continue
            derivations.append(_subst(d, roles, golive))
        for r in pack.get("rollups") or ():
            absent = [e for e in (r["from"], r["to"]) if e not in entities]
            if absent:
                missing.append(f"{pname}: roll-up {r['name']} left out ({', '.join(absent)} not in the project)")
                left_out.append(f"roll-up {r['name']}")
                continue
            rollups.append(dict(r))
    live_derived = {f for d in derivations for f in d.get("back") or ()}
    live_rolled = {f for r in rollups for f in r["fields"]}
    # the entities' config, with roles replaced by system names and sync rules capped
    mappings: dict[str, dict[str, str]] = {s.name: {} for s in systems}
    out_entities: dict[str, Any] = {}
    for entity, info in entities.items():
        spec, pname = info["spec"], info["pack"]
        have = used[entity]
        sources = {}
        for role, m in have.items():
            s = by_role[role]
            rel = Path("mappings") / s.name / f"{entity}.yaml"
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            from hub.demo.project import mappings_dir

            (folder / rel).write_bytes((mappings_dir() / s.connector / f"{entity}.yaml").read_bytes())
            mappings[s.name][entity] = rel.as_posix()
            sources[s.name] = {"mapping": rel.as_posix()}
        ecfg: dict[str, Any] = {"sources": sources}
        if spec.get("match"):
            ecfg["match"] = spec["match"]
        if spec.get("survivorship"):
            ecfg["survivorship"] = _survivorship(spec["survivorship"], roles, have)
        sync = []
        for rule in spec.get("sync") or ():
            role = rule["target"]
            s = by_role[role]
            if role not in have:
                continue                                    # an optional mapping the connector does not have
            can = set((vendor(s.connector).get("writes") or {}).get(entity) or ())
            mode = _capped_mode(rule.get("mode", "upsert"), can)
            note = (vendor(s.connector).get("writes_note") or {}).get(entity)
            if mode is None:
                missing.append(f"{pname}: {s.connector} ({role}) does not write {entity} ({rule.get('mode', 'upsert')})"
                               + (f": {note}" if note else "") + f"; sync rule {entity} -> {s.name} left out")
                continue
            if mode != rule.get("mode", "upsert"):
                missing.append(f"{pname}: {s.connector} ({role}) does not create {entity} records"
                               + (f" ({note})" if note else "") + f"; sync rule {entity} -> {s.name} is {mode}")
            new: dict[str, Any] = {"target": s.name, "mode": mode}
            if rule.get("fields"):
                wanted = list(rule["fields"]) + list((add_fields.get(entity) or {}).get(role, ()))
                wanted = [f for f in wanted if f in live_derived or f in live_rolled or
                          not (f in _pack_computed(names))]
                keep = [f for f in wanted if _writes(have[role], f)]
                lost = [f for f in wanted if f not in keep]
                important = [f for f in lost if f in live_derived or f in live_rolled]
                if important:
                    who = added_by.get((entity, important[0]), pname)
                    missing.append(f"{who}: {s.connector} ({role}) {entity} mapping does not write "
                                   f"{', '.join(important)} (mappings/{s.connector}/{entity}.yaml): those stay in "
                                   f"Concord (warehouse, dashboard) and do not reach {s.name}")
                if not wanted:
                    continue                 # its fields come from a derivation or roll-up left out (said above)
                if not keep:
                    missing.append(f"{pname}: sync rule {entity} -> {s.name} left out (its mapping writes none of "
                                   f"its fields)")
                    continue
                new["fields"] = keep
            if rule.get("when"):
                new["when"] = _subst(rule["when"], roles, golive)
            sync.append(new)
        if sync:
            ecfg["sync"] = sync
        in_use = any(entity in (x["from"], x["to"]) for x in (*derivations, *rollups))
        if len(sources) < 2 and not sync and not in_use:
            missing.append(f"{pname}: {entity} left out (one source, nothing derived from it, no sync rule left)")
            left_out.append(entity)
            for s in systems:
                rel_path = mappings[s.name].pop(entity, None)
                if rel_path:
                    (folder / rel_path).unlink(missing_ok=True)
            continue
        out_entities[entity] = ecfg
    ordered = dict(sorted(out_entities.items(), key=lambda kv: _order(kv[0])))
    doc: dict[str, Any] = {
        "version": 1,
        "warehouse": warehouse,
        "systems": {s.name: {"connector": s.connector, "role": s.role, "config": s.config} for s in systems},
        "entities": ordered,
    }
    if derivations:
        doc["derivations"] = derivations
    if rollups:
        doc["rollups"] = rollups
    if not ordered:
        raise ConfigError("the scenario leaves no entity for this pair: " + "; ".join(missing))
    return ScenarioProject(doc, mappings, missing, names, left_out)


def _pack_computed(names: Sequence[str]) -> set[str]:
    """Fields the packs compute (derivation back fields, roll-up fields): synced only when their rule is live."""
    out: set[str] = set()
    for n in names:
        p = load_pack(n)
        for d in p.get("derivations") or ():
            out |= set(d.get("back") or ())
        for r in p.get("rollups") or ():
            out |= set(r.get("fields") or ())
    return out


def _survivorship(spec: Mapping[str, Any], roles: Mapping[str, str], have: Mapping[str, Any]) -> dict[str, Any]:
    def ranks(prio: Sequence[str]) -> list[str]:
        return [roles[r] for r in prio if r in have]

    out: dict[str, Any] = {"strategy": spec.get("strategy", "latest"), "priority": ranks(spec.get("priority") or ())}
    fields = {}
    for f, fs in (spec.get("fields") or {}).items():
        fields[f] = {**fs, "priority": ranks(fs.get("priority") or ())} if "priority" in fs else dict(fs)
    if fields:
        out["fields"] = fields
    return out


def render_missing(missing: Sequence[str]) -> str:
    if not missing:
        return ""
    lines = ["## missing for this pair (left out of concord.yaml; add the piece, then `concord init --force` again)"]
    lines.extend(f"- [ ] {m}" for m in missing)
    return "\n".join(lines) + "\n"
