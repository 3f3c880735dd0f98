"""prefect.yaml against the flows: every parameter exists in the flow's signature, every cron parses.

`prefect deploy` accepts a misspelled parameter and the run fails only when it starts
(SignatureMismatchError), so this is checked here instead. No Prefect server is needed.
"""
from __future__ import annotations

import inspect
from typing import Any

import pytest
import yaml

from concord.hub.registry import load_entry_point, names
from tests import ROOT


def _deployments() -> list[dict[str, Any]]:
    doc = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    return doc["deployments"]


def _flow(entrypoint: str) -> Any:
    from prefect.flows import Flow
    from prefect.utilities.importtools import import_object

    module, _ = entrypoint.rsplit(":", 1)
    assert module.startswith("concord.") and not module.endswith(".py"), \
        f"{entrypoint}: an installed package has no flows/ folder; name the module (concord.flows.sync:...)"
    obj = import_object(entrypoint)
    assert isinstance(obj, Flow), f"{entrypoint} is not a Prefect flow"
    return obj


@pytest.mark.parametrize("dep", _deployments(), ids=lambda d: d["name"])
def test_deployment_parameters_match_the_flow_signature(dep: dict[str, Any]) -> None:
    fl = _flow(dep["entrypoint"])
    sig = inspect.signature(fl.fn)
    params = dict(dep.get("parameters") or {})
    for sched in dep.get("schedules") or []:
        params.update(sched.get("parameters") or {})
    unknown = set(params) - set(sig.parameters)
    assert not unknown, f"deployment {dep['name']}: {sorted(unknown)} not parameters of {fl.name}{sig}"
    missing = [p.name for p in sig.parameters.values()
               if p.default is inspect.Parameter.empty and p.name not in params]
    assert not missing, f"deployment {dep['name']}: required parameters {missing} have no value"
    sig.bind(**params)  # types aside, the call is well-formed


@pytest.mark.parametrize("dep", _deployments(), ids=lambda d: d["name"])
def test_deployment_schedules_and_limits_are_valid(dep: dict[str, Any]) -> None:
    from cronsim import CronSim, CronSimError
    import datetime as dt
    import zoneinfo

    for sched in dep.get("schedules") or []:
        try:
            CronSim(sched["cron"], dt.datetime(2026, 1, 1))
        except CronSimError as exc:
            pytest.fail(f"deployment {dep['name']}: bad cron {sched['cron']!r}: {exc}")
        zoneinfo.ZoneInfo(sched.get("timezone", "UTC"))
    assert dep["work_pool"]["name"] == "concord-process"
    if dep.get("schedules"):
        limit = dep["concurrency_limit"]
        assert limit["limit"] == 1 and limit["collision_strategy"] == "CANCEL_NEW", dep["name"]


def test_entity_deployments_name_real_entities() -> None:
    from concord import schemas
    for dep in _deployments():
        ent = (dep.get("parameters") or {}).get("entity")
        if ent is not None:
            assert ent in schemas.ENTITIES, f"deployment {dep['name']}: unknown entity {ent!r}"


def test_every_flow_is_registered_and_sync_cycle_keeps_the_cli_contract() -> None:
    assert {"sync_cycle", "sync_entity", "pull_stream", "push_system", "retry_dead_letters",
            "full_resync"} <= set(names("concord.flows"))
    fl = load_entry_point("concord.flows", "sync_cycle", "flow")
    inspect.signature(fl.fn).bind(config="concord.yaml", warehouse=None, entities=None)
    for dep in _deployments():
        assert _flow(dep["entrypoint"]) is not None
