"""The ``concord`` Typer application."""
from __future__ import annotations

import typer

from hub.cli import cmd_conflicts, cmd_init, cmd_ops, cmd_sandbox, cmd_sync

app = typer.Typer(name="concord", help="Concord: keep an ERP and a CRM in agreement.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)

for _module in (cmd_init, cmd_sync, cmd_ops, cmd_conflicts, cmd_sandbox):
    _module.register(app)


def _register_optional() -> None:
    """Commands that arrive with later packages of hub (demo, dashboard, match, serve)."""
    import importlib

    for name in ("hub.cli.cmd_demo", "hub.cli.cmd_dashboard", "hub.cli.cmd_match", "hub.cli.cmd_serve"):
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        mod.register(app)


_register_optional()


def main() -> None:
    app()
