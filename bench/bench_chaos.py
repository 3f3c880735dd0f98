"""Chaos: faults at a rate over every sandbox during full and incremental cycles; an independent checker.

    python -m bench.bench_chaos --seeds 3 --rate 0.10 --size 30

Every sandbox of the demo answers a share of requests (``--rate``) with a fault: 429 with
``Retry-After``, 503/500, a connection dropped before the answer, a connection dropped half-way
through the body *after* the request was handled, latency spikes, expired tokens, and per-record
transient rejections inside batch writes (Salesforce ``UNABLE_TO_LOCK_ROW`` in a sObject Collections
answer, Zoho ``RECORD_LOCKED`` in a batch, Fxiaoke "system busy"), which succeed when sent again.

A run: a full cycle (initial load), user edits and new records in the stores, incremental cycles; the
faults stay on throughout, and cycles go on until nothing is left to write (the hub's clock is moved on
between cycles so that retry back-offs come due without waiting; the HTTP layer's back-off sleeps are
skipped). The same world is run once without faults. The checker reads each sandbox's store directly
(never through Concord) and compares every system's final state and the warehouse with the fault-free
run: records per natural key (0 lost, 0 duplicated) and content (converged). It reports the API calls
of both runs.
"""
from __future__ import annotations

from collections import Counter

import argparse
import datetime as dt
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._report import write_section
from bench.bench_crash import World, compare, counts, snapshot, user_round, warehouse_state

FAULTS = ("429", "503", "500", "drop", "drop_mid_body", "latency", "token_expiry", "record_transient")


class Clock:
    """The hub's clock: real time plus an offset the harness moves on (retry back-offs come due)."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc) + self.offset


def set_faults(world: World, rate: float, seed: int) -> None:
    from concord.hub.sandbox.faults import FaultConfig

    for i, (_name, sb) in enumerate(sorted(world.running.items())):
        if sb.app is None:
            continue
        f = sb.app.faults
        f.config = FaultConfig(rate=rate, kinds=FAULTS, seed=seed * 31 + i, latency_s=0.02, retry_after=0.05,
                               record_failure_rate=rate)
        f._rng = random.Random(f.config.seed)
        f.paused = rate == 0


def cycle(world: World, clock: Clock) -> dict[str, Any]:
    from concord.hub.config import load_project
    from concord.hub.engine import RunContext, run_cycle
    from concord.hub.http import HttpToolkit
    from concord.hub.http.ledger import CallLedger
    from concord.hub.warehouse import Warehouse

    project = load_project(world.folder / "concord.yaml")
    wh = Warehouse.open(world.url)
    ctx = RunContext.create(project, wh, http=HttpToolkit(CallLedger(), sleep=lambda _s: None))
    ctx.now = clock
    try:
        s = run_cycle(ctx)
    finally:
        ctx.close()
        wh.dispose()
    return {"status": s.status, "written": s.written, "calls": sum(v.get("calls", 0) for v in s.api_calls.values()),
            "dead": sum(st.dead for st in s.streams), "failed_streams": sum(st.status == "failed" for st in s.streams)}


def run_world(folder: Path, *, seed: int, size: int, rate: float, rounds: int, max_cycles: int = 40) -> dict[str, Any]:
    import os

    world = World(folder, seed=seed, size=size, batch=50)
    os.environ.update(world.demo.env)
    clock = Clock()
    set_faults(world, rate, seed)
    cycles: list[dict[str, Any]] = []
    try:
        cycles.append(cycle(world, clock))                     # full: the initial load
        for rnd in range(1, rounds + 1):
            for sb in world.running.values():                  # users type without faults
                if sb.app is not None:
                    sb.app.faults.paused = True
            user_round(world, random.Random(seed * 1000 + rnd), rnd)
            set_faults_paused(world, rate == 0)
            cycles.append(cycle(world, clock))                 # incremental
        settle = 0
        while settle < max_cycles:
            settle += 1
            clock.offset += dt.timedelta(hours=2)               # every retry back-off is due now
            c = cycle(world, clock)
            cycles.append(c)
            st = warehouse_state(world.url)
            if st["open_writes"] == 0 and c["written"] == 0 and c["failed_streams"] == 0:
                break
        injected: dict[str, int] = {}
        for sb in world.running.values():
            if sb.app is not None:
                for k, v in sb.app.faults.injected.items():
                    injected[k] = injected.get(k, 0) + v
        set_faults_paused(world, True)
        return {"cycles": cycles, "settle_cycles": settle, "snapshot": snapshot(world),
                "warehouse": warehouse_state(world.url), "injected": injected,
                "requests": world.api_requests(), "hub_calls": sum(c["calls"] for c in cycles),
                "initial": world.initial}
    finally:
        world.stop()


def set_faults_paused(world: World, paused: bool) -> None:
    for sb in world.running.values():
        if sb.app is not None:
            sb.app.faults.paused = paused


def check(chaos: dict[str, Any], calm: dict[str, Any]) -> dict[str, Any]:
    """The independent verdict: lost, duplicated and diverged records, per system, against the calm run."""
    diffs = compare(chaos["snapshot"], calm["snapshot"])
    lost = sum(1 for d in diffs if d.endswith("(lost)"))
    dup = sum(1 for d in diffs if d.endswith("(written twice)"))
    diverged = sum(1 for d in diffs if d.endswith("content differs"))
    wa, wb = chaos["warehouse"], calm["warehouse"]
    wdiffs = []
    for k in ("xref", "golden_linked_twice_to_one_system", "open_writes", "quarantined"):
        if wa[k] != wb[k]:
            wdiffs.append(f"warehouse {k}: {wa[k]} vs fault-free {wb[k]}")
    # golden ids (and references, which hold them) follow the order in which systems first showed a
    # record, which faults change: golden records are compared as contents per entity, not by id
    ca = Counter(f"{g.split(':', 1)[0]}:{d}" for g, d in wa["golden"].items())
    cb = Counter(f"{g.split(':', 1)[0]}:{d}" for g, d in wb["golden"].items())
    if len(wa["golden"]) != len(wb["golden"]):
        wdiffs.append(f"warehouse: {len(wa['golden'])} golden records vs fault-free {len(wb['golden'])}")
    gd = sum((ca - cb).values())
    if gd:
        wdiffs.append(f"warehouse: {gd} golden records differ in content")
    dead = wa["outbox"].get("dead", 0)
    if dead:
        wdiffs.append(f"{dead} writes dead-lettered")
    return {"lost": lost, "duplicated": dup, "diverged": diverged, "warehouse": wdiffs, "dead": dead,
            "diffs": diffs + wdiffs, "ok": not diffs and not wdiffs}


def run(seed: int, size: int, rate: float, rounds: int) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="concord-chaos-"))
    try:
        t0 = time.perf_counter()
        chaos = run_world(root / "chaos", seed=seed, size=size, rate=rate, rounds=rounds)
        t1 = time.perf_counter()
        calm = run_world(root / "calm", seed=seed, size=size, rate=0.0, rounds=rounds)
        t2 = time.perf_counter()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    verdict = check(chaos, calm)
    return {"seed": seed, "size": size, "rate": rate, "rounds": rounds, **verdict,
            "records": counts(chaos["snapshot"]), "fault_free_records": counts(calm["snapshot"]),
            "injected": chaos["injected"], "hub_calls": chaos["hub_calls"], "fault_free_hub_calls": calm["hub_calls"],
            "requests": sum(chaos["requests"].values()), "fault_free_requests": sum(calm["requests"].values()),
            "cycles": len(chaos["cycles"]), "fault_free_cycles": len(calm["cycles"]),
            "golden": len(chaos["warehouse"]["golden"]),
            "seconds": round(t1 - t0, 1), "fault_free_seconds": round(t2 - t1, 1)}


def markdown(results: list[dict[str, Any]]) -> str:
    r0 = results[0]
    md = ["### Chaos: faults on every sandbox, full and incremental cycles, an independent checker", "",
          f"World of {r0['size']} companies, the demo's sandboxes ({', '.join(sorted({k.split('.')[0] for k in r0['records']}))}); "
          f"{r0['rate']:.0%} of requests get a fault ({', '.join(FAULTS)}), and {r0['rate']:.0%} of the records "
          f"in a batch write are rejected with the vendor's transient per-record error. A full cycle, "
          f"{r0['rounds']} rounds of user edits with an incremental cycle each, then cycles (faults still on) "
          f"until nothing is left to write. The checker reads every store directly and compares it with the "
          f"same world run without faults.", "",
          "| seed | lost | duplicated | diverged | dead letters | golden | faults injected | cycles (fault-free) | "
          "API calls by the hub (fault-free) | overhead | requests answered (fault-free) |",
          "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        md.append(f"| {r['seed']} | {r['lost']} | {r['duplicated']} | {r['diverged']} | {r['dead']} | {r['golden']} | "
                  f"{sum(r['injected'].values())} | {r['cycles']} ({r['fault_free_cycles']}) | "
                  f"{r['hub_calls']} ({r['fault_free_hub_calls']}) | "
                  f"{r['hub_calls'] / max(1, r['fault_free_hub_calls']):.2f}x | "
                  f"{r['requests']} ({r['fault_free_requests']}) |")
    kinds: dict[str, int] = {}
    for r in results:
        for k, v in r["injected"].items():
            kinds[k] = kinds.get(k, 0) + v
    md += ["", "Faults injected by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + "."]
    bad = [r for r in results if not r["ok"]]
    md += ["", f"{len(results) - len(bad)} of {len(results)} seeds converged with 0 lost and 0 duplicated."]
    for r in bad:
        md.append(f"Seed {r['seed']}: " + "; ".join(r["diffs"][:10]))
    return "\n".join(md)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first", type=int, default=11)
    ap.add_argument("--size", type=int, default=30)
    ap.add_argument("--rate", type=float, default=0.10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    results = [run(s, args.size, args.rate, args.rounds) for s in range(args.first, args.first + args.seeds)]
    md = markdown(results)
    print(md)
    if not args.no_write:
        write_section("chaos", md, command=f"python -m bench.bench_chaos --seeds {args.seeds} --first {args.first} "
                                           f"--size {args.size} --rate {args.rate} --rounds {args.rounds}",
                      data={"results": results})


if __name__ == "__main__":
    main()
