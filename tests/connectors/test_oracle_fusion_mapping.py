"""Shipped Oracle Fusion mappings: golden files (a raw page in, canonical records out) and describe checks.

Regenerate the golden files after a deliberate change with
``CONCORD_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/connectors/test_oracle_fusion_mapping.py``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from concord.hub.mapping import load_mapping
from concord.hub.sandbox.world import World
from concord.connectors.oracle_fusion.sandbox import start
from tests.connectors.test_oracle_fusion_contract import make_connector

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "mappings" / "oracle_fusion"
GOLDEN = Path(__file__).resolve().parent / "golden" / "oracle_fusion"
REGEN = os.environ.get("CONCORD_REGEN_GOLDEN") == "1"
FILES = sorted(p.stem for p in MAPPINGS.glob("*.yaml"))


@pytest.fixture(scope="module")
def sandbox():
    sb = start(World(3, 12))
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def connector(sandbox):
    return make_connector(sandbox, version=4)


def test_every_canonical_entity_of_the_issue_is_shipped() -> None:
    assert {"account", "product", "sales_order", "invoice"} <= set(FILES)


@pytest.mark.parametrize("name", FILES)
def test_mapping_passes_check_against_describe(name: str, connector) -> None:
    m = load_mapping(MAPPINGS / f"{name}.yaml")
    spec = {s.name: s for s in connector.entities()}[m.source]
    assert [str(e) for e in m.check_against(spec)] == []


@pytest.mark.parametrize("name", FILES)
def test_golden_page_maps_to_expected_records(name: str, connector) -> None:
    m = load_mapping(MAPPINGS / f"{name}.yaml")
    raw_file, out_file = GOLDEN / f"{name}.page.json", GOLDEN / f"{name}.expected.json"
    if REGEN:
        page = next(iter(connector.read(m.source)))
        GOLDEN.mkdir(parents=True, exist_ok=True)
        raw_file.write_text(json.dumps(list(page.records)[:5], indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    raw = json.loads(raw_file.read_text(encoding="utf-8"))
    got = [json.loads(m.to_canonical(r).model_dump_json()) for r in raw]
    if REGEN:
        out_file.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert got == json.loads(out_file.read_text(encoding="utf-8"))


def _shape(value):
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return None


@pytest.mark.parametrize("name", FILES)
def test_sandbox_still_serves_the_golden_shape(name: str, connector) -> None:
    """The golden input has the shape the sandbox serves (values follow the shared world, which may evolve)."""
    m = load_mapping(MAPPINGS / f"{name}.yaml")
    page = next(iter(connector.read(m.source)))
    golden = json.loads((GOLDEN / f"{name}.page.json").read_text(encoding="utf-8"))
    assert _shape(list(page.records)[0]) == _shape(golden[0])


def test_account_writes_back_in_oracle_names() -> None:
    m = load_mapping(MAPPINGS / "account.yaml")
    out = m.to_source({"name": "Acme GmbH", "lifecycle": "customer", "credit_limit": "5000", "currency": "EUR"})
    assert out["AccountName"] == "Acme GmbH" and out["Status"] == "A" and out["CurrencyCode"] == "EUR"
    assert "AccountNumber" not in out and "customerAccountSites" not in out
