"""Reads of golden records beyond the engine's load and save (``stores/golden.py``): what the planner,
replay, manual matching and the dashboard look up, as typed rows.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, and_, func, literal, or_, select

from concord.hub.warehouse import bulk_in, chunks
from concord.hub.warehouse import tables as T

#: the highest code point: ``title < prefix + HIGH`` bounds a prefix search on an index
HIGH = "\U0010ffff"


@dataclass(frozen=True)
class GoldenData:
    """A golden record's current values (the planner's and replay's input)."""
    golden_id: str
    data: dict[str, Any]
    deleted: bool


@dataclass(frozen=True)
class GoldenSummary:
    """What a search hit shows of a golden record."""
    entity: str
    golden_id: str
    title: str | None
    version: int
    deleted: bool
    updated_at: dt.datetime | None


@dataclass(frozen=True)
class GoldenView:
    """A golden record's row as stored (lineage still encoded): the dashboard's 360° view."""
    entity: str
    golden_id: str
    data: dict[str, Any]
    data_hash: str
    version: int
    deleted: bool
    title: str | None
    lineage: Any
    created_at: dt.datetime
    updated_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def exists(conn: Connection, entity: str, golden_id: str) -> bool:
    """A golden record with this id is stored (live or deleted)."""
    g = T.golden.c
    return conn.execute(select(g.golden_id).where(g.entity == entity, g.golden_id == golden_id)).first() is not None


def data_of(conn: Connection, entity: str, golden_ids: Sequence[str]) -> dict[str, GoldenData]:
    """golden id -> values and deleted flag, for those of ``golden_ids`` that exist."""
    g = T.golden.c
    out: dict[str, GoldenData] = {}
    wanted = sorted(set(golden_ids))
    if not wanted:
        return out
    bulk_in.fresh_statistics(conn, T.golden)
    for chunk in chunks(wanted):
        for r in conn.execute(select(g.golden_id, g.data, g.deleted).where(g.entity == entity,
                                                                            g.golden_id.in_(chunk))):
            out[r.golden_id] = GoldenData(r.golden_id, r.data, bool(r.deleted))
    return out


def changed_since(conn: Connection, entity: str, since: dt.datetime, *, after: str, limit: int) -> list[GoldenData]:
    """Golden records changed since ``since`` with ids after ``after``, in id order (one page of ``limit``)."""
    g = T.golden.c
    return [GoldenData(r.golden_id, r.data, bool(r.deleted)) for r in conn.execute(
        select(g.golden_id, g.data, g.deleted).where(g.entity == entity, g.updated_at >= since, g.golden_id > after)
        .order_by(g.golden_id).limit(limit))]


def view(conn: Connection, entity: str, golden_id: str) -> GoldenView | None:
    g = T.golden.c
    r = conn.execute(select(T.golden).where(g.entity == entity, g.golden_id == golden_id)).first()
    if r is None:
        return None
    return GoldenView(r.entity, r.golden_id, r.data, r.data_hash, r.version, r.deleted, r.title, r.lineage,
                      r.created_at, r.updated_at)


def title_and_data(conn: Connection, entity: str, golden_id: str) -> tuple[str | None, dict[str, Any]] | None:
    """(title, values) of a golden record, None when there is none."""
    g = T.golden.c
    r = conn.execute(select(g.title, g.data).where(g.entity == entity, g.golden_id == golden_id)).first()
    return (r.title, dict(r.data)) if r is not None else None


def with_ids(conn: Connection, entities: Sequence[str], golden_id: str) -> list[tuple[str, str]]:
    """(entity, golden id) of the golden records with this id in any of ``entities``."""
    g = T.golden.c
    return [(r.entity, r.golden_id) for r in conn.execute(
        select(g.entity, g.golden_id).where(g.entity.in_(list(entities)), g.golden_id == golden_id))]


def summaries(conn: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], GoldenSummary]:
    """(entity, golden id) -> summary, for those of ``keys`` that exist (a page of search hits)."""
    if not keys:
        return {}
    g = T.golden.c
    return {(r.entity, r.golden_id): GoldenSummary(r.entity, r.golden_id, r.title, r.version, bool(r.deleted),
                                                   r.updated_at)
            for r in conn.execute(_summary_cols().where(or_(*[and_(g.entity == e, g.golden_id == i)
                                                              for e, i in keys])))}


def title_prefix_listing(entity: str, prefix: str) -> Select[Any]:
    """The statement listing an entity's golden records whose title starts with ``prefix``, case-insensitive,
    by title (index ``golden (entity, lower(title), golden_id)``): rows of ``GoldenSummary``'s fields."""
    g = T.golden.c
    low = func.lower(g.title)
    stmt = _summary_cols().where(g.entity == entity)
    if prefix:
        stmt = stmt.where(low >= func.lower(literal(prefix)), low < func.lower(literal(prefix)) + HIGH)
    return stmt.order_by(low, g.golden_id)


def _summary_cols() -> Select[Any]:
    g = T.golden.c
    return select(g.entity, g.golden_id, g.title, g.version, g.deleted, g.updated_at)


def live_ids(conn: Connection, entity: str, golden_ids: Collection[str]) -> set[str]:
    """Those of ``golden_ids`` that are stored and not deleted."""
    return {g for (g,) in bulk_in.select_in(conn, T.golden, ("golden_id",), [("entity", "=", entity), ("deleted", "=", False)],
                                            "golden_id", sorted(golden_ids))}


def live_data_of(conn: Connection, entity: str, golden_ids: Collection[str]) -> dict[str, dict[str, Any]]:
    """golden id -> values, for those of ``golden_ids`` that are live (a batch's candidates, for scoring)."""
    g = T.golden.c
    out: dict[str, dict[str, Any]] = {}
    if not golden_ids:
        return out
    bulk_in.fresh_statistics(conn, T.golden)
    for chunk in chunks(sorted(golden_ids)):
        q = select(g.golden_id, g.data).where(g.entity == entity, g.golden_id.in_(chunk), g.deleted.is_(False))
        out.update({r.golden_id: dict(r.data) for r in conn.execute(q)})
    return out
