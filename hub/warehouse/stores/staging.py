"""Staging (``raw_record``) and the streams' cursors: what each system last said about each record.

Pull stages a record as ``pending``; processing maps it (``mapped``), or maps it with a reference it could
not resolve yet (``unresolved``: a contact read before its account; mapped again once a record of the
referenced entity has changed), or quarantines it (``quarantined``). A page of records and the cursor after
it are written in one transaction by ``hub/engine/pull.py`` through the functions below.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, and_, func, select, update

from concord.hub.contracts import Cursor
from concord.hub.warehouse import bulk, bulk_in, chunks
from concord.hub.warehouse import tables as T


class RawStatus(StrEnum):
    PENDING = "pending"
    MAPPED = "mapped"
    UNRESOLVED = "unresolved"
    QUARANTINED = "quarantined"


#: statuses of a record whose canonical view is current (it takes part in golden records)
MAPPED_STATES = (RawStatus.MAPPED, RawStatus.UNRESOLVED)

#: the columns a re-read record overwrites (the rest, such as its canonical view, stay until it is processed)
_RESTAGED = ["source_entity", "payload", "payload_hash", "source_updated_at", "deleted", "status", "seen_run",
             "landed_at"]


# ---- cursors ------------------------------------------------------------------------------------
def load_cursor(conn: Connection, system: str, entity: str) -> Cursor | None:
    row = conn.execute(select(T.cursor.c.value, T.cursor.c.key).where(
        T.cursor.c.system == system, T.cursor.c.entity == entity)).first()
    return Cursor(value=row.value, key=row.key) if row else None


def save_cursor(conn: Connection, system: str, entity: str, cur: Cursor, *, run_id: int | None,
                now: dt.datetime) -> None:
    bulk.upsert(conn, T.cursor, [{"system": system, "entity": entity, "value": cur.value, "key": cur.key,
                                  "run_id": run_id, "updated_at": now}], ["system", "entity"])


def cursors(conn: Connection) -> dict[tuple[str, str], Any]:
    c = T.cursor.c
    return {(x.system, x.entity): x.value for x in conn.execute(select(c.system, c.entity, c.value))}


# ---- staged records -----------------------------------------------------------------------------
def _stream(system: str, entity: str) -> Any:
    return and_(T.raw_record.c.system == system, T.raw_record.c.entity == entity)


def existing(conn: Connection, system: str, entity: str, ids: list[str]) -> dict[str, tuple[str, bool]]:
    """``source_id -> (payload hash, deleted)`` of the staged records among ``ids``."""
    return {sid: (h, bool(deleted)) for sid, h, deleted in bulk_in.select_in(
        conn, T.raw_record, ("source_id", "payload_hash", "deleted"),
        [("system", "=", system), ("entity", "=", entity)], "source_id", ids)}


def stage(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or overwrite new and changed records (their payload's JSON text stored as it is)."""
    if rows:
        bulk.upsert(conn, T.raw_record, list(rows), ["system", "entity", "source_id"], update=_RESTAGED)


def mark_seen(conn: Connection, system: str, entity: str, ids: Sequence[str], run_id: int) -> None:
    """Unchanged records read again in this run (a snapshot's reconciliation must not take them as gone)."""
    for chunk in chunks(list(ids), 500):
        conn.execute(update(T.raw_record).where(_stream(system, entity), T.raw_record.c.source_id.in_(chunk))
                     .values(seen_run=run_id))


def mark_deleted(conn: Connection, system: str, entity: str, ids: Sequence[str], now: Any) -> None:
    for chunk in chunks(list(ids), 500):
        conn.execute(update(T.raw_record).where(_stream(system, entity), T.raw_record.c.source_id.in_(chunk))
                     .values(deleted=True, status=RawStatus.PENDING, landed_at=now))


def unseen_in_run(conn: Connection, system: str, entity: str, run_id: int | None) -> list[str]:
    """Live records of the stream that this run did not read."""
    r = T.raw_record.c
    return [x.source_id for x in conn.execute(select(r.source_id).where(
        _stream(system, entity), r.deleted.is_(False), (r.seen_run != run_id) | r.seen_run.is_(None)))]


def count_pending(conn: Connection, system: str, entity: str) -> int:
    """Pending records of a stream (asked once a stream is processed; the statistics are checked first: a
    load stages a million records pending, then maps them, and a planner that still believes them pending
    scans the table for each of the stream's reads)."""
    bulk_in.fresh_statistics(conn, T.raw_record, changed=True)
    r = T.raw_record.c
    return int(conn.execute(select(func.count()).select_from(T.raw_record)
                            .where(_stream(system, entity), r.status == RawStatus.PENDING)).scalar() or 0)


def count_per_stream(conn: Connection, *, live_only: bool = False) -> dict[tuple[str, str], int]:
    """(system, entity) -> staged records (``live_only``: not deleted at the source)."""
    r = T.raw_record.c
    q = select(r.system, r.entity, func.count().label("n")).group_by(r.system, r.entity)
    if live_only:
        q = q.where(r.deleted.is_(False))
    return {(x.system, x.entity): int(x.n) for x in conn.execute(q)}


def canonical_of(conn: Connection, system: str, entity: str) -> dict[str, dict[str, Any]]:
    """source id -> the last mapped canonical values of the stream's live records."""
    r = T.raw_record.c
    return {row.source_id: dict(row.canonical or {}) for row in conn.execute(
        select(r.source_id, r.canonical).where(_stream(system, entity), r.deleted.is_(False),
                                               r.status.in_([s.value for s in MAPPED_STATES])))}


def forget_cursor(conn: Connection, system: str, entity: str) -> bool:
    """Drop a stream's cursor (its next pull reads everything again); whether it had one."""
    c = T.cursor.c
    return bool(conn.execute(T.cursor.delete().where(c.system == system, c.entity == entity)).rowcount)
