"""Replay: re-push the golden state of a time window to one system (after a fix on its side)."""
from __future__ import annotations

import datetime as dt

from concord.hub.engine.context import RunContext
from concord.hub.engine.plan import PlannedChange, _enqueue, plan_record
from concord.hub.warehouse.stores import lookup, xrefs
from concord.hub.warehouse.stores.conflicts import held_fields


def replay(ctx: RunContext, system: str, since: dt.datetime, *, entities: list[str] | None = None) -> list[PlannedChange]:
    """Queue every golden record changed since ``since`` for ``system``, all its mapped fields (not a diff)."""
    queued: list[PlannedChange] = []
    for entity in ctx.project.entity_order():
        if entities and entity not in entities:
            continue
        rules = [r for r in ctx.project.config.entities[entity].sync if r.target == system]
        if not rules:
            continue
        rule = rules[0]
        mapping = ctx.project.mapping(entity, system)
        spec = ctx.spec(system, ctx.project.source_entity(entity, system))
        fields = mapping.out_fields() if rule.fields == "all" else mapping.out_fields() & set(rule.fields)
        last = ""
        while True:
            with ctx.warehouse.tx() as conn:
                rows = lookup.changed_since(conn, entity, since, after=last, limit=ctx.project.config.batch_size)
                if not rows:
                    break
                ids = [r.golden_id for r in rows]
                links = {gid: sid for (gid, _s), sid in xrefs.first_links(conn, entity, ids, system=system).items()}
                held: dict[str, set[str]] = {}
                for gid, f in held_fields(conn, entity, ids):
                    held.setdefault(gid, set()).add(f)
                batch = []
                for r in rows:
                    ch = plan_record(entity=entity, rule=rule, spec=spec, fields=fields, in_fields=set(),
                                     golden_id=r.golden_id, golden=r.data, deleted=r.deleted,
                                     target_id=links.get(r.golden_id), current=None, written=None,
                                     held=frozenset(held.get(r.golden_id, ())))
                    if ch is not None:
                        batch.append(ch)
                _enqueue(ctx, conn, batch)
                queued.extend(batch)
                last = ids[-1]
    return queued
