"""Dashboard pages over 1M golden accounts (SQLite): overview, record search (name prefix, e-mail, source
id, deep page) and a 360° page, served through the real app (TestClient, bearer token).

    .venv/bin/python -m bench.bench_dashboard [--records 1000000]

Rows are inserted set-based (INSERT ... SELECT over a recursive CTE) into golden, xref (two systems)
and the typed account table; each page is requested several times and the median is recorded.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from bench._report import peak_rss_mb, write_section

TOKEN = "bench-operator-token-0123456789"


def fill(wh, n: int) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    seq = f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n})"
    now = "'2026-11-27 00:00:00.000000'"
    with wh.engine.begin() as c:
        c.execute(text(f"""{seq} INSERT INTO golden (entity, golden_id, data, data_hash, version, deleted, title,
            created_at, updated_at) SELECT 'account', printf('g%08d', i),
            json_object('name', printf('Company %07d GmbH', i), 'email', printf('info@c%07d.example', i),
                        'erp_customer_number', printf('C%07d', i)),
            'h', 1, 0, printf('Company %07d GmbH', i), {now}, {now} FROM s"""))
        c.execute(text(f"""{seq} INSERT INTO xref (entity, system, source_id, golden_id, state, created_at, updated_at)
            SELECT 'account', 'erp', printf('C%07d', i), printf('g%08d', i), 'linked', {now}, {now} FROM s"""))
        c.execute(text(f"""{seq} INSERT INTO xref (entity, system, source_id, golden_id, state, created_at, updated_at)
            SELECT 'account', 'crm', printf('acc-%07d', i), printf('g%08d', i), 'linked', {now}, {now} FROM s"""))
        c.execute(text(f"""{seq} INSERT INTO account (golden_id, name, erp_customer_number, email, _version, _updated_at)
            SELECT printf('g%08d', i), printf('Company %07d GmbH', i), printf('C%07d', i),
                   printf('info@c%07d.example', i), 1, {now} FROM s"""))
        c.execute(text("ANALYZE"))
    return time.perf_counter() - t0


def timed(client, path: str, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "text/html"}
    r = client.get(path, headers=headers)  # warm
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = client.get(path, headers=headers)
        runs.append(time.perf_counter() - t0)
        assert r.status_code == 200
    return statistics.median(runs) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    args = ap.parse_args()
    from fastapi.testclient import TestClient

    from importlib import resources

    from concord.hub.config import load_project
    from concord.hub.dashboard import Tokens, create_app
    from concord.hub.warehouse import Warehouse

    tmp = Path(tempfile.mkdtemp(prefix="bench-dash-"))
    try:
        starter = Path(str(resources.files("concord.hub.starter")))   # the `concord init` project: account + contact
        shutil.copytree(starter, tmp / "p", ignore=shutil.ignore_patterns("__pycache__", "*.py"))
        project = load_project(tmp / "p" / "concord.yaml")
        wh = Warehouse.open(f"sqlite:///{tmp / 'wh.db'}")
        n = args.records
        fill_s = fill(wh, n)
        app = create_app(project, wh, tokens=Tokens(TOKEN, None), refresh_seconds=0)
        mid = n // 2
        pages = {
            "overview `/`": "/",
            "search by name prefix `/records?q=company 05`": "/records?q=company%2005",
            "search, page 200 of the name list": "/records?page=200",
            "search by e-mail": f"/records?q=info@c{mid:07d}.example",
            "search by source id (crm)": f"/records?q=acc-{mid:07d}",
            "360° page of an account": f"/records/account/g{mid:08d}",
            "runs `/runs`": "/runs",
            "quarantine `/quarantine`": "/quarantine",
        }
        with TestClient(app, base_url="http://127.0.0.1") as client:
            results = {name: timed(client, path) for name, path in pages.items()}
        wh.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = "\n".join(f"| {name} | {ms:.1f} |" for name, ms in results.items())
    md = (f"Dashboard pages over **{n:,} golden accounts** (plus {2 * n:,} cross-references and {n:,} typed account "
          f"rows) on SQLite, served by the real app through FastAPI's TestClient with a bearer token; median of 5 "
          f"requests after one warm-up, full HTML rendered.\n\n| page | median ms |\n|---|---:|\n{rows}\n\n"
          f"Filling the warehouse set-based took {fill_s:.1f} s; peak RSS {peak_rss_mb():.0f} MB. Searches use the "
          f"`golden (entity, lower(title), golden_id)`, `xref` primary-key and `lower(email)` indexes of migration "
          f"`0002_dashboard`; lists paginate with LIMIT/OFFSET. The overview counts golden records per entity, the "
          f"one query that grows with the warehouse.")
    write_section("dashboard", md, command=f"python -m bench.bench_dashboard --records {n}",
                  data={"records": n, "fill_seconds": fill_s, "median_ms": results})
    print(md)


if __name__ == "__main__":
    main()
