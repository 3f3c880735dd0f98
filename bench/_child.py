"""Shared by the benchmarks that run another tool in a child process (bench_vs: dlt; bench_matching: splink).

- ``ensure_venv``: a virtualenv of its own for the other tool, created with ``pip install`` the first time and
  reused while it imports and was made from the same spec (Concord's environment is never touched).
- ``run_child``: one process, its wall time and its own peak RSS; ``last_json`` reads its result line.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "concord-bench"


class BenchError(RuntimeError):
    """A setup step failed (dlt venv, a loader process): the message says what to do."""


def ensure_venv(venv: Path, spec: str, probe: str, *, tool: str, skip_hint: str) -> str:
    """Create (or reuse) the virtualenv holding ``spec``; returns what ``probe`` (Python code run there) prints.

    Only pip's configured registry is used. Raises BenchError with pip's own words if it cannot be installed."""
    py = venv / "bin" / "python"
    marker = venv / ".concord-bench-spec"
    if py.exists() and marker.exists() and marker.read_text() == spec:
        p = subprocess.run([str(py), "-c", probe], check=False, capture_output=True, text=True, timeout=300)
        if p.returncode == 0:
            return p.stdout.strip()
    print(f"creating the {tool} virtualenv ({spec}); not timed ...", file=sys.stderr, flush=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    p = subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=False, capture_output=True,
                       text=True, timeout=600)
    if p.returncode != 0:
        raise BenchError(f"could not create a virtualenv for {tool} at {venv}: {tail(p.stderr)}\n({skip_hint})")
    p = subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", spec],
                       check=False, capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        errors = "\n".join(ln for ln in p.stderr.splitlines() if "is ignored: it is neither" not in ln)
        raise BenchError(f"pip could not install {spec!r} into {venv} (exit {p.returncode}):\n{tail(errors)}\n"
                         f"(is the package registry reachable? {skip_hint})")
    p = subprocess.run([str(py), "-c", probe], check=False, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise BenchError(f"{tool} was installed into {venv} but does not import: {tail(p.stderr)}")
    marker.write_text(spec)
    return p.stdout.strip()


# ---- running a tool as a child process ---------------------------------------------------------
def run_child(argv: list[str], *, cwd: Path, env: dict[str, str] | None = None,
               timeout: float) -> tuple[float, float, int, str, str]:
    """Run a process; returns (wall seconds, peak RSS MB, exit code, stdout, stderr).

    Peak RSS comes from ``os.wait4`` on that child alone (Linux ``ru_maxrss`` is in KiB)."""
    out, err = cwd / f".{Path(argv[0]).name}.{os.getpid()}.out", cwd / f".{Path(argv[0]).name}.{os.getpid()}.err"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = -9
                raise BenchError(f"{Path(argv[0]).name} ran longer than {timeout:.0f} s and was stopped "
                                 "(raise --timeout)")
            time.sleep(0.05)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    stdout, stderr = out.read_text(encoding="utf-8", errors="replace"), err.read_text(encoding="utf-8", errors="replace")
    out.unlink(), err.unlink()
    return wall, usage.ru_maxrss / 1024, proc.returncode, stdout, stderr


def last_json(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise BenchError("the loader printed no JSON result")


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
