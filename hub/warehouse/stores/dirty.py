"""The re-plan queue (``dirty``): golden records the planner must look at again, in id order per entity."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Connection, delete, select

from concord.hub.warehouse import bulk, chunks
from concord.hub.warehouse import tables as T


def mark(conn: Connection, entity: str, golden_ids: Sequence[str], since: dt.datetime) -> None:
    """Queue golden records for planning; ones already queued keep their time."""
    bulk.upsert(conn, T.dirty, [{"entity": entity, "golden_id": gid, "since": since} for gid in golden_ids],
                ["entity", "golden_id"], update=[])


def mark_stored(conn: Connection, entity: str, golden_id: str) -> None:
    """Queue one stored golden record since its last update, unless it is queued already."""
    g, d = T.golden.c, T.dirty.c
    conn.execute(T.dirty.insert().from_select(["entity", "golden_id", "since"], select(
        g.entity, g.golden_id, g.updated_at).where(g.entity == entity, g.golden_id == golden_id,
                                                  ~g.golden_id.in_(select(d.golden_id).where(d.entity == entity)))))


def queued(conn: Connection, entity: str) -> list[str]:
    """Every queued golden id of ``entity`` (in no particular order)."""
    d = T.dirty.c
    return [r.golden_id for r in conn.execute(select(d.golden_id).where(d.entity == entity))]


def any_queued(conn: Connection, entity: str) -> bool:
    """Whether any golden record of ``entity`` waits on the queue."""
    d = T.dirty.c
    return conn.execute(select(d.golden_id).where(d.entity == entity).limit(1)).first() is not None


def next_batch(conn: Connection, entity: str, *, after: str, limit: int) -> list[str]:
    """The next ``limit`` queued golden ids of ``entity`` after ``after``, in id order."""
    d = T.dirty.c
    return [r.golden_id for r in conn.execute(select(d.golden_id).where(d.entity == entity, d.golden_id > after)
                                              .order_by(d.golden_id).limit(limit))]


def done(conn: Connection, entity: str, golden_ids: Sequence[str] | None = None) -> None:
    """Planned: take these golden records (all of the entity's, without ``golden_ids``) off the queue."""
    d = T.dirty.c
    if golden_ids is None:
        conn.execute(delete(T.dirty).where(d.entity == entity))
        return
    for chunk in chunks(list(golden_ids)):
        conn.execute(delete(T.dirty).where(d.entity == entity, d.golden_id.in_(chunk)))
