"""Helpers for end-to-end tests of the sync cycle over the starter project (two `files` systems)."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from concord.hub.config import load_project
from concord.hub.engine import RunContext, run_cycle
from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T


def cycle(project_dir: Path, url: str, *, dry_run: bool = False) -> Any:
    project = load_project(project_dir / "concord.yaml")
    wh = Warehouse.open(url)
    ctx = RunContext.create(project, wh)
    try:
        return run_cycle(ctx, dry_run=dry_run)
    finally:
        ctx.close()
        wh.dispose()


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def canonical_by_system(url: str, entity: str) -> dict[str, dict[str, dict[str, Any]]]:
    """golden_id -> system -> that system's current record, mapped to canonical."""
    wh = Warehouse.open(url, migrate=False)
    try:
        with wh.tx() as conn:
            r = T.raw_record.c
            out: dict[str, dict[str, dict[str, Any]]] = {}
            for row in conn.execute(select(r.system, r.golden_id, r.canonical, r.deleted)
                                    .where(r.entity == entity, r.status == "mapped")):
                if row.golden_id and not row.deleted:
                    out.setdefault(row.golden_id, {})[row.system] = row.canonical
            return out
    finally:
        wh.dispose()


def table_counts(url: str) -> dict[str, int]:
    from sqlalchemy import func

    wh = Warehouse.open(url, migrate=False)
    try:
        with wh.tx() as conn:
            return {t.name: conn.execute(select(func.count()).select_from(t)).scalar() for t in T.metadata.sorted_tables}
    finally:
        wh.dispose()
