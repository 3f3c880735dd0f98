"""Shipped Zoho CRM mappings: golden files (a raw page in, canonical records out) and metadata checks.

Regenerate the golden files after a deliberate change with ``ZOHO_GOLDEN_REGEN=1`` (the raw page
is taken from the seeded sandbox, so its content is deterministic).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.connectors.test_zoho_crm_helpers import connector, sandbox

mapping = pytest.importorskip("concord.hub.mapping")
if not hasattr(mapping, "load_mapping"):
    pytest.skip("concord.hub.mapping.load_mapping is not available yet", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = sorted((ROOT / "mappings" / "zoho_crm").glob("*.yaml"))
GOLDEN = Path(__file__).resolve().parent / "golden" / "zoho_crm"
PER_FILE = 8


@pytest.fixture(scope="module")
def zoho():
    sb = sandbox(80, seed=7)
    yield sb, connector(sb)
    sb.stop()


def _outcome(m, raw):
    try:
        return {"record": m.to_canonical(raw).model_dump(mode="json", exclude_none=True)}
    except Exception as exc:  # a RecordError is an expected outcome (quarantine)
        return {"error": type(exc).__name__, "message": str(exc)}


def test_every_entity_has_a_mapping() -> None:
    entities = {mapping.load_mapping(p).entity for p in MAPPINGS}
    assert entities >= {"account", "contact", "product", "sales_order", "opportunity", "invoice"}


@pytest.mark.parametrize("path", MAPPINGS, ids=lambda p: p.stem)
def test_mapping_passes_check_against_the_field_metadata(path: Path, zoho) -> None:
    _, conn = zoho
    m = mapping.load_mapping(path)
    spec = next(s for s in conn.entities() if s.name == m.source)
    assert [str(e) for e in m.check_against(spec)] == []


@pytest.mark.parametrize("path", MAPPINGS, ids=lambda p: p.stem)
def test_golden_page(path: Path, zoho) -> None:
    m = mapping.load_mapping(path)
    golden = GOLDEN / f"{path.stem}.json"
    if os.environ.get("ZOHO_GOLDEN_REGEN") or not golden.exists():
        _, conn = zoho
        page = next(iter(conn.read(m.source)))
        raw = [dict(r) for r in page.records[:PER_FILE]]
        GOLDEN.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps({"source": m.source, "raw": raw, "expected": [_outcome(m, r) for r in raw]},
                                     ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    data = json.loads(golden.read_text(encoding="utf-8"))
    assert [_outcome(m, r) for r in data["raw"]] == data["expected"]
    assert any("record" in e for e in data["expected"]), "a golden page needs at least one mapped record"


def test_cjk_names_map_unchanged(zoho) -> None:
    sb, conn = zoho
    m = mapping.load_mapping(ROOT / "mappings" / "zoho_crm" / "account.yaml")
    cjk = [r for p in conn.read("Accounts") for r in p.records if any("\u4e00" <= ch <= "\u9fff" for ch in r["Account_Name"])]
    assert cjk, "the sandbox seeds Chinese account names"
    for raw in cjk[:5]:
        try:
            rec = m.to_canonical(raw)
        except Exception:
            continue
        assert rec.name == raw["Account_Name"].strip()
        assert m.to_source({"name": rec.name}, fields={"name"})["Account_Name"] == raw["Account_Name"].strip()


def test_to_source_writes_through_the_connector(zoho) -> None:
    sb, conn = zoho
    from concord.hub.contracts import Change
    m = mapping.load_mapping(ROOT / "mappings" / "zoho_crm" / "product.yaml")
    payload = m.to_source({"sku": "MAT-GOLD-1", "name": "Golden Widget", "unit": "EA", "list_price": "12.50",
                           "currency": "EUR", "active": True})
    assert payload["Usage_Unit"] == "Each"
    [res] = conn.write("Products", [Change(op="create", entity="Products", fields=payload, idempotency_key="g1")])
    assert res.ok, res.error
    row = sb.record("Products", res.target_id)
    assert row["Product_Code"] == "MAT-GOLD-1" and row["Unit_Price"] == 12.5 and row["Usage_Unit"] == "Each"
