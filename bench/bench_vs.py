"""Concord vs dlt vs the floor: one JSON Lines drop of CRM accounts, loaded three ways into SQLite.

The drop is what the ``files`` connector reads from a CRM export (``crm/accounts.jsonl`` written by
``connectors.files.sandbox.write_drops`` from the seeded world: nested billing address, noise), cut
to exactly N records. Three loaders, each run as its own process, one after the other:

(a) the floor: ``json.loads`` per line and ``sqlite3.executemany`` (``INSERT OR REPLACE``) into a
    table keyed on ``id``, one transaction. Nothing is cheaper and still correct.
(b) dlt, installed into its own virtualenv (default ``~/.cache/concord-bench/dlt-venv``, created with
    ``python -m venv`` + ``pip install "dlt[sqlalchemy]"``, reused when it imports), so Concord's
    environment is never touched: ``write_disposition="merge", primary_key="id"`` into
    ``dlt.destinations.sqlalchemy("sqlite:///...")``.
(c) Concord: ``concord sync`` (the CLI, as a user runs it) of a one-system project: the ``files``
    connector reading the drop, the ``account`` entity with the starter's mapping and match rules,
    no sync rules (nothing to push): stage, map, match, survive, store.

Timed: the wall time of each loader's process (interpreter start and imports included, as a user
waits for it); venv creation and data generation are not. Peak RSS is the child's own ``ru_maxrss``
(``os.wait4``). Each loader also reports the time it spent loading inside its process.

    python -m bench.bench_vs                          # 100,000 records
    python -m bench.bench_vs --sizes 100000,1000000
    python -m bench.bench_vs --skip-dlt --no-report   # no venv, BENCHMARKS.md untouched
    python -m bench.bench_vs --database postgresql+psycopg://postgres@127.0.0.1:5432/test
        # also Concord into PostgreSQL (a fresh schema per run, dropped after): loader "concord-pg"
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench._child import CACHE, BenchError, ensure_venv, last_json, run_child, tail

ROOT = Path(__file__).resolve().parent.parent
STARTER = ROOT / "hub" / "starter"
DLT_SPEC = "dlt[sqlalchemy]"
DLT_PAGE = 5000          # records per page the dlt resource yields (dlt's advice: yield pages, not rows)
CRM_SHARE = 0.7          # write_drops' default share of companies the CRM holds


@dataclass
class Result:
    loader: str
    records: int
    seconds: float | None = None          # wall time of the loader's process
    load_seconds: float | None = None     # time spent loading, measured inside the process
    peak_rss_mb: float | None = None
    stored: int | None = None             # distinct ids in the loader's store afterwards
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        return self.records / self.seconds if self.seconds and self.error is None else None


# ---- the drop -------------------------------------------------------------------------------------
def world_size_for(records: int, seed: int) -> int:
    """The smallest world whose CRM projection holds exactly ``records`` accounts."""
    from concord.hub.sandbox.world import World

    w, n, i = World(seed=seed, size=1), 0, 0
    while n < records:
        n += w.present("crm", "company", i, CRM_SHARE)
        i += 1
    return i


def make_drop(folder: Path, records: int, seed: int = 7, *, cache: Path | None = None) -> Path:
    """Write ``folder/crm/accounts.jsonl`` with exactly ``records`` CRM accounts; returns its path.

    With ``cache``, a drop generated once for (seed, records) is copied from there (generating a
    million-record drop takes minutes; it is not part of any timing)."""
    from concord.connectors.files.sandbox import write_drops
    from concord.hub.sandbox.world import World

    target = folder / "crm" / "accounts.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    cached = cache / f"crm-accounts-seed{seed}-{records}.jsonl" if cache else None
    if cached is not None and cached.exists() and _count_lines(cached) == records:
        shutil.copyfile(cached, target)
        return target
    tmp = Path(tempfile.mkdtemp(prefix="concord-bench-vs-drop-"))
    try:
        counts = write_drops(World(seed=seed, size=world_size_for(records, seed)), str(tmp), erp_share=0.0)
        if counts["crm"] != records:  # pragma: no cover - world_size_for mirrors write_drops
            raise BenchError(f"the world gave {counts['crm']} CRM accounts, {records} wanted")
        src = tmp / "crm" / "accounts.jsonl"
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, cached)
        shutil.move(str(src), target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


# ---- (a) the floor --------------------------------------------------------------------------------
FLOOR_SCRIPT = r"""
import json, sqlite3, sys, time
drop, db = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
con = sqlite3.connect(db)
con.execute("CREATE TABLE IF NOT EXISTS account (id TEXT PRIMARY KEY, payload TEXT NOT NULL)")
with open(drop, encoding="utf-8") as f, con:
    con.executemany("INSERT OR REPLACE INTO account (id, payload) VALUES (?, ?)",
                    ((json.loads(line)["id"], line) for line in f if line.strip()))
t1 = time.perf_counter()
stored = con.execute("SELECT COUNT(*) FROM account").fetchone()[0]
con.close()
print(json.dumps({"load_s": t1 - t0, "stored": stored}))
"""


def run_floor(drop: Path, db: Path, records: int, *, timeout: float = 3600) -> Result:
    wall, rss, rc, out, err = run_child([sys.executable, "-c", FLOOR_SCRIPT, str(drop), str(db)],
                                         cwd=db.parent, timeout=timeout)
    if rc != 0:
        return Result("floor", records, error=f"exit {rc}: {tail(err)}")
    res = last_json(out)
    return Result("floor", records, wall, res["load_s"], rss, res["stored"])


def floor_ids(db: Path) -> set[str]:
    con = sqlite3.connect(db)
    try:
        return {r[0] for r in con.execute("SELECT id FROM account")}
    finally:
        con.close()


# ---- (b) dlt, in its own virtualenv ---------------------------------------------------------------
DLT_SCRIPT = r"""
import json, os, sys, time
drop, db, page = sys.argv[1], sys.argv[2], int(sys.argv[3])
import dlt
import sqlalchemy

def accounts():
    batch = []
    with open(drop, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                batch.append(json.loads(line))
                if len(batch) >= page:
                    yield batch
                    batch = []
    if batch:
        yield batch

t0 = time.perf_counter()
pipeline = dlt.pipeline(pipeline_name="concord_bench_vs", pipelines_dir=os.path.join(os.getcwd(), "pipelines"),
                        destination=dlt.destinations.sqlalchemy(f"sqlite:///{db}"), dataset_name="crm")
info = pipeline.run(dlt.resource(accounts, name="accounts", write_disposition="merge", primary_key="id"))
t1 = time.perf_counter()
with pipeline.sql_client() as c:
    stored = c.execute_sql("SELECT COUNT(DISTINCT id) FROM accounts")[0][0]
    columns = len(c.execute_sql("SELECT * FROM accounts LIMIT 1")[0])
info.raise_on_failed_jobs()
print(json.dumps({"load_s": t1 - t0, "stored": stored, "columns": columns, "dlt": dlt.__version__,
                  "sqlalchemy": sqlalchemy.__version__}))
"""


def dlt_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_dlt_venv(venv: Path, spec: str = DLT_SPEC) -> tuple[str, str]:
    """Create (or reuse) the venv holding dlt; returns (dlt version, sqlalchemy version)."""
    out = ensure_venv(venv, spec, "import dlt, sqlalchemy; print(dlt.__version__, sqlalchemy.__version__)",
                      tool="dlt", skip_hint="run with --skip-dlt to compare Concord with the floor only")
    dlt_v, sa_v = out.split()
    return dlt_v, sa_v


def run_dlt(drop: Path, folder: Path, records: int, venv: Path, *, timeout: float = 3600) -> Result:
    folder.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DLT_", "RUNTIME__", "VIRTUAL_ENV"))}
    env.update(RUNTIME__DLTHUB_TELEMETRY="false", DLT_DATA_DIR=str(folder / "dlt-data"),
               DLT_PROJECT_DIR=str(folder), PYTHONNOUSERSITE="1")
    wall, rss, rc, out, err = run_child(
        [str(dlt_python(venv)), "-c", DLT_SCRIPT, str(drop), str(folder / "dlt.db"), str(DLT_PAGE)],
        cwd=folder, env=env, timeout=timeout)
    if rc != 0:
        return Result("dlt", records, error=f"exit {rc}: {tail(err)}")
    res = last_json(out)
    return Result("dlt", records, wall, res["load_s"], rss, res["stored"],
                  extra={"columns": res["columns"], "dlt": res["dlt"], "sqlalchemy": res["sqlalchemy"]})


# ---- (c) concord sync -----------------------------------------------------------------------------
def make_project(folder: Path, warehouse: str = "sqlite:///concord.db", *, map_workers: str | int = "auto",
                 match: list[Any] | None = None) -> Path:
    """A one-system project over ``folder/data/crm/accounts.jsonl``: the starter's CRM accounts
    entity, mapping and account match rules (or ``match``); survivorship by recency; no sync rules;
    ``map_workers`` as given (``auto``: a mapping worker on a machine with a spare core)."""
    starter = yaml.safe_load((STARTER / "concord.yaml").read_text(encoding="utf-8"))
    crm = starter["systems"]["crm"]
    (folder / "mappings" / "crm").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(STARTER / "mappings" / "crm" / "account.yaml", folder / "mappings" / "crm" / "account.yaml")
    cfg = {"version": 1, "warehouse": warehouse, "map_workers": map_workers,
           "systems": {"crm": {"connector": "files", "role": "crm", "config": {
               "root": "data/crm", "entities": {"accounts": crm["config"]["entities"]["accounts"]}}}},
           "entities": {"account": {"sources": {"crm": {"mapping": "mappings/crm/account.yaml"}},
                                    "match": match if match is not None else starter["entities"]["account"]["match"],
                                    "survivorship": {"strategy": "latest", "priority": ["crm"]}}}}
    path = folder / "concord.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def concord_exe() -> str:
    exe = Path(sys.executable).parent / "concord"
    found = str(exe) if exe.exists() else shutil.which("concord")
    if not found:
        raise BenchError("the `concord` command is not installed next to this Python (pip install -e .)")
    return found


def run_concord(drop: Path, folder: Path, records: int, *, warehouse: str | None = None,
                timeout: float = 3600, map_workers: str | int = "auto", match: list[Any] | None = None) -> Result:
    """``concord sync --json`` of a project made by :func:`make_project` in ``folder`` over a copy of
    the drop (``match``: other account match rules than the starter's); the warehouse is
    ``folder/concord.db`` unless ``warehouse`` names another."""
    (folder / "data" / "crm").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(drop, folder / "data" / "crm" / "accounts.jsonl")
    config = make_project(folder, map_workers=map_workers, match=match)
    env = {k: v for k, v in os.environ.items() if k not in ("CONCORD_DATABASE_URL", "CONCORD_CONFIG")}
    argv = [concord_exe(), "sync", "--config", str(config), "--json"]
    if warehouse:
        argv += ["--warehouse", warehouse]
    wall, rss, rc, out, err = run_child(argv, cwd=folder, env=env, timeout=timeout)
    try:
        summary = json.loads(out)
    except json.JSONDecodeError:
        return Result("concord", records, error=f"exit {rc}: {tail(err or out)}")
    if rc != 0 or summary.get("status") != "success":
        return Result("concord", records, error=f"exit {rc}, status {summary.get('status')}: "
                                                f"{summary.get('error') or tail(err)}")
    url = warehouse or f"sqlite:///{folder / 'concord.db'}"
    process, streams = summary.get("process", {}), summary.get("streams") or {}
    return Result("concord", records, wall, summary.get("duration_s"), rss, len(concord_ids(url)),
                  extra={"golden": summary.get("golden_records", {}).get("account"),
                         "mapped": process.get("mapped"), "linked": process.get("linked"),
                         "quarantined": process.get("quarantined"),
                         "read": sum(d.get("read", 0) for per in streams.values() for d in per.values()),
                         "written": sum(d.get("written", 0) for per in streams.values() for d in per.values())})


def pg_schema(admin_url: str) -> tuple[str, Any]:
    """A fresh schema in the PostgreSQL database ``admin_url``; returns (warehouse URL, drop function)."""
    import uuid

    from sqlalchemy import create_engine, text

    schema = "bench_vs_" + uuid.uuid4().hex[:10]
    eng = create_engine(admin_url)
    with eng.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in admin_url else "?"

    def drop() -> None:
        with eng.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        eng.dispose()
    return f"{admin_url}{sep}options=-csearch_path%3D{schema}", drop


def concord_ids(url: str) -> set[str]:
    """Source ids of the CRM accounts that the warehouse holds as cross-references to golden records."""
    from sqlalchemy import create_engine, select

    from concord.hub.warehouse import tables as T

    eng = create_engine(url)
    try:
        with eng.connect() as c:
            return {r[0] for r in c.execute(select(T.xref.c.source_id).where(
                T.xref.c.entity == "account", T.xref.c.system == "crm"))}
    finally:
        eng.dispose()


# ---- the report -----------------------------------------------------------------------------------
def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def _ratio(a: float | None, b: float | None) -> str:
    """a/b, and for a ratio under 1 also its inverse (0.05x reads better as 1/20)."""
    if not a or not b:
        return "-"
    r = a / b
    return f"{r:.3g}x" if r >= 1 else f"{r:.3g}x (1/{b / a:.3g})"


def _rate(r: Result | None) -> float | None:
    return r.rate if r else None


def _rss(r: Result | None) -> float | None:
    return r.peak_rss_mb if r and not r.error else None


def render(results: list[Result], *, seed: int, dlt_version: str | None, sa_version: str | None,
           bytes_per_record: float, skipped_dlt: bool, sizes: list[int]) -> str:
    md = ["### Concord vs dlt vs the floor: one JSON Lines drop of CRM accounts into SQLite", "",
          (f"The drop: CRM accounts from the world generator (seed {seed}) as the `files` connector reads them "
          f"(`crm/accounts.jsonl`, a nested billing address, about {bytes_per_record:.0f} bytes a record). Each "
          "loader runs as its own process, one after the other, into a fresh SQLite file. **seconds** is the "
          "process's wall time (interpreter start and imports included, as a user waits for it); *load s* is "
          "the time the loader measured inside its process; records/s = records / seconds; peak RSS is the "
          "child's own `ru_maxrss`; *stored* = distinct ids in the loader's store afterwards."), "",
          "| records | loader | seconds | load s | records/s | peak RSS MB | stored |",
          "|---:|---|---:|---:|---:|---:|---:|"]
    by = {(r.records, r.loader): r for r in results}
    for r in results:
        if r.error:
            md.append(f"| {r.records:,} | {r.loader} | failed: {r.error.splitlines()[-1][:120]} | | | | |")
            continue
        md.append(f"| {r.records:,} | {r.loader} | {r.seconds:.1f} | {_fmt(r.load_seconds, '.1f')} | "
                  f"{_fmt(r.rate, ',.0f')} | {_fmt(r.peak_rss_mb, ',.0f')} | {_fmt(r.stored, ',')} |")
    md += ["", ("| records | concord/dlt records/s | concord/floor records/s | concord/dlt peak RSS | "
                "concord/floor peak RSS |"), "|---:|---:|---:|---:|---:|"]
    for n in sizes:
        c, d, f = by.get((n, "concord")), by.get((n, "dlt")), by.get((n, "floor"))
        md.append(f"| {n:,} | {_ratio(_rate(c), _rate(d))} | {_ratio(_rate(c), _rate(f))} | "
                  f"{_ratio(_rss(c), _rss(d))} | {_ratio(_rss(c), _rss(f))} |")
        for variant in ("concord-1p", "concord-pg"):
            v = by.get((n, variant))
            if v is not None:
                md.append(f"| {n:,} ({variant}) | {_ratio(_rate(v), _rate(d))} | {_ratio(_rate(v), _rate(f))} | "
                          f"{_ratio(_rss(v), _rss(d))} | {_ratio(_rss(v), _rss(f))} |")
    dlt_line = (f"dlt {dlt_version} (SQLAlchemy {sa_version}), in its own virtualenv: a resource yielding pages of "
                f"{DLT_PAGE:,} parsed records, `write_disposition=\"merge\"`, `primary_key=\"id\"`, "
                "`dlt.destinations.sqlalchemy(\"sqlite:///...\")`, every other setting dlt's default (extract, "
                "normalize, load; merge by delete-insert from a staging dataset; `billing` flattened to "
                "`billing__*` columns; telemetry off)."
                if not skipped_dlt else "dlt: not run (`--skip-dlt`).")
    md += ["", ("- **floor**: `json.loads` per line, `sqlite3.executemany` `INSERT OR REPLACE` into "
                "`account(id PRIMARY KEY, payload)` in one transaction."),
           f"- **dlt**: {dlt_line}",
           ("- **concord**: `concord sync --json` of a one-system project: the `files` connector reading the drop, "
           "the `account` entity with the starter's CRM mapping and match rules (exact keys, then fuzzy over "
           "blocked candidates), survivorship by recency, no sync rules (nothing pushed). It stages the raw "
           "record, maps it, matches it, builds the golden record with field lineage and a cross-reference; "
           "*stored* counts the cross-references. `map_workers: auto` (the default): on this 2-core machine one "
           "mapping worker process maps and keys the next batches while the main process stores the current "
           "one (hub/engine/mapping_pool.py); its memory is not in the peak RSS column (a second process of "
           "about 135 MB)."),
           "- **concord-1p**: the same with `map_workers: 0`, everything in one process (the engine before the "
           "mapping workers)."]
    if any(r.loader == "concord-pg" for r in results):
        md.append("- **concord-pg**: the same `concord sync` (with its mapping worker), its warehouse a fresh schema "
                  "in a local PostgreSQL (the floor and dlt still load into SQLite).")
    concord_rows = [r for r in results if r.loader == "concord" and not r.error]
    for r in [r for r in results if r.loader.startswith("concord") and not r.error]:
        e = r.extra
        md.append(f"- {r.loader} at {r.records:,}: {e.get('read')} read, {e.get('mapped')} mapped, {e.get('linked')} linked to an existing "
                  f"golden record, {e.get('quarantined')} quarantined, {e.get('golden')} golden accounts, "
                  f"{e.get('written')} written back.")
    if 1_000_000 not in sizes and concord_rows:
        r = max(concord_rows, key=lambda x: x.records)
        est = 1_000_000 / r.rate / 60 if r.rate else None
        md.append(f"- 1,000,000 records: not run this time (at the {r.records:,}-record rate Concord alone "
                  f"would take about {est:.0f} min or more; run `--sizes 1000000`).")
    return "\n".join(md)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100000", help="comma-separated record counts (default 100000)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-dlt", action="store_true", help="compare Concord with the floor only (no venv)")
    ap.add_argument("--skip-1p", action="store_true", help="leave out concord-1p (map_workers: 0)")
    ap.add_argument("--dlt-venv", default=str(CACHE / "dlt-venv"), help="virtualenv for dlt (created if missing)")
    ap.add_argument("--dlt-spec", default=DLT_SPEC, help="what pip installs into it")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per loader run")
    ap.add_argument("--no-cache", action="store_true", help="generate the drops afresh (else cached per size)")
    ap.add_argument("--no-report", action="store_true", help="print only; leave BENCHMARKS.md alone")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (its path is printed)")
    ap.add_argument("--database", default=None, help="also run Concord into this PostgreSQL database "
                                                     "(a fresh schema per run), as loader concord-pg")
    args = ap.parse_args(argv)
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        ap.error(f"--sizes must be comma-separated integers, not {args.sizes!r}")
    if not sizes or min(sizes) < 1:
        ap.error("--sizes needs positive record counts")

    dlt_v = sa_v = None
    try:
        if not args.skip_dlt:
            dlt_v, sa_v = ensure_dlt_venv(Path(args.dlt_venv).expanduser(), args.dlt_spec)
            print(f"dlt {dlt_v}, sqlalchemy {sa_v}", file=sys.stderr, flush=True)
        work = Path(tempfile.mkdtemp(prefix="concord-bench-vs-"))
        results: list[Result] = []
        bpr = 0.0
        for n in sizes:
            t = time.perf_counter()
            drop = make_drop(work / f"n{n}" / "drop", n, args.seed, cache=None if args.no_cache else CACHE / "drops")
            bpr = drop.stat().st_size / n
            print(f"[{n:,}] drop ready in {time.perf_counter() - t:.0f} s (not timed)", file=sys.stderr, flush=True)
            for name in ("floor", *(() if args.skip_dlt else ("dlt",)), "concord", *(() if args.skip_1p else ("concord-1p",)),
                         *(("concord-pg",) if args.database else ())):
                d = work / f"n{n}" / name
                d.mkdir(parents=True, exist_ok=True)
                try:
                    if name == "floor":
                        r = run_floor(drop, d / "floor.db", n, timeout=args.timeout)
                    elif name == "dlt":
                        r = run_dlt(drop, d, n, Path(args.dlt_venv).expanduser(), timeout=args.timeout)
                    elif name == "concord":
                        r = run_concord(drop, d, n, timeout=args.timeout)
                    elif name == "concord-1p":
                        r = run_concord(drop, d, n, timeout=args.timeout, map_workers=0)
                        r.loader = name
                    else:
                        url, drop_schema = pg_schema(args.database)
                        try:
                            r = run_concord(drop, d, n, warehouse=url, timeout=args.timeout)
                            r.loader = name
                        finally:
                            drop_schema()
                except BenchError as exc:
                    r = Result(name, n, error=str(exc))
                results.append(r)
                print(f"[{n:,}] {name}: " + (f"FAILED {r.error}" if r.error else
                      f"{r.seconds:.1f} s, {r.rate:,.0f} rec/s, {r.peak_rss_mb:.0f} MB, stored {r.stored:,}"),
                      file=sys.stderr, flush=True)
                if not r.error and r.stored != n:
                    print(f"[{n:,}] {name}: WARNING stored {r.stored:,} ids, the drop has {n:,}", file=sys.stderr)
            if not args.keep:
                shutil.rmtree(work / f"n{n}", ignore_errors=True)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    md = render(results, seed=args.seed, dlt_version=dlt_v, sa_version=sa_v, bytes_per_record=bpr,
                skipped_dlt=args.skip_dlt, sizes=sizes)
    print(md)
    if args.keep:
        print(f"work folder kept: {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    if not args.no_report:
        from bench._report import write_section

        cmd = f"python -m bench.bench_vs --sizes {','.join(str(n) for n in sizes)}" + (
            " --skip-dlt" if args.skip_dlt else "") + (" --database postgresql+psycopg://..." if args.database else "")
        write_section("vs", md, command=cmd, data={
            "seed": args.seed, "sizes": sizes, "dlt": dlt_v, "sqlalchemy": sa_v,
            "results": [{**asdict(r), "records_per_s": r.rate} for r in results]})
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
