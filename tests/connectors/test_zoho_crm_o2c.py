"""Catalogue and order to cash on Zoho CRM against the sandbox: a product with its list price and
availability, written once and kept in step; the ERP order's number and statuses on the deal."""
from __future__ import annotations

from pathlib import Path

import pytest

from concord.hub.contracts import Change
from concord.hub.mapping import load_mapping
from tests.connectors.test_zoho_crm_helpers import connector, sandbox

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = load_mapping(str(ROOT / "mappings" / "zoho_crm" / "product.yaml"))
DEAL = load_mapping(str(ROOT / "mappings" / "zoho_crm" / "opportunity.yaml"))


@pytest.fixture(scope="module")
def sb():
    s = sandbox(40)
    yield s
    s.stop()


def _products(sb, code):
    return [r for r in sb.state.modules["Products"].records.values() if r.get("Product_Code") == code]


def test_a_product_with_price_and_availability_is_written_once_and_kept_in_step(sb) -> None:
    c = connector(sb, external_id_fields={"Products": "Concord_ID"})
    flat = {"sku": "MAT-ZO-1", "name": "Zoho pump", "unit": "EA", "list_price": "99.90", "currency": "EUR",
            "active": True, "on_hand_quantity": "40", "available_quantity": "31.5"}
    body = PRODUCT.to_source(flat)
    assert (body["Unit_Price"], body["Qty_in_Stock"], body["Available_Qty"]) == ("99.9", "40", "31.5")
    change = Change(op="upsert", entity="Products", fields=body, idempotency_key="zp1", golden_id="G-ZP-1")
    [first] = c.write("Products", [change])
    assert first.ok and first.created
    [again] = c.write("Products", [change])                       # a retry: the same record, no second product
    assert again.ok and not again.created and again.target_id == first.target_id
    [row] = _products(sb, "MAT-ZO-1")
    assert (row["Unit_Price"], row["Qty_in_Stock"], row["Available_Qty"], row["Concord_ID"]) == (99.9, 40.0, 31.5,
                                                                                               "G-ZP-1")
    flat.update(list_price="105", available_quantity="12")
    upd = PRODUCT.to_source(flat, fields={"list_price", "available_quantity"})
    assert upd == {"Unit_Price": "105", "Available_Qty": "12"}
    [u] = c.write("Products", [Change(op="update", entity="Products", key=first.target_id, fields=upd,
                                      idempotency_key="zp2")])
    assert u.ok
    [row] = _products(sb, "MAT-ZO-1")
    assert (row["Unit_Price"], row["Available_Qty"], row["Qty_in_Stock"]) == (105.0, 12.0, 40.0)
    raw = next(r for p in c.read("Products") for r in p.records if r["id"] == first.target_id)
    got = PRODUCT.to_canonical(raw)
    assert (got.list_price, got.currency, got.on_hand_quantity, got.available_quantity) == (105, "EUR", 40, 12)


def test_a_bad_price_is_refused_with_zohos_error(sb) -> None:
    c = connector(sb)
    [r] = c.write("Products", [Change(op="create", entity="Products", idempotency_key="zp3",
                                      fields={"Product_Name": "Bad", "Unit_Price": "twelve"})])
    assert not r.ok and r.error.code == "INVALID_DATA" and "Unit_Price" in str(r.error)


def test_the_erp_orders_number_and_statuses_are_written_onto_the_deal(sb) -> None:
    c = connector(sb)
    deal = next(iter(sb.state.modules["Deals"].records.values()))
    body = DEAL.to_source({"name": "x", "erp_order_number": "0000004711", "order_status": "completed",
                           "delivery_status": "delivered", "billing_status": "partially_billed"},
                          fields={"erp_order_number", "order_status", "delivery_status", "billing_status"})
    assert body == {"ERP_Order_Number": "0000004711", "ERP_Order_Status": "Completed", "Delivery_Status": "Delivered",
                    "Billing_Status": "Partially Billed"}
    [r] = c.write("Deals", [Change(op="update", entity="Deals", key=deal["id"], fields=body, idempotency_key="zd1")])
    assert r.ok, r.error
    raw = next(x for p in c.read("Deals") for x in p.records if x["id"] == deal["id"])
    back = DEAL.to_canonical(raw)
    assert (back.erp_order_number, back.order_status, back.delivery_status, back.billing_status) == \
        ("0000004711", "completed", "delivered", "partially_billed")
    assert back.lines == ()                                        # Zoho deals have no line items


def test_an_invoice_update_keeps_its_grand_total_with_its_tax(sb) -> None:
    """Zoho computes Grand_Total = Sub_Total - Discount + Tax + Adjustment on every save: an update of the open
    amount keeps the invoice's gross total (the seeded VAT is its Tax), as in Zoho."""
    c = connector(sb)
    inv = next(r for p in c.read("Invoices") for r in p.records if r.get("Tax"))
    assert inv["Grand_Total"] == round(inv["Sub_Total"] + inv["Tax"], 2) and inv["Tax"] > 0
    [u] = c.write("Invoices", [Change(op="update", entity="Invoices", key=inv["id"], idempotency_key="zi1",
                                      fields={"Open_Amount": "1.00"})])
    assert u.ok, u.error
    after = next(r for p in c.read("Invoices") for r in p.records if r["id"] == inv["id"])
    assert (after["Grand_Total"], after["Open_Amount"]) == (inv["Grand_Total"], 1.0)
