"""Shared by the CLI tests that run the installed ``concord`` and a project's sandboxes."""
from __future__ import annotations

import json
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _exe() -> str:
    return shutil.which("concord", path=str(Path(sys.executable).parent)) or "concord"


def _env_file(path: Path) -> dict[str, str]:
    out = {}
    for tok in shlex.split(path.read_text(encoding="utf-8"), comments=True):
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = v
    return out


@contextmanager
def sandbox_up(folder: Path) -> Iterator[tuple[list[dict[str, Any]], dict[str, str]]]:
    """`concord sandbox up --project folder` (ERP and CRM) running: its two JSON lines and ``sandbox.env``
    without ``CONCORD_DATABASE_URL``; stopped with SIGTERM afterwards, with no traceback."""
    proc = subprocess.Popen([_exe(), "sandbox", "up", "--project", str(folder), "--seed", "3", "--size", "12"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [json.loads(proc.stdout.readline() or "null") for _ in range(2)]
        assert all(lines), proc.stderr.read() if proc.poll() is not None else "no JSON line"
        env = _env_file(folder / "sandbox.env")
        env.pop("CONCORD_DATABASE_URL", None)
        yield lines, env
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        assert "Traceback" not in err, err
