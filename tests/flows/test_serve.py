"""concord serve: the schedules it would run (from concord.yaml, else defaults) match the flows."""
from __future__ import annotations

import inspect
import json
from pathlib import Path

from concord.hub.registry import load_entry_point
from tests.conftest import run_cli


def test_serve_plans_one_deployment_per_entity_with_valid_parameters(starter: Path) -> None:
    from cronsim import CronSim
    import datetime as dt

    plan = json.loads(run_cli("serve", "--print", "--json", cwd=starter).stdout)["items"]
    names = [d["name"] for d in plan]
    assert names == ["sync-account", "sync-contact", "retry-dead-letters", "full-resync"]
    for d in plan:
        fl = load_entry_point("concord.flows", d["flow"], "flow")
        inspect.signature(fl.fn).bind(**d["parameters"])
        CronSim(d["cron"], dt.datetime(2026, 1, 1))
        assert Path(d["parameters"]["config"]).is_absolute()
    assert plan[0]["cron"] == "*/5 * * * *"
