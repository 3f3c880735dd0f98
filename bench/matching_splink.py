"""splink beside Concord in bench/bench_matching.py: its own virtualenv and one process per task.

The virtualenv (default ``~/.cache/concord-bench/splink-venv``) is created with ``python -m venv`` and
``pip install splink`` (duckdb backend) the first time, and reused while it imports and was made from
the same spec; Concord's environment is never touched. bench/splink_person.py is run by that venv's
Python on the very CSV files Concord matches (bench/splink_company.py for companies); its pairs are scored by the caller with the same ground
truth. Venv creation is not timed; the time reported is the one measured inside splink's process
(reading the files, training and predicting), as Concord's is measured around its own work.

Besides splink at the link threshold both tools use (0.999), each task reports splink at the precision
issue 17 requires (>= 0.999): the lowest threshold at or above 0.999 whose precision reaches it, chosen
with the ground truth (an oracle advantage for splink; Concord's threshold is fixed). Each linkage also
reports splink at probability 0.5 one-to-one best first (``LOW``; no labels), from the same run.
"""
from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._child import CACHE, BenchError, ensure_venv, last_json, run_child, tail
from bench.splink_levels import at_precision

SPLINK_SPEC = "splink"
SCRIPT = Path(__file__).resolve().parent / "splink_person.py"
COMPANY_SCRIPT = Path(__file__).resolve().parent / "splink_company.py"
DEFAULT_VENV = CACHE / "splink-venv"
PRECISION_FLOOR = 0.999     # issue 17: an ERP-CRM hub must not merge two customers
LOW = 0.5                   # linkage: splink also at this threshold, one-to-one (the same run; no labels)


def ensure_splink_venv(venv: Path = DEFAULT_VENV, spec: str = SPLINK_SPEC) -> str:
    """Create (or reuse) the venv holding splink; returns splink's version. BenchError says what failed."""
    return ensure_venv(venv, spec, "import splink, duckdb; print(splink.__version__)", tool="splink",
                       skip_hint="run with --skip-splink to measure Concord alone")


def run_splink(venv: Path, task: str, left: Path, right: Path | None, threshold: float, *, low: float | None = None,
               timeout: float = 3600, script: Path = SCRIPT) -> tuple[list[tuple[str, str, float]], dict[str, Any]]:
    """(linked pairs with their levels, splink's report) of one task run in splink's venv by ``script``
    (people by default); a pair's level is the highest threshold at which splink still links it
    (bench/splink_levels.py). ``low`` (linkage only): the pairs down to that probability, one-to-one."""
    out = left.parent / f"splink_{task}.csv"
    argv = [str(venv / "bin" / "python"), str(script), task, str(left), str(right) if right else "-", str(out),
            str(threshold)] + ([str(low)] if low is not None else [])
    wall, rss, code, stdout, stderr = run_child(argv, cwd=left.parent, timeout=timeout)
    if code != 0:
        raise BenchError(f"splink failed on {task} (exit {code}):\n{tail(stderr)}")
    report = {**last_json(stdout), "process_seconds": round(wall, 2), "peak_rss_mb": round(rss)}
    with open(out, encoding="utf-8") as fh:
        pairs = [(r["left_id"], r["right_id"], float(r["level"])) for r in csv.DictReader(fh)]
    return pairs, report


def prf(tp: int, fp: int, truth: int) -> dict[str, Any]:
    """Pairwise precision, recall and F1 of ``tp`` true and ``fp`` false links against ``truth`` true pairs."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / truth if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"true_pairs": truth, "tp": tp, "fp": fp, "precision": round(precision, 5), "recall": round(recall, 5),
            "f1": round(f1, 5)}


def splink_scores(venv: Path, task: str, left: Path, right: Path | None, threshold: float, *, truth: int,
                  same: Callable[[str, str], bool], script: Path = SCRIPT, low: float | None = None,
                  floor: float = PRECISION_FLOOR) -> dict[str, Any]:
    """splink run on one task and scored: ``same(a, b)`` tells a true pair; precision, recall, F1 and times
    at ``threshold``, and under ``at_precision`` the same at the lowest threshold >= ``threshold`` whose
    precision reaches ``floor`` (:func:`oracle`); with ``low`` (linkage), under ``at_low`` the same at that
    lower threshold, one-to-one (no labels used)."""
    pairs, rep = run_splink(venv, task, left, right, threshold, low=low, script=script)
    every = [(p, same(a, b)) for a, b, p in pairs]
    levels = [(p, ok) for p, ok in every if p >= threshold]
    tp = sum(ok for _p, ok in levels)
    extra = {}
    if low is not None:
        tp_low = sum(ok for _p, ok in every)
        extra["at_low"] = {**prf(tp_low, len(every) - tp_low, truth), "threshold": low}
    return {**prf(tp, len(levels) - tp, truth), "seconds": rep["seconds"], "cpu_seconds": rep["cpu_seconds"],
            "train_seconds": rep["train_seconds"], "candidate_pairs": rep["scored_pairs"], "version": rep["splink"],
            "at_precision": oracle(levels, truth, threshold, floor), **extra}


def oracle(levels: list[tuple[float, bool]], truth: int, start: float, floor: float = PRECISION_FLOOR) -> dict[str, Any]:
    """splink at the lowest match-probability threshold (every distinct level of its linked pairs, all at or
    above ``start``, the one it ran at) whose pairwise precision after its own clustering reaches ``floor``; chosen
    WITH the labels (``levels``: (level, is a true pair)), an oracle advantage no deployment has.
    ``threshold`` is None when no threshold reaches ``floor`` (then nothing is linked)."""
    t, tp, fp = at_precision(levels, floor, start)
    return {**prf(tp, fp, truth), "threshold": t, "floor": floor}


ORACLE_LABEL = "splink, precision ≥ 0.999 (oracle threshold"


def threshold_text(t: float | None) -> str:
    """A threshold as the tables show it: 0.99974, or 1 - 2.1e-07 when closer to 1 than 0.00001."""
    if t is None:
        return "none reaches it"
    return f"1 - {1 - t:.1e}" if 1 - t < 1e-5 else f"{t:.5f}".rstrip("0")


def low_cells(x: dict[str, Any]) -> tuple[str, str] | None:
    """(rule label, metric cells) of the row of splink at ``LOW``, one-to-one, under a splink row (linkage)."""
    o = x.get("at_low")
    if o is None:
        return None
    return (f"splink at {o['threshold']:g}, one-to-one", f"{o['precision']:.4f} | {o['recall']:.4f} | **{o['f1']:.4f}** | - | - |")


def oracle_cells(x: dict[str, Any]) -> tuple[str, str]:
    """(rule label, metric cells) of the oracle row under a splink row ``x`` of splink_scores."""
    o = x["at_precision"]
    return (f"{ORACLE_LABEL} {threshold_text(o['threshold'])})",
            f"{o['precision']:.4f} | {o['recall']:.4f} | **{o['f1']:.4f}** | - | - |")


ORACLE_TEXT = (" Under each splink row, splink at the precision issue 17 requires (≥ 0.999): the lowest match "
               "probability, from every distinct level of its linked pairs at or above 0.999 (a pair's level: the "
               "highest threshold at which splink, with its own clustering, still links it; bench/splink_levels.py), "
               "at which its pairwise precision reaches 0.999, and that threshold's precision, recall and F1. The "
               "threshold is chosen WITH the ground truth, an oracle advantage splink would not have in use "
               "(Concord's threshold is fixed at 0.999 with no labels); where splink already reaches 0.999 at "
               "0.999 the row repeats its figures. In linkage a second row shows splink at probability 0.5 "
               "one-to-one best first (no labels): each record's most probable partner, the way Concord's "
               "one-match-per-record step accepts review cases; the pairs at 0.999 are a prefix of the same run "
               "(bench/splink_levels.py). Time: the same run as the splink row above.")
ORACLE_SHORT = (" Under each splink row, splink at the lowest threshold at or above 0.999 whose precision reaches "
                "0.999, chosen with the ground truth (an oracle advantage), and in linkage splink at probability "
                "0.5 one-to-one (no labels; see the people table).")


def extra_rows(x: dict[str, Any]) -> list[tuple[str, str]]:
    """The rows under a splink row ``x``: the oracle's, and splink at ``LOW`` when it ran there."""
    low = low_cells(x)
    return ([oracle_cells(x)] if "at_precision" in x else []) + ([low] if low else [])
