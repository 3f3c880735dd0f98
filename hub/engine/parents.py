"""Why a write waits for its parent: not written yet (it will be), or blocked (it never will be).

A child (a contact) refers to its parent (an account) by the parent's id in the target. While the
parent's create is queued or in flight the child waits and is retried at the next push. When no
rule will ever write the parent to that system (no rule, an ``update_only`` rule, conditions the
parent does not meet, or a parent create that was dead-lettered), waiting is pointless: the child
is reported as blocked with the reason and what to do, and stays queued so that it goes as soon
as the parent is linked (``concord link``) or the rule changes.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from hub.engine.context import RunContext
from hub.warehouse import tables as T
from hub.warehouse.stores.outbox import OutboxStatus


def waits_for_parents(ctx: RunContext, conn: Connection, system: str,
                      waiting: Sequence[tuple[Any, list[tuple[str, str]]]]) -> list[tuple[Any, dict[str, Any]]]:
    """For each waiting row: ``{"kind": "waiting" | "blocked", "message": ...}``."""
    out: list[tuple[Any, dict[str, Any]]] = []
    verdicts: dict[tuple[str, str], str | None] = {}
    for row, misses in waiting:
        reasons = []
        for parent_entity, parent_gid in dict.fromkeys(misses):
            key = (parent_entity, parent_gid)
            if key not in verdicts:
                verdicts[key] = _blocked_because(ctx, conn, system, parent_entity, parent_gid)
            if verdicts[key]:
                reasons.append(verdicts[key])
        if reasons:
            out.append((row, {"kind": "blocked", "message": "; ".join(reasons)}))
        else:
            parents = ", ".join(f"{e} {g}" for e, g in dict.fromkeys(misses))
            out.append((row, {"kind": "waiting", "message": f"waits for {parents} to be written to {system}"}))
    return out


def _blocked_because(ctx: RunContext, conn: Connection, system: str, entity: str, gid: str) -> str | None:
    ent = ctx.project.config.entities.get(entity)
    fix = f"link {entity} {gid} to an existing {system} record (concord link) or change the rule"
    if ent is None:
        return f"{entity} is not synced by this project, so {entity} {gid} is never written to {system}"
    rules = [r for r in ent.sync if r.target == system]
    if not rules:
        return f"no sync rule writes {entity} to {system}, so {entity} {gid} never reaches it: {fix}"
    creating = [r for r in rules if r.may_create]
    if not creating:
        modes = ", ".join(sorted({r.mode for r in rules}))
        return (f"the {entity} -> {system} rule is {modes} and never creates, and {entity} {gid} has no "
                f"record in {system}: {fix}")
    g = T.golden.c
    golden = conn.execute(select(g.data, g.deleted).where(g.entity == entity, g.golden_id == gid)).first()
    if golden is None or golden.deleted:
        return f"{entity} {gid} does not exist (or was deleted) in the warehouse"
    if not any(r.applies(golden.data or {}) for r in creating):
        return f"{entity} {gid} does not meet the conditions (when) of the {entity} -> {system} rule: {fix}"
    o = T.outbox.c
    dead = conn.execute(select(o.last_error).where(
        o.entity == entity, o.golden_id == gid, o.system == system, o.op.in_(["create", "upsert"]),
        o.status == OutboxStatus.DEAD.value).order_by(o.id.desc()).limit(1)).first()
    if dead is not None:
        msg = (dead.last_error or {}).get("message", "") if isinstance(dead.last_error, dict) else ""
        return (f"the create of {entity} {gid} in {system} was dead-lettered ({msg[:200]}): "
                f"fix it and `concord deadletter retry`")
    return None
