"""The flows under Prefect's test harness, against real sandboxes and the real warehouse."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select, update

from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T
from tests.conftest import run_cli
from tests.flows.conftest import sandbox_project

pytestmark = pytest.mark.prefect
SYSTEMS = ["oracle_fusion", "zoho_crm"]


@pytest.fixture
def project(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    cfg, running = sandbox_project(tmp_path / "p", SYSTEMS)
    yield cfg
    for sb in running:
        sb.stop()


async def _flow_run(run_id: str):  # type: ignore[no-untyped-def]
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async with get_client() as client:
        fr = await client.read_flow_run(run_id)
        tasks = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[fr.id])))
        return fr, tasks


def test_sync_flows_write_the_ledger_linked_to_their_flow_runs(prefect_harness: str, project: Path,
                                                               database_url: str) -> None:
    import asyncio

    from concord.flows.sync import full_resync, retry_dead_letters, sync_entity

    first = sync_entity(config=str(project), entity="account", warehouse=database_url)
    assert first.status == "success", first.as_dict()
    counts = first.counts()
    assert counts["oracle_fusion"]["account"]["read"] > 0 and counts["zoho_crm"]["account"]["read"] > 0
    assert counts["zoho_crm"]["account"]["written"] > 0          # ERP customers reached the CRM
    assert first.golden_records["account"] > 0 and first.process.linked > 0

    wh = Warehouse.open(database_url, migrate=False)
    try:
        with wh.tx() as conn:
            run = conn.execute(select(T.run).where(T.run.c.id == first.run_id)).one()
            streams = conn.execute(select(T.run_stream).where(T.run_stream.c.run_id == first.run_id)).all()
        assert run.status == "success" and run.prefect_flow_run_id
        assert {(s.system, s.direction) for s in streams} >= {("oracle_fusion", "pull"), ("zoho_crm", "pull"),
                                                               ("zoho_crm", "push")}
        fr, tasks = asyncio.run(_flow_run(run.prefect_flow_run_id))
        assert fr.name and fr.state.is_completed()
        assert any(t.name.startswith("pull ") for t in tasks), [t.name for t in tasks]
        # a task is a stream or an entity step, never a record
        assert len(tasks) < first.process.mapped

        # a full resync reads every record again and writes nothing: the systems already agree
        again = full_resync(config=str(project), entities=["account"], warehouse=database_url)
        assert again.status == "success" and again.mode == "resync"
        assert sum(s.records_in for s in again.streams if s.direction == "pull") >= \
            sum(s.records_in for s in first.streams if s.direction == "pull" and s.system == "oracle_fusion")
        assert again.written == 0

        # a dead letter is queued again and written
        with wh.tx() as conn:
            o = T.outbox.c
            row = conn.execute(select(o.id).where(o.status == "done", o.system == "zoho_crm").limit(1)).scalar()
            conn.execute(update(T.outbox).where(o.id == row).values(status="dead"))
        retried = retry_dead_letters(config=str(project), warehouse=database_url)
        assert retried.status == "success", retried.as_dict()
        with wh.tx() as conn:
            assert conn.execute(select(T.outbox.c.status).where(T.outbox.c.id == row)).scalar() == "done"
            assert conn.execute(select(T.run.c.prefect_flow_run_id).where(T.run.c.id == retried.run_id)).scalar()
    finally:
        wh.dispose()


def test_concord_sync_prefect_runs_as_a_flow_run(prefect_harness: str, project: Path, database_url: str) -> None:
    env = {"PREFECT_API_URL": prefect_harness, "CONCORD_DATABASE_URL": database_url}
    out = json.loads(run_cli("sync", "-c", str(project), "--json", env=env).stdout)
    assert out["status"] == "success", out
    assert out["golden_records"]["account"] > 0
    wh = Warehouse.open(database_url, migrate=False)
    try:
        with wh.tx() as conn:
            assert conn.execute(select(T.run.c.prefect_flow_run_id).where(T.run.c.id == out["run_id"])).scalar()
    finally:
        wh.dispose()
    assert os.environ.get("PREFECT_API_URL") in (None, prefect_harness)
