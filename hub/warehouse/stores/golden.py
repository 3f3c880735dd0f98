"""The golden store: golden records and their lineage, one row per record.

Lineage (which system and source record each field's value came from) is kept compactly in the
golden row itself instead of a row per field: loading a batch of golden records is one query,
saving it one ``executemany``. Fields that share one origin are stored together, so a record
whose fields all came from one source version costs one entry, not one per field::

    {"@": [[system, source_id, source_updated_at, changed_at, field, field, ...], ...]}

The older per-field form, ``{field: [system, source_id, source_updated_at, changed_at]}``, is
still read (rows written before are rewritten in the grouped form when they next change).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, true, update

from concord.hub.warehouse import bulk, bulk_in, chunks
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


GROUPS = "@"     # the key of the grouped form (canonical field names never are "@")


def iter_lineage(raw: Mapping[str, Any] | None) -> Iterator[tuple[str, str, str, Any, Any]]:
    """(field, system, source_id, source_updated_at, changed_at) for every field of stored lineage,
    grouped or per-field form."""
    for f, v in (raw or {}).items():
        if f == GROUPS:
            for g in v:
                system, source_id, updated, changed = str(g[0]), str(g[1]), g[2], g[3]
                for field_name in g[4:]:
                    yield field_name, system, source_id, updated, changed
        else:
            system, source_id, updated, changed = (list(v) + [None] * 4)[:4]
            yield f, str(system), str(source_id), updated, changed


def decode_lineage(raw: Mapping[str, Any] | None) -> dict[str, LineageEntry]:
    return {f: LineageEntry(system, source_id, updated, changed)
            for f, system, source_id, updated, changed in iter_lineage(raw)}


def encode_lineage(lineage: Mapping[str, LineageEntry]) -> dict[str, list[Any]]:
    return encode_entries({f: (e.system, e.source_id, e.source_updated_at, e.changed_at)
                           for f, e in lineage.items()})


def encode_entries(entries: Mapping[str, tuple[str, str, Any, Any]]) -> dict[str, list[Any]]:
    """The grouped form of ``{field: (system, source_id, source_updated_at, changed_at)}``:
    fields sorted within a group, groups in the order of their first field (one value, one text)."""
    groups: dict[tuple[str, str, Any, Any], list[str]] = {}
    for f in sorted(entries):
        groups.setdefault(entries[f], []).append(f)
    return {GROUPS: [[*origin, *fields] for origin, fields in groups.items()]} if groups else {}


def load(conn: Connection, entity: str, ids: Iterable[str]) -> dict[str, GoldenRow]:
    return {r.golden_id: GoldenRow(r.golden_id, dict(r.data or {}), decode_lineage(r.lineage), r.version,
                                   bool(r.deleted), r.created_at)
            for r in load_rows(conn, entity, ids)}


def load_rows(conn: Connection, entity: str, ids: Iterable[str]) -> Iterator[Any]:
    """The golden rows of ``ids`` as stored (``lineage`` still encoded): for callers that decode it
    into their own types in one pass."""
    g = T.golden.c
    wanted = sorted(set(ids))
    if not wanted:       # (an initial load's batches ask for none: no ANALYZE of a table it is filling)
        return
    bulk_in.fresh_statistics(conn, T.golden)
    for chunk in chunks(wanted):
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


def save_lineage(conn: Connection, entity: str,
                 lineage_by_id: Mapping[str, Mapping[str, LineageEntry | tuple[str, str, Any, Any]]]) -> None:
    """Only the lineage of records whose data did not change (entries or their tuples)."""
    bulk.update_by_key(conn, T.golden, [{"lineage": encode_entries({f: tuple(e.encode()) if isinstance(e, LineageEntry)
                                                                    else e for f, e in lin.items()}),
                                         "entity": entity, "golden_id": gid}
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


def entity_is_empty(conn: Connection, entity: str) -> bool:
    """No golden record and no cross-reference of ``entity`` (an initial load's first system)."""
    g, x = T.golden.c, T.xref.c
    return (conn.execute(select(g.golden_id).where(g.entity == entity).limit(1)).first() is None
            and conn.execute(select(x.golden_id).where(x.entity == entity).limit(1)).first() is None)


def count_by_entity(conn: Connection) -> dict[str, int]:
    """Live (not deleted) golden records per entity: all of them (over the narrow ``(entity, title)`` index)
    less the deleted ones (a partial index of those, migration 0008), so no golden row is read."""
    g = T.golden.c
    every = {r.entity: r.n for r in conn.execute(select(g.entity, func.count().label("n")).group_by(g.entity))}
    for r in conn.execute(select(g.entity, func.count().label("n")).where(g.deleted == true()).group_by(g.entity)):
        every[r.entity] -= r.n
    return {e: n for e, n in every.items() if n}


def live_data(conn: Connection, entity: str) -> dict[str, dict[str, Any]]:
    """golden id -> data of the entity's live golden records (small entities: the demo's summary)."""
    g = T.golden.c
    return {r.golden_id: dict(r.data) for r in conn.execute(
        select(g.golden_id, g.data).where(g.entity == entity, g.deleted.is_(False)))}
