"""check_against: mapped source paths vs the system's own metadata (EntitySpec.fields)."""
from __future__ import annotations

import json

from concord.hub.contracts import EntitySpec, FieldSpec
from tests import fixtures_path

SPEC = EntitySpec(name="Orders", primary_key=("OrderNo",), fields=(
    FieldSpec(name="OrderNo", type="string", createable=True, updateable=False),
    FieldSpec(name="Status", type="picklist", picklist=("Open", "Released", "Done")),
    FieldSpec(name="Blocked", type="boolean"),
    FieldSpec(name="Created", type="datetime", createable=False, updateable=False),
    FieldSpec(name="OrderDate", type="integer"),
    FieldSpec(name="Total", type="decimal"),
    FieldSpec(name="SoldTo", type="object", children=(FieldSpec(name="Id", type="id"), FieldSpec(name="Name"))),
    FieldSpec(name="to_Item", type="array", children=(
        FieldSpec(name="Pos", type="integer"), FieldSpec(name="Material", type="string"),
        FieldSpec(name="Qty", type="decimal"), FieldSpec(name="Flag", type="boolean"))),
    FieldSpec(name="Extra", type="object"),
))

GOOD = """
entity: sales_order
source: Orders
fields:
  order_number: OrderNo
  status: {from: Status, map: {Open: open, Released: in_process, Done: completed}}
  net_amount: Total
  customer_reference: SoldTo.Name
  account_ref: {from: SoldTo.Id, lookup: account}
  order_date: {from: OrderDate, transform: {date: epoch_ms}, direction: in}
  customer_number: {from: Extra.Anything, direction: in}
  lines:
    from: to_Item.results
    fields:
      line_number: Pos
      sku: Material
      quantity: Qty
"""


def test_good_mapping_has_no_problems(compile_yaml):
    m = compile_yaml(GOOD)
    errors = m.check_against(SPEC)
    # 'OrderNo' is createable (not updateable): writing it back is allowed
    assert errors == []
    assert m.check_against(EntitySpec(name="Orders", primary_key=("OrderNo",))) == []     # no metadata: nothing to check


def test_each_problem_names_file_line_and_field(compile_yaml):
    m = compile_yaml("""
        entity: sales_order
        source: Orders
        fields:
          order_number: OrdrNo
          status: {from: Status, map: {Open: open, Closed: completed}}
          net_amount: {from: Blocked, transform: decimal}
          order_date: OrderDate
          requested_delivery_date: Created
          customer_reference: SoldTo.Nme
          customer_number: Extra
          lines:
            from: to_Item.results
            fields:
              line_number: Pos
              sku: Materiel
              quantity: Qty
              description: {from: Flag, transform: strip}
        """)
    errors = {e.key: e for e in m.check_against(SPEC)}
    assert set(errors) == {"order_number", "status", "net_amount", "order_date", "requested_delivery_date",
                           "customer_reference", "customer_number", "sku", "description"}
    assert errors["order_number"].line == 4 and errors["order_number"].file == m.file
    assert "Orders has no field 'OrdrNo'" in str(errors["order_number"]) and "did you mean 'OrderNo'" in str(errors["order_number"])
    assert "'Closed' are not values of picklist 'Status'" in str(errors["status"]) and "Open, Released, Done" in str(errors["status"])
    assert "transform 'decimal' cannot read source field 'Blocked' of type boolean" in str(errors["net_amount"])
    assert "is a date but source field 'OrderDate' is integer; use a date transform" in str(errors["order_date"])
    assert "read-only" in str(errors["requested_delivery_date"]) and "direction: in" in str(errors["requested_delivery_date"])
    assert "Orders.SoldTo has no field 'Nme'" in str(errors["customer_reference"])
    assert "is object, not a value" in str(errors["customer_number"])
    assert "has no field 'Materiel'" in str(errors["sku"]) and errors["sku"].line == 15
    assert "cannot read source field 'Flag' of type boolean" in str(errors["description"])


def test_wrong_source_entity(compile_yaml):
    m = compile_yaml(GOOD.replace("source: Orders", "source: Order"))
    errors = m.check_against(SPEC)
    (err,) = errors
    assert err.key == "source" and "'Order'" in str(err)


def _salesforce_spec(name: str) -> EntitySpec:
    describe = json.loads(fixtures_path("salesforce", "describe", f"{name}.describe.json").read_text())
    kinds = {"double": "decimal", "currency": "decimal", "percent": "decimal", "int": "integer", "textarea": "text",
             "address": "object", "combobox": "picklist", "multipicklist": "string"}
    fields = tuple(
        FieldSpec(name=f["name"], type=kinds.get(f["type"], f["type"]),
                  createable=f["name"] not in ("Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"),
                  updateable=f["name"] not in ("Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"),
                  picklist=tuple(p["value"] for p in f["picklistValues"]) or None)
        for f in describe["fields"])
    return EntitySpec(name=describe["name"], primary_key=("Id",), fields=fields)


def test_against_real_salesforce_describe(compile_yaml):
    spec = _salesforce_spec("Account")
    m = compile_yaml("""
        entity: account
        source: Account
        fields:
          name: Name
          lifecycle: {from: Type, map: {Prospect: prospect, "Customer - Direct": customer, "Channel Partner / Reseller": partner}}
          industry: Industry
          billing_address.city: BillingCity
          billing_address.country: {from: BillingCountry, transform: {country: {out: name}}}
          phone: {from: Phone, transform: {phone: {region: US}}}
          website: {from: Website, transform: url}
          annual_revenue: AnnualRevenue
          employees: NumberOfEmployees
          created_at: {from: CreatedDate, transform: {datetime: salesforce}, direction: in}
        """)
    assert m.check_against(spec) == []
    bad = compile_yaml("""
        entity: account
        source: Account
        fields:
          name: Name
          lifecycle: {from: Type, map: {Customer: customer}}
          created_at: {from: CreatedDate, transform: {datetime: salesforce}}
        """, name="bad.yaml")
    problems = [str(e) for e in bad.check_against(spec)]
    assert len(problems) == 2, problems
    assert "'Customer' are not values of picklist 'Type'" in problems[0] and "Customer - Direct" in problems[0]
    assert "'CreatedDate' is read-only" in problems[1] and problems[1].startswith(bad.file + ":6")
