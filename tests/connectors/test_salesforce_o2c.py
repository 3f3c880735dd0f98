"""Catalogue and order to cash on Salesforce, through simple-salesforce against the HTTPS sandbox:
Product2 + its standard PricebookEntry, availability fields, opportunity products read into
Opportunity.lines, the ERP order's number and statuses written back onto the opportunity."""
from __future__ import annotations

from pathlib import Path

import pytest

from concord.hub.contracts import Change
from concord.hub.mapping import load_mapping
from concord.hub.sandbox.world import World
from concord.connectors.salesforce.sandbox import start
from concord.connectors.salesforce.sandbox.store import SfError
from tests.connectors.test_salesforce_contract import make_connector

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = load_mapping(str(ROOT / "mappings" / "salesforce" / "product.yaml"))
OPPORTUNITY = load_mapping(str(ROOT / "mappings" / "salesforce" / "opportunity.yaml"))


@pytest.fixture(scope="module")
def sb():
    with start(World(5, 60)) as rs:
        yield rs


def _std_entries(store, product_id):
    std = next(r["Id"] for r in store.rows("Pricebook2") if r["IsStandard"])
    return [r for r in store.rows("PricebookEntry") if r["Product2Id"] == product_id and r["Pricebook2Id"] == std]


def _product_change(flat: dict, key: str, op: str = "upsert", fields: set[str] | None = None) -> Change:
    body = PRODUCT.to_source(flat, fields=fields) if fields else PRODUCT.to_source(flat)
    return Change(op=op, entity="Product2", fields=body, idempotency_key=key, golden_id=flat["golden_id"])


def test_a_product_and_its_standard_price_are_written_once_and_kept_in_step(sb):
    c = make_connector(sb)
    store, org = sb.state.store, sb.state.org
    flat = {"golden_id": "G-PROD-1", "sku": "MAT-900001", "name": "Pump 9", "unit": "EA", "active": True,
            "list_price": "125.50", "currency": "EUR", "on_hand_quantity": "40", "available_quantity": "32.5"}
    change = _product_change(flat, "p1")
    c.entities()                                         # describes: not part of the write
    assert change.fields["PricebookEntries"] == {"records": [{"UnitPrice": "125.5", "CurrencyIsoCode": "EUR"}]}
    used = org.api_used
    [r] = c.write("Product2", [change])
    assert r.ok and r.created and r.change is change
    pid = r.target_id
    product = store.get("Product2", pid)
    assert product["Available_Quantity__c"] == 32.5 and product["On_Hand_Quantity__c"] == 40.0
    [entry] = _std_entries(store, pid)
    assert (entry["UnitPrice"], entry["CurrencyIsoCode"], entry["IsActive"]) == (125.5, "EUR", True)
    # upsert, standard price book Id, one collection POST: a created product needs no look-up of its entries
    assert org.api_used - used == 3

    # the same change again (a retry): the product is upserted, the entry is found and left alone
    used = org.api_used
    [again] = c.write("Product2", [change])
    assert again.ok and not again.created and again.target_id == pid
    assert [e["Id"] for e in _std_entries(store, pid)] == [entry["Id"]]
    assert org.api_used - used == 2                      # upsert + entry query; the price book Id is cached

    # the ERP changes the price and the stock: the same entry is updated
    flat.update(list_price="130", available_quantity="12")
    [upd] = c.write("Product2", [_product_change(flat, "p2", op="update", fields={"list_price", "available_quantity"})])
    assert upd.ok
    [entry2] = _std_entries(store, pid)
    assert entry2["Id"] == entry["Id"] and entry2["UnitPrice"] == 130.0
    assert store.get("Product2", pid)["Available_Quantity__c"] == 12.0

    # read back through the mapping: the price, currency and availability come home
    rows = [rec for p in c.read("Product2") for rec in p.records if rec["Id"] == pid]
    got = PRODUCT.to_canonical(rows[0])
    assert (got.list_price, got.currency, got.available_quantity, got.on_hand_quantity) == (130, "EUR", 12, 40)


def test_many_products_take_one_call_per_step(sb):
    c = make_connector(sb)
    org, store = sb.state.org, sb.state.store
    flats = [{"golden_id": f"G-BATCH-{i}", "sku": f"MAT-95{i:04d}", "name": f"Batch {i}", "list_price": f"{10 + i}",
              "currency": "EUR"} for i in range(30)]
    c.write("Product2", [_product_change(f, f"b{i}") for i, f in enumerate(flats)])     # warm the price book cache
    for f in flats:
        f["list_price"] = str(float(f["list_price"]) + 1)
    used = org.api_used
    res = c.write("Product2", [_product_change(f, f"c{i}") for i, f in enumerate(flats)])
    assert all(r.ok for r in res)
    assert org.api_used - used == 3                      # product collection, entry query, entry collection PATCH
    assert all(len(_std_entries(store, r.target_id)) == 1 for r in res)


def test_an_inactive_product_gets_an_inactive_entry_and_a_failed_price_fails_the_change(sb):
    c = make_connector(sb)
    store = sb.state.store
    flat = {"golden_id": "G-PROD-OFF", "sku": "MAT-900002", "name": "Old pump", "active": False, "list_price": "9",
            "currency": "EUR"}
    [r] = c.write("Product2", [_product_change(flat, "off")])
    assert r.ok and _std_entries(store, r.target_id)[0]["IsActive"] is False
    flat2 = {"golden_id": "G-PROD-BAD", "sku": "MAT-900003", "name": "Pump in Yen", "list_price": "9",
             "currency": "JPY"}
    [bad] = c.write("Product2", [_product_change(flat2, "bad")])
    assert not bad.ok and bad.target_id                  # the product exists; its price does not: the change failed
    assert bad.error.code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" and "JPY" in bad.error.message


def test_price_book_rules_of_the_sandbox(sb):
    store = sb.state.store
    std = next(r["Id"] for r in store.rows("Pricebook2") if r["IsStandard"])
    pid = store.insert("Product2", {"Name": "Rules", "ProductCode": "MAT-RULES"})
    custom = store.insert("Pricebook2", {"Name": "Dealers", "IsActive": True})
    with pytest.raises(SfError) as exc:
        store.insert("PricebookEntry", {"Pricebook2Id": custom, "Product2Id": pid, "UnitPrice": 5,
                                        "CurrencyIsoCode": "EUR"})
    assert exc.value.code == "STANDARD_PRICE_NOT_DEFINED"
    store.insert("PricebookEntry", {"Pricebook2Id": std, "Product2Id": pid, "UnitPrice": 6, "CurrencyIsoCode": "EUR"})
    with pytest.raises(SfError) as exc:
        store.insert("PricebookEntry", {"Pricebook2Id": std, "Product2Id": pid, "UnitPrice": 7,
                                        "CurrencyIsoCode": "EUR"})
    assert exc.value.code == "DUPLICATE_VALUE" and "already exists in this price book" in exc.value.message
    store.insert("PricebookEntry", {"Pricebook2Id": std, "Product2Id": pid, "UnitPrice": 7, "CurrencyIsoCode": "USD"})
    with pytest.raises(SfError) as exc:
        store.insert("PricebookEntry", {"Pricebook2Id": std, "Product2Id": pid, "UnitPrice": 7, "CurrencyIsoCode": "GBP",
                                        "UseStandardPrice": True})
    assert exc.value.code == "FIELD_INTEGRITY_EXCEPTION"
    eid = store.insert("PricebookEntry", {"Pricebook2Id": custom, "Product2Id": pid, "UseStandardPrice": True,
                                          "CurrencyIsoCode": "EUR", "IsActive": True})
    assert store.get("PricebookEntry", eid)["UnitPrice"] == 6


def test_opportunity_products_are_read_into_lines_and_follow_their_rules(sb):
    c = make_connector(sb)
    store = sb.state.store
    std = next(r["Id"] for r in store.rows("Pricebook2") if r["IsStandard"])
    acct = store.rows("Account")[0]["Id"]
    opp = store.insert("Opportunity", {"AccountId": acct, "Name": "Deal lines", "StageName": "Closed Won",
                                       "CloseDate": "2026-06-30", "CurrencyIsoCode": "EUR"})
    entries = [e for e in store.rows("PricebookEntry") if e["Pricebook2Id"] == std and e["CurrencyIsoCode"] == "EUR"
               and e["IsActive"]][:2]
    for qty, e in zip((3, 1), entries):
        store.insert("OpportunityLineItem", {"OpportunityId": opp, "PricebookEntryId": e["Id"], "Quantity": qty,
                                             "UnitPrice": 100.0 * qty})
    rec = store.get("Opportunity", opp)
    assert rec["HasOpportunityLineItem"] and rec["Amount"] == 1000.0 and rec["Pricebook2Id"] == std
    usd = store.insert("PricebookEntry", {"Pricebook2Id": std, "Product2Id": entries[0]["Product2Id"], "UnitPrice": 1,
                                          "CurrencyIsoCode": "USD", "IsActive": True})
    with pytest.raises(SfError) as exc:
        store.insert("OpportunityLineItem", {"OpportunityId": opp, "PricebookEntryId": usd, "Quantity": 1,
                                             "UnitPrice": 1})
    assert exc.value.code == "FIELD_INTEGRITY_EXCEPTION" and "currency code" in exc.value.message
    with pytest.raises(SfError) as exc:
        store.insert("OpportunityLineItem", {"OpportunityId": opp, "Quantity": 1, "UnitPrice": 1})
    assert exc.value.fields == ["PricebookEntryId", "unknown"]

    [raw] = [r for p in c.read("Opportunity") for r in p.records if r["Id"] == opp]
    deal = OPPORTUNITY.to_canonical(raw)
    codes = [store.get("Product2", e["Product2Id"])["ProductCode"] for e in entries]
    assert [(ln.line_number, ln.sku, str(ln.quantity), str(ln.unit_price), str(ln.net_amount)) for ln in deal.lines] \
        == [(1, codes[0], "3.0", "300.0", "900.0"), (2, codes[1], "1.0", "100.0", "100.0")]
    assert deal.status == "won" and deal.amount == 1000


def test_the_erp_orders_number_and_statuses_are_written_onto_the_opportunity(sb):
    c = make_connector(sb)
    store = sb.state.store
    opp = store.rows("Opportunity")[0]
    flat = {"name": opp["Name"], "erp_order_number": "0000004711", "order_status": "in_process",
            "delivery_status": "partially_delivered", "billing_status": "not_billed"}
    fields = {"erp_order_number", "order_status", "delivery_status", "billing_status"}
    body = OPPORTUNITY.to_source(flat, fields=fields)
    assert body == {"ERP_Order_Number__c": "0000004711", "ERP_Order_Status__c": "In Process",
                    "Delivery_Status__c": "Partially Delivered", "Billing_Status__c": "Not Billed"}
    [r] = c.write("Opportunity", [Change(op="update", entity="Opportunity", key=opp["Id"], fields=body,
                                         idempotency_key="back-1")])
    assert r.ok
    [raw] = [x for p in c.read("Opportunity") for x in p.records if x["Id"] == opp["Id"]]
    back = OPPORTUNITY.to_canonical(raw)
    assert (back.erp_order_number, back.order_status, back.delivery_status, back.billing_status) == \
        ("0000004711", "in_process", "partially_delivered", "not_billed")
