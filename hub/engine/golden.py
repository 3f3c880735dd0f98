"""Golden records in the warehouse: load and save them set-based, with lineage, match keys,
the typed canonical projection and the ``dirty`` queue the planner reads."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, delete

import schemas
from hub.engine.context import RunContext
from hub.engine.util import stable_hash, title_of
from hub.survive import Lineage
from hub.warehouse import bulk, chunks
from hub.warehouse import tables as T
from hub.warehouse.stores import golden as golden_store
from hub.warehouse.stores.golden import LineageEntry


@dataclass
class GoldenState:
    golden_id: str
    data: dict[str, Any]
    lineage: dict[str, Lineage]
    version: int = 0
    deleted: bool = False
    created_at: dt.datetime | None = None
    exists: bool = True
    dirty_data: bool = False
    dirty_lineage: set[str] = field(default_factory=set)
    removed_lineage: set[str] = field(default_factory=set)
    touched: bool = False           # re-plan even if the data did not change
    changed_at: dict[str, str | None] = field(default_factory=dict)   # field -> when its lineage last changed


def load_golden(conn: Connection, entity: str, ids: Iterable[str]) -> dict[str, GoldenState]:
    return {gid: GoldenState(gid, r.data, {f: Lineage(e.system, e.source_id, e.source_updated_at)
                                           for f, e in r.lineage.items()},
                             r.version, r.deleted, r.created_at,
                             changed_at={f: e.changed_at for f, e in r.lineage.items()})
            for gid, r in golden_store.load(conn, entity, ids).items()}


def _lineage_of(st: GoldenState, now_iso: str) -> dict[str, LineageEntry]:
    for f in st.dirty_lineage:
        st.changed_at[f] = now_iso
    return {f: LineageEntry(lin.system, lin.source_id, lin.source_updated_at, st.changed_at.get(f))
            for f, lin in st.lineage.items()}


def save_golden(ctx: RunContext, conn: Connection, entity: str, states: Iterable[GoldenState],
                keys_of: Any) -> list[str]:
    """Write changed golden records (with their lineage), keys and projection; queue touched ones for planning."""
    now = ctx.now()
    now_iso = now.isoformat()
    wh = ctx.warehouse
    model = schemas.ENTITIES[entity]
    golden_rows, lineage_only, projection, key_rows, dirty_ids, rekey = [], {}, [], [], [], []
    for st in states:
        lineage_dirty = bool(st.dirty_lineage or st.removed_lineage)
        if st.dirty_data or not st.exists:
            st.version += 1
            golden_rows.append({"entity": entity, "golden_id": st.golden_id, "data": st.data,
                                "data_hash": stable_hash(st.data), "version": st.version, "deleted": st.deleted,
                                "title": title_of(model, st.data),
                                "lineage": golden_store.encode_lineage(_lineage_of(st, now_iso)),
                                "created_at": st.created_at or now, "updated_at": now})
            projection.append(st)
            rekey.append(st.golden_id)
            if not st.deleted:
                key_rows.extend({"entity": entity, "key_name": k, "key_value": v[:400], "golden_id": st.golden_id}
                                for k, v in keys_of(st.data))
        elif lineage_dirty:
            lineage_only[st.golden_id] = _lineage_of(st, now_iso)
        if st.dirty_data or st.touched or not st.exists:
            dirty_ids.append(st.golden_id)
    golden_store.save(conn, golden_rows)
    golden_store.save_lineage(conn, entity, lineage_only)
    mk = T.match_key.c
    for chunk in chunks(rekey):
        conn.execute(delete(T.match_key).where(mk.entity == entity, mk.golden_id.in_(chunk)))
    wh.upsert(conn, T.match_key, _dedup(key_rows), ["entity", "key_name", "key_value", "golden_id"], update=[])
    _project(ctx, conn, entity, projection, now)
    wh.upsert(conn, T.dirty, [{"entity": entity, "golden_id": g, "since": now} for g in dirty_ids],
              ["entity", "golden_id"], update=[])
    return dirty_ids


def _dedup(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for r in rows:
        k = (r["key_name"], r["key_value"], r["golden_id"])
        if k not in seen:
            seen.add(k)
            out.append(r)
    return out


def _typed(value: Any, sqltype: Any) -> Any:
    if value is None:
        return None
    name = type(sqltype).__name__
    try:
        if name == "Numeric":
            return Decimal(str(value))
        if name == "BigInteger":
            return int(value)
        if name == "Boolean":
            return bool(value)
        if name == "Date":
            return dt.date.fromisoformat(str(value)[:10])
        if name == "DateTime":
            d = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            return d if d.tzinfo else d.replace(tzinfo=dt.timezone.utc)
    except (ValueError, InvalidOperation, TypeError):
        return None
    return value if isinstance(value, str) else str(value)


def _project(ctx: RunContext, conn: Connection, entity: str, states: list[GoldenState], now: dt.datetime) -> None:
    """Keep the typed canonical table (and child tables) in step with the golden records."""
    if not states:
        return
    table, cols = T.CANONICAL[entity], T.CANONICAL_COLUMNS[entity]
    live = [s for s in states if not s.deleted]
    gone = [s.golden_id for s in states if s.deleted]
    for coll, child, _ccols in T.CANONICAL_CHILDREN.get(entity, []):
        for chunk in chunks([s.golden_id for s in states]):
            conn.execute(delete(child).where(child.c.golden_id.in_(chunk)))
    for chunk in chunks(gone):
        conn.execute(delete(table).where(table.c.golden_id.in_(chunk)))
    rows = [{"golden_id": s.golden_id, **{c: _typed(s.data.get(p), t) for c, p, t in cols},
             "_version": s.version, "_updated_at": now} for s in live]
    ctx.warehouse.upsert(conn, table, rows, ["golden_id"])
    for coll, child, ccols in T.CANONICAL_CHILDREN.get(entity, []):
        crow = []
        for s in live:
            for pos, item in enumerate(s.data.get(coll) or [], start=1):
                if isinstance(item, Mapping):
                    crow.append({"golden_id": s.golden_id, "position": pos,
                                 **{c: _typed(item.get(p), t) for c, p, t in ccols}})
        bulk.insert(conn, child, crow)
