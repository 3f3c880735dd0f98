"""The lean per-record paths store exactly what the reference paths store.

* landing: one JSON encoding and one hash per record (``land_encoding``/``payload_hash``) equal
  ``json_safe`` + ``stable_hash`` and the JSON column's own serializer, on awkward values too;
* match keys: only the keys that changed are rewritten, and the result equals delete-all + insert-all;
* the bulk path: ``select_in`` equals the Core query, ``delete_by_key`` deletes exactly its rows,
  pre-encoded JSON is stored as the column would encode it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from concord.hub.warehouse.stores.match_keys import rekey as _rekey
from concord.hub.engine.util import json_safe, land_encoding, payload_hash, stable_hash
from concord.hub.warehouse import bulk, bulk_in
from concord.hub.warehouse import tables as T
from concord.hub.warehouse.stores import match_keys

AWKWARD = [
    {"a": 1, "b": [1, 2.5, "x"], "c": {"z": None, "y": True}},
    {"n": float("nan"), "i": float("inf")},
    {"big": 2 ** 70, "neg": -(2 ** 64)},
    {"d": dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone.utc), "day": dt.date(2024, 2, 29),
     "dec": Decimal("1.50"), "s": {3}, 1: "an int key", "t": (1, 2), "b": b"bytes"},
    {"ü": "ß\u2028\x00\x1f\"\\", "e": 1e-7, "f": 1e16, "g": -0.0},
    {"x": "plain", "n": -5, "l": [], "o": {}, "deep": {"a": [{"b": ["c", {"d": None}]}]}},
    {"emoji": "🙂 Ω 华为 \u0301", "ctl": "".join(chr(i) for i in range(32))},
]


def test_land_encoding_equals_json_safe_and_stable_hash() -> None:
    rng = random.Random(3)
    records = list(AWKWARD)
    for _ in range(300):
        records.append({f"k{i}": rng.choice(["text", " padded ", "", None, 0, 2 ** 63 - 1, True, 3.25,
                                             ["x", 1], {"n": "ö"}]) for i in range(rng.randrange(1, 9))})
    for rec in records:
        payload, text, plain = land_encoding(rec)
        reference = json_safe(rec)
        assert json.dumps(payload, sort_keys=True) == json.dumps(reference, sort_keys=True)
        assert list(payload) == list(reference)                      # key order kept
        # what the JSON column stores: a JSON text of the same value (NaN kept as the standard library writes it)
        assert json.dumps(json.loads(text), sort_keys=True) == json.dumps(reference, sort_keys=True)
        assert payload_hash(payload, plain) == stable_hash(reference)


def test_stable_hash_is_the_sha256_of_the_canonical_json_text() -> None:
    """The orjson route of ``stable_hash`` gives the bytes of ``json.dumps``'s canonical text, whatever the value."""
    def reference(value: object) -> str:
        return hashlib.sha256(json.dumps(value, sort_keys=True, default=str, ensure_ascii=False,
                                         separators=(",", ":")).encode("utf-8")).hexdigest()

    rng = random.Random(5)
    values: list[object] = [json_safe(v) for v in AWKWARD if "n" not in v or v["n"] == v["n"]]
    values += [{"a": [True, None, {"b": "ß"}]}, ["x", 1, [2]], "text", 7, None, {"z": 1, "a": 2, "ä": 3, "Z": 4},
               {"big": 2 ** 64}]
    for _ in range(300):
        values.append({f"k{rng.randrange(30)}": rng.choice(["text", "ö\n\t", "", None, -3, 2 ** 63 - 1, False,
                                                           ["x", 1], {"n": "华为", "m": [None]}])
                       for _ in range(rng.randrange(0, 9))})
    for value in values:
        assert stable_hash(value) == reference(value), value
    with pytest.raises(UnicodeEncodeError):        # a lone surrogate: refused as before (pull escapes it first)
        stable_hash({"lone": "\ud800"})


def test_raw_json_is_stored_as_the_column_would_store_it(warehouse) -> None:  # type: ignore[no-untyped-def]
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    rows_ref, rows_raw = [], []
    # (no NaN, no NUL: PostgreSQL's jsonb refuses both, whichever way they are encoded)
    cases = [json.loads(json.dumps(json_safe(c)).replace("\\u0000", "")) for c in AWKWARD[:1] + AWKWARD[3:]]
    for i, rec in enumerate(cases):
        payload, text, plain = land_encoding(rec)
        base = {"system": "s", "entity": "account", "source_entity": "x", "payload_hash": payload_hash(payload, plain),
                "deleted": False, "status": "pending", "landed_at": now}
        rows_ref.append({**base, "source_id": f"ref{i}", "payload": payload})
        rows_raw.append({**base, "source_id": f"raw{i}", "payload": text})
    with warehouse.tx() as conn:
        bulk.upsert(conn, T.raw_record, rows_ref, ["system", "entity", "source_id"])
        bulk.upsert(conn, T.raw_record, rows_raw, ["system", "entity", "source_id"])
    with warehouse.tx() as conn:
        r = T.raw_record.c
        got = {row.source_id: row.payload for row in conn.execute(select(r.source_id, r.payload))}
    for i in range(len(rows_ref)):
        assert got[f"raw{i}"] == got[f"ref{i}"]
        assert isinstance(got[f"raw{i}"], dict)


def _keys_in(conn, entity: str) -> set[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """(golden id, key hash) rows of ``match_hash``; each golden record's ``match_keyset`` row agrees."""
    mh, ks = T.match_hash.c, T.match_keyset.c
    rows = {(r.golden_id, r.key_hash)
            for r in conn.execute(select(mh.golden_id, mh.key_hash).where(mh.entity == entity))}
    sets = {r.golden_id: match_keys.unpack(r.hashes)
            for r in conn.execute(select(ks.golden_id, ks.hashes).where(ks.entity == entity))}
    assert {(g, h) for g, hs in sets.items() for h in hs} == rows
    assert all(sets.values())                   # no empty key set is kept
    return rows


def _hashed(keys: dict[str, set[tuple[str, str]]]) -> set[tuple[str, int]]:
    return {(g, match_keys.key_hash(k, v)) for g, ks in keys.items() for k, v in ks}


def test_rekey_writes_only_changed_keys_and_equals_rewrite_all(warehouse) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(11)
    pool = [("b:name", f"v{i}") for i in range(30)] + [("erp_number", f"{i}") for i in range(5)]
    state: dict[str, set[tuple[str, str]]] = {}
    for _round in range(12):
        new = {f"g{g}": set(rng.sample(pool, rng.randrange(0, 8))) for g in rng.sample(range(10), 5)}
        stored = {g for g in new if g in state}
        with warehouse.tx() as conn:
            _rekey(conn, "account", new, stored)
        state.update(new)
        # the reference: delete every key of these golden records, insert the new ones
        with warehouse.tx() as conn:
            assert _keys_in(conn, "account") == _hashed(state)


def test_rekey_leaves_unchanged_rows_alone(warehouse, database_url: str) -> None:  # type: ignore[no-untyped-def]
    with warehouse.tx() as conn:
        _rekey(conn, "account", {"g1": {("k", "a"), ("k", "b")}}, set())
    if not database_url.startswith("sqlite"):
        return

    def changes(conn) -> int:  # type: ignore[no-untyped-def]
        return int(conn.exec_driver_sql("SELECT total_changes()").scalar())
    with warehouse.tx() as conn:
        before = changes(conn)
        _rekey(conn, "account", {"g1": {("k", "b"), ("k", "a")}}, {"g1"})     # the same keys: nothing written
        assert changes(conn) == before
        _rekey(conn, "account", {"g1": {("k", "b"), ("k", "c")}}, {"g1"})
        assert changes(conn) == before + 3      # one key row deleted, one inserted, the key set rewritten
        assert _keys_in(conn, "account") == _hashed({"g1": {("k", "b"), ("k", "c")}})


def test_deleted_golden_loses_its_keys(warehouse) -> None:  # type: ignore[no-untyped-def]
    with warehouse.tx() as conn:
        _rekey(conn, "account", {"g1": {("k", "a")}, "g2": {("k", "a")}}, set())
        _rekey(conn, "account", {"g1": set()}, {"g1"})
        assert _keys_in(conn, "account") == _hashed({"g2": {("k", "a")}})


def test_select_in_and_delete_by_key_equal_core(warehouse) -> None:  # type: ignore[no-untyped-def]
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    rows = [{"entity": "account", "system": s, "source_id": f"{s}{i}", "golden_id": f"g{i % 7}",
             "state": "deleted" if i % 5 == 0 else "linked", "created_at": now, "updated_at": now}
            for s in ("erp", "crm") for i in range(1203)]
    with warehouse.tx() as conn:
        bulk.insert(conn, T.xref, rows)
        ids = [f"crm{i}" for i in range(0, 1300, 3)]
        got = sorted(bulk_in.select_in(conn, T.xref, ("source_id", "golden_id"),
                                       [("entity", "=", "account"), ("system", "=", "crm"), ("state", "!=", "deleted")],
                                       "source_id", ids))
        x = T.xref.c
        ref = sorted((r.source_id, r.golden_id) for r in conn.execute(
            select(x.source_id, x.golden_id).where(x.entity == "account", x.system == "crm", x.state != "deleted",
                                                   x.source_id.in_(ids))))
        assert got == ref and len(got) > 300
        assert list(bulk_in.select_in(conn, T.xref, ("golden_id",), [], "source_id", [])) == []
        gone = [{"entity": "account", "system": "erp", "source_id": f"erp{i}"} for i in range(0, 1203, 2)]
        bulk.delete_by_key(conn, T.xref, gone, ["entity", "system", "source_id"])
        left = {r.source_id for r in conn.execute(select(x.source_id).where(x.system == "erp"))}
        assert left == {f"erp{i}" for i in range(1, 1203, 2)}
        conn.execute(delete(T.xref))


def test_repeated_values_share_one_processed_value(warehouse) -> None:  # type: ignore[no-untyped-def]
    """The per-column memo of a bind processor returns what the processor returns, row by row."""
    t1, t2 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)
    stamps = [t1, t1, t2, t1, t2, t2]
    rows = [{"entity": "account", "system": "erp", "source_id": str(i), "golden_id": "g", "state": "linked",
             "created_at": ts, "updated_at": t1} for i, ts in enumerate(stamps)]
    with warehouse.tx() as conn:
        bulk.insert(conn, T.xref, rows)
        x = T.xref.c
        got = [r.created_at for r in conn.execute(select(x.created_at).order_by(x.source_id))]
    assert [g.replace(tzinfo=None) if g.tzinfo is None else g.astimezone(dt.timezone.utc).replace(tzinfo=None)
            for g in got] == [s.replace(tzinfo=None) for s in stamps]


def test_relaxed_gc_restores_the_thresholds() -> None:
    import gc

    from concord.hub.engine.util import GC_THRESHOLD, relaxed_gc

    before = gc.get_threshold()
    with relaxed_gc():
        assert gc.get_threshold()[0] == max(before[0], GC_THRESHOLD)
        with relaxed_gc():
            assert gc.get_threshold()[0] == max(before[0], GC_THRESHOLD)
        assert gc.get_threshold()[0] == max(before[0], GC_THRESHOLD)
    assert gc.get_threshold() == before


def test_golden_ids_are_the_uuid5_they_always_were() -> None:
    """golden_id_for computes uuid5 by hand (no UUID objects on the hot path): the ids of existing
    warehouses must not change."""
    import uuid

    from concord.hub.engine.util import GOLDEN_NS, golden_id_for

    rng = random.Random(3)
    alphabet = "abcXYZ019 -_/\x1fäé中"
    for _ in range(2000):
        parts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24))) for _ in range(3)]
        assert golden_id_for(*parts) == uuid.uuid5(GOLDEN_NS, "\x1f".join(parts)).hex
    assert golden_id_for("account", "crm", "acc-1") == uuid.uuid5(GOLDEN_NS, "account\x1fcrm\x1facc-1").hex
