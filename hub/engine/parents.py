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

from sqlalchemy import Connection

from concord.hub.engine.context import RunContext
from concord.hub.warehouse.stores import golden as golden_store
from concord.hub.warehouse.stores import outbox as outbox_store
from concord.hub.warehouse.stores.golden import GoldenRow


def waits_for_parents(ctx: RunContext, conn: Connection, system: str,
                      waiting: Sequence[tuple[Any, list[tuple[str, str]]]]) -> list[tuple[Any, dict[str, Any]]]:
    """For each waiting row: ``{"kind": "waiting" | "blocked", "message": ...}``.

    The parents' golden records and dead-lettered creates are read set-based, per parent entity."""
    parents: dict[str, set[str]] = {}
    for _row, misses in waiting:
        for entity, gid in misses:
            parents.setdefault(entity, set()).add(gid)
    goldens = {e: golden_store.load(conn, e, ids) for e, ids in parents.items()}
    dead = {e: outbox_store.dead_creates(conn, e, system, ids) for e, ids in parents.items()}
    out: list[tuple[Any, dict[str, Any]]] = []
    verdicts: dict[tuple[str, str], tuple[str, str]] = {}
    for row, misses in waiting:
        found = []
        for parent_entity, parent_gid in dict.fromkeys(misses):
            key = (parent_entity, parent_gid)
            if key not in verdicts:
                verdicts[key] = _verdict(ctx, system, parent_entity, parent_gid,
                                         goldens[parent_entity].get(parent_gid), dead[parent_entity].get(parent_gid))
            found.append(verdicts[key])
        kind = "blocked" if any(k == "blocked" for k, _m in found) else "waiting"
        out.append((row, {"kind": kind, "message": "; ".join(m for k, m in found if k == kind)}))
    return out


def _verdict(ctx: RunContext, system: str, entity: str, gid: str, golden: GoldenRow | None,
             dead_message: str | None) -> tuple[str, str]:
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
    if golden is None and "=" in gid:        # a business key (a line's sku) that no golden record holds
        return "blocked", (f"no {entity} with {gid} in the warehouse, so none can be written to {system}: sync or "
                           f"link that {entity} first")
    if golden is None or golden.deleted:
        return "blocked", f"{entity} {gid} does not exist (or was deleted) in the warehouse"
    if not any(r.applies(golden.data or {}) for r in creating):
        # it may meet them later (a prospect becomes a customer): waiting, with the reason
        return "waiting", (f"waits for {entity} {gid}, which does not meet the conditions (when) of the "
                           f"{entity} -> {system} rule yet")
    if dead_message is not None:
        return "blocked", (f"the create of {entity} {gid} in {system} was dead-lettered ({dead_message[:200]}): "
                           f"fix it and `concord deadletter retry`")
    return "waiting", f"waits for {entity} {gid} to be written to {system}"
