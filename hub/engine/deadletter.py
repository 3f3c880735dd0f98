"""Dead letters: outbox writes that failed for good, kept with the vendor's error for a retry."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from concord.hub.warehouse import tables as T


def list_dead(conn: Connection, *, system: str | None = None, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    o = T.outbox.c
    q = select(T.outbox).where(o.status == "dead").order_by(o.id).limit(limit).offset(offset)
    if system:
        q = q.where(o.system == system)
    return [dict(r._mapping) for r in conn.execute(q)]


def retry_dead(conn: Connection, ids: Sequence[int] | None, now: Any) -> int:
    o = T.outbox.c
    q = update(T.outbox).where(o.status == "dead")
    if ids:
        q = q.where(o.id.in_(list(ids)))
    res = conn.execute(q.values(status="pending", attempts=0, next_attempt_at=None, updated_at=now))
    return res.rowcount or 0


def discard_dead(conn: Connection, ids: Sequence[int], now: Any) -> int:
    o = T.outbox.c
    res = conn.execute(update(T.outbox).where(o.status == "dead", o.id.in_(list(ids)))
                       .values(status="discarded", updated_at=now))
    return res.rowcount or 0
