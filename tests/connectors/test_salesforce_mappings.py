"""Shipped Salesforce mappings: golden files (raw page in, canonical records out) and describe checks."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from concord.hub.errors import RecordError

from concord.hub.mapping import load_mapping
from concord.hub.sandbox.world import World
from concord.connectors.salesforce.sandbox import start
from tests import fixtures_path
from tests.connectors.test_salesforce_contract import make_connector

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "connectors" / "golden" / "salesforce"
MAPPINGS = sorted((ROOT / "mappings" / "salesforce").glob("*.yaml"))


@pytest.mark.parametrize("path", MAPPINGS, ids=lambda p: p.stem)
def test_golden(path):
    m = load_mapping(str(path))
    raw = json.loads((GOLDEN / f"{path.stem}.input.json").read_text(encoding="utf-8"))["records"]
    expected = json.loads((GOLDEN / f"{path.stem}.expected.json").read_text(encoding="utf-8"))
    assert len(raw) == len(expected)
    for record, want in zip(raw, expected):
        if "error" in want:                         # bad vendor data: a RecordError that names the problem
            with pytest.raises(RecordError) as exc:
                m.to_canonical(record)
            assert str(exc.value) == want["message"]
        else:
            assert json.loads(m.to_canonical(record).model_dump_json()) == want


def test_every_mapping_passes_check_against_the_describe():
    with start(World(2, 20)) as rs:
        specs = {s.name: s for s in make_connector(rs).entities()}
        for path in MAPPINGS:
            m = load_mapping(str(path))
            assert m.check_against(specs[m.source]) == [], path.name


def test_check_catches_a_field_the_describe_lacks(tmp_path):
    bad = tmp_path / "account.yaml"
    bad.write_text("entity: account\nsource: Account\nfields:\n  name: Nmae\n", encoding="utf-8")
    with start(World(2, 20)) as rs:
        spec = next(s for s in make_connector(rs).entities() if s.name == "Account")
    errors = load_mapping(str(bad)).check_against(spec)
    assert errors and "Name" in str(errors[0])


def test_account_mapping_reads_standard_fields_of_the_real_describe():
    real = json.loads(fixtures_path("salesforce", "describe", "Account.describe.json").read_text(encoding="utf-8"))
    names = {f["name"] for f in real["fields"]}
    m = load_mapping(str(ROOT / "mappings" / "salesforce" / "account.yaml"))
    raw = json.loads((GOLDEN / "account.input.json").read_text(encoding="utf-8"))["records"][0]
    standard = [k for k in raw if not k.endswith("__c") and k not in ("attributes", "CurrencyIsoCode")]
    assert set(standard) <= names | {"Concord_Id__c"}, set(standard) - names
    assert m.to_canonical(raw).name
