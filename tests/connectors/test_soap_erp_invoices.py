"""Receivables on Dynamics NAV: the PostedSalesInvoices page (Page 143 "Posted Sales Invoices") through zeep against
the sandbox. NAV computes the amounts and the remaining amount; the connector adds the payment status the page
lacks; the page is read-only (its WSDL has no Create, Update or Delete); ReadMultiple pages with bookmarkKey."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import requests

from concord.connectors.soap_erp.sandbox import BUNDLED_WSDL, POSTED_SALES_INVOICES_WSDL, SALES_ORDER_WSDL, start
from concord.connectors.soap_erp.sandbox.wsdlgen import posted_sales_invoices_wsdl
from concord.hub.contracts import Change
from concord.hub.mapping import load_mapping
from concord.hub.sandbox.world import World
from tests.connectors.test_soap_erp_contract import make_connector
from tests.connectors.test_soap_erp_orders import Xref

MAPPING = Path(__file__).resolve().parents[2] / "mappings" / "soap_erp" / "invoice.yaml"
PAGE = "PostedSalesInvoices"
WORLD = World(seed=5, size=30)


@pytest.fixture(scope="module")
def sb():
    s = start(WORLD, today="2027-01-08")           # the default pages: Customer, Item, SalesOrder, PostedSalesInvoices
    yield s
    s.stop()


def _store(sb):
    return sb.handles["stores"][PAGE]


def test_full_read_pages_with_bookmarks_and_maps_amounts_and_status_as_nav_posted_them(sb):
    store, m = _store(sb), load_mapping(MAPPING)
    assert store.count() >= 10
    c = make_connector(sb, page_size=4)
    c.entities()
    sb.app.reset_stats()
    pages = list(c.read(PAGE))
    records = [r for p in pages for r in p.records]
    assert sb.app.stats.by_route["page"] == store.count() // 4 + 1         # setSize 4, ended by a short page
    assert [r["No"] for r in records] == sorted(r["No"] for r in records) and len(records) == store.count()
    assert pages[-1].snapshot_complete
    customers = {r["No"] for r in sb.handles["stores"]["Customer"].read_multiple([], None, 0)}
    xref = Xref({f"gold-{no}": no for no in customers})
    seen = set()
    for raw in records:
        inv = WORLD.invoice(store.truth[raw["No"]])
        got = m.to_canonical(raw, xref)
        assert got.invoice_number == raw["No"] and got.customer_number == raw["Bill_to_Customer_No"] in customers
        assert got.account_ref == f"gold-{raw['Bill_to_Customer_No']}"
        assert (got.amount, got.open_amount, got.status) == (inv.amount, inv.open_amount, inv.status)
        assert Decimal(raw["Amount"]) < Decimal(raw["Amount_Including_VAT"]) == inv.amount     # net + VAT
        assert raw["Closed"] in (inv.open_amount == 0, str(inv.open_amount == 0).lower())
        assert (got.invoice_date, got.due_date, got.currency) == (inv.invoice_date, inv.due_date, inv.currency)
        seen.add(got.status)
    assert seen == {"open", "partially_paid", "paid"}
    overdue = [r for r in records if Decimal(r["Remaining_Amount"]) > 0 and str(r["Due_Date"]) < str(store.today)]
    assert overdue                                                           # the roll-up's overdue receivables
    orders = sb.handles["stores"]["SalesOrder"]
    linked = [r for r in records if r.get("Order_No")]
    assert linked and all(orders.truth[r["Order_No"]] == WORLD.invoice(store.truth[r["No"]]).order_index
                          for r in linked)


def test_read_by_key_has_the_computed_status_and_a_payment_shows_on_the_next_read(sb):
    store, m = _store(sb), load_mapping(MAPPING)
    c = make_connector(sb, page_size=100)
    no = next(r["No"] for r in store.read_multiple([], None, 0) if r["Remaining_Amount"] == r["Amount_Including_VAT"])
    rec = c.read_record(PAGE, no)
    assert rec["Concord_Payment_Status"] == "Open" and rec["Key"].startswith("112;")
    total = Decimal(rec["Amount_Including_VAT"])
    store.touch(no, Remaining_Amount=(total / 2).quantize(Decimal("0.01")))     # a payment applied in NAV
    assert m.to_canonical(c.read_record(PAGE, no)).status == "partially_paid"
    store.touch(no, Remaining_Amount=Decimal("0.00"), Closed=True)
    got = m.to_canonical(c.read_record(PAGE, no))
    assert (got.status, got.open_amount) == ("paid", Decimal("0.00"))
    assert c.read_record(PAGE, "999999") is None


def test_the_page_is_read_only_as_nav_publishes_it(sb):
    c = make_connector(sb, page_size=100)
    spec = next(e for e in c.entities() if e.name == PAGE)
    assert not any(f.createable or f.updateable for f in spec.fields)
    assert spec.field("Concord_Payment_Status").picklist == ("Open", "Partially_Paid", "Paid")
    assert spec.cursor is None                                   # Remaining_Amount is a FlowField: full reads
    text = POSTED_SALES_INVOICES_WSDL.read_text()
    assert '<operation name="ReadMultiple">' in text and '<operation name="Create">' not in text
    assert "Delete" not in text and "UpdateMultiple" not in text
    row, before = next(r for r in _store(sb).read_multiple([], None, 0) if r["Remaining_Amount"] > 0), _store(sb).count()
    results = c.write(PAGE, [Change(op="update", entity=PAGE, key=row["No"], fields={"Remaining_Amount": "0"},
                                    idempotency_key="u1"),
                             Change(op="create", entity=PAGE, fields={"Sell_to_Customer_No": row["Sell_to_Customer_No"]},
                                    idempotency_key="c1")])
    assert [r.ok for r in results] == [False, False], results
    assert all("is read-only" in str(r.error) for r in results), results
    assert _store(sb).get(row["No"]) == row and _store(sb).count() == before
    # a client that sends a Create anyway gets NAV's fault, and nothing is stored
    ns = "urn:microsoft-dynamics-schemas/page/postedsalesinvoices"
    r = requests.post(sb.extra["pages"][PAGE], auth=("CONCORD", sb.env["NAV_PASSWORD"]),
                      data=(f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Create xmlns="{ns}">'
                            f'<{PAGE}><No>X1</No></{PAGE}></Create></s:Body></s:Envelope>').encode(),
                      headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{ns}:Create"'})
    assert r.status_code == 500 and "<faultstring" in r.text and "not supported" in r.text, r.text
    assert _store(sb).count() == before


def test_bundled_wsdl_is_what_wsdlgen_writes_and_other_page_sets_still_work():
    assert POSTED_SALES_INVOICES_WSDL.read_bytes() == posted_sales_invoices_wsdl()
    assert 'targetNamespace="urn:microsoft-dynamics-schemas/page/postedsalesinvoices"' in \
        POSTED_SALES_INVOICES_WSDL.read_text()
    # without a Customer page the invoices name the world's customers; without SalesOrder no Order_No
    with start(World(seed=5, size=8), wsdl=[str(POSTED_SALES_INVOICES_WSDL)]) as alone:
        rows = alone.state.read_multiple([], None, 0)
        assert rows and not any(r.get("Order_No") for r in rows)
    with start(World(seed=5, size=8), wsdl=[str(BUNDLED_WSDL), str(SALES_ORDER_WSDL)]) as no_invoices:
        assert PAGE not in no_invoices.handles["stores"]
