"""Shipped Fxiaoke mappings: they fit the describe metadata, golden files, and a CJK round trip.

Golden files: ``golden/fxiaoke/<entity>.raw.json`` is a raw page as the connector yields it
(read from the sandbox once), ``<entity>.canonical.json`` the canonical records the mapping
must produce from it. Regenerate both with ``CONCORD_UPDATE_GOLDEN=1``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from concord.connectors.fxiaoke.sandbox import start
from concord.hub.canonical import flatten
from concord.hub.contracts import Change, Cursor
from concord.hub.sandbox.world import World
from tests import ROOT
from tests.connectors.test_fxiaoke_contract import make_connector

mapping_mod = pytest.importorskip("concord.hub.mapping")
load_mapping = mapping_mod.load_mapping

MAPPINGS = sorted((ROOT / "mappings" / "fxiaoke").glob("*.yaml"))
GOLDEN = Path(__file__).parent / "golden" / "fxiaoke"
UPDATE = os.environ.get("CONCORD_UPDATE_GOLDEN") == "1"


class DictResolver:
    """Golden id = 'G-' + source id (and back), as the xref would answer for known records."""

    def resolve_in(self, entity: str, source_id: str) -> str | None:
        return f"G-{entity}-{source_id}"

    def resolve_out(self, entity: str, golden_id: str) -> str | None:
        prefix = f"G-{entity}-"
        return golden_id[len(prefix):] if golden_id.startswith(prefix) else None


@pytest.fixture(scope="module")
def sb():
    s = start(World(seed=21, size=80))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def specs(sb):
    return {s.name: s for s in make_connector(sb).entities()}


def test_mappings_are_shipped_for_every_crm_entity():
    assert {p.stem for p in MAPPINGS} >= {"account", "contact", "product", "sales_order", "opportunity"}


@pytest.mark.parametrize("path", MAPPINGS, ids=lambda p: p.stem)
def test_mapping_passes_check_against_describe(path, specs):
    m = load_mapping(path)
    assert m.source in specs, f"{path.name}: {m.source} is not an entity of the connector"
    errors = m.check_against(specs[m.source])
    assert not errors, "\n".join(str(e) for e in errors)


@pytest.mark.parametrize("path", MAPPINGS, ids=lambda p: p.stem)
def test_golden_page(path, sb):
    m = load_mapping(path)
    raw_file, out_file = GOLDEN / f"{path.stem}.raw.json", GOLDEN / f"{path.stem}.canonical.json"
    if UPDATE or not raw_file.exists():
        if not UPDATE:
            pytest.fail(f"{raw_file} is missing; run with CONCORD_UPDATE_GOLDEN=1")
        page = next(iter(make_connector(sb, page_size=4).read(m.source)))
        GOLDEN.mkdir(parents=True, exist_ok=True)
        raw_file.write_text(json.dumps(list(page.records), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    raw = json.loads(raw_file.read_text(encoding="utf-8"))
    got = [m.to_canonical(r, DictResolver()).model_dump(mode="json") for r in raw]
    if UPDATE:
        out_file.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    assert got == json.loads(out_file.read_text(encoding="utf-8"))


def _cjk(s: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in s)


def test_cjk_names_round_trip_read_canonical_source_write_read(sb):
    """read -> to_canonical -> to_source -> write -> read leaves 中文 names byte-for-byte unchanged."""
    conn = make_connector(sb)
    for entity, mapping, key in (("AccountObj", "account", "name"), ("ContactObj", "contact", "last_name")):
        m = load_mapping(ROOT / "mappings" / "fxiaoke" / f"{mapping}.yaml")
        rec = next(r for p in conn.read(entity) for r in p.records if _cjk(r["name"]))
        canonical = m.to_canonical(rec, DictResolver())
        assert getattr(canonical, key) == rec["name"]
        payload = m.to_source(flatten(canonical), fields={key}, resolver=DictResolver())
        assert payload == {"name": rec["name"]}
        [upd] = conn.write(entity, [Change(op="update", entity=entity, key=rec["_id"], fields=payload,
                                           idempotency_key=f"cjk-{entity}")])
        assert upd.ok, upd.error
        # and as a new record: create from the canonical values, then read it back
        [new] = conn.write(entity, [Change(op="create", entity=entity, fields=payload, idempotency_key=f"cjk-new-{entity}")])
        assert new.ok, new.error
        since = sb.state.get(entity, rec["_id"])["last_modified_time"]   # the update came first
        back = [r for p in conn.read(entity, since=Cursor(value=str(since))) for r in p.records]
        by_id = {r["_id"]: r for r in back}
        assert by_id[rec["_id"]]["name"] == rec["name"] and by_id[new.target_id]["name"] == rec["name"]
        assert by_id[rec["_id"]]["name"].encode("utf-8") == rec["name"].encode("utf-8")
        assert getattr(m.to_canonical(by_id[new.target_id], DictResolver()), key) == getattr(canonical, key)


def test_out_rules_produce_what_the_sandbox_accepts(sb):
    """A canonical product and order written through to_source are accepted by data/create."""
    conn = make_connector(sb)
    prod_map = load_mapping(ROOT / "mappings" / "fxiaoke" / "product.yaml")
    src = next(r for p in conn.read("ProductObj") for r in p.records)
    flat = flatten(prod_map.to_canonical(src))
    flat["sku"] = "ROUNDTRIP-1"
    payload = prod_map.to_source(flat)
    [res] = conn.write("ProductObj", [Change(op="create", entity="ProductObj", fields=payload, idempotency_key="rt-p")])
    assert res.ok, res.error
    again = prod_map.to_canonical(sb.state.get("ProductObj", res.target_id) | {})
    assert again.sku == "ROUNDTRIP-1" and again.list_price == prod_map.to_canonical(src).list_price
