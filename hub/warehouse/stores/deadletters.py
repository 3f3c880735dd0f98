"""Dead letters: outbox writes that failed for good (``dead``), kept with the vendor's error.

A person retries them (back to ``pending`` with a fresh attempt count) or discards them.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from concord.hub.warehouse import tables as T
from concord.hub.warehouse.stores.outbox import OutboxStatus, with_status_among


def list_dead(conn: Connection, *, system: str | None = None, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    o = T.outbox.c
    q = select(T.outbox).where(o.status == OutboxStatus.DEAD).order_by(o.id).limit(limit).offset(offset)
    if system:
        q = q.where(o.system == system)
    return [dict(r._mapping) for r in conn.execute(q)]


def retry_dead(conn: Connection, ids: Sequence[int] | None, now: dt.datetime) -> int:
    """Dead letters (all, or ``ids``) are queued again with a fresh attempt count."""
    o = T.outbox.c
    q = update(T.outbox).where(o.status == OutboxStatus.DEAD)
    if ids:
        q = q.where(o.id.in_(list(ids)))
    res = conn.execute(q.values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=None, updated_at=now))
    return res.rowcount or 0


def discard_dead(conn: Connection, ids: Sequence[int], now: dt.datetime) -> int:
    o = T.outbox.c
    res = conn.execute(update(T.outbox).where(o.status == OutboxStatus.DEAD, o.id.in_(list(ids)))
                       .values(status=OutboxStatus.DISCARDED, updated_at=now))
    return res.rowcount or 0


def dead_among(conn: Connection, ids: Collection[int]) -> set[int]:
    """Those of ``ids`` that are dead letters."""
    return with_status_among(conn, ids, OutboxStatus.DEAD)
