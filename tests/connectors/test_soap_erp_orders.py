"""Order to cash and availability on Dynamics NAV page web services, through zeep against the sandbox:
a canonical order with two lines becomes one Create on the SalesOrder page (the SalesLines part inline),
NAV numbers it, and it reads back with its Status and the delivery/billing rollups; a bad item or customer
fails that record only, with NAV's message; the Item page's Inventory reaches the canonical product."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from concord.connectors.soap_erp.sandbox import BUNDLED_WSDL, ITEM_WSDL, SALES_ORDER_WSDL, start
from concord.connectors.soap_erp.sandbox.wsdlgen import item_wsdl, sales_order_wsdl
from concord.hub.canonical import flatten
from concord.hub.contracts import Change
from concord.hub.errors import RecordError
from concord.hub.mapping import load_mapping
from concord.hub.sandbox.world import World
from concord.schemas import SalesOrder
from tests.connectors.test_soap_erp_contract import make_connector

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings" / "soap_erp"


class Xref:
    """golden id <-> NAV customer No: the cross-reference the engine keeps for accounts."""

    def __init__(self, pairs: dict[str, str]) -> None:
        self.out, self.back = pairs, {v: k for k, v in pairs.items()}

    def resolve_in(self, entity: str, source_id: str) -> str | None:
        return self.back.get(source_id) if entity == "account" else None

    def resolve_out(self, entity: str, golden_id: str) -> str | None:
        return self.out.get(golden_id) if entity == "account" else None


@pytest.fixture(scope="module")
def sb():
    s = start(World(5, 30), wsdl=[str(BUNDLED_WSDL), str(ITEM_WSDL), str(SALES_ORDER_WSDL)], today="2027-01-08")
    yield s
    s.stop()


def stores(sb):
    return sb.handles["stores"]


def _customer(sb) -> str:
    return next(r["No"] for r in stores(sb)["Customer"].read_multiple([], None, 0) if r.get("Blocked") != "All")


def _items(sb, blocked: bool = False) -> list[dict]:
    return [r for r in stores(sb)["Item"].read_multiple([], None, 0) if bool(r.get("Blocked")) == blocked]


def _order(account: str, items: list[dict], ref: str) -> dict:
    return flatten(SalesOrder.model_validate({
        "account_ref": account, "order_date": "2026-12-01", "currency": "EUR", "customer_reference": ref,
        "status": "open", "lines": [{"line_number": n, "sku": it["No"], "quantity": str(n + 1),
                                     "unit": it["Base_Unit_of_Measure"]} for n, it in enumerate(items, 1)]}))


def test_order_with_two_lines_is_one_create_numbered_by_nav_and_reads_back(sb):
    m = load_mapping(MAPPINGS / "sales_order.yaml")
    c = make_connector(sb, page_size=100)
    cust = _customer(sb)
    xref = Xref({"gold-acc-1": cust})
    items = _items(sb)[:2]
    fields = m.to_source(_order("gold-acc-1", items, "CRM-OPP-1"), resolver=xref)
    assert fields["Sell_to_Customer_No"] == cust and "No" not in fields
    assert [ln["No"] for ln in fields["SalesLines"]["Sales_Order_Line"]] == [it["No"] for it in items]
    c.entities()                                                        # WSDLs loaded before counting calls
    sb.app.reset_stats()
    [res] = c.write("SalesOrder", [Change(op="create", entity="SalesOrder", fields=fields, idempotency_key="o1",
                                          golden_id="gold-so-1")])
    assert res.ok, res.error
    assert res.created and res.target_id and res.target_id.isdigit()    # NAV's number series
    assert sb.app.stats.by_route["page"] == 1                           # one Create, lines inline
    stored = stores(sb)["SalesOrder"].get(res.target_id)
    assert stored["Status"] == "Open" and stored["Sell_to_Customer_Name"]
    lines = stored["SalesLines"]["Sales_Order_Line"]
    assert [(ln["Line_No"], ln["No"], ln["Quantity"]) for ln in lines] == [
        (10000, items[0]["No"], Decimal(2)), (20000, items[1]["No"], Decimal(3))]
    assert all(ln["Key"].startswith("37;") for ln in lines)
    # read back by key (Read) and in a full read (ReadMultiple), then map
    rec = c.read_record("SalesOrder", res.target_id)
    again = [r for p in c.read("SalesOrder") for r in p.records if r["No"] == res.target_id]
    assert len(again) == 1 and {k: v for k, v in again[0].items() if k != "Key"} == {
        k: v for k, v in rec.items() if k != "Key"}
    got = m.to_canonical(rec, xref)
    assert got.order_number == res.target_id and got.account_ref == "gold-acc-1" and got.customer_number == cust
    assert (got.status, got.delivery_status, got.billing_status) == ("open", "not_delivered", "not_billed")
    assert [(ln.line_number, ln.sku, ln.quantity, ln.unit) for ln in got.lines] == [
        (1, items[0]["No"], Decimal(2), items[0]["Base_Unit_of_Measure"]),
        (2, items[1]["No"], Decimal(3), items[1]["Base_Unit_of_Measure"])]
    assert got.lines[0].description == items[0]["Description"]                    # filled from the item by NAV
    assert got.lines[0].unit_price == items[0]["Unit_Price"]
    assert got.net_amount == sum(ln.net_amount for ln in got.lines) > 0
    # NAV releases, ships everything and invoices half: the statuses follow
    stores(sb)["SalesOrder"].post(res.target_id, ship=1, invoice=Decimal("0.5"))
    got = m.to_canonical(c.read_record("SalesOrder", res.target_id), xref)
    assert (got.status, got.delivery_status, got.billing_status) == ("in_process", "delivered", "partially_billed")


def test_bad_item_blocked_item_or_customer_fails_that_record_with_nav_message(sb):
    m = load_mapping(MAPPINGS / "sales_order.yaml")
    c = make_connector(sb, page_size=100)
    good = _items(sb)[:1]
    if not _items(sb, blocked=True):                                   # an item blocked in NAV
        stores(sb)["Item"].touch(_items(sb)[-1]["No"], Blocked=True)
    blocked = _items(sb, blocked=True)
    ghost = {"No": "NO-SUCH-ITEM", "Base_Unit_of_Measure": "PCS"}
    xref = Xref({"good": _customer(sb), "ghost": "C99999"})
    so = stores(sb)["SalesOrder"]
    before = so.count()
    cases = [("bad-item", "good", good + [ghost]), ("ok", "good", good), ("blocked", "good", blocked[:1]),
             ("bad-cust", "ghost", good)]
    changes = [Change(op="create", entity="SalesOrder", idempotency_key=k,
                      fields=m.to_source(_order(acc, its, k), resolver=xref)) for k, acc, its in cases]
    res = c.write("SalesOrder", changes)
    assert [r.ok for r in res] == [False, True, False, False]
    e = res[0].error
    assert isinstance(e, RecordError)
    assert e.message == "The Item does not exist. Identification fields and values: No.='NO-SUCH-ITEM'"
    assert e.details["faultcode"].endswith("NavCSideRecordNotFoundException")
    b = res[2].error
    assert isinstance(b, RecordError) and b.message == (f"Blocked must be equal to 'No'  in Item: No.={blocked[0]['No']}."
                                                        f" Current value is 'Yes'.")
    assert isinstance(res[3].error, RecordError)
    assert res[3].error.message == "The Customer does not exist. Identification fields and values: No.='C99999'"
    assert so.count() == before + 1                                     # the failed ones left nothing behind
    new = so.get(res[1].target_id)
    assert new["External_Document_No"] == "ok" and len(new["SalesLines"]["Sales_Order_Line"]) == 1


def test_unit_other_than_the_items_is_refused_as_nav_does(sb):
    m = load_mapping(MAPPINGS / "sales_order.yaml")
    c = make_connector(sb)
    item = dict(_items(sb)[0])
    item["Base_Unit_of_Measure"] = "BOX" if item["Base_Unit_of_Measure"] != "BOX" else "PAL"
    fields = m.to_source(_order("a", [item], "uom"), resolver=Xref({"a": _customer(sb)}))
    [res] = c.write("SalesOrder", [Change(op="create", entity="SalesOrder", fields=fields, idempotency_key="u")])
    assert not res.ok and "The Item Unit of Measure does not exist." in res.error.message


def test_header_update_works_and_an_update_with_lines_is_refused(sb):
    c = make_connector(sb)
    no = next(iter(stores(sb)["SalesOrder"].truth))
    [ok, refused] = c.write("SalesOrder", [
        Change(op="update", entity="SalesOrder", key=no, fields={"External_Document_No": "PO-NEW"},
               idempotency_key="u1"),
        Change(op="update", entity="SalesOrder", key=no, idempotency_key="u2",
               fields={"SalesLines": {"Sales_Order_Line": [{"No": "X", "Quantity": "1"}]}})])
    assert ok.ok, ok.error
    assert stores(sb)["SalesOrder"].get(no)["External_Document_No"] == "PO-NEW"
    assert not refused.ok and refused.error.code == "unsupported" and "Key" in refused.error.message


def test_item_inventory_reaches_the_canonical_product(sb):
    m = load_mapping(MAPPINGS / "product.yaml")
    c = make_connector(sb, page_size=4)
    items = stores(sb)["Item"]
    products = [m.to_canonical(r) for p in c.read("Item") for r in p.records]
    assert len(products) == items.count() > 1
    for prod in products:
        row = items.get(prod.sku)
        assert prod.on_hand_quantity == row["Inventory"] and prod.available_quantity is None and prod.stock == ()
        assert prod.active is (not row["Blocked"]) and prod.unit == row["Base_Unit_of_Measure"]
    sku = products[0].sku
    items.touch(sku, Inventory=Decimal("123.5"))                       # stock moves (item ledger entries)
    again = {p.sku: p for p in (m.to_canonical(r) for pg in c.read("Item") for r in pg.records)}
    assert again[sku].on_hand_quantity == Decimal("123.5")


def test_specs_fit_the_mappings_and_say_what_is_read_only(sb):
    specs = {s.name: s for s in make_connector(sb).entities()}
    so, item = specs["SalesOrder"], specs["Item"]
    assert [str(e) for e in load_mapping(MAPPINGS / "sales_order.yaml").check_against(so)] == []
    assert [str(e) for e in load_mapping(MAPPINGS / "product.yaml").check_against(item)] == []
    part = so.field("SalesLines")
    assert part.type == "object" and part.createable and not part.updateable
    line = {f.name: f for f in part.children[0].children}
    assert part.children[0].name == "Sales_Order_Line" and part.children[0].type == "array"
    assert line["No"].createable and not line["Quantity_Shipped"].createable and not line["Key"].createable
    assert line["Type"].picklist == ("_blank_", "G_L_Account", "Item", "Resource", "Fixed_Asset", "Charge_Item")
    assert not line["Concord_Line_Position"].createable
    assert so.field("Status").picklist == ("Open", "Released", "Pending_Approval", "Pending_Prepayment")
    assert not so.field("Status").createable and not so.field("Concord_Delivery_Status").createable
    assert so.cursor is None and item.cursor is None                  # no change date that covers lines/stock
    assert not item.field("Inventory").createable and item.field("Inventory").type == "decimal"


def test_bundled_wsdls_are_what_wsdlgen_writes_in_nav_style():
    assert SALES_ORDER_WSDL.read_bytes() == sales_order_wsdl()
    assert ITEM_WSDL.read_bytes() == item_wsdl()
    text = SALES_ORDER_WSDL.read_text()
    assert 'targetNamespace="urn:microsoft-dynamics-schemas/page/salesorder"' in text
    assert '<xsd:complexType name="Sales_Order_Line_List">' in text
    assert 'name="SalesLines" type="tns:Sales_Order_Line_List"' in text
    assert 'soapAction="urn:microsoft-dynamics-schemas/page/salesorder:Delete_SalesLines"' in text
    assert 'targetNamespace="urn:microsoft-dynamics-schemas/page/item"' in ITEM_WSDL.read_text()
