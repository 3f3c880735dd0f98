"""The outbox store: queued writes, their claims and leases.

A push claims a batch before it calls the target: the rows become ``sending``, owned by this
process (``owner.current_owner()``) until ``lease_until``. A row another live process is sending
is never claimed again before its lease ends, so two workers never send one write twice; a row
left ``sending`` by a process that died (SIGKILL, power loss) is free again at once on the same
machine, and at the end of its lease from another machine.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select, update

from concord.hub.warehouse import bulk, chunks
from concord.hub.warehouse import tables as T
from concord.hub.warehouse.owner import current_owner, is_alive


class OutboxStatus(StrEnum):
    PENDING = "pending"        # queued, never tried
    SENDING = "sending"        # claimed by a worker, the call may be in flight
    DONE = "done"
    FAILED = "failed"          # a transient failure: retried after next_attempt_at
    DEAD = "dead"              # dead letter: failed for good, waits for a person
    SUPERSEDED = "superseded"  # replaced by a newer write of the same record
    DISCARDED = "discarded"    # a dead letter a person decided not to send


class WriteOp(StrEnum):
    CREATE = "create"
    UPSERT = "upsert"      # create or update by an external id
    UPDATE = "update"
    DELETE = "delete"


#: writes that make a record the target may not have yet
CREATES = (WriteOp.CREATE, WriteOp.UPSERT)

OPEN = (OutboxStatus.PENDING, OutboxStatus.FAILED, OutboxStatus.SENDING)
QUEUED = (OutboxStatus.PENDING, OutboxStatus.FAILED)     # waiting for a push (not in flight)
CLAIM_LEASE = dt.timedelta(minutes=10)   # longer than any batch call with its retries


@dataclass(frozen=True)
class QueuedWrite:
    """An open write as the next push would send it."""
    entity: str
    system: str
    target_entity: str
    golden_id: str
    op: WriteOp
    target_id: str | None
    canonical: dict[str, Any]
    idempotency_key: str


@dataclass(frozen=True)
class NewWrite(QueuedWrite):
    """A planned write to queue (values stay canonical until push time), with the run that planned it."""
    run_id: int | None = None


@dataclass(frozen=True)
class OutboxRow(QueuedWrite):
    """An outbox row as stored (the dashboard's history of a golden record): the write and its state."""
    id: int
    run_id: int | None
    fields: dict[str, Any]
    status: OutboxStatus
    attempts: int
    last_error: Any
    next_attempt_at: dt.datetime | None
    claimed_by: str | None
    lease_until: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class DoneWrite:
    """A write the target accepted: the record's id there and the fields sent."""
    id: int
    target_id: str | None
    fields: dict[str, Any]


@dataclass(frozen=True)
class FailedWrite:
    """A write that failed, with the error (redacted) and when to try again (retries only)."""
    id: int
    error: dict[str, Any]
    next_attempt_at: dt.datetime | None


#: where a failed write goes
FAILURE_STATUSES = (OutboxStatus.SUPERSEDED, OutboxStatus.FAILED, OutboxStatus.DEAD)


def claimable(conn: Connection, *, entity: str, system: str, after: int, limit: int, now: dt.datetime,
              for_update: bool = False, new_records: bool = True) -> list[Any]:
    """The next rows this process may claim after outbox id ``after``, in queue order.

    Queued and retryable rows whose time has come, and ``sending`` rows whose owner is this
    process, is gone, or whose lease has ended. Rows another live worker is sending are skipped.
    ``new_records=False`` leaves writes of records the target has no id for (creates) queued.
    """
    o = T.outbox.c
    me = current_owner()
    out: list[Any] = []
    cursor = after
    alive: dict[str | None, bool | None] = {}
    while len(out) < limit:
        q = (select(T.outbox).where(o.entity == entity, o.system == system, o.id > cursor,
                                    o.status.in_([s.value for s in OPEN]),
                                    (o.next_attempt_at.is_(None)) | (o.next_attempt_at <= now))
             .order_by(o.id).limit(limit))
        if for_update:
            q = q.with_for_update(skip_locked=True)
        rows = list(conn.execute(q))
        if not rows:
            break
        cursor = rows[-1].id
        for r in rows:
            if not new_records and is_new_record(r):
                continue
            if r.status == OutboxStatus.SENDING and r.claimed_by != me:
                lease_over = r.lease_until is not None and _aware(r.lease_until) <= now
                if r.claimed_by not in alive:
                    alive[r.claimed_by] = is_alive(r.claimed_by)
                if not lease_over and alive[r.claimed_by] is not False:
                    continue   # another worker's write in flight: never send it twice
            out.append(r)
            if len(out) == limit:
                break
    return out


def is_new_record(row: Any) -> bool:
    """A write that makes a record the target has no id for yet (create, or upsert without a target id)."""
    return row.op in CREATES and not row.target_id


def count_new(conn: Connection, *, entity: str, system: str) -> int:
    """Queued writes of new records for one stream (what waits when creates are held back)."""
    o = T.outbox.c
    return conn.execute(select(func.count()).select_from(T.outbox).where(
        o.entity == entity, o.system == system, o.status.in_([OutboxStatus.PENDING.value, OutboxStatus.FAILED.value]),
        o.op.in_([c.value for c in CREATES]), o.target_id.is_(None))).scalar() or 0


def supersede(conn: Connection, rows: Sequence[tuple[int, dict[str, Any]]], now: dt.datetime) -> None:
    """Rows that must not be sent any more, each with the reason."""
    bulk.update_by_key(conn, T.outbox, [{"status": OutboxStatus.SUPERSEDED.value, "last_error": reason,
                                         "updated_at": now, "id": oid} for oid, reason in rows], ["id"])


def mark_sending(conn: Connection, ids: Sequence[int], now: dt.datetime) -> None:
    """Claim rows for this process until the lease ends (attempts + 1)."""
    if not ids:
        return
    o = T.outbox.c
    conn.execute(update(T.outbox).where(o.id.in_(list(ids))).values(
        status=OutboxStatus.SENDING.value, attempts=o.attempts + 1, updated_at=now,
        claimed_by=current_owner(), lease_until=now + CLAIM_LEASE))


def note_waiting(conn: Connection, waits: Sequence[tuple[int, dict[str, Any]]], now: dt.datetime) -> None:
    """Rows that cannot go yet (a parent not written): they stay queued, with the reason."""
    bulk.update_by_key(conn, T.outbox, [{"updated_at": now, "last_error": reason, "id": oid} for oid, reason in waits],
                       ["id"])


def in_flight_elsewhere(conn: Connection, *, entity: str | None = None) -> int:
    """Rows another live worker is sending now (what a second process must leave alone)."""
    o = T.outbox.c
    q = select(o.claimed_by, o.lease_until).where(o.status == OutboxStatus.SENDING.value,
                                                  o.claimed_by.is_not(None), o.claimed_by != current_owner())
    if entity:
        q = q.where(o.entity == entity)
    now = dt.datetime.now(dt.timezone.utc)
    return sum(1 for r in conn.execute(q)
               if is_alive(r.claimed_by) is not False and (r.lease_until is None or _aware(r.lease_until) > now))


def open_rows_for(conn: Connection, entity: str, golden_ids: Sequence[str]) -> list[Any]:
    """Open rows (queued, retrying or in flight) of these golden records: the planner's dedupe."""
    o = T.outbox.c
    out: list[Any] = []
    gids = sorted(set(golden_ids))
    for i in range(0, len(gids), 500):
        out.extend(conn.execute(select(o.id, o.golden_id, o.system, o.op, o.idempotency_key, o.status).where(
            and_(o.entity == entity, o.golden_id.in_(gids[i:i + 500]),
                 or_(*[o.status == s.value for s in OPEN])))))
    return out


def _aware(ts: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes for UTC columns."""
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.timezone.utc)


def waiting_summary(conn: Connection) -> list[dict[str, Any]]:
    """Queued writes that wait, by target, entity and kind (waiting: a parent is on its way; blocked:
    no rule will ever write it), with how many and the reason of the first."""
    o = T.outbox.c
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in conn.execute(select(o.system, o.entity, o.last_error).where(
            o.status.in_([OutboxStatus.PENDING.value, OutboxStatus.FAILED.value]), o.last_error.is_not(None))
            .order_by(o.id)):
        err = r.last_error if isinstance(r.last_error, dict) else {}
        kind = err.get("kind")
        if kind not in ("waiting", "blocked"):
            continue
        d = out.setdefault((r.system, r.entity, kind), {"system": r.system, "entity": r.entity, "kind": kind,
                                                        "count": 0, "reason": err.get("message", "")})
        d["count"] += 1
    return sorted(out.values(), key=lambda d: (d["kind"] != "blocked", d["system"], d["entity"]))


def open_rows(conn: Connection, *, system: str | None = None, entity: str | None = None,
              status: str | None = None, offset: int = 0, limit: int = 50) -> list[Any]:
    """Open writes (queued, retrying, in flight) in queue order, with the golden record's title: the
    dashboard's queued-writes page. ``status`` narrows to one of ``OPEN``; ``limit + 1`` rows tell a
    pager whether there is more."""
    o, g = T.outbox.c, T.golden.c
    wanted = [s.value for s in OPEN if status in (None, s.value)]
    q = (select(o.id, o.run_id, o.entity, o.system, o.target_entity, o.golden_id, o.op, o.target_id, o.status,
                o.attempts, o.last_error, o.next_attempt_at, o.claimed_by, o.lease_until, o.created_at,
                o.updated_at, o.canonical, g.title)
         .select_from(T.outbox.outerjoin(T.golden, and_(g.entity == o.entity, g.golden_id == o.golden_id)))
         .where(o.status.in_(wanted)).order_by(o.id).offset(max(0, offset)).limit(limit))
    if system:
        q = q.where(o.system == system)
    if entity:
        q = q.where(o.entity == entity)
    return list(conn.execute(q))


def open_counts(conn: Connection) -> dict[tuple[str, str, str], int]:
    """(system, entity, status) -> open writes."""
    o = T.outbox.c
    return {(r.system, r.entity, r.status): int(r.n) for r in conn.execute(
        select(o.system, o.entity, o.status, func.count().label("n")).where(o.status.in_([s.value for s in OPEN]))
        .group_by(o.system, o.entity, o.status))}


def count(conn: Connection, statuses: Sequence[OutboxStatus], *, system: str | None = None,
          entity: str | None = None) -> int:
    """Writes in these statuses (of one stream, when named)."""
    o = T.outbox.c
    q = select(func.count()).select_from(T.outbox).where(o.status.in_([s.value for s in statuses]))
    if system is not None:
        q = q.where(o.system == system)
    if entity is not None:
        q = q.where(o.entity == entity)
    return int(conn.execute(q).scalar() or 0)


def count_by_status(conn: Connection) -> dict[str, int]:
    o = T.outbox.c
    return {r.status: int(r.n) for r in conn.execute(select(o.status, func.count().label("n")).group_by(o.status))}


def queued_streams(conn: Connection) -> set[tuple[str, str]]:
    """(entity, system) pairs that have writes waiting for a push."""
    o = T.outbox.c
    return {(r.entity, r.system) for r in conn.execute(
        select(o.entity, o.system).where(o.status.in_([s.value for s in QUEUED])).distinct())}


def dead_listing(*, system: str | None = None) -> Any:
    """Dead letters in queue order with the golden record's title, for the dashboard to page through."""
    o, g = T.outbox.c, T.golden.c
    stmt = (select(T.outbox, g.title).select_from(T.outbox.outerjoin(
        T.golden, and_(g.entity == o.entity, g.golden_id == o.golden_id)))
        .where(o.status == OutboxStatus.DEAD).order_by(o.id))
    return stmt.where(o.system == system) if system else stmt


def done_per_system(conn: Connection, entity: str, ops: Sequence[str]) -> dict[str, int]:
    """system -> writes of ``entity`` with one of ``ops`` that are done."""
    o = T.outbox.c
    return {r.system: int(r.n) for r in conn.execute(
        select(o.system, func.count().label("n")).where(o.entity == entity, o.op.in_(list(ops)),
                                                        o.status == OutboxStatus.DONE).group_by(o.system))}


def enqueue(conn: Connection, writes: Sequence[NewWrite], now: dt.datetime) -> None:
    """Queue planned writes as ``pending``."""
    bulk.insert(conn, T.outbox, [
        {"run_id": w.run_id, "entity": w.entity, "system": w.system, "target_entity": w.target_entity,
         "golden_id": w.golden_id, "op": w.op.value, "target_id": w.target_id, "fields": {}, "canonical": w.canonical,
         "idempotency_key": w.idempotency_key, "status": OutboxStatus.PENDING.value, "attempts": 0,
         "created_at": now, "updated_at": now} for w in writes])


def supersede_replaced(conn: Connection, ids: Sequence[int], now: dt.datetime) -> None:
    """Queued or retrying writes replaced by a newer write of the same record: ``superseded``."""
    o = T.outbox.c
    for i in range(0, len(ids), 500):
        conn.execute(update(T.outbox).where(o.id.in_(list(ids[i:i + 500])))
                     .values(status=OutboxStatus.SUPERSEDED.value, updated_at=now))


def supersede_queued(conn: Connection, entity: str) -> None:
    """Every queued or retrying write of ``entity`` is dropped (a full re-match plans them again)."""
    o = T.outbox.c
    conn.execute(update(T.outbox).where(o.entity == entity, o.status.in_([s.value for s in QUEUED]))
                 .values(status=OutboxStatus.SUPERSEDED.value))


def mark_done(conn: Connection, writes: Sequence[DoneWrite], now: dt.datetime) -> None:
    if not writes:
        return
    done = OutboxStatus.DONE.value
    bulk.update_by_key(conn, T.outbox, [{"id": w.id, "status": done, "target_id": w.target_id, "fields": w.fields,
                                         "last_error": None, "updated_at": now} for w in writes], ["id"])


def mark_failed(conn: Connection, status: OutboxStatus, writes: Sequence[FailedWrite], now: dt.datetime) -> None:
    """Failed writes become ``status`` (one of ``FAILURE_STATUSES``) with their error."""
    if status not in FAILURE_STATUSES:
        raise ValueError(f"{status} is not a status of a failed write")
    if not writes:
        return
    o = T.outbox.c
    conn.execute(update(T.outbox).where(o.id == bindparam("oid")).values(
        status=status.value, last_error=bindparam("err"), next_attempt_at=bindparam("next"), updated_at=now),
        [{"oid": w.id, "err": w.error, "next": w.next_attempt_at} for w in writes])


def dead_creates(conn: Connection, entity: str, system: str, golden_ids: Collection[str]) -> dict[str, str]:
    """golden id -> the error message of its latest dead-lettered create in ``system``."""
    o = T.outbox.c
    out: dict[str, str] = {}
    for chunk in chunks(sorted(golden_ids)):
        for r in conn.execute(select(o.golden_id, o.last_error).where(
                o.entity == entity, o.system == system, o.golden_id.in_(chunk), o.op.in_([c.value for c in CREATES]),
                o.status == OutboxStatus.DEAD.value).order_by(o.id)):
            err = r.last_error if isinstance(r.last_error, dict) else {}
            out[r.golden_id] = str(err.get("message", ""))
    return out


def open_writes(conn: Connection, *, systems: Sequence[str] | None = None) -> list[QueuedWrite]:
    """Open writes (queued, retrying, in flight) in queue order."""
    o = T.outbox.c
    q = select(o.entity, o.system, o.target_entity, o.golden_id, o.op, o.target_id, o.canonical,
               o.idempotency_key).where(o.status.in_([s.value for s in OPEN])).order_by(o.id)
    if systems:
        q = q.where(o.system.in_(list(systems)))
    return [QueuedWrite(r.entity, r.system, r.target_entity, r.golden_id, WriteOp(r.op), r.target_id,
                        dict(r.canonical), r.idempotency_key) for r in conn.execute(q)]


def open_counts_by_op(conn: Connection, *, entity: str | None = None) -> dict[tuple[str, str, WriteOp], int]:
    """(system, target entity, op) -> open writes."""
    o = T.outbox.c
    q = (select(o.system, o.target_entity, o.op, func.count().label("n"))
         .where(o.status.in_([s.value for s in OPEN])).group_by(o.system, o.target_entity, o.op))
    if entity:
        q = q.where(o.entity == entity)
    return {(r.system, r.target_entity, WriteOp(r.op)): r.n for r in conn.execute(q)}


def of_golden(conn: Connection, entity: str, golden_id: str, *, limit: int) -> list[OutboxRow]:
    """A golden record's writes, newest first."""
    o = T.outbox.c
    return [OutboxRow(**{**r._mapping, "op": WriteOp(r.op), "status": OutboxStatus(r.status)})
            for r in conn.execute(select(T.outbox).where(o.entity == entity, o.golden_id == golden_id)
                                  .order_by(o.id.desc()).limit(limit))]


def with_status_among(conn: Connection, ids: Collection[int], status: OutboxStatus) -> set[int]:
    """Those of ``ids`` that are writes in ``status``."""
    o = T.outbox.c
    found: set[int] = set()
    for chunk in chunks(sorted(set(ids))):
        found.update(conn.execute(select(o.id).where(o.id.in_(chunk), o.status == status.value)).scalars())
    return found
