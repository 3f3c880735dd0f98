"""Latency-bound cycles: the demo's six vendor sandboxes answer every call after ~100 ms, as vendors
across a network do. The same initial cycle runs twice from an empty warehouse, one system at a time
(``CONCORD_MAX_SYSTEMS=1``, the behaviour before) and with the systems side by side plus read-ahead
of pages (the default); the ratio of wall times is the speed-up of waiting on more than one call.

    python -m bench.bench_latency --size 100 --latency 0.1
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._report import peak_rss_mb, write_section


def one_run(folder: Path, *, size: int, seed: int, latency: float, systems_at_once: int) -> dict[str, Any]:
    from concord.hub.config import load_project
    from concord.hub.demo.project import export_env
    from concord.hub.demo.runner import Demo, prepare_folder, start_sandboxes, write_project
    from concord.hub.engine import RunContext, concurrent, run_cycle
    from concord.hub.warehouse import Warehouse

    demo = Demo(folder=folder, size=size, seed=seed)
    prepare_folder(folder)
    start_sandboxes(demo)
    try:
        write_project(demo)
        export_env(demo.env)
        for sb in demo.running.values():
            if getattr(sb, "app", None) is not None:
                sb.app.faults.config.base_latency_s = latency
        concurrent.MAX_SYSTEMS_AT_ONCE = systems_at_once
        project = load_project(folder / "concord.yaml")
        wh = Warehouse.open(f"sqlite:///{folder / 'concord.db'}")
        ctx = RunContext.create(project, wh)
        t0 = time.perf_counter()
        c0 = time.process_time()
        try:
            s = run_cycle(ctx)
        finally:
            ctx.close()
            wh.dispose()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        calls = sum(v.get("calls", 0) for v in s.api_calls.values())
        read = sum(st.records_in for st in s.streams if st.direction == "pull")
        return {"wall": wall, "cpu": cpu, "calls": calls, "status": s.status, "written": s.written,
                "read": read, "systems": sorted(demo.running), "golden": s.golden_records}
    finally:
        demo.stop()
        concurrent.MAX_SYSTEMS_AT_ONCE = 8


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="concord-latency-"))
    try:
        seq = one_run(root / "one-at-a-time", size=args.size, seed=args.seed, latency=args.latency, systems_at_once=1)
        par = one_run(root / "side-by-side", size=args.size, seed=args.seed, latency=args.latency, systems_at_once=8)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    speed = seq["wall"] / par["wall"] if par["wall"] else float("nan")
    md = [f"### Latency-bound cycle: systems side by side ({args.latency * 1000:.0f} ms per call)", "",
          f"The demo world at size {args.size} (seed {args.seed}) on its {len(par['systems'])} vendor sandboxes "
          f"({', '.join(par['systems'])}), every call answered after {args.latency * 1000:.0f} ms; one initial "
          "cycle from an empty warehouse (pull, match, write-back both ways, settle), run twice in one process.", "",
          "| run | wall s | CPU s | API calls | records read | written | status |",
          "|---|---:|---:|---:|---:|---:|---|"]
    for name, r in (("one system at a time (`CONCORD_MAX_SYSTEMS=1`)", seq), ("side by side + read-ahead (default)", par)):
        md.append(f"| {name} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['calls']:,} | {r['read']:,} | {r['written']:,} | "
                  f"{r['status']} |")
    md += ["", f"Speed-up: **{speed:.2f}x** wall time for the same calls and the same result "
               f"(golden records {par['golden']} vs {seq['golden']}). Peak RSS {peak_rss_mb():.0f} MB."]
    text = "\n".join(md)
    print(text)
    if not args.no_write:
        write_section("latency", text, data={"size": args.size, "latency": args.latency, "sequential": seq,
                                             "concurrent": par, "speedup": speed},
                      command=f"python -m bench.bench_latency --size {args.size} --latency {args.latency}")


if __name__ == "__main__":
    main()
