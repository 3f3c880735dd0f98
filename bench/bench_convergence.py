"""The convergence test ("Jepsen for sync") over many seeds: random edits, faults, hub crashes.

    python -m bench.bench_convergence --seeds 20

Each seed runs the scenario of tests/engine/test_convergence.py with its own random edits, fault
schedule and crash points; the table counts seeds that converged, edits, conflicts and faults.
"""
from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

from bench._report import write_section


def run_seed(seed: int) -> dict:
    from sqlalchemy import func, select

    from concord.hub.warehouse import Warehouse
    from concord.hub.warehouse import tables as T
    from tests.engine.test_convergence import FIELDS, Harness

    folder = Path(tempfile.mkdtemp(prefix=f"concord-conv-{seed}-"))
    url = f"sqlite:///{folder / 'w.db'}"
    h = Harness(folder / "p", url, seed=seed)
    rng = random.Random(seed)
    points = ["pull.after_page:2", "push.after_call:1", "push.before_call:1", "process.after_batch:1",
              "push.after_commit:1", None, None, None]
    t0 = time.perf_counter()
    ok, why = True, ""
    try:
        h.cycle(crash_at=rng.choice(points))
        h.cycle()
        for rnd in range(1, 11):
            h.user_edits(rnd, n=rng.randrange(3, 10))
            h.faults(rng.choice([0.05, 0.15, 0.3]))
            h.cycle(crash_at=rng.choice(points))
        h.settle(max_cycles=20)
        now = h.current()
        for gid, per in now.items():
            for f in FIELDS:
                if per["erp"].get(f) != per["crm"].get(f):
                    ok, why = False, f"{gid}.{f} differs"
        wh = Warehouse.open(url, migrate=False)
        with wh.tx() as conn:
            conflicts = conn.execute(select(func.count()).select_from(T.conflict)).scalar()
        wh.dispose()
    except AssertionError as exc:
        ok, why, conflicts = False, str(exc)[:200], 0
    finally:
        h.stop()
        shutil.rmtree(folder, ignore_errors=True)
    faults = sum(v for sb in (h.erp, h.crm) for v in sb.app.faults.injected.values())
    return {"seed": seed, "ok": ok, "why": why, "edits": len(h.edits), "conflicts": conflicts, "faults": faults,
            "seconds": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first", type=int, default=1000)
    args = ap.parse_args()
    results = [run_seed(s) for s in range(args.first, args.first + args.seeds)]
    for r in results:
        print(r)
    good = sum(r["ok"] for r in results)
    md = ["### Convergence (\"Jepsen for sync\"): Oracle Fusion ERP ⇄ Zoho CRM sandboxes",
          "", "10 rounds per seed of random user edits on both sides (name, website, e-mail), 5-30% faults "
          "(429, 503, latency, dropped connections, token expiry) during Concord's cycles, and a hub crash at a "
          "random step (pull, process, push before/after the call, after the commit) in most rounds.", "",
          "| seeds | converged | edits | conflicts recorded | faults injected | seconds per seed |",
          "|---:|---:|---:|---:|---:|---:|",
          f"| {len(results)} | {good} | {sum(r['edits'] for r in results)} | {sum(r['conflicts'] for r in results)} | "
          f"{sum(r['faults'] for r in results)} | {sum(r['seconds'] for r in results) / len(results):.1f} |"]
    bad = [r for r in results if not r["ok"]]
    if bad:
        md += ["", "Seeds that did not converge: " + "; ".join(f"{r['seed']}: {r['why']}" for r in bad)]
    write_section("convergence", "\n".join(md), data={"results": results})
    print("\n".join(md))


if __name__ == "__main__":
    main()
