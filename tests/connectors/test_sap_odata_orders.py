"""Order to cash and availability on SAP, through pyodata against the sandbox: a canonical order with two lines
becomes one deep insert (POST A_SalesOrder with to_Item), SAP numbers it, and it reads back with its statuses;
a bad material or sold-to party fails that record only, with SAP's message; stock reaches the canonical product."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from concord.connectors.sap_odata.sandbox import start
from concord.hub.canonical import flatten
from concord.hub.contracts import Change
from concord.hub.errors import RecordError
from concord.hub.mapping import load_mapping
from concord.hub.sandbox.world import World
from tests.connectors.test_sap_odata_connector import conn

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings" / "sap_odata"
SO, PR = "API_SALES_ORDER_SRV", "API_PRODUCT_SRV"


class Xref:
    """golden id <-> SAP id for accounts: the cross-reference the engine keeps."""

    def __init__(self, pairs: dict[str, str]) -> None:
        self.out, self.back = pairs, {v: k for k, v in pairs.items()}

    def resolve_in(self, entity: str, source_id: str) -> str | None:
        return self.back.get(source_id) if entity == "account" else None

    def resolve_out(self, entity: str, golden_id: str) -> str | None:
        return self.out.get(golden_id) if entity == "account" else None


@pytest.fixture(scope="module")
def sb():
    s = start(World(5, 30))
    yield s
    s.stop()


def _customer(sb) -> str:
    return next(iter(sb.state.store("API_BUSINESS_PARTNER").tables["A_Customer"]))[0]


def _order(account: str, skus: list[str], ref: str) -> dict:
    return flatten_order({"account_ref": account, "order_date": "2026-12-01", "currency": "EUR",
                          "customer_reference": ref, "status": "open",
                          "lines": [{"line_number": n, "sku": s, "quantity": str(n + 1), "unit": "EA"}
                                    for n, s in enumerate(skus, 1)]})


def flatten_order(d: dict) -> dict:
    from concord.schemas import SalesOrder
    return flatten(SalesOrder.model_validate(d))


def test_order_with_two_lines_is_one_deep_insert_numbered_by_sap_and_reads_back(sb):
    m = load_mapping(MAPPINGS / "sales_order.yaml")
    c = conn(sb)
    cust = _customer(sb)
    xref = Xref({"gold-acc-1": cust})
    skus = [k[0] for k in list(sb.state.store(PR).tables["A_Product"])[:2]]
    fields = m.to_source(_order("gold-acc-1", skus, "CRM-OPP-1"), resolver=xref)
    assert fields["SoldToParty"] == cust and "SalesOrder" not in fields
    assert [i["Material"] for i in fields["to_Item"]["results"]] == skus
    sb.app.reset_stats()
    [res] = c.write("A_SalesOrder", [Change(op="create", entity="A_SalesOrder", fields=fields, idempotency_key="o1",
                                            golden_id="gold-so-1")])
    assert res.ok, res.error
    assert res.created and res.target_id and res.target_id.isdigit()          # SAP's number
    assert sb.app.stats.by_status.get(202) == 1                              # one $batch (202 Accepted)
    store = sb.state.store(SO)
    head = store.get("A_SalesOrder", (res.target_id,))
    assert head["SalesOrderType"] == "OR" and head["SalesOrganization"] == "1010"   # create_defaults
    items = store.children("A_SalesOrder", head, "to_Item")[1]
    assert [(i["SalesOrderItem"], i["Material"], i["RequestedQuantity"]) for i in items] == [
        ("1", skus[0], Decimal("2.000")), ("2", skus[1], Decimal("3.000"))]
    # read back (incremental, with $expand=to_Item) and map: number, lines, statuses
    recs = [r for p in c.read("A_SalesOrder") for r in p.records if r["SalesOrder"] == res.target_id]
    assert len(recs) == 1
    got = m.to_canonical(recs[0], xref)
    assert got.order_number == res.target_id and got.account_ref == "gold-acc-1" and got.customer_number == cust
    assert (got.status, got.delivery_status) == ("open", "not_delivered")
    assert [(ln.line_number, ln.sku, ln.quantity) for ln in got.lines] == [(1, skus[0], Decimal(2)),
                                                                            (2, skus[1], Decimal(3))]
    assert got.lines[0].description and got.net_amount == sum(ln.net_amount for ln in got.lines) > 0
    # SAP delivers: the statuses follow
    store.touch("A_SalesOrder", (res.target_id,), OverallSDProcessStatus="B", OverallTotalDeliveryStatus="B")
    again = [r for p in c.read("A_SalesOrder") for r in p.records if r["SalesOrder"] == res.target_id]
    got = m.to_canonical(again[0], xref)
    assert (got.status, got.delivery_status) == ("in_process", "partially_delivered")


def test_bad_material_or_customer_fails_that_record_with_sap_message(sb):
    m = load_mapping(MAPPINGS / "sales_order.yaml")
    c = conn(sb)
    cust = _customer(sb)
    xref = Xref({"good": cust, "ghost": "9999999"})
    sku = next(iter(sb.state.store(PR).tables["A_Product"]))[0]
    before = sb.state.store(SO).count("A_SalesOrder")
    changes = [Change(op="create", entity="A_SalesOrder", idempotency_key=k,
                      fields=m.to_source(_order(acc, skus, k), resolver=xref))
               for k, acc, skus in (("bad-mat", "good", [sku, "NO-SUCH-MAT"]), ("ok", "good", [sku]),
                                    ("bad-cust", "ghost", [sku]))]
    res = c.write("A_SalesOrder", changes)
    assert [r.ok for r in res] == [False, True, False]
    e = res[0].error
    assert isinstance(e, RecordError) and "Material NO-SUCH-MAT is not defined for sales org.1010" in e.message
    assert e.field == "Material"
    assert isinstance(res[2].error, RecordError) and "Sold-to party 9999999 not maintained" in res[2].error.message
    assert sb.state.store(SO).count("A_SalesOrder") == before + 1            # the failed ones left nothing behind
    assert not any(i["Material"] == "NO-SUCH-MAT" for i in sb.state.store(SO).tables["A_SalesOrderItem"].values())


def test_stock_per_plant_reaches_the_canonical_product(sb):
    m = load_mapping(MAPPINGS / "product.yaml")
    c = conn(sb)
    stock = sb.state.store("API_MATERIAL_STOCK_SRV").tables["A_MatlStkInAcctMod"]
    products = [m.to_canonical(r) for p in c.read("A_Product") for r in p.records]
    assert len(products) == sb.state.store(PR).count("A_Product") > 1
    for prod in products:
        rows = [r for k, r in stock.items() if k[0] == prod.sku]
        total = sum((r["MatlWrhsStkQtyInMatlBaseUnit"] for r in rows), Decimal(0))
        free = sum((r["MatlWrhsStkQtyInMatlBaseUnit"] for r in rows if r["InventoryStockType"] == "01"), Decimal(0))
        assert prod.on_hand_quantity == total and prod.available_quantity == free
        assert {s.location for s in prod.stock} == {r["Plant"] for r in rows}
        assert sum((s.on_hand for s in prod.stock), Decimal(0)) == total
    assert any(len(p.stock) > 1 for p in products) and any(p.on_hand_quantity != p.available_quantity for p in products)


def test_stock_block_is_in_the_spec_and_read_only(sb):
    spec = next(s for s in conn(sb).entities() if s.name == "A_Product")
    block = spec.field("MaterialStock")
    assert block is not None and not block.createable and {f.name for f in block.children} >= {"Plants",
                                                                                                "OnHandQuantity"}
    m = load_mapping(MAPPINGS / "product.yaml")
    assert [str(e) for e in m.check_against(spec)] == []
    so = next(s for s in conn(sb).entities() if s.name == "A_SalesOrder")
    assert [str(e) for e in load_mapping(MAPPINGS / "sales_order.yaml").check_against(so)] == []
