"""The ``concord`` Typer application."""
from __future__ import annotations

import typer

from concord.hub.cli import cmd_conflicts, cmd_deployments, cmd_doctor, cmd_init, cmd_ops, cmd_sandbox, cmd_sync

app = typer.Typer(name="concord", help="Concord: keep an ERP and a CRM in agreement.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=True)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("concord-hub")
    except PackageNotFoundError:
        return "0+unknown"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"concord {version()}")
        raise typer.Exit(0)


@app.callback()
def _global(version_: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                          help="Print the version and exit."),
            log_level: str = typer.Option(None, "--log-level", envvar="CONCORD_LOG_LEVEL", metavar="LEVEL",
                                          help="debug, info, warning (default), error or critical."),
            log_json: bool = typer.Option(None, "--log-json/--no-log-json", envvar="CONCORD_LOG_JSON",
                                          help="Log as JSON lines on stderr.")) -> None:
    """Concord: keep an ERP and a CRM in agreement."""
    from concord.hub.cli.common import LEVELS, LOG_SETTINGS, err_console

    if log_level is not None:
        if log_level.lower() not in LEVELS:
            err_console.print(f"[bold red]error[/]: --log-level {log_level!r}: use one of {', '.join(LEVELS)}")
            raise typer.Exit(2)
        LOG_SETTINGS["level"] = log_level.lower()
    LOG_SETTINGS["json"] = log_json

for _module in (cmd_init, cmd_sync, cmd_ops, cmd_doctor, cmd_conflicts, cmd_sandbox, cmd_deployments):
    _module.register(app)


def _register_optional() -> None:
    """Commands that arrive with later packages of hub (demo, dashboard, match, serve)."""
    import importlib

    for name in ("concord.hub.cli.cmd_demo", "concord.hub.cli.cmd_dashboard", "concord.hub.cli.cmd_match", "concord.hub.cli.cmd_serve"):
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
