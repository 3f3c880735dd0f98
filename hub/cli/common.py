"""Shared CLI plumbing: loading the project, the warehouse, errors without tracebacks, JSON output."""
from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from hub.errors import ConfigError, HubError

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
T = TypeVar("T")

EXIT_CONFIG = 2
MAX_ID = 2**63 - 1      # warehouse ids are 64-bit; a larger one is unknown (and would overflow the driver)

ConfigOpt = typer.Option("concord.yaml", "--config", "-c", envvar="CONCORD_CONFIG", help="Path of concord.yaml.")


def _warehouse_option(value: str | None) -> str | None:
    """Refuse a literal password in ``--warehouse`` / $CONCORD_DATABASE_URL before any command runs
    (``serve`` hands the value to Prefect deployments as written, so a ``${ENV}`` reference stays one)."""
    from hub.config.dburl import check_override

    return guarded(lambda: check_override(value))


WarehouseOpt = typer.Option(None, "--warehouse", envvar="CONCORD_DATABASE_URL", callback=_warehouse_option,
                            help="Warehouse URL (overrides concord.yaml), e.g. postgresql+psycopg://u@host/db; "
                                 "a password only as an ${ENV} reference: 'postgresql+psycopg://u:${PGPASSWORD}@host/db'")
JsonOpt = typer.Option(False, "--json", help="Print a machine-readable JSON summary.")


def setup_logging(verbose: bool = False) -> None:
    from hub.http.redact import install_log_redaction

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    install_log_redaction()


def fail(exc: HubError) -> None:
    """Print an error the way an integrator needs it (file:line, no traceback) and exit."""
    from hub.http.redact import redact

    errors = getattr(exc, "errors", None) or [exc]
    for e in errors:   # redacted: a secret registered this run (e.g. an expanded URL password) is never printed
        err_console.print(f"[bold red]error[/]: {_escape(redact(str(e.message if isinstance(e, HubError) else e)))}")
    raise typer.Exit(EXIT_CONFIG if isinstance(exc, ConfigError) else 2)


def _escape(s: str) -> str:
    return s.replace("[", "\\[")


def guarded(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except HubError as exc:
        fail(exc)
        raise  # unreachable


def load(config: str, warehouse: str | None = None, *, migrate: bool = True) -> tuple[Any, Any]:
    from hub.config import load_project
    from hub.config.dburl import resolve_warehouse_url
    from hub.warehouse import Warehouse

    project = guarded(lambda: load_project(config))
    url = guarded(lambda: resolve_warehouse_url(project.base_dir, project.config.warehouse, warehouse))
    wh = guarded(lambda: Warehouse.open(url, migrate=migrate))
    return project, wh


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def require_open(conn: Any, table: Any, ids: list[int] | None, what: str, *, open_status: str,
                 extra: Any = None) -> None:
    """Every id named must be an open item of ``table``; otherwise one line, exit 2, nothing changed.

    ``open_status`` is the status that a retry/discard acts on; ``extra`` an optional further condition.
    """
    from sqlalchemy import select

    if not ids:
        return
    wanted = sorted(set(ids))
    valid = [i for i in wanted if 0 <= i <= MAX_ID]
    found: set[int] = set()
    c = table.c
    for start in range(0, len(valid), 500):
        stmt = select(c.id).where(c.id.in_(valid[start:start + 500]), c.status == open_status)
        if extra is not None:
            stmt = stmt.where(extra)
        found.update(conn.execute(stmt).scalars())
    missing = [i for i in wanted if i not in found]
    if missing:
        shown = ", ".join(str(i) for i in missing[:10])
        if len(missing) > 10:
            shown += f" and {len(missing) - 10} more"
        err_console.print(f"[bold red]error[/]: no open {what} with id {shown} (unknown, or already retried or "
                          "discarded); nothing changed")
        raise typer.Exit(2)
