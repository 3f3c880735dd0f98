"""Prefect fixtures for the flow tests: one test harness per session, heartbeats off, a temp PREFECT_HOME.

Only tests that ask for ``prefect_harness`` pay for it (~9 s once); the prefect.yaml checks do not.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="concord-prefect-home-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "60")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[str]:
    """A Prefect server for the session; yields its API URL."""
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield str(PREFECT_API_URL.value())


def sandbox_project(folder: Path, names: list[str], *, size: int = 12, seed: int = 7,
                    warehouse: str = "sqlite:///concord.db", faults: Any = None) -> tuple[Path, list[Any]]:
    """Start the named sandboxes from one world and write a demo-style concord.yaml for them."""
    from concord.hub import registry
    from concord.hub.demo.project import build_config, copy_mappings, export_env, profile_for, write_config
    from concord.hub.sandbox.world import World

    world = World(seed=seed, size=size)
    systems, mappings, running = {}, {}, []
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        sb = registry.sandbox_starter(n)(world, faults=faults, port=0)
        running.append(sb)
        export_env(sb.env)
        systems[n] = {"connector": n, "config": sb.connector_config}
        mappings[n] = copy_mappings(folder, n, profile_for(n).entities)
    return write_config(folder, build_config(systems, mappings, warehouse=warehouse, base=folder)), running
