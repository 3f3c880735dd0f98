"""concord dashboard: serve the sync-status dashboard (FastAPI + uvicorn) on loopback."""
from __future__ import annotations

import ipaddress

import typer

from concord.hub.cli.common import ConfigOpt, WarehouseOpt, console, err_console, guarded, load, setup_logging


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def register(app: typer.Typer) -> None:
    @app.command()
    def dashboard(port: int = typer.Option(8765, "--port", "-p", min=1, max=65535, help="TCP port to listen on."),
                  host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (loopback by default)."),
                  refresh: int = typer.Option(30, "--refresh", min=0, help="Overview auto-refresh in seconds (0: off)."),
                  config: str = ConfigOpt, warehouse: str = WarehouseOpt) -> None:
        """Serve the sync-status dashboard. Needs CONCORD_DASHBOARD_TOKEN and/or CONCORD_DASHBOARD_READ_TOKEN."""
        import uvicorn

        from concord.hub.dashboard import Tokens, create_app

        setup_logging()
        project, wh = load(config, warehouse)
        d = project.config.dashboard
        tokens = guarded(lambda: Tokens.resolve(d.token, d.read_token))
        if not _is_loopback(host):
            err_console.print(f"[yellow]warning[/]: serving on {host}, not loopback; put TLS in front of it "
                              "(session cookies are marked Secure only over https)")
        app_ = create_app(project, wh, tokens=tokens, refresh_seconds=refresh)
        roles = ", ".join(r for r, t in (("operator", tokens.operator), ("read-only", tokens.read)) if t)
        shown = f"[{host}]" if ":" in host else host
        console.print(f"Concord dashboard on http://{shown}:{port}/  (roles: {roles}; sign in with your token)")
        try:
            uvicorn.run(app_, host=host, port=port, log_level="warning", access_log=False, server_header=False)
        finally:
            wh.dispose()
