"""Shared CLI plumbing: loading the project, the warehouse, errors without tracebacks, JSON output."""
from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Collection
from typing import Any, TypeVar

import typer
from rich.console import Console

from concord.hub.errors import ConfigError, HubError


def _console(stderr: bool) -> Console:
    """A terminal gets rich output at its own width; a pipe or file gets long lines, never wrapped."""
    stream = sys.stderr if stderr else sys.stdout
    tty = stream.isatty()
    return Console(stderr=stderr, highlight=False, soft_wrap=not tty or stderr, width=None if tty else 200)


console = _console(False)
err_console = _console(True)
T = TypeVar("T")

#: the version of every --json document's shape (docs/cli-json.md); bump on an incompatible change
SCHEMA_VERSION = 1

EXIT_CONFIG = 2
MAX_ID = 2**63 - 1      # warehouse ids are 64-bit; a larger one is unknown (and would overflow the driver)

ConfigOpt = typer.Option("concord.yaml", "--config", "-c", envvar="CONCORD_CONFIG", help="Path of concord.yaml.")


def _warehouse_option(value: str | None) -> str | None:
    """Refuse a literal password in ``--warehouse`` / $CONCORD_DATABASE_URL before any command runs
    (``serve`` hands the value to Prefect deployments as written, so a ``${ENV}`` reference stays one)."""
    from concord.hub.config.dburl import check_override

    return guarded(lambda: check_override(value))


WarehouseOpt = typer.Option(None, "--warehouse", envvar="CONCORD_DATABASE_URL", callback=_warehouse_option,
                            help="Warehouse URL (overrides concord.yaml), e.g. postgresql+psycopg://u@host/db; "
                                 "a password only as an ${ENV} reference: 'postgresql+psycopg://u:${PGPASSWORD}@host/db'")
JsonOpt = typer.Option(False, "--json", help="Print a machine-readable JSON summary.")


#: set by the global options --log-level / --log-json (hub.cli.app), else from the environment
LOG_SETTINGS: dict[str, Any] = {"level": None, "json": None}
LEVELS = ("debug", "info", "warning", "error", "critical")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the exception, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        import datetime as dt

        out: dict[str, Any] = {"time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
                               "level": record.levelname.lower(), "logger": record.name,
                               "message": record.getMessage()}
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def log_level(verbose: bool = False) -> int:
    import os

    name = LOG_SETTINGS["level"] or os.environ.get("CONCORD_LOG_LEVEL") or ("info" if verbose else "warning")
    return getattr(logging, str(name).upper(), logging.WARNING)


def log_json() -> bool:
    import os

    if LOG_SETTINGS["json"] is not None:
        return bool(LOG_SETTINGS["json"])
    return os.environ.get("CONCORD_LOG_JSON", "").strip().lower() in ("1", "true", "yes", "on")


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record, as ``logging.lastResort`` does: a
    command run again in the same process (tests, an embedding program) after stderr was replaced and the
    old one closed still logs, instead of failing on a closed file."""

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def setup_logging(verbose: bool = False) -> None:
    """Log to stderr at --log-level / $CONCORD_LOG_LEVEL (default warning, info with -v), as JSON lines with
    --log-json / $CONCORD_LOG_JSON=1; secrets are redacted either way."""
    from concord.hub.http.redact import install_log_redaction

    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_concord", False)), None)
    if handler is None:
        handler = _Stderr()
        handler._concord = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    handler.setFormatter(JsonLogFormatter() if log_json() else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.setLevel(log_level(verbose))
    install_log_redaction()


def fail(exc: HubError) -> None:
    """Print an error the way an integrator needs it (file:line, no traceback) and exit."""
    from rich.text import Text

    from concord.hub.http.redact import redact

    errors = getattr(exc, "errors", None) or [exc]
    for e in errors:   # redacted: a secret registered this run (e.g. an expanded URL password) is never printed
        # the message quotes the user's input: printed as plain text, never parsed as markup (a backslash
        # before "[" would open a tag, and rich's tag pattern takes quadratic time over a long run of
        # backslashes: a broken file of them hung `concord check`)
        message = redact(str(e.message if isinstance(e, HubError) else e))
        err_console.print(Text.assemble(("error", "bold red"), ": ", message), highlight=False)
    raise typer.Exit(EXIT_CONFIG if isinstance(exc, ConfigError) else 2)


def guarded(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except HubError as exc:
        fail(exc)
        raise  # unreachable


def load(config: str, warehouse: str | None = None, *, migrate: bool = True) -> tuple[Any, Any]:
    from concord.hub.config import load_project
    from concord.hub.config.dburl import resolve_warehouse_url
    from concord.hub.warehouse import Warehouse

    project = guarded(lambda: load_project(config))
    url = guarded(lambda: resolve_warehouse_url(project.base_dir, project.config.warehouse, warehouse))
    wh = guarded(lambda: Warehouse.open(url, migrate=migrate))
    if migrate and project.vocabulary.extended:   # the project's own fields: their columns, or a clear refusal
        from concord.hub.warehouse.evolve import evolve_project

        try:
            evolve_project(wh, project.models)
        except HubError as exc:
            wh.dispose()
            fail(exc)
    return project, wh


def versioned(data: Any) -> dict[str, Any]:
    """Every --json document is an object with ``schema_version`` first; a list goes under ``items``."""
    if isinstance(data, dict):
        return {"schema_version": SCHEMA_VERSION, **{k: v for k, v in data.items() if k != "schema_version"}}
    return {"schema_version": SCHEMA_VERSION, "items": data}


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(versioned(data), indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def show(value: Any) -> str:
    """A value for people: text as is, numbers plainly, structures as JSON with real characters (no reprs)."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def table(title: str | None, columns: list[str], rows: list[list[Any]], *, right: tuple[str, ...] = (),
          out: Console | None = None) -> None:
    """A table that never cuts a value to "syst…": on a terminal cells wrap (fold) instead of truncating;
    when stdout is not a terminal, plain aligned columns with whole values (greppable, no box drawing)."""
    from rich.markup import escape
    from rich.table import Table

    out = out or console
    cells = [[show(v) for v in r] for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    if not out.is_terminal:
        lines = []
        if title:
            lines.append(title)
        fmt = lambda vals: "  ".join((v.rjust(w) if columns[i] in right else v.ljust(w))
                                     for i, (v, w) in enumerate(zip(vals, widths))).rstrip()
        lines.append(fmt(columns))
        lines.extend(fmt(r) for r in cells)
        out.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)
        return
    if sum(widths) + 2 * len(widths) > out.width:
        # too wide for this terminal: one block per row (its key columns, then "column value" pairs), wrapped
        # at word boundaries, so nothing is cut and no word is split
        from rich.text import Text

        keys = 2 if len(columns) > 3 else 1
        if title:
            out.print(Text(title, style="italic"))
        for r in cells:
            out.print(Text(" · ".join(r[:keys]), style="bold"))
            out.print(Text("  " + "  ·  ".join(f"{c} {v}" for c, v in zip(columns[keys:], r[keys:]))))
        return
    from rich import box

    t = Table(title=escape(title) if title else None, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
              collapse_padding=True)
    last = len(columns) - 1
    for i, c in enumerate(columns):
        longest_word = max([len(w) for w in c.split()] + [len(r[i]) if i < last else 0 for r in cells])
        t.add_column(c, justify="right" if c in right else "left", overflow="fold",
                     min_width=min(longest_word, 24) if i < last else min(len(c), 12))
    for r in cells:
        t.add_row(*(escape(v) for v in r))
    out.print(t)


def require_open(open_among: Callable[[list[int]], Collection[int]], ids: list[int] | None, what: str) -> None:
    """Every id named must be an open item; otherwise one line, exit 2, nothing changed.

    ``open_among`` is the store's answer to which of the ids are open (e.g. ``stores.quarantine.open_among``
    with the connection bound): the items a retry/discard acts on.
    """
    if not ids:
        return
    wanted = sorted(set(ids))
    found = set(open_among([i for i in wanted if 0 <= i <= MAX_ID]))
    missing = [i for i in wanted if i not in found]
    if missing:
        shown = ", ".join(str(i) for i in missing[:10])
        if len(missing) > 10:
            shown += f" and {len(missing) - 10} more"
        err_console.print(f"[bold red]error[/]: no open {what} with id {shown} (unknown, or already retried or "
                          "discarded); nothing changed")
        raise typer.Exit(2)
