"""`concord dashboard` as a real process: refuses to start without a token, serves on loopback with one."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import run_cli
from tests.dashboard.conftest import OP_TOKEN, READ_TOKEN


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refuses_to_start_without_a_token(starter: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCORD_DASHBOARD_")}
    exe = shutil.which("concord", path=str(Path(sys.executable).parent))
    proc = subprocess.run([exe, "dashboard", "--port", str(_free_port())], cwd=starter, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "CONCORD_DASHBOARD_TOKEN" in proc.stderr


def test_serves_pages_with_tokens_from_the_environment(starter: Path) -> None:
    run_cli("sync", cwd=starter)
    port = _free_port()
    exe = shutil.which("concord", path=str(Path(sys.executable).parent))
    env = {**os.environ, "CONCORD_DASHBOARD_TOKEN": OP_TOKEN, "CONCORD_DASHBOARD_READ_TOKEN": READ_TOKEN}
    proc = subprocess.Popen([exe, "dashboard", "--port", str(port)], cwd=starter, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.get(base + "/").status_code == 401
        r = httpx.get(base + "/", headers={"Authorization": f"Bearer {READ_TOKEN}"})
        assert r.status_code == 200 and 'data-stream="erp.account"' in r.text
        assert httpx.post(base + "/deadletters/1/retry", headers={"Authorization": f"Bearer {READ_TOKEN}"}).status_code == 403
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert f"127.0.0.1:{port}" in out
    assert OP_TOKEN not in out + err and READ_TOKEN not in out + err
