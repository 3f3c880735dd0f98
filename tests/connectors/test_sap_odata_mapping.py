"""Shipped SAP mappings: golden files (a raw page in, canonical records out) and $metadata checks.

Regenerate the golden files after a deliberate change with
``CONCORD_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/connectors/test_sap_odata_mapping.py``.
The $metadata checks run against Concord's own reduced EDMX and, when ../shared is present, the real S/4 files.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from concord.connectors.sap_odata.config import SapODataConfig
from concord.connectors.sap_odata.edmx import parse_edmx
from concord.connectors.sap_odata.metadata import entity_spec
from concord.connectors.sap_odata.receivables import BILLING_SET, receivable_field
from concord.connectors.sap_odata.stock import stock_field
from concord.connectors.sap_odata.sandbox import OWN_EDMX, SERVICES, start
from concord.hub.mapping import load_mapping
from concord.hub.sandbox.world import World
from tests import fixtures_path
from tests.connectors.test_sap_odata_connector import conn

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "mappings" / "sap_odata"
GOLDEN = Path(__file__).resolve().parent / "golden" / "sap_odata"
REGEN = os.environ.get("CONCORD_REGEN_GOLDEN") == "1"
FILES = sorted(p.stem for p in MAPPINGS.glob("*.yaml"))


def _spec(source: str, files: dict[str, Path]):
    """The spec the connector builds: from $metadata, plus the MaterialStock block on A_Product (stock.py)."""
    for path in files.values():
        model = parse_edmx(path.read_bytes())
        if source in model.entity_sets:
            spec = entity_spec(model, source, batch_size=100, lookback=0)
            if source in SapODataConfig.model_fields["stock"].default_factory():
                spec = spec.model_copy(update={"fields": (*spec.fields, stock_field())})
            if source == BILLING_SET:
                spec = spec.model_copy(update={"fields": (*spec.fields, receivable_field())})
            return spec
    raise AssertionError(f"{source} in none of {list(files)}")


def test_the_issue_mappings_are_shipped() -> None:
    assert {"account", "product", "sales_order", "invoice"} <= set(FILES)


@pytest.mark.parametrize("name", FILES)
def test_mapping_checks_against_own_metadata(name: str) -> None:
    m = load_mapping(MAPPINGS / f"{name}.yaml")
    spec = _spec(m.source, {s: OWN_EDMX / f"{s}.edmx" for s in SERVICES})
    assert [str(e) for e in m.check_against(spec)] == []


@pytest.mark.parametrize("name", FILES)
def test_mapping_checks_against_real_s4_metadata(name: str) -> None:
    m = load_mapping(MAPPINGS / f"{name}.yaml")
    # API_MATERIAL_STOCK_SRV and API_BILLING_DOCUMENT_SRV have no real $metadata among the fixtures: Concord's own
    # files (modelled on the published services) stand in for them
    own = ("API_MATERIAL_STOCK_SRV", "API_BILLING_DOCUMENT_SRV")
    spec = _spec(m.source, {s: fixtures_path("sap-odata-v2", f"{s}.edmx") if s not in own
                            else OWN_EDMX / f"{s}.edmx" for s in SERVICES})
    assert [str(e) for e in m.check_against(spec)] == []


@pytest.fixture(scope="module")
def sandbox():
    sb = start(World(3, 12), metadata=[str(OWN_EDMX / f"{s}.edmx") for s in SERVICES])
    yield sb
    sb.stop()


@pytest.mark.parametrize("name", FILES)
def test_golden_page_maps_to_expected_records(name: str, sandbox) -> None:
    m = load_mapping(MAPPINGS / f"{name}.yaml")
    raw_file, out_file = GOLDEN / f"{name}.page.json", GOLDEN / f"{name}.expected.json"
    if REGEN:
        page = next(iter(conn(sandbox).read(m.source)))
        GOLDEN.mkdir(parents=True, exist_ok=True)
        raw_file.write_text(json.dumps(list(page.records)[:4], indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    raw = json.loads(raw_file.read_text(encoding="utf-8"))
    got = [json.loads(m.to_canonical(r).model_dump_json()) for r in raw]
    if REGEN:
        out_file.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert got == json.loads(out_file.read_text(encoding="utf-8"))
