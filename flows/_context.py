"""Open the project and warehouse a flow run works on (the same resolution as the ``concord`` CLI)."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from concord.hub.config import load_project
from concord.hub.config.dburl import resolve_warehouse_url
from concord.hub.engine import RunContext
from concord.hub.warehouse import Warehouse


def warehouse_url(project_base: str, configured: str, override: str | None) -> str:
    """The same resolution as the CLI (hub.config.dburl): ${ENV} expanded, literal passwords refused."""
    return resolve_warehouse_url(project_base, configured, override)


@contextlib.contextmanager
def run_context(config: str | None, warehouse: str | None) -> Iterator[RunContext]:
    """``config`` defaults to $CONCORD_CONFIG, then ./concord.yaml (as for the CLI)."""
    project = load_project(config or os.environ.get("CONCORD_CONFIG") or "concord.yaml")
    wh = Warehouse.open(warehouse_url(project.base_dir, project.config.warehouse, warehouse))
    ctx = RunContext.create(project, wh)
    try:
        yield ctx
    finally:
        ctx.close()
        wh.dispose()


def flow_run_id() -> str | None:
    """The id of the Prefect flow run we are in (None outside one)."""
    try:
        from prefect.runtime import flow_run

        rid = flow_run.id
        return str(rid) if rid else None
    except Exception:  # pragma: no cover - outside a run context
        return None
