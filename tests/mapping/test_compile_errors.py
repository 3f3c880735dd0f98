"""Compile-time errors: each names the file, the line and the key, and says what was expected."""
from __future__ import annotations

import pytest

from concord.hub.errors import ConfigError
from concord.hub.mapping import compile_mapping, load_mapping


def check(err: ConfigError, line: int, key: str | None, *fragments: str) -> None:
    assert err.file and err.file.endswith("m.yaml"), err.file
    assert err.line == line, (err.line, str(err))
    assert err.key == key, (err.key, str(err))
    assert str(err).startswith(f"{err.file}:{line}")
    for fragment in fragments:
        assert fragment in str(err), (fragment, str(err))


def test_bad_yaml(compile_error):
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: [Name
        """)
    check(err, 5, None, "invalid YAML")


def test_yaml_duplicate_key_is_a_duplicate_rule(compile_error):
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: Name
          phone: Phone
          name: AccountName
        """)
    check(err, 6, "fields.name", "duplicate key 'name'")


def test_duplicate_rule_through_an_object(compile_error):
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: Name
          billing_address.city: City
          billing_address:
            fields:
              city: BillingCity
        """)
    check(err, 6, "fields.billing_address", "'billing_address.city' is mapped twice", "first at line 5")


def test_unknown_top_level_key(compile_error):
    err = compile_error("""
        entity: account
        source: Account
        filter: x
        fields:
          name: Name
        """)
    check(err, 3, "filter", "unknown key 'filter'")


def test_missing_top_level_key(compile_error):
    err = compile_error("""
        entity: account
        fields:
          name: Name
        """)
    check(err, 1, "source", "missing required key 'source'")


def test_unknown_entity(compile_error):
    err = compile_error("""
        entity: acount
        source: Account
        fields:
          name: Name
        """)
    check(err, 1, "entity", "unknown canonical entity 'acount'", "did you mean 'account'")


def test_unknown_canonical_field_lists_close_matches(compile_error):
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: Name
          phon: Phone
        """)
    check(err, 5, "fields.phon", "unknown canonical field 'phon'", "did you mean 'phone'")
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: Name
          billing_address.town: City
        """)
    check(err, 5, "fields.billing_address.town", "Address (billing_address) has no field 'town'")


def test_unknown_rule_key(compile_error):
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: {from: Name, trasform: strip}
        """)
    check(err, 4, "fields.name.trasform", "unknown key 'trasform'")


def test_unknown_transform_lists_known(compile_error):
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: Name
          credit_limit:
            from: Credit
            transform: [strip, decimel]
        """)
    check(err, 7, "fields.credit_limit.transform[1]", "unknown transform 'decimel'", "did you mean 'decimal'")


def test_bad_transform_parameters(compile_error):
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: Name
          credit_limit:
            from: Credit
            transform:
              decimal:
                decimal_sep: ",,"
        """)
    check(err, 9, "fields.credit_limit.transform.decimal.decimal_sep", "at most 1 character")
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: Name
          created_at: {from: Created, transform: {datetime: {format: german}}}
        """)
    check(err, 5, "fields.created_at.transform.datetime.format", "format must be one of")
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: Name
          phone: {from: Phone, transform: {phone: {regoin: DE}}}
        """)
    check(err, 5, "fields.phone.transform.phone.regoin", "unknown key 'regoin'")


def test_value_map_that_the_canonical_type_cannot_hold(compile_error):
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: Name
          lifecycle:
            from: Type
            map:
              Customer: customer
              Key Account: vip
        """)
    check(err, 9, "fields.lifecycle.map.Key Account", "map value 'vip' does not fit", "allowed: prospect")


def test_const_of_the_wrong_type(compile_error):
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: Name
          employees: {const: many}
        """)
    check(err, 5, "fields.employees.const", "const 'many' does not fit canonical field 'employees' (integer)")
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: Name
          currency: {const: EURO}
        """)
    check(err, 5, "fields.currency.const", "at most 3 characters")


def test_const_cannot_write_back(compile_error):
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: Name
          currency: {const: EUR, direction: both}
        """)
    check(err, 5, "fields.currency.direction", "direction: in")


def test_default_of_the_wrong_type(compile_error):
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: Name
          lifecycle: {from: Type, map: {A: customer}, default: vip}
        """)
    check(err, 5, "fields.lifecycle.default", "default 'vip' does not fit")


def test_required_field_without_rule(compile_error):
    err = compile_error("""
        entity: account
        source: Account
        fields:
          phone: Phone
          name: {from: Name, direction: out}
        """)
    check(err, 3, "fields", "required canonical field 'name' has no rule that reads it")
    err = compile_error("""
        entity: sales_order
        source: Orders
        fields:
          order_number: OrderNo
          lines:
            from: Items
            fields:
              sku: Material
              quantity: Qty
        """)
    check(err, 7, "fields.lines.fields", "'lines[].line_number'")


def test_rule_needs_from_or_const(compile_error):
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: {transform: strip}
        """)
    check(err, 4, "fields.name", "needs 'from'")


def test_bad_source_path(compile_error):
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: Name..First
        """)
    check(err, 4, "fields.name.from", "bad source path", "empty key")


def test_yaml_boolean_as_source_path(compile_error):
    err = compile_error("""
        entity: sales_order
        source: Orders
        fields:
          order_number: No
        """)
    check(err, 4, "fields.order_number", "YAML reads", "quote it")


def test_lookup_errors(compile_error):
    err = compile_error("""
        entity: contact
        source: Contact
        fields:
          last_name: LastName
          account_ref: {from: AccountId, lookup: acount}
        """)
    check(err, 5, "fields.account_ref.lookup", "unknown canonical entity 'acount'")
    err = compile_error("""
        entity: contact
        source: Contact
        fields:
          last_name: LastName
          birth_date: {from: AccountId, lookup: account}
        """)
    check(err, 5, "fields.birth_date.lookup", "is a date")


def test_transform_result_type_must_fit(compile_error):
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: {from: Name, transform: {date: iso}}
        """)
    check(err, 4, "fields.name.transform", "gives a date, but canonical field 'name' is a string")


def test_non_invertible_transform_with_explicit_write_back(compile_error, compile_yaml):
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: {from: Name, transform: legal_form_strip, direction: both}
        """)
    check(err, 4, "fields.name.direction", "cannot be reversed", "direction: in")
    m = compile_yaml("""
        entity: account
        source: Account
        fields:
          name: {from: Name, transform: legal_form_strip}
          legal_form: {from: Name, transform: legal_form}
        """)
    assert m.out_fields() == set() and m.in_fields() == {"name", "legal_form"}


def test_two_rules_writing_one_source_field(compile_error):
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: Name
          phone: Phone
          email: Phone
        """)
    check(err, 6, "email", "source path 'Phone' is written back by two rules", "direction: in")


def test_objects_and_lists_need_fields(compile_error):
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: Name
          billing_address: Address
        """)
    check(err, 5, "fields.billing_address", "is an object", "billing_address.<part>")
    err = compile_error("""
        entity: sales_order
        source: Orders
        fields:
          order_number: OrderNo
          lines: {from: Items, transform: strip, fields: {line_number: Pos, sku: Mat, quantity: Qty}}
        """)
    check(err, 5, "fields.lines.transform", "not allowed on 'lines'")
    err = compile_error("""
        entity: account
        source: Account
        fields:
          name: {from: Name, fields: {a: b}}
        """)
    check(err, 4, "fields.name.fields", "only for nested objects and lists")


def test_errors_without_a_file():
    with pytest.raises(ConfigError, match="unknown canonical entity"):
        compile_mapping({"entity": "nope", "source": "X", "fields": {"name": "Name"}}, file="inline.yaml")
    with pytest.raises(ConfigError, match="a mapping file must be a YAML object"):
        compile_mapping(["entity"])  # type: ignore[arg-type]


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_mapping(tmp_path / "nope.yaml")


def test_yaml_boolean_among_text_map_keys(compile_error):
    err = compile_error("""
        entity: sales_order
        source: Orders
        fields:
          order_number: OrderNo
          status:
            from: Status
            map:
              ERF: draft
              OFF: open
        """)
    check(err, 9, "fields.status.map[False]", "boolean false", "quote it")
