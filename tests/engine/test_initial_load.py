"""The initial-load (fresh) path stores exactly what the incremental path stores on the same data.

An entity with no golden records takes the fresh path for its first system: no candidate lookups,
several batches per transaction. The same drops are loaded that way, then re-matched with the fresh
path switched off (every batch looks its candidates up in the warehouse); golden records, lineage,
cross-references, match keys, decisions and the typed projection must be equal.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from concord.connectors.files.sandbox import write_drops
from concord.hub.config import load_project
from concord.hub.engine import RunContext, process, run_cycle
from concord.hub.engine.rematch import rematch
from concord.hub.sandbox.world import World
from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T
from concord.hub.warehouse.stores import golden as golden_store


def _duplicate_crm(folder: Path) -> None:
    """Copies of CRM accounts under new ids (same exact keys and names: within one system they
    never merge), some landing in the same batch as their original, some batches later."""
    path = folder / "data" / "crm" / "accounts.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    extra = []
    for i, r in enumerate(rows[:40]):
        copy = dict(r, id=f"{r['id']}-dup" if i % 2 else f"zz-{r['id']}")
        if i % 3 == 0:
            copy["name"] = copy["name"] + " x"
        extra.append(copy)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows + extra), encoding="utf-8")


def _snapshot(url: str) -> dict[str, Any]:
    wh = Warehouse.open(url, migrate=False)
    try:
        with wh.tx() as c:
            g, x, k, d = T.golden.c, T.xref.c, T.match_hash.c, T.match_decision.c
            golden = {r.golden_id: (r.data, r.data_hash, r.deleted, r.title,
                                    {f: (e.system, e.source_id, e.source_updated_at)
                                     for f, e in golden_store.decode_lineage(r.lineage).items()})
                      for r in c.execute(select(T.golden).where(g.entity == "account"))}
            xrefs = {(r.system, r.source_id): (r.golden_id, r.state)
                     for r in c.execute(select(T.xref).where(x.entity == "account"))}
            keys = {tuple(r) for r in c.execute(select(k.key_hash, k.golden_id).where(k.entity == "account"))}
            keysets = {tuple(r) for r in c.execute(select(T.match_keyset.c.golden_id, T.match_keyset.c.hashes))}
            decisions: dict[tuple[str, str], Any] = {}
            for r in c.execute(select(T.match_decision).where(d.entity == "account").order_by(d.id)):
                decisions[(r.system, r.source_id)] = (r.golden_id, r.decision, r.rule, r.score, r.evidence)
            canon = T.CANONICAL["account"]
            projection = {r.golden_id: {kk: v for kk, v in r._mapping.items() if kk != "_updated_at" and kk != "_version"}
                          for r in c.execute(select(canon))}
        return {"golden": golden, "xrefs": xrefs, "keys": keys, "keysets": keysets, "decisions": decisions, "projection": projection}
    finally:
        wh.dispose()


@pytest.fixture
def loaded(starter: Path) -> Path:
    write_drops(World(seed=5, size=260), str(starter / "data"), erp_share=0.8)
    _duplicate_crm(starter)
    cfg = starter / "concord.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\nbatch_size: 37\n", encoding="utf-8")
    return starter


def test_fresh_path_equals_incremental_path(loaded: Path, database_url: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(process, "FRESH_TX_RECORDS", 90)      # several transactions, batches cut across them
    calls: list[bool] = []
    real = golden_store.entity_is_empty

    def spy(conn: Any, entity: str) -> bool:
        calls.append(real(conn, entity))
        return calls[-1]

    monkeypatch.setattr(golden_store, "entity_is_empty", spy)
    proj = load_project(loaded / "concord.yaml")
    wh = Warehouse.open(database_url)
    ctx = RunContext.create(proj, wh)
    try:
        summary = run_cycle(ctx, entities=["account"], push=False)
    finally:
        ctx.close()
        wh.dispose()
    assert summary.status == "success", summary.error
    assert calls[:2] == [True, False]       # the first system took the fresh path, the second did not
    fresh = _snapshot(database_url)
    assert len(fresh["golden"]) > 200 and any(v == "link" for _g, v, *_ in fresh["decisions"].values())

    # the same data again, every batch through the candidate lookups
    monkeypatch.setattr(golden_store, "entity_is_empty", lambda conn, entity: False)
    wh = Warehouse.open(database_url)
    ctx = RunContext.create(proj, wh)
    try:
        rematch(ctx, "account")
    finally:
        ctx.close()
        wh.dispose()
    incremental = _snapshot(database_url)
    for part in ("xrefs", "decisions", "golden", "keys", "projection"):
        assert fresh[part] == incremental[part], part
