"""concord sandbox up: start vendor sandboxes on loopback for an integrator to play with."""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import typer

from concord.hub.cli.common import EXIT_CONFIG, err_console

sandbox_app = typer.Typer(help="Vendor sandboxes on loopback (seeded from one world).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("up")
def up(systems: list[str] = typer.Argument(None, help="Connector names; default: every installed sandbox."),
       seed: int = typer.Option(42, "--seed"), size: int = typer.Option(100, "--size", help="Companies in the world."),
       faults: float = typer.Option(0.0, "--faults", help="Fault rate 0..1 (429, 5xx, latency, drops, token expiry)."),
       port: int = typer.Option(0, "--port", help="Port of the first sandbox (0 = free ports)."),
       metadata: str = typer.Option(None, "--metadata", help="sap_odata: serve this EDMX instead."),
       wsdl: str = typer.Option(None, "--wsdl", help="soap_erp: serve this WSDL instead."),
       project: str = typer.Option(None, "--project", help="A project folder written by `concord init --sandbox`: "
                                   "start the sandboxes of its systems and write FOLDER/sandbox.env."),
       env_file: str = typer.Option(None, "--env-file", help="Write the sandboxes' URLs and credentials to this "
                                    "file (`. FILE` exports them); default with --project: FOLDER/sandbox.env.")) -> None:
    """Start sandboxes, print one JSON line each (system, base URL, credentials), serve until interrupted.

    A sandbox that cannot start (unknown name, missing or unreadable file, a WSDL or EDMX it cannot
    serve) is one ``error:`` line on stderr and exit code 2; the sandboxes already started are stopped.
    """
    from concord.hub import registry
    from concord.hub.sandbox.faults import FaultConfig
    from concord.hub.sandbox.world import World

    pairs = _project_systems(project) if project else []   # (system name, connector)
    if project and systems:
        pairs = [p for p in pairs if p[0] in systems or p[1] in systems]
    if project and not pairs:
        _fail(None, f"{project}: no system of concord.yaml has a sandbox")
    names = [c for _n, c in pairs] if project else (systems or registry.available(registry.SANDBOX_GROUP))
    system_names = [n for n, _c in pairs] if project else list(names)
    if project and env_file is None:
        env_file = os.path.join(project, "sandbox.env")
    world = World(seed=seed, size=size)
    running = []
    env: dict[str, str] = {}
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
            if env_file:
                from concord.hub.cli.scaffold import sandbox_env, write_env_file

                env.update(sandbox_env(system_names[i], sb))
                write_env_file(Path(env_file), env, header="# Loopback sandbox URLs and their throwaway "
                               "credentials, written by `concord sandbox up`. Use: . sandbox.env")
            sys.stdout.write(json.dumps(sb.describe(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
        if env_file:
            err_console.print(f"wrote {env_file}: run `. {env_file}` in another shell, then concord check / "
                              "concord sync (Ctrl-C stops the sandboxes)", markup=False, highlight=False)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_a: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    finally:
        for sb in running:
            sb.stop()


def _project_systems(folder: str) -> list[tuple[str, str]]:
    """(system, connector) of a project's concord.yaml whose connector ships a sandbox (read as plain YAML:
    its ${ENV} references are what this command is about to provide)."""
    import yaml

    from concord.hub import registry

    path = Path(folder) / "concord.yaml"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        _fail(None, f"{path}: {exc}")
    have = set(registry.names(registry.SANDBOX_GROUP))
    return [(n, s.get("connector")) for n, s in (doc.get("systems") or {}).items()
            if isinstance(s, dict) and s.get("connector") in have]


def _start(registry: Any, name: str, world: Any, faults: Any, port: int, options: dict[str, Any]) -> Any:
    """Start one sandbox; every error an integrator can cause becomes one line and exit code 2."""
    from concord.hub.errors import HubError

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
