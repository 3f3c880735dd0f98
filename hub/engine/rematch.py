"""Full re-match of one entity, for initial loads: forget the rule-made links and match every record again.

Typical use: ``concord sync --no-push`` loads and matches without writing anything back; the
integrator inspects the links (dashboard, ``concord review list``), tunes the rules, then runs
``concord rematch --entity account`` and ``concord sync``. Manual links and unlinks are kept (they
override the rules). Once Concord has written records of the entity to a system, a re-match
would orphan or duplicate them, so it is refused: use ``concord link`` / ``unlink`` then.
"""
from __future__ import annotations

from sqlalchemy import delete, func, select, update

from concord.hub.engine.context import RunContext
from concord.hub.engine.process import ProcessStats, process_entity
from concord.hub.errors import ConfigError
from concord.hub.warehouse import tables as T
from concord.hub.warehouse.stores import match_keys


def rematch(ctx: RunContext, entity: str) -> ProcessStats:
    if entity not in ctx.project.config.entities:
        raise ConfigError(f"unknown entity {entity!r}; this project syncs: {', '.join(ctx.project.entity_order())}")
    with ctx.warehouse.stream_lock(f"entity:{entity}", wait=True):
        with ctx.warehouse.tx() as conn:
            o = T.outbox.c
            written = conn.execute(select(func.count()).select_from(T.outbox).where(
                o.entity == entity, o.status.in_(["done", "sending"]))).scalar()
            if written:
                raise ConfigError(f"{written} write(s) of {entity} were already made to target systems; a full "
                                  "re-match would orphan or duplicate them. Use `concord link` / `concord unlink`.")
            x = T.xref.c
            manual = {r.golden_id for r in conn.execute(select(x.golden_id).where(x.entity == entity,
                                                                                 x.state == "manual"))}
            conn.execute(delete(T.xref).where(x.entity == entity, x.state != "manual"))
            g = T.golden.c
            stale = [r.golden_id for r in conn.execute(select(g.golden_id).where(g.entity == entity))
                     if r.golden_id not in manual]
            for i in range(0, len(stale), 500):
                chunk = stale[i:i + 500]
                conn.execute(delete(T.golden).where(g.entity == entity, g.golden_id.in_(chunk)))
                canon = T.CANONICAL[entity]
                for _coll, child, _cols in T.CANONICAL_CHILDREN.get(entity, []):
                    conn.execute(delete(child).where(child.c.golden_id.in_(chunk)))
                conn.execute(delete(canon).where(canon.c.golden_id.in_(chunk)))
            # golden records held together by manual links are rebuilt from their sources
            conn.execute(update(T.golden).where(g.entity == entity).values(data={}, data_hash="", lineage={}))
            match_keys.clear(conn, entity)
            conn.execute(delete(T.dirty).where(T.dirty.c.entity == entity))
            conn.execute(update(T.outbox).where(o.entity == entity, o.status.in_(["pending", "failed"]))
                         .values(status="superseded"))
            r = T.raw_record.c
            conn.execute(update(T.raw_record).where(r.entity == entity, r.status != "quarantined")
                         .values(status="pending", canonical=None, golden_id=None))
        return process_entity(ctx, entity)
