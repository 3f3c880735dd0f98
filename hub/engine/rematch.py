"""Full re-match of one entity, for initial loads: forget the rule-made links and match every record again.

Typical use: ``concord sync --no-push`` loads and matches without writing anything back; the
integrator inspects the links (dashboard, ``concord review list``), tunes the rules, then runs
``concord rematch --entity account`` and ``concord sync``. Manual links and unlinks are kept (they
override the rules). Once Concord has written records of the entity to a system, a re-match
would orphan or duplicate them, so it is refused: use ``concord link`` / ``unlink`` then.
"""
from __future__ import annotations

from concord.hub.engine.context import RunContext
from concord.hub.engine.process import ProcessStats, process_entity
from concord.hub.errors import ConfigError
from concord.hub.warehouse.stores import dirty, golden_reset, match_keys, outbox, staged, xrefs
from concord.hub.warehouse.stores.outbox import OutboxStatus


def rematch(ctx: RunContext, entity: str) -> ProcessStats:
    if entity not in ctx.project.config.entities:
        raise ConfigError(f"unknown entity {entity!r}; this project syncs: {', '.join(ctx.project.entity_order())}")
    with ctx.warehouse.stream_lock(f"entity:{entity}", wait=True):
        with ctx.warehouse.tx() as conn:
            written = outbox.count(conn, (OutboxStatus.DONE, OutboxStatus.SENDING), entity=entity)
            if written:
                raise ConfigError(f"{written} write(s) of {entity} were already made to target systems; a full "
                                  "re-match would orphan or duplicate them. Use `concord link` / `concord unlink`.")
            manual = xrefs.manual_golden_ids(conn, entity)
            xrefs.forget_rule_links(conn, entity)
            # golden records held together by manual links are rebuilt from their sources
            golden_reset.drop_except(conn, entity, manual)
            match_keys.clear(conn, entity)
            dirty.done(conn, entity)
            outbox.supersede_queued(conn, entity)
            staged.requeue_entity(conn, entity)
        return process_entity(ctx, entity)
