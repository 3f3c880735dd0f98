"""Shipped soap_erp mappings: golden files (a raw ReadMultiple page in, canonical records out) and check_against."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from concord.hub.mapping import load_mapping
from concord.hub.sandbox.world import World
from concord.connectors.soap_erp.sandbox import (BUNDLED_WSDL, ITEM_WSDL, POSTED_SALES_INVOICES_WSDL, SALES_ORDER_WSDL,
                                                 start)
from tests.connectors.test_soap_erp_contract import make_connector

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = sorted((ROOT / "mappings" / "soap_erp").glob("*.yaml"))
GOLDEN = Path(__file__).resolve().parent / "golden" / "soap_erp"


@pytest.fixture(scope="module")
def connector_and_page():
    with start(World(seed=21, size=12), wsdl=[str(BUNDLED_WSDL), str(ITEM_WSDL), str(SALES_ORDER_WSDL),
                                                        str(POSTED_SALES_INVOICES_WSDL)],
               today="2027-01-08") as sb:
        conn = make_connector(sb, page_size=500)
        raw = [r for p in conn.read("Customer") for r in p.records]
        conn.raw = {e: [r for p in conn.read(e) for r in p.records] for e in ("Item", "SalesOrder")}
        yield conn, raw


@pytest.mark.parametrize("path", MAPPINGS, ids=lambda p: p.name)
def test_mapping_passes_check_against_the_wsdl(path, connector_and_page):
    conn, _ = connector_and_page
    m = load_mapping(path)
    spec = {s.name: s for s in conn.entities()}[m.source]
    assert m.check_against(spec) == []


def _stable(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "Key"}      # Keys carry row versions


def test_golden_account_page(connector_and_page):
    _, raw = connector_and_page
    m = load_mapping(ROOT / "mappings" / "soap_erp" / "account.yaml")
    page = sorted((_stable(r) for r in raw), key=lambda r: r["No"])
    out = [json.loads(m.to_canonical(r).model_dump_json(exclude_none=True)) for r in page]
    golden = GOLDEN / "account.json"
    if os.environ.get("CONCORD_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps({"raw": page, "canonical": out}, indent=1, ensure_ascii=False) + "\n",
                          encoding="utf-8")
    expected = json.loads(golden.read_text(encoding="utf-8"))
    assert expected["raw"] == page, "the sandbox's projection changed; re-run with CONCORD_UPDATE_GOLDEN=1"
    assert out == expected["canonical"]


class _Accounts:
    """golden id = "gold-" + NAV customer No, for the account lookup of the golden files."""

    def resolve_in(self, entity: str, source_id: str) -> str | None:
        return f"gold-{source_id}" if entity == "account" else None

    def resolve_out(self, entity: str, golden_id: str) -> str | None:
        return golden_id.removeprefix("gold-") if entity == "account" else None


def _strip_keys(record):
    if isinstance(record, dict):
        return {k: _strip_keys(v) for k, v in record.items() if k != "Key"}
    if isinstance(record, list):
        return [_strip_keys(v) for v in record]
    return record


@pytest.mark.parametrize("name,entity", [("product", "Item"), ("sales_order", "SalesOrder")])
def test_golden_item_and_sales_order_pages(name, entity, connector_and_page):
    conn, _ = connector_and_page
    m = load_mapping(ROOT / "mappings" / "soap_erp" / f"{name}.yaml")
    page = sorted((_strip_keys(r) for r in conn.raw[entity]), key=lambda r: r["No"])
    assert page, f"the sandbox seeded no {entity}"
    out = [json.loads(m.to_canonical(r, _Accounts()).model_dump_json(exclude_none=True)) for r in page]
    golden = GOLDEN / f"{name}.json"
    if os.environ.get("CONCORD_UPDATE_GOLDEN"):
        golden.write_text(json.dumps({"raw": page, "canonical": out}, indent=1, ensure_ascii=False) + "\n",
                          encoding="utf-8")
    expected = json.loads(golden.read_text(encoding="utf-8"))
    assert expected["raw"] == page, "the sandbox's projection changed; re-run with CONCORD_UPDATE_GOLDEN=1"
    assert out == expected["canonical"]


def test_account_round_trips_to_writable_fields(connector_and_page):
    conn, raw = connector_and_page
    m = load_mapping(ROOT / "mappings" / "soap_erp" / "account.yaml")
    spec = {s.name: s for s in conn.entities()}["Customer"]
    flat = m.to_canonical_flat(raw[0])
    payload = m.to_source(flat)
    assert payload and all(spec.field(k) and spec.field(k).createable for k in payload)
    [res] = conn.write("Customer", [__import__("concord.hub.contracts", fromlist=["Change"]).Change(
        op="create", entity="Customer", fields=payload, idempotency_key="golden-rt")])
    assert res.ok, res.error
