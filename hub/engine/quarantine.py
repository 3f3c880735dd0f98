"""Quarantine: records that could not be processed, kept with the reason and the raw payload."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from concord.hub.engine.context import RunContext
from concord.hub.errors import HubError
from concord.hub.http.redact import redact
from concord.hub.warehouse import tables as T


def quarantine_rows(ctx: RunContext, conn: Connection, items: Sequence[dict[str, Any]]) -> None:
    """Insert quarantine entries: dicts with system, entity, source_id, stage, error, payload."""
    now = ctx.now()
    rows = []
    for it in items:
        err: HubError = it["error"]
        rows.append({"run_id": ctx.run_id, "system": it["system"], "entity": it["entity"],
                     "source_id": it["source_id"], "stage": it["stage"], "reason": redact(err.message)[:4000],
                     "error": err.to_dict(), "payload": it.get("payload"), "status": "open", "created_at": now})
    if rows:
        # one open entry per record: an older open entry of the same record is superseded
        keys = {(r["system"], r["entity"], r["source_id"]) for r in rows}
        _close(conn, keys, "retried", now)
        conn.execute(T.quarantine.insert(), rows)


def resolve_records(conn: Connection, keys: set[tuple[str, str, str]], now: Any) -> None:
    """Records that now process cleanly: their open quarantine entries are resolved."""
    _close(conn, keys, "resolved", now)


def _close(conn: Connection, keys: set[tuple[str, str, str]], status: str, now: Any) -> None:
    by_stream: dict[tuple[str, str], list[str]] = {}
    for s, e, sid in keys:
        by_stream.setdefault((s, e), []).append(sid)
    q = T.quarantine.c
    for (s, e), sids in by_stream.items():
        for i in range(0, len(sids), 500):
            conn.execute(update(T.quarantine).where(q.system == s, q.entity == e, q.source_id.in_(sids[i:i + 500]),
                                                    q.status == "open").values(status=status, resolved_at=now))


def list_open(conn: Connection, *, system: str | None = None, entity: str | None = None,
              limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    q = T.quarantine.c
    stmt = select(T.quarantine).where(q.status == "open")
    if system:
        stmt = stmt.where(q.system == system)
    if entity:
        stmt = stmt.where(q.entity == entity)
    return [dict(r._mapping) for r in conn.execute(stmt.order_by(q.id).limit(limit).offset(offset))]


def retry(conn: Connection, ids: Sequence[int] | None, now: Any, *, system: str | None = None) -> int:
    """Send quarantined records back through map/match/survive on the next cycle."""
    q = T.quarantine.c
    stmt = select(q.id, q.system, q.entity, q.source_id).where(q.status == "open")
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
    conn.execute(update(T.quarantine).where(q.id.in_([f.id for f in found])).values(status="retried", resolved_at=now))
    return len(found)


def discard(conn: Connection, ids: Sequence[int], now: Any) -> int:
    q = T.quarantine.c
    res = conn.execute(update(T.quarantine).where(q.id.in_(list(ids)), q.status == "open")
                       .values(status="discarded", resolved_at=now))
    return res.rowcount or 0
