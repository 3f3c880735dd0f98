"""Recording write outcomes, set-based: outbox states, cross-references, what targets now hold.

Success: the outbox row is done, a created record is linked (xref), and Concord's knowledge of
the target (its raw record's canonical view, and ``target_state``) now includes what was written:
the base for conflict detection and echo suppression. Failures: record errors are dead-lettered
at once, transient ones retried with backoff until ``max_attempts``, stale targets re-planned.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from concord.hub.contracts import Change, WriteResult
from concord.hub.engine.context import RunContext, StreamStats
from concord.hub.engine.util import stable_hash
from concord.hub.errors import HubError, StaleRecordError, TransientError
from concord.hub.http.redact import redact
from concord.hub.warehouse.stores import dirty, staged, written, xrefs
from concord.hub.warehouse.stores import outbox as outbox_store
from concord.hub.warehouse.stores.outbox import DoneWrite, FailedWrite, OutboxStatus, WriteOp


@dataclass
class Outcome:
    row: Any                          # the outbox row
    change: Change | None             # None when it never reached the connector
    result: WriteResult | None
    error: HubError | None


def record_outcomes(ctx: RunContext, conn: Connection, outcomes: Sequence[Outcome], max_attempts: int,
                    stats: StreamStats) -> None:
    now = ctx.now()
    done = [o for o in outcomes if o.result is not None and o.result.ok]
    failed = [o for o in outcomes if not (o.result is not None and o.result.ok)]
    _record_done(ctx, conn, done, now, stats)
    _record_failed(ctx, conn, failed, now, max_attempts, stats)


def _record_done(ctx: RunContext, conn: Connection, done: list[Outcome], now: dt.datetime, stats: StreamStats) -> None:
    if not done:
        return
    outbox_store.mark_done(conn, [DoneWrite(x.row.id, x.result.target_id or x.row.target_id,
                                            dict(x.change.fields) if x.change else {}) for x in done], now)
    stats.records_out += len(done)
    deletes = [x for x in done if x.row.op == WriteOp.DELETE]
    writes = [x for x in done if x.row.op != WriteOp.DELETE and (x.result.target_id or x.row.target_id)]
    for d in deletes:
        xrefs.mark_deleted(conn, d.row.entity, d.row.system, d.row.golden_id, now)
    if not writes:
        return
    entity, system = writes[0].row.entity, writes[0].row.system
    tids = {x.row.id: str(x.result.target_id or x.row.target_id) for x in writes}
    gid_of = {tids[x.row.id]: x.row.golden_id for x in writes}
    xrefs.link_created(conn, entity, system, gid_of, now)
    # what the target now holds = what Concord read from it last, plus what it just wrote
    known = {sid: canon or {}
             for sid, canon in staged.canonical_by_id(conn, system, entity, list(tids.values())).items()}
    merged: dict[str, dict[str, Any]] = {}
    for x in writes:
        tid = tids[x.row.id]
        merged[tid] = {**merged.get(tid, known.get(tid, {})), **x.row.canonical}
    staged.note_written(conn, system=system, entity=entity, source_entity=writes[0].row.target_entity,
                        known=[staged.Written(tid, data, gid_of[tid]) for tid, data in merged.items() if tid in known],
                        new=[staged.Written(tid, data, gid_of[tid]) for tid, data in merged.items() if tid not in known],
                        run_id=ctx.run_id, now=now)
    state = written.of_system(conn, entity, system, [x.row.golden_id for x in writes])
    for x in writes:
        state[x.row.golden_id] = {**state.get(x.row.golden_id, {}), **x.row.canonical}
    written.save(conn, entity, system, state, now, stable_hash)


def _record_failed(ctx: RunContext, conn: Connection, failed: list[Outcome], now: dt.datetime, max_attempts: int,
                   stats: StreamStats) -> None:
    rows: dict[OutboxStatus, list[FailedWrite]] = {OutboxStatus.SUPERSEDED: [], OutboxStatus.FAILED: [],
                                                   OutboxStatus.DEAD: []}
    replan: list[tuple[str, str]] = []
    for x in failed:
        err = x.error or (x.result.error if x.result else None) or TransientError("write failed without an error")
        info = err.to_dict()
        info["message"] = redact(info.get("message", ""))
        attempts = (x.row.attempts or 0) + (1 if x.change is not None else 0)
        if isinstance(err, StaleRecordError):
            # the target changed under us: re-read and re-plan, never overwrite blindly
            rows[OutboxStatus.SUPERSEDED].append(FailedWrite(x.row.id, info, None))
            replan.append((x.row.entity, x.row.golden_id))
            stats.failed += 1
        elif (isinstance(err, TransientError) or err.retryable) and attempts < max_attempts:
            retry_after = getattr(err, "retry_after", None)
            delay = float(retry_after) if retry_after else min(3600.0, 2.0 ** attempts)
            rows[OutboxStatus.FAILED].append(FailedWrite(x.row.id, info, now + dt.timedelta(seconds=delay)))
            stats.failed += 1
        else:
            rows[OutboxStatus.DEAD].append(FailedWrite(x.row.id, info, None))
            stats.dead += 1
    for status, params in rows.items():
        outbox_store.mark_failed(conn, status, params, now)
    by_entity: dict[str, list[str]] = {}
    for entity, gid in replan:
        by_entity.setdefault(entity, []).append(gid)
    for entity, gids in by_entity.items():
        dirty.mark(conn, entity, gids, now)
