"""Order to cash on Oracle Fusion, against the sandbox: a canonical order with two lines is one POST of
salesOrdersForOrderHub with the `lines` and `billToCustomer` child arrays; Oracle numbers it and it reads back with
its status, and delivery/billing rolled up from the fulfillment lines; a bad item fails that record only, with
Oracle's message."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from concord.connectors.oracle_fusion.sandbox import start
from concord.hub.canonical import flatten
from concord.hub.contracts import Change
from concord.hub.errors import RecordError
from concord.hub.mapping import load_mapping
from concord.hub.sandbox.world import World
from concord.schemas import SalesOrder
from tests.connectors.test_oracle_fusion_contract import make_connector
from tests.connectors.test_sap_odata_orders import Xref

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings" / "oracle_fusion"
SO = "salesOrdersForOrderHub"


@pytest.fixture(scope="module")
def sb():
    s = start(World(5, 20))
    yield s
    s.stop()


def _store(sb):
    return sb.state if hasattr(sb.state, "tables") else sb.state.store


def _order(account: str, skus: list[str]) -> dict:
    return flatten(SalesOrder.model_validate({
        "account_ref": account, "order_date": "2026-12-01", "currency": "EUR", "customer_reference": "CRM-OPP-7",
        "lines": [{"line_number": n, "sku": s, "quantity": str(n + 1), "unit": "EA", "unit_price": "100.00"}
                  for n, s in enumerate(skus, 1)]}))


def _ids(sb):
    st = _store(sb)
    account = next(iter(st.tables["customerAccounts"].rows.values()))
    items = [r["ItemNumber"] for r in st.tables["itemsV2"].rows.values() if r.get("ItemStatusValue") != "Inactive"]
    return account, items


def test_order_with_two_lines_is_created_numbered_and_read_back(sb):
    m = load_mapping(MAPPINGS / "sales_order.yaml")
    c = make_connector(sb, version=4)
    account, items = _ids(sb)
    xref = Xref({"gold-acc": str(account["CustomerAccountId"])})
    fields = m.to_source(_order("gold-acc", items[:2]), resolver=xref)
    assert fields["billToCustomer"] == [{"CustomerAccountId": str(account["CustomerAccountId"])}]
    assert [ln["ProductNumber"] for ln in fields["lines"]] == items[:2]
    [res] = c.write(SO, [Change(op="create", entity=SO, fields=fields, idempotency_key="o1", golden_id="gold-so-1")])
    assert res.ok, res.error
    assert res.target_id == "CONCORD:gold-so-1"
    row = _store(sb).get(SO, res.target_id)
    assert row["OrderNumber"] and row["BuyingPartyNumber"] == account["PartyNumber"]
    assert [(ln["ProductNumber"], ln["OrderedQuantity"]) for ln in row["lines"]] == [(items[0], 2), (items[1], 3)]
    recs = [r for p in c.read(SO) for r in p.records if r["OrderKey"] == res.target_id]
    got = m.to_canonical(recs[0], xref)
    assert got.order_number == row["OrderNumber"] and got.account_ref == "gold-acc"
    assert (got.status, got.delivery_status, got.billing_status) == ("draft", "not_delivered", "not_billed")
    assert [(ln.line_number, ln.sku, ln.quantity, ln.unit_price) for ln in got.lines] == [
        (1, items[0], Decimal(2), Decimal(100)), (2, items[1], Decimal(3), Decimal(100))]
    assert got.net_amount == Decimal(500)
    # Order Management ships and bills the first line
    lines = [dict(ln, StatusCode="BILLED" if i == 0 else ln["StatusCode"]) for i, ln in enumerate(row["lines"])]
    _store(sb).touch(SO, res.target_id, StatusCode="PROCESSING", lines=lines)
    recs = [r for p in c.read(SO) for r in p.records if r["OrderKey"] == res.target_id]
    got = m.to_canonical(recs[0], xref)
    assert (got.status, got.delivery_status, got.billing_status) == ("in_process", "partially_delivered",
                                                                     "partially_billed")


def test_bad_item_or_customer_fails_that_record_with_oracle_message(sb):
    m = load_mapping(MAPPINGS / "sales_order.yaml")
    c = make_connector(sb, version=4)
    account, items = _ids(sb)
    xref = Xref({"good": str(account["CustomerAccountId"]), "ghost": "999"})
    before = _store(sb).count(SO)
    changes = [Change(op="create", entity=SO, fields=m.to_source(_order(acc, skus), resolver=xref),
                      idempotency_key=k, golden_id=k)
               for k, acc, skus in (("bad-item", "good", [items[0], "NO-SUCH-ITEM"]), ("fine", "good", [items[0]]),
                                    ("bad-cust", "ghost", [items[0]]))]
    res = c.write(SO, changes)
    assert [r.ok for r in res] == [False, True, False]
    assert isinstance(res[0].error, RecordError) and "The item NO-SUCH-ITEM isn't valid" in res[0].error.message
    assert isinstance(res[2].error, RecordError) and "bill-to customer account 999 isn't valid" in res[2].error.message
    assert _store(sb).count(SO) == before + 1


def test_mapping_checks_against_describe_with_rollups(sb):
    c = make_connector(sb, version=4)
    spec = next(s for s in c.entities() if s.name == SO)
    assert spec.field("FulfillmentBillingStatus") and not spec.field("FulfillmentBillingStatus").createable
    assert [str(e) for e in load_mapping(MAPPINGS / "sales_order.yaml").check_against(spec)] == []
