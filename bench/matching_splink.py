"""splink beside Concord in bench/bench_matching.py: its own virtualenv and one process per task.

The virtualenv (default ``~/.cache/concord-bench/splink-venv``) is created with ``python -m venv`` and
``pip install splink`` (duckdb backend) the first time, and reused while it imports and was made from
the same spec; Concord's environment is never touched. bench/splink_person.py is run by that venv's
Python on the very CSV files Concord matches (bench/splink_company.py for companies); its pairs are scored by the caller with the same ground
truth. Venv creation is not timed; the time reported is the one measured inside splink's process
(reading the files, training and predicting), as Concord's is measured around its own work.
"""
from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._child import CACHE, BenchError, ensure_venv, last_json, run_child, tail

SPLINK_SPEC = "splink"
SCRIPT = Path(__file__).resolve().parent / "splink_person.py"
COMPANY_SCRIPT = Path(__file__).resolve().parent / "splink_company.py"
DEFAULT_VENV = CACHE / "splink-venv"


def ensure_splink_venv(venv: Path = DEFAULT_VENV, spec: str = SPLINK_SPEC) -> str:
    """Create (or reuse) the venv holding splink; returns splink's version. BenchError says what failed."""
    return ensure_venv(venv, spec, "import splink, duckdb; print(splink.__version__)", tool="splink",
                       skip_hint="run with --skip-splink to measure Concord alone")


def run_splink(venv: Path, task: str, left: Path, right: Path | None, threshold: float, *,
               timeout: float = 3600, script: Path = SCRIPT) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """(linked pairs, splink's report) of one task run in splink's venv by ``script`` (people by default)."""
    out = left.parent / f"splink_{task}.csv"
    argv = [str(venv / "bin" / "python"), str(script), task, str(left), str(right) if right else "-", str(out),
            str(threshold)]
    wall, rss, code, stdout, stderr = run_child(argv, cwd=left.parent, timeout=timeout)
    if code != 0:
        raise BenchError(f"splink failed on {task} (exit {code}):\n{tail(stderr)}")
    report = {**last_json(stdout), "process_seconds": round(wall, 2), "peak_rss_mb": round(rss)}
    with open(out, encoding="utf-8") as fh:
        pairs = [(r["left_id"], r["right_id"]) for r in csv.DictReader(fh)]
    return pairs, report


def prf(tp: int, fp: int, truth: int) -> dict[str, Any]:
    """Pairwise precision, recall and F1 of ``tp`` true and ``fp`` false links against ``truth`` true pairs."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / truth if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"true_pairs": truth, "tp": tp, "fp": fp, "precision": round(precision, 5), "recall": round(recall, 5),
            "f1": round(f1, 5)}


def splink_scores(venv: Path, task: str, left: Path, right: Path | None, threshold: float, *, truth: int,
                  same: Callable[[str, str], bool], script: Path = SCRIPT) -> dict[str, Any]:
    """splink run on one task and scored: ``same(a, b)`` tells a true pair; precision, recall, F1 and times."""
    pairs, rep = run_splink(venv, task, left, right, threshold, script=script)
    tp = sum(same(a, b) for a, b in pairs)
    return {**prf(tp, len(pairs) - tp, truth), "seconds": rep["seconds"], "cpu_seconds": rep["cpu_seconds"],
            "train_seconds": rep["train_seconds"], "candidate_pairs": rep["scored_pairs"], "version": rep["splink"]}
