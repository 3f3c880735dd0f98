"""concord sync | plan | status."""
from __future__ import annotations

from typing import Any

import typer

from concord.hub.cli.common import (
    ConfigOpt,
    JsonOpt,
    WarehouseOpt,
    console,
    err_console,
    load,
    print_json,
    setup_logging,
    show,
    table,
)


def _render_summary(summary: Any) -> None:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for st in summary.streams:
        d = rows.setdefault((st.system, st.entity), {"calls": 0, "status": []})
        if st.direction == "pull":
            d.update(read=st.records_in, changed=st.records_changed, quarantined=st.quarantined)
        else:
            d.update(written=st.records_out, failed=st.failed, dead=st.dead)
        d["calls"] += st.api_calls
        d["status"].append(f"{st.direction}: {st.status}" + (f" ({st.error})" if st.error else ""))
    cols = ["system", "entity", "read", "changed", "quarantined", "written", "failed", "dead", "api calls", "status"]
    table(f"run {summary.run_id} · {summary.mode} · {summary.status} · {summary.duration_s:.1f}s", cols,
          [[system, entity, *(d.get(k, "-") for k in ("read", "changed", "quarantined", "written", "failed", "dead",
                                                      "calls")), "; ".join(dict.fromkeys(d["status"]))]
           for (system, entity), d in rows.items()],
          right=("read", "changed", "quarantined", "written", "failed", "dead", "api calls"))
    p = summary.process
    golden = ", ".join(f"{k} {v}" for k, v in sorted(summary.golden_records.items())) or "none"
    console.print(f"mapped {p.mapped} · linked {p.linked} · new golden {p.created} · deleted {p.deleted} · "
                  f"quarantined {p.quarantined} · golden records: {golden} · "
                  f"open conflicts {summary.conflicts_open}", markup=False)


def _stream_health(data: dict[str, Any]) -> tuple[str, int, list[str]]:
    """ok / partial / failing from the last run of every stream, open quarantine and dead letters."""
    failing, partial = [], []
    for st in data["streams"]:
        for direction in ("pull", "push"):
            last = st.get(f"last_{direction}")
            if not last:
                continue
            name = f"{direction} {st['system']}.{st['entity']}"
            if last.get("status") == "failed":
                failing.append(f"{name} failed" + (f": {last['error']}" if last.get("error") else ""))
            elif last.get("status") == "partial":
                partial.append(f"{name} partial" + (f": {last['error']}" if last.get("error") else ""))
        if st.get("quarantined"):
            partial.append(f"{st['system']}.{st['entity']}: {st['quarantined']} quarantined")
    dead = (data.get("outbox") or {}).get("dead", 0)
    if dead:
        partial.append(f"{dead} dead letter(s)")
    for w in data.get("waiting") or []:
        if w["kind"] == "blocked":
            partial.append(f"{w['count']} write(s) to {w['system']}.{w['entity']} blocked: {w['reason']}")
    if failing:
        return "failing", 2, failing + partial
    if partial:
        return "partial", 1, partial
    return "ok", 0, []


def _last(d: dict[str, Any] | None) -> str:
    if not d:
        return "-"
    when = d.get("finished_at")
    when = when.strftime("%Y-%m-%d %H:%M:%S") if hasattr(when, "strftime") else show(when)
    n = d.get("in") if d.get("in") is not None else 0
    return f"{d.get('status')} · run {d.get('run_id')} · {n} in / {d.get('out') or 0} out · {when}"


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
            why = "--prefect" if prefect else f"PREFECT_API_URL is set ({os.environ['PREFECT_API_URL']})"
            err_console.print(f"running as a Prefect flow run because {why}; unset it (or use --no-push) to run "
                              "in this process", markup=False, highlight=False)
            summary = _via_prefect(config, warehouse, entity)
        else:
            summary = _run(project, wh, entity, dry_run=False, progress=True, push=not no_push)
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
            console.print(f"{c.system} {c.target_entity} {c.op} {c.target_id or '(new)'} golden={c.golden_id}",
                          markup=False)
            for k, v in sorted(c.canonical.items()):
                before = c.before.get(k)
                console.print(f"    {k}: {show(before)} -> {show(v)}" if before is not None else f"    {k}: {show(v)}",
                              markup=False)
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
        from concord.hub.engine.status import status as read_status

        setup_logging()
        project, wh = load(config, warehouse)
        data = read_status(project, wh)
        health, code, reasons = _stream_health(data)
        if json_out:
            print_json({**data, "health": health, "exit_code": code, "reasons": reasons})
            raise typer.Exit(code)
        table("streams", ["system", "entity", "cursor", "staged", "quarantined", "last pull", "last push"],
              [[st["system"], st["entity"], st["cursor"] or "-", st["staged"], st["quarantined"],
                _last(st.get("last_pull")), _last(st.get("last_push"))] for st in data["streams"]],
              right=("staged", "quarantined"))
        golden = ", ".join(f"{k} {v}" for k, v in sorted(data["golden"].items())) or "none"
        outbox = ", ".join(f"{k} {v}" for k, v in sorted(data["outbox"].items())) or "empty"
        lr = data["last_run"]
        last = "none" if not lr else f"{lr['id']} ({lr['mode']}, {lr['status']}, {_last({'status': None, **lr})[-19:]})"
        console.print(f"golden records: {golden}  ·  outbox: {outbox}  ·  open conflicts: {data['conflicts_open']}  ·  "
                      f"last run: {last}", markup=False)
        for w in data.get("waiting") or []:
            if w["kind"] == "waiting":
                console.print(f"waiting: {w['count']} write(s) to {w['system']}.{w['entity']}: {w['reason']}",
                              markup=False)
        console.print(f"health: {health}" + "".join(f"\n  - {r}" for r in reasons), markup=False)
        raise typer.Exit(code)


def _run(project: Any, wh: Any, entities: list[str] | None, *, dry_run: bool, progress: bool,
         push: bool = True) -> Any:
    from concord.hub.cli.progress import make_progress, warehouse_totals
    from concord.hub.engine import RunContext, run_cycle

    if progress:
        with make_progress(err_console, warehouse_totals(project, wh)) as prog:
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
    from concord.hub.errors import ConfigError
    from concord.hub.registry import load_entry_point

    try:
        flow = load_entry_point("concord.flows", "sync_cycle", "flow")
    except ConfigError as exc:
        err_console.print(f"[red]error[/]: {exc.message}")
        raise typer.Exit(2) from None
    return flow(config=config, warehouse=warehouse, entities=entities or None)
