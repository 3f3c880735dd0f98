"""A sync cycle taken step by step, for orchestrators (the Prefect flows in ``flows/``).

``run_cycle`` runs a whole cycle in one call. An orchestrator that wants each stream as its own
task uses :class:`CycleRun` instead: the same functions (pull_stream, process_entity, plan_entity,
push_entity), the same stream locks, the same run ledger, and a ``RunSummary`` at the end.

``reset_cursors`` is the hub half of a full resync: the next pull of each stream reads everything
again (unchanged payloads are still no-ops, so a resync rewrites nothing that agrees).
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete

from hub.engine.context import RunContext, StreamStats
from hub.engine.cycle import RunSummary, _locked, _totals
from hub.engine.deadletter import retry_dead
from hub.engine.ledger import finish_run, record_stream, start_run
from hub.engine.plan import pending_changes, plan_entity
from hub.engine.process import process_entity
from hub.engine.pull import pull_stream
from hub.engine.push import push_entity
from hub.warehouse import tables as T


class CycleRun:
    """One ledger run whose steps are called one by one: ``pull`` each stream, ``process``, ``push``."""

    def __init__(self, ctx: RunContext, *, mode: str = "sync", prefect_flow_run_id: str | None = None) -> None:
        self.ctx = ctx
        self.t0 = time.perf_counter()
        start_run(ctx, mode, prefect_flow_run_id)
        self.summary = RunSummary(ctx.run_id, mode)
        self._created: set[str] = set()

    # ---- what to do -------------------------------------------------------------------------
    def entities(self, only: Sequence[str] | None = None) -> list[str]:
        """Entities in write order (parents first); an unknown name is a ConfigError listing the known."""
        known = self.ctx.project.entity_order()
        unknown = [e for e in only or () if e not in known]
        if unknown:
            from hub.errors import ConfigError

            raise ConfigError(f"unknown entity {', '.join(map(repr, unknown))}; this project syncs: {', '.join(known)}")
        return [e for e in known if not only or e in only]

    def sources(self, entity: str) -> list[str]:
        return list(self.ctx.project.config.entities[entity].sources)

    def targets(self, entity: str) -> list[str]:
        return [r.target for r in self.ctx.project.config.entities[entity].sync]

    # ---- steps ------------------------------------------------------------------------------
    def pull(self, entity: str, system: str) -> StreamStats:
        st = _locked(self.ctx, f"pull:{system}:{entity}", lambda: pull_stream(self.ctx, entity, system),
                     system, entity, "pull")
        self.summary.streams.append(st)
        return st

    def process(self, entity: str) -> int:
        """Map, match, survive and plan one entity; returns the changes now queued for every target."""
        with self.ctx.warehouse.stream_lock(f"entity:{entity}", wait=True):
            process_entity(self.ctx, entity, self.summary.process)
            plan_entity(self.ctx, entity)
        with self.ctx.warehouse.tx() as conn:
            planned = [c for c in pending_changes(conn) if c.entity == entity]
        if self.summary.rounds <= 1:
            self.summary.planned.extend(planned)
        self._created |= {c.system for c in planned if c.op in ("create", "upsert")}
        return len(planned)

    def push(self, entity: str, system: str) -> StreamStats:
        st = _locked(self.ctx, f"push:{system}:{entity}", lambda: push_entity(self.ctx, entity, system),
                     system, entity, "push")
        self.summary.streams.append(st)
        return st

    def created_in(self) -> set[str]:
        """Systems planned for creates since the last call (their streams are read back to settle)."""
        out, self._created = self._created, set()
        return out

    # ---- the end ----------------------------------------------------------------------------
    def finish(self, error: str | None = None) -> RunSummary:
        s = self.summary
        s.rounds = max(s.rounds, 1)
        if error:
            s.status, s.error = "failed", error
        s.duration_s = time.perf_counter() - self.t0
        s.api_calls = self.ctx.ledger.snapshot()
        _totals(self.ctx, s)
        if s.status != "failed":
            if any(st.status == "failed" for st in s.streams):
                s.status = "failed"
            elif s.process.quarantined or any(st.status == "partial" for st in s.streams):
                s.status = "partial"
        for st in s.streams:
            record_stream(self.ctx, st)
        finish_run(self.ctx, s.status, {k: v for k, v in s.as_dict().items() if k != "planned"}, s.error)
        return s


def reset_cursors(ctx: RunContext, entities: Sequence[str] | None = None) -> int:
    """Forget the cursors of the given entities' streams (all when None); returns how many went."""
    wanted = [e for e in ctx.project.config.entities if not entities or e in entities]
    n = 0
    with ctx.warehouse.tx() as conn:
        for e in wanted:
            for system in ctx.project.config.entities[e].sources:
                res = conn.execute(delete(T.cursor).where(T.cursor.c.system == system, T.cursor.c.entity == e))
                n += res.rowcount or 0
    return n


def retry_dead_letters(ctx: RunContext, ids: Sequence[int] | None = None) -> int:
    """Put dead-lettered writes back in the queue (all, or the given outbox ids)."""
    with ctx.warehouse.tx() as conn:
        return retry_dead(conn, list(ids) if ids else None, ctx.now())


def dead_letter_targets(ctx: RunContext) -> list[tuple[str, str]]:
    """(entity, system) pairs that have queued writes, in write order."""
    from sqlalchemy import select

    o = T.outbox.c
    with ctx.warehouse.tx() as conn:
        pairs = {(r.entity, r.system) for r in conn.execute(
            select(o.entity, o.system).where(o.status.in_(["pending", "failed"])).distinct())}
    order = ctx.project.entity_order()
    return sorted(pairs, key=lambda p: (order.index(p[0]) if p[0] in order else len(order), p[1]))


__all__: list[Any] = ["CycleRun", "reset_cursors", "retry_dead_letters", "dead_letter_targets"]
