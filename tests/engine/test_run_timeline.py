"""The run's timeline: every step of a real cycle leaves a span in ``run.summary["timings"]``, so the
dashboard can attribute the run's wall time to phases (no clock value is asserted, only structure)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from concord.hub.engine.ledger import Timeline
from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T
from tests.engine.helpers import cycle


def test_a_cycle_stores_a_span_per_step(starter: Path, database_url: str) -> None:
    summary = cycle(starter, database_url)
    wh = Warehouse.open(database_url, migrate=False)
    try:
        with wh.tx() as conn:
            stored = conn.execute(select(T.run.c.summary).where(T.run.c.id == summary.run_id)).scalar_one()
    finally:
        wh.dispose()
    t = stored["timings"]
    assert t["version"] == 1 and t["wall_s"] >= 0
    spans = t["spans"]
    phases = {s["phase"] for s in spans}
    assert {"ledger", "pull", "process", "derive", "plan", "push"} <= phases, phases
    for s in spans:
        assert 0 <= s["start"] <= s["end"] <= t["wall_s"], s
    # one pull span per stream and round, one process span per entity and round
    pulls = [(s["system"], s["entity"], s["round"]) for s in spans if s["phase"] == "pull"]
    assert len(pulls) == len(set(pulls)) and {("erp", "account", 1), ("crm", "account", 1)} <= set(pulls)
    assert {s["entity"] for s in spans if s["phase"] == "process"} == {"account", "contact"}
    # a round's pushes count in that round, though run_cycle runs them once the next round has begun
    assert {("crm", "account", 1), ("erp", "account", 1)} <= {
        (s["system"], s["entity"], s["round"]) for s in spans if s["phase"] == "push"}
    # the records of the push spans are the records written, summed over the rounds
    written = sum(s.get("records", 0) for s in spans if s["phase"] == "push")
    assert written == summary.written
    read = sum(s.get("records", 0) for s in spans if s["phase"] == "pull")
    assert read == sum(st.records_in for st in summary.streams if st.direction == "pull")


def test_a_span_is_recorded_when_the_step_fails() -> None:
    tl = Timeline()
    try:
        with tl.span("push", 1, "account", "crm") as sp:
            sp["records"] = 3
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    (s,) = tl.as_dict()["spans"]
    assert s["phase"] == "push" and s["records"] == 3 and s["end"] >= s["start"]
