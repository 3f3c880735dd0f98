"""Running compiled mappings: paths, value maps, defaults, lookups, lists, to_source, errors."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from concord.hub.canonical import flatten
from concord.hub.errors import RecordError
from concord.hub.mapping import PathError, compile_mapping, format_path, parse_path
from concord.hub.mapping.paths import compile_getter, compile_setter
from concord.schemas import Account

from .conftest import FakeResolver

ACCOUNT = """
entity: account
source: Account
fields:
  name: Name
  erp_customer_number: {from: AccountNumber}
  tax_id: {from: VAT_Id__c, transform: tax_id}
  billing_address.city: BillingAddress.city
  billing_address.country: {from: BillingAddress.country, transform: {country: {out: name}}}
  credit_limit: {from: Credit_Limit__c, transform: decimal}
  lifecycle: {from: Type, map: {Customer: customer, Prospect: prospect, "Customer - Direct": customer}, default: prospect}
  currency: {const: EUR, direction: in}
  phone: {from: Phone, transform: {phone: {region: DE}}}
  employees: {from: NumberOfEmployees, direction: in}
  owner: {from: Owner.Email, direction: out}
"""
RAW = {"Name": " Acme GmbH ", "AccountNumber": 1001, "VAT_Id__c": "de 123 456 789",
       "BillingAddress": {"city": "Berlin", "country": "Deutschland"}, "Credit_Limit__c": "5000.00",
       "Type": "customer - direct", "Phone": "030 1234567", "NumberOfEmployees": 12, "Owner": {"Email": "x@y.de"}}


@pytest.fixture
def account(compile_yaml):
    return compile_yaml(ACCOUNT)


# ---------------------------------------------------------------- paths
def test_paths_parse_format_get_set():
    assert parse_path("to_BusinessPartnerAddress.results[0].CityName") == (
        "to_BusinessPartnerAddress", "results", 0, "CityName")
    assert parse_path('["Cust. No"]') == ("Cust. No",) and parse_path("A['b c'][2]") == ("A", "b c", 2)
    assert format_path(("a", "b c", 0, "d")) == 'a["b c"][0].d'
    for bad in ("a..b", "a.", "[0]", "a.[0]", ""):
        with pytest.raises(ValueError):
            parse_path(bad)
    get = compile_getter(parse_path("a.b[1].c"))
    assert get({"a": {"b": [{}, {"c": 5}]}}) == 5
    assert get({"a": {"b": [{}]}}) is None and get({"a": None}) is None and get({}) is None
    with pytest.raises(PathError, match="expected an object at 'a'"):
        get({"a": "text"})
    with pytest.raises(PathError, match="expected a list"):
        get({"a": {"b": {"c": 1}}})
    out: dict = {}
    compile_setter(parse_path("a.b[1].c"))(out, 5)
    compile_setter(parse_path("a.x"))(out, 1)
    compile_setter(parse_path("owner[0]"))(out, "FSUID_1")
    assert out == {"a": {"b": [None, {"c": 5}], "x": 1}, "owner": ["FSUID_1"]}


# ---------------------------------------------------------------- to_canonical
def test_to_canonical(account):
    acc = account.to_canonical(RAW)
    assert isinstance(acc, Account) and account.model is Account
    assert acc.name == "Acme GmbH" and acc.erp_customer_number == "1001"      # numbers become text
    assert acc.tax_id == "DE123456789" and acc.billing_address.country == "DE"
    assert acc.credit_limit == Decimal("5000.00") and acc.lifecycle == "customer"   # case-insensitive map
    assert acc.currency == "EUR" and acc.phone == "+49301234567" and acc.employees == 12
    assert acc.owner is None                                                    # out-only rule
    assert account.to_canonical_flat(RAW) == flatten(acc)
    assert (account.entity, account.source, account.system) == ("account", "Account", "sys")


def test_empty_strings_are_none_and_defaults(account):
    acc = account.to_canonical({"Name": "Acme", "Phone": "", "Type": "  ", "BillingAddress": {"city": ""}})
    assert acc.phone is None and acc.lifecycle == "prospect" and acc.billing_address is None
    assert account.to_canonical({"Name": "A", "Type": "Partner"}).lifecycle == "prospect"   # not in map -> default


def test_value_map_without_default_and_yaml_keys():
    m = compile_mapping({"entity": "account", "source": "A", "fields": {
        "name": "Name", "lifecycle": {"from": "T", "map": {"1": "customer", "Lost": "former_customer"}}}})
    flags = compile_mapping({"entity": "account", "source": "A", "fields": {
        "name": "Name", "lifecycle": {"from": "P", "map": {True: "partner", False: "prospect"}}}})
    assert flags.to_canonical({"Name": "a", "P": "yes"}).lifecycle == "partner"
    assert flags.to_canonical({"Name": "a", "P": False}).lifecycle == "prospect"
    assert flags.to_source({"lifecycle": "partner"}) == {"P": True}
    assert m.to_canonical({"Name": "a", "T": "1"}).lifecycle == "customer"
    assert m.to_canonical({"Name": "a", "T": 1}).lifecycle == "customer"
    assert m.to_canonical({"Name": "a", "T": "lost"}).lifecycle == "former_customer"
    with pytest.raises(RecordError) as info:
        m.to_canonical({"Name": "a", "T": "Churned"})
    assert info.value.field == "lifecycle"
    assert "not in the value map" in str(info.value) and "'Churned'" in str(info.value) and "'T'" in str(info.value)
    assert m.to_source({"lifecycle": "former_customer"}) == {"T": "Lost"}
    assert m.to_source({"lifecycle": "customer"}) == {"T": "1"}


def test_reverse_map_overrides_first_key():
    m = compile_mapping({"entity": "account", "source": "A", "fields": {
        "name": "Name",
        "lifecycle": {"from": "T", "map": {"Customer": "customer", "Customer - Direct": "customer"},
                      "reverse_map": {"customer": "Customer - Direct"}}}})
    assert m.to_source({"lifecycle": "customer"}) == {"T": "Customer - Direct"}
    with pytest.raises(RecordError, match="no source value in the map"):
        m.to_source({"lifecycle": "partner"})


def test_record_errors_name_field_path_and_value(account):
    with pytest.raises(RecordError) as info:
        account.to_canonical({**RAW, "Credit_Limit__c": "lots"})
    err = info.value
    assert err.field == "credit_limit" and "'Credit_Limit__c'" in str(err) and "'lots'" in str(err)
    assert "transform 'decimal'" in str(err)
    with pytest.raises(RecordError, match="required canonical field 'name' from source 'Name' is empty"):
        account.to_canonical({"Phone": "+49301234567"})
    with pytest.raises(RecordError, match="'billing_address.country'.*unknown country.*'Atlantis'"):
        account.to_canonical({**RAW, "BillingAddress": {"country": "Atlantis"}})
    with pytest.raises(RecordError, match="credit_limit.*greater than or equal to 0.*-5"):
        account.to_canonical({**RAW, "Credit_Limit__c": "-5"})
    with pytest.raises(RecordError, match="expected an object at 'BillingAddress'"):
        account.to_canonical({**RAW, "BillingAddress": "Berlin"})
    with pytest.raises(RecordError, match="phone.*not a valid phone number"):
        account.to_canonical({**RAW, "Phone": "12"})


# ---------------------------------------------------------------- to_source
def test_to_source_only_out_fields(account):
    flat = account.to_canonical_flat(RAW) | {"owner": "rep@x.de"}
    assert account.to_source(flat) == {
        "Name": "Acme GmbH", "AccountNumber": "1001", "VAT_Id__c": "DE123456789",
        "BillingAddress": {"city": "Berlin", "country": "Germany"}, "Credit_Limit__c": "5000",
        "Type": "Customer", "Phone": "+49301234567", "Owner": {"Email": "rep@x.de"}}
    assert "currency" not in account.out_fields() and "employees" not in account.out_fields()
    assert account.out_fields() == {"name", "erp_customer_number", "tax_id", "billing_address.city",
                                    "billing_address.country", "credit_limit", "lifecycle", "phone", "owner"}
    assert "owner" not in account.in_fields() and "currency" in account.in_fields()


def test_to_source_selected_fields_and_clearing(account):
    flat = account.to_canonical_flat(RAW)
    assert account.to_source(flat, fields={"phone", "currency"}) == {"Phone": "+49301234567"}
    assert account.to_source(flat, fields={"billing_address"}) == {"BillingAddress": {"city": "Berlin", "country": "Germany"}}
    assert account.to_source({"name": "A"}, fields={"phone", "credit_limit"}) == {"Phone": None, "Credit_Limit__c": None}


def test_to_source_accepts_typed_and_json_values(account):
    typed = account.to_source({"credit_limit": Decimal("12.50")}, fields={"credit_limit"})
    assert typed == account.to_source({"credit_limit": "12.5"}, fields={"credit_limit"}) == {"Credit_Limit__c": "12.5"}
    with pytest.raises(RecordError, match="writing canonical field 'credit_limit' to source 'Credit_Limit__c'"):
        account.to_source({"credit_limit": "twelve"})


def test_date_formats_out(compile_yaml):
    m = compile_yaml("""
        entity: sales_order
        source: A_SalesOrder
        fields:
          order_number: SalesOrder
          order_date: {from: SalesOrderDate, transform: {date: sap}}
          requested_delivery_date: {from: ReqDate, transform: {date: "%d.%m.%Y"}}
        """)
    flat = m.to_canonical_flat({"SalesOrder": "1", "SalesOrderDate": "/Date(1706659200000)/", "ReqDate": "01.02.2024"})
    assert flat == {"order_number": "1", "order_date": "2024-01-31", "requested_delivery_date": "2024-02-01"}
    assert m.to_source(flat) == {"SalesOrder": "1", "SalesOrderDate": "/Date(1706659200000)/", "ReqDate": "01.02.2024"}


# ---------------------------------------------------------------- lookups
CONTACT = """
entity: contact
source: Contact
fields:
  last_name: LastName
  account_ref: {from: AccountId, lookup: account}
"""


def test_lookup_with_resolver(compile_yaml):
    m = compile_yaml(CONTACT)
    resolver = FakeResolver({"account": {"001A": "G-1"}})
    assert m.to_canonical({"LastName": "Doe", "AccountId": "001A"}, resolver).account_ref == "G-1"
    assert resolver.calls == [("in", "account", "001A")]
    assert m.to_canonical({"LastName": "Doe", "AccountId": "001Z"}, resolver).account_ref is None  # unknown
    assert m.to_canonical({"LastName": "Doe", "AccountId": "001A"}).account_ref is None            # no resolver
    assert m.to_source({"last_name": "Doe", "account_ref": "G-1"}, resolver=resolver) == {"LastName": "Doe", "AccountId": "001A"}
    assert m.to_source({"last_name": "Doe", "account_ref": "G-9"}, resolver=resolver) == {"LastName": "Doe"}
    assert m.to_source({"last_name": "Doe", "account_ref": "G-1"}) == {"LastName": "Doe"}


# ---------------------------------------------------------------- nested objects and lists
ORDER = """
entity: sales_order
source: A_SalesOrder
fields:
  order_number: SalesOrder
  account_ref: {from: SoldToParty, lookup: account}
  net_amount: {from: TotalNetAmount, transform: decimal}
  status: {from: OverallSDProcessStatus, map: {A: open, B: in_process, C: completed}, default: open}
  lines:
    from: to_Item.results
    fields:
      line_number: {from: SalesOrderItem, transform: int}
      sku: Material
      quantity: {from: RequestedQuantity, transform: decimal}
      unit: {from: RequestedQuantityUnit, transform: upper}
      net_amount: {from: NetAmount, transform: decimal, direction: in}
"""


def test_order_lines_in_and_out(compile_yaml):
    m = compile_yaml(ORDER)
    resolver = FakeResolver({"account": {"17100001": "G-7"}})
    raw = {"SalesOrder": "5000001", "SoldToParty": "17100001", "TotalNetAmount": "110.00",
           "OverallSDProcessStatus": "B", "to_Item": {"results": [
               {"SalesOrderItem": "10", "Material": "TG11", "RequestedQuantity": "2.000", "RequestedQuantityUnit": "pc",
                "NetAmount": "100.00"},
               {"SalesOrderItem": "20", "Material": "TG12", "RequestedQuantity": "1", "NetAmount": "10"}]}}
    order = m.to_canonical(raw, resolver)
    assert order.account_ref == "G-7" and order.status == "in_process" and len(order.lines) == 2
    assert order.lines[0].line_number == 10 and order.lines[0].unit == "PC" and order.lines[1].unit is None
    flat = flatten(order)
    assert flat["lines"][0] == {"line_number": 10, "sku": "TG11", "quantity": "2", "unit": "PC", "net_amount": "100"}
    out = m.to_source(flat, resolver=resolver)
    assert out["to_Item"] == {"results": [
        {"SalesOrderItem": 10, "Material": "TG11", "RequestedQuantity": "2", "RequestedQuantityUnit": "PC"},
        {"SalesOrderItem": 20, "Material": "TG12", "RequestedQuantity": "1"}]}
    assert m.to_source(flat, fields={"lines"}).keys() == {"to_Item"}
    assert m.out_fields() == {"order_number", "account_ref", "net_amount", "status", "lines"}
    refs = {r.field: r for r in m.source_paths()}
    assert refs["lines.sku"].path == "to_Item.results[*].Material" and refs["lines.sku"].line == 12
    assert refs["lines.net_amount"].direction == "in"


def test_list_errors_name_the_item(compile_yaml):
    m = compile_yaml(ORDER)
    base = {"SalesOrder": "1"}
    with pytest.raises(RecordError) as info:
        m.to_canonical(base | {"to_Item": {"results": [
            {"SalesOrderItem": "10", "Material": "A", "RequestedQuantity": "1"},
            {"SalesOrderItem": "x", "Material": "B", "RequestedQuantity": "1"}]}})
    assert info.value.field == "lines[1].line_number" and "'x'" in str(info.value)
    assert "from source 'to_Item.results[1].SalesOrderItem'" in str(info.value)
    with pytest.raises(RecordError, match=r"required canonical field 'lines\[0\].sku' from source 'Material' is empty"):
        m.to_canonical(base | {"to_Item": {"results": [{"SalesOrderItem": "10", "RequestedQuantity": "1"}]}})
    with pytest.raises(RecordError, match="expected a list"):
        m.to_canonical(base | {"to_Item": {"results": {"SalesOrderItem": "10"}}})
    assert m.to_canonical(base | {"to_Item": {"__deferred": {"uri": "x"}}}).lines == ()


def test_nested_object_rule(compile_yaml):
    m = compile_yaml("""
        entity: account
        source: A_BusinessPartner
        fields:
          name: BusinessPartnerFullName
          billing_address:
            from: to_BusinessPartnerAddress.results[0]
            fields:
              city: CityName
              postal_code: PostalCode
              country: {from: Country, transform: country}
          shipping_address:
            fields:
              city: ShipCity
        """)
    raw = {"BusinessPartnerFullName": "Acme", "ShipCity": "Bonn",
           "to_BusinessPartnerAddress": {"results": [{"CityName": "Berlin", "PostalCode": "10115", "Country": "DE"}]}}
    flat = m.to_canonical_flat(raw)
    assert flat == {"name": "Acme", "billing_address.city": "Berlin", "billing_address.postal_code": "10115",
                    "billing_address.country": "DE", "shipping_address.city": "Bonn"}
    assert m.to_source(flat) == raw
    assert m.to_source(flat, fields={"billing_address.city"}) == {"to_BusinessPartnerAddress": {"results": [{"CityName": "Berlin"}]}}
    assert m.to_canonical({"BusinessPartnerFullName": "Acme"}).billing_address is None


def test_transform_chain_and_default_transform(compile_yaml):
    m = compile_yaml("""
        entity: product
        source: Material
        fields:
          sku: {from: Material, transform: [strip, upper]}
          name: {from: Description, transform: [{default: unnamed}, title]}
          active: {from: Flag, transform: {bool: {true_values: [X], false_values: ["-"], true_out: X, false_out: "-"}}}
          list_price: {from: Price, transform: {decimal: {decimal_sep: ",", thousands_sep: "."}}}
        """)
    p = m.to_canonical({"Material": " tg-11 ", "Flag": "X", "Price": "1.234,50"})
    assert (p.sku, p.name, p.active, p.list_price) == ("TG-11", "Unnamed", True, Decimal("1234.50"))
    assert m.to_source(flatten(p)) == {"Material": "TG-11", "Description": "Unnamed", "Flag": "X", "Price": "1.234,5"}


def test_datetimes_are_utc_in_flat_records(compile_yaml):
    m = compile_yaml("""
        entity: account
        source: AccountObj
        fields:
          name: name
          created_at: {from: create_time, transform: {datetime: epoch_ms}}
        """)
    acc = m.to_canonical({"name": "x", "create_time": 1704103200000})
    assert acc.created_at == dt.datetime(2024, 1, 1, 10, tzinfo=dt.timezone.utc)
    assert m.to_canonical_flat({"name": "x", "create_time": "1704103200000"})["created_at"] == "2024-01-01T10:00:00+00:00"
    assert m.to_source({"name": "x", "created_at": "2024-01-01T10:00:00+00:00"}) == {"name": "x", "create_time": 1704103200000}
