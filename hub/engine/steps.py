"""A sync cycle taken step by step, for orchestrators (the Prefect flows in ``flows/``).

``run_cycle`` runs a whole cycle in one call. An orchestrator that wants each stream as its own
task uses :class:`CycleRun` instead: the same functions (pull_stream, process_entity, plan_entity,
push_entity), the same stream locks, the same run ledger, and a ``RunSummary`` at the end.

``reset_cursors`` is the hub half of a full resync: the next pull of each stream reads everything
again (unchanged payloads are still no-ops, so a resync rewrites nothing that agrees).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from concord.hub.engine.context import RunContext
from concord.hub.engine.cycle import CycleRun
from concord.hub.warehouse.stores import outbox as outbox_store
from concord.hub.warehouse.stores import staging
from concord.hub.warehouse.stores.deadletters import retry_dead


def reset_cursors(ctx: RunContext, entities: Sequence[str] | None = None) -> int:
    """Forget the cursors of the given entities' streams (all when None); returns how many went."""
    wanted = [e for e in ctx.project.config.entities if not entities or e in entities]
    n = 0
    with ctx.warehouse.tx() as conn:
        for e in wanted:
            for system in ctx.project.config.entities[e].sources:
                n += staging.forget_cursor(conn, system, e)
    return n


def retry_dead_letters(ctx: RunContext, ids: Sequence[int] | None = None) -> int:
    """Put dead-lettered writes back in the queue (all, or the given outbox ids)."""
    with ctx.warehouse.tx() as conn:
        return retry_dead(conn, list(ids) if ids else None, ctx.now())


def dead_letter_targets(ctx: RunContext) -> list[tuple[str, str]]:
    """(entity, system) pairs that have queued writes, in write order."""
    with ctx.warehouse.tx() as conn:
        pairs = outbox_store.queued_streams(conn)
    order = ctx.project.entity_order()
    return sorted(pairs, key=lambda p: (order.index(p[0]) if p[0] in order else len(order), p[1]))


__all__: list[Any] = ["CycleRun", "reset_cursors", "retry_dead_letters", "dead_letter_targets"]
