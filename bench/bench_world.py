"""The seeded world: generate a million companies (and their projection as a files drop) in flat memory.

    python -m bench.bench_world --size 1000000
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import tracemalloc

from bench._report import peak_rss_mb, write_section
from concord.connectors.files.sandbox import write_drops
from concord.hub.sandbox.world import World


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--drops", type=int, default=200_000, help="companies written as ERP/CRM drops")
    args = ap.parse_args()
    w = World(seed=1, size=args.size)
    tracemalloc.start()
    t0 = time.perf_counter()
    n = sum(1 for _ in w.companies())
    gen = time.perf_counter() - t0
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    folder = tempfile.mkdtemp(prefix="concord-world-")
    t1 = time.perf_counter()
    counts = write_drops(World(seed=1, size=args.drops), folder)
    drops = time.perf_counter() - t1
    shutil.rmtree(folder, ignore_errors=True)
    md = ["### World generator", "",
          "| step | objects | seconds | objects/s | peak traced memory |", "|---|---:|---:|---:|---:|",
          f"| iterate companies | {n:,} | {gen:.1f} | {n / gen:,.0f} | {peak / 1e6:.2f} MB |",
          f"| write ERP + CRM drops (noise, CSV + JSONL) | {sum(counts.values()):,} rows from {args.drops:,} companies "
          f"| {drops:.1f} | {sum(counts.values()) / drops:,.0f} | - |", "",
          f"Peak RSS of the process: {peak_rss_mb():.0f} MB: a million-company world never sits in memory; "
          "every object is computed from (seed, kind, index)."]
    print("\n".join(md))
    write_section("world", "\n".join(md), data={"size": n, "seconds": gen, "peak_traced_bytes": peak,
                                                "drops": counts, "drop_seconds": drops})


if __name__ == "__main__":
    main()
