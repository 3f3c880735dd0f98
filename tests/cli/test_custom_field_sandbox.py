"""An open canonical model, end to end: `concord init --scenario customer-master --erp sap_odata --crm salesforce
--sandbox`, then an integrator adds a field of their own in project files only (concord.yaml `extensions:` and
`value_maps:`, one line in each mapping): SAP's customer classification (A_Customer.CustomerClassification, a field
the shipped mappings leave out) reaches the Salesforce account's Rating through a project value map.
`concord check` passes against both sandboxes' metadata, `concord sync` moves the value, and the warehouse's typed
account table has the new column."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, inspect, text

from tests.cli.helpers import sandbox_up
from tests.cli.test_init_systems import _run
from tests.cli.test_scenarios_sandbox import _Salesforce, _Sap
from tests.conftest import run_cli

pytestmark = pytest.mark.slow

EXTENSION = """
# ---- the project's own fields and value maps (docs/mapping-reference.md: "An open canonical model")
extensions:
  account:
    fields:
      customer_class: {type: enum, values: [A, B, C], description: "SAP customer classification (ABC analysis)"}
value_maps:
  sf_rating: value_maps/sf_rating.yaml
"""
RATING_MAP = "# Salesforce Account.Rating <-> the SAP customer classification\nmap: {Hot: A, Warm: B, Cold: C}\n"


def _customise(folder: Path) -> None:
    """What an integrator edits: concord.yaml (the field, who owns it, where it goes), a value-map file, and one
    line in each copied mapping."""
    cfg = folder / "concord.yaml"
    doc = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    account = doc["entities"]["account"]
    account["survivorship"]["fields"]["customer_class"] = {"strategy": "priority", "priority": ["sap_odata", "salesforce"]}
    to_sf = next(r for r in account["sync"] if r["target"] == "salesforce")
    to_sf["fields"].append("customer_class")
    cfg.write_text(yaml.safe_dump(doc, sort_keys=False) + EXTENSION, encoding="utf-8")
    (folder / "value_maps").mkdir()
    (folder / "value_maps" / "sf_rating.yaml").write_text(RATING_MAP, encoding="utf-8")
    with open(folder / "mappings" / "sap_odata" / "account.yaml", "a", encoding="utf-8") as fh:
        fh.write("  customer_class: {from: to_Customer.CustomerClassification, direction: in}   # project field\n")
    with open(folder / "mappings" / "salesforce" / "account.yaml", "a", encoding="utf-8") as fh:
        fh.write("  customer_class: {from: Rating, map: sf_rating}   # project field, project value map\n")


@pytest.fixture
def customer_master(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    folder = tmp_path / "cm"
    run_cli("init", "--scenario", "customer-master", "--erp", "sap_odata", "--crm", "salesforce", "--sandbox",
            str(folder), "--json", cwd=tmp_path)
    _customise(folder)
    with sandbox_up(folder) as (_lines, env):
        yield folder, env


def test_a_custom_field_added_in_project_files_flows_from_sap_to_salesforce(
        customer_master: tuple[Path, dict[str, str]], database_url: str) -> None:
    folder, env = customer_master
    assert "ok:" in _run("check", cwd=folder, env=env).stdout
    summary = json.loads(_run("sync", "--json", "--warehouse", database_url, cwd=folder, env=env).stdout)
    assert summary["status"] == "success", summary

    sf, sap = _Salesforce(env), _Sap(env)
    classes = {}
    for bp in sap.get("API_BUSINESS_PARTNER/A_Customer", **{"$select": "Customer,CustomerClassification"}
                      ).json()["d"]["results"]:
        classes[bp["Customer"]] = bp["CustomerClassification"]
    linked = sf.query("SELECT Id, AccountNumber, Rating FROM Account WHERE AccountNumber != null")
    checked = [a for a in linked if classes.get(a["AccountNumber"])]
    assert checked, "no Salesforce account is linked to a classified SAP customer"
    rating = {"A": "Hot", "B": "Warm", "C": "Cold"}
    assert {a["AccountNumber"]: a["Rating"] for a in checked} == {
        a["AccountNumber"]: rating[classes[a["AccountNumber"]]] for a in checked}

    # the warehouse keeps the project's field in the typed account table, as a column of its own
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            assert "customer_class" in {c["name"] for c in inspect(conn).get_columns("account")}
            stored = dict(conn.execute(text("SELECT erp_customer_number, customer_class FROM account "
                                            "WHERE customer_class IS NOT NULL")).all())
    finally:
        engine.dispose()
    assert stored and all(classes.get(k) == v for k, v in stored.items()), stored

    # settled: a second sync writes nothing more
    again = json.loads(_run("sync", "--json", "--warehouse", database_url, cwd=folder, env=env).stdout)
    assert sum(d.get("written", 0) for per in again["streams"].values() for d in per.values()) == 0, again


def test_check_names_the_mapping_line_of_an_undeclared_field(customer_master: tuple[Path, dict[str, str]]) -> None:
    folder, env = customer_master
    sf_mapping = folder / "mappings" / "salesforce" / "account.yaml"
    sf_mapping.write_text(sf_mapping.read_text(encoding="utf-8") + "  customer_tier: Site\n", encoding="utf-8")
    line = len(sf_mapping.read_text(encoding="utf-8").splitlines())
    out = _run("check", cwd=folder, env=env, ok=(2,))
    assert f"account.yaml:{line} (fields.customer_tier)" in out.stderr, out.stderr
    assert "extensions" in out.stderr
    # a custom field the org does not have is named at its mapping line, from Salesforce's own describe
    text_ = sf_mapping.read_text(encoding="utf-8").replace("  customer_tier: Site\n", "")
    sf_mapping.write_text(text_.replace("{from: Rating, map: sf_rating}", "{from: Customer_Class__c, map: sf_rating}"),
                          encoding="utf-8")
    line = next(i for i, t in enumerate(sf_mapping.read_text(encoding="utf-8").splitlines(), 1) if "Customer_Class__c" in t)
    out = _run("check", cwd=folder, env=env, ok=(2,))
    assert f"account.yaml:{line} (customer_class)" in out.stderr and "no field 'Customer_Class__c'" in out.stderr, \
        out.stderr
    sf_mapping.write_text(text_, encoding="utf-8")
    # and a value the map cannot give is refused against Salesforce's picklist, at the value map's use
    sf_mapping.write_text(sf_mapping.read_text(encoding="utf-8").replace("  customer_tier: Site\n", ""),
                          encoding="utf-8")
    (folder / "value_maps" / "sf_rating.yaml").write_text("map: {Hot: A, Tepid: B}\n", encoding="utf-8")
    out = _run("check", cwd=folder, env=env, ok=(2,))
    assert "'Tepid'" in out.stderr and "picklist 'Rating'" in out.stderr, out.stderr
