"""Scenario packs (hub/packs): every pack names only canonical fields; `concord init --scenario` for every
ERP x CRM pair writes a project that passes `concord check --offline`, or says what is missing."""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
import yaml

from concord import schemas
from concord.hub.cli import scaffold, scenario_packs
from concord.hub.config.derivations import Derivation, Rollup
from concord.hub.config.model import MatchRule
from tests.conftest import run_cli

ERPS = ("sap_odata", "oracle_fusion", "soap_erp")
CRMS = ("salesforce", "zoho_crm", "fxiaoke")
PACKS = ("customer-master", "catalogue", "order-to-cash")


def _has_field(entity: str, path: str) -> bool:
    model = schemas.ENTITIES[entity]
    head, _, rest = path.partition(".")
    if head not in model.model_fields:
        return False
    if not rest:
        return True
    ann = model.model_fields[head].annotation
    inner = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and hasattr(a, "model_fields")]
    return any(rest in a.model_fields for a in inner)


def test_the_three_packs_are_installed_with_the_package() -> None:
    assert set(PACKS) <= set(scenario_packs.pack_names())
    root = resources.files("concord.hub.packs")
    for name in PACKS:
        assert root.joinpath(name, "README.md").read_text(encoding="utf-8").strip()
    assert scenario_packs.resolve_scenarios(["order-to-cash"]) == ["customer-master", "order-to-cash"]
    assert scenario_packs.resolve_scenarios(["order-to-cash", "catalogue"]) == list(PACKS)


@pytest.mark.parametrize("name", PACKS)
def test_a_pack_loads_and_names_only_canonical_fields(name: str) -> None:
    pack = scenario_packs.load_pack(name)
    assert pack["name"] == name
    for entity, spec in pack["entities"].items():
        assert entity in schemas.ENTITIES, entity
        fields: list[str] = []
        for role, need in (spec.get("mappings") or {}).items():
            assert role in ("erp", "crm") and need in ("required", "optional"), (entity, role, need)
        for rule in spec.get("match") or ():
            MatchRule.model_validate(rule)
            fields += rule["fields"]
        surv = spec.get("survivorship") or {}
        fields += list(surv.get("fields") or {})
        for rule in spec.get("sync") or ():
            assert rule["target"] in ("erp", "crm") and rule["mode"] in ("create", "update_only", "upsert", "update")
            fields += list(rule.get("fields") or ()) + [c["field"] for c in rule.get("when") or ()]
        for flds in (spec.get("add_fields") or {}).values():
            fields += flds
        bad = [f for f in fields if not _has_field(entity, f)]
        assert not bad, f"{name}: {entity} has no field(s) {bad}"
    for d in pack.get("derivations") or ():
        d = {k: v for k, v in d.items() if k != "requires"}
        Derivation.model_validate(scenario_packs._subst(d, {}, "2026-01-01"))       # checks every field both ways
        assert all(_has_field(d["from"], f) for f in (pack["derivations"][0].get("requires") or ()))
    for r in pack.get("rollups") or ():
        Rollup.model_validate(r)


def _dummy_env() -> dict[str, str]:
    return {var: "x" for v in scaffold.vendors().values() for var in (v.get("env") or {})}


@pytest.mark.parametrize("erp", ERPS)
def test_init_every_pair_checks_offline_or_says_what_is_missing(tmp_path: Path, erp: str) -> None:
    for crm in CRMS:
        folder = tmp_path / f"{erp}-{crm}"
        proc = run_cli("init", *(a for p in PACKS for a in ("--scenario", p)), "--erp", erp, "--crm", crm,
                       str(folder), "--json")
        out = json.loads(proc.stdout)
        assert out["scenarios"] == list(PACKS) and "account" in out["entities"]
        todo = (folder / "TODO.md").read_text(encoding="utf-8")
        for line in out["missing"]:               # one line per missing piece, in TODO.md too
            assert line in todo, line
        doc = yaml.safe_load((folder / "concord.yaml").read_text(encoding="utf-8"))
        for d in doc.get("derivations") or ():
            assert d["from"] in doc["entities"] and d["to"] in doc["entities"]
        for entity in out["left_out"]:
            assert entity not in doc["entities"]
        for name in PACKS:
            assert (folder / "scenarios" / f"{name}.md").is_file()
        check = run_cli("check", "--offline", cwd=folder, env=_dummy_env(), check=False)
        assert check.returncode == 0, f"{erp} + {crm}:\n{check.stdout}\n{check.stderr}\n{yaml.safe_dump(doc)}"
        # the human output says the same, one line per missing piece
        again = run_cli("init", "--scenario", "order-to-cash", "--scenario", "catalogue", "--erp", erp, "--crm", crm,
                        str(folder), "--force")
        assert all(f"missing: {m}" in again.stdout for m in out["missing"])


def test_sap_salesforce_order_to_cash_says_what_is_missing(tmp_path: Path) -> None:
    out = json.loads(run_cli("init", "--scenario", "order-to-cash", "--erp", "sap_odata", "--crm", "salesforce",
                             str(tmp_path / "p"), "--json").stdout)
    assert out["derivations"] == ["won_deal_to_order"]
    # SAP billing documents are the invoices; their roll-ups reach the Salesforce account's custom fields
    assert set(out["entities"]) == {"account", "opportunity", "sales_order", "invoice"}
    assert not any("invoice" in m or "receivables" in m for m in out["missing"]), out["missing"]
    assert any("sap_odata (erp) has no contact mapping" in m for m in out["missing"])


def test_unknown_scenario_and_bad_combinations(tmp_path: Path) -> None:
    bad = run_cli("init", "--scenario", "nosuch", "--erp", "sap_odata", "--crm", "salesforce", str(tmp_path / "a"),
                  check=False)
    assert bad.returncode == 2 and "order-to-cash" in bad.stderr and "Traceback" not in bad.stderr
    alone = run_cli("init", "--scenario", "catalogue", str(tmp_path / "b"), check=False)
    assert alone.returncode == 2 and "--erp" in alone.stderr
