"""One sync cycle: pull -> land -> map -> match -> survive -> plan -> push (DESIGN.md section 2).

``run_cycle`` is what ``concord sync``, ``concord plan`` (``dry_run=True``: everything runs inside
one transaction that is rolled back, and nothing is pushed) and the Prefect flows call.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from concord.hub.engine.budget import load_baselines
from concord.hub.engine.concurrent import by_system
from concord.hub.engine.context import RunContext, StreamStats
from concord.hub.engine.derive import derive_after
from concord.hub.engine.ledger import Timeline, finish_run, record_streams, start_run
from concord.hub.engine.plan import PlannedChange, estimate_calls, pending_changes, pending_counts, plan_entity
from concord.hub.engine.process import ProcessStats, process_entity
from concord.hub.engine.pull import pull_stream
from concord.hub.engine.push import push_entity
from concord.hub.errors import HubError
from concord.hub.warehouse.stores import conflicts as conflict_store
from concord.hub.warehouse.stores import golden as golden_store
from concord.hub.warehouse.stores import runs as runs_store

log = logging.getLogger("concord.cycle")

EXIT_OK, EXIT_PARTIAL, EXIT_FAILED = 0, 1, 2


@dataclass
class RunSummary:
    run_id: int | None
    mode: str
    status: str = "success"
    streams: list[StreamStats] = field(default_factory=list)
    process: ProcessStats = field(default_factory=ProcessStats)
    planned: list[PlannedChange] = field(default_factory=list)   # listed in plan mode only
    planned_count: int = 0
    api_calls: dict[str, Any] = field(default_factory=dict)
    conflicts_open: int = 0
    golden_records: dict[str, int] = field(default_factory=dict)
    rounds: int = 0
    cost: dict[str, Any] = field(default_factory=dict)
    conflicts_raised: int = 0
    first_round_writes: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float = 0.0
    error: str | None = None

    @property
    def exit_code(self) -> int:
        return {"success": EXIT_OK, "partial": EXIT_PARTIAL}.get(self.status, EXIT_FAILED)

    def counts(self) -> dict[str, Any]:
        """Records read, written and quarantined per system and stream (summed over the rounds)."""
        out: dict[str, Any] = {}
        for s in self.streams:
            d = out.setdefault(s.system, {}).setdefault(s.entity, {"read": 0, "changed": 0, "quarantined": 0,
                                                                    "written": 0, "failed": 0, "dead_lettered": 0})
            if s.direction == "pull":
                d["read"] += s.records_in
                d["changed"] += s.records_changed
                d["quarantined"] += s.quarantined
            else:
                d["written"] += s.records_out
                d["failed"] += s.failed
                d["dead_lettered"] += s.dead
            d[f"{s.direction}_status"] = s.status
            if s.error:
                d.setdefault("errors", []).append(f"{s.direction}: {s.error}")
        for system, per in self.process.by_system.items():
            if per.get("quarantined"):
                out.setdefault(system, {}).setdefault("_mapping", {})["quarantined"] = per["quarantined"]
        return out

    @property
    def written(self) -> int:
        return sum(s.records_out for s in self.streams if s.direction == "push")

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "mode": self.mode, "status": self.status, "exit_code": self.exit_code,
                "duration_s": round(self.duration_s, 3), "streams": self.counts(),
                "process": {k: v for k, v in asdict(self.process).items()},
                "planned": [c.as_dict() for c in self.planned] if self.mode == "plan" else self.planned_count,
                "api_calls": self.api_calls, "conflicts_open": self.conflicts_open, "rounds": self.rounds,
                "write_calls_planned": self.cost, "conflicts_raised": self.conflicts_raised,
                "golden_records": self.golden_records, "error": self.error}


MAX_ROUNDS = 3


def run_cycle(ctx: RunContext, *, dry_run: bool = False, entities: list[str] | None = None,
              push: bool = True, prefect_flow_run_id: str | None = None, max_rounds: int = MAX_ROUNDS) -> RunSummary:
    """Run one full cycle. With ``dry_run`` nothing is written anywhere (``concord plan``).

    A cycle settles: when a round created records in a system, the next round reads those
    streams back (a target assigns ids and numbers on create, such as an ERP customer number)
    and propagates what came back, up to ``max_rounds`` rounds. ``concord plan`` predicts the
    first round; follow-up rounds carry only values the targets assign themselves.
    """
    if dry_run:
        with ctx.warehouse.dry_run():
            return _cycle(ctx, "plan", entities, push=False, prefect_flow_run_id=None, max_rounds=1)
    return _cycle(ctx, "sync", entities, push=push, prefect_flow_run_id=prefect_flow_run_id, max_rounds=max_rounds)


def _cycle(ctx: RunContext, mode: str, entities: list[str] | None, *, push: bool,
           prefect_flow_run_id: str | None, max_rounds: int) -> RunSummary:
    run = CycleRun(ctx, mode=mode, prefect_flow_run_id=prefect_flow_run_id)
    error = None
    parallel = not ctx.warehouse.is_dry_run   # a dry run lives on one connection, in one thread
    try:
        waiting: list[Step] = []   # pulls (or pushes) of one round: the systems run side by side
        for step in cycle_steps(run, run.entities(entities), push=push, max_rounds=max_rounds):
            if waiting and step.kind != waiting[0].kind:
                by_system(waiting, run.do, parallel=parallel)
                waiting = []
            if step.kind == "process":
                run.do(step)
            else:
                waiting.append(step)
        by_system(waiting, run.do, parallel=parallel)
    except HubError as exc:
        error = f"{exc.kind}: {exc.message}"
        log.error("cycle failed: %s", error)
    return run.finish(error)


@dataclass(frozen=True)
class Step:
    """One unit of a cycle: pull one stream, process one entity, or push one entity to one target."""
    kind: Literal["pull", "process", "push"]
    entity: str
    system: str | None = None
    round: int = 0          # the round it belongs to (0: unknown); steps of a round may run after the next began


def cycle_steps(run: "CycleRun", entities: Sequence[str], *, push: bool = True,
                max_rounds: int = MAX_ROUNDS) -> Iterator[Step]:
    """The one cycle driver: the rounds of a cycle as steps, for ``run_cycle`` and the Prefect flows.

    The caller runs each step (``run.do(step)`` or as an orchestrator task); the generator reads
    outcomes from ``run`` only after ``process`` steps, so the pull steps of a round, and its push
    steps, may be run together (``run_cycle`` runs each system's side by side: concurrent.py).
    A round pulls, processes every entity, and pushes when changes are queued. A cycle settles: when a round planned creates in a system, the
    next round reads that system's streams back (a target assigns ids and numbers on create, such
    as an ERP customer number) and propagates what came back, up to ``max_rounds`` rounds.
    """
    order = list(entities)
    streams = [(e, s) for e in order for s in run.sources(e)]
    while streams and run.summary.rounds < max_rounds:
        run.summary.rounds += 1
        for entity, system in streams:
            yield Step("pull", entity, system, run.summary.rounds)
        queued = 0
        for entity in order:
            yield Step("process", entity)
            queued += run.last_queued
        created = run.created_in()
        if not push or not queued:
            return
        for entity in order:
            for target in run.targets(entity):
                yield Step("push", entity, target, run.summary.rounds)
        streams = [(e, s) for e in order for s in run.sources(e) if s in created]


class CycleRun:
    """One ledger run whose steps are called one by one: ``pull`` each stream, ``process``, ``push``."""

    def __init__(self, ctx: RunContext, *, mode: str = "sync", prefect_flow_run_id: str | None = None) -> None:
        self.ctx = ctx
        self.t0 = time.perf_counter()
        self.timeline = Timeline(self.t0)     # where the wall time goes, stored with the run's summary
        with self.timeline.span("ledger", 0):
            start_run(ctx, mode, prefect_flow_run_id)
            load_baselines(ctx)
        self.summary = RunSummary(ctx.run_id, mode)
        self._created: set[str] = set()
        self._first_round: dict[tuple[str, str, str], int] = {}   # queued changes after round 1
        self.last_queued = 0        # changes queued by the last ``process`` step
        self._pull_failed: set[tuple[str, str]] = set()   # streams whose last pull in this cycle failed

    # ---- what to do -------------------------------------------------------------------------
    def entities(self, only: Sequence[str] | None = None) -> list[str]:
        """Entities in write order (parents first); an unknown name is a ConfigError listing the known."""
        known = self.ctx.project.entity_order()
        unknown = [e for e in only or () if e not in known]
        if unknown:
            from concord.hub.errors import ConfigError

            raise ConfigError(f"unknown entity {', '.join(map(repr, unknown))}; this project syncs: {', '.join(known)}")
        return [e for e in known if not only or e in only]

    def sources(self, entity: str) -> list[str]:
        return list(self.ctx.project.config.entities[entity].sources)

    def targets(self, entity: str) -> list[str]:
        return [r.target for r in self.ctx.project.config.entities[entity].sync]

    # ---- steps ------------------------------------------------------------------------------
    def pull(self, entity: str, system: str, round_: int = 0) -> StreamStats:
        with self.timeline.span("pull", round_ or self.summary.rounds, entity, system) as sp:
            st = _locked(self.ctx, f"pull:{system}:{entity}", lambda: pull_stream(self.ctx, entity, system),
                         system, entity, "pull")
            sp["records"] = st.records_in
        self.summary.streams.append(st)
        # a stream this cycle did not read to the end (failed, or another worker holds its pull and may
        # still be reading) gets no creates: a record that would match one in it may not be staged yet
        if st.status == "failed" or st.error_kind == "locked":
            self._pull_failed.add((entity, system))
        else:
            self._pull_failed.discard((entity, system))
        return st

    def process(self, entity: str) -> int:
        """Map, match, survive and plan one entity; returns the changes now queued for every target."""
        tl, rnd = self.timeline, self.summary.rounds
        with self.ctx.warehouse.stream_lock(f"entity:{entity}", wait=True):
            with tl.span("process", rnd, entity) as sp:
                before = self.summary.process.mapped
                process_entity(self.ctx, entity, self.summary.process)
                sp["records"] = self.summary.process.mapped - before
            with tl.span("derive", rnd, entity):
                replan = derive_after(self.ctx, entity)   # derived records, and fields they send back
            with tl.span("plan", rnd, entity):
                plan_entity(self.ctx, entity)
        with tl.span("plan", rnd, entity):
            for other in sorted(replan - {entity}):       # a source whose plan ran earlier in this round
                with self.ctx.warehouse.stream_lock(f"entity:{other}", wait=True):
                    plan_entity(self.ctx, other)
            with self.ctx.warehouse.tx() as conn:
                counts = pending_counts(conn, entity=entity)
                extra = sum(sum(pending_counts(conn, entity=o).values()) for o in replan - {entity})
                if self.summary.mode == "plan" and self.summary.rounds <= 1:   # a dry run lists every change
                    self.summary.planned.extend(c for c in pending_changes(conn) if c.entity == entity)
        n = sum(counts.values())
        if self.summary.rounds <= 1:
            self.summary.planned_count += n
            for key, k in counts.items():
                self._first_round[key] = self._first_round.get(key, 0) + k
            self.summary.cost = estimate_calls(self.ctx, self._first_round)
        self._created |= {system for (system, _t, op), k in counts.items() if op in ("create", "upsert") and k}
        self.last_queued = n + extra
        return n

    def do(self, step: Step) -> StreamStats | int:
        if step.kind == "pull":
            return self.pull(step.entity, step.system or "", step.round)
        if step.kind == "push":
            return self.push(step.entity, step.system or "", step.round)
        return self.process(step.entity)

    def push(self, entity: str, system: str, round_: int = 0) -> StreamStats:
        # no creates into a stream this cycle could not read: the target may hold them already
        new_records = (entity, system) not in self._pull_failed
        with self.timeline.span("push", round_ or self.summary.rounds, entity, system) as sp:
            st = _locked(self.ctx, f"push:{system}:{entity}",
                         lambda: push_entity(self.ctx, entity, system, new_records=new_records), system, entity, "push")
            sp["records"] = st.records_out
        self.summary.streams.append(st)
        return st

    def created_in(self) -> set[str]:
        """Systems planned for creates since the last call (their streams are read back to settle)."""
        out, self._created = self._created, set()
        return out

    # ---- the end ----------------------------------------------------------------------------
    def finish(self, error: str | None = None) -> RunSummary:
        s = self.summary
        s.rounds = max(s.rounds, 1)
        if error:
            s.status, s.error = "failed", error
        s.duration_s = time.perf_counter() - self.t0
        s.api_calls = self.ctx.ledger.snapshot()
        with self.timeline.span("ledger", s.rounds):
            _totals(self.ctx, s)
            if s.status != "failed":
                if any(st.status == "failed" for st in s.streams):
                    s.status = "failed"
                elif s.process.quarantined or any(st.status == "partial" for st in s.streams):
                    s.status = "partial"
            record_streams(self.ctx, s.streams)
        stored = {k: v for k, v in s.as_dict().items() if k != "planned"}
        finish_run(self.ctx, s.status, {**stored, "timings": self.timeline.as_dict()}, s.error)
        return s


def _locked(ctx: RunContext, name: str, fn: Any, system: str, entity: str, direction: str) -> StreamStats:
    with ctx.warehouse.stream_lock(name) as got:
        if not got:
            return StreamStats(system, entity, direction, status="skipped", error_kind="locked",
                               error="another worker is syncing this stream")
        return fn()


def _totals(ctx: RunContext, summary: RunSummary) -> None:
    with ctx.warehouse.tx() as conn:
        summary.golden_records = golden_store.count_by_entity(conn)
        summary.conflicts_open = conflict_store.count_open(conn)
        if ctx.run_id is not None:
            started = runs_store.started_at(conn, ctx.run_id)
            if started is not None:
                summary.conflicts_raised = conflict_store.count_raised_since(conn, started)
