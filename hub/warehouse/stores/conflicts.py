"""The conflict store: fields both sides changed since they last agreed, how each was decided, and people's
resolutions (``hub/engine/conflicts.py`` detects them and applies the decisions).

One open row per golden record and field: a later change of a held field updates that row's right side
instead of adding a second one. A person's decision makes the row ``resolved``; the next cycle writes it into
the golden record and the row becomes ``applied``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, Select, and_, func, select, update

from concord.hub.warehouse import tables as T

_CHUNK = 500


class ConflictStatus(StrEnum):
    OPEN = "open"            # held: neither value is written for that field until a person decides
    AUTO = "auto"            # decided by the entity's policy (latest_wins, owner_wins) when it was raised
    RESOLVED = "resolved"    # a person decided; the next cycle applies it
    APPLIED = "applied"      # the decision is in the golden record and queued for every system


def open_ids(conn: Connection, entity: str, golden_ids: Iterable[str]) -> dict[tuple[str, str], int]:
    """``(golden_id, field) -> id`` of the open conflicts of these golden records."""
    c, ids, out = T.conflict.c, sorted(set(golden_ids)), {}
    for i in range(0, len(ids), _CHUNK):
        for r in conn.execute(select(c.id, c.golden_id, c.field).where(
                c.entity == entity, c.status == ConflictStatus.OPEN, c.golden_id.in_(ids[i:i + _CHUNK]))):
            out[(r.golden_id, r.field)] = r.id
    return out


def held_fields(conn: Connection, entity: str, golden_ids: Sequence[str]) -> set[tuple[str, str]]:
    """``(golden_id, field)`` pairs that are held (open) for these golden records."""
    return set(open_ids(conn, entity, golden_ids))


def add(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert conflicts (``entity, golden_id, field, systems, base, left, right, status, resolution, created_at,
    resolved_at``) in one statement."""
    if rows:
        conn.execute(T.conflict.insert(), list(rows))


def update_held(conn: Connection, conflict_id: int, *, right: Any, systems: list[str]) -> None:
    """A held field changed again on the other side: the open row shows the newest value."""
    conn.execute(update(T.conflict).where(T.conflict.c.id == conflict_id).values(right=right, systems=systems))


def get(conn: Connection, conflict_id: int) -> Row[Any] | None:
    return conn.execute(select(T.conflict).where(T.conflict.c.id == conflict_id)).first()


def decide(conn: Connection, conflict_id: int, resolution: dict[str, Any], now: dt.datetime | None) -> bool:
    """Record a person's decision on an open conflict; False when it is no longer open (decided meanwhile)."""
    c = T.conflict.c
    done = conn.execute(update(T.conflict).where(c.id == conflict_id, c.status == ConflictStatus.OPEN)
                        .values(status=ConflictStatus.RESOLVED, resolution=resolution, resolved_at=now))
    return bool(done.rowcount)


def resolved(conn: Connection, entity: str) -> list[Row[Any]]:
    """People's decisions not yet applied to the golden records, oldest first."""
    c = T.conflict.c
    return list(conn.execute(select(T.conflict).where(c.entity == entity, c.status == ConflictStatus.RESOLVED)
                             .order_by(c.id)))


def mark_applied(conn: Connection, ids: Sequence[int]) -> None:
    c = T.conflict.c
    for i in range(0, len(ids), _CHUNK):
        conn.execute(update(T.conflict).where(c.id.in_(ids[i:i + _CHUNK])).values(status=ConflictStatus.APPLIED))


def count_open(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(T.conflict)
                        .where(T.conflict.c.status == ConflictStatus.OPEN)).scalar() or 0


def count_raised_since(conn: Connection, since: dt.datetime) -> int:
    return conn.execute(select(func.count()).select_from(T.conflict)
                        .where(T.conflict.c.created_at >= since)).scalar() or 0


def listing(*, status: ConflictStatus | None = ConflictStatus.OPEN, entity: str | None = None,
            golden_id: str | None = None, with_title: bool = False, newest_first: bool | None = None) -> Select[Any]:
    """The statement that lists conflicts, for the CLI and the dashboard to page through: open ones oldest
    first (a queue), the others newest first, unless ``newest_first`` says; ``with_title`` adds the golden
    record's title."""
    c, g = T.conflict.c, T.golden.c
    stmt: Select[Any] = select(T.conflict)
    if with_title:
        stmt = select(T.conflict, g.title).select_from(T.conflict.outerjoin(
            T.golden, and_(g.entity == c.entity, g.golden_id == c.golden_id)))
    if status is not None:
        stmt = stmt.where(c.status == status)
    if entity is not None:
        stmt = stmt.where(c.entity == entity)
    if golden_id is not None:
        stmt = stmt.where(c.golden_id == golden_id)
    if newest_first is None:
        newest_first = status != ConflictStatus.OPEN
    return stmt.order_by(c.id.desc() if newest_first else c.id)


def open_among(conn: Connection, ids: Collection[int]) -> set[int]:
    """Those of ``ids`` that are open conflicts."""
    c, out = T.conflict.c, set()
    wanted = sorted(set(ids))
    for i in range(0, len(wanted), _CHUNK):
        out.update(conn.execute(select(c.id).where(c.id.in_(wanted[i:i + _CHUNK]),
                                                   c.status == ConflictStatus.OPEN.value)).scalars())
    return out
