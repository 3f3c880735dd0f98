"""The whole cycle, end to end, over two `files` systems with different field names."""
from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import select

from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T
from concord.hub.warehouse.stores import golden as golden_store
from tests.conftest import run_cli
from tests.engine.helpers import (canonical_by_system, cycle, read_csv, read_jsonl, table_counts, write_csv,
                                  write_jsonl)

SHARED_ACCOUNT_FIELDS = {"name", "tax_id", "erp_customer_number", "billing_address.street", "billing_address.city",
                         "billing_address.postal_code", "billing_address.country", "phone", "credit_limit",
                         "payment_terms", "currency"}


def _snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """The drops (not the connector's lock files and snapshot indexes)."""
    out = {}
    for p in sorted((folder / "data").rglob("*")):
        if p.is_file() and not p.name.endswith(".lock") and ".concord_index" not in p.parts:
            out[str(p)] = (p.stat().st_mtime_ns, p.read_bytes())
    return out


def test_two_systems_agree_after_sync(starter: Path, database_url: str) -> None:
    proc = run_cli("sync", "--json", cwd=starter)
    summary = json.loads(proc.stdout)
    assert summary["status"] == "success", summary
    assert summary["golden_records"] == {"account": 7, "contact": 4}
    # both directions moved: CRM-only accounts went to the ERP, ERP-only ones to the CRM
    erp = read_csv(starter / "data/erp/customers.csv")
    crm = read_jsonl(starter / "data/crm/accounts.jsonl")
    assert {r["Name1"] for r in erp} >= {"Silverline Analytics Inc", "Aurora Robotics GmbH"}
    assert {r["name"] for r in crm} >= {"Helix Medical GmbH", "Kestrel Foods SARL"}
    assert len(erp) == len(crm) == 7
    # the ERP numbers that the ERP assigned on create reached the CRM in the same sync
    numbers = {r["Name1"]: r["CustomerNo"] for r in erp}
    assert {r["name"]: r.get("erp_number") for r in crm}["Silverline Analytics Inc"] == numbers["Silverline Analytics Inc"]
    # a second sync reads its own writes back; then both systems hold the same values
    run_cli("sync", cwd=starter)
    views = canonical_by_system(database_url, "account")
    assert len(views) == 7
    for gid, per in views.items():
        assert set(per) == {"erp", "crm"}, gid
        for f in SHARED_ACCOUNT_FIELDS:
            assert per["erp"].get(f) == per["crm"].get(f), (gid, f, per)


def test_golden_records_are_typed_and_cross_referenced(starter: Path, database_url: str) -> None:
    run_cli("sync", cwd=starter)
    wh = Warehouse.open(database_url, migrate=False)
    with wh.tx() as conn:
        acc = {r.name: r for r in conn.execute(select(T.CANONICAL["account"]))}
        assert acc["Bluepeak Software AG"].credit_limit == 120000  # a real number, not text
        assert acc["Bluepeak Software AG"].billing_address__country == "DE"
        x = T.xref.c
        links = {(r.system, r.source_id) for r in conn.execute(select(x.system, x.source_id)
                                                                 .where(x.golden_id == acc["Bluepeak Software AG"].golden_id))}
        assert links == {("erp", "C2"), ("crm", "acc-2")}
        owner = {f: e["system"] for f, e in golden_store.lineage_of(conn, "account",
                                                                    acc["Bluepeak Software AG"].golden_id).items()}
        assert owner["credit_limit"] == "erp" and owner["website"] == "crm"
        dec = {r.decision for r in conn.execute(select(T.match_decision.c.decision))}
        assert {"link", "new"} <= dec
    wh.dispose()


def test_second_sync_writes_nothing_and_one_change_moves_one_record(starter: Path, database_url: str) -> None:
    run_cli("sync", cwd=starter)
    before = _snapshot(starter)
    second = json.loads(run_cli("sync", "--json", cwd=starter).stdout)
    assert sum(v.get("written", 0) for s in second["streams"].values() for v in s.values()) == 0
    assert _snapshot(starter) == before, "a sync with no source changes rewrote a file"
    # one CRM account changes its phone (CRM data wins under `latest`)
    crm = read_jsonl(starter / "data/crm/accounts.jsonl")
    for r in crm:
        if r["name"] == "Orbis Trading Ltd":
            r["phone"] = "+44 20 7946 0000"
            r["updated_at"] = "2026-11-20T10:00:00"
    write_jsonl(starter / "data/crm/accounts.jsonl", crm)
    third = json.loads(run_cli("sync", "--json", cwd=starter).stdout)
    assert third["streams"]["erp"]["account"]["written"] == 1
    assert third["streams"]["crm"]["account"]["written"] == 0
    assert third["streams"]["erp"]["contact"]["written"] == 0
    erp = {r["CustomerNo"]: r for r in read_csv(starter / "data/erp/customers.csv")}
    assert erp["C4"]["Phone"] == "+442079460000"


def test_plan_writes_nothing_and_predicts_the_sync(starter: Path, database_url: str) -> None:
    run_cli("sync", cwd=starter)
    crm = read_jsonl(starter / "data/crm/accounts.jsonl")
    crm[0]["name"] = "Nordwind Logistik Hamburg GmbH"
    crm[0]["updated_at"] = "2026-11-21T10:00:00"
    write_jsonl(starter / "data/crm/accounts.jsonl", crm)
    erp = read_csv(starter / "data/erp/customers.csv")
    erp[1]["PaymentTerms"] = "NET60"
    write_csv(starter / "data/erp/customers.csv", erp)

    def indexes() -> dict[str, int]:
        return {str(p): p.stat().st_mtime_ns for p in (starter / "data").rglob("*") if ".concord_index" in p.parts}

    files_before, tables_before, indexes_before = _snapshot(starter), table_counts(database_url), indexes()
    plan = json.loads(run_cli("plan", "--json", cwd=starter).stdout)
    assert _snapshot(starter) == files_before
    assert indexes() == indexes_before, "plan left snapshot indexes beside the drops"
    assert table_counts(database_url) == tables_before, "plan left rows behind"
    predicted = sorted((c["system"], c["golden_id"], c["op"], json.dumps({k: v["to"] for k, v in c["fields"].items()},
                                                                         sort_keys=True)) for c in plan["planned"])
    assert predicted, "the plan shows the two edits"

    run_cli("sync", cwd=starter)
    wh = Warehouse.open(database_url, migrate=False)
    with wh.tx() as conn:
        last_run = conn.execute(select(T.run.c.id).order_by(T.run.c.id.desc()).limit(1)).scalar()
        o = T.outbox.c
        written = sorted((r.system, r.golden_id, r.op, json.dumps(r.canonical, sort_keys=True))
                         for r in conn.execute(select(o.system, o.golden_id, o.op, o.canonical)
                                               .where(o.run_id == last_run, o.status == "done")))
    wh.dispose()
    assert written == predicted


def test_bad_record_is_quarantined_and_the_rest_completes(starter: Path, database_url: str) -> None:
    rows = read_csv(starter / "data/erp/customers.csv")
    bad = dict(rows[0], CustomerNo="C9", Name1="Broken Numbers KG", VATRegNo="DE899999999", CreditLimit="lots")
    write_csv(starter / "data/erp/customers.csv", rows + [bad])
    proc = run_cli("sync", "--json", cwd=starter, check=False)
    assert proc.returncode == 1, proc.stderr  # partial
    summary = json.loads(proc.stdout)
    assert summary["status"] == "partial"
    assert summary["golden_records"]["account"] == 7  # everything else went through
    listed = json.loads(run_cli("quarantine", "list", "--json", cwd=starter).stdout)["items"]
    assert len(listed) == 1
    item = listed[0]
    assert item["source_id"] == "C9" and item["stage"] == "map"
    assert "credit_limit" in item["reason"] and "lots" in item["reason"]
    assert item["payload"]["CreditLimit"] == "lots"
    # the integrator fixes the data, retries, and the record goes through
    rows = read_csv(starter / "data/erp/customers.csv")
    for r in rows:
        if r["CustomerNo"] == "C9":
            r["CreditLimit"] = "1.000,00"
    write_csv(starter / "data/erp/customers.csv", rows)
    assert run_cli("sync", "--json", cwd=starter).returncode == 0
    assert json.loads(run_cli("quarantine", "list", "--json", cwd=starter).stdout)["items"] == []
    assert "Broken Numbers KG" in {r["name"] for r in read_jsonl(starter / "data/crm/accounts.jsonl")}


def test_quarantine_retry_after_a_mapping_fix(starter: Path, database_url: str) -> None:
    rows = read_jsonl(starter / "data/crm/accounts.jsonl")
    rows.append({"id": "acc-9", "name": "Odd Type Corp", "type": "Reseller", "updated_at": "2026-11-14T00:00:00"})
    write_jsonl(starter / "data/crm/accounts.jsonl", rows)
    assert run_cli("sync", cwd=starter, check=False).returncode == 1
    [item] = json.loads(run_cli("quarantine", "list", "--json", cwd=starter).stdout)["items"]
    assert item["source_id"] == "acc-9" and "Reseller" in item["reason"]
    mapping = starter / "mappings/crm/account.yaml"
    mapping.write_text(mapping.read_text().replace("Former Customer: former_customer}",
                                                   "Former Customer: former_customer, Reseller: partner}"))
    run_cli("quarantine", "retry", "--all", cwd=starter)
    assert run_cli("sync", cwd=starter).returncode == 0
    views = canonical_by_system(database_url, "account")
    assert any(per.get("crm", {}).get("name") == "Odd Type Corp" and per["crm"]["lifecycle"] == "partner"
               for per in views.values())


def test_deleted_source_record_is_detected(starter: Path, database_url: str) -> None:
    run_cli("sync", cwd=starter)
    rows = [r for r in read_jsonl(starter / "data/crm/contacts.jsonl") if r["last_name"] != "Clark"]
    write_jsonl(starter / "data/crm/contacts.jsonl", rows)
    run_cli("sync", cwd=starter)
    wh = Warehouse.open(database_url, migrate=False)
    with wh.tx() as conn:
        r = T.raw_record.c
        dead = conn.execute(select(r.source_id).where(r.system == "crm", r.entity == "contact", r.deleted.is_(True))).all()
    wh.dispose()
    assert len(dead) == 1


def test_status_reports_streams(starter: Path) -> None:
    run_cli("sync", cwd=starter)
    data = json.loads(run_cli("status", "--json", cwd=starter).stdout)
    assert {(s["system"], s["entity"]) for s in data["streams"]} == {("erp", "account"), ("crm", "account"),
                                                                      ("erp", "contact"), ("crm", "contact")}
    assert data["golden"] == {"account": 7, "contact": 4}
    assert data["last_run"]["status"] == "success"


def test_in_process_cycle_equals_cli(starter: Path, database_url: str) -> None:
    os.environ["CONCORD_DATABASE_URL"] = database_url
    s = cycle(starter, database_url)
    assert s.status == "success" and s.golden_records == {"account": 7, "contact": 4}
    again = cycle(starter, database_url)
    assert again.written == 0


def test_run_ledger_adds_up_the_settle_rounds(starter: Path, database_url: str) -> None:
    summary = json.loads(run_cli("sync", "--json", cwd=starter).stdout)
    assert summary["rounds"] == 2
    wh = Warehouse.open(database_url, migrate=False)
    with wh.tx() as conn:
        rs = T.run_stream.c
        rows = {(r.system, r.entity, r.direction): r for r in conn.execute(
            select(T.run_stream).where(rs.run_id == summary["run_id"]))}
    wh.dispose()
    crm_in = summary["streams"]["crm"]["account"]["read"]
    assert rows[("crm", "account", "pull")].records_in == crm_in     # both rounds, not the last one
    assert rows[("crm", "account", "push")].records_out == summary["streams"]["crm"]["account"]["written"]
    assert len(rows) == 8
