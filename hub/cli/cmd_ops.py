"""concord check | quarantine | deadletter."""
from __future__ import annotations

import typer

from concord.hub.cli.common import (
    ConfigOpt,
    JsonOpt,
    WarehouseOpt,
    console,
    err_console,
    guarded,
    load,
    print_json,
    require_open,
    setup_logging,
    table,
)

quarantine_app = typer.Typer(help="Records that could not be processed: list, retry, discard.", no_args_is_help=True)
deadletter_app = typer.Typer(help="Writes that failed for good: list, retry, discard.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(quarantine_app, name="quarantine")
    app.add_typer(deadletter_app, name="deadletter")

    @app.command()
    def check(config: str = ConfigOpt, offline: bool = typer.Option(False, "--offline",
                                                                     help="Do not contact the systems (no metadata, no auth check)."),
              json_out: bool = JsonOpt) -> None:
        """Validate concord.yaml and every mapping, against each system's own metadata."""
        from concord.hub.cli.checks import extension_problems, external_id_problems, warehouse_changes
        from concord.hub.config import load_project
        from concord.hub.engine.check import check_project
        from concord.hub.engine.context import RunContext
        from concord.hub.http import HttpToolkit

        setup_logging()
        project = guarded(lambda: load_project(config))
        problems: list = extension_problems(project)
        migrations: list[str] = []
        if not offline:
            migrations, unsafe = warehouse_changes(project)      # the project's own fields in the warehouse
            problems += unsafe
            ctx = RunContext(project, None, HttpToolkit())
            problems += check_project(project, ctx)
            try:                     # metadata is cached in ctx: the external-id check costs no further call
                problems.extend(external_id_problems(ctx))
            finally:
                ctx.close()
        if json_out:
            print_json({"ok": not problems, "problems": [p.to_dict() for p in problems],
                        "warehouse_changes": migrations})
        else:
            for p in problems:
                err_console.print(f"[bold red]error[/]: {p.message}")
            for m in migrations:
                console.print(f"warehouse: {m} (applied at the next run)", markup=False)
            if not problems:
                console.print(f"ok: {len(project.config.systems)} systems, {len(project.mappings)} mappings"
                              + (" (offline: metadata not checked)" if offline else ", checked against system metadata"))
        raise typer.Exit(2 if problems else 0)


@quarantine_app.command("list")
def q_list(config: str = ConfigOpt, warehouse: str = WarehouseOpt, json_out: bool = JsonOpt,
           system: str = typer.Option(None), limit: int = typer.Option(50)) -> None:
    from concord.hub.warehouse.stores.quarantine import list_open

    project, wh = load(config, warehouse)
    with wh.tx() as conn:
        rows = list_open(conn, system=system, limit=limit)
    if json_out:
        print_json(rows)
        return
    table(f"quarantine ({len(rows)} open)", ["id", "system", "entity", "source id", "stage", "reason"],
          [[r["id"], r["system"], r["entity"], r["source_id"], r["stage"], " ".join(str(r["reason"]).split())]
           for r in rows])


@quarantine_app.command("retry")
def q_retry(ids: list[int] = typer.Argument(None), all_: bool = typer.Option(False, "--all"),
            system: str = typer.Option(None), config: str = ConfigOpt, warehouse: str = WarehouseOpt) -> None:
    """Send quarantined records through mapping again on the next sync (after fixing the mapping)."""
    from concord.hub.engine.context import utcnow
    from concord.hub.warehouse.stores.quarantine import retry

    from concord.hub.warehouse.stores.quarantine import open_among

    if not ids and not all_:
        err_console.print("name quarantine ids, or --all")
        raise typer.Exit(2)
    project, wh = load(config, warehouse)
    with wh.tx() as conn:
        if not all_:
            require_open(lambda wanted: open_among(conn, wanted, system=system), ids, "quarantine entry")
        n = retry(conn, None if all_ else ids, utcnow(), system=system)
    console.print(f"{n} record(s) will be processed again on the next sync")


@quarantine_app.command("discard")
def q_discard(ids: list[int] = typer.Argument(...), config: str = ConfigOpt, warehouse: str = WarehouseOpt) -> None:
    from concord.hub.engine.context import utcnow
    from concord.hub.warehouse.stores.quarantine import discard, open_among

    project, wh = load(config, warehouse)
    with wh.tx() as conn:
        require_open(lambda wanted: open_among(conn, wanted), ids, "quarantine entry")
        n = discard(conn, ids, utcnow())
    console.print(f"{n} record(s) discarded")


@deadletter_app.command("list")
def d_list(config: str = ConfigOpt, warehouse: str = WarehouseOpt, json_out: bool = JsonOpt,
           system: str = typer.Option(None), limit: int = typer.Option(50)) -> None:
    from concord.hub.warehouse.stores.deadletters import list_dead

    project, wh = load(config, warehouse)
    with wh.tx() as conn:
        rows = list_dead(conn, system=system, limit=limit)
    if json_out:
        print_json(rows)
        return
    table(f"dead letters ({len(rows)})", ["id", "system", "entity", "op", "golden id", "attempts", "error"],
          [[r["id"], r["system"], r["entity"], r["op"], r["golden_id"], r["attempts"],
            " ".join(str((r.get("last_error") or {}).get("message", "")).split())] for r in rows])


@deadletter_app.command("retry")
def d_retry(ids: list[int] = typer.Argument(None), all_: bool = typer.Option(False, "--all"),
            config: str = ConfigOpt, warehouse: str = WarehouseOpt) -> None:
    """Queue dead-lettered writes again (they are sent on the next sync or push)."""
    from concord.hub.engine.context import utcnow
    from concord.hub.warehouse.stores.deadletters import dead_among, retry_dead

    if not ids and not all_:
        err_console.print("name dead-letter ids, or --all")
        raise typer.Exit(2)
    project, wh = load(config, warehouse)
    with wh.tx() as conn:
        if not all_:
            require_open(lambda wanted: dead_among(conn, wanted), ids, "dead letter")
        n = retry_dead(conn, None if all_ else ids, utcnow())
    console.print(f"{n} write(s) queued again")


@deadletter_app.command("discard")
def d_discard(ids: list[int] = typer.Argument(...), config: str = ConfigOpt, warehouse: str = WarehouseOpt) -> None:
    from concord.hub.engine.context import utcnow
    from concord.hub.warehouse.stores.deadletters import dead_among, discard_dead

    project, wh = load(config, warehouse)
    with wh.tx() as conn:
        require_open(lambda wanted: dead_among(conn, wanted), ids, "dead letter")
        n = discard_dead(conn, ids, utcnow())
    console.print(f"{n} write(s) discarded")
