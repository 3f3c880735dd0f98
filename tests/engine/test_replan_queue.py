"""Golden records are queued for planning (``dirty``) only where something re-plans their entity.

With sync rules (or a derivation, roll-up or KPI reading the entity) processing queues every golden
record it saves; with none, the plan step would only empty the queue again, so nothing is queued.
"""
from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import func, select

from concord.connectors.files.sandbox import write_drops
from concord.hub.config import load_project
from concord.hub.engine import RunContext
from concord.hub.engine.process import process_entity
from concord.hub.engine.cycle import CycleRun
from concord.hub.sandbox.world import World
from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T


def _queued_after_processing(folder: Path, database_url: str) -> tuple[int, int]:
    """(golden accounts, queued accounts) after the account entity's staged records are processed."""
    proj = load_project(folder / "concord.yaml")
    wh = Warehouse.open(database_url)
    ctx = RunContext.create(proj, wh)
    try:
        run = CycleRun(ctx)                     # a run of the ledger, its streams pulled as a cycle pulls them
        for system in proj.system_order("account"):
            assert run.pull("account", system).status == "success"
        process_entity(ctx, "account")          # processing alone: the plan step would empty the queue
        with wh.tx() as c:
            golden, queued = (c.execute(select(func.count()).select_from(t).where(t.c.entity == "account")).scalar()
                              for t in (T.golden, T.dirty))
        return golden, queued
    finally:
        ctx.close()
        wh.dispose()


def test_processing_queues_golden_records_only_where_they_are_re_planned(starter: Path, database_url: str) -> None:
    write_drops(World(seed=3, size=60), str(starter / "data"), erp_share=0.8)
    proj = load_project(starter / "concord.yaml")
    assert proj.queues_replans("account")
    golden, queued = _queued_after_processing(starter, database_url)
    assert golden > 40 and queued == golden


def test_no_sync_rule_nor_derivation_no_queue(starter: Path, database_url: str) -> None:
    write_drops(World(seed=3, size=60), str(starter / "data"), erp_share=0.8)
    cfg_path = starter / "concord.yaml"
    cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
    for name in ("derivations", "rollups", "kpis"):
        cfg.pop(name, None)
    cfg["entities"]["account"].pop("sync", None)
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")
    proj = load_project(cfg_path)
    assert not proj.queues_replans("account")
    golden, queued = _queued_after_processing(starter, database_url)
    assert golden > 40 and queued == 0

    # a roll-up of accounts' children reads the children's queue, not the accounts'
    cfg["rollups"] = [{"name": "contacts", "from": "contact", "to": "account", "via": "account_ref",
                       "fields": {"credit_limit": {"count": True}}}]
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")
    proj = load_project(cfg_path)
    assert not proj.queues_replans("account") and proj.queues_replans("contact")
