"""Golden files: raw records in (golden/<system>/<entity>.input.json) -> canonical flat records and the
source payload written back (golden/<system>/<entity>.expected.json), compared exactly.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/mapping/test_golden.py`` and
review the diff.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from concord.hub.errors import RecordError
from concord.hub.mapping import load_mapping, load_mappings

from .conftest import FakeResolver

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p for p in GOLDEN.glob("*/*.yaml"))
#: xref of the golden systems: source ids -> golden ids
XREF = {"erp_files": {"account": {"100001": "G-ACC-1", "100002": "G-ACC-2"}},
        "crm_files": {"account": {"A-1": "G-ACC-1", "A-2": "G-ACC-3"}}}


def run(mapping_file: Path) -> list[dict]:
    system = mapping_file.parent.name
    mapping = load_mapping(mapping_file, system=system)
    resolver = FakeResolver(XREF[system])
    records = json.loads(mapping_file.with_suffix(".input.json").read_text(encoding="utf-8"))
    results = []
    for raw in records:
        try:
            flat = mapping.to_canonical_flat(raw, resolver)
        except RecordError as exc:
            results.append({"error": {"field": exc.field, "message": exc.message}})
            continue
        results.append({"canonical": flat, "source": mapping.to_source(flat, resolver=resolver)})
    return results


@pytest.mark.parametrize("mapping_file", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden(mapping_file: Path):
    expected_file = mapping_file.with_suffix(".expected.json")
    actual = json.loads(json.dumps(run(mapping_file)))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected_file.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if not expected_file.exists():
        pytest.fail(f"{expected_file} is missing; run with UPDATE_GOLDEN=1 and review it")
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    assert actual == expected


def test_golden_systems_load_as_folders():
    erp = load_mappings(GOLDEN / "erp_files")
    assert set(erp) == {"account", "sales_order"} and erp["account"].system == "erp_files"
    crm = load_mappings(GOLDEN / "crm_files", system="crm")
    assert set(crm) == {"account", "contact"} and crm["contact"].system == "crm"
