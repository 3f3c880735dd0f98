"""Benchmark of the whole sync cycle over generated world data through the files connector.

A world of N companies is written as an ERP drop (CSV) and a CRM drop (JSON Lines) with noise;
then: the initial cycle (load, match, write-back both ways), an incremental cycle with no
change, and one after 1% of the CRM records changed. Reports records/s and peak memory.

    python -m bench.bench_cycle --size 100000 [--warehouse URL]
"""
from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import yaml

from bench._report import peak_rss_mb, write_section
from concord.connectors.files.sandbox import start
from concord.hub.config import load_project
from concord.hub.engine import RunContext, run_cycle
from concord.hub.sandbox.world import World
from concord.hub.warehouse import Warehouse

STARTER = Path(__file__).resolve().parent.parent / "hub" / "starter"


def make_project(folder: Path, size: int, seed: int, url: str) -> dict[str, int]:
    sb = start(World(seed=seed, size=size), folder=str(folder / "data"))
    (folder / "mappings").mkdir(exist_ok=True)
    for side in ("erp", "crm"):
        (folder / "mappings" / side).mkdir(exist_ok=True)
        (folder / "mappings" / side / "account.yaml").write_text(
            (STARTER / "mappings" / side / "account.yaml").read_text())
    starter = yaml.safe_load((STARTER / "concord.yaml").read_text())
    cfg = {"version": 1, "warehouse": url, "batch_size": 2000,
           "systems": {"erp": {"connector": "files", "role": "erp", "config": {**sb.connector_config["erp"], "page_size": 5000}},
                       "crm": {"connector": "files", "role": "crm", "config": {
                           **sb.connector_config["crm"], "page_size": 5000,
                           "entities": {"accounts": {**sb.connector_config["crm"]["entities"]["accounts"],
                                                     "fields": starter["systems"]["crm"]["config"]["entities"]["accounts"]["fields"]}}}}},
           "entities": {"account": {**starter["entities"]["account"],
                                    "sources": {"erp": {"mapping": "mappings/erp/account.yaml"},
                                                "crm": {"mapping": "mappings/crm/account.yaml"}}}}}
    (folder / "concord.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
    return sb.extra["records"]


def one_cycle(folder: Path, url: str) -> tuple[float, object]:
    project = load_project(folder / "concord.yaml")
    wh = Warehouse.open(url)
    ctx = RunContext.create(project, wh)
    t0 = time.perf_counter()
    try:
        summary = run_cycle(ctx)
    finally:
        ctx.close()
        wh.dispose()
    return time.perf_counter() - t0, summary


def touch_crm(folder: Path, share: float, seed: int) -> int:
    path = folder / "data" / "crm" / "accounts.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = random.Random(seed)
    n = 0
    for r in rows:
        if rng.random() < share:
            r["phone"] = f"+49 30 {rng.randrange(2000000, 9999999)}"
            r["updated_at"] = "2026-12-01T00:00:00"
            n += 1
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--warehouse", default=None)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="concord-bench-cycle-"))
    url = args.warehouse or f"sqlite:///{folder / 'warehouse.db'}"
    counts = make_project(folder, args.size, args.seed, url)
    read_in = counts["erp"] + counts["crm"]
    t_full, s_full = one_cycle(folder, url)
    t_noop, s_noop = one_cycle(folder, url)
    changed = touch_crm(folder, 0.01, args.seed)
    t_inc, s_inc = one_cycle(folder, url)
    rows = [
        ("initial load (match, write-back both ways)", read_in, t_full, s_full),
        ("no change (files re-read, nothing written)", read_in, t_noop, s_noop),
        (f"1% of CRM records changed ({changed})", changed, t_inc, s_inc),
    ]
    md = [f"### Sync cycle, files connector ({args.size:,} companies in the world; ERP drop {counts['erp']:,} rows, "
          f"CRM drop {counts['crm']:,} rows; warehouse {url.split(':')[0]})", "",
          "| cycle | records in | seconds | records/s | written | golden accounts | status |",
          "|---|---:|---:|---:|---:|---:|---|"]
    for name, n, t, s in rows:
        md.append(f"| {name} | {n:,} | {t:.1f} | {n / t:,.0f} | {s.written:,} | "
                  f"{s.golden_records.get('account', 0):,} | {s.status} |")
    md += ["", f"Peak RSS of the process: {peak_rss_mb():.0f} MB. Records in = rows read from both drops "
               "(the initial cycle also reads back what it wrote, in its settle round)."]
    data = {"size": args.size, "counts": counts, "seconds": {"full": t_full, "noop": t_noop, "incremental": t_inc},
            "written": {"full": s_full.written, "noop": s_noop.written, "incremental": s_inc.written},
            "peak_rss_mb": peak_rss_mb()}
    print("\n".join(md))
    write_section("cycle", "\n".join(md), data=data,
                  command=f"python -m bench.bench_cycle --size {args.size}")


if __name__ == "__main__":
    main()
