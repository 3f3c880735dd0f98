"""Emptying golden records so that they are rebuilt from their sources: a full re-match of an entity, and a
manual link or unlink made without the project at hand (``hub/matching/manual.py``)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import Connection, delete, select, update

from concord.hub.warehouse import chunks
from concord.hub.warehouse import tables as T


def drop_except(conn: Connection, entity: str, keep: Collection[str]) -> None:
    """Delete the entity's golden records not in ``keep`` (with their typed canonical rows), and empty the
    kept ones: data, hash and lineage are rebuilt from their sources."""
    g = T.golden.c
    stale = [r.golden_id for r in conn.execute(select(g.golden_id).where(g.entity == entity))
             if r.golden_id not in keep]
    canon = T.CANONICAL[entity]
    for chunk in chunks(stale):
        conn.execute(delete(T.golden).where(g.entity == entity, g.golden_id.in_(chunk)))
        for _coll, child, _cols in T.CANONICAL_CHILDREN.get(entity, []):
            conn.execute(delete(child).where(child.c.golden_id.in_(chunk)))
        conn.execute(delete(canon).where(canon.c.golden_id.in_(chunk)))
    conn.execute(update(T.golden).where(g.entity == entity).values(data={}, data_hash="", lineage={}))


def mark_deleted(conn: Connection, entity: str, golden_id: str, now: dt.datetime) -> None:
    """A golden record left without sources is deleted."""
    g = T.golden.c
    conn.execute(update(T.golden).where(g.entity == entity, g.golden_id == golden_id)
                 .values(deleted=True, updated_at=now))


def empty(conn: Connection, entity: str, golden_id: str, *, empty_hash: str, now: dt.datetime) -> None:
    """Empty one golden record (values and lineage) until its sources are processed again."""
    g = T.golden.c
    conn.execute(update(T.golden).where(g.entity == entity, g.golden_id == golden_id)
                 .values(data={}, data_hash=empty_hash, lineage={}, updated_at=now))
