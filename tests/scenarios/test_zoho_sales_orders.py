"""Order to cash for Zoho CRM, whose deals have no product lines: the rep raises the won deal's Sales Order in Zoho
(Ordered_Items; no Subject: the connector writes "Order <PO>"), and that order is the order-to-cash source
(the pack's ``crm_orders``). One pair, SAP x Zoho, as a user runs it (`init --scenario order-to-cash --sandbox`,
`sandbox up`, `check`, `sync`): the Zoho order becomes one SAP sales order with the right customer, products and
quantities; SAP's number and status are on the Zoho order after the same sync; a further sync writes nothing and
creates no second order; Zoho's orders from before go-live are not sent to SAP."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from concord.hub.config import load_project
from concord.hub.contracts import Change
from concord.hub.engine.context import RunContext
from concord.hub.errors import HubError
from concord.hub.http import HttpToolkit
from concord.hub.mapping import load_mapping
from tests import ROOT
from tests.cli.helpers import sandbox_up
from tests.conftest import run_cli

pytestmark = pytest.mark.slow


def _sync(folder: Path, env: dict[str, str]) -> dict[str, Any]:
    proc = run_cli("sync", "--json", cwd=folder, env=env, check=False)
    out = json.loads(proc.stdout)
    assert out["status"] == "success", out
    return out


def _read(ctx: RunContext, project: Any, entity: str, system: str) -> list[tuple[dict[str, Any], Any]]:
    ent = project.config.entities.get(entity)              # products: the shipped mapping (not in this project)
    m = project.mapping(entity, system) if ent and system in ent.sources else load_mapping(
        ROOT / "mappings" / system / f"{entity}.yaml")
    out = []
    for r in (dict(r) for p in ctx.connector(system).read(m.source) for r in p.records):
        try:
            out.append((r, m.to_canonical(r)))
        except HubError:
            continue
    return out


def test_a_zoho_sales_order_becomes_one_sap_order_with_the_number_back_on_it(tmp_path: Path, database_url: str) -> None:
    folder = tmp_path / "sap-zoho"
    out = json.loads(run_cli("init", "--scenario", "order-to-cash", "--erp", "sap_odata", "--crm", "zoho_crm",
                             "--sandbox", str(folder), "--json", cwd=tmp_path).stdout)
    assert out["derivations"] == []                       # Zoho deals have no lines
    with sandbox_up(folder) as (_lines, env):
        env = {**env, "CONCORD_DATABASE_URL": database_url}
        assert "ok:" in run_cli("check", cwd=folder, env=env).stdout
        project = load_project(folder / "concord.yaml", environ=env)
        ctx = RunContext(project, None, HttpToolkit())
        try:
            sap_orders_before = len(_read(ctx, project, "sales_order", "sap_odata"))
            assert _read(ctx, project, "sales_order", "zoho_crm")                   # Zoho's own, older orders
            _sync(folder, env)
            assert len(_read(ctx, project, "sales_order", "sap_odata")) == sap_orders_before   # history stays
            # the rep: an SAP customer's account in Zoho, two products SAP sells
            customers = {c.erp_customer_number for _r, c in _read(ctx, project, "account", "sap_odata")}
            account = next(r for r, c in _read(ctx, project, "account", "zoho_crm") if c.erp_customer_number in customers)
            skus = {c.sku for _r, c in _read(ctx, project, "product", "sap_odata")}
            products = [(r, c) for r, c in _read(ctx, project, "product", "zoho_crm") if c.sku in skus][:2]
            name = "PO-ZOHO-1"
            [res] = ctx.connector("zoho_crm").write("Sales_Orders", [Change(
                op="create", entity="Sales_Orders", idempotency_key="rep-order", fields={
                    "Account_Name": {"id": account["id"]}, "Purchase_Order": name, "Status": "Created",
                    "Order_Date": dt.date.today().isoformat(), "Ordered_Items": [
                        {"Product_Name": {"id": r["id"]}, "Quantity": 2 + i, "List_Price": float(c.list_price or 10)}
                        for i, (r, c) in enumerate(products)]})])
            assert res.ok, res.error
            _sync(folder, env)
            ctx.close()
            ctx = RunContext(project, None, HttpToolkit())
            orders = [(r, c) for r, c in _read(ctx, project, "sales_order", "sap_odata") if c.customer_reference == name]
            assert len(orders) == 1 and len(_read(ctx, project, "sales_order", "sap_odata")) == sap_orders_before + 1
            raw, order = orders[0]
            assert str(raw["SoldToParty"]) == account["ERP_Customer_Number"]          # through the cross-reference
            assert [(ln.sku, ln.quantity) for ln in order.lines] == [(c.sku, 2 + i) for i, (_r, c) in enumerate(products)]
            zoho = next(c for r, c in _read(ctx, project, "sales_order", "zoho_crm") if r["id"] == res.target_id)
            assert order.order_number and zoho.order_number == order.order_number    # SAP's number, same sync
            assert zoho.status == order.status is not None
            subject = next(r for r, _c in _read(ctx, project, "sales_order", "zoho_crm") if r["id"] == res.target_id)
            assert subject["Subject"] == f"Order {name}"                             # Zoho requires one
            third = _sync(folder, env)
            assert sum(d.get("written", 0) for per in third["streams"].values() for d in per.values()) == 0, third
            ctx.close()
            ctx = RunContext(project, None, HttpToolkit())
            assert len([1 for _r, c in _read(ctx, project, "sales_order", "sap_odata") if c.customer_reference == name]) == 1
        finally:
            ctx.close()
