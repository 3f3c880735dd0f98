"""Catalogue and order to cash on Fxiaoke against the sandbox: a product with its standard price and
availability; the deal's products (商机2.0明细) read into lines; the ERP order's fields on the deal."""
from __future__ import annotations

import pytest

from concord.connectors.fxiaoke.sandbox import start
from concord.hub.contracts import Change
from concord.hub.mapping import load_mapping
from concord.hub.sandbox.world import World
from tests import ROOT
from tests.connectors.test_fxiaoke_contract import make_connector

PRODUCT = load_mapping(ROOT / "mappings" / "fxiaoke" / "product.yaml")
DEAL = load_mapping(ROOT / "mappings" / "fxiaoke" / "opportunity.yaml")


@pytest.fixture(scope="module")
def sb():
    s = start(World(seed=23, size=40))
    yield s
    s.stop()


def _rows(sb, api, **match):
    return [r for r in sb.state.tables[api].rows.values() if all(r.get(k) == v for k, v in match.items())]


def test_a_product_with_price_and_availability_is_written_once_and_kept_in_step(sb):
    c = make_connector(sb, external_id_fields={"ProductObj": "concord_id__c"})
    flat = {"sku": "MAT-FX-1", "name": "水泵 9", "list_price": "88.80", "currency": "CNY", "active": True,
            "on_hand_quantity": "40", "available_quantity": "31.5"}
    body = PRODUCT.to_source(flat)
    assert (body["price"], body["on_hand_quantity__c"], body["available_quantity__c"]) == ("88.8", "40", "31.5")
    change = Change(op="create", entity="ProductObj", fields=body, idempotency_key="fp1", golden_id="G-FP-1")
    [first] = c.write("ProductObj", [change])
    assert first.ok, first.error
    # a retry of a create whose answer was lost: push asks lookup first (the open API has no upsert)
    assert c.lookup("ProductObj", "G-FP-1") == first.target_id
    [row] = _rows(sb, "ProductObj", product_code="MAT-FX-1")
    assert (row["price"], row["on_hand_quantity__c"], row["available_quantity__c"]) == ("88.80", "40.00", "31.50") \
        or (float(row["price"]), float(row["available_quantity__c"])) == (88.8, 31.5)
    upd = PRODUCT.to_source({**flat, "list_price": "95", "available_quantity": "12"},
                            fields={"list_price", "available_quantity"})
    [u] = c.write("ProductObj", [Change(op="update", entity="ProductObj", key=first.target_id, fields=upd,
                                        idempotency_key="fp2")])
    assert u.ok, u.error
    raw = next(r for p in c.read("ProductObj") for r in p.records if r["_id"] == first.target_id)
    got = PRODUCT.to_canonical(raw)
    assert (got.list_price, got.currency, got.on_hand_quantity, got.available_quantity) == (95, "CNY", 40, 12)


def test_a_product_without_its_required_price_is_refused(sb):
    c = make_connector(sb)
    [r] = c.write("ProductObj", [Change(op="create", entity="ProductObj", idempotency_key="fp3",
                                        fields={"name": "无价", "product_code": "MAT-FX-NOPRICE"})])
    assert not r.ok and "price" in str(r.error)


def test_deal_products_are_read_into_lines(sb):
    c = make_connector(sb)
    deals = [r for p in c.read("NewOpportunityObj") for r in p.records if r.get("NewOpportunityLinesObj")]
    assert deals, "the sandbox seeds deals with products"
    raw = deals[0]
    deal = DEAL.to_canonical(raw)
    lines = sorted(_rows(sb, "NewOpportunityLinesObj", new_opportunity_id=raw["_id"]), key=lambda r: int(r["line_no__c"]))
    assert [(ln.line_number, ln.sku, ln.quantity) for ln in deal.lines] == \
        [(int(r["line_no__c"]), r["product_code"], __import__("decimal").Decimal(r["quantity"])) for r in lines]


def test_the_erp_orders_number_and_statuses_are_written_onto_the_deal(sb):
    c = make_connector(sb)
    deal = next(iter(sb.state.tables["NewOpportunityObj"].rows.values()))
    fields = {"erp_order_number", "order_status", "delivery_status", "billing_status"}
    body = DEAL.to_source({"name": "x", "erp_order_number": "0000004711", "order_status": "in_process",
                           "delivery_status": "partially_delivered", "billing_status": "billed"}, fields=fields)
    assert body == {"erp_order_no__c": "0000004711", "erp_order_status__c": "3",
                    "delivery_status__c": "partially_delivered", "billing_status__c": "billed"}
    [r] = c.write("NewOpportunityObj", [Change(op="update", entity="NewOpportunityObj", key=deal["_id"], fields=body,
                                               idempotency_key="fd1")])
    assert r.ok, r.error
    raw = next(x for p in c.read("NewOpportunityObj") for x in p.records if x["_id"] == deal["_id"])
    back = DEAL.to_canonical(raw)
    assert (back.erp_order_number, back.order_status, back.delivery_status, back.billing_status) == \
        ("0000004711", "in_process", "partially_delivered", "billed")
