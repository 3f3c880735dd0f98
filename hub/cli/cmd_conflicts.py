"""concord conflicts list|resolve, and concord replay."""
from __future__ import annotations

import datetime as dt
import json

import typer

from concord.hub.cli.common import (
    ConfigOpt,
    JsonOpt,
    WarehouseOpt,
    console,
    err_console,
    load,
    print_json,
    require_open,
    setup_logging,
    show,
    table,
)

conflicts_app = typer.Typer(help="Fields changed on two systems since they last agreed.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(conflicts_app, name="conflicts")

    @app.command()
    def replay(system: str = typer.Option(..., "--system", help="The system to re-push to."),
               since: str = typer.Option(..., "--since", help="ISO date or datetime (UTC), e.g. 2026-11-01"),
               entity: list[str] = typer.Option(None, "--entity", "-e"), config: str = ConfigOpt,
               warehouse: str = WarehouseOpt, json_out: bool = JsonOpt) -> None:
        """Re-push the golden state of a time window to one system (e.g. after a fix on its side)."""
        from concord.hub.engine import RunContext
        from concord.hub.engine.replay import replay as do_replay

        setup_logging()
        try:
            start = dt.datetime.fromisoformat(since)
        except ValueError:
            err_console.print(f"[red]error[/]: --since {since!r} is not an ISO date or datetime")
            raise typer.Exit(2) from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.timezone.utc)
        project, wh = load(config, warehouse)
        if system not in project.config.systems:
            err_console.print(f"[red]error[/]: unknown system {system!r}; known: {', '.join(project.config.systems)}")
            raise typer.Exit(2)
        ctx = RunContext.create(project, wh)
        try:
            queued = do_replay(ctx, system, start, entities=entity or None)
        finally:
            ctx.close()
        if json_out:
            print_json({"queued": len(queued), "changes": [c.as_dict() for c in queued]})
        else:
            console.print(f"{len(queued)} change(s) queued for {system}; they are sent by the next `concord sync`")


@conflicts_app.command("list")
def c_list(config: str = ConfigOpt, warehouse: str = WarehouseOpt, json_out: bool = JsonOpt,
           all_: bool = typer.Option(False, "--all", help="Include decided and applied conflicts."),
           limit: int = typer.Option(100)) -> None:
    from concord.hub.warehouse.stores import conflicts as conflict_store

    project, wh = load(config, warehouse)
    q = conflict_store.listing(status=None if all_ else conflict_store.ConflictStatus.OPEN, newest_first=True)
    with wh.tx() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q.limit(limit))]
    if json_out:
        print_json(rows)
        return
    table(f"conflicts ({len(rows)})", ["id", "entity", "golden id", "field", "systems", "base", "left", "right",
                                        "status"],
          [[r["id"], r["entity"], r["golden_id"], r["field"], ",".join(r["systems"] or []), r["base"], r["left"],
            r["right"], r["status"]] for r in rows])


@conflicts_app.command("resolve")
def c_resolve(conflict_id: int = typer.Argument(...),
              take: str = typer.Option(None, "--take", help="left (the golden value) or right (the other side)"),
              value: str = typer.Option(None, "--value", help="Enter a value instead (JSON or text)."),
              config: str = ConfigOpt, warehouse: str = WarehouseOpt) -> None:
    """Decide a held conflict; the next sync writes the decision to every system."""
    from concord.hub.engine.conflicts import resolve
    from concord.hub.engine.context import utcnow
    from concord.hub.warehouse.stores.conflicts import open_among

    if (take is None) == (value is None) or (take is not None and take not in ("left", "right")):
        err_console.print("give exactly one of --take left|right or --value V")
        raise typer.Exit(2)
    parsed = None
    if value is not None:
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
    project, wh = load(config, warehouse)
    try:
        with wh.tx() as conn:
            require_open(lambda wanted: open_among(conn, wanted), [conflict_id], "conflict")
            res = resolve(conn, conflict_id, value=parsed, side=take, by="cli", now=utcnow())
    except ValueError as exc:
        err_console.print(f"[red]error[/]: {exc}")
        raise typer.Exit(2) from None
    console.print(f"conflict {conflict_id} resolved with {show(res['value'])}; the next sync writes it", markup=False)
