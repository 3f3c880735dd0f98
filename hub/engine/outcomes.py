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

from sqlalchemy import Connection, bindparam, select, update

from concord.hub.contracts import Change, WriteResult
from concord.hub.engine.context import RunContext, StreamStats
from concord.hub.engine.util import stable_hash
from concord.hub.errors import HubError, StaleRecordError, TransientError
from concord.hub.http.redact import redact
from concord.hub.warehouse import tables as T


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
    o = T.outbox.c
    conn.execute(update(T.outbox).where(o.id == bindparam("oid")).values(
        status="done", target_id=bindparam("tid"), fields=bindparam("f"), last_error=None, updated_at=now),
        [{"oid": x.row.id, "tid": x.result.target_id or x.row.target_id,
          "f": dict(x.change.fields) if x.change else {}} for x in done])
    stats.records_out += len(done)
    deletes = [x for x in done if x.row.op == "delete"]
    writes = [x for x in done if x.row.op != "delete" and (x.result.target_id or x.row.target_id)]
    x_ = T.xref.c
    for d in deletes:
        conn.execute(update(T.xref).where(x_.entity == d.row.entity, x_.system == d.row.system,
                                          x_.golden_id == d.row.golden_id).values(state="deleted", updated_at=now))
    if not writes:
        return
    entity, system = writes[0].row.entity, writes[0].row.system
    tids = {x.row.id: str(x.result.target_id or x.row.target_id) for x in writes}
    gid_of = {tids[x.row.id]: x.row.golden_id for x in writes}
    ctx.warehouse.upsert(conn, T.xref, [
        {"entity": entity, "system": system, "source_id": tids[x.row.id], "golden_id": x.row.golden_id,
         "state": "linked", "created_at": now, "updated_at": now} for x in writes],
        ["entity", "system", "source_id"], update=["golden_id", "state", "updated_at"])
    # what the target now holds = what Concord read from it last, plus what it just wrote
    r = T.raw_record.c
    known: dict[str, Any] = {}
    ids = sorted(set(tids.values()))
    for i in range(0, len(ids), 500):
        for row in conn.execute(select(r.source_id, r.canonical).where(
                r.system == system, r.entity == entity, r.source_id.in_(ids[i:i + 500]))):
            known[row.source_id] = row.canonical or {}
    merged: dict[str, dict[str, Any]] = {}
    for x in writes:
        tid = tids[x.row.id]
        merged[tid] = {**merged.get(tid, known.get(tid, {})), **x.row.canonical}
    upd = [{"sid": tid, "canon": data, "gid": gid_of[tid]} for tid, data in merged.items() if tid in known]
    if upd:
        conn.execute(update(T.raw_record).where(r.system == system, r.entity == entity, r.source_id == bindparam("sid"))
                     .values(canonical=bindparam("canon"), golden_id=bindparam("gid")), upd)
    new = [{"system": system, "entity": entity, "source_id": tid, "source_entity": writes[0].row.target_entity,
            "payload": {}, "payload_hash": "", "source_updated_at": None, "deleted": False, "status": "mapped",
            "canonical": data, "golden_id": gid_of[tid],
            "seen_run": ctx.run_id, "landed_at": now, "mapped_at": now}
           for tid, data in merged.items() if tid not in known]
    if new:
        conn.execute(T.raw_record.insert(), new)
    ts = T.target_state.c
    gids = sorted({x.row.golden_id for x in writes})
    state: dict[str, dict[str, Any]] = {}
    for i in range(0, len(gids), 500):
        for row in conn.execute(select(ts.golden_id, ts.data).where(ts.entity == entity, ts.system == system,
                                                                    ts.golden_id.in_(gids[i:i + 500]))):
            state[row.golden_id] = row.data or {}
    for x in writes:
        state[x.row.golden_id] = {**state.get(x.row.golden_id, {}), **x.row.canonical}
    ctx.warehouse.upsert(conn, T.target_state, [
        {"entity": entity, "golden_id": g, "system": system, "data": d, "data_hash": stable_hash(d), "updated_at": now}
        for g, d in state.items()], ["entity", "golden_id", "system"])


def _record_failed(ctx: RunContext, conn: Connection, failed: list[Outcome], now: dt.datetime, max_attempts: int,
                   stats: StreamStats) -> None:
    o = T.outbox.c
    rows: dict[str, list[dict[str, Any]]] = {"superseded": [], "failed": [], "dead": []}
    replan: list[dict[str, Any]] = []
    for x in failed:
        err = x.error or (x.result.error if x.result else None) or TransientError("write failed without an error")
        info = err.to_dict()
        info["message"] = redact(info.get("message", ""))
        attempts = (x.row.attempts or 0) + (1 if x.change is not None else 0)
        if isinstance(err, StaleRecordError):
            # the target changed under us: re-read and re-plan, never overwrite blindly
            rows["superseded"].append({"oid": x.row.id, "err": info, "next": None})
            replan.append({"entity": x.row.entity, "golden_id": x.row.golden_id, "since": now})
            stats.failed += 1
        elif (isinstance(err, TransientError) or err.retryable) and attempts < max_attempts:
            retry_after = getattr(err, "retry_after", None)
            delay = float(retry_after) if retry_after else min(3600.0, 2.0 ** attempts)
            rows["failed"].append({"oid": x.row.id, "err": info, "next": now + dt.timedelta(seconds=delay)})
            stats.failed += 1
        else:
            rows["dead"].append({"oid": x.row.id, "err": info, "next": None})
            stats.dead += 1
    for status, params in rows.items():
        if params:
            conn.execute(update(T.outbox).where(o.id == bindparam("oid")).values(
                status=status, last_error=bindparam("err"), next_attempt_at=bindparam("next"), updated_at=now), params)
    if replan:
        ctx.warehouse.upsert(conn, T.dirty, replan, ["entity", "golden_id"], update=[])
