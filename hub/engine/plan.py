"""Plan: diff each touched golden record against every target's last known state.

``plan_record`` is pure and deterministic; ``plan_entity`` loads the dirty golden records,
plans them and queues the changes in the ``outbox`` (values stay canonical there: they are put
into the target's field names at push time, when the cross-references of parents written
moments earlier are known).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from concord.hub.config.model import SyncRule
from concord.hub.contracts import EntitySpec
from concord.hub.engine.context import RunContext
from concord.hub.engine.crashpoints import crashpoint
from concord.hub.engine.util import idempotency_key, relaxed_gc, stable_hash
from concord.hub.errors import HubError

log = logging.getLogger("concord.plan")
from concord.hub.warehouse.stores import dirty, lookup, outbox, staged, written, xrefs
from concord.hub.warehouse.stores.conflicts import held_fields
from concord.hub.warehouse.stores.outbox import CREATES, NewWrite, OutboxStatus, WriteOp


@dataclass(frozen=True)
class PlannedChange:
    entity: str
    system: str
    target_entity: str
    golden_id: str
    op: str                                   # create | upsert | update | delete
    target_id: str | None
    canonical: dict[str, Any]                 # flat canonical values to write
    before: dict[str, Any] = field(default_factory=dict)   # the target's current values of those fields
    idempotency_key: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"entity": self.entity, "system": self.system, "target_entity": self.target_entity,
                "golden_id": self.golden_id, "op": self.op, "target_id": self.target_id,
                "fields": {k: {"from": self.before.get(k), "to": v} for k, v in sorted(self.canonical.items())}}


def plan_record(*, entity: str, rule: SyncRule, spec: EntitySpec, fields: set[str], in_fields: set[str],
                golden_id: str, golden: Mapping[str, Any], deleted: bool, target_id: str | None,
                current: Mapping[str, Any] | None, written: Mapping[str, Any] | None,
                held: frozenset[str] = frozenset(),
                alike: Callable[[str, Any, Any], bool] | None = None) -> PlannedChange | None:
    """The change one target needs so that it agrees with the golden record (None: it agrees).

    ``held`` fields have an open conflict: nothing is written for them until it is resolved.
    ``alike(field, want, known)`` says the target's mapping writes both values as one source value (a many-to-one
    value map): the target already agrees, and writing again would repeat at every sync.
    A rule whose conditions (``when``) the golden record does not meet writes nothing.
    """
    system = rule.target
    fields = fields - held
    if not deleted and not rule.applies(golden):
        return None
    if deleted:
        if target_id and rule.may_delete and "delete" in spec.capabilities:
            return PlannedChange(entity, system, spec.name, golden_id, "delete", target_id, {}, {},
                                 idempotency_key(entity, golden_id, system, "delete", target_id))
        return None
    if target_id is None:
        if not rule.may_create:
            return None
        values = {f: golden[f] for f in sorted(fields) if golden.get(f) is not None}
        if not values:
            return None
        op = "upsert" if spec.external_id_field and "upsert" in spec.capabilities else "create"
        if op not in spec.capabilities:
            return None
        return PlannedChange(entity, system, spec.name, golden_id, op, None, values, {},
                             idempotency_key(entity, golden_id, system, "create"))
    if not rule.may_update or "update" not in spec.capabilities and "upsert" not in spec.capabilities:
        return None
    diff, before = {}, {}
    for f in sorted(fields):
        want = golden.get(f)
        if want is None:
            continue  # never blank a target field that no source holds a value for
        known = (current or {}).get(f) if f in in_fields and current is not None else (written or {}).get(f)
        if known != want and not (alike is not None and alike(f, want, known)):
            diff[f], before[f] = want, known
    if not diff:
        return None
    return PlannedChange(entity, system, spec.name, golden_id, "update", target_id, diff, before,
                         idempotency_key(entity, golden_id, system, "update", target_id, stable_hash(diff)))


def plan_entity(ctx: RunContext, entity: str) -> list[PlannedChange]:
    """Plan every dirty golden record of an entity and queue the changes in the outbox."""
    with relaxed_gc():
        return _plan_entity(ctx, entity)


def _plan_entity(ctx: RunContext, entity: str) -> list[PlannedChange]:
    ecfg = ctx.project.config.entities[entity]
    planned: list[PlannedChange] = []
    rules = [r for r in ecfg.sync]
    if not rules:
        with ctx.warehouse.tx() as conn:
            dirty.done(conn, entity)
        return planned
    targets = {}
    for rule in rules:
        m = ctx.project.mapping(entity, rule.target)
        try:
            spec = ctx.spec(rule.target, ctx.project.source_entity(entity, rule.target))
        except HubError as exc:
            # without the target's metadata nothing can be planned for it: the records stay queued
            log.warning("plan %s: %s unavailable (%s); the changes wait for the next cycle", entity, rule.target,
                        exc.message)
            return planned
        out = m.out_fields() if rule.fields == "all" else m.out_fields() & set(rule.fields)
        targets[rule.target] = (rule, spec, out, m.in_fields(), m.writes_alike)
    last = ""
    while True:
        with ctx.warehouse.tx() as conn:
            ids = dirty.next_batch(conn, entity, after=last, limit=ctx.project.config.batch_size)
            if not ids:
                break
            batch = _plan_batch(conn, entity, ids, targets)
            _enqueue(ctx, conn, batch)
            dirty.done(conn, entity, ids)
            crashpoint("plan.in_batch")              # dies with the batch's transaction still open
            planned.extend(batch)
            last = ids[-1]
        crashpoint("plan.after_batch")               # the batch is committed: queued in the outbox
    return planned


def _plan_batch(conn: Connection, entity: str, ids: list[str], targets: dict[str, Any]) -> list[PlannedChange]:
    goldens = lookup.data_of(conn, entity, ids)
    links = xrefs.first_links(conn, entity, ids)
    current: dict[tuple[str, str], Any] = {}
    by_system: dict[str, list[str]] = {}
    for (_g, s), sid in links.items():
        by_system.setdefault(s, []).append(sid)
    for s, sids in sorted(by_system.items()):    # one indexed IN-list per system and 500 records
        for sid, canonical in staged.canonical_by_id(conn, s, entity, sids).items():
            current[(s, sid)] = canonical
    written_ = written.of_golden(conn, entity, ids)
    held: dict[str, set[str]] = {}
    for gid, f in held_fields(conn, entity, ids):
        held.setdefault(gid, set()).add(f)
    out = []
    for gid in ids:
        gr = goldens.get(gid)
        if gr is None:
            continue
        for system, (rule, spec, fields, in_fields, alike) in targets.items():
            tid = links.get((gid, system))
            ch = plan_record(entity=entity, rule=rule, spec=spec, fields=fields, in_fields=in_fields,
                             golden_id=gid, golden=gr.data, deleted=bool(gr.deleted), target_id=tid,
                             current=current.get((system, tid)) if tid else None, written=written_.get((gid, system)),
                             held=frozenset(held.get(gid, ())), alike=alike)
            if ch is not None:
                out.append(ch)
    return out


def _enqueue(ctx: RunContext, conn: Connection, changes: list[PlannedChange]) -> None:
    if not changes:
        return
    now = ctx.now()
    open_rows: dict[tuple[str, str], list[Any]] = {}
    for row in outbox.open_rows_for(conn, changes[0].entity, [c.golden_id for c in changes]):
        open_rows.setdefault((row.golden_id, row.system), []).append(row)
    supersede, rows = [], []
    for c in changes:
        olds = open_rows.get((c.golden_id, c.system), [])
        if any(old.idempotency_key == c.idempotency_key for old in olds):
            continue  # the same write is already queued or in flight
        if c.op in CREATES and any(old.status == OutboxStatus.SENDING and old.op in CREATES for old in olds):
            continue  # a create is in flight: its outcome decides; the next plan sees the new record
        # a write in flight cannot be taken back; queued and retrying ones are replaced by this one
        supersede.extend(old.id for old in olds if old.status != OutboxStatus.SENDING)
        rows.append(NewWrite(c.entity, c.system, c.target_entity, c.golden_id, WriteOp(c.op), c.target_id,
                             c.canonical, c.idempotency_key, run_id=ctx.run_id))
    outbox.supersede_replaced(conn, supersede, now)
    outbox.enqueue(conn, rows, now)


def pending_changes(conn: Connection, *, systems: list[str] | None = None) -> list[PlannedChange]:
    """What the next push would send: queued and retryable outbox rows, in push order."""
    return [PlannedChange(w.entity, w.system, w.target_entity, w.golden_id, w.op.value, w.target_id, w.canonical,
                          {}, w.idempotency_key) for w in outbox.open_writes(conn, systems=systems)]


def pending_counts(conn: Connection, *, entity: str | None = None) -> dict[tuple[str, str, str], int]:
    """(system, target entity, op) -> queued changes: what ``pending_changes`` lists, counted in SQL."""
    return {(system, target_entity, op.value): n
            for (system, target_entity, op), n in outbox.open_counts_by_op(conn, entity=entity).items()}


def estimate_calls(ctx: RunContext, counts: Mapping[tuple[str, str, str], int]) -> dict[str, dict[str, dict[str, int]]]:
    """The write calls a push of the queued changes costs: per system and entity, ceil(changes / max batch)."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for (system, target_entity, _op), n in counts.items():
        d = out.setdefault(system, {}).setdefault(target_entity, {"changes": 0, "calls": 0, "max_batch": 1})
        d["changes"] += n
        try:
            d["max_batch"] = max(1, ctx.spec(system, target_entity).max_batch)
        except Exception:  # metadata unavailable: assume one call per change
            d["max_batch"] = 1
    for per in out.values():
        for d in per.values():
            d["calls"] = -(-d["changes"] // d["max_batch"])
    return out
