"""Push: send queued outbox changes in the largest batches the target allows.

Per batch: the rows are claimed (status ``sending``, attempts + 1) and committed *before* the
call, the canonical values are put into the target's field names (references resolved now, so
a child waits for a parent that is not written yet instead of being created as an orphan), the
connector writes, and every ``WriteResult`` is recorded. Success links the created record
(xref) and remembers what was written (``target_state``: the base for echo suppression).
Record errors are dead-lettered at once; transient ones are retried with backoff on later runs
and dead-lettered after ``max_attempts``; a stale target is re-planned, never overwritten.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from concord.hub.contracts import Change, WriteResult
from concord.hub.engine.budget import exhausted
from concord.hub.engine.context import RunContext, StreamStats
from concord.hub.engine.crashpoints import crashpoint
from concord.hub.engine.outcomes import Outcome, record_outcomes
from concord.hub.engine.parents import waits_for_parents
from concord.hub.engine.resolver import XrefResolver
from concord.hub.errors import BudgetExhausted, HubError, RecordError, TransientError
from concord.hub.http.redact import redact
from concord.hub.warehouse.stores import dirty, outbox, xrefs

log = logging.getLogger("concord.push")


def push_entity(ctx: RunContext, entity: str, system: str, *, new_records: bool = True) -> StreamStats:
    """Send the queued writes of one entity to one target.

    ``new_records=False`` holds creates back: when this cycle's pull of the same stream failed,
    the target may hold records Concord has not read yet, and creating now could duplicate them.
    """
    stats = StreamStats(system, entity, "push")
    calls_before = ctx.ledger.calls(system)
    try:
        connector = ctx.connector(system)
        mapping = ctx.project.mapping(entity, system)
        spec = ctx.spec(system, ctx.project.source_entity(entity, system))
        batch_size = max(1, spec.max_batch)
        max_attempts = ctx.project.config.max_attempts
        last_id = 0
        for_update = ctx.warehouse.dialect == "postgresql" and not ctx.warehouse.is_dry_run
        task = ctx.progress.stream(f"push {system}.{entity}") if ctx.progress else None
        with ctx.ledger.stream(entity):
            while True:
                if exhausted(ctx, system):
                    stats.status, stats.error_kind = "partial", "budget"
                    stats.error = f"daily API budget of {system} is used up; the remaining changes wait in the outbox"
                    log.warning("push %s.%s stopped: %s", system, entity, stats.error)
                    break
                with ctx.warehouse.tx() as conn:
                    rows = outbox.claimable(conn, entity=entity, system=system, after=last_id, limit=batch_size,
                                            now=ctx.now(), for_update=for_update, new_records=new_records)
                    if not rows:
                        break
                    last_id = rows[-1].id
                    rows = _drop_already_linked(ctx, conn, entity, system, rows)
                    changes, waiting, bad = _to_changes(conn, entity, system, mapping, rows)
                    outbox.mark_sending(conn, [r.id for r, _c in changes], ctx.now())
                    # tried again at the next push, once its parent may be written; a parent that
                    # no rule will ever write to this system is reported as blocked, with the reason
                    waits = waits_for_parents(ctx, conn, system, waiting)
                    outbox.note_waiting(conn, [(r.id, reason) for r, reason in waits], ctx.now())
                    stats.blocked += sum(1 for _r, reason in waits if reason["kind"] == "blocked")
                    stats.waiting += sum(1 for _r, reason in waits if reason["kind"] == "waiting")
                    record_outcomes(ctx, conn, [Outcome(r, None, None, err) for r, err in bad], max_attempts, stats)
                changes = _settle_unknown_creates(ctx, connector, spec.name, changes, stats, max_attempts)
                if not changes:
                    continue
                stats.records_in += len(changes)
                crashpoint("push.before_call")
                results = _write(connector, spec.name, [c for _r, c in changes])
                crashpoint("push.after_call")
                with ctx.warehouse.tx() as conn:
                    record_outcomes(ctx, conn, [Outcome(row, change, res, res.error)
                                                for (row, change), res in zip(changes, results)], max_attempts, stats)
                crashpoint("push.after_commit")
                if task:
                    task.advance(len(changes))
        if not new_records:
            with ctx.warehouse.tx() as conn:
                held = outbox.count_new(conn, entity=entity, system=system)
            if held:
                stats.waiting += held
                stats.status, stats.error_kind = "partial", "transient"
                stats.error = (f"{held} create(s) held back: this cycle's pull of {system}.{entity} failed, so "
                               f"{system} may hold records Concord has not read; they go once a pull succeeds")
        if stats.dead or stats.failed or stats.blocked:
            stats.status = "partial"
        if stats.blocked and not stats.error:
            stats.error_kind = "blocked"
            stats.error = (f"{stats.blocked} write(s) blocked: a referenced parent will never be written to "
                           f"{system} (see `concord status` / the outbox for the reason of each)")
    except BudgetExhausted as exc:
        stats.status, stats.error, stats.error_kind = "partial", exc.message, "budget"
        log.warning("%s %s.%s stopped: %s", "push", system, entity, exc.message)
    except HubError as exc:
        stats.status, stats.error = "failed", f"{exc.kind}: {redact(exc.message)}"
        stats.error_kind = exc.kind  # type: ignore[assignment]
        log.error("push %s.%s failed: %s", system, entity, stats.error)
    except Exception as exc:
        stats.status, stats.error = "failed", f"unexpected {type(exc).__name__}: {redact(str(exc))}"
        stats.error_kind = "unexpected"
        log.exception("push %s.%s failed", system, entity)
    stats.api_calls = ctx.ledger.calls(system) - calls_before
    stats.finished_at = ctx.now()
    return stats


def _drop_already_linked(ctx: RunContext, conn: Connection, entity: str, system: str, rows: list[Any]) -> list[Any]:
    """A create queued before the target's own record was matched to the golden record must not go:
    the golden record is linked to that record now. It is superseded and the record re-planned (an
    update, if the two differ)."""
    new = [r for r in rows if outbox.is_new_record(r) and r.status != "sending"]
    if not new:
        return rows
    linked = xrefs.linked_golden_ids(conn, entity, system, [r.golden_id for r in new])
    if not linked:
        return rows
    gone = [r for r in new if r.golden_id in linked]
    now = ctx.now()
    outbox.supersede(conn, [(r.id, {"kind": "superseded", "message": f"not sent: the golden record is linked to "
                                    f"{system} record {linked[r.golden_id]} now (an earlier attempt went through, "
                                    f"or the record was matched)"}) for r in gone], now)
    dirty.mark(conn, entity, [r.golden_id for r in gone], now)
    ids = {r.id for r in gone}
    return [r for r in rows if r.id not in ids]


def _to_changes(conn: Connection, entity: str, system: str, mapping: Any, rows: list[Any]
                ) -> tuple[list[tuple[Any, Change]], list[tuple[Any, list[tuple[str, str]]]], list[tuple[Any, HubError]]]:
    """Rows -> changes in the target's field names; rows waiting for parents (with the misses); bad rows."""
    resolver = XrefResolver(conn, system)
    changes: list[tuple[Any, Change]] = []
    waiting: list[tuple[Any, list[tuple[str, str]]]] = []
    bad: list[tuple[Any, HubError]] = []
    for r in rows:
        try:
            resolver.misses.clear()
            fields = mapping.to_source(r.canonical, fields=set(r.canonical), resolver=resolver) if r.op != "delete" else {}
        except HubError as exc:
            bad.append((r, exc if isinstance(exc, RecordError) else RecordError(exc.message)))
            continue
        if resolver.misses and r.op != "delete":
            waiting.append((r, list(resolver.misses)))
            continue
        changes.append((r, Change(op=r.op, entity=r.target_entity, key=r.target_id, fields=fields,
                                  idempotency_key=r.idempotency_key, golden_id=r.golden_id)))
    return changes, waiting, bad


def _settle_unknown_creates(ctx: RunContext, connector: Any, target_entity: str,
                            changes: list[tuple[Any, Change]], stats: StreamStats,
                            max_attempts: int) -> list[tuple[Any, Change]]:
    """A create whose outcome is unknown may have happened: look it up by its reserved key first.

    Unknown: left ``sending`` by a crash, or tried before and failed as a whole call (a connection
    dropped mid-answer, a 5xx after the target wrote, a timeout) — the target may hold it although
    Concord never heard so. Connectors that can find a record by Concord's id offer
    ``lookup(entity, golden_id)``; creates that are upserts on an external id are idempotent anyway.
    """
    lookup = getattr(connector, "lookup", None)
    unknown = [(r, c) for r, c in changes
               if r.op == "create" and (r.status == "sending" or (r.attempts or 0) > 0)]
    if not unknown or not callable(lookup):
        return changes
    found: dict[int, str] = {}
    for r, c in unknown:
        try:
            tid = lookup(target_entity, r.golden_id)
        except Exception as exc:  # cannot tell: do not risk a duplicate, retry later
            log.warning("lookup of %s in %s failed (%s); create waits", r.golden_id, r.system, exc)
            found[r.id] = ""
            continue
        if tid:
            found[r.id] = tid
    if not found:
        return changes
    with ctx.warehouse.tx() as conn:
        record_outcomes(ctx, conn, [Outcome(r, c, WriteResult(change=c, ok=True, target_id=found[r.id], created=True),
                                            None) for r, c in unknown if found.get(r.id)], max_attempts, stats)
    return [(r, c) for r, c in changes if r.id not in found]


def _write(connector: Any, target_entity: str, changes: Sequence[Change]) -> list[WriteResult]:
    try:
        results = list(connector.write(target_entity, changes))
    except HubError as exc:
        return [WriteResult(change=c, ok=False, error=exc) for c in changes]
    except Exception as exc:  # the call failed as a whole with an unclassified error: retry later
        err = TransientError(f"write failed: {type(exc).__name__}: {redact(str(exc))}")
        return [WriteResult(change=c, ok=False, error=err) for c in changes]
    if len(results) != len(changes):
        err = TransientError(f"connector returned {len(results)} results for {len(changes)} changes")
        return [WriteResult(change=c, ok=False, error=err) for c in changes]
    return results
