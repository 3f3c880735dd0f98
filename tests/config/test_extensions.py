"""An open canonical model: a project's own fields (``extensions:``) and value maps (``value_maps:``), declared in
project files only, validated with file:line, strict at run time, and seen by ``concord check``."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from concord.hub.cli.checks import extension_problems
from concord.hub.config import load_project
from concord.hub.errors import ConfigError, RecordError

EXTENSION = """extensions:
  account:
    fields:
      customer_class: {type: enum, values: [A, B, C]}
      segment: {type: string, max_length: 12}
value_maps:
  classes: {map: {gold: A, silver: B, bronze: C}, reverse_map: {C: bronze}}
"""


def _extend(starter: Path, block: str = EXTENSION, *, erp: str = "", crm: str = "") -> int:
    """Append ``block`` to concord.yaml and rules to the account mappings; the block's first line number."""
    cfg = starter / "concord.yaml"
    first = len(cfg.read_text().splitlines()) + 1
    cfg.write_text(cfg.read_text() + block)
    for side, rules in (("erp", erp), ("crm", crm)):
        if rules:
            m = starter / f"mappings/{side}/account.yaml"
            m.write_text(m.read_text().rstrip("\n") + "\n" + rules)
    return first


def _errors(starter: Path) -> list[ConfigError]:
    with pytest.raises(ConfigError) as info:
        load_project(starter / "concord.yaml")
    return list(getattr(info.value, "errors", [info.value]))


def test_project_fields_extend_the_model_strictly(starter: Path) -> None:
    _extend(starter, erp="  customer_class: {from: Class, direction: in}\n  segment: {from: Segment, direction: in}\n",
            crm="  customer_class: {from: tier, map: classes}\n")
    project = load_project(starter / "concord.yaml")
    assert extension_problems(project) == []
    model = project.models["account"]
    assert {"customer_class", "segment"} <= set(model.model_fields) and model.entity_name == "account"
    erp, crm = project.mapping("account", "erp"), project.mapping("account", "crm")
    assert erp.to_canonical({"CustomerNo": "C1", "Name1": "Acme", "Class": "B", "Segment": "mid"}).customer_class == "B"
    with pytest.raises(RecordError, match="customer_class"):          # an enum is an enum
        erp.to_canonical({"CustomerNo": "C1", "Name1": "Acme", "Class": "Z"})
    with pytest.raises(RecordError, match="segment"):                 # max_length holds
        erp.to_canonical({"CustomerNo": "C1", "Name1": "Acme", "Segment": "x" * 13})
    # the project's value map, both ways; its reverse_map wins on the way out
    assert crm.to_canonical({"id": "a1", "name": "Acme", "tier": "silver"}).customer_class == "B"
    assert crm.to_source({"name": "Acme", "customer_class": "C"}, fields=["customer_class"]) == {"tier": "bronze"}
    assert crm.to_source({"name": "Acme", "customer_class": "A"}, fields=["customer_class"]) == {"tier": "gold"}
    # the shipped model is untouched
    from concord import schemas

    assert "customer_class" not in schemas.ENTITIES["account"].model_fields


@pytest.mark.parametrize("decl, message, offset", [
    ("      customer_class: {type: enum}\n", "needs `values`", 3),
    ("      customer_class: {type: money}\n", "type", 3),
    ("      customer_class: {type: integer, max_length: 3}\n", "`max_length` does not apply to a integer", 3),
    ("      name: {type: string}\n", "already has a field 'name'", 3),
    ("      Customer-Class: {type: string}\n", "lower-case letters", 3),
    ("      billing__city: {type: string}\n", "single underscores", 3),
    ("      json: {type: string}\n", "'json' is reserved", 3),
    ("      golden_id: {type: string}\n", "'golden_id' is reserved", 3),
    ("      customer_class: {type: string, pattern: '(unclosed'}\n", "not a regular expression", 3),
])
def test_a_broken_declaration_names_file_and_line(starter: Path, decl: str, message: str, offset: int) -> None:
    first = _extend(starter, "extensions:\n  account:\n    fields:\n" + decl)
    errs = _errors(starter)
    assert len(errs) == 1, errs
    assert errs[0].file.endswith("concord.yaml") and errs[0].line == first + offset, (errs[0], first)
    assert message in errs[0].message, errs[0].message


def test_an_unknown_entity_is_named(starter: Path) -> None:
    first = _extend(starter, "extensions:\n  acount:\n    fields:\n      x: {type: string}\n")
    (err,) = _errors(starter)
    assert err.line == first + 1 and "unknown canonical entity 'acount'" in err.message and "account" in err.message


def test_a_mapping_that_names_an_undeclared_field_fails_at_its_line(starter: Path) -> None:
    m = starter / "mappings/crm/account.yaml"
    line = len(m.read_text().rstrip("\n").splitlines()) + 1
    _extend(starter, crm="  customer_clas: tier\n")
    (err,) = _errors(starter)
    assert err.file.endswith("mappings/crm/account.yaml") and err.line == line, err
    assert "customer_clas" in err.message and "extensions" in err.message


def test_an_unknown_value_map_and_a_value_the_field_cannot_take(starter: Path, tmp_path: Path) -> None:
    _extend(starter, crm="  customer_class: {from: tier, map: clases}\n")
    (err,) = _errors(starter)
    assert "unknown value map 'clases'" in err.message and "did you mean 'classes'" in err.message
    assert err.file.endswith("mappings/crm/account.yaml")
    m = starter / "mappings/crm/account.yaml"
    m.write_text(m.read_text().replace("map: clases", "map: classes"))
    cfg = starter / "concord.yaml"
    cfg.write_text(cfg.read_text().replace("silver: B", "silver: D"))
    (err,) = _errors(starter)
    assert "map value 'D' does not fit canonical field 'customer_class'" in err.message, err.message


def test_a_value_map_file_is_checked_at_its_own_line(starter: Path) -> None:
    (starter / "value_maps").mkdir()
    (starter / "value_maps/tiers.yaml").write_text("# tiers\nmap: {gold: A}\nreverse_map: [A, gold]\n")
    _extend(starter, EXTENSION.replace("  classes: {map", "  tiers: value_maps/tiers.yaml\n  classes: {map"))
    (err,) = _errors(starter)
    assert err.file.endswith("value_maps/tiers.yaml") and err.line == 3, err


def test_check_names_a_declared_field_no_mapping_uses(starter: Path) -> None:
    first = _extend(starter, erp="  customer_class: {from: Class, direction: in}\n")
    project = load_project(starter / "concord.yaml")
    (err,) = extension_problems(project)
    assert err.line == first + 4 and "account.segment is declared, but no mapping reads or writes it" in err.message


def test_check_names_a_sync_rule_whose_target_cannot_write_the_field(starter: Path) -> None:
    _extend(starter, erp="  customer_class: {from: Class, direction: in}\n  segment: {from: Segment, direction: in}\n")
    cfg = yaml.safe_load((starter / "concord.yaml").read_text())
    rule = next(r for r in cfg["entities"]["account"]["sync"] if r["target"] == "erp")
    rule["fields"] = ["name", "segment"]
    (starter / "concord.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    problems = extension_problems(load_project(starter / "concord.yaml"))
    assert any("sync rule account -> erp lists extension field 'segment'" in p.message and p.line for p in problems), \
        problems


def test_derivations_rollups_and_kpis_may_name_project_fields(starter: Path) -> None:
    block = EXTENSION.replace("      segment: {type: string, max_length: 12}\n",
                              "      segment: {type: string, max_length: 12}\n      ltv: {type: decimal}\n"
                              "      orders: {type: integer}\n")
    _extend(starter, block + "kpis:\n  - name: account_kpis\n    fields: {ltv: lifetime_value, orders: order_count}\n",
            crm="  customer_class: {from: tier, map: classes}\n  segment: seg\n  ltv: ltv\n  orders: n\n")
    project = load_project(starter / "concord.yaml")
    assert project.config.kpis[0].fields == {"ltv": "lifetime_value", "orders": "order_count"}
    cfg = starter / "concord.yaml"
    cfg.write_text(cfg.read_text().replace("orders: order_count}", "segment: lifetime_value}"))
    (err,) = _errors(starter)
    assert "account.segment is string, but lifetime_value is a decimal figure" in err.message
    cfg.write_text(cfg.read_text().replace("segment: lifetime_value}", "orders: lifetime_valu}"))
    (err,) = _errors(starter)
    assert "customer_kpi has no column 'lifetime_valu'" in err.message and err.line


def test_a_folder_of_value_maps(starter: Path) -> None:
    (starter / "value_maps").mkdir()
    (starter / "value_maps/classes.yaml").write_text("map: {gold: A, silver: B}\n")
    (starter / "value_maps/notes.txt").write_text("not a map\n")
    _extend(starter, EXTENSION.replace("value_maps:\n  classes: {map: {gold: A, silver: B, bronze: C}, reverse_map: "
                                       "{C: bronze}}\n", "value_maps: value_maps/\n"),
            crm="  customer_class: {from: tier, map: classes}\n  segment: seg\n")
    project = load_project(starter / "concord.yaml")
    assert set(project.vocabulary.value_maps) == {"classes"}
    assert project.mapping("account", "crm").to_canonical({"id": "a", "name": "A", "tier": "silver"}).customer_class == "B"


def test_the_kpi_columns_are_the_views_columns(warehouse) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from concord.hub.config.derivations import KPI_COLUMNS

    with warehouse.engine.connect() as conn:
        cols = set(conn.execute(text("SELECT * FROM customer_kpi WHERE 1 = 0")).keys())
    assert set(KPI_COLUMNS["customer_kpi"]) == cols - {"golden_id", "name", "currency", "credit_limit"}


def test_a_field_of_each_line(tmp_path: Path) -> None:
    """``lines.<field>`` adds a field to the items of an entity's list (an SAP item Z-field)."""
    from concord.hub.config.extensions import EntityExtension, extended_models
    from concord.hub.mapping import compile_mapping

    models = extended_models({"sales_order": EntityExtension.model_validate(
        {"fields": {"lines.plant_note": {"type": "string", "max_length": 8}}})})
    m = compile_mapping({"entity": "sales_order", "source": "A_SalesOrder", "fields": {
        "order_number": "SalesOrder", "account_ref": "SoldToParty",
        "lines": {"from": "to_Item.results", "fields": {"line_number": "SalesOrderItem", "sku": "Material",
                                                        "quantity": "RequestedQuantity", "plant_note": "YY1_Note_SDI"}}}},
        models=models)
    raw = {"SalesOrder": "1", "SoldToParty": "a", "to_Item": {"results": [
        {"SalesOrderItem": "10", "Material": "M1", "RequestedQuantity": "2", "YY1_Note_SDI": "dock 4"}]}}
    flat = m.to_canonical_flat(raw)
    assert flat["lines"][0]["plant_note"] == "dock 4"
    assert m.to_source(flat)["to_Item"]["results"][0]["YY1_Note_SDI"] == "dock 4"
    raw["to_Item"]["results"][0]["YY1_Note_SDI"] = "too long a note"
    with pytest.raises(RecordError, match="plant_note"):
        m.to_canonical(raw)


def test_a_line_field_of_a_list_that_does_not_exist(starter: Path) -> None:
    first = _extend(starter, "extensions:\n  account:\n    fields:\n      lines.x: {type: string}\n")
    (err,) = _errors(starter)
    assert err.line == first + 3 and "account has no list of items 'lines'" in err.message, err
