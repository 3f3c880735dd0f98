"""Read-only SQLAlchemy Core queries behind the overview, runs and work-queue pages.

Every list is paginated (LIMIT/OFFSET on an indexed order, or keyset by id) and every filter is
on an indexed column (see migration ``0002_dashboard``), so pages stay fast on a large warehouse.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from concord.hub.config.loader import Project
from concord.hub.dashboard.health import verdict
from concord.hub.warehouse.stores import conflicts as conflict_store
from concord.hub.warehouse.stores import decisions as decision_store
from concord.hub.warehouse.stores import golden as golden_store
from concord.hub.warehouse.stores import lookup, staged, xrefs
from concord.hub.warehouse.stores import outbox as outbox_store
from concord.hub.warehouse.stores import quarantine as quarantine_store
from concord.hub.warehouse.stores.outbox import OutboxStatus
from concord.hub.warehouse.stores import runs as runs_store
from concord.hub.warehouse.stores.conflicts import ConflictStatus

PAGE = 50
SPARK_RUNS = 30


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    page: int
    size: int
    has_more: bool

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def _page(conn: Connection, stmt: Any, page: int, size: int = PAGE) -> Page:
    page = max(1, page)
    rows = [dict(r._mapping) for r in conn.execute(stmt.limit(size + 1).offset((page - 1) * size))]
    return Page(rows[:size], page, size, len(rows) > size)


# ---- overview ------------------------------------------------------------------------------------
def streams(project: Project) -> list[tuple[str, str]]:
    """(system, entity) of every configured stream, in write order."""
    return [(s, e) for e in project.entity_order() for s in project.config.entities[e].sources]


def overview(conn: Connection, project: Project, now: dt.datetime, *, runs: int = SPARK_RUNS) -> dict[str, Any]:
    """A tile per stream with its last pull and push and a history of its own last ``runs`` runs (each
    stream's own rows, so a run that did not touch it leaves no gap), the systems' API budgets, the
    work-queue counters, and the one-line verdict."""
    tiles = []
    for system, entity in streams(project):
        hist = {d: runs_store.stream_history(conn, system, entity, d, runs) for d in ("pull", "push")}
        pull = hist["pull"][-1] if hist["pull"] else None
        push = hist["push"][-1] if hist["push"] else None
        order = sorted({x.run_id for d in hist.values() for x in d})[-runs:]
        pulls = _aligned(hist["pull"], order)
        pushes = _aligned(hist["push"], order)
        states = [x.status for x in (pull, push) if x is not None]
        tiles.append({
            "system": system, "entity": entity, "pull": pull, "push": push,
            "state": _worst(states) if states else "never run",
            "last_run_id": max((x.run_id for x in (pull, push) if x is not None), default=None),
            "finished_at": max((x.finished_at for x in (pull, push) if x is not None and x.finished_at), default=None),
            "lag_seconds": pull.lag_seconds if pull is not None else None,
            "records_in": pull.records_in if pull is not None else 0,
            "records_out": push.records_out if push is not None else 0,
            "errors": (pull.quarantined + pull.failed if pull is not None else 0) + (push.failed if push is not None else 0),
            "api_calls": (pull.api_calls if pull is not None else 0) + (push.api_calls if push is not None else 0),
            "error": (pull.error if pull is not None else None) or (push.error if push is not None else None),
            "x_labels": [f"#{order[0]}", f"#{order[-1]}"] if order else [],
            "series": {
                "in": [x.records_in if x is not None else None for x in pulls],
                # a run that read the stream but queued nothing to push wrote 0 records, it is not a gap
                "out": [x.records_out if x is not None else 0 if p is not None else None
                        for x, p in zip(pushes, pulls)],
                "errors": [None if p is None and q is None else
                           (p.quarantined + p.failed if p is not None else 0) + (q.failed if q is not None else 0)
                           for p, q in zip(pulls, pushes)],
                "api_calls": [None if p is None and q is None else
                              (p.api_calls if p is not None else 0) + (q.api_calls if q is not None else 0)
                              for p, q in zip(pulls, pushes)],
                "lag": [x.lag_seconds if x is not None else None for x in pulls],
            }})
    systems = systems_usage(conn, project, now)
    cnt = counts(conn)
    waiting = outbox_store.waiting_summary(conn)
    last_run = runs_store.last(conn)
    blocked = sum(w["count"] for w in waiting if w["kind"] == "blocked")
    return {"tiles": tiles, "systems": systems, "counts": cnt, "last_run": last_run, "spark_runs": runs,
            "waiting": waiting, "verdict": verdict(tiles, systems, cnt, blocked, now, last_run)}


def _aligned(rows: list[Any], order: list[int]) -> list[Any]:
    by_run = {x.run_id: x for x in rows}
    return [by_run.get(i) for i in order]


_SEVERITY = {"failed": 3, "partial": 2, "running": 1, "success": 0, "skipped": 0}


def _worst(states: list[str]) -> str:
    return max(states, key=lambda s: _SEVERITY.get(s, 1))


def systems_usage(conn: Connection, project: Project, now: dt.datetime) -> list[dict[str, Any]]:
    """API calls used today (UTC) per system, against the configured daily budget."""
    midnight = now.astimezone(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    used = runs_store.calls_by_system_since(conn, midnight)
    out = []
    for name, scfg in project.config.systems.items():
        n = used.get(name, 0)
        budget = scfg.daily_budget
        out.append({"system": name, "connector": scfg.connector, "role": scfg.role, "used": n, "budget": budget,
                    "pct": None if not budget else min(100.0, 100.0 * n / budget)})
    return out


def counts(conn: Connection) -> dict[str, Any]:
    return {
        "conflicts": conflict_store.count_open(conn),
        "quarantine": quarantine_store.count_open(conn),
        "dead": outbox_store.count(conn, (OutboxStatus.DEAD,)),
        "pending": outbox_store.count(conn, outbox_store.QUEUED),
        "review": decision_store.count_open_reviews(conn),
        "golden": golden_store.count_by_entity(conn),
    }


# ---- runs ----------------------------------------------------------------------------------------
def runs(conn: Connection, *, status: str | None = None, mode: str | None = None, system: str | None = None,
         page: int = 1) -> Page:
    return _page(conn, runs_store.listing(status=status, mode=mode, system=system), page)


def run_detail(conn: Connection, run_id: int) -> dict[str, Any] | None:
    row = runs_store.get(conn, run_id)
    if row is None:
        return None
    streams_ = [dict(x._mapping) for x in runs_store.streams_of(conn, run_id)]
    quarantined = [{"id": x.id, "system": x.system, "entity": x.entity, "source_id": x.source_id, "stage": x.stage,
                    "reason": x.reason, "status": x.status} for x in quarantine_store.of_run(conn, run_id, limit=PAGE)]
    return {"run": dict(row._mapping), "streams": streams_, "quarantined": quarantined}


# ---- work queues ---------------------------------------------------------------------------------
def conflicts(conn: Connection, *, status: ConflictStatus = ConflictStatus.OPEN, entity: str | None = None, page: int = 1) -> Page:
    return _page(conn, conflict_store.listing(status=status, entity=entity or None, with_title=True),
                 page)


def quarantine(conn: Connection, *, system: str | None = None, entity: str | None = None, page: int = 1) -> Page:
    return _page(conn, quarantine_store.open_listing(system=system, entity=entity), page)


def dead_letters(conn: Connection, *, system: str | None = None, page: int = 1) -> Page:
    return _page(conn, outbox_store.dead_listing(system=system), page)


def review(conn: Connection, *, entity: str | None = None, page: int = 1) -> Page:
    """'review' decisions (pairs between the thresholds) not yet confirmed or rejected by a person, each with
    the candidate golden record, the record's canonical values and the golden record it is in now."""
    stmt = decision_store.open_reviews_listing(entity=entity)
    pg = _page(conn, stmt, page)
    for row in pg.rows:
        cand = lookup.title_and_data(conn, row["entity"], row["golden_id"])
        rec = staged.view(conn, row["system"], row["entity"], row["source_id"])
        cur = xrefs.get(conn, row["entity"], row["system"], row["source_id"])
        row["candidate_title"] = cand[0] if cand else None
        row["candidate"] = cand[1] if cand else {}
        row["record"] = dict(rec.canonical or {}) if rec else {}
        row["current_golden_id"] = cur.golden_id if cur else None
        row["fields"] = sorted(set(row["candidate"]) | set(row["record"]))
    return pg
