"""The run ledger: one ``run`` row per cycle, one ``run_stream`` row per stream and direction."""
from __future__ import annotations

import socket
from typing import Any

from sqlalchemy import update

from hub.engine.context import RunContext, StreamStats
from hub.warehouse import tables as T


def start_run(ctx: RunContext, mode: str, prefect_flow_run_id: str | None = None) -> int:
    with ctx.warehouse.tx() as conn:
        res = conn.execute(T.run.insert().values(mode=mode, status="running", started_at=ctx.now(),
                                                 prefect_flow_run_id=prefect_flow_run_id, host=socket.gethostname()[:128]))
        run_id = int(res.inserted_primary_key[0])
    ctx.run_id = run_id
    return run_id


_RANK = {"success": 0, "skipped": 1, "partial": 2, "failed": 3}


def merge_streams(streams: list[StreamStats]) -> list[StreamStats]:
    """One entry per (system, entity, direction): a cycle's settle rounds add up, the worst status wins."""
    merged: dict[tuple[str, str, str], StreamStats] = {}
    for st in streams:
        key = (st.system, st.entity, st.direction)
        m = merged.get(key)
        if m is None:
            merged[key] = StreamStats(**{f: getattr(st, f) for f in st.__dataclass_fields__})
            continue
        for f in ("records_in", "records_changed", "records_out", "quarantined", "failed", "dead", "api_calls"):
            setattr(m, f, getattr(m, f) + getattr(st, f))
        if _RANK.get(st.status, 3) > _RANK.get(m.status, 3):
            m.status = st.status
        m.error = "; ".join(e for e in (m.error, st.error) if e) or None
        m.lag_seconds = max((x for x in (m.lag_seconds, st.lag_seconds) if x is not None), default=None)
        m.started_at = min(m.started_at, st.started_at)
        m.finished_at = max((x for x in (m.finished_at, st.finished_at) if x is not None), default=None)
    return list(merged.values())


def record_streams(ctx: RunContext, streams: list[StreamStats]) -> None:
    """Write the run's stream rows (settle rounds merged), in one transaction."""
    rows = [{"run_id": ctx.run_id, "system": st.system, "entity": st.entity, "direction": st.direction,
             "status": st.status, "records_in": st.records_in, "records_changed": st.records_changed,
             "records_out": st.records_out, "quarantined": st.quarantined, "failed": st.failed + st.dead,
             "api_calls": st.api_calls, "lag_seconds": st.lag_seconds, "error": st.error,
             "started_at": st.started_at, "finished_at": st.finished_at or ctx.now()}
            for st in merge_streams(streams)]
    with ctx.warehouse.tx() as conn:
        ctx.warehouse.upsert(conn, T.run_stream, rows, ["run_id", "system", "entity", "direction"])


def finish_run(ctx: RunContext, status: str, summary: dict[str, Any], error: str | None = None) -> None:
    with ctx.warehouse.tx() as conn:
        conn.execute(update(T.run).where(T.run.c.id == ctx.run_id).values(
            status=status, finished_at=ctx.now(), summary=summary, error=error))
