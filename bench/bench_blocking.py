"""Name blocking functions side by side: `name_edits` (deletion neighbourhood) against `name_split` (windows).

The starter's account rules are run twice, once with each function as the name blocking key (every
other rule and key the same), in ONE run, so the machine's drift over time cancels out of the ratios:

1. Company linkage on bench/bench_matching.py's three systems (ERP, CRM with typos and legal-form
   variants, Chinese CRM), linked pairwise as ``concord match`` does (hub/matching/offline.py):
   keys per record (all, and those of the name function), candidates the fuzzy rule scores per
   record (after the cap of 50 golden records per key), oversized keys, precision / recall / F1 of
   the auto-links against the world's truth.
2. An initial load: ``concord sync`` of the bench_vs CRM drop (bench/bench_vs.py, SQLite), the two
   functions alternating ``--rounds`` times: load seconds (as the sync reports it), ``match_hash``
   rows per golden record, and the load time ratio name_edits / name_split of each round.
3. Incremental matching against N golden accounts (bench_matching's ``run_incremental``: 1,000 new
   companies and 1,000 records of existing ones matched the way the engine does): golden records the
   keys find per record, milliseconds per record.

Run: python -m bench.bench_blocking [--sizes 10000] [--load 20000] [--rounds 2] [--golden 100000] [--no-report]
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench import bench_vs
from bench._child import CACHE
from bench.bench_matching import STARTER, _index, run_incremental, write_exports

FUNCTIONS = ("name_edits", "name_split")
PAIRS = (("erp", "crm"), ("erp", "cn"), ("crm", "cn"))


def account_rules(fn: str) -> list[dict[str, Any]]:
    """The starter's account match rules with ``fn`` as the name blocking function."""
    rules = copy.deepcopy(yaml.safe_load(STARTER.read_text(encoding="utf-8"))["entities"]["account"]["match"])
    for r in rules:
        r["block"] = [("+".join(f"{fn}:{p.split(':', 1)[1]}" if p.startswith(("name_edits:", "name_split:")) else p
                                for p in spec.split("+"))) for spec in r.get("block", [])]
    return rules


# ---- 1. linkage -------------------------------------------------------------------------------------
def linkage(files: dict[str, Path], fn: str) -> dict[str, Any]:
    from concord.hub.config.model import MatchRule
    from concord.hub.matching.offline import _Index, match_files, read_records
    from concord.hub.matching.rules import RuleMatcher

    rules = [MatchRule.model_validate(r) for r in account_rules(fn)]
    name_key = next(f"b:{s}" for r in rules for s in r.block if s.startswith(fn))
    fuzzy = next(r for r in rules if r.type == "fuzzy")
    tp = fp = truth = records = keys = name_keys = scored = oversized = 0
    t0 = time.perf_counter()
    for a, b in PAIRS:
        pairs, _stats = match_files(rules, files[a], files[b])
        for p in pairs:
            if p.decision == "link":
                tp += _index(p.left_id) == _index(p.right_id)
                fp += _index(p.left_id) != _index(p.right_id)
        left, right = list(read_records(files[a])), list(read_records(files[b]))
        truth += len({_index(i) for i, _r in left} & {_index(i) for i, _r in right})
        matcher = RuleMatcher(rules)
        index = _Index(matcher)
        for rid, rec in right:
            ks = index.add(rid, rec)
            records += 1
            keys += len(ks)
            name_keys += sum(k[0] == name_key for k in ks)
        for _lid, rec in left:
            by_key: dict[str, list[Any]] = {}
            for c in index.candidates(matcher.keys(rec)):
                by_key.setdefault(c.rule, []).append(c)
            over: list[str] = []
            scored += len(matcher._blocked(fuzzy, by_key, over))
            oversized += len(over)
    seconds = time.perf_counter() - t0
    lefts = sum(sum(1 for _ in read_records(files[a])) for a, _b in PAIRS)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / truth if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"function": fn, "keys_per_record": round(keys / records, 2), "name_keys_per_record": round(name_keys / records, 2),
            "candidates_per_record": round(scored / lefts, 2), "oversized_per_record": round(oversized / lefts, 4),
            "tp": tp, "fp": fp, "truth": truth, "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(f1, 4), "seconds": round(seconds, 1)}


# ---- 2. initial load ----------------------------------------------------------------------------------
def load(drop: Path, folder: Path, records: int, fn: str, map_workers: str) -> dict[str, Any]:
    """``concord sync --json`` of bench_vs's one-system project with ``fn``: its own load time, and the CPU
    seconds of the process and the workers it waited for (``os.wait4``; steadier than wall time on a
    shared machine)."""
    (folder / "data" / "crm").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(drop, folder / "data" / "crm" / "accounts.jsonl")
    config = bench_vs.make_project(folder, map_workers=int(map_workers) if map_workers.isdigit() else map_workers,
                                   match=account_rules(fn))
    env = {k: v for k, v in os.environ.items() if k not in ("CONCORD_DATABASE_URL", "CONCORD_CONFIG")}
    with open(folder / "out.json", "wb") as fo, open(folder / "err.txt", "wb") as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen([bench_vs.concord_exe(), "sync", "--config", str(config), "--json"], cwd=folder,
                                env=env, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    try:
        summary = json.loads((folder / "out.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return {"function": fn, "error": f"exit {os.waitstatus_to_exitcode(status)}: "
                                         f"{(folder / 'err.txt').read_text(encoding='utf-8')[-300:]}"}
    with sqlite3.connect(folder / "concord.db") as c:
        rows = c.execute("SELECT count(*) FROM match_hash WHERE entity = 'account'").fetchone()[0]
        golden = c.execute("SELECT count(*) FROM golden WHERE entity = 'account'").fetchone()[0]
    return {"function": fn, "load_s": summary.get("duration_s"), "wall_s": round(wall, 2),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "golden": golden,
            "match_hash_per_record": round(rows / golden, 2) if golden else None}


def incremental(n_golden: int, fn: str) -> dict[str, Any]:
    from concord.hub.config.model import MatchRule

    res = run_incremental(n_golden, match=[MatchRule.model_validate(r) for r in account_rules(fn)])
    return {"function": fn, **res}


def render(size: int, link: list[dict[str, Any]], n_load: int, loads: list[list[dict[str, Any]]],
           incr: list[dict[str, Any]] | None = None, map_workers: str = "auto") -> str:
    md = ["### Name blocking: `name_edits` against `name_split`", "",
          "The starter's account rules with each function as the name blocking key, everything else equal, in one "
          "run."]
    if link:
        md += ["", f"Company linkage: bench_matching's ERP, CRM and Chinese CRM accounts of a world of {size:,} "
                   "companies, each pair of systems linked as `concord match` does.", "",
               "| function | keys / record | name keys / record | candidates scored / record | oversized keys / record "
               "| precision | recall | F1 | seconds |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        md += [f"| `{r['function']}` | {r['keys_per_record']} | {r['name_keys_per_record']} | "
               f"{r['candidates_per_record']} | {r['oversized_per_record']} | {r['precision']} | {r['recall']} | "
               f"{r['f1']} | {r['seconds']} |" for r in link]
    if loads:
        md += ["", f"Initial load: `concord sync` of bench_vs's CRM drop of {n_load:,} accounts into SQLite "
                   f"(`map_workers: {map_workers}`), the two functions alternating; *load s* as the sync reports it, "
                   "*CPU s* of the sync process and the workers it waited for.", "",
               "| round | function | load s | CPU s | match_hash rows / record | golden |",
               "|---:|---|---:|---:|---:|---:|"]
        ratios: list[float] = []
        cpu: list[float] = []
        for i, pair in enumerate(loads, start=1):
            for r in pair:
                if "error" in r:
                    md.append(f"| {i} | `{r['function']}` | failed: {r['error'][:80]} | | | |")
                else:
                    md.append(f"| {i} | `{r['function']}` | {r['load_s']:.1f} | {r['cpu_s']:.1f} | "
                              f"{r['match_hash_per_record']} | {r['golden']:,} |")
            if all("error" not in r and r["load_s"] for r in pair):
                ratios.append(pair[0]["load_s"] / pair[1]["load_s"])
                cpu.append(pair[0]["cpu_s"] / pair[1]["cpu_s"])
        if ratios:
            md += ["", "name_edits / name_split per round: load time "
                       f"{', '.join(f'{x:.2f}x' for x in ratios)} (median {statistics.median(ratios):.2f}x); "
                       f"CPU {', '.join(f'{x:.2f}x' for x in cpu)} (median {statistics.median(cpu):.2f}x)."]
    if incr:
        md += ["", f"Incremental matching against {incr[0]['golden']:,} golden accounts (bench_matching's "
                   f"`run_incremental`, {incr[0]['records']:,} records, best of 3):", "",
               "| function | golden records found / record | ms / record | decisions |", "|---|---:|---:|---|"]
        md += [f"| `{r['function']}` | {r['found_per_record']} | {r['ms_per_record']} | "
               f"{', '.join(f'{k} {v}' for k, v in sorted(r['decisions'].items()))} |" for r in incr]
    return "\n".join(md)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000", help="world size for the linkage part (0: skip it)")
    ap.add_argument("--load", type=int, default=20000, help="records of the initial load (0: skip it)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating load rounds")
    ap.add_argument("--map-workers", default="auto", help="the load's map_workers (auto, or a number; 0: one process)")
    ap.add_argument("--golden", type=int, default=0, help="golden accounts for incremental matching (0: skip)")
    ap.add_argument("--no-report", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = ap.parse_args(argv)
    size = int(args.sizes)
    link: list[dict[str, Any]] = []
    loads: list[list[dict[str, Any]]] = []
    incr: list[dict[str, Any]] = []
    work = Path(tempfile.mkdtemp(prefix="concord-bench-blocking-"))
    try:
        if size:
            files = write_exports(work, size)["account"]
            for fn in FUNCTIONS:
                link.append(linkage(files, fn))
                print(link[-1], file=sys.stderr, flush=True)
        if args.load:
            drop = bench_vs.make_drop(work / "drop", args.load, cache=CACHE / "drops")
            for i in range(args.rounds):
                pair = []
                for fn in FUNCTIONS:
                    d = work / f"load-{i}-{fn}"
                    d.mkdir(parents=True)
                    pair.append(load(drop, d, args.load, fn, args.map_workers))
                    print(i + 1, pair[-1], file=sys.stderr, flush=True)
                    shutil.rmtree(d, ignore_errors=True)
                loads.append(pair)
        for fn in FUNCTIONS if args.golden else ():
            incr.append(incremental(args.golden, fn))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    md = render(size, link, args.load, loads, incr, args.map_workers)
    print(md)
    if not args.no_report:
        from bench._report import write_section
        write_section("blocking", md, data={"linkage": link, "load": loads, "incremental": incr})
    return 0


if __name__ == "__main__":
    sys.exit(main())
