"""Order lines written into Zoho (Sales_Orders Ordered_Items) and Fxiaoke (SalesOrderObj detail rows) by the shipped
mappings: the sku of each line becomes the CRM's own product id through the golden product and the cross-reference
(the push's XrefResolver on a real warehouse), and the CRM sandbox accepts the record as the vendor would and
computes the line totals. A line whose product the CRM does not have yet is a miss (the push makes the write wait)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from concord.connectors.fxiaoke.sandbox import start as fxiaoke_sandbox
from concord.hub.contracts import Change
from concord.hub.engine.resolver import XrefResolver
from concord.hub.mapping import load_mapping
from concord.hub.sandbox.world import World
from concord.hub.warehouse import tables as T
from tests import ROOT
from tests.connectors.test_fxiaoke_contract import make_connector as fxiaoke_connector
from tests.connectors.test_zoho_crm_helpers import connector as zoho_connector
from tests.connectors.test_zoho_crm_helpers import sandbox as zoho_sandbox

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _link(warehouse, system: str, account_id: str, products: list[tuple[str, str]]) -> None:
    """Golden account GA linked to ``account_id``; golden products with their skus linked to the CRM's ids."""
    with warehouse.tx() as conn:
        conn.execute(T.CANONICAL["product"].insert(), [
            {"golden_id": f"GP{i}", "sku": sku, "name": sku, "_version": 1, "_updated_at": NOW}
            for i, (sku, _pid) in enumerate(products)] + [
            {"golden_id": "GPX", "sku": "NOT-IN-CRM", "name": "x", "_version": 1, "_updated_at": NOW}])
        conn.execute(T.xref.insert(), [
            {"entity": "product", "system": system, "source_id": pid, "golden_id": f"GP{i}", "state": "linked",
             "created_at": NOW, "updated_at": NOW} for i, (_sku, pid) in enumerate(products)] + [
            {"entity": "account", "system": system, "source_id": account_id, "golden_id": "GA", "state": "linked",
             "created_at": NOW, "updated_at": NOW}])


def _order(skus: list[str]) -> dict[str, Any]:
    return {"order_number": "4711", "account_ref": "GA", "order_date": "2026-03-01", "customer_reference": "PO-1",
            "currency": "EUR", "lines": [{"line_number": n, "sku": sku, "quantity": Decimal(n + 1),
                                          "unit_price": Decimal("12.50")} for n, sku in enumerate(skus, 1)]}


def _to_source(warehouse, mapping, system: str, order: dict[str, Any]) -> tuple[dict[str, Any], list]:
    with warehouse.tx() as conn:
        r = XrefResolver(conn, system)
        return mapping.to_source(order, resolver=r), list(r.misses)


@pytest.fixture
def zoho():
    sb = zoho_sandbox(20)
    yield sb
    sb.stop()


def test_zoho_sales_order_lines_name_zoho_products(warehouse, zoho) -> None:
    m = load_mapping(ROOT / "mappings" / "zoho_crm" / "sales_order.yaml")
    prods = [r for r in zoho.state.modules["Products"].records.values() if r.get("Product_Code")][:2]
    account = next(iter(zoho.state.modules["Accounts"].records.values()))
    _link(warehouse, "zoho_crm", account["id"], [(p["Product_Code"], p["id"]) for p in prods])
    body, misses = _to_source(warehouse, m, "zoho_crm", _order([p["Product_Code"] for p in prods]))
    assert misses == []
    assert [i["Product_Name"] for i in body["Ordered_Items"]] == [{"id": p["id"]} for p in prods]
    # Zoho wants a Subject on every sales order; no canonical field carries one (a project maps its own field)
    body["Subject"] = "Order 4711"
    c = zoho_connector(zoho)
    [res] = c.write("Sales_Orders", [Change(op="create", entity="Sales_Orders", fields=body, idempotency_key="z1")])
    assert res.ok, res.error
    raw = next(r for p in c.read("Sales_Orders") for r in p.records if r["id"] == res.target_id)
    got = m.to_canonical(raw)
    assert [(ln.sku, ln.quantity, ln.net_amount) for ln in got.lines] == [
        (p["Product_Code"], Decimal(n + 1), Decimal("12.50") * (n + 1)) for n, p in enumerate(prods, 1)]

    _body, misses = _to_source(warehouse, m, "zoho_crm", _order(["NOT-IN-CRM"]))
    assert misses == [("product", "GPX")]                   # not written without its product: the write waits


@pytest.fixture
def fxiaoke():
    sb = fxiaoke_sandbox(World(seed=23, size=20))
    yield sb
    sb.stop()


def test_fxiaoke_sales_order_detail_rows_name_fxiaoke_products(warehouse, fxiaoke) -> None:
    m = load_mapping(ROOT / "mappings" / "fxiaoke" / "sales_order.yaml")
    prods = [r for r in fxiaoke.state.tables["ProductObj"].rows.values() if r.get("product_code")][:2]
    account = next(iter(fxiaoke.state.tables["AccountObj"].rows.values()))
    _link(warehouse, "fxiaoke", account["_id"], [(p["product_code"], p["_id"]) for p in prods])
    body, misses = _to_source(warehouse, m, "fxiaoke", _order([p["product_code"] for p in prods]))
    assert misses == []
    assert [d["product_id"] for d in body["SalesOrderProductObj"]] == [p["_id"] for p in prods]
    c = fxiaoke_connector(fxiaoke)
    [res] = c.write("SalesOrderObj", [Change(op="create", entity="SalesOrderObj", fields=body, idempotency_key="f1")])
    assert res.ok, res.error
    raw = next(r for p in c.read("SalesOrderObj") for r in p.records if r["_id"] == res.target_id)
    got = m.to_canonical(raw)
    assert [(ln.sku, ln.quantity, ln.net_amount) for ln in got.lines] == [      # 小计 computed by Fxiaoke
        (p["product_code"], Decimal(n + 1), Decimal("12.50") * (n + 1)) for n, p in enumerate(prods, 1)]
