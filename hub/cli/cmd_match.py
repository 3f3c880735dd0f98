"""concord match | link | unlink | review list|confirm|reject."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from concord.hub.cli.common import (
    ConfigOpt,
    JsonOpt,
    WarehouseOpt,
    console,
    err_console,
    fail,
    guarded,
    load,
    print_json,
    setup_logging,
)

STARTER = Path(__file__).resolve().parent.parent / "starter" / "concord.yaml"


def _rules(config: str, entity: str) -> Any:
    from concord.hub.config import load_project
    from concord.hub.errors import ConfigError

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
    from concord.hub.errors import ConfigError

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
        from concord.hub.cli.common import guarded, load, print_json
        from concord.hub.engine import RunContext
        from concord.hub.engine.rematch import rematch as do_rematch

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

    match_app = typer.Typer(help="Match exported files offline with the configured rules; `train` learns a "
                                 "probabilistic rule's parameters.", invoke_without_command=True)
    app.add_typer(match_app, name="match")

    @match_app.callback()
    def match(ctx: typer.Context,
              entity: str = typer.Option(None, "--entity", "-e", help="Canonical entity (account, contact, ...)."),
              left: Path = typer.Option(None, "--left", help="CSV or JSONL export: canonical columns plus `id`."),
              right: Path = typer.Option(None, "--right", help="Second file; without it LEFT is deduplicated."),
              out: Path = typer.Option(Path("pairs.csv"), "--out", "-o", help="Where the pairs go (CSV)."),
              clusters: Path = typer.Option(None, "--clusters", help="Also write `id,cluster_id` per linked record."),
              config: str = ConfigOpt, json_out: bool = JsonOpt,
              links_only: bool = typer.Option(False, "--links-only", help="Leave review pairs out.")) -> None:
        """Match exported files offline with the configured rules (tune rules before switching them on)."""
        if ctx.invoked_subcommand is not None:
            return
        from concord.hub.errors import ConfigError
        from concord.hub.matching.offline import match_files, write_clusters, write_pairs

        if entity is None or left is None:
            fail(ConfigError("concord match needs --entity and --left (or a subcommand: train)"))
        setup_logging()
        rules = _rules(config, entity)
        pairs, stats = guarded(lambda: match_files(rules, left, right))
        if links_only:
            pairs = [p for p in pairs if p.decision in ("link", "cluster")]
        write_pairs(pairs, out, cluster_ids=right is None)
        summary = {"out": str(out), "pairs": len(pairs), **stats}
        if clusters is not None:
            summary["clusters_out"] = str(clusters)
            summary["clusters"] = write_clusters(pairs, clusters)
        if json_out:
            print_json(summary)
            return
        console.print(f"{stats['left']} left" + (f" · {stats['right']} right" if right else "") +
                      f" · {stats['link']} linked · {stats['review']} to review · {stats['new']} unmatched"
                      + (f" · {stats['clusters']} clusters" if "clusters" in stats else "")
                      + f" -> {out} ({len(pairs)} pairs)")

    @match_app.command("train")
    def train(entity: str = typer.Option(..., "--entity", "-e", help="Canonical entity."),
              rule: str = typer.Option(None, "--rule", help="The probabilistic rule (default: every one)."),
              left: Path = typer.Option(None, "--left", help="Train on this export instead of the warehouse."),
              right: Path = typer.Option(None, "--right", help="Second export (linkage across two files)."),
              out: Path = typer.Option(None, "--out", "-o",
                                       help="Write the learned parameters here instead of into concord.yaml."),
              config: str = ConfigOpt, warehouse: str = WarehouseOpt, json_out: bool = JsonOpt) -> None:
        """Learn a probabilistic rule's m/u parameters by EM from your own data; written into concord.yaml
        (the rule's `model:`) for you to review."""
        from concord.hub.errors import ConfigError
        from concord.hub.matching.train import train_rules, write_models

        setup_logging()
        if not os.path.exists(config):
            fail(ConfigError(f"{config}: no such file (training writes into a project's concord.yaml)"))
        from concord.hub.config import load_project

        project = guarded(lambda: load_project(config, check_connectors=False))
        ecfg = project.config.entities.get(entity)
        if ecfg is None:
            fail(ConfigError(f"{config}: entity {entity!r} is not configured"))
        targets = [r for r in ecfg.match if r.type == "probabilistic" and (rule is None or r.key_name == rule)]
        if not targets:
            fail(ConfigError(f"{config}: entity {entity!r} has no probabilistic rule"
                             + (f" named {rule!r}" if rule else "")))
        if left is not None:
            from concord.hub.matching.offline import read_records

            records_l = guarded(lambda: [r for _id, r in read_records(left)])
            records_r = guarded(lambda: [r for _id, r in read_records(right)]) if right is not None else None
        else:
            from concord.hub.matching.train import warehouse_records

            _project, wh = load(config, warehouse)
            try:
                records_l, records_r = guarded(lambda: warehouse_records(wh, entity)), None
            finally:
                wh.dispose()
        results = guarded(lambda: train_rules(targets, records_l, records_r))
        written = guarded(lambda: write_models(config, entity, results, out))
        summary = {"written": written, "rules": {name: {"pairs": t.pairs, "distinct_vectors": t.patterns,
                                                        "iterations": t.iterations, "converged": t.converged,
                                                        "prior": t.model.prior}
                                                 for name, t in results.items()}}
        if json_out:
            print_json(summary)
            return
        for name, t in results.items():
            console.print(f"{entity}.{name}: {t.pairs} candidate pairs, {t.patterns} distinct comparison vectors, "
                          f"EM {'converged' if t.converged else 'stopped'} after {t.iterations} iterations; "
                          f"prior {t.model.prior:.4g}")
        console.print(f"parameters written to {written}: review them (git diff) before the next sync")

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
        from concord.hub.matching.manual import open_reviews

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
    from concord.hub.engine.context import utcnow
    from concord.hub.errors import ConfigError
    from concord.hub.matching import manual
    from concord.hub.warehouse.stores import xrefs

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
                found = xrefs.golden_of(conn, entity, tsys, tsid)
                if found is None:
                    raise manual.MatchActionError(f"{entity} record {gid} is not in the warehouse")
                gid = found
            return manual.link(conn, entity=entity, system=system, source_id=sid, golden_id=gid, now=now, by=by,
                               project=project)

    result = guarded(run)
    if json_out:
        print_json(result)
    else:
        console.print(f"{result['decision']}: {record} -> golden {result['golden_id']} "
                      f"(was {result['from_golden_id']}); the next sync writes the changes")


def _review(config: str, warehouse: str | None, decision_id: int, confirm: bool, by: str, json_out: bool) -> None:
    from concord.hub.engine.context import utcnow
    from concord.hub.matching.manual import decide_review

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
