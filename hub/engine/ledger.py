"""The run ledger: one ``run`` row per cycle, one ``run_stream`` row per stream and direction, and the
run's timeline (where its wall time went), kept in the run's summary under ``timings``."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from concord.hub.engine.context import RunContext, StreamStats
from concord.hub.warehouse.stores import runs as runs_store
from concord.hub.warehouse.stores.runs import RunStatus


def start_run(ctx: RunContext, mode: str, prefect_flow_run_id: str | None = None) -> int:
    with ctx.warehouse.tx() as conn:
        run_id = runs_store.start(conn, mode=mode, now=ctx.now(), host=socket.gethostname(),
                                  prefect_flow_run_id=prefect_flow_run_id)
    ctx.run_id = run_id
    return run_id


class Timeline:
    """Where a run's wall time goes: one span per step (pull a stream, process / derive / plan an entity,
    push to a target) and for the ledger's own work, as seconds from the run's start on a monotonic clock.

    Steps of one phase may run side by side (systems in threads), so a reader takes the union of spans,
    not their sum (``hub.dashboard.timings``). ``as_dict`` is what the summary stores under ``timings``.
    """

    def __init__(self, t0: float | None = None) -> None:
        self.t0 = time.perf_counter() if t0 is None else t0
        self.spans: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @contextmanager
    def span(self, phase: str, round_: int, entity: str | None = None,
             system: str | None = None) -> Iterator[dict[str, Any]]:
        """Time the block; the caller may add ``records`` to the yielded dict."""
        extra: dict[str, Any] = {}
        start = time.perf_counter()
        try:
            yield extra
        finally:
            end = time.perf_counter()
            row = {"phase": phase, "round": round_, "entity": entity, "system": system,
                   "start": round(start - self.t0, 6), "end": round(end - self.t0, 6), **extra}
            with self._lock:
                self.spans.append(row)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            spans = sorted(self.spans, key=lambda s: s["start"])
        return {"version": 1, "wall_s": round(time.perf_counter() - self.t0, 6), "spans": spans}


_RANK = {RunStatus.SUCCESS: 0, RunStatus.SKIPPED: 1, RunStatus.PARTIAL: 2, RunStatus.FAILED: 3}


def merge_streams(streams: list[StreamStats]) -> list[StreamStats]:
    """One entry per (system, entity, direction) and run: the counts of a cycle's settle rounds add up.

    Rounds skipped because another worker held the stream count only when no round ran. Status is
    the worst of the rounds that ran; the timings are those of the last round that ran (earlier
    rounds may interleave with another worker's turn on the stream, so one span would overstate).
    """
    by_key: dict[tuple[str, str, str], list[StreamStats]] = {}
    for st in streams:
        by_key.setdefault((st.system, st.entity, st.direction), []).append(st)
    out = []
    for group in by_key.values():
        ran = [st for st in group if st.status != RunStatus.SKIPPED] or group
        last = ran[-1]
        m = StreamStats(**{f: getattr(last, f) for f in last.__dataclass_fields__})
        for f in ("records_in", "records_changed", "records_out", "quarantined", "failed", "dead", "api_calls"):
            setattr(m, f, sum(getattr(st, f) for st in ran))
        m.status = max((st.status for st in ran), key=lambda x: _RANK.get(x, 3))
        m.error = "; ".join(dict.fromkeys(st.error for st in ran if st.error)) or None
        out.append(m)
    return out


def record_streams(ctx: RunContext, streams: list[StreamStats]) -> None:
    """Write the run's stream rows (settle rounds merged), in one transaction."""
    rows = [{"run_id": ctx.run_id, "system": st.system, "entity": st.entity, "direction": st.direction,
             "status": st.status, "records_in": st.records_in, "records_changed": st.records_changed,
             "records_out": st.records_out, "quarantined": st.quarantined, "failed": st.failed + st.dead,
             "api_calls": st.api_calls, "lag_seconds": st.lag_seconds, "error": st.error,
             "started_at": st.started_at, "finished_at": st.finished_at or ctx.now()}
            for st in merge_streams(streams)]
    with ctx.warehouse.tx() as conn:
        runs_store.save_streams(conn, rows)


def finish_run(ctx: RunContext, status: str, summary: dict[str, Any], error: str | None = None) -> None:
    assert ctx.run_id is not None, "finish_run before start_run"
    with ctx.warehouse.tx() as conn:
        runs_store.finish(conn, ctx.run_id, status=status, now=ctx.now(), summary=summary, error=error)
