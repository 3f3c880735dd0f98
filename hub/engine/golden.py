"""Golden records in the warehouse: load and save them set-based, with lineage, match keys,
the typed canonical projection and the ``dirty`` queue the planner reads."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection

from concord import schemas
from concord.hub.engine.context import RunContext
from concord.hub.engine.util import stable_hash, title_of
from concord.hub.survive import Lineage
from concord.hub.warehouse import bulk, bulk_in
from concord.hub.warehouse.stores import dirty
from concord.hub.warehouse.stores import golden as golden_store
from concord.hub.warehouse.stores import match_keys
from concord.hub.warehouse.evolve import canonical_children, canonical_table


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
    key_hashes: frozenset[int] | None = None    # its match keys' hashes, where already known (a mapping worker's)


def load_golden(conn: Connection, entity: str, ids: Iterable[str]) -> dict[str, GoldenState]:
    out: dict[str, GoldenState] = {}
    for r in golden_store.load_rows(conn, entity, ids):
        lineage: dict[str, Lineage] = {}
        changed: dict[str, str | None] = {}
        for f, system, source_id, updated, changed_at in golden_store.iter_lineage(r.lineage):
            lineage[f] = Lineage(system, source_id, updated)     # straight into the engine's types
            changed[f] = changed_at
        out[r.golden_id] = GoldenState(r.golden_id, dict(r.data or {}), lineage, r.version, bool(r.deleted),
                                       r.created_at, changed_at=changed)
    return out


def _lineage_of(st: GoldenState, now_iso: str) -> dict[str, tuple[str, str, Any, Any]]:
    """The lineage as the store encodes it: field -> (system, source_id, source_updated_at, changed_at)."""
    changed_at = st.changed_at
    for f in st.dirty_lineage:
        changed_at[f] = now_iso
    return {f: (lin.system, lin.source_id, lin.source_updated_at, changed_at.get(f))
            for f, lin in st.lineage.items()}


def _encoded_lineage(st: GoldenState, now_iso: str) -> dict[str, list[Any]]:
    """``encode_entries(_lineage_of(st, now_iso))``. A golden record its first source just made (every
    field from one origin, changed now: an initial load's records) is encoded as its one group directly."""
    first = next(iter(st.lineage.values()), None)
    if (first is None or st.changed_at or st.dirty_lineage != st.lineage.keys()
            or any(v is not first for v in st.lineage.values())):
        return golden_store.encode_entries(_lineage_of(st, now_iso))
    return {golden_store.GROUPS: [[first.system, first.source_id, first.source_updated_at, now_iso,
                                   *sorted(st.lineage)]]}


def save_golden(ctx: RunContext, conn: Connection, entity: str, states: Iterable[GoldenState],
                keys_of: Any, *, defer_keys: bool = False) -> list[str]:
    """Write changed golden records (with their lineage), keys and projection; queue touched ones for planning
    (where anything re-plans the entity: ``Project.queues_replans``).

    ``defer_keys``: an initial load's fresh path; the keys wait in ``match_hash_pending`` (``match_keys.settle``)."""
    now = ctx.now()
    now_iso = now.isoformat()
    model = schemas.ENTITIES[entity]
    golden_rows, lineage_only, projection, dirty_ids = [], {}, [], []
    new_keys: dict[str, list[tuple[str, str]] | frozenset[int]] = {}    # golden id -> its keys (or their hashes) now
    stored: set[str] = set()                            # of those, the golden records already in the warehouse
    for st in states:
        lineage_dirty = bool(st.dirty_lineage or st.removed_lineage)
        if st.dirty_data or not st.exists:
            st.version += 1
            golden_rows.append({"entity": entity, "golden_id": st.golden_id, "data": st.data,
                                "data_hash": stable_hash(st.data), "version": st.version, "deleted": st.deleted,
                                "title": title_of(model, st.data), "lineage": _encoded_lineage(st, now_iso),
                                "created_at": st.created_at or now, "updated_at": now})
            projection.append(st)
            if st.exists:
                stored.add(st.golden_id)
            new_keys[st.golden_id] = ([] if st.deleted else st.key_hashes if st.key_hashes is not None
                                      else keys_of(st.data))
        elif lineage_dirty:
            lineage_only[st.golden_id] = _lineage_of(st, now_iso)
        if st.dirty_data or st.touched or not st.exists:
            dirty_ids.append(st.golden_id)
    golden_store.save(conn, golden_rows)
    golden_store.save_lineage(conn, entity, lineage_only)
    match_keys.rekey(conn, entity, new_keys, stored, defer=defer_keys)
    _project(ctx, conn, entity, projection, now)
    if dirty_ids and ctx.project.queues_replans(entity):
        dirty.mark(conn, entity, dirty_ids, now)
    return dirty_ids


def _typed(value: Any, sqltype: Any) -> Any:
    return _converter(type(sqltype).__name__)(value)


def _to_text(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else str(value)


def _guarded(fn: Any) -> Any:
    def convert(value: Any) -> Any:
        if value is None:
            return None
        try:
            return fn(value)
        except (ValueError, InvalidOperation, TypeError):
            return None
    return convert


def _to_datetime(value: Any) -> dt.datetime:
    d = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return d if d.tzinfo else d.replace(tzinfo=dt.timezone.utc)


_CONVERTERS: dict[str, Any] = {
    "Numeric": _guarded(lambda v: Decimal(str(v))),
    "BigInteger": _guarded(int),
    "Boolean": _guarded(bool),
    "Date": _guarded(lambda v: dt.date.fromisoformat(str(v)[:10])),
    "DateTime": _guarded(_to_datetime),
}


def _converter(type_name: str) -> Any:
    """value -> what the typed projection column stores (None when it does not convert)."""
    return _CONVERTERS.get(type_name, _to_text)


def _project(ctx: RunContext, conn: Connection, entity: str, states: list[GoldenState], now: dt.datetime) -> None:
    """Keep the typed canonical table (and child tables) in step with the golden records."""
    if not states:
        return
    models = getattr(ctx.project, "models", None)
    table, cols = canonical_table(models, entity)   # with the project's extension columns
    live = [s for s in states if not s.deleted]
    gone = [s.golden_id for s in states if s.deleted]
    for _coll, child, _ccols in canonical_children(models, entity):
        bulk_in.delete_in(conn, child, (), "golden_id", [s.golden_id for s in states])
    bulk_in.delete_in(conn, table, (), "golden_id", gone)
    # text columns (most of them) inline: a load projects millions of cells, most of them text or empty
    conv = [(c, p, _converter(type(t).__name__)) for c, p, t in cols]
    texts = [(c, p) for c, p, fn in conv if fn is _to_text]
    typed = [(c, p, fn) for c, p, fn in conv if fn is not _to_text]
    rows = []
    for s in live:
        get = s.data.get
        row = {"golden_id": s.golden_id}
        for c, p in texts:
            v = get(p)
            row[c] = v if v is None or v.__class__ is str else str(v)
        for c, p, fn in typed:
            row[c] = fn(get(p))
        row["_version"], row["_updated_at"] = s.version, now
        rows.append(row)
    ctx.warehouse.upsert(conn, table, rows, ["golden_id"])
    for coll, child, ccols in canonical_children(models, entity):
        crow = []
        for s in live:
            for pos, item in enumerate(s.data.get(coll) or [], start=1):
                if isinstance(item, Mapping):
                    crow.append({"golden_id": s.golden_id, "position": pos,
                                 **{c: _converter(type(t).__name__)(item.get(p)) for c, p, t in ccols}})
        bulk.insert(conn, child, crow)
