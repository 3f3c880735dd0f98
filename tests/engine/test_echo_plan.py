"""A record read back as Concord wrote it is not planned again; a record a person changed is.

The planner compares a golden record with each target's records. When a record arrives that Concord already
knew, no conflict was raised, and it holds the golden record's value of every field written to its system
(the echo of Concord's own write), nothing the planner reads has moved: its golden record is not queued.
When it holds something else, its golden record is planned and the golden value written back.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from concord.connectors.files.sandbox import write_drops
from concord.hub.config import load_project
from concord.hub.engine import RunContext, plan, run_cycle
from concord.hub.sandbox.world import World
from concord.hub.warehouse import Warehouse


def _cycle(folder: Path, url: str) -> Any:
    proj = load_project(folder / "concord.yaml")
    wh = Warehouse.open(url)
    ctx = RunContext.create(proj, wh)
    try:
        summary = run_cycle(ctx, entities=["account"])
    finally:
        ctx.close()
        wh.dispose()
    assert summary.status == "success", summary.error
    return summary


def test_an_echo_is_not_planned_again_and_a_change_is(starter: Path, database_url: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    write_drops(World(seed=11, size=120), str(starter / "data"), erp_share=0.8)
    planned: list[str] = []
    real = plan._plan_batch

    def spy(conn: Any, entity: str, ids: list[str], targets: Any) -> Any:
        planned.extend(ids)
        return real(conn, entity, ids, targets)

    monkeypatch.setattr(plan, "_plan_batch", spy)
    _cycle(starter, database_url)             # the initial cycle: its last round wrote ERP numbers into the CRM
    planned.clear()
    echo = _cycle(starter, database_url)      # reads them back: each as Concord wrote it
    assert echo.process.mapped > 0 and planned == [] and echo.planned_count == 0

    # a person changes a CRM account's credit limit, which the ERP owns: the golden record does not change,
    # but it is planned, and its value written back over the edit
    path = starter / "data" / "crm" / "accounts.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    linked = next(r for r in rows if r.get("erp_number") and r.get("credit_limit") not in (None, ""))
    original = linked["credit_limit"]
    linked["credit_limit"] = "1"
    linked["updated_at"] = "2026-12-01T00:00:00+00:00"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    planned.clear()
    changed = _cycle(starter, database_url)
    assert len(planned) == 1 and changed.planned_count == 1
    after = {r["id"]: r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())}
    assert str(after[linked["id"]]["credit_limit"]) == str(original)
