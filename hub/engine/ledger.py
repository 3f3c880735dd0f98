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


def record_stream(ctx: RunContext, st: StreamStats) -> None:
    row = {"run_id": ctx.run_id, "system": st.system, "entity": st.entity, "direction": st.direction,
           "status": st.status, "records_in": st.records_in, "records_changed": st.records_changed,
           "records_out": st.records_out, "quarantined": st.quarantined, "failed": st.failed + st.dead,
           "api_calls": st.api_calls, "lag_seconds": st.lag_seconds, "error": st.error,
           "started_at": st.started_at, "finished_at": st.finished_at or ctx.now()}
    with ctx.warehouse.tx() as conn:
        ctx.warehouse.upsert(conn, T.run_stream, [row], ["run_id", "system", "entity", "direction"])


def finish_run(ctx: RunContext, status: str, summary: dict[str, Any], error: str | None = None) -> None:
    with ctx.warehouse.tx() as conn:
        conn.execute(update(T.run).where(T.run.c.id == ctx.run_id).values(
            status=status, finished_at=ctx.now(), summary=summary, error=error))
