"""The daily API budget of each system: what this run and earlier runs today used against the limit."""
from __future__ import annotations

import datetime as dt

from concord.hub.engine.context import RunContext
from concord.hub.warehouse.stores import runs as runs_store


def used_before_this_run(ctx: RunContext, system: str) -> int:
    """API calls recorded today (UTC) by earlier runs, from the run ledger."""
    cache = ctx.__dict__.setdefault("_budget_base", {})
    if system not in cache:
        today = ctx.now().astimezone(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        with ctx.warehouse.tx() as conn:
            cache[system] = runs_store.calls_since(conn, today, system=system, exclude_run=ctx.run_id)
    return cache[system]


def remaining(ctx: RunContext, system: str) -> int | None:
    """Calls left today for a system, or None when it has no budget (the ledger knows earlier runs' use)."""
    if not ctx.project.config.systems[system].daily_budget:
        return None
    ctx.ledger.set_baseline(system, used_before_this_run(ctx, system))
    return ctx.ledger.remaining(system)


def load_baselines(ctx: RunContext) -> None:
    """At the start of a run: tell the HTTP layer what earlier runs used today, so it stops at the budget."""
    for name, scfg in ctx.project.config.systems.items():
        if scfg.daily_budget:
            ctx.ledger.set_baseline(name, used_before_this_run(ctx, name))


def exhausted(ctx: RunContext, system: str, need: int = 1) -> bool:
    left = remaining(ctx, system)
    return left is not None and left < need
