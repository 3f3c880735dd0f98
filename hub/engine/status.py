"""What ``concord status`` (and the dashboard) report about the warehouse."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from concord.hub.config.loader import Project
from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T
from concord.hub.warehouse.stores import conflicts as conflict_store
from concord.hub.warehouse.stores import golden as golden_store
from concord.hub.warehouse.stores import outbox as outbox_store


def status(project: Project, wh: Warehouse) -> dict[str, Any]:
    out: dict[str, Any] = {"streams": []}
    with wh.tx() as conn:
        r, q, c, rs = T.raw_record.c, T.quarantine.c, T.cursor.c, T.run_stream.c
        staged = {(x.system, x.entity): x.n for x in conn.execute(
            select(r.system, r.entity, func.count().label("n")).group_by(r.system, r.entity))}
        quarantined = {(x.system, x.entity): x.n for x in conn.execute(
            select(q.system, q.entity, func.count().label("n")).where(q.status == "open").group_by(q.system, q.entity))}
        cursors = {(x.system, x.entity): x.value for x in conn.execute(select(c.system, c.entity, c.value))}
        last: dict[tuple[str, str, str], Any] = {}
        sub = select(rs.system, rs.entity, rs.direction, func.max(rs.run_id).label("run_id")).group_by(
            rs.system, rs.entity, rs.direction).subquery()
        for x in conn.execute(select(T.run_stream).join(sub, (rs.run_id == sub.c.run_id) & (rs.system == sub.c.system)
                                                        & (rs.entity == sub.c.entity) & (rs.direction == sub.c.direction))):
            last[(x.system, x.entity, x.direction)] = {"run_id": x.run_id, "status": x.status, "in": x.records_in,
                                                       "out": x.records_out, "finished_at": x.finished_at,
                                                       "error": x.error}
        for entity in project.entity_order():
            for system in project.config.entities[entity].sources:
                out["streams"].append({
                    "system": system, "entity": entity, "cursor": cursors.get((system, entity)),
                    "staged": staged.get((system, entity), 0), "quarantined": quarantined.get((system, entity), 0),
                    "last_pull": last.get((system, entity, "pull")), "last_push": last.get((system, entity, "push"))})
        o = T.outbox.c
        out["golden"] = golden_store.count_by_entity(conn)
        out["outbox"] = {x.status: x.n for x in conn.execute(select(o.status, func.count().label("n")).group_by(o.status))}
        out["waiting"] = outbox_store.waiting_summary(conn)   # queued writes that wait, and why
        out["conflicts_open"] = conflict_store.count_open(conn)
        lr = conn.execute(select(T.run).order_by(T.run.c.id.desc()).limit(1)).first()
        out["last_run"] = None if lr is None else {"id": lr.id, "mode": lr.mode, "status": lr.status,
                                                   "started_at": lr.started_at, "finished_at": lr.finished_at}
    return out
