"""Quarantine: records that could not be processed, kept with the reason and the raw payload.

The engine's side: a :class:`~concord.hub.errors.HubError` becomes an entry whose reason is redacted
(secrets never reach the warehouse). The SQL is the quarantine store's
(:mod:`concord.hub.warehouse.stores.quarantine`), which the CLI and dashboard call for listing,
retrying and discarding.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from concord.hub.engine.context import RunContext
from concord.hub.errors import HubError
from concord.hub.http.redact import redact
from concord.hub.warehouse.stores import quarantine as store


def quarantine_rows(ctx: RunContext, conn: Connection, items: Sequence[dict[str, Any]]) -> None:
    """Insert quarantine entries: dicts with system, entity, source_id, stage, error, payload."""
    rows = []
    for it in items:
        err: HubError = it["error"]
        rows.append({"run_id": ctx.run_id, "system": it["system"], "entity": it["entity"],
                     "source_id": it["source_id"], "stage": it["stage"], "reason": redact(err.message)[:4000],
                     "error": err.to_dict(), "payload": it.get("payload")})
    store.add(conn, rows, ctx.now())


def resolve_records(conn: Connection, keys: set[tuple[str, str, str]], now: Any) -> None:
    """Records that now process cleanly: their open quarantine entries are resolved."""
    store.close(conn, keys, store.QuarantineStatus.RESOLVED, now)
