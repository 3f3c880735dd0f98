"""`write_ref`: a line's business key (a sku) written as the referenced record's id in the target, found through
the golden records and the cross-reference (hub/engine/resolver.py), with misses the push turns into waits."""
from __future__ import annotations

import datetime as dt

import pytest

from concord.hub.engine.resolver import XrefResolver
from concord.hub.errors import ConfigError
from concord.hub.mapping import compile_mapping
from concord.hub.warehouse import tables as T

ORDER = {
    "entity": "sales_order", "source": "Order",
    "fields": {"order_number": "Num", "lines": {"from": "Items", "fields": {
        "line_number": "Pos", "quantity": "Qty",
        "sku": {"from": "Product.Code", "write_ref": {"to": "ProductId", "lookup": "product", "by": "sku"}}}}},
}


def _seed(warehouse) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    prod = T.CANONICAL["product"]
    with warehouse.tx() as conn:
        conn.execute(prod.insert(), [
            {"golden_id": "GP1", "sku": "MAT-1", "name": "Pump", "_version": 1, "_updated_at": now},
            {"golden_id": "GP2", "sku": "MAT-2", "name": "Valve", "_version": 1, "_updated_at": now}])
        conn.execute(T.xref.insert(), [
            {"entity": "product", "system": "crm", "source_id": "01tAAA", "golden_id": "GP1", "state": "linked",
             "created_at": now, "updated_at": now},
            {"entity": "product", "system": "erp", "source_id": "MAT-2", "golden_id": "GP2", "state": "linked",
             "created_at": now, "updated_at": now}])


def test_a_sku_is_written_as_the_products_id_in_the_target(warehouse) -> None:
    _seed(warehouse)
    m = compile_mapping(ORDER)
    flat = {"order_number": "1", "lines": [{"line_number": 1, "sku": "MAT-1", "quantity": "2"}]}
    with warehouse.tx() as conn:
        r = XrefResolver(conn, "crm")
        out = m.to_source(flat, resolver=r)
        assert out == {"Num": "1", "Items": [{"Pos": 1, "Qty": "2", "ProductId": "01tAAA"}]}
        assert r.misses == []
    # reading takes the business key from the read path, as before
    got = m.to_canonical({"Num": "1", "Items": [{"Pos": 1, "Qty": 2, "Product": {"Code": "MAT-1"}, "ProductId": "x"}]})
    assert got.lines[0].sku == "MAT-1"


def test_a_product_without_an_id_in_the_target_is_a_miss_naming_its_golden_record(warehouse) -> None:
    _seed(warehouse)
    m = compile_mapping(ORDER)
    flat = {"order_number": "1", "lines": [{"line_number": 1, "sku": "MAT-2", "quantity": "1"},
                                           {"line_number": 2, "sku": "NOSUCH", "quantity": "1"}]}
    with warehouse.tx() as conn:
        r = XrefResolver(conn, "crm")
        out = m.to_source(flat, resolver=r)
    assert out["Items"] == [{"Pos": 1, "Qty": "1"}, {"Pos": 2, "Qty": "1"}]     # never written without its product
    assert r.misses == [("product", "GP2"), ("product", "sku=NOSUCH")]       # push: the write waits / is blocked


@pytest.mark.parametrize("bad, message", [
    ({"lookup": "nosuch", "by": "sku", "to": "P"}, "unknown canonical entity 'nosuch'"),
    ({"lookup": "product", "by": "nosuch", "to": "P"}, "product has no field 'nosuch'"),
])
def test_write_ref_is_checked_at_compile_time(bad, message) -> None:
    doc = {**ORDER, "fields": {**ORDER["fields"], "lines": {"from": "Items", "fields": {
        "line_number": "Pos", "quantity": "Qty", "sku": {"from": "Product.Code", "write_ref": bad}}}}}
    with pytest.raises(ConfigError) as exc:
        compile_mapping(doc)
    assert message in str(exc.value)


def test_write_ref_on_a_read_only_rule_is_refused() -> None:
    doc = {**ORDER, "fields": {**ORDER["fields"], "lines": {"from": "Items", "fields": {
        "line_number": "Pos", "quantity": "Qty", "sku": {"from": "Product.Code", "direction": "in",
                                                         "write_ref": {"lookup": "product", "by": "sku", "to": "P"}}}}}}
    with pytest.raises(ConfigError) as exc:
        compile_mapping(doc)
    assert "only reads" in str(exc.value)


def test_lookup_by_a_business_key_reads_the_golden_record_that_holds_it(warehouse) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    with warehouse.tx() as conn:
        conn.execute(T.CANONICAL["account"].insert(), [
            {"golden_id": "GA1", "name": "Acme", "erp_customer_number": "C-1", "_version": 1, "_updated_at": now}])
    m = compile_mapping({"entity": "invoice", "source": "Inv", "fields": {
        "invoice_number": "No",
        "account_ref": {"from": "Cust", "lookup": "account", "by": "erp_customer_number", "direction": "in"}}})
    with warehouse.tx() as conn:
        r = XrefResolver(conn, "erp")
        assert m.to_canonical({"No": "1", "Cust": "C-1"}, resolver=r).account_ref == "GA1"
        assert m.to_canonical({"No": "2", "Cust": "C-9"}, resolver=r).account_ref is None
        assert r.misses == [("account", "erp_customer_number=C-9")]
    with pytest.raises(ConfigError, match="only reads"):
        compile_mapping({"entity": "invoice", "source": "Inv", "fields": {
            "invoice_number": "No", "account_ref": {"from": "Cust", "lookup": "account", "by": "erp_customer_number"}}})
