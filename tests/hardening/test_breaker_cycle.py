"""A down system in a real sync cycle: one full error, then its other streams fail at once.

Three vendor sandboxes on loopback (Zoho CRM, Salesforce, Oracle Fusion); Zoho is made unreachable
(its sandbox is stopped, so the ports refuse connections) or answers 503 to everything (a plain
``http.server``). The breaker in hub/http opens during Zoho's first stream; its later streams are
not attempted (counted in the call ledger and on the 503 server, never with wall-clock time), and
the other systems sync as usual.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from concord.hub import registry
from concord.hub.config import load_project
from concord.hub.demo.profiles import PROFILES
from concord.hub.demo.project import build_config, copy_mappings, write_config
from concord.hub.engine import RunContext, run_cycle
from concord.hub.http import CallLedger, HttpToolkit, RetryPolicy
from concord.hub.warehouse import Warehouse
from tests.hub.test_http_breaker import Switchable

DOWN, UP = "zoho_crm", ("salesforce", "oracle_fusion")


@pytest.fixture
def sandboxes() -> Iterator[dict[str, Any]]:
    from concord.hub.sandbox.faults import FaultConfig
    from concord.hub.sandbox.world import World

    world = World(seed=7, size=12)
    running: dict[str, Any] = {}
    try:
        for name in (DOWN, *UP):
            running[name] = registry.sandbox_starter(name)(world, faults=FaultConfig(rate=0.0, seed=7), port=0)
        yield running
    finally:
        for sb in running.values():
            sb.stop()


def _project(folder: Path, running: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
             override: dict[str, Any] | None = None) -> Any:
    systems, mappings = {}, {}
    for name, sb in running.items():
        mappings[name] = copy_mappings(folder, name, PROFILES[name].entities)
        systems[name] = {"connector": name, "config": {**sb.connector_config, **(override or {}).get(name, {})}}
        for k, v in sb.env.items():
            monkeypatch.setenv(k, v)
    doc = build_config(systems, mappings, base=folder, warehouse=f"sqlite:///{folder / 'concord.db'}")
    return load_project(write_config(folder, doc))


@pytest.mark.parametrize("how", ["refused", "503"])
def test_second_and_later_streams_of_a_down_system_fail_fast(how: str, sandboxes: dict[str, Any], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    server = None
    if how == "refused":
        project = _project(tmp_path, sandboxes, monkeypatch)
        sandboxes[DOWN].stop()
    else:
        server = Switchable()
        project = _project(tmp_path, sandboxes, monkeypatch, {DOWN: {"accounts_url": server.url}})
    wh = Warehouse.open(project.config.warehouse)
    ctx = RunContext.create(project, wh, http=HttpToolkit(CallLedger(), sleep=lambda s: None))
    try:
        summary = run_cycle(ctx)
    finally:
        ctx.close()
        wh.dispose()
        if server:
            server.close()
    down = [s for s in summary.streams if s.system == DOWN]
    assert len(down) >= 2, down
    first, later = down[0], down[1:]
    assert first.status == "failed" and first.api_calls >= RetryPolicy().max_attempts, first
    assert not first.error.startswith("skipped:"), first.error
    for st in later:                       # not attempted: no HTTP call, one short line that says why
        assert st.api_calls == 0, st
        assert st.status == "failed"
        assert st.error.startswith(f"skipped: system {DOWN} is unavailable (circuit open since "), st.error
        assert len(st.error) < 300 and "\n" not in st.error
    assert ctx.ledger.calls(DOWN) == first.api_calls
    if server:
        assert server.requests == first.api_calls
    # the other systems went on
    for name in UP:
        mine = [s for s in summary.streams if s.system == name]
        assert mine and all(s.status in ("success", "partial") for s in mine), mine
        assert any(s.direction == "pull" and s.records_in > 0 for s in mine)
    assert summary.status == "failed"
