"""KPIs written back to the CRM: a project declares account fields of its own (``extensions:``) and which
``customer_kpi`` columns fill them (``kpis:``); the figures reach the CRM account in the same sync and equal a
computation by hand over the ERP's invoices."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import yaml

from concord.hub.warehouse import Warehouse
from concord.hub.warehouse.evolve import canonical_table
from tests.conftest import run_cli
from tests.engine.helpers import read_csv, read_jsonl, write_jsonl
from tests.engine.test_rollups import _project as _with_invoices


def _project(starter: Path) -> None:
    _with_invoices(starter)
    crm_map = starter / "mappings/crm/account.yaml"
    crm_map.write_text(crm_map.read_text().rstrip("\n") + "\n"
                       "  lifetime_value: {from: ltv, transform: decimal, direction: out}\n"
                       "  credit_exposure: {from: exposure, transform: decimal, direction: out}\n")
    cfg = yaml.safe_load((starter / "concord.yaml").read_text())
    cfg["systems"]["crm"]["config"]["entities"]["accounts"]["fields"].update({"ltv": "decimal", "exposure": "decimal"})
    cfg["extensions"] = {"account": {"fields": {
        "lifetime_value": {"type": "decimal", "description": "Invoiced to date (customer_kpi.lifetime_value)"},
        "credit_exposure": {"type": "decimal", "ge": 0}}}}
    cfg["kpis"] = [{"name": "account_kpis", "view": "customer_kpi",
                    "fields": {"lifetime_value": "lifetime_value", "credit_exposure": "credit_exposure"}}]
    sync = cfg["entities"]["account"]["sync"]
    for rule in sync:
        if rule["target"] == "crm" and rule.get("fields", "all") != "all":
            rule["fields"] += ["lifetime_value", "credit_exposure"]
    (starter / "concord.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))


def _by_hand(starter: Path) -> dict[str, tuple[Decimal, Decimal]]:
    """ERP customer number -> (lifetime value, credit exposure) from the invoice file itself (0 without invoices)."""
    out = {r["CustomerNo"]: (Decimal(0), Decimal(0)) for r in read_csv(starter / "data/erp/customers.csv")}
    for inv in read_jsonl(starter / "data/erp/invoices.jsonl"):
        ltv, exposure = out.get(inv["CustomerNo"], (Decimal(0), Decimal(0)))
        open_ = Decimal(0) if inv["Status"] == "PAID" else Decimal(inv["OpenAmount"])
        out[inv["CustomerNo"]] = (ltv + Decimal(inv["Amount"]), exposure + open_)
    return out


def _crm_figures(starter: Path) -> dict[str, tuple[Decimal, Decimal]]:
    erp_number = {r["CustomerNo"]: r for r in read_csv(starter / "data/erp/customers.csv")}
    out = {}
    for acc in read_jsonl(starter / "data/crm/accounts.jsonl"):
        if acc.get("erp_number") in erp_number and acc.get("ltv") is not None:
            out[acc["erp_number"]] = (Decimal(str(acc["ltv"])), Decimal(str(acc["exposure"])))
    return out


def _stored(starter: Path, url: str) -> dict[str, tuple[Decimal, Decimal]]:
    from concord.hub.config import load_project

    table, _cols = canonical_table(load_project(starter / "concord.yaml").models, "account")
    wh = Warehouse.open(url, migrate=False)
    try:
        with wh.tx() as conn:
            rows = [r for r in conn.execute(table.select()) if r.erp_customer_number]
    finally:
        wh.dispose()
    return {r.erp_customer_number: (Decimal(str(r.lifetime_value)), Decimal(str(r.credit_exposure))) for r in rows}


def test_kpis_reach_the_crm_in_the_same_sync_and_equal_a_computation_by_hand(starter: Path, database_url: str) -> None:
    _project(starter)
    assert "ok:" in run_cli("check", "--offline", cwd=starter).stdout
    out = json.loads(run_cli("sync", "--json", cwd=starter, check=False).stdout)
    assert out["status"] in ("success", "partial"), out
    hand = _by_hand(starter)
    assert hand["C1"] == (Decimal(1800), Decimal(1200)) and hand["C2"] == (Decimal(700), Decimal(700))
    assert _crm_figures(starter) == hand

    # the warehouse keeps them in the account table's own columns
    assert _stored(starter, database_url) == hand

    # a payment: a sync of the invoices alone updates the figures; the next sync takes them to the CRM
    rows = read_jsonl(starter / "data/erp/invoices.jsonl")
    for r in rows:
        if r["InvoiceNo"] == "INV-1":
            r.update(OpenAmount="0", Status="PAID", PaidOn="2026-12-01", ChangedAt="2026-12-01T09:00:00")
    write_jsonl(starter / "data/erp/invoices.jsonl", rows)
    run_cli("sync", "--entity", "invoice", cwd=starter, check=False)
    assert _by_hand(starter)["C1"] == (Decimal(1800), Decimal(200))
    assert _stored(starter, database_url) == _by_hand(starter)
    run_cli("sync", cwd=starter, check=False)
    assert _crm_figures(starter) == _by_hand(starter)
    again = json.loads(run_cli("sync", "--json", cwd=starter, check=False).stdout)
    assert sum(d.get("written", 0) for per in again["streams"].values() for d in per.values()) == 0
