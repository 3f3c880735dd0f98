"""Prefect flows: thin shells over ``hub`` (no sync logic lives here).

A task is one stream (a pull or a push, which pages and batches inside) or one entity's
map/match/survive/plan step, never a single record. Task retries cover a whole step that failed
for a transient reason; HTTP retries stay in ``hub.http``. Every flow run writes the run ledger
(``run`` / ``run_stream``) with its Prefect flow run id, which is what the dashboard reads.

Flows take the path of concord.yaml (``config``) and an optional warehouse URL, so a deployment
needs nothing but parameters; the run context (connectors, HTTP sessions) is passed to tasks
wrapped in ``quote`` so Prefect does not walk it.
"""
from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger
from prefect.utilities.annotations import quote

from concord.flows._context import flow_run_id, run_context
from concord.hub.engine import RunSummary, run_cycle
from concord.hub.engine.cycle import MAX_ROUNDS, Step, cycle_steps
from concord.hub.engine.context import StreamStats
from concord.hub.engine.steps import CycleRun, dead_letter_targets, reset_cursors, retry_dead_letters as requeue_dead
from concord.hub.errors import TransientError



class StepFailed(TransientError):
    """A whole step failed for a transient reason: Prefect retries the task."""


def _raise_if_transient(st: StreamStats) -> StreamStats:
    if st.status == "failed" and st.error_kind == "transient":
        raise StepFailed(f"{st.direction} {st.system}.{st.entity}: {st.error}")
    return st


@task(name="pull-stream", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10,
      task_run_name="pull {system}.{entity}")
def pull_task(run: CycleRun, entity: str, system: str) -> StreamStats:
    return _raise_if_transient(run.pull(entity, system))


@task(name="process-entity", cache_policy=NO_CACHE, task_run_name="map-match-survive-plan {entity}")
def process_task(run: CycleRun, entity: str) -> int:
    return run.process(entity)


@task(name="push-stream", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10,
      task_run_name="push {system}.{entity}")
def push_task(run: CycleRun, entity: str, system: str) -> StreamStats:
    return _raise_if_transient(run.push(entity, system))


def _run_step(run: CycleRun, step: Step) -> None:
    """A step of the one cycle driver (``hub.engine.cycle.cycle_steps``) as a Prefect task."""
    if step.kind == "pull":
        _call(pull_task, run, step.entity, step.system or "")
    elif step.kind == "push":
        _call(push_task, run, step.entity, step.system or "")
    else:
        process_task(quote(run), step.entity)


def _call(t: Any, run: CycleRun, entity: str, system: str) -> None:
    """Run a stream task; a stream that still fails after its retries is in the ledger, not fatal."""
    try:
        t(quote(run), entity, system)
    except StepFailed as exc:
        get_run_logger().warning("%s", exc.message)


def _settled(run: CycleRun, only: list[str] | None, max_rounds: int) -> RunSummary:
    """The rounds of ``cycle_steps`` (the same driver and stop rules as ``run_cycle``), then the ledger."""
    try:
        for step in cycle_steps(run, run.entities(only), max_rounds=max_rounds):
            _run_step(run, step)
    except Exception as exc:
        run.finish(error=f"{type(exc).__name__}: {exc}")
        raise
    summary = run.finish()
    get_run_logger().info("run %s: %s in %.1fs, golden %s", summary.run_id, summary.status, summary.duration_s,
                          summary.golden_records)
    return summary


@flow(name="sync-entity", log_prints=False)
def sync_entity(config: str | None = None, entity: str = "account", warehouse: str | None = None,
                max_rounds: int = MAX_ROUNDS) -> RunSummary:
    """Pull every source of one canonical entity, match, plan and push: one stream per task."""
    with run_context(config, warehouse) as ctx:
        run = CycleRun(ctx, prefect_flow_run_id=flow_run_id())
        return _settled(run, [entity], max_rounds)


@flow(name="sync-cycle")
def sync_cycle_flow(config: str | None = None, warehouse: str | None = None,
                    entities: list[str] | None = None) -> RunSummary:
    """Every entity (or the given ones), one stream per task: what ``concord sync --prefect`` runs."""
    with run_context(config, warehouse) as ctx:
        run = CycleRun(ctx, prefect_flow_run_id=flow_run_id())
        return _settled(run, entities, MAX_ROUNDS)


@flow(name="sync-cycle-inline")
def sync_cycle_inline(config: str | None = None, warehouse: str | None = None,
                      entities: list[str] | None = None) -> RunSummary:
    """The whole cycle as one step (``hub.engine.run_cycle``): the cheapest flow, no task runs."""
    with run_context(config, warehouse) as ctx:
        return run_cycle(ctx, entities=entities, prefect_flow_run_id=flow_run_id())


@flow(name="pull-stream")
def pull_stream(config: str | None = None, entity: str = "account", system: str = "",
                warehouse: str | None = None) -> RunSummary:
    """Land one stream in the warehouse (no processing, no writes)."""
    with run_context(config, warehouse) as ctx:
        run = CycleRun(ctx, mode="pull", prefect_flow_run_id=flow_run_id())
        try:
            sources = run.sources(run.entities([entity])[0])
            if system and system not in sources:
                from concord.hub.errors import ConfigError

                raise ConfigError(f"{entity} has no source {system!r}; its sources: {', '.join(sources)}")
            _call(pull_task, run, entity, system or sources[0])
        except Exception as exc:
            run.finish(error=f"{type(exc).__name__}: {exc}")
            raise
        return run.finish()


@flow(name="push-system")
def push_system(config: str | None = None, system: str = "", entities: list[str] | None = None,
                warehouse: str | None = None) -> RunSummary:
    """Send what the outbox holds for one target system (every entity, in write order)."""
    with run_context(config, warehouse) as ctx:
        run = CycleRun(ctx, mode="push", prefect_flow_run_id=flow_run_id())
        try:
            for entity in run.entities(entities):
                if system in run.targets(entity):
                    _call(push_task, run, entity, system)
        except Exception as exc:
            run.finish(error=f"{type(exc).__name__}: {exc}")
            raise
        return run.finish()


@flow(name="retry-dead-letters")
def retry_dead_letters(config: str | None = None, warehouse: str | None = None) -> RunSummary:
    """Queue every dead-lettered write again and push the queues."""
    with run_context(config, warehouse) as ctx:
        requeued = requeue_dead_letters_task(quote(ctx))
        run = CycleRun(ctx, mode="push", prefect_flow_run_id=flow_run_id())
        try:
            for entity, system in dead_letter_targets(ctx):
                if system in run.targets(entity):
                    _call(push_task, run, entity, system)
        except Exception as exc:
            run.finish(error=f"{type(exc).__name__}: {exc}")
            raise
        get_run_logger().info("requeued %d dead letters", requeued)
        return run.finish()


@task(name="requeue-dead-letters", cache_policy=NO_CACHE)
def requeue_dead_letters_task(ctx: Any) -> int:
    return requeue_dead(ctx)


@flow(name="full-resync")
def full_resync(config: str | None = None, entities: list[str] | None = None,
                warehouse: str | None = None) -> RunSummary:
    """Forget the cursors and run a cycle: every record is read again (unchanged ones are no-ops)."""
    with run_context(config, warehouse) as ctx:
        reset_cursors(ctx, entities)
        run = CycleRun(ctx, mode="resync", prefect_flow_run_id=flow_run_id())
        return _settled(run, entities, MAX_ROUNDS)
