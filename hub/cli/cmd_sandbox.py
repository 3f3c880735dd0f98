"""concord sandbox up: start vendor sandboxes on loopback for an integrator to play with."""
from __future__ import annotations

import json
import signal
import sys
import threading

import typer

from hub.cli.common import err_console

sandbox_app = typer.Typer(help="Vendor sandboxes on loopback (seeded from one world).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("up")
def up(systems: list[str] = typer.Argument(None, help="Connector names; default: every installed sandbox."),
       seed: int = typer.Option(42, "--seed"), size: int = typer.Option(100, "--size", help="Companies in the world."),
       faults: float = typer.Option(0.0, "--faults", help="Fault rate 0..1 (429, 5xx, latency, drops, token expiry)."),
       port: int = typer.Option(0, "--port", help="Port of the first sandbox (0 = free ports)."),
       metadata: str = typer.Option(None, "--metadata", help="sap_odata: serve this EDMX instead."),
       wsdl: str = typer.Option(None, "--wsdl", help="soap_erp: serve this WSDL instead.")) -> None:
    """Start sandboxes, print one JSON line each (system, base URL, credentials), serve until interrupted."""
    from hub import registry
    from hub.errors import ConfigError
    from hub.sandbox.faults import FaultConfig
    from hub.sandbox.world import World

    names = systems or registry.available(registry.SANDBOX_GROUP)
    world = World(seed=seed, size=size)
    running = []
    try:
        for i, name in enumerate(names):
            try:
                start = registry.sandbox_starter(name)
            except ConfigError as exc:
                err_console.print(f"[red]error[/]: {exc.message}")
                raise typer.Exit(2) from None
            options = {}
            if metadata and name == "sap_odata":
                options["metadata"] = metadata
            if wsdl and name == "soap_erp":
                options["wsdl"] = wsdl
            sb = start(world, faults=FaultConfig(rate=faults, seed=seed), port=(port + i) if port else 0, **options)
            running.append(sb)
            sys.stdout.write(json.dumps(sb.describe(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_a: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    finally:
        for sb in running:
            sb.stop()
