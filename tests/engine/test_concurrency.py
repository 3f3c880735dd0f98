"""Two workers on one warehouse never write one change twice (SQLite and PostgreSQL).

The defect this guards: on SQLite the stream lock was a no-op and a push re-claimed rows another
process was sending, so two `concord sync` started together both wrote (duplicate records).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T
from concord.hub.warehouse.owner import current_owner, is_alive, owner_of
from concord.hub.warehouse.stores import outbox
from tests.conftest import run_cli
from tests.engine.helpers import read_csv, read_jsonl


def _small_batches(project: Path) -> None:
    cfg = project / "concord.yaml"
    cfg.write_text(cfg.read_text().replace("      root: data/erp\n", "      root: data/erp\n      page_size: 2\n      max_batch: 2\n")
                   .replace("      root: data/crm\n", "      root: data/crm\n      page_size: 2\n      max_batch: 2\n"))


def _start_paused(project: Path, point: str, marker: Path) -> subprocess.Popen[bytes]:
    """`concord sync` that stops (alive, holding what it holds) at a crash point."""
    exe = shutil.which("concord", path=str(Path(sys.executable).parent))
    env = {**os.environ, "CONCORD_CRASHPOINT": point, "CONCORD_CRASHPOINT_FILE": str(marker)}
    proc = subprocess.Popen([exe, "sync"], cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not marker.exists():
        if proc.poll() is not None:
            pytest.fail(f"sync ended before reaching {point}: {proc.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"sync never reached {point}")
        time.sleep(0.05)
    return proc


def _no_duplicates(project: Path) -> None:
    erp = read_csv(project / "data/erp/customers.csv")
    crm = read_jsonl(project / "data/crm/accounts.jsonl")
    assert len(erp) == 7 and len({r["ConcordId"] or r["CustomerNo"] for r in erp}) == 7
    assert len(crm) == 7 and len({r.get("concord_id") or r["id"] for r in crm}) == 7
    assert len(read_jsonl(project / "data/crm/contacts.jsonl")) == 4
    assert len(read_csv(project / "data/erp/contacts.csv")) == 4


@pytest.mark.parametrize("point", ["push.before_call:1", "push.after_call:1"])
def test_a_second_sync_leaves_a_running_push_alone(point: str, starter: Path, tmp_path: Path) -> None:
    _small_batches(starter)
    first = _start_paused(starter, point, tmp_path / "reached")
    try:
        second = run_cli("sync", "--json", cwd=starter, check=False)
        assert second.returncode in (0, 1), second.stderr
        out = json.loads(second.stdout)
        skipped = [f"{sys_}.{ent}" for sys_, per in out["streams"].items() for ent, d in per.items()
                   if d.get("push_status") == "skipped"]
        assert skipped, out["streams"]          # the stream the first sync is pushing was left to it
        errors = [e for per in out["streams"].values() for d in per.values() for e in d.get("errors", [])]
        assert any("another worker is syncing this stream" in e for e in errors)
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    run_cli("sync", cwd=starter)                 # the rerun settles what the killed one had in flight
    again = json.loads(run_cli("sync", "--json", cwd=starter).stdout)
    assert sum(d.get("written", 0) for per in again["streams"].values() for d in per.values()) == 0
    _no_duplicates(starter)


def test_two_syncs_started_together_write_each_change_once(starter: Path) -> None:
    _small_batches(starter)
    exe = shutil.which("concord", path=str(Path(sys.executable).parent))
    procs = [subprocess.Popen([exe, "sync", "--json"], cwd=starter, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    for p in procs:
        _out, err = p.communicate(timeout=300)
        assert p.returncode in (0, 1), err.decode()[-2000:]
    run_cli("sync", cwd=starter)
    _no_duplicates(starter)


def test_rows_another_live_worker_is_sending_are_not_claimed(warehouse: Warehouse) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    parent = owner_of(os.getppid())            # a live process that is not this one
    assert parent and is_alive(parent) and is_alive(current_owner())
    dead = "somehost-that-is-this/999999999/1"
    base = {"entity": "account", "system": "crm", "target_entity": "Account", "op": "create", "fields": {},
            "canonical": {"name": "x"}, "attempts": 1, "created_at": now, "updated_at": now,
            "claimed_by": None, "lease_until": None}   # one executemany: every row has every key
    rows = [
        {**base, "golden_id": "g1", "idempotency_key": "k1", "status": "pending"},
        {**base, "golden_id": "g2", "idempotency_key": "k2", "status": "sending", "claimed_by": parent,
         "lease_until": now + dt.timedelta(minutes=5)},                     # live, leased: not mine
        {**base, "golden_id": "g3", "idempotency_key": "k3", "status": "sending", "claimed_by": parent,
         "lease_until": now - dt.timedelta(seconds=1)},                     # lease over: free
        {**base, "golden_id": "g4", "idempotency_key": "k4", "status": "sending",
         "claimed_by": owner_of(os.getpid()).replace(f"/{os.getpid()}/", "/999999999/"),
         "lease_until": now + dt.timedelta(minutes=5)},                     # that process is gone: free
        {**base, "golden_id": "g5", "idempotency_key": "k5", "status": "sending", "claimed_by": dead.replace(
            "somehost-that-is-this", "another-machine"), "lease_until": now + dt.timedelta(minutes=5)},  # unknown: wait
    ]
    with warehouse.tx() as conn:
        conn.execute(T.outbox.insert(), rows)
        got = outbox.claimable(conn, entity="account", system="crm", after=0, limit=10, now=now)
        assert [r.golden_id for r in got] == ["g1", "g3", "g4"]
        outbox.mark_sending(conn, [r.id for r in got], now)
        assert outbox.in_flight_elsewhere(conn) == 2
        # this process's own claims are its to send again (a retry within the run)
        again = outbox.claimable(conn, entity="account", system="crm", after=0, limit=10, now=now)
        assert [r.golden_id for r in again] == ["g1", "g3", "g4"]
        conn.execute(update(T.outbox).where(T.outbox.c.golden_id == "g2")
                     .values(lease_until=now - dt.timedelta(seconds=1)))
        assert "g2" in {r.golden_id for r in outbox.claimable(conn, entity="account", system="crm", after=0,
                                                              limit=10, now=now)}


def test_stream_lock_excludes_another_process(warehouse: Warehouse, database_url: str, tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import sys\nfrom concord.hub.warehouse import Warehouse\n"
        "wh = Warehouse.open(sys.argv[1], migrate=False)\n"
        "with wh.stream_lock('push:crm:account') as got:\n    print('got' if got else 'busy')\n")
    with warehouse.stream_lock("push:crm:account") as got:
        assert got
        busy = subprocess.run([sys.executable, str(probe), database_url], capture_output=True, text=True, timeout=60)
        assert busy.stdout.strip() == "busy", busy.stderr
        with warehouse.stream_lock("push:crm:account") as again:   # also within one process
            assert not again
    free = subprocess.run([sys.executable, str(probe), database_url], capture_output=True, text=True, timeout=60)
    assert free.stdout.strip() == "got", free.stderr
