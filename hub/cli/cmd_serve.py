"""concord serve: run the project's schedules on this machine with Prefect's ``serve`` (no work pool).

Schedules come from concord.yaml (``schedules: [{entity, cron, timezone}]``); without any, each
entity gets a default (accounts and contacts every 5 minutes, orders every 15, the rest hourly),
plus an hourly dead-letter retry and a nightly full resync. Flows are found through the
``concord.flows`` entry points (hub never imports flows). Without PREFECT_API_URL, Prefect starts
its temporary local server for this process, so it also works on the embedded SQLite default.
"""
from __future__ import annotations

import os
from typing import Any

import typer

from concord.hub.cli.common import (
    ConfigOpt,
    JsonOpt,
    WarehouseOpt,
    err_console,
    guarded,
    print_json,
    setup_logging,
    table,
)

DEFAULT_CRON = {"account": "*/5 * * * *", "contact": "1-59/5 * * * *", "sales_order": "*/15 * * * *",
                "invoice": "*/15 * * * *"}
HOURLY = "7 * * * *"
RETRY_CRON = "45 * * * *"
RESYNC_CRON = "30 2 * * *"


def planned_deployments(project: Any, config_path: str, warehouse: str | None) -> list[dict[str, Any]]:
    """What ``serve`` will schedule: name, flow entry point, cron, timezone and parameters."""
    base = {"config": config_path, **({"warehouse": warehouse} if warehouse else {})}
    out = []
    schedules = {s.entity: s for s in project.config.schedules}
    for entity in project.entity_order():
        s = schedules.get(entity)
        out.append({"name": f"sync-{entity}", "flow": "sync_entity", "cron": s.cron if s else DEFAULT_CRON.get(entity, HOURLY),
                    "timezone": s.timezone if s else "UTC", "parameters": {**base, "entity": entity}})
    out.append({"name": "retry-dead-letters", "flow": "retry_dead_letters", "cron": RETRY_CRON, "timezone": "UTC",
                "parameters": dict(base)})
    out.append({"name": "full-resync", "flow": "full_resync", "cron": RESYNC_CRON, "timezone": "UTC",
                "parameters": dict(base)})
    return out


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(config: str = ConfigOpt, warehouse: str = WarehouseOpt, json_out: bool = JsonOpt,
              limit: int = typer.Option(4, "--limit", help="Flow runs at once on this machine."),
              print_only: bool = typer.Option(False, "--print", help="Show the schedules and exit.")) -> None:
        """Run the sync schedules on this machine (Prefect serve; one run per deployment at a time)."""
        from concord.hub.config import load_project
        from concord.hub.errors import ConfigError
        from concord.hub.registry import load_entry_point

        setup_logging()
        project = guarded(lambda: load_project(config))
        config_path = os.path.abspath(config)
        plan = planned_deployments(project, config_path, warehouse)
        if json_out or print_only:
            if json_out:
                print_json(plan)
            else:
                table(f"schedules of {config_path}", ["deployment", "flow", "cron", "timezone"],
                      [[d["name"], d["flow"], d["cron"], d["timezone"]] for d in plan])
            if print_only:
                return
        try:
            flows = {d["flow"]: load_entry_point("concord.flows", d["flow"], "flow") for d in plan}
        except ConfigError as exc:
            err_console.print(f"[red]error[/]: {exc.message}")
            raise typer.Exit(2) from None
        from prefect import serve as prefect_serve
        from prefect.schedules import Cron

        deployments = [flows[d["flow"]].to_deployment(
            name=d["name"], schedules=[Cron(d["cron"], timezone=d["timezone"])], parameters=d["parameters"],
            tags=["concord", d["name"]], concurrency_limit=1) for d in plan]
        err_console.print(f"serving {len(deployments)} schedules (Ctrl-C or SIGTERM stops; schedules pause while "
                          "stopped)", markup=False, highlight=False)
        _serve_until_signal(lambda: prefect_serve(*deployments, limit=limit))


def _serve_until_signal(run: Any, grace: float = 10.0) -> None:
    """Run ``run`` until SIGINT or SIGTERM; stop without a traceback. A second signal, or ``grace`` seconds
    after the first, ends the process at once (Prefect's own shutdown can hang on a busy temporary server)."""
    import signal
    import threading

    stopping = threading.Event()

    def handler(signum: int, _frame: Any) -> None:
        if stopping.is_set():
            _hard_exit(signum)
        stopping.set()
        err_console.print(f"{signal.Signals(signum).name}: stopping (runs in progress are cancelled and "
                          "retried by the next schedule)", markup=False, highlight=False)
        timer = threading.Timer(grace, _hard_exit, args=(signum,))
        timer.daemon = True
        timer.start()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    _quiet_shutdown_logs()
    try:
        run()
    except (KeyboardInterrupt, SystemExit):
        pass
    except BaseException as exc:
        if not stopping.is_set():
            raise
        _ = exc
    err_console.print("stopped", markup=False, highlight=False)
    _kill_children()


def _quiet_shutdown_logs() -> None:
    """Prefect logs its cancellation tracebacks at error level while it stops; an operator needs one line."""
    import logging

    class _NoTraceback(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            if record.exc_info and record.exc_info[0] is not None and issubclass(
                    record.exc_info[0], (KeyboardInterrupt, SystemExit, __import__("asyncio").CancelledError)):
                record.exc_info, record.exc_text = None, None
            return True

    for name in ("", "prefect", "prefect.runner", "prefect.flow_runs.runner", "uvicorn.error"):
        logging.getLogger(name).addFilter(_NoTraceback())


def _kill_children() -> None:
    """The temporary Prefect server is a child process: never leave it running."""
    import subprocess

    try:
        out = subprocess.run(["pgrep", "-P", str(os.getpid())], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return
    import signal

    for pid in (int(p) for p in out.split() if p.strip().isdigit()):
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass


def _hard_exit(signum: int) -> None:
    _kill_children()
    err_console.print("stopped (forced)", markup=False, highlight=False)
    os._exit(128 + signum if signum else 1)
