""""Jepsen for sync": random edits on both sides over many rounds, with faults and hub crashes.

An ERP (Oracle Fusion sandbox) and a CRM (Zoho CRM sandbox) are edited at random between Concord's
cycles, through their own APIs, while the sandboxes inject 429s, 5xx, dropped connections, latency
and expired tokens, and the hub "crashes" in the middle of pulls and pushes. At the end the systems
agree on every synced field, every last edit of a field either won or is listed as a conflict, and
no record is duplicated. The suite runs one seed; bench/bench_convergence.py runs many.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from concord.hub import registry
from concord.hub.config import load_project
from concord.hub.contracts import Change, ConnectorContext
from concord.hub.engine import RunContext, run_cycle
from concord.hub.engine import crashpoints
from concord.hub.http import HttpToolkit
from concord.hub.sandbox.faults import FaultConfig
from concord.hub.sandbox.world import World
from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T
from tests import ROOT

FIELDS = {  # canonical field -> (ERP field, CRM field): synced both ways
    "name": ("AccountName", "Account_Name"),
    "website": ("URL", "Website"),
    "email": ("PrimaryEmailAddress", "Email"),
}
# Transient faults only: a record the vendor rejects for good is dead-lettered (and tested elsewhere).
FAULTS = ("429", "503", "latency", "drop", "token_expiry")


@dataclass
class Edit:
    round: int
    system: str
    source_id: str
    field: str
    value: str


class Harness:
    def __init__(self, folder: Path, url: str, seed: int, size: int = 24) -> None:
        self.rng = random.Random(seed)
        world = World(seed=seed, size=size)
        self.erp = registry.sandbox_starter("oracle_fusion")(world, faults=FaultConfig(seed=seed, kinds=FAULTS),
                                                             resources=("customerAccounts",))
        self.crm = registry.sandbox_starter("zoho_crm")(world, faults=FaultConfig(seed=seed + 1, kinds=FAULTS),
                                                        modules=("Accounts",))
        os.environ.update(self.erp.env)
        os.environ.update(self.crm.env)
        (folder / "mappings").mkdir(parents=True)
        for side, conn in (("erp", "oracle_fusion"), ("crm", "zoho_crm")):
            (folder / "mappings" / f"{side}.yaml").write_text((ROOT / "mappings" / conn / "account.yaml").read_text())
        crm_cfg = dict(self.crm.connector_config, external_id_fields={"Accounts": "Concord_ID"})
        cfg = {"version": 1, "warehouse": url, "max_attempts": 50,
               "systems": {"erp": {"connector": "oracle_fusion", "config": self.erp.connector_config},
                           "crm": {"connector": "zoho_crm", "config": crm_cfg}},
               "entities": {"account": {
                   "sources": {"erp": {"mapping": "mappings/erp.yaml"}, "crm": {"mapping": "mappings/crm.yaml"}},
                   "match": [{"name": "erp_number", "fields": ["erp_customer_number"]},
                             {"name": "tax_id", "fields": ["tax_id"]}],
                   "survivorship": {"strategy": "latest", "priority": ["erp", "crm"]},
                   "conflicts": {"policy": "latest_wins"},
                   "sync": [{"target": "crm", "mode": "upsert", "fields": sorted(FIELDS) + ["erp_customer_number", "tax_id"]},
                            {"target": "erp", "mode": "update", "fields": sorted(FIELDS)}]}}}
        self.config = folder / "concord.yaml"
        self.config.write_text(yaml.safe_dump(cfg, sort_keys=False))
        self.url = url
        self.edits: list[Edit] = []
        # "users" edit through the vendors' APIs with connectors of their own (no faults while they type)
        project = load_project(self.config)
        tk = HttpToolkit()
        self.users = {s: registry.connector_class(project.config.systems[s].connector)(
            project.connector_configs[s], ConnectorContext(system=f"user-{s}", http=tk)) for s in ("erp", "crm")}
        self.entity = {"erp": "customerAccounts", "crm": "Accounts"}

    def stop(self) -> None:
        self.erp.stop()
        self.crm.stop()

    def faults(self, rate: float) -> None:
        for sb in (self.erp, self.crm):
            sb.app.faults.config.rate = rate
            sb.app.faults.config.record_failure_rate = rate / 2
            sb.app.faults.paused = rate == 0

    def cycle(self, crash_at: str | None = None) -> Any:
        project = load_project(self.config)
        wh = Warehouse.open(self.url)
        ctx = RunContext.create(project, wh)
        crashpoints.reset()
        if crash_at:
            os.environ.update(CONCORD_CRASHPOINT=crash_at, CONCORD_CRASHPOINT_ACTION="raise")
        try:
            return run_cycle(ctx)
        except crashpoints.SimulatedCrash:
            return None
        finally:
            os.environ.pop("CONCORD_CRASHPOINT", None)
            os.environ.pop("CONCORD_CRASHPOINT_ACTION", None)
            ctx.close()
            wh.dispose()

    def outstanding(self) -> tuple[int, float]:
        """Outbox rows still to send, and seconds until the earliest retry is due."""
        import datetime as dt

        wh = Warehouse.open(self.url, migrate=False)
        with wh.tx() as conn:
            o = T.outbox.c
            rows = list(conn.execute(select(o.next_attempt_at).where(o.status.in_(["pending", "failed", "sending"]))))
        wh.dispose()
        now = dt.datetime.now(dt.timezone.utc)
        waits = [((r.next_attempt_at if r.next_attempt_at.tzinfo else r.next_attempt_at.replace(tzinfo=dt.timezone.utc))
                  - now).total_seconds() for r in rows if r.next_attempt_at is not None]
        return len(rows), max(0.0, min(waits, default=0.0))

    def settle(self, max_cycles: int = 10) -> Any:
        """Cycles without faults until nothing is left to write (waiting for retry back-offs to come due)."""
        import time

        self.faults(0)
        s = None
        for _ in range(max_cycles):
            s = self.cycle()
            left, wait = self.outstanding()
            if s is not None and s.written == 0 and left == 0:
                return s
            if left and wait:
                time.sleep(min(wait + 0.1, 20))
        raise AssertionError(f"the systems never settled: {self.outstanding()[0]} writes outstanding")

    def linked(self) -> dict[str, dict[str, str]]:
        wh = Warehouse.open(self.url, migrate=False)
        with wh.tx() as conn:
            x = T.xref.c
            out: dict[str, dict[str, str]] = {}
            for r in conn.execute(select(x.golden_id, x.system, x.source_id).where(x.state != "deleted")):
                out.setdefault(r.golden_id, {})[r.system] = r.source_id
        wh.dispose()
        return {g: s for g, s in out.items() if set(s) == {"erp", "crm"}}

    def user_edits(self, rnd: int, n: int) -> None:
        self.faults(0)
        pairs = list(self.linked().items())
        for _ in range(n):
            gid, ids = self.rng.choice(pairs)
            system = self.rng.choice(["erp", "crm"])
            field = self.rng.choice(sorted(FIELDS))
            token = f"r{rnd}-{system}-{self.rng.randrange(10**6)}"
            value = {"name": f"Company {token}", "website": f"https://{token}.example.com",
                     "email": f"{token}@example.com"}[field]
            native = FIELDS[field][0 if system == "erp" else 1]
            [res] = self.users[system].write(self.entity[system], [Change(
                op="update", entity=self.entity[system], key=ids[system], fields={native: value},
                idempotency_key=f"user-{token}")])
            assert res.ok, res.error
            self.edits.append(Edit(rnd, system, gid, field, value))

    def current(self) -> dict[str, dict[str, dict[str, Any]]]:
        """golden id -> system -> canonical values, read fresh from the systems through the connectors."""
        project = load_project(self.config)
        out: dict[str, dict[str, dict[str, Any]]] = {}
        by_id = {(s, sid): g for g, ids in self.linked().items() for s, sid in ids.items()}
        for s in ("erp", "crm"):
            m = project.mapping("account", s)
            spec = next(e for e in self.users[s].entities() if e.name == self.entity[s])
            for page in self.users[s].read(self.entity[s]):
                for rec in page.records:
                    sid = "|".join(str(rec[k]) for k in spec.primary_key)
                    if (s, sid) in by_id:
                        out.setdefault(by_id[(s, sid)], {})[s] = m.to_canonical_flat(rec)
        return out


@pytest.mark.slow
def test_random_edits_faults_and_crashes_converge(tmp_path: Path, database_url: str) -> None:
    h = Harness(tmp_path / "p", database_url, seed=20261127)
    try:
        h.cycle(crash_at="push.after_call:1")          # the hub dies right after its first write call
        h.cycle()
        crm_count = len([r for p in h.users["crm"].read("Accounts") for r in p.records])
        crashes = ["pull.after_page:2", "push.after_call:1", None, "process.after_batch:1", None, None]
        for rnd, crash in enumerate(crashes, start=1):
            h.user_edits(rnd, n=6)
            h.faults(0.15)
            h.cycle(crash_at=crash)
        h.settle()                                      # quiet: retries come due, then nothing is left to write

        # 1. no duplicates: the CRM holds exactly the accounts it held after the initial load
        assert len([r for p in h.users["crm"].read("Accounts") for r in p.records]) == crm_count
        # 2. agreement on every synced field
        now = h.current()
        for gid, per in now.items():
            for f in FIELDS:
                assert per["erp"].get(f) == per["crm"].get(f), (gid, f, per)
        # 3. every last edit of a field either won, or lost to a competing edit and is listed as a conflict
        wh = Warehouse.open(database_url, migrate=False)
        with wh.tx() as conn:
            conflicts = [dict(r._mapping) for r in conn.execute(select(T.conflict))]
        wh.dispose()
        last_round: dict[tuple[str, str], int] = {}
        for e in h.edits:
            last_round[(e.source_id, e.field)] = max(last_round.get((e.source_id, e.field), 0), e.round)
        for (gid, f), rnd in last_round.items():
            final = now[gid]["erp"].get(f)
            competing = [e for e in h.edits if (e.source_id, e.field, e.round) == (gid, f, rnd)]
            assert final in {e.value for e in competing} or any(
                c["golden_id"] == gid and c["field"] == f for c in conflicts), (gid, f, final, competing)
            for e in competing:
                if e.value != final:
                    assert any(c["golden_id"] == gid and c["field"] == f and e.value in (c["left"], c["right"])
                               for c in conflicts) or len([x for x in competing if x.system == e.system]) > 1, \
                        f"edit {e} was lost without a conflict"
        injected = {k: v for sb in (h.erp, h.crm) for k, v in sb.app.faults.injected.items()}
        assert sum(injected.values()) > 10, injected
    finally:
        h.stop()


def test_daily_api_budget_is_respected_and_reported(tmp_path: Path, database_url: str) -> None:
    h = Harness(tmp_path / "p", database_url, seed=7)
    try:
        cfg = yaml.safe_load(h.config.read_text())
        cfg["systems"]["crm"]["daily_budget"] = 6
        h.config.write_text(yaml.safe_dump(cfg, sort_keys=False))
        s = h.cycle()
        crm_calls = s.api_calls["crm"]["calls"]
        assert crm_calls <= 6, s.api_calls               # the HTTP layer refuses the call that would go over
        assert s.status == "partial"
        assert any("budget" in (x.error or "") for x in s.streams if x.system == "crm")
        s2 = h.cycle()                                   # the same day: nothing more is spent on the CRM
        assert s2.api_calls.get("crm", {}).get("calls", 0) == 0
        from sqlalchemy import func

        wh = Warehouse.open(database_url, migrate=False)
        with wh.tx() as conn:
            queued = conn.execute(select(func.count()).select_from(T.dirty)).scalar()
        wh.dispose()
        assert queued + h.outstanding()[0] > 0           # the work waits (queued for planning or in the outbox)
    finally:
        h.stop()
