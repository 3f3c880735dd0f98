"""The run ledger's store: one ``run`` row per cycle and one ``run_stream`` row per stream, direction and
run (settle rounds merged by ``hub/engine/ledger.py``). The CLI's ``status``, the dashboard and the daily
API budget read the ledger through here.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, Select, exists, func, select, update

from concord.hub.warehouse import bulk
from concord.hub.warehouse import tables as T

StreamKey = tuple[str, str, str]      # (system, entity, direction)


class RunStatus(StrEnum):
    """The status of a run, and of each of its streams (a stream another worker held is ``skipped``)."""
    RUNNING = "running"
    SUCCESS = "success"
    SKIPPED = "skipped"
    PARTIAL = "partial"
    FAILED = "failed"


def start(conn: Connection, *, mode: str, now: dt.datetime, host: str,
          prefect_flow_run_id: str | None = None) -> int:
    res = conn.execute(T.run.insert().values(mode=mode, status=RunStatus.RUNNING, started_at=now, host=host[:128],
                                             prefect_flow_run_id=prefect_flow_run_id))
    return int(res.inserted_primary_key[0])


def finish(conn: Connection, run_id: int, *, status: str, now: dt.datetime, summary: dict[str, Any],
           error: str | None = None) -> None:
    conn.execute(update(T.run).where(T.run.c.id == run_id).values(status=status, finished_at=now, summary=summary,
                                                                  error=error))


def save_streams(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Upsert the run's stream rows (one per run, system, entity and direction)."""
    bulk.upsert(conn, T.run_stream, list(rows), ["run_id", "system", "entity", "direction"])


def get(conn: Connection, run_id: int) -> Row[Any] | None:
    return conn.execute(select(T.run).where(T.run.c.id == run_id)).first()


def started_at(conn: Connection, run_id: int) -> dt.datetime | None:
    return conn.execute(select(T.run.c.started_at).where(T.run.c.id == run_id)).scalar()


def last(conn: Connection) -> Row[Any] | None:
    return conn.execute(select(T.run).order_by(T.run.c.id.desc()).limit(1)).first()


def streams_of(conn: Connection, run_id: int) -> list[Row[Any]]:
    rs = T.run_stream.c
    return list(conn.execute(select(T.run_stream).where(rs.run_id == run_id)
                             .order_by(rs.started_at, rs.system, rs.entity)))


def stream_history(conn: Connection, system: str, entity: str, direction: str, n: int) -> list[Row[Any]]:
    """The stream's last ``n`` rows, oldest first (index ``ix_run_stream_stream``)."""
    rs = T.run_stream.c
    rows = list(conn.execute(select(T.run_stream).where(rs.system == system, rs.entity == entity,
                                                        rs.direction == direction)
                             .order_by(rs.run_id.desc()).limit(n)))
    return rows[::-1]


def latest_per_stream(conn: Connection) -> dict[StreamKey, Row[Any]]:
    """Each stream's row of the last run that touched it."""
    rs = T.run_stream.c
    sub = select(rs.system, rs.entity, rs.direction, func.max(rs.run_id).label("run_id")).group_by(
        rs.system, rs.entity, rs.direction).subquery()
    return {(x.system, x.entity, x.direction): x for x in conn.execute(
        select(T.run_stream).join(sub, (rs.run_id == sub.c.run_id) & (rs.system == sub.c.system)
                                  & (rs.entity == sub.c.entity) & (rs.direction == sub.c.direction)))}


def calls_since(conn: Connection, since: dt.datetime, *, system: str, exclude_run: int | None = None) -> int:
    """API calls of one system recorded by streams started since ``since`` (the daily budget)."""
    rs = T.run_stream.c
    q = select(func.coalesce(func.sum(rs.api_calls), 0)).where(rs.system == system, rs.started_at >= since)
    if exclude_run is not None:
        q = q.where(rs.run_id != exclude_run)
    return int(conn.execute(q).scalar() or 0)


def calls_by_system_since(conn: Connection, since: dt.datetime) -> dict[str, int]:
    """API calls per system of the runs started since ``since``."""
    r, rs = T.run.c, T.run_stream.c
    first = conn.execute(select(func.min(r.id)).where(r.started_at >= since)).scalar()
    if first is None:
        return {}
    return {x.system: int(x.n or 0) for x in conn.execute(
        select(rs.system, func.sum(rs.api_calls).label("n")).where(rs.run_id >= first).group_by(rs.system))}


def listing(*, status: str | None = None, mode: str | None = None, system: str | None = None) -> Select[Any]:
    """Runs, newest first, for the dashboard to page through."""
    r, rs = T.run.c, T.run_stream.c
    stmt = select(T.run).order_by(r.id.desc())
    if status:
        stmt = stmt.where(r.status == status)
    if mode:
        stmt = stmt.where(r.mode == mode)
    if system:
        stmt = stmt.where(exists().where(rs.run_id == r.id, rs.system == system))
    return stmt
