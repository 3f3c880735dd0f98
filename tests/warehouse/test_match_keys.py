"""The match-key store: keys stored as hashes find the same candidates, and an older warehouse's
``match_key`` rows are carried into ``match_hash`` / ``match_keyset`` by migration 0006."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, text

from concord.hub.engine.process import _candidates
from concord.hub.matching import Candidate
from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T
from concord.hub.warehouse.stores import match_keys


def test_key_hash_is_stable_and_signed_64_bit() -> None:
    # the stored form must never change (warehouses hold it): pinned values
    assert match_keys.key_hash("tax_id", "DE811234567") == match_keys.key_hash("tax_id", "DE811234567")
    assert match_keys.key_hash("a", "b") == -554983550909098992
    assert match_keys.key_hash("a", "b") != match_keys.key_hash("a\x1fb", "")
    assert match_keys.key_hash("k", "x" * 400 + "y") == match_keys.key_hash("k", "x" * 400 + "z")   # as stored before
    for h in (match_keys.key_hash("b:name", f"v{i}") for i in range(200)):
        assert -(2 ** 63) <= h < 2 ** 63
    assert match_keys.unpack(match_keys.pack({5, -1, 2 ** 62})) == {5, -1, 2 ** 62}


def test_the_memo_free_hashes_are_key_hash_s() -> None:
    """A mapping worker hashes with ``hash_keys`` (no memo), the transaction with ``hash_list``: one value per key."""
    keys = [("b:name_edits:name", "acme"), ("tax_id", "DE811234567"), ("k", "x" * 400 + "y"), ("b:name", "Müller ÿ"),
            ("a", "b"), ("a", "b")]
    assert match_keys.hash_keys(keys) == tuple(match_keys.key_hash(n, v) for n, v in keys) == match_keys.hash_list(keys)
    assert match_keys.hash_keys(keys)[4] == -554983550909098992
    assert match_keys.hash_keys([]) == ()


def test_candidates_found_by_hashed_keys_capped_for_blocking_keys(warehouse) -> None:  # type: ignore[no-untyped-def]
    with warehouse.tx() as conn:
        match_keys.rekey(conn, "account", {
            "g1": [("tax_id", "DE1"), ("b:name", "acme")],
            "g2": [("tax_id", "DE1"), ("b:name", "acme")],
            "g3": [("tax_id", "DE1"), ("b:name", "acme"), ("b:name", "acm")],
            "g4": [("tax_id", "DE2")]}, set())
        match_keys.rekey(conn, "contact", {"g9": [("tax_id", "DE1")]}, set())     # another entity: never found
        found = _candidates(conn, "account", {"r1": [("tax_id", "DE1"), ("b:name", "acme"), ("b:name", "acm")],
                                              "r2": [("tax_id", "DE3")]}, max_block=1)
    r1 = found["r1"]
    # exact keys are never cut; a blocking key past max_block keeps max_block + 1 ids (the matcher then skips it)
    assert sorted(c.golden_id for c in r1 if c.rule == "tax_id") == ["g1", "g2", "g3"]
    assert len([c for c in r1 if c.rule == "b:name" and c.key == "acme"]) == 2
    assert [c for c in r1 if c.key == "acm"] == [Candidate("g3", "b:name", "acm")]
    assert found["r2"] == []


def test_migration_turns_match_key_rows_into_hashes(database_url: str) -> None:
    wh = Warehouse.open(database_url)
    with wh.engine.begin() as c:      # the warehouse as revision 0005 left it: keys as strings, two indexes
        c.execute(text("DROP TABLE match_hash"))
        c.execute(text("DROP TABLE match_hash_pending"))
        c.execute(text("DROP TABLE match_keyset"))
        c.execute(text("CREATE TABLE match_key (entity VARCHAR(64), key_name VARCHAR(128), key_value VARCHAR(400), "
                       "golden_id VARCHAR(64), PRIMARY KEY (entity, key_name, key_value, golden_id))"))
        c.execute(text("CREATE INDEX ix_match_key_golden ON match_key (entity, golden_id)"))
        c.execute(text("INSERT INTO match_key VALUES ('account', 'tax_id', 'DE1', 'g1'), "
                       "('account', 'b:name', 'acme', 'g1'), ('account', 'b:name', 'acme', 'g2'), "
                       "('contact', 'email', 'a@b.example', 'g7')"))
        c.execute(text("UPDATE alembic_version SET version_num = '0005_party_identifiers'"))
    wh.dispose()
    wh = Warehouse.open(database_url)
    try:
        with wh.tx() as c:
            tables = set(wh.engine.dialect.get_table_names(c))
            found = sorted(match_keys.lookup(c, "account", [match_keys.key_hash("b:name", "acme"),
                                                            match_keys.key_hash("tax_id", "DE1")]))
            sets = {(r.entity, r.golden_id): match_keys.unpack(r.hashes) for r in c.execute(select(T.match_keyset))}
            # and the store goes on from there: g1 loses its name key, only that row is deleted
            match_keys.rekey(c, "account", {"g1": [("tax_id", "DE1")]}, {"g1"})
            after = sorted(match_keys.lookup(c, "account", [match_keys.key_hash("b:name", "acme")]))
    finally:
        wh.dispose()
    assert "match_key" not in tables and {"match_hash", "match_hash_pending", "match_keyset"} <= tables
    assert found == sorted([(match_keys.key_hash("b:name", "acme"), "g1"), (match_keys.key_hash("b:name", "acme"), "g2"),
                            (match_keys.key_hash("tax_id", "DE1"), "g1")])
    assert sets == {("account", "g1"): {match_keys.key_hash("tax_id", "DE1"), match_keys.key_hash("b:name", "acme")},
                    ("account", "g2"): {match_keys.key_hash("b:name", "acme")},
                    ("contact", "g7"): {match_keys.key_hash("email", "a@b.example")}}
    assert after == [(match_keys.key_hash("b:name", "acme"), "g2")]


def test_deferred_keys_are_found_and_rewritten_like_stored_ones(warehouse) -> None:  # type: ignore[no-untyped-def]
    """Keys the fresh path left pending (its settle never ran: a crash) are settled by the next lookup or rekey."""
    h = match_keys.key_hash
    with warehouse.tx() as conn:
        match_keys.rekey(conn, "account", {"g1": [("tax_id", "DE1"), ("b:name", "acme")],
                                           "g2": [("b:name", "acme")]}, set(), defer=True)
        match_keys.rekey(conn, "contact", {"g7": [("email", "a@b.example")]}, set(), defer=True)
        assert conn.execute(select(T.match_hash.c.key_hash)).first() is None       # nothing indexed yet
    with warehouse.tx() as conn:
        assert sorted(match_keys.lookup(conn, "account", [h("b:name", "acme")])) == sorted(
            [(h("b:name", "acme"), "g1"), (h("b:name", "acme"), "g2")])
        assert {r.entity for r in conn.execute(select(T.match_hash_pending))} == {"contact"}   # only its entity
    with warehouse.tx() as conn:
        match_keys.rekey(conn, "contact", {"g7": [("email", "c@d.example")]}, {"g7"})
        assert match_keys.golden_hashes(conn, "contact", "g7") == {h("email", "c@d.example")}
        assert conn.execute(select(T.match_hash_pending)).first() is None
        assert match_keys.settle(conn) == 0


def test_a_key_list_never_seen_is_hashed_from_the_keys_remembered(monkeypatch: Any) -> None:
    """A golden record that took values from two records has keys of both: they come from the per-key memo
    (filled by a worker's results), only the new key is hashed, and every hash is key_hash's."""
    a = [("b:name_edits:name", f"acme{i}") for i in range(5)] + [("tax_id", "de1")]
    b = [("b:phone:phone", "301234")]
    match_keys.remember(a, [match_keys.key_hash(*k) for k in a])
    calls: list[tuple[str, str]] = []
    real = match_keys.key_hash

    def counting(name: str, value: str) -> int:
        calls.append((name, value))
        return real(name, value)

    monkeypatch.setattr(match_keys, "key_hash", counting)
    merged = a[:3] + b + a[3:]
    assert match_keys.hash_list(merged) == tuple(real(*k) for k in merged)
    assert calls == b


def test_keys_pending_in_the_old_shape_are_indexed_by_the_migration(database_url: str) -> None:
    """A warehouse at revision 0008 whose fresh load died before ``settle``: its keys wait one row per key.
    Migration 0009 moves them into match_hash and gives the table its new shape, a row per golden record."""
    h = match_keys.key_hash
    wh = Warehouse.open(database_url)
    with wh.engine.begin() as c:
        c.execute(text("DROP TABLE match_hash_pending"))
        c.execute(text("CREATE TABLE match_hash_pending (entity VARCHAR(64) NOT NULL, key_hash BIGINT NOT NULL, "
                       "golden_id VARCHAR(64) NOT NULL)"))
        c.execute(text("INSERT INTO match_hash_pending VALUES (:e, :h, :g)"),
                  [{"e": "account", "h": h("tax_id", "DE1"), "g": "g1"}, {"e": "account", "h": h("b:name", "acme"), "g": "g1"}])
        c.execute(text("UPDATE alembic_version SET version_num = '0008_golden_deleted'"))
    wh.dispose()
    wh = Warehouse.open(database_url)
    try:
        with wh.tx() as c:
            columns = {col["name"] for col in wh.engine.dialect.get_columns(c, "match_hash_pending")}
            assert c.execute(select(T.match_hash_pending)).first() is None
            assert match_keys.golden_hashes(c, "account", "g1") == {h("tax_id", "DE1"), h("b:name", "acme")}
            # and the fresh path goes on in the new shape: one row for the golden record, unnested by settle
            match_keys.rekey(c, "account", {"g2": [("b:name", "acme"), ("tax_id", "DE2")]}, set(), defer=True)
            assert [r.golden_id for r in c.execute(select(T.match_hash_pending))] == ["g2"]
            assert match_keys.settle(c, "account") == 2
            assert match_keys.golden_hashes(c, "account", "g2") == {h("b:name", "acme"), h("tax_id", "DE2")}
    finally:
        wh.dispose()
    assert columns == {"entity", "golden_id", "hashes"}


def test_a_pending_key_stored_already_is_settled_once(warehouse) -> None:  # type: ignore[no-untyped-def]
    """Settle inserts pending keys plainly (no key is pending and stored in practice); one that is stored
    already after all (here put there by hand) is skipped, never an error, and the rest are settled."""
    h = match_keys.key_hash
    with warehouse.tx() as c:
        c.execute(T.match_hash.insert().values(entity="account", key_hash=h("tax_id", "DE1"), golden_id="g1"))
        match_keys.rekey(c, "account", {"g1": [("tax_id", "DE1"), ("b:name", "acme")],
                                        "g2": [("b:name", "acme")]}, set(), defer=True)
        assert match_keys.settle(c, "account") == 2
        assert sorted(match_keys.lookup(c, "account", [h("tax_id", "DE1"), h("b:name", "acme")])) == sorted(
            [(h("tax_id", "DE1"), "g1"), (h("b:name", "acme"), "g1"), (h("b:name", "acme"), "g2")])
        assert c.execute(select(T.match_hash_pending)).first() is None
