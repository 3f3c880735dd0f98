"""concord.hub.engine.steps, called directly (no Prefect): the stepwise cycle the flows are shells over."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from concord.hub.config import load_project
from concord.hub.engine import RunContext, run_cycle
from concord.hub.engine.steps import CycleRun, reset_cursors
from concord.hub.errors import ConfigError
from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T


def _steps_cycle(ctx: RunContext) -> CycleRun:
    run = CycleRun(ctx, prefect_flow_run_id="00000000-0000-0000-0000-000000000001")
    for rnd in range(3):
        run.summary.rounds = rnd + 1
        created = run.created_in()
        ents = run.entities()
        for e in ents:
            for s in run.sources(e):
                if rnd == 0 or s in created:
                    run.pull(e, s)
        for e in ents:
            run.process(e)
        for e in ents:
            for s in run.targets(e):
                run.push(e, s)
        if rnd and not created:
            break
    return run


def _reference_golden(tmp_path: Path) -> dict[str, int]:
    """What run_cycle makes of a fresh starter project (its own folder and SQLite warehouse)."""
    from tests.conftest import run_cli

    run_cli("init", str(tmp_path / "ref"))
    wh = Warehouse.open(f"sqlite:///{tmp_path / 'ref.db'}")
    ctx = RunContext.create(load_project(tmp_path / "ref" / "concord.yaml"), wh)
    try:
        return run_cycle(ctx).golden_records
    finally:
        ctx.close()
        wh.dispose()


def test_stepwise_cycle_matches_run_cycle_and_a_resync_writes_nothing(starter: Path, database_url: str,
                                                                      tmp_path: Path) -> None:
    expected = _reference_golden(tmp_path)
    project = load_project(starter / "concord.yaml")
    wh = Warehouse.open(database_url)
    ctx = RunContext.create(project, wh)
    try:
        summary = _steps_cycle(ctx).finish()
        assert summary.status == "success", summary.as_dict()
        assert summary.golden_records == expected and expected["account"] > 0   # what run_cycle makes of it
        assert summary.written > 0
        with wh.tx() as conn:
            run = conn.execute(select(T.run).where(T.run.c.id == summary.run_id)).one()
            assert run.status == "success" and run.prefect_flow_run_id.endswith("0001")
            assert conn.execute(select(func.count()).select_from(T.cursor)).scalar() == 4
        assert reset_cursors(ctx, ["account"]) == 2
        with wh.tx() as conn:
            assert conn.execute(select(func.count()).select_from(T.cursor)).scalar() == 2
        again = run_cycle(ctx)
        assert again.status == "success" and again.written == 0
        assert sum(s.records_in for s in again.streams if s.direction == "pull" and s.entity == "account") >= 14
        with pytest.raises(ConfigError, match="unknown entity 'order'.*account, contact"):
            CycleRun(ctx).entities(["order"])
    finally:
        ctx.close()
        wh.dispose()
