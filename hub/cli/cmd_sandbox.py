"""concord sandbox up: start vendor sandboxes on loopback for an integrator to play with."""
from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Any

import typer

from hub.cli.common import EXIT_CONFIG, err_console

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
    """Start sandboxes, print one JSON line each (system, base URL, credentials), serve until interrupted.

    A sandbox that cannot start (unknown name, missing or unreadable file, a WSDL or EDMX it cannot
    serve) is one ``error:`` line on stderr and exit code 2; the sandboxes already started are stopped.
    """
    from hub import registry
    from hub.sandbox.faults import FaultConfig
    from hub.sandbox.world import World

    names = systems or registry.available(registry.SANDBOX_GROUP)
    world = World(seed=seed, size=size)
    running = []
    try:
        for i, name in enumerate(names):
            options: dict[str, Any] = {}
            if metadata and name == "sap_odata":
                options["metadata"] = metadata
            if wsdl and name == "soap_erp":
                options["wsdl"] = wsdl
            sb = _start(registry, name, world, FaultConfig(rate=faults, seed=seed),
                        (port + i) if port else 0, options)
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


def _start(registry: Any, name: str, world: Any, faults: Any, port: int, options: dict[str, Any]) -> Any:
    """Start one sandbox; every error an integrator can cause becomes one line and exit code 2."""
    from hub.errors import HubError

    try:
        start = registry.sandbox_starter(name)
    except HubError as exc:                         # unknown name: the message lists the known ones
        _fail(None, exc.message)
    try:
        return start(world, faults=faults, port=port, **options)
    except HubError as exc:
        _fail(name, exc.message)
    except OSError as exc:          # a file given as an option is missing or unreadable, a port is taken
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        _fail(name, f"{where}{exc.strerror or exc}")
    except (SyntaxError, ValueError) as exc:   # XML parse errors (lxml, ElementTree) and bad option values
        _fail(name, f"{type(exc).__name__}: {exc}")


def _fail(name: str | None, message: str) -> None:
    line = " ".join(str(message).split())         # one line, whatever the library put in the message
    prefix = f"sandbox {name}: " if name else ""
    err_console.print("[bold red]error[/]: " + (prefix + line).replace("[", "\\["))
    raise typer.Exit(EXIT_CONFIG)
