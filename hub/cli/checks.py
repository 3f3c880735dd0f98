"""Checks of the CLI beyond ``hub.engine.check``: what a vendor must have for the sync rules to work.

The one that matters most: the external-id field a target keeps Concord's golden id in (Salesforce
``Concord_Id__c``, Zoho ``Concord_ID``...). Without it a create is not idempotent and an upsert is not
possible; the connector's metadata tells whether it exists and is marked as an external id.
"""
from __future__ import annotations

import os
from typing import Any

from concord.hub.errors import ConfigError

WRITES_NEW = ("upsert", "create", "mirror")


def expected_external_id(config: Any, entity: str) -> str | None:
    """The external-id field the connector's config expects for ``entity`` (None: none configured)."""
    fn = getattr(config, "ext_field", None)
    if callable(fn):                                     # salesforce: a default for every object
        return fn(entity)
    fields = getattr(config, "external_id_fields", None)
    if isinstance(fields, dict) and fields.get(entity):
        return fields[entity]
    resources = getattr(config, "resources", None)       # oracle_fusion
    if isinstance(resources, dict) and entity in resources:
        return getattr(resources[entity], "external_id_field", None)
    return None


def external_id_problems(ctx: Any, *, entities: list[str] | None = None) -> list[ConfigError]:
    """One problem per (target, entity) a sync rule creates in, whose expected external-id field is missing."""
    project = ctx.project
    out: list[ConfigError] = []
    seen: set[tuple[str, str]] = set()
    for entity, ecfg in project.config.entities.items():
        if entities and entity not in entities:
            continue
        for rule in ecfg.sync:
            if rule.mode not in WRITES_NEW or rule.target not in ecfg.sources:
                continue
            system = rule.target
            try:
                source_entity = project.source_entity(entity, system)
                if (system, source_entity) in seen:
                    continue
                seen.add((system, source_entity))
                connector = ctx.connector(system)
                spec = ctx.spec(system, source_entity)
            except Exception:          # unreachable or unknown: hub.engine.check reports that
                continue
            want = expected_external_id(getattr(connector, "config", None), spec.name)
            if not want or spec.external_id_field:
                continue
            vendor = project.config.systems[system].connector
            field = spec.field(want) if spec.fields else None
            if field is None:
                msg = (f"{system}: {spec.name} has no field {want}, the external-id field Concord writes its id to; "
                       f"create it in {vendor} ({spec.name}: {want}, unique, marked as an external id) — sync rule "
                       f"{entity} -> {system} ({rule.mode}) needs it")
            else:
                msg = (f"{system}: {spec.name}.{want} exists but is not marked as an external id (unique) in {vendor}; "
                       f"mark it, or sync rule {entity} -> {system} ({rule.mode}) cannot upsert")
            out.append(ConfigError(msg, code="external_id_missing"))
    return out


def extension_problems(project: Any) -> list[ConfigError]:
    """The project's own fields (``extensions:``) that lead nowhere, at their line in concord.yaml.

    - a declared field that no mapping reads or writes and no derivation, roll-up or KPI sets
      (a typo, or a field whose mapping was forgotten);
    - a sync rule that lists an extension field its target's mapping cannot write back.
    A mapping that names an undeclared field fails when the project loads (file:line of the mapping).
    """
    vocab = getattr(project, "vocabulary", None)
    if vocab is None or not vocab.extended:
        return []
    doc = project.doc
    cfg = project.config
    set_by: dict[str, set[str]] = {}
    for d in cfg.derivations:
        set_by.setdefault(d.to, set()).update(d.fields, [d.link] if d.link else [])
        set_by.setdefault(d.from_, set()).update(d.back, [d.back_link] if d.back_link else [])
    for r in (*cfg.rollups, *cfg.kpis):
        set_by.setdefault(r.to, set()).update(r.fields)
    out: list[ConfigError] = []
    for entity, fields in vocab.extension_fields.items():
        mappings = {s: m for (e, s), m in project.mappings.items() if e == entity}
        used = set(set_by.get(entity, ()))
        for m in mappings.values():
            used |= m.in_fields() | m.out_fields()
            used |= {f"{r.field}.{c.field}" for r in m.rules if r.kind == "list" for c in r.children}   # lines.x
        for name in fields:
            if name not in used:
                files = ", ".join(sorted(os.path.relpath(m.file, project.base_dir) for m in mappings.values()))
                out.append(doc.error(f"extension field {entity}.{name} is declared, but no mapping reads or writes it "
                                     f"and no derivation, roll-up or KPI sets it; map it (`{name}: <source field>`) "
                                     f"in a mapping of {entity}" + (f" ({files})" if files else ""),
                                     ("extensions", entity, "fields", name)))
        ecfg = cfg.entities.get(entity)
        for i, rule in enumerate(ecfg.sync if ecfg else ()):
            m = mappings.get(rule.target)
            if m is None or rule.fields == "all":
                continue
            writable = m.out_fields()
            for j, f in enumerate(rule.fields):
                if f in fields and f not in writable:
                    out.append(doc.error(f"sync rule {entity} -> {rule.target} lists extension field {f!r}, but "
                                         f"{os.path.relpath(m.file, project.base_dir)} has no rule that writes it back "
                                         f"(add `{f}: <source field>` without direction: in)",
                                         ("entities", entity, "sync", i, "fields", j)))
    return out


def warehouse_changes(project: Any) -> tuple[list[str], list[ConfigError]]:
    """What the next run will change in an existing warehouse for the project's fields, and what it will refuse.

    Nothing is changed here; a warehouse that does not exist yet or cannot be reached is left to ``concord
    doctor`` and the run (everything is created at the first one)."""
    vocab = getattr(project, "vocabulary", None)
    if vocab is None or not vocab.extended:
        return [], []
    from sqlalchemy import inspect

    from concord.hub.config.dburl import resolve_warehouse_url
    from concord.hub.warehouse import Warehouse
    from concord.hub.warehouse.evolve import pending_changes, unsafe_changes

    try:
        url = resolve_warehouse_url(project.base_dir, project.config.warehouse)
        if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///"):]):
            return [], []
        wh = Warehouse.open(url, migrate=False)
    except ConfigError:
        return [], []
    try:
        with wh.engine.connect() as conn:
            if "account" not in inspect(conn).get_table_names():
                return [], []
            unsafe = unsafe_changes(conn, project.models)
            return [c for c in pending_changes(conn, project.models) if "(refused" not in c], unsafe
    except Exception:   # unreachable or unreadable: the run says why
        return [], []
    finally:
        wh.dispose()
