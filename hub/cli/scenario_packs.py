"""``concord init --scenario NAME``: scenario packs (``hub/packs/<scenario>/pack.yaml``) turned into a project.

A pack names the entities, sync rules, derivations and roll-ups of one business scenario (customer-master,
catalogue, order-to-cash); :func:`build_scenario_project` writes them for one ERP and one CRM, leaving out
(and listing) whatever a connector lacks. The systems themselves are planned by :mod:`concord.hub.cli.scaffold`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any


from concord.hub.cli.scaffold import SystemPlan, _order, vendor
from concord.hub.config.yamlsource import load_packaged
from concord.hub.errors import ConfigError

PACK_ORDER = ("customer-master", "catalogue", "order-to-cash")
_RANK = {"create": ("create",), "update": ("update",), "update_only": ("update",), "upsert": ("create", "update"),
         "mirror": ("create", "update")}


def pack_names() -> list[str]:
    root = resources.files("concord.hub.packs")
    names = [c.name for c in root.iterdir() if c.is_dir() and c.joinpath("pack.yaml").is_file()]
    return sorted(names, key=lambda n: (PACK_ORDER.index(n) if n in PACK_ORDER else len(PACK_ORDER), n))


def load_pack(name: str) -> dict[str, Any]:
    if name not in pack_names():
        raise ConfigError(f"no scenario pack {name!r}; known: {', '.join(pack_names())}")
    text = resources.files("concord.hub.packs").joinpath(name, "pack.yaml").read_text(encoding="utf-8")
    return load_packaged(text) or {}


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
    from concord.hub.demo.project import mappings_dir

    path = mappings_dir() / connector / f"{entity}.yaml"
    if not path.is_file():
        return None
    return load_packaged(path.read_text(encoding="utf-8")) or {}


def _field_rule(m: Mapping[str, Any], fld: str) -> Any:
    fields = m.get("fields") or {}
    if fld in fields:
        return fields[fld]
    prefix = fld + "."
    nested = [v for k, v in fields.items() if k.startswith(prefix)]
    return nested[0] if nested else None


def mapping_writes(m: Mapping[str, Any], fld: str) -> bool:
    """Whether the mapping document ``m`` writes canonical field ``fld`` to its system."""
    rule = _field_rule(m, fld)
    return rule is not None and not (isinstance(rule, dict) and (rule.get("direction") == "in" or "const" in rule))


def mapping_reads(m: Mapping[str, Any], fld: str) -> bool:
    """Whether the mapping document ``m`` reads canonical field ``fld`` from its system."""
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
            lacking = [f for f in needs if not mapping_reads(used[d["from"]][src_role], f)]
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
    _crm_orders(names, by_role["crm"], entities, used, left_out, missing)
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
            from concord.hub.demo.project import mappings_dir

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
                lacks = "create" if mode == "update_only" else "update"
                missing.append(f"{pname}: {s.connector} ({role}) does not {lacks} {entity} records"
                               + (f" ({note})" if note else "") + f"; sync rule {entity} -> {s.name} is {mode}")
            new: dict[str, Any] = {"target": s.name, "mode": mode}
            if rule.get("fields"):
                wanted = list(rule["fields"]) + list((add_fields.get(entity) or {}).get(role, ()))
                wanted = [f for f in wanted if f in live_derived or f in live_rolled or
                          not (f in _pack_computed(names))]
                keep = [f for f in wanted if mapping_writes(have[role], f)]
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
    extensions, kpis = _kpis(names, by_role["crm"], out_entities, mappings, folder, missing)
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
    if extensions:
        doc["extensions"] = extensions
    if kpis:
        doc["kpis"] = kpis
    if not ordered:
        raise ConfigError("the scenario leaves no entity for this pair: " + "; ".join(missing))
    return ScenarioProject(doc, mappings, missing, names, left_out)


def _crm_orders(names: Sequence[str], crm: SystemPlan, entities: dict[str, dict[str, Any]],
                used: dict[str, dict[str, dict[str, Any]]], left_out: list[str], missing: list[str]) -> None:
    """A pack's ``crm_orders``: where its derivation was left out (the CRM's deals have no lines), the CRM's own sales
    orders join the sales_order entity, with the pack's sync rules back to the CRM."""
    for pname in names:
        spec = load_pack(pname).get("crm_orders")
        if not spec or f"derivation {spec['instead_of']}" not in left_out or "sales_order" not in entities:
            continue
        m = _mapping_doc(crm.connector, "sales_order")
        lacking = [f for f in spec.get("requires") or () if m is None or not mapping_reads(m, f)]
        if m is None or lacking:
            why = "no sales_order mapping" if m is None else f"sales_order mapping does not read {', '.join(lacking)}"
            missing.append(f"{pname}: {crm.connector} (crm) {why}: its orders do not reach the ERP either")
            continue
        used["sales_order"]["crm"] = m
        info = entities["sales_order"]
        info["spec"] = {**info["spec"], "sync": [*(info["spec"].get("sync") or ()), *spec["sync"]]}


def add_mapping_rules(path: Path, rules: Mapping[str, str], comment: str) -> None:
    """Append ``field: <rule>`` lines to the ``fields:`` block of a mapping copy (its last block, as in every
    shipped mapping; otherwise the document is rewritten without its comments). Rewritten fields are replaced."""
    import yaml

    text = path.read_text(encoding="utf-8")
    doc = load_packaged(text) or {}
    if list(doc)[-1:] != ["fields"]:
        doc.setdefault("fields", {}).update({f: load_packaged(r) for f, r in rules.items()})
        path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
        return
    lines = [ln for ln in text.rstrip("\n").splitlines()
             if not any(ln.startswith(f"  {f}:") for f in rules) and ln != f"  # {comment}"]
    lines += [f"  # {comment}", *(f"  {f}: {r}" for f, r in rules.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def kpi_rules(kpi: Mapping[str, Any], connector: str) -> dict[str, str]:
    """canonical field -> the mapping rule writing it to the CRM's custom field (``crm_fields`` of a pack KPI)."""
    fields = (kpi.get("crm_fields") or {}).get(connector) or {}
    return {f: f"{{from: {src}, transform: decimal, direction: out}}" for f, src in fields.items()}


def _kpis(names: Sequence[str], crm: SystemPlan, entities: dict[str, Any], mappings: dict[str, dict[str, str]],
          folder: Path, missing: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The packs' ``extensions:`` and ``kpis:``; each KPI's fields are added to the CRM's account mapping copy and
    to the account's sync rule to the CRM (a CRM connector the pack names no fields for keeps them in Concord)."""
    extensions: dict[str, Any] = {}
    kpis: list[dict[str, Any]] = []
    for pname in names:
        pack = load_pack(pname)
        if not pack.get("kpis"):
            continue
        if "account" not in entities:
            missing.append(f"{pname}: KPIs left out (account not in the project)")
            continue
        for entity, ext in (pack.get("extensions") or {}).items():
            extensions.setdefault(entity, {"fields": {}})["fields"].update(ext.get("fields") or {})
        rel = mappings.get(crm.name, {}).get("account")
        for kpi in pack["kpis"]:
            kpis.append({k: v for k, v in kpi.items() if k != "crm_fields"})
            rules = kpi_rules(kpi, crm.connector)
            if not rules or rel is None:
                missing.append(f"{pname}: no {crm.connector} account fields for the KPIs {kpi['name']} (crm_fields): "
                               f"they stay in Concord (warehouse, dashboard) and do not reach {crm.name}")
                continue
            add_mapping_rules(folder / rel, rules, f"KPIs from customer_kpi ({pname} pack, kpis: {kpi['name']})")
            for rule in entities["account"].get("sync") or ():
                if rule["target"] == crm.name and isinstance(rule.get("fields"), list):
                    rule["fields"] = rule["fields"] + [f for f in rules if f not in rule["fields"]]
    return extensions, kpis


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
