"""Pull: read a stream page by page and land each page in ``raw_record`` with its cursor, atomically.

An unchanged payload (same hash) is a no-op. Pages may repeat records (inclusive cursors), and a
rerun after a crash re-reads from the last committed cursor: both are harmless.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection

from concord.hub.contracts import Cursor, EntitySpec, Page, source_id_of
from concord.hub.engine.budget import exhausted
from concord.hub.engine.concurrent import read_ahead
from concord.hub.engine.context import RunContext, StreamStats
from concord.hub.engine.crashpoints import crashpoint
from concord.hub.engine.quarantine import quarantine_rows
from concord.hub.engine.util import (json_safe, land_encoding, normalise_timestamp, payload_hash, relaxed_gc, require_utf8,
                             stable_hash, unicode_safe)
from concord.hub.errors import BudgetExhausted, HubError, RecordError
from concord.hub.http.redact import redact
from concord.hub.warehouse.stores import staging
from concord.hub.warehouse.stores.staging import RawStatus

log = logging.getLogger("concord.pull")


class Lag:
    """The replication lag of a pull: the longest any change it brought had waited at the source.

    A running maximum, not a list: an initial load of a million records would hold a float each."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def note(self, now: dt.datetime, changed_at: Iterable[str | None]) -> None:
        for text in changed_at:
            if text:
                try:
                    self.seconds = max(self.seconds, (now - dt.datetime.fromisoformat(text)).total_seconds())
                except (TypeError, ValueError):
                    pass


def load_cursor(conn: Connection, system: str, entity: str) -> Cursor | None:
    return staging.load_cursor(conn, system, entity)


def save_cursor(ctx: RunContext, conn: Connection, system: str, entity: str, cur: Cursor) -> None:
    staging.save_cursor(conn, system, entity, cur, run_id=ctx.run_id, now=ctx.now())


def land_page(ctx: RunContext, conn: Connection, *, system: str, entity: str, spec: EntitySpec,
              page: Page, lag: Lag | None = None) -> tuple[int, int, int]:
    """Stage one page. Returns (records read, records new or changed, records quarantined).

    ``lag`` keeps the longest wait of a changed record: seconds from its change at the source to its landing.
    """
    now = ctx.now()
    rows: dict[str, dict[str, Any]] = {}
    bad: list[dict[str, Any]] = []
    for rec in page.records:
        try:
            if not isinstance(rec, Mapping):
                raise RecordError(f"record is a {type(rec).__name__}, not an object")
            if "__error__" in rec:  # a connector's word that the record is malformed
                raise RecordError(str(rec["__error__"]))
            sid = source_id_of(spec, rec)
            payload, text, plain = land_encoding(rec)
            if "\\ud" in text:   # a surrogate escaped in the (ASCII) text: pairs are fine, a lone one is not
                require_utf8(json.dumps(payload, ensure_ascii=False, default=str))
        except (RecordError, TypeError, ValueError) as exc:
            err = exc if isinstance(exc, HubError) else RecordError(str(exc))
            safe = unicode_safe(json_safe(rec)) if isinstance(rec, Mapping) else {"value": repr(rec)[:2000]}
            bad.append({"system": system, "entity": entity, "source_id": "(no key) " + stable_hash(safe)[:12],
                        "stage": "land", "error": err, "payload": safe})
            continue
        cursor_field = spec.change_time_field
        rows[sid] = {"system": system, "entity": entity, "source_id": sid, "source_entity": spec.name,
                     "payload": text, "payload_hash": payload_hash(payload, plain),
                     "source_updated_at": normalise_timestamp(rec.get(cursor_field)) if cursor_field else None,
                     "deleted": False, "status": RawStatus.PENDING, "seen_run": ctx.run_id, "landed_at": now}
    ids = list(rows) + [d for d in page.deleted if d not in rows]
    existing = staging.existing(conn, system, entity, ids)
    changed = [r for sid, r in rows.items()
               if sid not in existing or existing[sid][0] != r["payload_hash"] or existing[sid][1]]
    staging.stage(conn, changed)
    changed_ids = {r["source_id"] for r in changed}
    if lag is not None:
        lag.note(now, (r["source_updated_at"] for r in changed))
    unchanged = [sid for sid in rows if sid in existing and sid not in changed_ids]
    if unchanged and ctx.run_id is not None:
        staging.mark_seen(conn, system, entity, unchanged, ctx.run_id)
    gone = [d for d in page.deleted if d in existing and not existing[d][1]]
    if gone:
        staging.mark_deleted(conn, system, entity, gone, now)
    if bad:
        quarantine_rows(ctx, conn, bad)
    return len(page.records), len(changed) + len(gone), len(bad)


def reconcile_snapshot(ctx: RunContext, conn: Connection, system: str, entity: str) -> int:
    """After a complete snapshot: records not seen in this run were deleted at the source."""
    gone = staging.unseen_in_run(conn, system, entity, ctx.run_id)
    if gone:
        staging.mark_deleted(conn, system, entity, gone, ctx.now())
    return len(gone)




def pull_stream(ctx: RunContext, entity: str, system: str) -> StreamStats:
    """Read one (system, entity) stream from its cursor to the end, committing page by page."""
    stats = StreamStats(system, entity, "pull")
    source_entity = ctx.project.source_entity(entity, system)
    calls_before = ctx.ledger.calls(system)
    try:
        connector = ctx.connector(system)
        spec = ctx.spec(system, source_entity)
        with ctx.warehouse.tx() as conn:
            since = load_cursor(conn, system, entity)
        task = ctx.progress.stream(f"pull {system}.{entity}") if ctx.progress else None
        lag = Lag()
        with ctx.ledger.stream(entity), relaxed_gc():
            for page in read_ahead(connector.read(source_entity, since=since)):   # next page fetched meanwhile
                with ctx.warehouse.tx() as conn:
                    n, changed, bad = land_page(ctx, conn, system=system, entity=entity, spec=spec, page=page,
                                                lag=lag)
                    if page.checkpoint is not None:
                        save_cursor(ctx, conn, system, entity, page.checkpoint)
                    if page.snapshot_complete:
                        changed += reconcile_snapshot(ctx, conn, system, entity)
                stats.records_in += n
                stats.records_changed += changed
                stats.quarantined += bad
                if task:
                    task.advance(n)
                crashpoint("pull.after_page")
                if exhausted(ctx, system):
                    stats.status, stats.error_kind = "partial", "budget"
                    stats.error = f"daily API budget of {system} is used up; the stream resumes from its cursor"
                    break
        # replication lag: how long the changes this pull brought had waited at the source (0: nothing new)
        stats.lag_seconds = lag.seconds
        if stats.quarantined:
            stats.status = "partial"
    except BudgetExhausted as exc:
        stats.status, stats.error, stats.error_kind = "partial", exc.message, "budget"
        log.warning("%s %s.%s stopped: %s", "pull", system, entity, exc.message)
    except HubError as exc:
        stats.status, stats.error = "failed", f"{exc.kind}: {redact(exc.message)}"
        stats.error_kind = exc.kind  # type: ignore[assignment]
        log.error("pull %s.%s failed: %s", system, entity, stats.error)
    except Exception as exc:  # a client library error the connector did not classify
        stats.status, stats.error = "failed", f"unexpected {type(exc).__name__}: {redact(str(exc))}"
        stats.error_kind = "unexpected"
        log.exception("pull %s.%s failed", system, entity)
    stats.api_calls = ctx.ledger.calls(system) - calls_before
    stats.finished_at = ctx.now()
    return stats
