"""concord sync | plan | status."""
from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from hub.cli.common import ConfigOpt, JsonOpt, WarehouseOpt, console, err_console, load, print_json, setup_logging


def _render_summary(summary: Any) -> None:
    t = Table(title=f"run {summary.run_id} · {summary.mode} · {summary.status} · {summary.duration_s:.1f}s")
    for col in ("system", "entity", "read", "changed", "quarantined", "written", "failed", "dead", "api calls", "status"):
        t.add_column(col, justify="right" if col not in ("system", "entity", "status") else "left")
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for s in summary.streams:
        d = rows.setdefault((s.system, s.entity), {"calls": 0, "status": []})
        if s.direction == "pull":
            d.update(read=s.records_in, changed=s.records_changed, quarantined=s.quarantined)
        else:
            d.update(written=s.records_out, failed=s.failed, dead=s.dead)
        d["calls"] += s.api_calls
        d["status"].append(f"{s.direction}:{s.status}" + (f" ({s.error})" if s.error else ""))
    for (system, entity), d in rows.items():
        t.add_row(system, entity, *(str(d.get(k, "")) for k in ("read", "changed", "quarantined", "written", "failed",
                                                                   "dead", "calls")), ", ".join(d["status"]))
    console.print(t)
    p = summary.process
    console.print(f"mapped {p.mapped} · linked {p.linked} · new golden {p.created} · deleted {p.deleted} · "
                  f"quarantined {p.quarantined} · golden records {summary.golden_records} · "
                  f"open conflicts {summary.conflicts_open}")


def register(app: typer.Typer) -> None:
    @app.command()
    def sync(config: str = ConfigOpt, warehouse: str = WarehouseOpt, json_out: bool = JsonOpt,
             entity: list[str] = typer.Option(None, "--entity", "-e", help="Only these canonical entities."),
             prefect: bool = typer.Option(False, "--prefect", help="Run as a Prefect flow run (also when PREFECT_API_URL is set)."),
             no_push: bool = typer.Option(False, "--no-push", help="Load, match and plan, but write nothing back "
                                          "(an initial load to inspect; the changes wait in the outbox)."),
             verbose: bool = typer.Option(False, "--verbose", "-v")) -> None:
        """Run one sync cycle: pull, map, match, survive, plan, push."""
        import os

        setup_logging(verbose)
        project, wh = load(config, warehouse)
        if (prefect or os.environ.get("PREFECT_API_URL")) and not no_push:
            summary = _via_prefect(config, warehouse, entity)
        else:
            summary = _run(project, wh, entity, dry_run=False, progress=not json_out, push=not no_push)
        if json_out:
            print_json(summary.as_dict())
        else:
            _render_summary(summary)
        raise typer.Exit(summary.exit_code)

    @app.command()
    def plan(config: str = ConfigOpt, warehouse: str = WarehouseOpt, json_out: bool = JsonOpt,
             entity: list[str] = typer.Option(None, "--entity", "-e"),
             verbose: bool = typer.Option(False, "--verbose", "-v")) -> None:
        """Show exactly what the next sync would write, per system and field. Writes nothing."""
        setup_logging(verbose)
        project, wh = load(config, warehouse)
        summary = _run(project, wh, entity, dry_run=True, progress=False)
        if json_out:
            print_json(summary.as_dict())
            raise typer.Exit(summary.exit_code)
        if not summary.planned:
            console.print("nothing to write: every system agrees with the golden records")
        for c in summary.planned:
            console.print(f"[bold]{c.system}[/] {c.target_entity} {c.op} "
                          f"{c.target_id or '(new)'} golden={c.golden_id}")
            for k, v in sorted(c.canonical.items()):
                before = c.before.get(k)
                console.print(f"    {k}: {before!r} -> {v!r}" if before is not None else f"    {k}: {v!r}")
        by: dict[str, int] = {}
        for c in summary.planned:
            by[c.system] = by.get(c.system, 0) + 1
        console.print(f"{len(summary.planned)} change(s): " + ", ".join(f"{s} {n}" for s, n in sorted(by.items())))
        for system, per in sorted(summary.cost.items()):
            for ent, d in sorted(per.items()):
                console.print(f"  {system}.{ent}: {d['changes']} change(s) in {d['calls']} write call(s) "
                              f"(batches of up to {d['max_batch']})")
        if summary.conflicts_raised:
            console.print(f"conflicts this cycle would raise: {summary.conflicts_raised} "
                          f"(open after it: {summary.conflicts_open})")
        raise typer.Exit(summary.exit_code)

    @app.command()
    def status(config: str = ConfigOpt, warehouse: str = WarehouseOpt, json_out: bool = JsonOpt) -> None:
        """Per stream: last run, cursor, records; queues: quarantine, outbox, dead letters, conflicts."""
        from hub.engine.status import status as read_status

        setup_logging()
        project, wh = load(config, warehouse)
        data = read_status(project, wh)
        if json_out:
            print_json(data)
            return
        t = Table(title="streams")
        for col in ("system", "entity", "cursor", "staged", "quarantined", "last pull", "last push"):
            t.add_column(col)
        for s in data["streams"]:
            t.add_row(s["system"], s["entity"], str(s["cursor"] or "-"), str(s["staged"]), str(s["quarantined"]),
                      str(s.get("last_pull") or "-"), str(s.get("last_push") or "-"))
        console.print(t)
        console.print(f"golden records: {data['golden']}  ·  outbox: {data['outbox']}  ·  open conflicts: "
                      f"{data['conflicts_open']}  ·  last run: {data['last_run']}")


def _run(project: Any, wh: Any, entities: list[str] | None, *, dry_run: bool, progress: bool,
         push: bool = True) -> Any:
    from hub.cli.progress import RichProgress
    from hub.engine import RunContext, run_cycle

    if progress:
        with RichProgress(err_console) as prog:
            ctx = RunContext.create(project, wh, progress=prog)
            try:
                return run_cycle(ctx, dry_run=dry_run, entities=entities or None, push=push)
            finally:
                ctx.close()
    ctx = RunContext.create(project, wh)
    try:
        return run_cycle(ctx, dry_run=dry_run, entities=entities or None, push=push)
    finally:
        ctx.close()


def _via_prefect(config: str, warehouse: str | None, entities: list[str] | None) -> Any:
    """Run the cycle as a Prefect flow run. Flows are found by entry point (hub never imports flows)."""
    from hub.errors import ConfigError
    from hub.registry import load_entry_point

    try:
        flow = load_entry_point("concord.flows", "sync_cycle", "flow")
    except ConfigError as exc:
        err_console.print(f"[red]error[/]: {exc.message}")
        raise typer.Exit(2) from None
    return flow(config=config, warehouse=warehouse, entities=entities or None)
