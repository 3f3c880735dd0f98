"""The mapping's hot path (readers chosen at compile time, key-only getters, the flattener) gives
exactly what the general path gives: the same canonical records and the same errors."""
from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from concord.hub.canonical import flatten
from concord.hub.errors import RecordError
from concord.hub.mapping import load_mapping
from concord.hub.mapping.paths import PathError, compile_getter, parse_path

from .conftest import FakeResolver

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p for p in GOLDEN.glob("*/*.yaml"))
XREF = {"erp_files": {"account": {"100001": "G-ACC-1", "100002": "G-ACC-2"}},
        "crm_files": {"account": {"A-1": "G-ACC-1", "A-2": "G-ACC-3"}}}


def general(mapping: Any, raw: Any, resolver: Any) -> dict[str, Any]:
    """The reference: every reading rule through ``Rule.read``, then the model and ``flatten``."""
    data: dict[str, Any] = {}
    for rule in mapping._in:
        rule.read(raw, data, resolver)
    try:
        return flatten(mapping.model.model_validate(data))
    except ValidationError as exc:
        raise mapping._record_error(exc) from None


def outcome(fn: Any, *args: Any) -> Any:
    try:
        return ("ok", fn(*args))
    except RecordError as exc:
        return ("error", exc.message, exc.field)


def variants(raw: dict[str, Any], rng: random.Random) -> list[Any]:
    """The record and versions of it with odd values: padded, blank, numbers, nested of the wrong shape."""
    out: list[Any] = [raw]
    odd = ["  padded  ", "", "   ", 42, 7.5, True, None, ["a"], {"x": 1}, "Customer", "+49 30 1234567"]
    keys = list(raw)
    for _ in range(30):
        r = copy.deepcopy(raw)
        for k in rng.sample(keys, min(3, len(keys))):
            v = r[k]
            if isinstance(v, dict) and v:
                sub = rng.choice(list(v))
                v[sub] = rng.choice(odd)
            else:
                r[k] = rng.choice(odd)
        out.append(r)
    out.append({k: (f" {v} " if isinstance(v, str) else v) for k, v in raw.items()})
    return out


@pytest.mark.parametrize("mapping_file", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_hot_path_equals_general_path(mapping_file: Path) -> None:
    system = mapping_file.parent.name
    mapping = load_mapping(mapping_file, system=system)
    resolver = FakeResolver(XREF.get(system, {}))
    records = json.loads(mapping_file.with_suffix(".input.json").read_text(encoding="utf-8"))
    rng = random.Random(7)
    checked = 0
    for raw in records:
        if not isinstance(raw, dict):
            continue
        for rec in variants(raw, rng):
            assert outcome(mapping.to_canonical_flat, rec, resolver) == outcome(general, mapping, rec, resolver), rec
            checked += 1
    assert checked


def test_starter_mappings_on_generated_drops(tmp_path: Path) -> None:
    """The starter's account mappings over generated drops (JSON Lines and CSV), both paths alike."""
    import csv

    from concord.connectors.files.sandbox import write_drops
    from concord.hub.sandbox.world import World

    write_drops(World(seed=3, size=80), str(tmp_path))
    root = Path(__file__).resolve().parents[2] / "hub" / "starter" / "mappings"
    crm = [json.loads(line) for line in (tmp_path / "crm" / "accounts.jsonl").read_text(encoding="utf-8").splitlines()
           if line.strip()]
    with open(tmp_path / "erp" / "customers.csv", encoding="utf-8", newline="") as fh:
        erp = list(csv.DictReader(fh))
    rng = random.Random(1)
    for side, recs in (("crm", crm), ("erp", erp)):
        assert recs
        mapping = load_mapping(root / side / "account.yaml", system=side)
        for raw in recs:
            for rec in variants(raw, rng)[:4]:
                assert outcome(mapping.to_canonical_flat, rec, None) == outcome(general, mapping, rec, None), rec


@pytest.mark.parametrize("path", ["a.b", "a.b.c", "x", "a['b c'].d"])
def test_key_getter_equals_general(path: str) -> None:
    from concord.hub.mapping.paths import _general_getter, format_path

    segs = parse_path(path)
    fast, slow = compile_getter(segs), _general_getter(segs, format_path(segs))
    samples: list[Any] = [{}, {"a": None}, {"a": {}}, {"a": {"b": 1}}, {"a": {"b": {"c": "v"}}}, {"a": "text"},
                          {"a": {"b": "text"}}, {"a": {"b c": {"d": 2}}}, {"a": [1]}, {"x": " y "}, {"x": 0},
                          {"a": {"b": {"c": None}}}]

    def run(fn: Any, raw: Any) -> Any:
        try:
            return ("ok", fn(raw))
        except PathError as exc:
            return ("error", str(exc))

    for raw in samples:
        if len(segs) == 1:
            continue        # a one-key path keeps its own getter
        assert run(fast, raw) == run(slow, raw), raw
