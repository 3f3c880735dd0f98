"""Scale-out: two workers in separate processes, one PostgreSQL warehouse, one Prefect server.

Both run the same flow at the same moment. The warehouse's stream locks (PostgreSQL advisory
locks) keep one worker per stream, push claims outbox rows with FOR UPDATE SKIP LOCKED, and
together they finish the work: a third cycle afterwards has nothing left to write.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import func, select

from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T
from tests.conftest import DB_URL
from tests.flows.conftest import sandbox_project

pytestmark = [pytest.mark.prefect, pytest.mark.slow,
              pytest.mark.skipif(not DB_URL.startswith("postgres"),
                                 reason="scale-out needs a shared PostgreSQL warehouse (advisory locks, SKIP LOCKED); "
                                        "SQLite has a single writer. Run with CONCORD_TEST_DATABASE_URL=postgresql+...")]

WORKER = """
import json, sys
from concord.flows.sync import sync_cycle_flow
s = sync_cycle_flow(config=sys.argv[1], warehouse=sys.argv[2])
print(json.dumps({"run_id": s.run_id, "status": s.status, "written": s.written,
                  "skipped": sum(1 for x in s.streams if x.status == "skipped")}))
"""


def test_two_workers_share_the_streams_and_finish_the_work(prefect_harness: str, tmp_path: Path,
                                                           database_url: str) -> None:
    from concord.hub.sandbox.faults import FaultConfig

    # every request waits a little, so the two workers really overlap
    slow = FaultConfig(rate=1.0, kinds=("latency",), latency_s=0.02)
    cfg, running = sandbox_project(tmp_path / "p", ["oracle_fusion", "zoho_crm", "salesforce"], size=40,
                                   faults=slow)
    try:
        Warehouse.open(database_url).dispose()  # migrated once, before the race
        env = {**os.environ, "PREFECT_API_URL": prefect_harness, "PREFECT_LOGGING_LEVEL": "ERROR"}
        workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(cfg), database_url], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = []
        for w in workers:
            out, err = w.communicate(timeout=240)
            assert w.returncode == 0, err[-4000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
        assert all(r["status"] in ("success", "partial") for r in results), results
        print("workers:", results)

        wh = Warehouse.open(database_url, migrate=False)
        try:
            with wh.tx() as conn:
                rs = T.run_stream.c
                rows = conn.execute(select(rs.run_id, rs.system, rs.entity, rs.direction, rs.status, rs.started_at,
                                           rs.finished_at).where(rs.run_id.in_([r["run_id"] for r in results]))).all()
                flow_ids = conn.execute(select(T.run.c.prefect_flow_run_id)
                                        .where(T.run.c.id.in_([r["run_id"] for r in results]))).scalars().all()
            assert all(flow_ids) and len(set(flow_ids)) == 2
            # no stream was synced by both workers at once
            spans = defaultdict(list)
            for r in rows:
                if r.status != "skipped":
                    spans[(r.system, r.entity, r.direction)].append((r.started_at, r.finished_at, r.run_id))
            for key, ss in spans.items():
                ss.sort()
                for (a0, a1, ra), (b0, b1, rb) in zip(ss, ss[1:]):
                    assert ra == rb or a1 <= b0, f"{key} synced by runs {ra} and {rb} at once"

            # together they finished: one more cycle has nothing to write
            from concord.flows.sync import sync_cycle_inline

            final = sync_cycle_inline.fn(config=str(cfg), warehouse=database_url)
            assert final.written == 0, final.as_dict()
            with wh.tx() as conn:
                x = T.xref.c
                # no record written twice: every golden record has at most one record per system
                dup = conn.execute(select(x.entity, x.system, x.golden_id, func.count().label("n"))
                                   .where(x.state == "linked").group_by(x.entity, x.system, x.golden_id)
                                   .having(func.count() > 1)).all()
                assert not dup, dup
                o = T.outbox.c
                twice = conn.execute(select(o.idempotency_key, func.count()).where(o.status == "done")
                                     .group_by(o.idempotency_key).having(func.count() > 1)).all()
                assert not twice, twice
                open_ = conn.execute(select(func.count()).select_from(T.outbox)
                                     .where(o.status.in_(["pending", "sending"]))).scalar()
                assert open_ == 0
                golden = conn.execute(select(func.count()).select_from(T.golden)
                                      .where(T.golden.c.entity == "account", T.golden.c.deleted.is_(False))).scalar()
            zoho = next(sb for sb in running if sb.connector == "zoho_crm")
            with zoho.state.lock:
                zoho_accounts = len(zoho.state.modules["Accounts"].records)
            assert zoho_accounts == golden     # every account exactly once in the CRM that takes them all
        finally:
            wh.dispose()
    finally:
        for sb in running:
            sb.stop()
