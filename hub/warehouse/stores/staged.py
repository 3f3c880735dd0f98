"""Staged records (``raw_record``) after the pull: what the planner, write outcomes, manual matching, a
re-match and the dashboard read and change of them. The pull's own path (staging a page, cursors,
deletions) is ``stores/staging.py``; the statuses are its ``RawStatus``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection, Text, cast, func, null, select, update

from concord.hub.warehouse import bulk, bulk_in, chunks
from concord.hub.warehouse import tables as T
from concord.hub.warehouse.stores.staging import MAPPED_STATES, RawStatus
from concord.hub.warehouse.stores.xrefs import XrefState


@dataclass(frozen=True)
class StagedView:
    """A staged record as the dashboard shows it beside its golden record."""
    source_entity: str
    payload: Any
    canonical: dict[str, Any] | None
    status: RawStatus
    deleted: bool
    source_updated_at: str | None
    landed_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {"source_entity": self.source_entity, "payload": self.payload, "canonical": self.canonical,
                "status": self.status, "deleted": self.deleted, "source_updated_at": self.source_updated_at,
                "landed_at": self.landed_at}


@dataclass(frozen=True)
class LinkedSource:
    """A live source record of a golden record, with its last mapped canonical values."""
    system: str
    source_id: str
    canonical: dict[str, Any] | None
    source_updated_at: str | None
    status: RawStatus


@dataclass(frozen=True)
class Written:
    """What a target holds of one record after Concord wrote it: the flat canonical values, and the
    golden record it belongs to."""
    source_id: str
    canonical: dict[str, Any]
    golden_id: str


def canonical_by_id(conn: Connection, system: str, entity: str, ids: Sequence[str]) -> dict[str, dict[str, Any] | None]:
    """source id -> last mapped canonical values (None before mapping), for the staged records among ``ids``."""
    r = T.raw_record.c
    out: dict[str, dict[str, Any] | None] = {}
    for chunk in chunks(sorted(set(ids))):
        for row in conn.execute(select(r.source_id, r.canonical).where(
                r.system == system, r.entity == entity, r.source_id.in_(chunk))):
            out[row.source_id] = row.canonical
    return out


def view(conn: Connection, system: str, entity: str, source_id: str) -> StagedView | None:
    r = T.raw_record.c
    row = conn.execute(select(r.source_entity, r.payload, r.canonical, r.status, r.deleted, r.source_updated_at,
                              r.landed_at).where(r.system == system, r.entity == entity,
                                                 r.source_id == source_id)).first()
    if row is None:
        return None
    return StagedView(row.source_entity, row.payload, row.canonical, RawStatus(row.status), row.deleted,
                      row.source_updated_at, row.landed_at)


def sources_of(conn: Connection, entity: str, golden_id: str) -> list[LinkedSource]:
    """The staged records of a golden record's live cross-references."""
    x, r = T.xref.c, T.raw_record.c
    return [LinkedSource(s.system, s.source_id, s.canonical, s.source_updated_at, RawStatus(s.status))
            for s in conn.execute(
                select(x.system, x.source_id, r.canonical, r.source_updated_at, r.status)
                .select_from(T.xref.join(T.raw_record, (r.system == x.system) & (r.entity == x.entity)
                                         & (r.source_id == x.source_id)))
                .where(x.entity == entity, x.golden_id == golden_id, x.state != XrefState.DELETED.value))]


def note_written(conn: Connection, *, system: str, entity: str, source_entity: str, known: Sequence[Written],
                 new: Sequence[Written], run_id: int | None, now: dt.datetime) -> None:
    """Concord wrote these records to ``system``: staged ones (``known``) now hold the written values and
    belong to their golden record; records it created there are staged as mapped, with no payload."""
    if known:
        bulk.update_by_key(conn, T.raw_record, [
            {"canonical": w.canonical, "golden_id": w.golden_id, "system": system, "entity": entity,
             "source_id": w.source_id} for w in known], ["system", "entity", "source_id"])
    if new:
        bulk.insert(conn, T.raw_record, [
            {"system": system, "entity": entity, "source_id": w.source_id, "source_entity": source_entity,
             "payload": {}, "payload_hash": "", "source_updated_at": None, "deleted": False,
             "status": RawStatus.MAPPED.value, "canonical": w.canonical, "golden_id": w.golden_id,
             "seen_run": run_id, "landed_at": now, "mapped_at": now} for w in new])


def set_golden(conn: Connection, entity: str, system: str, source_id: str, golden_id: str) -> None:
    """The staged record now belongs to ``golden_id`` (a manual link or split)."""
    r = T.raw_record.c
    conn.execute(update(T.raw_record).where(r.entity == entity, r.system == system, r.source_id == source_id)
                 .values(golden_id=golden_id))


def requeue(conn: Connection, entity: str, system: str, source_id: str) -> None:
    """Send one record through map/match/survive again on the next cycle, as if just read."""
    r = T.raw_record.c
    conn.execute(update(T.raw_record).where(r.system == system, r.entity == entity, r.source_id == source_id)
                 .values(status=RawStatus.PENDING.value, golden_id=None))


def requeue_entity(conn: Connection, entity: str) -> None:
    """Every record of ``entity`` that is not quarantined is processed again from scratch (a re-match)."""
    r = T.raw_record.c
    conn.execute(update(T.raw_record).where(r.entity == entity, r.status != RawStatus.QUARANTINED.value)
                 .values(status=RawStatus.PENDING.value, canonical=None, golden_id=None))


# ---- the processing step: pending records in, their outcome back ------------------------------------
class Pending(NamedTuple):
    """A staged record waiting to be mapped, matched and survived."""

    source_id: str
    payload: dict[str, Any] | None        # None: read without it (``pending(payloads=False)``)
    canonical: dict[str, Any] | None      # what Concord made of it last time (None: never mapped)
    deleted: bool
    golden_id: str | None                 # the golden record it fed last time
    source_updated_at: str | None
    payload_hash: str


def pending(conn: Connection, system: str, entity: str, after: str, limit: int, *,
            payloads: bool = True) -> list[Pending]:
    """The next ``limit`` pending records of a stream after source id ``after``, in source-id order.

    ``payloads=False``: their payloads left unread (``None``), for a caller that has most records mapped
    already (by a mapping worker) and reads the others' with :func:`with_payloads`."""
    r = T.raw_record.c
    return [Pending(*row) for row in conn.execute(
        select(r.source_id, r.payload if payloads else null(), r.canonical, r.deleted, r.golden_id,
               r.source_updated_at, r.payload_hash)
        .where(r.system == system, r.entity == entity, r.status == RawStatus.PENDING, r.source_id > after)
        .order_by(r.source_id).limit(limit))]


def with_payloads(conn: Connection, system: str, entity: str, rows: Sequence[Pending],
                  wanted: Collection[str]) -> list[Pending]:
    """``rows`` with the payloads of those in ``wanted`` read (one query per 500; the rest as they are)."""
    ids = sorted({row.source_id for row in rows if row.payload is None} & set(wanted))
    if not ids:
        return list(rows)
    r = T.raw_record.c
    got: dict[str, Any] = {}
    for chunk in chunks(ids):
        got.update((sid, payload) for sid, payload in conn.execute(select(r.source_id, r.payload).where(
            r.system == system, r.entity == entity, r.source_id.in_(chunk))))
    return [row._replace(payload=got[row.source_id]) if row.source_id in got else row for row in rows]


def payload_values(conn: Connection, system: str, entity: str, source_ids: Collection[str],
                   field: str) -> dict[str, Any]:
    """source id -> the value of one top-level field of its payload, read in the database (the payloads
    stay undecoded here); records without the field (or with null) are left out."""
    r = T.raw_record.c
    out: dict[str, Any] = {}
    for chunk in chunks(sorted(source_ids)):
        for sid, value in conn.execute(select(r.source_id, r.payload[field]).where(
                r.system == system, r.entity == entity, r.source_id.in_(chunk))):
            if value is not None:
                out[sid] = value
    return out


class PendingText(NamedTuple):
    """A pending record's payload as the JSON text stored (not decoded), for a process that decodes it."""

    source_id: str
    payload_hash: str
    payload_text: str


def pending_texts(conn: Connection, system: str, entity: str, after: str, limit: int) -> list[PendingText]:
    """:func:`pending`'s records (the same ones, in the same order), their payloads as undecoded JSON text."""
    r = T.raw_record.c
    return [PendingText(*row) for row in conn.execute(
        select(r.source_id, r.payload_hash, cast(r.payload, Text))
        .where(r.system == system, r.entity == entity, r.status == RawStatus.PENDING, r.source_id > after)
        .order_by(r.source_id).limit(limit))]


def requeue_unresolved(conn: Connection, system: str, entity: str, parents: Sequence[str]) -> None:
    """Records left ``unresolved`` (a reference not known when they were mapped) go back to pending when a
    golden record of an entity they reference (``parents``) changed after they were mapped."""
    r, g = T.raw_record.c, T.golden.c
    if not parents or conn.execute(select(r.source_id).where(r.system == system, r.entity == entity,
                                                             r.status == RawStatus.UNRESOLVED).limit(1)).first() is None:
        return
    latest = conn.execute(select(func.max(g.updated_at)).where(g.entity.in_(sorted(parents)))).scalar()
    if latest is not None:
        conn.execute(update(T.raw_record).where(r.system == system, r.entity == entity,
                                                r.status == RawStatus.UNRESOLVED, r.mapped_at < latest)
                     .values(status=RawStatus.PENDING))


@dataclass(frozen=True, slots=True)
class Mapped:
    """A processed record's outcome: what it maps to, the golden record it feeds, and whether a reference
    it holds is still unknown (``unresolved``: mapped again when the referenced record appears)."""

    source_id: str
    canonical: dict[str, Any]
    golden_id: str
    unresolved: bool = False


def record_mapped(conn: Connection, system: str, entity: str, outcomes: Sequence[Mapped], now: dt.datetime) -> None:
    """Store the outcome of processed records (one set-based update)."""
    bulk.update_by_key(conn, T.raw_record, [
        {"status": RawStatus.UNRESOLVED if o.unresolved else RawStatus.MAPPED, "canonical": o.canonical,
         "golden_id": o.golden_id, "mapped_at": now, "system": system, "entity": entity, "source_id": o.source_id}
        for o in outcomes], ["system", "entity", "source_id"])


def mark(conn: Connection, system: str, entity: str, source_ids: Sequence[str], status: RawStatus, *,
         now: dt.datetime | None = None) -> None:
    """Set the status of these records (and ``mapped_at``, given ``now``): a deletion processed, a record
    quarantined."""
    values: dict[str, Any] = {"status": status}
    if now is not None:
        values["mapped_at"] = now
    bulk_in.update_in(conn, T.raw_record, values, [("system", "=", system), ("entity", "=", entity)], "source_id",
                      list(source_ids))


def mapped_canonical(conn: Connection, entity: str, limit: int) -> list[dict[str, Any]]:
    """The last mapped canonical record of live staged records of an entity, across systems (training data)."""
    r = T.raw_record.c
    return [dict(row.canonical) for row in conn.execute(
        select(r.canonical).where(r.entity == entity, r.status.in_(MAPPED_STATES), r.deleted.is_(False),
                                  r.canonical.is_not(None)).limit(limit))]
