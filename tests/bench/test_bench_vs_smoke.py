"""bench/bench_vs.py at 300 records: the floor and `concord sync` load the same ids from one drop.

dlt is not run here (it needs its own virtualenv); only behaviour is checked, never time.
"""
from __future__ import annotations

import json
from pathlib import Path

from bench.bench_vs import (
    Result,
    concord_ids,
    floor_ids,
    make_drop,
    render,
    run_concord,
    run_floor,
    world_size_for,
)

N = 300


def test_drop_has_exactly_the_records_asked_for(tmp_path: Path) -> None:
    drop = make_drop(tmp_path, N, seed=7)
    rows = [json.loads(line) for line in drop.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) == N == len({r["id"] for r in rows})
    assert all(isinstance(r.get("billing"), dict) for r in rows)   # the CRM shape the files connector reads
    assert world_size_for(N, 7) > N                                  # the CRM holds a share of the world


def test_floor_and_concord_store_the_same_ids(tmp_path: Path, database_url: str) -> None:
    drop = make_drop(tmp_path / "drop", N, seed=7)
    want = {json.loads(line)["id"] for line in drop.read_text(encoding="utf-8").splitlines() if line.strip()}

    floor = run_floor(drop, tmp_path / "floor.db", N, timeout=120)
    assert floor.error is None, floor.error
    (tmp_path / "concord").mkdir()
    concord = run_concord(drop, tmp_path / "concord", N, warehouse=database_url, timeout=240)
    assert concord.error is None, concord.error

    assert floor_ids(tmp_path / "floor.db") == want
    assert concord_ids(database_url) == want
    assert floor.stored == concord.stored == N
    assert concord.extra["mapped"] == N and concord.extra["quarantined"] == 0
    assert concord.extra["written"] == 0                              # no sync rules: nothing pushed
    assert concord.peak_rss_mb and floor.peak_rss_mb                  # measured from the child process


def test_report_puts_the_ratios_side_by_side() -> None:
    rs = [Result("floor", N, 1.0, 0.5, 40.0, N), Result("dlt", N, 4.0, 3.0, 80.0, N),
          Result("concord", N, 2.0, 1.5, 120.0, N, extra={"mapped": N})]
    md = render(rs, seed=7, dlt_version="9.9", sa_version="2.0", bytes_per_record=370, skipped_dlt=False, sizes=[N])
    assert f"| {N:,} | 2x | 0.5x (1/2) | 1.5x | 3x |" in md   # concord/dlt, concord/floor: records/s, then peak RSS
    assert "dlt 9.9" in md and "/work/" not in md
