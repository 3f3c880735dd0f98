"""Queued and waiting writes, each with the reason it has not gone yet (the ``/writes`` page).

The rows come from the outbox store (``stores.outbox.open_rows``); why a write waits for its parent
is decided by the push (``hub.engine.parents``) and kept in the row's ``last_error`` as
``{"kind": "waiting" | "blocked", "message": ...}``; ``concord status`` reads the same notes through
``stores.outbox.waiting_summary``. This module only puts each row's state into words:

- **blocked**: a parent no rule will ever write; it stays queued until the parent is linked or the rule changes;
- **waiting**: a parent is on its way (or does not meet the rule's conditions yet);
- **sending**: another worker holds it (lease), or **stalled**: its worker is gone, the next push takes it;
- **retrying**: a transient failure, tried again after its back-off;
- **budget**: the target's daily API budget is used up;
- **queued**: goes with the next push.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection

from concord.hub.dashboard.present import mask, when
from concord.hub.warehouse.owner import is_alive
from concord.hub.warehouse.stores import outbox as store

Kind = Literal["blocked", "waiting", "sending", "stalled", "retrying", "budget", "queued"]
KINDS: tuple[str, ...] = ("blocked", "waiting", "sending", "stalled", "retrying", "budget", "queued")
SCAN_LIMIT = 20_000          # rows read at most to fill one filtered page
CHUNK = 500


class QueuedWrite(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: int
    system: str
    entity: str
    target_entity: str
    golden_id: str
    title: str | None
    op: str
    target_id: str | None
    status: str
    attempts: int
    kind: Kind
    reason: str
    queued_at: dt.datetime | None
    fields: list[str]


def _aware(ts: Any) -> dt.datetime | None:
    if ts is None:
        return None
    if isinstance(ts, str):
        ts = dt.datetime.fromisoformat(ts)
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.timezone.utc)


def explain(row: Any, now: dt.datetime, exhausted: Mapping[str, tuple[int, int]]) -> tuple[Kind, str]:
    """(kind, reason in words) of one open outbox row; ``exhausted``: system -> (used, budget) of used-up budgets."""
    err = row.last_error if isinstance(row.last_error, dict) else {}
    message = str(mask(str(err.get("message") or "")))[:400]
    if row.status == store.OutboxStatus.SENDING:
        lease = _aware(row.lease_until)
        if (lease is not None and lease <= now) or is_alive(row.claimed_by) is False:
            return "stalled", (f"claimed by {row.claimed_by or 'a worker'}, which is gone or whose lease ended; "
                               "the next push takes it again")
        return "sending", f"being sent by {row.claimed_by or 'a worker'} (lease until {when(lease)})"
    if err.get("kind") == "blocked":
        return "blocked", message or "a parent no rule writes to this system"
    if err.get("kind") == "waiting":
        return "waiting", message or "waits for a parent to be written first"
    if row.system in exhausted:
        used, budget = exhausted[row.system]
        return "budget", (f"the daily API budget of {row.system} is used up ({used:,} of {budget:,} calls); "
                          "it goes after midnight UTC")
    if row.status == store.OutboxStatus.FAILED:
        nxt = _aware(row.next_attempt_at)
        after = f"after {when(nxt)}" if nxt is not None and nxt > now else "at the next push"
        return "retrying", f"attempt {row.attempts} failed ({message or 'no error kept'}); tried again {after}"
    return "queued", f"goes with the next push to {row.system}"


def page(conn: Connection, *, now: dt.datetime, exhausted: Mapping[str, tuple[int, int]], system: str | None,
         entity: str | None, status: str | None, kind: str | None, page_no: int, size: int) -> tuple[list[QueuedWrite], bool, bool]:
    """(rows of the page, has more, scan cut short). Without ``kind`` the store pages; with it the rows are
    read in queue order and classified until the page is full (at most ``SCAN_LIMIT`` rows)."""
    if kind is None:
        rows = store.open_rows(conn, system=system, entity=entity, status=status, offset=(page_no - 1) * size,
                               limit=size + 1)
        out = [_model(r, *explain(r, now, exhausted)) for r in rows]
        return out[:size], len(out) > size, False
    skip, found, offset = (page_no - 1) * size, [], 0
    while offset < SCAN_LIMIT:
        rows = store.open_rows(conn, system=system, entity=entity, status=status, offset=offset, limit=CHUNK)
        for r in rows:
            k, why = explain(r, now, exhausted)
            if k != kind:
                continue
            if skip:
                skip -= 1
                continue
            found.append(_model(r, k, why))
            if len(found) > size:
                return found[:size], True, False
        if len(rows) < CHUNK:
            return found, False, False
        offset += CHUNK
    return found, False, True


def _model(r: Any, kind: Kind, reason: str) -> QueuedWrite:
    return QueuedWrite(id=r.id, system=r.system, entity=r.entity, target_entity=r.target_entity, golden_id=r.golden_id,
                       title=r.title, op=r.op, target_id=r.target_id, status=r.status, attempts=r.attempts or 0,
                       kind=kind, reason=reason, queued_at=_aware(r.created_at),
                       fields=sorted((r.canonical or {}).keys()) if isinstance(r.canonical, dict) else [])


def totals(conn: Connection) -> list[dict[str, Any]]:
    """Per target and entity: open writes by status, and what waits (``waiting_summary``, as ``concord status``)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for (system, entity, status), n in sorted(store.open_counts(conn).items()):
        d = out.setdefault((system, entity), {"system": system, "entity": entity, "pending": 0, "failed": 0,
                                              "sending": 0, "waiting": 0, "blocked": 0, "reasons": []})
        d[status] = d.get(status, 0) + n
    for w in store.waiting_summary(conn):
        d = out.setdefault((w["system"], w["entity"]), {"system": w["system"], "entity": w["entity"], "pending": 0,
                                                        "failed": 0, "sending": 0, "waiting": 0, "blocked": 0,
                                                        "reasons": []})
        d[w["kind"]] += w["count"]
        d["reasons"].append((w["kind"], str(mask(w["reason"]))))
    for d in out.values():   # waiting and blocked rows are queued rows too: ready = the rest
        d["open"] = d["pending"] + d["failed"] + d["sending"]
        d["ready"] = max(0, d["pending"] - d["waiting"] - d["blocked"])
    return list(out.values())
