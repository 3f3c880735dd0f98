"""Sync rules: modes, conditions, ownership, conflict policies, dependency order, echo suppression, replay."""
from __future__ import annotations

import json
from pathlib import Path

import yaml
from sqlalchemy import select

from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T
from tests.conftest import run_cli
from tests.engine.helpers import read_csv, read_jsonl, write_csv, write_jsonl


def _config(project: Path) -> dict:
    return yaml.safe_load((project / "concord.yaml").read_text())


def _save(project: Path, cfg: dict) -> None:
    (project / "concord.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))


def _erp(project: Path) -> dict[str, dict[str, str]]:
    return {r["CustomerNo"]: r for r in read_csv(project / "data/erp/customers.csv")}


def _crm(project: Path) -> dict[str, dict]:
    return {r["id"]: r for r in read_jsonl(project / "data/crm/accounts.jsonl")}


def _edit_erp(project: Path, key: str, **values: str) -> None:
    rows = read_csv(project / "data/erp/customers.csv")
    for r in rows:
        if r["CustomerNo"] == key:
            r.update(values)
    write_csv(project / "data/erp/customers.csv", rows)


def _edit_crm(project: Path, key: str, **values: object) -> None:
    rows = read_jsonl(project / "data/crm/accounts.jsonl")
    for r in rows:
        if r["id"] == key:
            r.update(values)
    write_jsonl(project / "data/crm/accounts.jsonl", rows)


def _sync(project: Path) -> dict:
    proc = run_cli("sync", "--json", cwd=project, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def _written(summary: dict) -> int:
    return sum(v.get("written", 0) for s in summary["streams"].values() for v in s.values())


def _conflicts(project: Path, all_: bool = False) -> list[dict]:
    args = ["conflicts", "list", "--json"] + (["--all"] if all_ else [])
    return json.loads(run_cli(*args, cwd=project).stdout)["items"]


def test_owner_of_a_field_wins_and_a_non_owner_edit_is_reverted(starter: Path) -> None:
    _sync(starter)
    _edit_crm(starter, "acc-1", credit_limit="999999", updated_at="2026-11-25T00:00:00")
    s = _sync(starter)
    assert _crm(starter)["acc-1"]["credit_limit"] == "50000"   # the ERP owns credit limits
    assert _erp(starter)["C1"]["CreditLimit"] == "50.000,00"
    assert s["streams"]["crm"]["account"]["written"] == 1
    assert _written(_sync(starter)) == 0                        # and it stays that way


def test_latest_wins_conflict_is_decided_and_listed(starter: Path) -> None:
    _sync(starter)
    _edit_erp(starter, "C2", Name1="Bluepeak Software (ERP)", ChangedAt="2026-11-26T08:00:00")
    _edit_crm(starter, "acc-2", name="Bluepeak Software (CRM)", updated_at="2026-11-26T09:00:00")
    _sync(starter)
    assert _erp(starter)["C2"]["Name1"] == _crm(starter)["acc-2"]["name"] == "Bluepeak Software (CRM)"
    decided = [c for c in _conflicts(starter, all_=True) if c["field"] == "name"]
    assert len(decided) == 1 and decided[0]["status"] == "auto"
    assert decided[0]["resolution"]["winner"] == "crm" and decided[0]["base"] == "Bluepeak Software AG"
    # the ERP edit was the later one: the ERP wins this time
    _edit_erp(starter, "C2", Name1="Bluepeak AG", ChangedAt="2026-11-27T12:00:00")
    _edit_crm(starter, "acc-2", name="Bluepeak Software", updated_at="2026-11-27T11:00:00")
    _sync(starter)
    assert _erp(starter)["C2"]["Name1"] == _crm(starter)["acc-2"]["name"] == "Bluepeak AG"


def test_owner_wins_policy(starter: Path) -> None:
    cfg = _config(starter)
    cfg["entities"]["account"]["ownership"] = {"name": "erp"}
    cfg["entities"]["account"]["conflicts"] = {"policy": "owner_wins"}
    _save(starter, cfg)
    _sync(starter)
    _edit_erp(starter, "C2", Name1="Bluepeak (ERP)", ChangedAt="2026-11-26T08:00:00")
    _edit_crm(starter, "acc-2", name="Bluepeak (CRM)", updated_at="2026-11-26T09:00:00")
    _sync(starter)
    assert _crm(starter)["acc-2"]["name"] == "Bluepeak (ERP)"


def test_hold_blocks_only_that_field_until_a_person_decides(starter: Path) -> None:
    cfg = _config(starter)
    cfg["entities"]["account"]["conflicts"] = {"policy": "hold"}
    _save(starter, cfg)
    _sync(starter)
    _edit_erp(starter, "C4", Name1="Orbis Trading (ERP)", ChangedAt="2026-11-26T08:00:00")
    _edit_crm(starter, "acc-4", name="Orbis Trading (CRM)", website="https://orbis.example",
              updated_at="2026-11-26T09:00:00")
    s = _sync(starter)
    assert s["conflicts_open"] == 1
    assert _erp(starter)["C4"]["Name1"] == "Orbis Trading (ERP)"          # nothing written for the held field
    assert _crm(starter)["acc-4"]["name"] == "Orbis Trading (CRM)"
    [c] = _conflicts(starter)
    assert (c["field"], c["base"], c["left"], c["right"]) == ("name", "Orbis Trading Ltd", "Orbis Trading (ERP)",
                                                              "Orbis Trading (CRM)")
    assert _written(_sync(starter)) == 0                                     # held: stays put, no flip-flop
    run_cli("conflicts", "resolve", str(c["id"]), "--take", "right", cwd=starter)
    _sync(starter)
    assert _erp(starter)["C4"]["Name1"] == _crm(starter)["acc-4"]["name"] == "Orbis Trading (CRM)"
    assert _conflicts(starter) == []
    assert _written(_sync(starter)) == 0


def test_condition_keeps_prospects_out_of_the_erp_and_children_wait(starter: Path, database_url: str) -> None:
    cfg = _config(starter)
    for rule in cfg["entities"]["account"]["sync"]:
        if rule["target"] == "erp":
            rule["when"] = [{"field": "lifecycle", "in": ["customer"]}]
    _save(starter, cfg)
    _sync(starter)
    names = {r["Name1"] for r in _erp(starter).values()}
    assert "Silverline Analytics Inc" not in names and "Aurora Robotics GmbH" not in names
    assert "Helix Medical GmbH" in {r["name"] for r in _crm(starter).values()}
    # Oliver Clark works for the prospect Silverline: his contact waits for its account, no orphan in the ERP
    erp_contacts = {r["LastName"] for r in read_csv(starter / "data/erp/contacts.csv")}
    assert "Clark" not in erp_contacts
    wh = Warehouse.open(database_url, migrate=False)
    with wh.tx() as conn:
        o = T.outbox.c
        waiting = list(conn.execute(select(o.status, o.last_error).where(o.system == "erp", o.entity == "contact",
                                                                        o.status == "pending")))
    wh.dispose()
    assert len(waiting) == 1 and waiting[0].last_error["kind"] == "waiting"
    # the prospect becomes a customer: the account is created, and then the contact follows
    _edit_crm(starter, "acc-3", type="Customer", updated_at="2026-11-27T10:00:00")
    _sync(starter)
    assert "Silverline Analytics Inc" in {r["Name1"] for r in _erp(starter).values()}
    contacts = {r["LastName"]: r for r in read_csv(starter / "data/erp/contacts.csv")}
    silverline = next(k for k, r in _erp(starter).items() if r["Name1"] == "Silverline Analytics Inc")
    assert contacts["Clark"]["CustomerNo"] == silverline


def test_update_only_creates_nothing_and_mirror_deletes(starter: Path) -> None:
    cfg = _config(starter)
    for rule in cfg["entities"]["account"]["sync"]:
        rule["mode"] = "update_only" if rule["target"] == "erp" else "mirror"
    _save(starter, cfg)
    _sync(starter)
    assert len(_erp(starter)) == 5                      # CRM-only accounts were not created in the ERP
    assert len(_crm(starter)) == 7                      # ERP-only ones were (mirror creates too)
    rows = [r for r in read_csv(starter / "data/erp/customers.csv") if r["CustomerNo"] != "C5"]
    write_csv(starter / "data/erp/customers.csv", rows)
    _sync(starter)
    assert "Kestrel Foods SARL" not in {r["name"] for r in _crm(starter).values()}


def test_no_flip_flop_over_many_rounds(starter: Path) -> None:
    _sync(starter)
    for i in range(4):
        _edit_erp(starter, "C1", Phone=f"040 12345{i:02d}", ChangedAt=f"2026-12-0{i + 1}T08:00:00")
        _edit_crm(starter, "acc-2", website=f"https://bluepeak{i}.example", updated_at=f"2026-12-0{i + 1}T09:00:00")
        s = _sync(starter)
        assert s["streams"]["crm"]["account"]["written"] == 1 and s["streams"]["erp"]["account"]["written"] == 0
        assert _crm(starter)["acc-1"]["phone"].replace(" ", "") == f"+494012345{i:02d}"
        for _ in range(2):
            assert _written(_sync(starter)) == 0      # the systems agree: no more writes, no echo


def test_replay_repushes_a_window_to_one_system(starter: Path) -> None:
    _sync(starter)
    before = _crm(starter)
    out = json.loads(run_cli("replay", "--system", "crm", "--entity", "account", "--since", "2000-01-01", "--json",
                             cwd=starter).stdout)
    assert out["queued"] == 7 and all(c["op"] == "update" for c in out["changes"])
    assert len(out["changes"][0]["fields"]) > 5          # the whole golden state, not a diff
    s = _sync(starter)
    assert s["streams"]["crm"]["account"]["written"] == 7 and s["streams"]["erp"]["account"]["written"] == 0
    after = _crm(starter)
    assert {k: r["name"] for k, r in after.items()} == {k: r["name"] for k, r in before.items()}
    assert after["acc-1"]["website"] == "https://www.nordwind.example"   # the golden (normalised) value
    assert _written(_sync(starter)) == 0


def test_many_waiting_children_do_not_block_the_queue(starter: Path, database_url: str) -> None:
    """More waiting children than one batch holds must not hide the writes queued behind them."""
    cfg = _config(starter)
    cfg["systems"]["erp"]["config"]["max_batch"] = 1          # one change per write call
    for rule in cfg["entities"]["account"]["sync"]:
        if rule["target"] == "erp":
            rule["when"] = [{"field": "lifecycle", "in": ["customer"]}]
    _save(starter, cfg)
    contacts = read_jsonl(starter / "data/crm/contacts.jsonl")
    contacts[0:0] = [{"id": f"con-w{i}", "account_id": "acc-3", "first_name": "Wait", "last_name": f"Er{i}",
                      "email": f"wait{i}@silverline.example", "updated_at": "2026-11-12T09:35:00"} for i in range(3)]
    write_jsonl(starter / "data/crm/contacts.jsonl", contacts)
    _sync(starter)
    erp_contacts = {r["LastName"]: r for r in read_csv(starter / "data/erp/contacts.csv")}
    assert not any(n.startswith("Er") for n in erp_contacts) and "Clark" not in erp_contacts   # they wait
    assert erp_contacts["Weber"]["Function"] == "Head of Purchasing"    # the write queued behind them went out
