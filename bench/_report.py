"""Write a benchmark's results into its own section of BENCHMARKS.md.

Each bench script calls ``write_section("salesforce", markdown)``; the section sits
between ``<!-- bench:salesforce -->`` markers and is replaced on every run, so
BENCHMARKS.md always holds the latest figures of every benchmark.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILE = ROOT / "BENCHMARKS.md"
HEADER = """# Benchmarks

Figures written by the scripts under `bench/` (each script replaces its own section).
Machine: 2 cores, 24 GB (the project's standard machine). Re-run a section with the command it names.
"""


def machine() -> str:
    return f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, {os.cpu_count()} cores"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_section(name: str, markdown: str, *, command: str | None = None, data: dict | None = None) -> None:
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cmd = command or _command_line(sys.argv)
    body = f"{start}\n{markdown.rstrip()}\n\n_Measured {stamp}; {machine()}; `{cmd}`_\n{end}"
    text = FILE.read_text(encoding="utf-8") if FILE.exists() else HEADER
    if start in text and end in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _m: body, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + body + "\n"
    FILE.write_text(text, encoding="utf-8")
    if data is not None:
        out = ROOT / "bench" / "out"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{name}.json").write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")


def _command_line(argv: list[str]) -> str:
    """The command that re-runs a bench, without this machine's paths: ``python -m bench.<name> args``."""
    script = Path(argv[0]).name if argv else "bench"
    module = script[:-3] if script.endswith(".py") else script
    return " ".join(["python", "-m", f"bench.{module}", *argv[1:]])
