"""concord match | link | unlink | review list|confirm|reject."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from hub.cli.common import (ConfigOpt, JsonOpt, WarehouseOpt, console, err_console, fail, guarded, load,
                            print_json, setup_logging)

STARTER = Path(__file__).resolve().parent.parent / "starter" / "concord.yaml"


def _rules(config: str, entity: str) -> Any:
    from hub.config import load_project
    from hub.errors import ConfigError

    path = config
    if not os.path.exists(path):
        if config != "concord.yaml":
            fail(ConfigError(f"{config}: no such file"))
        err_console.print(f"note: no {config} here; using the default rules of `concord init` ({STARTER.name})")
        path = str(STARTER)
    project = guarded(lambda: load_project(path, check_connectors=False))
    if entity not in project.config.entities:
        fail(ConfigError(
            f"{path}: entity {entity!r} is not configured; configured: {', '.join(project.config.entities)}"))
    rules = project.config.entities[entity].match
    if not rules:
        fail(ConfigError(f"{path}: entity {entity!r} has no match rules"))
    return rules


def _ref(project: Any, entity: str, ref: str) -> tuple[str, str]:
    from hub.errors import ConfigError

    system, sep, sid = ref.partition(":")
    if not sep or system not in project.config.entities[entity].sources:
        known = ", ".join(project.config.entities[entity].sources)
        fail(ConfigError(
            f"{ref!r}: name a record as SYSTEM:SOURCE_ID with SYSTEM among {known}"))
    return system, sid


def register(app: typer.Typer) -> None:
    @app.command()
    def rematch(entity: str = typer.Option(..., "--entity", "-e"), config: str = ConfigOpt,
                warehouse: str = WarehouseOpt, json_out: bool = JsonOpt) -> None:
        """Match every record of an entity again with the current rules (initial loads, before write-back)."""
        from hub.cli.common import guarded, load, print_json
        from hub.engine import RunContext
        from hub.engine.rematch import rematch as do_rematch

        project, wh = load(config, warehouse)
        ctx = RunContext.create(project, wh)
        try:
            stats = guarded(lambda: do_rematch(ctx, entity))
        finally:
            ctx.close()
        out = {"mapped": stats.mapped, "linked": stats.linked, "new_golden": stats.created,
               "quarantined": stats.quarantined}
        if json_out:
            print_json(out)
        else:
            console.print(f"re-matched {entity}: {stats.mapped} records, {stats.linked} linked, "
                          f"{stats.created} golden records")

    @app.command()
    def match(entity: str = typer.Option(..., "--entity", "-e", help="Canonical entity (account, contact, ...)."),
              left: Path = typer.Option(..., "--left", help="CSV or JSONL export: canonical columns plus `id`."),
              right: Path = typer.Option(None, "--right", help="Second file; without it LEFT is deduplicated."),
              out: Path = typer.Option(Path("pairs.csv"), "--out", "-o", help="Where the pairs go (CSV)."),
              config: str = ConfigOpt, json_out: bool = JsonOpt,
              links_only: bool = typer.Option(False, "--links-only", help="Leave review pairs out.")) -> None:
        """Match exported files offline with the configured rules (tune rules before switching them on)."""
        from hub.matching.offline import match_files, write_pairs

        setup_logging()
        rules = _rules(config, entity)
        pairs, stats = guarded(lambda: match_files(rules, left, right))
        if links_only:
            pairs = [p for p in pairs if p.decision == "link"]
        write_pairs(pairs, out)
        summary = {"out": str(out), "pairs": len(pairs), **stats}
        if json_out:
            print_json(summary)
            return
        console.print(f"{stats['left']} left" + (f" · {stats['right']} right" if right else "") +
                      f" · {stats['link']} linked · {stats['review']} to review · {stats['new']} unmatched"
                      f" -> {out} ({len(pairs)} pairs)")

    @app.command()
    def link(record: str = typer.Argument(..., help="SYSTEM:SOURCE_ID of the record to move."),
             target: str = typer.Argument(..., help="Golden id, or SYSTEM:SOURCE_ID of a record in that golden record."),
             entity: str = typer.Option(..., "--entity", "-e"), config: str = ConfigOpt,
             warehouse: str = WarehouseOpt, by: str = typer.Option(os.environ.get("USER", "cli"), "--by"),
             json_out: bool = JsonOpt) -> None:
        """Link a source record into a golden record (overrides the rules; survives re-matching)."""
        _manual(config, warehouse, entity, record, target, by, json_out, linking=True)

    @app.command()
    def unlink(record: str = typer.Argument(..., help="SYSTEM:SOURCE_ID of the record to split out."),
               entity: str = typer.Option(..., "--entity", "-e"), config: str = ConfigOpt,
               warehouse: str = WarehouseOpt, by: str = typer.Option(os.environ.get("USER", "cli"), "--by"),
               json_out: bool = JsonOpt) -> None:
        """Split a source record out of its golden record into a new one (lineage recomputed for both)."""
        _manual(config, warehouse, entity, record, None, by, json_out, linking=False)

    review = typer.Typer(help="The match review queue: pairs between the review and auto-link thresholds.",
                         no_args_is_help=True)
    app.add_typer(review, name="review")

    @review.command("list")
    def review_list(entity: str = typer.Option(None, "--entity", "-e"), limit: int = typer.Option(100, "--limit"),
                    config: str = ConfigOpt, warehouse: str = WarehouseOpt, json_out: bool = JsonOpt) -> None:
        """Pairs waiting for a person, with their scores."""
        from hub.matching.manual import open_reviews

        setup_logging()
        _project, wh = load(config, warehouse)
        with wh.tx() as conn:
            rows = open_reviews(conn, entity=entity, limit=limit)
        if json_out:
            print_json(rows)
            return
        t = Table(title=f"{len(rows)} pair(s) to review")
        for col in ("id", "entity", "record", "candidate golden", "score", "rule", "field scores"):
            t.add_column(col)
        for r in rows:
            ev = r.get("evidence") or {}
            fields = ", ".join(f"{k}={v}" for k, v in (ev.get("fields") or {}).items())
            t.add_row(str(r["id"]), r["entity"], f"{r['system']}:{r['source_id']}", r["golden_id"] or "-",
                      f"{r['score']:.3f}" if r["score"] is not None else "-", r["rule"] or "-", fields)
        console.print(t)

    @review.command("confirm")
    def review_confirm(decision_id: int = typer.Argument(...), config: str = ConfigOpt,
                       warehouse: str = WarehouseOpt, by: str = typer.Option(os.environ.get("USER", "cli"), "--by"),
                       json_out: bool = JsonOpt) -> None:
        """The pair is the same entity: link the record into the candidate golden record."""
        _review(config, warehouse, decision_id, True, by, json_out)

    @review.command("reject")
    def review_reject(decision_id: int = typer.Argument(...), config: str = ConfigOpt,
                      warehouse: str = WarehouseOpt, by: str = typer.Option(os.environ.get("USER", "cli"), "--by"),
                      json_out: bool = JsonOpt) -> None:
        """The pair is not the same entity: keep them apart for good."""
        _review(config, warehouse, decision_id, False, by, json_out)


def _manual(config: str, warehouse: str | None, entity: str, record: str, target: str | None, by: str,
            json_out: bool, *, linking: bool) -> None:
    from sqlalchemy import select

    from hub.engine.context import utcnow
    from hub.errors import ConfigError
    from hub.matching import manual
    from hub.warehouse import tables as T

    setup_logging()
    project, wh = load(config, warehouse)
    if entity not in project.config.entities:
        fail(ConfigError(f"entity {entity!r} is not configured"))
    system, sid = _ref(project, entity, record)
    now = utcnow()

    def run() -> dict[str, Any]:
        with wh.tx() as conn:
            if not linking:
                return manual.unlink(conn, entity=entity, system=system, source_id=sid, now=now, by=by,
                                     project=project)
            gid = target or ""
            tsys, sep, tsid = gid.partition(":")
            if sep and tsys in project.config.entities[entity].sources:
                x = T.xref.c
                row = conn.execute(select(x.golden_id).where(x.entity == entity, x.system == tsys,
                                                             x.source_id == tsid, x.state != "deleted")).first()
                if row is None:
                    raise manual.MatchActionError(f"{entity} record {gid} is not in the warehouse")
                gid = row.golden_id
            return manual.link(conn, entity=entity, system=system, source_id=sid, golden_id=gid, now=now, by=by,
                               project=project)

    result = guarded(run)
    if json_out:
        print_json(result)
    else:
        console.print(f"{result['decision']}: {record} -> golden {result['golden_id']} "
                      f"(was {result['from_golden_id']}); the next sync writes the changes")


def _review(config: str, warehouse: str | None, decision_id: int, confirm: bool, by: str, json_out: bool) -> None:
    from hub.engine.context import utcnow
    from hub.matching.manual import decide_review

    setup_logging()
    project, wh = load(config, warehouse)

    def run() -> dict[str, Any]:
        with wh.tx() as conn:
            return decide_review(conn, decision_id, confirm=confirm, now=utcnow(), by=by, project=project)

    result = guarded(run)
    if json_out:
        print_json(result)
    else:
        console.print(f"review {decision_id}: {result['decision']} (golden {result['golden_id']})")
