"""Mapping workers (hub/engine/mapping_pool.py) change nothing of what the warehouse holds.

The same drops (two systems, the first through the fresh path, the second through candidate lookups, a
record that fails its mapping) are loaded with a mapping worker, then re-matched in place without one:
golden records, lineage, cross-references, match keys, decisions, the typed projection and the
quarantine must be equal, and the worker must have mapped most records.
"""
from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from concord.connectors.files.sandbox import write_drops
from concord.hub.config import load_project
from concord.hub.engine import RunContext, run_cycle
from concord.hub.engine import mapping_pool
from concord.hub.engine.rematch import rematch
from concord.hub.sandbox.world import World
from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T
from tests.engine.test_initial_load import _snapshot


def _with_setting(folder: Path, line: str) -> Path:
    text = (folder / "concord.yaml").read_text(encoding="utf-8")
    path = folder / f"concord-{line.split(':')[1].strip()}.yaml"
    path.write_text(text + f"\nbatch_size: 41\n{line}\n", encoding="utf-8")
    return path


def _add_unmappable(folder: Path) -> str:
    """A CRM account whose country no mapping knows: it fails its mapping (and is quarantined)."""
    path = folder / "data" / "crm" / "accounts.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    bad = dict(rows[3], id="acc-unmappable", name="Unmappable Ltd")
    bad["billing"] = dict(bad.get("billing") or {}, country="Atlantis")
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [*rows, bad]), encoding="utf-8")
    return "acc-unmappable"


def _quarantined(url: str) -> dict[tuple[str, str], str]:
    wh = Warehouse.open(url, migrate=False)
    try:
        with wh.tx() as c:
            q = T.quarantine.c
            return {(r.system, r.source_id): r.stage for r in c.execute(select(q.system, q.source_id, q.stage))}
    finally:
        wh.dispose()


def _load(config: Path, url: str, how: Any) -> None:
    proj = load_project(config)
    wh = Warehouse.open(url)
    ctx = RunContext.create(proj, wh)
    try:
        how(ctx)
    finally:
        ctx.close()
        wh.dispose()


def _spy_take(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """(system, records the worker had mapped) for every batch that takes the pool's results."""
    taken: list[tuple[str, int]] = []
    real_take = mapping_pool.MappingPool.take

    def spy(self: mapping_pool.MappingPool, rows: Any, *more: Any) -> Any:
        out = real_take(self, rows, *more)
        taken.append((self.system, len(out)))
        return out

    monkeypatch.setattr(mapping_pool.MappingPool, "take", spy)
    return taken


def test_a_mapping_worker_stores_what_mapping_in_place_stores(starter: Path, database_url: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    write_drops(World(seed=9, size=300), str(starter / "data"), erp_share=0.8)
    bad = _add_unmappable(starter)
    spied = _spy_take(monkeypatch)

    def cycle(ctx: RunContext) -> None:
        summary = run_cycle(ctx, entities=["account"], push=False)
        assert summary.status == "partial" and summary.process.quarantined == 1, (summary.status, summary.error)

    _load(_with_setting(starter, "map_workers: 1"), database_url, cycle)
    with_worker, quarantine = _snapshot(database_url), _quarantined(database_url)
    taken = [n for _system, n in spied]
    assert sum(taken) > 250 and taken.count(0) <= 3, taken   # most records of both systems (not the first batch)
    assert ("crm", bad) in quarantine and len(with_worker["golden"]) > 250

    spied.clear()
    _load(_with_setting(starter, "map_workers: 0"), database_url, lambda ctx: rematch(ctx, "account"))
    assert spied == []                          # no worker this time: every record mapped in place
    in_place = _snapshot(database_url)
    for part in ("xrefs", "decisions", "golden", "keys", "keysets", "projection"):
        assert with_worker[part] == in_place[part], part
    assert _quarantined(database_url) == quarantine


def test_a_worker_that_disagrees_is_dropped_and_the_records_are_mapped_in_place(
        starter: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A project file edited after the run began: the worker maps by the new file, and the check of each
    batch's first record sees it; nothing the worker mapped is used."""
    write_drops(World(seed=4, size=120), str(starter / "data"), erp_share=0.8)
    config = _with_setting(starter, "map_workers: 1")
    mapping = starter / "mappings" / "crm" / "account.yaml"
    original = mapping.read_text(encoding="utf-8")
    real_init = mapping_pool.MappingWorkers.__init__

    def edit_then_start(self: mapping_pool.MappingWorkers, *args: Any, **kw: Any) -> None:
        # the worker compiles the file as it is when it starts: names upper-cased from here on
        mapping.write_text(original.replace("\n  name: name\n", "\n  name: {from: name, transform: upper}\n"),
                           encoding="utf-8")
        real_init(self, *args, **kw)

    monkeypatch.setattr(mapping_pool.MappingWorkers, "__init__", edit_then_start)
    proj = load_project(config)          # compiled before the edit: the run maps names as they are
    wh = Warehouse.open(database_url)
    ctx = RunContext.create(proj, wh)
    try:
        with caplog.at_level("WARNING", logger="concord.process"):
            summary = run_cycle(ctx, entities=["account"], push=False)
    finally:
        ctx.close()
        wh.dispose()
        mapping.write_text(original, encoding="utf-8")
    assert summary.status == "success", summary.error
    names = [g[0].get("name") for g in _snapshot(database_url)["golden"].values() if g[4]["name"][0] == "crm"]
    assert names and not any(n.isupper() for n in names if n)
    assert "differs from this process's" in caplog.text


def test_one_set_of_workers_serves_every_stream_of_a_run_and_stops_with_it(
        starter: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two systems, a round that writes back and one that reads the writes back: the workers start once
    (a start costs about a second), every stream after the first uses them, and closing the run stops them."""
    write_drops(World(seed=5, size=300), str(starter / "data"), erp_share=0.8)
    started: list[mapping_pool.MappingWorkers] = []
    real_init = mapping_pool.MappingWorkers.__init__

    def count(self: mapping_pool.MappingWorkers, *args: Any, **kw: Any) -> None:
        real_init(self, *args, **kw)
        started.append(self)

    streams = _spy_take(monkeypatch)
    monkeypatch.setattr(mapping_pool.MappingWorkers, "__init__", count)
    proj = load_project(_with_setting(starter, "map_workers: 1"))
    wh = Warehouse.open(database_url)
    ctx = RunContext.create(proj, wh)
    try:
        summary = run_cycle(ctx, entities=["account"])
        assert summary.status == "success", summary.error
        assert len(started) == 1 and ctx.mapping_workers is started[0] and started[0].open
        procs = multiprocessing.active_children()      # the run's workers (processes this one started)
        assert summary.rounds >= 2
        assert {s for s, n in streams if n} == {"erp", "crm"}    # both systems' records mapped by the one worker
    finally:
        ctx.close()
        wh.dispose()
    assert ctx.mapping_workers is None and not started[0].open
    assert procs and all(not p.is_alive() for p in procs)


def test_records_a_worker_maps_are_still_found_by_the_golden_id_they_carry(
        starter: Path, database_url: str) -> None:
    """A worker maps the records, so their payloads are not read in the batch's transaction; the external-id
    field (Concord's golden id on records it created, their outcome lost) is read in the database instead,
    and such records are linked to the golden record they name, as when mapped in place."""
    write_drops(World(seed=6, size=200), str(starter / "data"), erp_share=1.0)
    path = starter / "data" / "crm" / "accounts.jsonl"
    crm = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    path.write_text("", encoding="utf-8")           # the ERP's customers first, alone
    _load(_with_setting(starter, "map_workers: 1"), database_url,
          lambda ctx: run_cycle(ctx, entities=["account"], push=False))
    wh = Warehouse.open(database_url, migrate=False)
    try:
        with wh.tx() as c:
            golden_ids = sorted(r.golden_id for r in c.execute(select(T.golden.c.golden_id)))[:60]
    finally:
        wh.dispose()
    # CRM accounts Concord created from 60 of them (unlike them by name and keys), with the golden id
    claimed = {f"acc-claim-{i:03d}": gid for i, gid in enumerate(golden_ids)}
    rows = [dict(crm[i], id=sid, name=f"Claimant {i} Holdings", erp_number=None, tax_number=None, phone=None,
                 website=None, concord_id=gid) for i, (sid, gid) in enumerate(claimed.items())]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        spied = _spy_take(mp)
        _load(_with_setting(starter, "map_workers: 1"), database_url,
              lambda ctx: run_cycle(ctx, entities=["account"], push=False))
    assert sum(n for _s, n in spied) >= 19, spied       # the batches after the first: mapped by the worker
    decisions = _snapshot(database_url)["decisions"]
    assert {sid: decisions[("crm", sid)][:3] for sid in claimed} == {
        sid: (gid, "link", "concord_id") for sid, gid in claimed.items()}
