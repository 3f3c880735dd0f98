"""The cross-reference store: which record of which system is which golden record."""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from concord.hub.warehouse import bulk, bulk_in, chunks
from concord.hub.warehouse import tables as T


class XrefState(StrEnum):
    LINKED = "linked"      # linked by the rules
    MANUAL = "manual"      # linked by a person (hub/matching/manual.py)
    DELETED = "deleted"    # the source record was deleted


@dataclass(frozen=True)
class Xref:
    entity: str
    system: str
    source_id: str
    golden_id: str
    state: XrefState
    created_at: dt.datetime
    updated_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def _xref(r: Any) -> Xref:
    return Xref(r.entity, r.system, r.source_id, r.golden_id, XrefState(r.state), r.created_at, r.updated_at)


def get(conn: Connection, entity: str, system: str, source_id: str) -> Xref | None:
    """The cross-reference of one source record (in any state)."""
    x = T.xref.c
    r = conn.execute(select(T.xref).where(x.entity == entity, x.system == system, x.source_id == source_id)).first()
    return _xref(r) if r is not None else None


def golden_of(conn: Connection, entity: str, system: str, source_id: str) -> str | None:
    """The golden id of a live (not deleted) source record."""
    x = T.xref.c
    return conn.execute(select(x.golden_id).where(x.entity == entity, x.system == system, x.source_id == source_id,
                                                  x.state != XrefState.DELETED.value)).scalar()


def of_golden(conn: Connection, entity: str, golden_id: str) -> list[Xref]:
    """Every cross-reference of a golden record (deleted ones too), by system and age."""
    x = T.xref.c
    return [_xref(r) for r in conn.execute(select(T.xref).where(x.entity == entity, x.golden_id == golden_id)
                                           .order_by(x.system, x.created_at))]


def with_source_id(conn: Connection, entities: Sequence[str], systems: Sequence[str], source_id: str, *,
                   limit: int) -> list[Xref]:
    """Cross-references of records with this source id in any of ``systems`` and ``entities`` (a search)."""
    x = T.xref.c
    return [_xref(r) for r in conn.execute(select(T.xref).where(
        x.entity.in_(list(entities)), x.system.in_(list(systems)), x.source_id == source_id).limit(limit))]


def first_links(conn: Connection, entity: str, golden_ids: Sequence[str], *,
                system: str | None = None) -> dict[tuple[str, str], str]:
    """(golden id, system) -> the oldest live record id (of ``system``, when named) of these golden records."""
    x = T.xref.c
    out: dict[tuple[str, str], str] = {}
    q = select(x.golden_id, x.system, x.source_id).where(x.entity == entity, x.state != XrefState.DELETED.value)
    if system is not None:
        q = q.where(x.system == system)
    for chunk in chunks(sorted(set(golden_ids))):     # a golden record's links are all in one chunk
        for r in conn.execute(q.where(x.golden_id.in_(chunk)).order_by(x.created_at, x.source_id)):
            out.setdefault((r.golden_id, r.system), r.source_id)
    return out


def linked_golden_ids(conn: Connection, entity: str, system: str, golden_ids: Sequence[str]) -> dict[str, str]:
    """golden id -> the system's live record id, for those of ``golden_ids`` linked to ``system``."""
    x = T.xref.c
    out: dict[str, str] = {}
    for chunk in chunks(sorted(set(golden_ids))):
        for r in conn.execute(select(x.golden_id, x.source_id).where(
                x.entity == entity, x.system == system, x.golden_id.in_(chunk), x.state != XrefState.DELETED)):
            out.setdefault(r.golden_id, r.source_id)
    return out


def links(conn: Connection, entity: str, system: str | None = None) -> dict[str, dict[str, str]]:
    """system -> source id -> golden id of the entity's records linked by the rules (one system, when named)."""
    x = T.xref.c
    q = select(x.system, x.source_id, x.golden_id).where(x.entity == entity, x.state == XrefState.LINKED)
    if system is not None:
        q = q.where(x.system == system)
    out: dict[str, dict[str, str]] = {}
    for r in conn.execute(q.order_by(x.system, x.source_id)):
        out.setdefault(r.system, {})[r.source_id] = r.golden_id
    return out


def count_linked(conn: Connection) -> tuple[int, int]:
    """(records linked by the rules, golden records linked in two systems or more)."""
    x = T.xref.c
    linked = conn.execute(select(func.count()).select_from(T.xref).where(x.state == XrefState.LINKED)).scalar() or 0
    multi = select(x.golden_id).where(x.state == XrefState.LINKED).group_by(x.entity, x.golden_id).having(
        func.count(func.distinct(x.system)) >= 2).subquery()
    return int(linked), int(conn.execute(select(func.count()).select_from(multi)).scalar() or 0)


def held_by_other(conn: Connection, entity: str, golden_id: str, system: str, source_id: str) -> str | None:
    """The id of another live record of ``system`` in the golden record, if it holds one."""
    x = T.xref.c
    return conn.execute(select(x.source_id).where(x.entity == entity, x.golden_id == golden_id, x.system == system,
                                                  x.state != XrefState.DELETED.value, x.source_id != source_id)
                        ).scalar()


def has_other_members(conn: Connection, entity: str, golden_id: str, system: str, source_id: str) -> bool:
    """The golden record holds a live record other than ``system:source_id``."""
    x = T.xref.c
    return conn.execute(select(x.source_id).where(
        x.entity == entity, x.golden_id == golden_id, x.state != XrefState.DELETED.value,
        (x.system != system) | (x.source_id != source_id))).first() is not None


def pin(conn: Connection, entity: str, system: str, source_id: str, now: dt.datetime, *,
        golden_id: str | None = None) -> None:
    """A person's decision: the record stays where it is (or moves to ``golden_id``) and the rules never
    re-match it."""
    x = T.xref.c
    values: dict[str, Any] = {"state": XrefState.MANUAL.value, "updated_at": now}
    if golden_id is not None:
        values = {"golden_id": golden_id, **values}
    conn.execute(update(T.xref).where(x.entity == entity, x.system == system, x.source_id == source_id)
                 .values(**values))


def mark_deleted(conn: Connection, entity: str, system: str, golden_id: str, now: dt.datetime) -> None:
    """Concord deleted the golden record's record in ``system``."""
    x = T.xref.c
    conn.execute(update(T.xref).where(x.entity == entity, x.system == system, x.golden_id == golden_id)
                 .values(state=XrefState.DELETED.value, updated_at=now))


def link_created(conn: Connection, entity: str, system: str, links: Mapping[str, str], now: dt.datetime) -> None:
    """Records Concord wrote to ``system`` (source id -> golden id) are linked to their golden records."""
    bulk.upsert(conn, T.xref, [{"entity": entity, "system": system, "source_id": sid, "golden_id": gid,
                                "state": XrefState.LINKED.value, "created_at": now, "updated_at": now}
                               for sid, gid in links.items()],
                ["entity", "system", "source_id"], update=["golden_id", "state", "updated_at"])


def manual_golden_ids(conn: Connection, entity: str) -> set[str]:
    """Golden records that hold a record linked by a person."""
    x = T.xref.c
    return {r.golden_id for r in conn.execute(select(x.golden_id).where(x.entity == entity,
                                                                        x.state == XrefState.MANUAL.value))}


def forget_rule_links(conn: Connection, entity: str) -> None:
    """Drop every cross-reference of ``entity`` a person did not make (a full re-match)."""
    x = T.xref.c
    conn.execute(delete(T.xref).where(x.entity == entity, x.state != XrefState.MANUAL.value))


def first_of_shared(conn: Connection, entity: str, *, min_systems: int = 2) -> dict[str, str]:
    """system -> the smallest record id (by the rules' links) among golden records linked in at least
    ``min_systems`` systems."""
    x = T.xref.c
    shared = (select(x.golden_id).where(x.entity == entity, x.state == XrefState.LINKED)
              .group_by(x.golden_id).having(func.count(func.distinct(x.system)) >= min_systems)).subquery()
    return {r.system: r.sid for r in conn.execute(
        select(x.system, func.min(x.source_id).label("sid"))
        .where(x.entity == entity, x.state == XrefState.LINKED, x.golden_id.in_(select(shared)))
        .group_by(x.system))}


# ---- the processing step ------------------------------------------------------------------------------
def golden_ids_of(conn: Connection, entity: str, system: str, source_ids: Sequence[str]) -> dict[str, str]:
    """source id -> golden id, for those of a system's records that are live and linked."""
    return dict(bulk_in.select_in(conn, T.xref, ("source_id", "golden_id"),
                                  [("entity", "=", entity), ("system", "=", system),
                                   ("state", "!=", XrefState.DELETED.value)], "source_id", list(source_ids)))


def linked_to_system(conn: Connection, entity: str, system: str, golden_ids: Collection[str]) -> set[str]:
    """Those of ``golden_ids`` that already have a live record of ``system``."""
    return {r[0] for r in bulk_in.select_in(conn, T.xref, ("golden_id",),
                                            [("entity", "=", entity), ("system", "=", system),
                                             ("state", "!=", XrefState.DELETED.value)], "golden_id", sorted(golden_ids))}


def alive(conn: Connection, entity: str, golden_ids: Collection[str], *, exclude: Collection[str] = ()) -> set[str]:
    """Those of ``golden_ids`` with a live record in a system other than ``exclude``."""
    x = T.xref.c
    out: set[str] = set()
    for chunk in chunks(sorted(golden_ids)):
        q = select(x.golden_id).where(x.entity == entity, x.golden_id.in_(chunk), x.state != XrefState.DELETED.value)
        if exclude:
            q = q.where(x.system.not_in(sorted(exclude)))
        out.update(r.golden_id for r in conn.execute(q))
    return out


def save_links(conn: Connection, entity: str, system: str, links: Mapping[str, str], now: dt.datetime) -> None:
    """Link these records (source id -> golden id) by the rules: new cross-references, or a changed target."""
    bulk.upsert(conn, T.xref, [{"entity": entity, "system": system, "source_id": sid, "golden_id": gid,
                                "state": XrefState.LINKED.value, "created_at": now, "updated_at": now}
                               for sid, gid in links.items()],
                ["entity", "system", "source_id"], update=["golden_id", "state", "updated_at"])


def mark_records_deleted(conn: Connection, entity: str, system: str, source_ids: Sequence[str],
                         now: dt.datetime) -> None:
    """These source records were deleted at their system."""
    bulk_in.update_in(conn, T.xref, {"state": XrefState.DELETED, "updated_at": now},
                      [("entity", "=", entity), ("system", "=", system)], "source_id", list(source_ids))


# ---- references in mappings (hub/engine/resolver.py) -----------------------------------------------------
def source_of(conn: Connection, entity: str, system: str, golden_id: str) -> str | None:
    """The system's live record of a golden record (the oldest, if several)."""
    x = T.xref.c
    return conn.execute(select(x.source_id).where(
        x.entity == entity, x.system == system, x.golden_id == golden_id, x.state != XrefState.DELETED.value)
        .order_by(x.created_at).limit(1)).scalar()


def first_source_among(conn: Connection, entity: str, system: str, golden_ids: Sequence[str]) -> str | None:
    """The system's oldest live record of any of ``golden_ids`` (ties by golden id)."""
    x = T.xref.c
    return conn.execute(select(x.source_id).where(
        x.entity == entity, x.system == system, x.golden_id.in_(list(golden_ids)), x.state != XrefState.DELETED.value)
        .order_by(x.created_at, x.golden_id).limit(1)).scalar()


def first_linked_among(conn: Connection, entity: str, system: str, golden_ids: Sequence[str]) -> str | None:
    """The smallest of ``golden_ids`` that has a live record of the system."""
    x = T.xref.c
    return conn.execute(select(x.golden_id).where(
        x.entity == entity, x.system == system, x.golden_id.in_(list(golden_ids)), x.state != XrefState.DELETED.value)
        .order_by(x.golden_id).limit(1)).scalar()
