"""What each target holds of each golden record as Concord last wrote or agreed it (``target_state``):
the base of conflict detection and echo suppression."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select

from concord.hub.warehouse import bulk, chunks
from concord.hub.warehouse import tables as T


def of_system(conn: Connection, entity: str, system: str, golden_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """golden id -> the values ``system`` holds, for those of ``golden_ids`` it has been written."""
    ts = T.target_state.c
    out: dict[str, dict[str, Any]] = {}
    for chunk in chunks(sorted(set(golden_ids))):
        for r in conn.execute(select(ts.golden_id, ts.data).where(ts.entity == entity, ts.system == system,
                                                                  ts.golden_id.in_(chunk))):
            out[r.golden_id] = r.data or {}
    return out


def of_golden(conn: Connection, entity: str, golden_ids: Sequence[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """(golden id, system) -> the values the system holds, for every system these golden records were written to."""
    ts = T.target_state.c
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for chunk in chunks(sorted(set(golden_ids))):
        for r in conn.execute(select(ts.golden_id, ts.system, ts.data).where(ts.entity == entity,
                                                                             ts.golden_id.in_(chunk))):
            out[(r.golden_id, r.system)] = r.data
    return out


def save(conn: Connection, entity: str, system: str, state: Mapping[str, dict[str, Any]], now: dt.datetime,
         hash_of: Callable[[dict[str, Any]], str]) -> None:
    """golden id -> the values ``system`` now holds (``hash_of`` gives the stored hash of a value dict)."""
    bulk.upsert(conn, T.target_state, [
        {"entity": entity, "golden_id": g, "system": system, "data": d, "data_hash": hash_of(d), "updated_at": now}
        for g, d in state.items()], ["entity", "golden_id", "system"])
