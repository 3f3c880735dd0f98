"""What ``concord status`` (and the dashboard) report about the warehouse."""
from __future__ import annotations

from typing import Any

from concord.hub.config.loader import Project
from concord.hub.warehouse import Warehouse
from concord.hub.warehouse.stores import conflicts as conflict_store
from concord.hub.warehouse.stores import golden as golden_store
from concord.hub.warehouse.stores import outbox as outbox_store
from concord.hub.warehouse.stores import quarantine as quarantine_store
from concord.hub.warehouse.stores import runs as runs_store
from concord.hub.warehouse.stores import staging


def status(project: Project, wh: Warehouse) -> dict[str, Any]:
    out: dict[str, Any] = {"streams": []}
    with wh.tx() as conn:
        staged = staging.count_per_stream(conn)
        quarantined = quarantine_store.open_per_stream(conn)
        cursors = staging.cursors(conn)
        last: dict[tuple[str, str, str], Any] = {}
        for key, x in runs_store.latest_per_stream(conn).items():
            last[key] = {"run_id": x.run_id, "status": x.status, "in": x.records_in,
                                                       "out": x.records_out, "finished_at": x.finished_at,
                                                       "error": x.error}
        for entity in project.entity_order():
            for system in project.config.entities[entity].sources:
                out["streams"].append({
                    "system": system, "entity": entity, "cursor": cursors.get((system, entity)),
                    "staged": staged.get((system, entity), 0), "quarantined": quarantined.get((system, entity), 0),
                    "last_pull": last.get((system, entity, "pull")), "last_push": last.get((system, entity, "push"))})
        out["golden"] = golden_store.count_by_entity(conn)
        out["outbox"] = outbox_store.count_by_status(conn)
        out["waiting"] = outbox_store.waiting_summary(conn)   # queued writes that wait, and why
        out["conflicts_open"] = conflict_store.count_open(conn)
        lr = runs_store.last(conn)
        out["last_run"] = None if lr is None else {"id": lr.id, "mode": lr.mode, "status": lr.status,
                                                   "started_at": lr.started_at, "finished_at": lr.finished_at}
    return out
