"""The golden store: golden records and their lineage, one row per record.

Lineage (which system and source record each field's value came from) is kept compactly in the
golden row itself, ``{field: [system, source_id, source_updated_at, changed_at]}``, instead of a
row per field: loading a batch of golden records is one query, saving it one ``executemany``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from concord.hub.warehouse import bulk, chunks
from concord.hub.warehouse import tables as T


@dataclass(frozen=True)
class LineageEntry:
    system: str
    source_id: str
    source_updated_at: str | None
    changed_at: str | None        # when the field last took a value from this source (ISO 8601)

    def encode(self) -> list[Any]:
        return [self.system, self.source_id, self.source_updated_at, self.changed_at]

    @classmethod
    def decode(cls, raw: Any) -> "LineageEntry":
        system, source_id, updated, changed = (list(raw) + [None] * 4)[:4]
        return cls(str(system), str(source_id), updated, changed)


@dataclass
class GoldenRow:
    golden_id: str
    data: dict[str, Any]
    lineage: dict[str, LineageEntry]
    version: int
    deleted: bool
    created_at: dt.datetime | None


def decode_lineage(raw: Mapping[str, Any] | None) -> dict[str, LineageEntry]:
    return {f: LineageEntry.decode(v) for f, v in (raw or {}).items()}


def encode_lineage(lineage: Mapping[str, LineageEntry]) -> dict[str, list[Any]]:
    return {f: e.encode() for f, e in sorted(lineage.items())}


def load(conn: Connection, entity: str, ids: Iterable[str]) -> dict[str, GoldenRow]:
    return {r.golden_id: GoldenRow(r.golden_id, dict(r.data or {}), decode_lineage(r.lineage), r.version,
                                   bool(r.deleted), r.created_at)
            for r in load_rows(conn, entity, ids)}


def load_rows(conn: Connection, entity: str, ids: Iterable[str]) -> Iterator[Any]:
    """The golden rows of ``ids`` as stored (``lineage`` still encoded): for callers that decode it
    into their own types in one pass."""
    g = T.golden.c
    for chunk in chunks(sorted(set(ids))):
        yield from conn.execute(select(g.golden_id, g.data, g.lineage, g.version, g.deleted, g.created_at)
                                .where(g.entity == entity, g.golden_id.in_(chunk)))


def lineage_of(conn: Connection, entity: str, golden_id: str) -> dict[str, dict[str, Any]]:
    """Per field: system, source_id, source_updated_at, changed_at and the golden value (dashboard, tests)."""
    g = T.golden.c
    row = conn.execute(select(g.data, g.lineage).where(g.entity == entity, g.golden_id == golden_id)).first()
    if row is None:
        return {}
    data = row.data or {}
    return {f: {"field": f, "system": e.system, "source_id": e.source_id, "source_updated_at": e.source_updated_at,
                "changed_at": _when(e.changed_at), "value": data.get(f)}
            for f, e in decode_lineage(row.lineage).items()}


def save(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert or replace golden rows (each with every column, lineage encoded)."""
    bulk.upsert(conn, T.golden, rows, ["entity", "golden_id"],
                update=["data", "data_hash", "version", "deleted", "title", "lineage", "updated_at"])


def save_lineage(conn: Connection, entity: str, lineage_by_id: Mapping[str, Mapping[str, LineageEntry]]) -> None:
    """Only the lineage of records whose data did not change."""
    bulk.update_by_key(conn, T.golden, [{"lineage": encode_lineage(lin), "entity": entity, "golden_id": gid}
                                        for gid, lin in lineage_by_id.items()], ["entity", "golden_id"])


def clear_lineage(conn: Connection, entity: str, golden_ids: Iterable[str] | None = None) -> None:
    g = T.golden.c
    q = update(T.golden).where(g.entity == entity)
    if golden_ids is not None:
        ids = list(golden_ids)
        for chunk in chunks(ids):
            conn.execute(q.where(g.golden_id.in_(chunk)).values(lineage={}))
        return
    conn.execute(q.values(lineage={}))


def _when(iso: str | None) -> dt.datetime | None:
    if not iso:
        return None
    try:
        d = dt.datetime.fromisoformat(iso)
    except ValueError:
        return None
    return d if d.tzinfo else d.replace(tzinfo=dt.timezone.utc)
