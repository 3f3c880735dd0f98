"""concord.hub.canonical: flatten/unflatten, JSON-safe values, field types, hashes."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from concord.hub.canonical import canonical_json, decimal_str, field_types, flatten, jsonable, record_hash, unflatten
from concord.hub.errors import RecordError
from concord.schemas import Account, Address, SalesOrder, SalesOrderLine


@pytest.mark.parametrize("value, text", [
    (Decimal("5000.00"), "5000"), (Decimal("12.50"), "12.5"), (Decimal("0.00"), "0"), (Decimal("-0"), "0"),
    (Decimal("1E+3"), "1000"), (Decimal("0.000001"), "0.000001"), (Decimal("-12.340"), "-12.34"),
    (Decimal("123456789012345678.9"), "123456789012345678.9"),
])
def test_decimal_fixed_point(value, text):
    assert decimal_str(value) == text


def test_json_safe_values():
    assert jsonable(dt.date(2024, 1, 2)) == "2024-01-02"
    assert jsonable(dt.datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02T03:04:05+00:00"            # naive = UTC
    plus1 = dt.timezone(dt.timedelta(hours=1))
    assert jsonable(dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=plus1)) == "2024-01-02T02:04:05+00:00"
    assert jsonable(True) is True and jsonable(7) == 7 and jsonable("x") == "x"


def _account() -> Account:
    return Account(name="Acme", credit_limit=Decimal("5000.00"), employees=12,
                   billing_address=Address(city="Berlin", country="DE"),
                   created_at=dt.datetime(2024, 1, 1, 10, tzinfo=dt.timezone.utc))


def test_flatten_dotted_and_omits_none():
    flat = flatten(_account())
    assert flat == {"name": "Acme", "credit_limit": "5000", "employees": 12, "billing_address.city": "Berlin",
                    "billing_address.country": "DE", "created_at": "2024-01-01T10:00:00+00:00"}


def test_flatten_lists_stay_one_key_and_roundtrip():
    order = SalesOrder(order_number="1", order_date=dt.date(2024, 1, 31), lines=(
        SalesOrderLine(line_number=1, sku="A", quantity=Decimal("2.000")),
        SalesOrderLine(line_number=2, sku="B", quantity=Decimal("1"), unit_price=Decimal("9.90"))))
    flat = flatten(order)
    assert flat["lines"] == [{"line_number": 1, "sku": "A", "quantity": "2"},
                             {"line_number": 2, "sku": "B", "quantity": "1", "unit_price": "9.9"}]
    assert unflatten("sales_order", flat) == order
    assert "lines" not in flatten(SalesOrder(order_number="2"))


def test_unflatten_roundtrip_and_errors():
    acc = _account()
    assert unflatten("account", flatten(acc)) == acc
    assert unflatten(Account, json.loads(json.dumps(flatten(acc)))) == acc
    with pytest.raises(RecordError) as info:
        unflatten("account", {"name": "A", "billing_address.country": "Germany"})
    assert info.value.field == "billing_address.country"
    with pytest.raises(KeyError, match="known: account"):
        unflatten("acount", {})


def test_field_types():
    types = field_types("account")
    assert types["name"] == "string" and types["lifecycle"] == "literal" and types["credit_limit"] == "decimal"
    assert types["billing_address.country"] == "string" and types["employees"] == "integer"
    assert types["created_at"] == "datetime" and "billing_address" not in types
    order = field_types("sales_order")
    assert order["lines"] == "list" and order["order_date"] == "date"
    assert field_types("contact")["do_not_contact"] == "boolean"
    assert field_types(SalesOrderLine)["quantity"] == "decimal"


def test_canonical_json_and_hash_are_stable():
    a = {"b": Decimal("1.50"), "a": "ü"}
    b = {"a": "ü", "b": "1.5"}
    assert canonical_json(a) == canonical_json(b) == '{"a":"ü","b":"1.5"}'
    assert record_hash(a) == record_hash(b)
    assert len(record_hash(a)) == 64 and record_hash({"a": "x"}) != record_hash(b)
    assert canonical_json(_account()) == canonical_json(flatten(_account()))
