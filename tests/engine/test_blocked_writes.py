"""A write whose parent no rule will ever write is reported as blocked, with the reason; never waits silently."""
from __future__ import annotations

import json
from pathlib import Path

import yaml
from sqlalchemy import select

from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T
from tests.conftest import run_cli
from tests.engine.helpers import read_csv


def _accounts_to_erp_update_only(starter: Path) -> None:
    cfg_path = starter / "concord.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    for rule in cfg["entities"]["account"]["sync"]:
        if rule["target"] == "erp":
            rule["mode"] = "update_only"
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))


def test_children_of_a_parent_an_update_only_rule_never_creates_are_blocked(starter: Path, database_url: str) -> None:
    _accounts_to_erp_update_only(starter)

    proc = run_cli("sync", "--json", cwd=starter, check=False)
    out = json.loads(proc.stdout)
    assert proc.returncode == 1 and out["status"] == "partial"          # not a silent success
    erp_contacts = out["streams"]["erp"]["contact"]
    assert erp_contacts["push_status"] == "partial"
    assert any("blocked" in e and "never be written to erp" in e for e in erp_contacts["errors"])

    wh = Warehouse.open(database_url, migrate=False)
    with wh.tx() as conn:
        o = T.outbox.c
        rows = list(conn.execute(select(o.status, o.last_error).where(o.system == "erp", o.entity == "contact",
                                                                     o.status == "pending")))
    wh.dispose()
    assert rows and all(r.last_error["kind"] == "blocked" for r in rows)
    assert all("update_only" in r.last_error["message"] and "concord link" in r.last_error["message"] for r in rows)
    # nothing orphaned in the ERP: the blocked contacts were not written without their account
    erp_customers = {r["CustomerNo"] for r in read_csv(starter / "data/erp/customers.csv")}
    assert all(c["CustomerNo"] in erp_customers for c in read_csv(starter / "data/erp/contacts.csv"))


def test_status_reports_blocked_writes_with_the_reason(starter: Path) -> None:
    _accounts_to_erp_update_only(starter)
    run_cli("sync", cwd=starter, check=False)
    proc = run_cli("status", "--json", cwd=starter, check=False)
    data = json.loads(proc.stdout)
    blocked = [w for w in data["waiting"] if w["kind"] == "blocked"]
    assert blocked and blocked[0]["system"] == "erp" and blocked[0]["entity"] == "contact"
    assert "update_only" in blocked[0]["reason"]
    assert proc.returncode == 1 and any("blocked" in r for r in data["reasons"])
    human = run_cli("status", cwd=starter, check=False)
    assert "blocked" in human.stdout and "update_only" in human.stdout
