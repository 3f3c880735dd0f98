"""End to end: a create whose answer is lost is linked on the retry, never created a second time.

The demo's sandboxes (one seeded world), with Fxiaoke as a target that Concord creates accounts and contacts
in (its open API has no upsert: every create is a plain ``data/create``). The Fxiaoke sandbox writes the
first creates and then cuts their answers off half-way. The hub cannot tell whether they happened; the
next push looks each one up by Concord's id (``concord_id__c``) and links the record it finds.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
import yaml

LOST = 3


@pytest.mark.timeout(300)
def test_a_retried_create_is_linked_not_duplicated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import create_engine, text

    from bench.bench_chaos import Clock, cycle
    from bench.bench_crash import World, warehouse_state

    world = World(tmp_path / "w", seed=5, size=6, batch=50)
    try:
        for k, v in world.demo.env.items():
            monkeypatch.setenv(k, v)
        path = world.folder / "concord.yaml"
        cfg = yaml.safe_load(path.read_text())
        for name in ("account", "contact"):       # the demo also syncs products, deals and invoices: not created here
            for rule in cfg["entities"][name].get("sync", []):
                if rule["target"] == "fxiaoke":
                    rule["mode"] = "upsert"          # create what Fxiaoke lacks, update the rest
        path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))

        app = world.running["fxiaoke"].app
        route, cut = app._route, []

        def cut_creates(req):  # type: ignore[no-untyped-def]
            name, resp = route(req)
            if name == "data/create" and len(cut) < LOST:
                resp.cut_body = True                 # written, and the answer is lost half-way
                cut.append(name)
            return name, resp

        app._route = cut_creates
        clock = Clock()
        for _ in range(6):
            c = cycle(world, clock)
            clock.offset += dt.timedelta(hours=2)    # retry back-offs come due
            if warehouse_state(world.url)["open_writes"] == 0 and c["written"] == 0:
                break
        assert len(cut) == LOST

        st = world.running["fxiaoke"].state
        rows = [r for api in ("AccountObj", "ContactObj") for r in st.table(api).rows.values()
                if r.get("is_deleted") is not True]
        carried = Counter(r["concord_id__c"] for r in rows if r.get("concord_id__c"))
        assert carried and max(carried.values()) == 1, [g for g, n in carried.items() if n > 1]   # none twice
        by_gid = {r["concord_id__c"]: str(r["_id"]) for r in rows if r.get("concord_id__c")}

        eng = create_engine(world.url)
        try:
            with eng.connect() as conn:
                outbox = list(conn.execute(text(
                    "select golden_id, op, status, attempts from outbox where system = 'fxiaoke'")))
                links = {(r.golden_id, str(r.source_id)) for r in conn.execute(text(
                    "select golden_id, source_id from xref where system = 'fxiaoke' and state = 'linked'"))}
        finally:
            eng.dispose()
        creates = [r for r in outbox if r.op == "create"]
        # a lost create is settled by lookup before it is re-sent (done), or by the next pull, which reads the
        # record it made and links it (the queued retry is then superseded, never sent again)
        assert creates and all(r.status in ("done", "superseded") for r in creates), creates
        assert sum(1 for r in creates if r.attempts > 1 or r.status == "superseded") >= LOST
        assert not [r for r in outbox if r.status == "dead"]
        for r in creates:                                                  # each linked to the one record it made
            assert (r.golden_id, by_gid[r.golden_id]) in links
        assert len(links) == len({g for g, _s in links})                  # no golden record linked twice
        assert len(by_gid) == len({r.golden_id for r in creates})
    finally:
        world.stop()
