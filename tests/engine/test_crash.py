"""Kill the process (SIGKILL) in the middle of a pull or a push, rerun: nothing lost, nothing written twice."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.engine.helpers import canonical_by_system, read_csv, read_jsonl


def _with_small_pages(project: Path) -> None:
    cfg = project / "concord.yaml"
    cfg.write_text(cfg.read_text().replace("      root: data/erp\n", "      root: data/erp\n      page_size: 2\n")
                   .replace("      root: data/crm\n", "      root: data/crm\n      page_size: 2\n      max_batch: 2\n"))


def _run_until(project: Path, point: str, tmp: Path) -> None:
    """Start `concord sync`, wait until it reaches `point`, SIGKILL it there."""
    marker = tmp / f"reached-{point}"
    exe = shutil.which("concord", path=str(Path(sys.executable).parent))
    env = {**os.environ, "CONCORD_CRASHPOINT": point, "CONCORD_CRASHPOINT_FILE": str(marker)}
    proc = subprocess.Popen([exe, "sync"], cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail(f"sync ended before reaching {point}: {proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"sync never reached {point}")
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()


def _assert_converged(project: Path, url: str) -> None:
    erp = read_csv(project / "data/erp/customers.csv")
    crm = read_jsonl(project / "data/crm/accounts.jsonl")
    # nothing written twice: every golden record has exactly one row in each system
    assert len({r["ConcordId"] or r["CustomerNo"] for r in erp}) == len(erp) == 7
    assert len(crm) == 7
    assert len({r.get("concord_id") or r["id"] for r in crm}) == 7
    assert len(read_jsonl(project / "data/crm/contacts.jsonl")) == 4
    assert len(read_csv(project / "data/erp/contacts.csv")) == 4
    # nothing lost: a further sync has nothing left to do, and both sides agree
    again = json.loads(run_cli("sync", "--json", cwd=project).stdout)
    assert sum(v.get("written", 0) for s in again["streams"].values() for v in s.values()) == 0
    for gid, per in canonical_by_system(url, "account").items():
        assert per["erp"].get("name") == per["crm"].get("name"), gid


@pytest.mark.parametrize("point", ["pull.after_page:2", "process.after_batch:1", "push.before_call:1",
                                   "push.after_call:1", "push.after_call:2", "push.after_commit:1"])
def test_sigkill_then_rerun(point: str, starter: Path, database_url: str, tmp_path: Path) -> None:
    _with_small_pages(starter)
    _run_until(starter, point, tmp_path)
    run_cli("sync", cwd=starter)
    _assert_converged(starter, database_url)


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        out |= {int(c) for c in (task / "children").read_text().split()}
    return out


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from /proc (Linux)")
def test_sigkill_with_mapping_workers_leaves_no_worker_and_reruns_clean(starter: Path, database_url: str,
                                                                        tmp_path: Path) -> None:
    """Mapping workers (hub/engine/mapping_pool.py) hold no state: the process killed in the middle of a
    batch they mapped ahead, the workers end by themselves and a rerun converges as without them."""
    _with_small_pages(starter)
    cfg = starter / "concord.yaml"
    cfg.write_text(cfg.read_text() + "\nmap_workers: 1\nbatch_size: 2\n")
    marker = tmp_path / "reached"
    exe = shutil.which("concord", path=str(Path(sys.executable).parent))
    env = {**os.environ, "CONCORD_CRASHPOINT": "process.in_batch:3", "CONCORD_CRASHPOINT_FILE": str(marker)}
    proc = subprocess.Popen([exe, "sync"], cwd=starter, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
            assert time.monotonic() < deadline, "sync never reached the crash point"
            time.sleep(0.05)
        workers = _children(proc.pid)
        assert workers, "no mapping worker was started"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 15
    while any(Path(f"/proc/{w}").exists() and "Z" not in _state(w) for w in workers):
        assert time.monotonic() < deadline, f"mapping workers {workers} outlived the killed process"
        time.sleep(0.1)
    run_cli("sync", cwd=starter)
    _assert_converged(starter, database_url)


def _state(pid: int) -> str:
    try:
        return next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("State:"))
    except (OSError, StopIteration):
        return "Z"
