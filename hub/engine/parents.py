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
    verdicts: dict[tuple[str, str], tuple[str, str]] = {}
    for row, misses in waiting:
        found = []
        for parent_entity, parent_gid in dict.fromkeys(misses):
            key = (parent_entity, parent_gid)
            if key not in verdicts:
                verdicts[key] = _verdict(ctx, conn, system, parent_entity, parent_gid)
            found.append(verdicts[key])
        kind = "blocked" if any(k == "blocked" for k, _m in found) else "waiting"
        out.append((row, {"kind": kind, "message": "; ".join(m for k, m in found if k == kind)}))
    return out


def _verdict(ctx: RunContext, conn: Connection, system: str, entity: str, gid: str) -> tuple[str, str]:
    """("waiting" | "blocked", why) for one missing parent."""
    ent = ctx.project.config.entities.get(entity)
    fix = f"link {entity} {gid} to an existing {system} record (concord link) or change the rule"
    if ent is None:
        return "blocked", f"{entity} is not synced by this project, so {entity} {gid} is never written to {system}"
    rules = [r for r in ent.sync if r.target == system]
    if not rules:
        return "blocked", f"no sync rule writes {entity} to {system}, so {entity} {gid} never reaches it: {fix}"
    creating = [r for r in rules if r.may_create]
    if not creating:
        modes = ", ".join(sorted({r.mode for r in rules}))
        return "blocked", (f"the {entity} -> {system} rule is {modes} and never creates, and {entity} {gid} has "
                           f"no record in {system}: {fix}")
    g = T.golden.c
    golden = conn.execute(select(g.data, g.deleted).where(g.entity == entity, g.golden_id == gid)).first()
    if golden is None or golden.deleted:
        return "blocked", f"{entity} {gid} does not exist (or was deleted) in the warehouse"
    if not any(r.applies(golden.data or {}) for r in creating):
        # it may meet them later (a prospect becomes a customer): waiting, with the reason
        return "waiting", (f"waits for {entity} {gid}, which does not meet the conditions (when) of the "
                           f"{entity} -> {system} rule yet")
    o = T.outbox.c
    dead = conn.execute(select(o.last_error).where(
        o.entity == entity, o.golden_id == gid, o.system == system, o.op.in_(["create", "upsert"]),
        o.status == OutboxStatus.DEAD.value).order_by(o.id.desc()).limit(1)).first()
    if dead is not None:
        msg = (dead.last_error or {}).get("message", "") if isinstance(dead.last_error, dict) else ""
        return "blocked", (f"the create of {entity} {gid} in {system} was dead-lettered ({msg[:200]}): "
                           f"fix it and `concord deadletter retry`")
    return "waiting", f"waits for {entity} {gid} to be written to {system}"
