"""An incremental cycle after 1% of a large drop changed, against the initial load of that drop.

The project and drop of ``bench_vs`` (the ``files`` connector over a CRM account drop, the starter's
mapping and match rules, nothing to push), per warehouse (SQLite; PostgreSQL too with ``--database``):

1. ``concord sync`` loads the drop (the initial load);
2. every hundredth line of the drop gets a changed name (1% of the records; every other line keeps its
   bytes), and ``concord sync`` runs again: the files connector diffs the drop against the version it
   read, and the engine re-processes only the changed records (lookups, survivorship, key rewrites);
3. ``concord sync`` once more with nothing changed.

Timed: each run's process, wall time and peak RSS (``ru_maxrss``), as ``bench_vs`` times them. The
issue's target: an incremental cycle after 1% changed costs at most 3% of the full cycle.

    python -m bench.bench_incremental --size 1000000
    python -m bench.bench_incremental --size 1000000 --database postgresql+psycopg://postgres@127.0.0.1:5432/test
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench._child import CACHE, BenchError, run_child, tail
from bench.bench_vs import concord_exe, make_drop, pg_schema, run_concord

SHARE = 100          # every SHARE-th line changes: 1%


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    read: int
    changed: int


def change_names(path: Path, every: int = SHARE) -> int:
    """Append " (renamed)" to the name of every ``every``-th record, in place (atomically, line by line: this
    process stays small, and so do the children it forks, whose peak RSS counts what it held at the fork);
    the other lines keep their exact bytes. Returns how many records changed."""
    n = 0
    tmp = path.with_suffix(".tmp")
    with path.open("rb") as src, tmp.open("wb") as dst:
        for i, line in enumerate(src):
            if i % every == 0 and line.strip():
                rec = json.loads(line)
                rec["name"] = f"{rec.get('name') or ''} (renamed)"
                line = (json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8")
                n += 1
            dst.write(line)
    os.replace(tmp, path)
    return n


def sync(folder: Path, warehouse: str | None, timeout: float) -> Run:
    argv = [concord_exe(), "sync", "--config", str(folder / "concord.yaml"), "--json"]
    if warehouse:
        argv += ["--warehouse", warehouse]
    env = {k: v for k, v in os.environ.items() if k not in ("CONCORD_DATABASE_URL", "CONCORD_CONFIG")}
    wall, rss, rc, out, err = run_child(argv, cwd=folder, env=env, timeout=timeout)
    try:
        summary = json.loads(out)
    except json.JSONDecodeError:
        raise BenchError(f"concord sync: exit {rc}: {tail(err or out)}") from None
    if rc != 0 or summary.get("status") != "success":
        raise BenchError(f"concord sync: exit {rc}, status {summary.get('status')}: {summary.get('error') or tail(err)}")
    streams = [d for per in (summary.get("streams") or {}).values() for d in per.values()]
    return Run(wall, rss, sum(d.get("read", 0) for d in streams), sum(d.get("changed", 0) for d in streams))


def measure(drop: Path, folder: Path, size: int, warehouse: str | None, timeout: float) -> dict[str, object]:
    first = run_concord(drop, folder, size, warehouse=warehouse, timeout=timeout)
    if first.error:
        raise BenchError(f"initial load: {first.error}")
    assert first.seconds is not None and first.peak_rss_mb is not None
    changed = change_names(folder / "data" / "crm" / "accounts.jsonl")
    inc = sync(folder, warehouse, timeout)
    idle = sync(folder, warehouse, timeout)
    return {"initial": Run(first.seconds, first.peak_rss_mb, int(first.extra.get("read") or 0), size),
            "changed_rows": changed, "incremental": inc, "idle": idle}


def render(size: int, rows: list[tuple[str, dict[str, object]]]) -> str:
    md = [f"### Incremental cycle after 1% changed, {size:,} records (`files` connector, the bench_vs drop)", "",
          "Each run is `concord sync --json` as its own process: the initial load of the drop, then the same drop "
          "with every hundredth record renamed, then nothing changed. **share** = the run's wall time / the "
          "initial load's. Target: the cycle after 1% changed costs <= 3% of the full one.", "",
          "| warehouse | run | records read | new or changed | seconds | share | peak RSS MB |",
          "|---|---|---:|---:|---:|---:|---:|"]
    for name, r in rows:
        first = r["initial"]
        assert isinstance(first, Run)
        for label, key in (("initial load", "initial"), (f"{r['changed_rows']:,} records changed (1%)", "incremental"),
                           ("nothing changed", "idle")):
            run = r[key]
            assert isinstance(run, Run)
            share = "-" if key == "initial" else f"{run.seconds / first.seconds * 100:.1f}%"
            md.append(f"| {name} | {label} | {run.read:,} | {run.changed:,} | {run.seconds:.1f} | {share} | "
                      f"{run.peak_rss_mb:.0f} |")
    return "\n".join(md)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    ap.add_argument("--database", default=None, help="also into this PostgreSQL database (a fresh schema)")
    ap.add_argument("--no-report", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="concord-bench-inc-"))
    rows: list[tuple[str, dict[str, object]]] = []
    try:
        drop = make_drop(work / "drop", args.size, args.seed, cache=CACHE / "drops")
        rows.append(("SQLite", measure(drop, work / "sqlite", args.size, None, args.timeout)))
        print(f"SQLite: {rows[-1][1]}", file=sys.stderr, flush=True)
        if args.database:
            url, drop_schema = pg_schema(args.database)
            try:
                rows.append(("PostgreSQL", measure(drop, work / "pg", args.size, url, args.timeout)))
            finally:
                drop_schema()
            print(f"PostgreSQL: {rows[-1][1]}", file=sys.stderr, flush=True)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(work, ignore_errors=True)
    md = render(args.size, rows)
    print(md)
    if not args.no_report:
        from bench._report import write_section

        write_section("incremental", md, command=f"python -m bench.bench_incremental --size {args.size}" + (
            " --database postgresql+psycopg://..." if args.database else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
