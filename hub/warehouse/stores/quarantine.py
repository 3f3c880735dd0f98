"""The quarantine store: records that could not be processed, with the reason and the raw payload.

One open entry per record: a newer failure of the same record supersedes the older entry
(``retried``); a record that later processes cleanly resolves its entry; a person may retry (the raw
record goes back to ``pending``) or discard it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from concord.hub.warehouse import bulk_in, chunks
from concord.hub.warehouse import tables as T


class QuarantineStatus(StrEnum):
    OPEN = "open"              # waits for a fix (a mapping, the source data) or a person
    RETRIED = "retried"        # sent back through processing, or superseded by a newer failure
    RESOLVED = "resolved"      # the record processed cleanly since
    DISCARDED = "discarded"    # a person decided the record is not to be processed


Key = tuple[str, str, str]     # (system, entity, source_id)


@dataclass(frozen=True)
class Entry:
    """A quarantine entry as stored."""
    id: int
    run_id: int | None
    system: str
    entity: str
    source_id: str
    stage: str                  # land | map | match | survive
    reason: str
    error: Any
    payload: Any
    status: QuarantineStatus
    created_at: dt.datetime
    resolved_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def _entry(r: Any) -> Entry:
    return Entry(r.id, r.run_id, r.system, r.entity, r.source_id, r.stage, r.reason, r.error, r.payload,
                 QuarantineStatus(r.status), r.created_at, r.resolved_at)


def add(conn: Connection, rows: Sequence[dict[str, Any]], now: dt.datetime) -> None:
    """Insert entries (``system, entity, source_id, stage, reason, error, payload, run_id``) as open; an
    open entry of the same record is superseded first."""
    if not rows:
        return
    close(conn, {(r["system"], r["entity"], r["source_id"]) for r in rows}, QuarantineStatus.RETRIED, now)
    conn.execute(T.quarantine.insert(), [{**r, "status": QuarantineStatus.OPEN, "created_at": now} for r in rows])


def close(conn: Connection, keys: Iterable[Key], status: QuarantineStatus, now: dt.datetime) -> None:
    """Close the open entries of these records with ``status``."""
    by_stream: dict[tuple[str, str], list[str]] = {}
    for s, e, sid in keys:
        by_stream.setdefault((s, e), []).append(sid)
    q = T.quarantine.c
    for (s, e), sids in by_stream.items():
        # nothing open in the stream (the common case: every batch of a load closes its records' entries):
        # one indexed probe instead of an update per 500 ids
        if conn.execute(select(q.id).where(q.status == QuarantineStatus.OPEN, q.system == s, q.entity == e)
                        .limit(1)).first() is None:
            continue
        bulk_in.update_in(conn, T.quarantine, {"status": status, "resolved_at": now},
                          [("system", "=", s), ("entity", "=", e), ("status", "=", QuarantineStatus.OPEN)],
                          "source_id", sids)


def list_open(conn: Connection, *, system: str | None = None, entity: str | None = None,
              limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(open_listing(system=system, entity=entity)
                                                   .limit(limit).offset(offset))]


def retry(conn: Connection, ids: Sequence[int] | None, now: dt.datetime, *, system: str | None = None) -> int:
    """Open entries (all, or ``ids``; of ``system``) go back through map/match/survive on the next cycle."""
    q = T.quarantine.c
    stmt = select(q.id, q.system, q.entity, q.source_id).where(q.status == QuarantineStatus.OPEN)
    if ids:
        stmt = stmt.where(q.id.in_(list(ids)))
    if system:
        stmt = stmt.where(q.system == system)
    found = list(conn.execute(stmt))
    if not found:
        return 0
    r = T.raw_record.c
    conds = [and_(r.system == f.system, r.entity == f.entity, r.source_id == f.source_id) for f in found]
    for i in range(0, len(conds), 200):
        conn.execute(update(T.raw_record).where(or_(*conds[i:i + 200])).values(status="pending"))
    conn.execute(update(T.quarantine).where(q.id.in_([f.id for f in found]))
                 .values(status=QuarantineStatus.RETRIED, resolved_at=now))
    return len(found)


def discard(conn: Connection, ids: Sequence[int], now: dt.datetime) -> int:
    q = T.quarantine.c
    res = conn.execute(update(T.quarantine).where(q.id.in_(list(ids)), q.status == QuarantineStatus.OPEN)
                       .values(status=QuarantineStatus.DISCARDED, resolved_at=now))
    return res.rowcount or 0


def open_listing(*, system: str | None = None, entity: str | None = None) -> Any:
    """The statement listing open entries in arrival order (the dashboard pages through it)."""
    q = T.quarantine.c
    stmt = select(T.quarantine).where(q.status == QuarantineStatus.OPEN)
    if system:
        stmt = stmt.where(q.system == system)
    if entity:
        stmt = stmt.where(q.entity == entity)
    return stmt.order_by(q.id)


def count_open(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(T.quarantine)
                            .where(T.quarantine.c.status == QuarantineStatus.OPEN)).scalar() or 0)


def open_per_stream(conn: Connection) -> dict[tuple[str, str], int]:
    """(system, entity) -> open entries."""
    q = T.quarantine.c
    return {(x.system, x.entity): int(x.n) for x in conn.execute(
        select(q.system, q.entity, func.count().label("n")).where(q.status == QuarantineStatus.OPEN)
        .group_by(q.system, q.entity))}


def open_among(conn: Connection, ids: Collection[int], *, system: str | None = None) -> set[int]:
    """Those of ``ids`` that are open entries (of ``system``, when named)."""
    q = T.quarantine.c
    found: set[int] = set()
    for chunk in chunks(sorted(set(ids))):
        stmt = select(q.id).where(q.id.in_(chunk), q.status == QuarantineStatus.OPEN.value)
        if system:
            stmt = stmt.where(q.system == system)
        found.update(conn.execute(stmt).scalars())
    return found


def of_run(conn: Connection, run_id: int, *, limit: int) -> list[Entry]:
    """Entries raised by one run, in arrival order."""
    q = T.quarantine.c
    return [_entry(r) for r in conn.execute(select(T.quarantine).where(q.run_id == run_id).order_by(q.id)
                                            .limit(limit))]


def of_record(conn: Connection, system: str, entity: str, source_id: str, *, limit: int) -> list[Entry]:
    """One record's entries, newest first."""
    q = T.quarantine.c
    return [_entry(r) for r in conn.execute(select(T.quarantine).where(
        q.system == system, q.entity == entity, q.source_id == source_id).order_by(q.id.desc()).limit(limit))]
