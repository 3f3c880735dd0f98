"""The match-key store: the exact and blocking keys golden records are indexed under, as 64-bit hashes.

``match_hash (entity, key_hash, golden_id)`` holds one row per key of a golden record. Its primary key
is its only index (a WITHOUT ROWID table on SQLite: the row *is* the index entry), and candidate
lookups read it by ``(entity, key_hash)``. A key is ``(key name, key value)``; its hash is the first 8
bytes of BLAKE2b over ``name \\x1f value[:400]`` as a signed integer, so a row is about 45 bytes
where the strings took about 90, twice (a table and a second index).

``match_keyset (entity, golden_id, hashes)`` holds the sorted hashes a golden record is indexed under
now (8 bytes each): when the record changes, only the keys that changed are written, and when it is
deleted its rows are found without a second index on ``match_hash``.

An initial load's fresh path (no lookups until its batches are done) appends its keys to
``match_hash_pending`` instead: a plain heap, no index, one row per golden record with its hashes as a
JSON array, so a batch costs the same however many keys the warehouse holds, and a record's keys are
one row to write, not one per key (a fresh load of 100,000 accounts appended 2.3 million rows).
``settle`` unnests them into ``match_hash`` in key order (``json_each`` on SQLite,
``json_array_elements_text`` on PostgreSQL; an append to the B-tree, not a random insert per key).
Every read of ``match_hash`` (``lookup``, ``rekey`` of stored records, ``golden_hashes``) settles
first, so keys left pending by a crash are never missed.

A hash collision (two different keys with one hash) adds a candidate that does not share the key: for a
fuzzy or probabilistic rule it is scored like any other, for an exact rule it would be taken as sharing the
key (not re-checked). At 10 million stored keys the chance that a lookup meets a collision is about 5 in
10^13.
"""
from __future__ import annotations

import logging
from hashlib import blake2b
from array import array
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from sys import byteorder
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from concord.hub.warehouse import bulk, bulk_in
from concord.hub.warehouse import tables as T

KEY_VALUE_CHARS = 400      # a key value is hashed over at most this many characters (as it was stored before)
_HASH_MEMO = 4096          # key lists whose hashes are remembered (per generation; two generations > a batch)
_KEY_MEMO = 32_768         # single keys whose hashes are remembered (per generation; two > a batch's keys)
_memo: dict[tuple[tuple[str, str], ...], tuple[int, ...]] = {}
_memo_old: dict[tuple[tuple[str, str], ...], tuple[int, ...]] = {}
_keys: dict[tuple[str, str], int] = {}
_keys_old: dict[tuple[str, str], int] = {}


_named: dict[str, Any] = {}      # key name -> BLAKE2b state that has hashed ``name \x1f`` (copied per key)


def _state(name: str) -> Any:
    state = _named.get(name)
    if state is None:
        if len(_named) >= _KEY_MEMO:
            _named.clear()
        state = _named[name] = blake2b(f"{name}\x1f".encode(), digest_size=8)
    return state


def key_hash(name: str, value: str) -> int:
    """The stored form of one key: a signed 64-bit integer (stable across processes and versions), the
    first 8 bytes of BLAKE2b over ``name \x1f value[:400]`` (the name's state is made once and copied:
    a third less than a new hash with its parameters each time)."""
    h = _state(name).copy()
    h.update(value[:KEY_VALUE_CHARS].encode())
    return int.from_bytes(h.digest(), "big", signed=True)


def hash_keys(keys: Iterable[tuple[str, str]]) -> tuple[int, ...]:
    """The hashes of ``keys``, in their order, each :func:`key_hash`'s, remembering none: for keys met once
    (a mapping worker keys each record of a load once; its memo would cost more than it saves)."""
    frm, cut, named, state = int.from_bytes, KEY_VALUE_CHARS, _named, _state
    out = []
    for n, v in keys:
        h = (named.get(n) or state(n)).copy()
        h.update(v[:cut].encode())
        out.append(frm(h.digest(), "big", signed=True))
    return tuple(out)


def hash_list(keys: Sequence[tuple[str, str]]) -> tuple[int, ...]:
    """The hashes of a record's ``keys``, in their order; memoised per key list (a record's keys are
    hashed for its candidate lookup and again when its golden record is saved) and per key (a golden
    record that took values from two records has keys of both, most of them hashed already)."""
    global _memo, _memo_old, _keys, _keys_old
    t = tuple(keys)
    hit = _memo.get(t)
    if hit is None:
        hit = _memo_old.get(t)
        if hit is None:
            if len(_keys) + len(t) > _KEY_MEMO:
                _keys_old, _keys = _keys, {}
            known, older, out = _keys.get, _keys_old.get, []
            for k in t:      # inline: a load hashes millions of keys, most of them once
                h = known(k)
                if h is None:
                    h = older(k)
                    if h is None:
                        h = key_hash(*k)
                    _keys[k] = h
                out.append(h)
            hit = tuple(out)
        if len(_memo) >= _HASH_MEMO:
            _memo_old, _memo = _memo, {}
        _memo[t] = hit
    return hit


def _learn(key: tuple[str, str], h: int) -> None:
    global _keys, _keys_old
    if len(_keys) >= _KEY_MEMO:
        _keys_old, _keys = _keys, {}
    _keys[key] = h


def remember(keys: Sequence[tuple[str, str]], hashed: Sequence[int]) -> None:
    """Take ``hashed`` as the hashes of ``keys`` (computed by :func:`hash_list` in another process)."""
    global _memo, _memo_old
    if len(_memo) >= _HASH_MEMO:
        _memo_old, _memo = _memo, {}
    _memo[tuple(keys)] = tuple(hashed)
    for k, h in zip(keys, hashed):
        _learn(k, h)


def hashes(keys: Collection[tuple[str, str]]) -> set[int]:
    """The hashes of ``keys``, as a set."""
    return set(hash_list(keys if isinstance(keys, (list, tuple)) else sorted(keys)))


def pack(values: Iterable[int]) -> bytes:
    """Sorted hashes as 8-byte little-endian signed integers (``match_keyset.hashes``)."""
    a = array("q", sorted(values))
    if byteorder != "little":  # pragma: no cover - every platform we run on is little-endian
        a.byteswap()
    return a.tobytes()


def unpack(blob: bytes | None) -> set[int]:
    a = array("q")
    if blob:
        a.frombytes(bytes(blob))
        if byteorder != "little":  # pragma: no cover
            a.byteswap()
    return set(a)


def settle(conn: Connection, entity: str | None = None) -> int:
    """Move pending keys (of ``entity``, or of all) into ``match_hash`` in key order; returns how many.

    On PostgreSQL the rows are deleted and inserted by one statement (``DELETE ... RETURNING`` feeding
    the ``INSERT``): rows another transaction appends meanwhile stay pending, never lost. On SQLite a
    write transaction holds the whole database, so the two statements see the same rows."""
    p = T.match_hash_pending.c
    if conn.execute(select(p.golden_id).where(*([p.entity == entity] if entity else [])).limit(1)).first() is None:
        return 0
    where, params = ("WHERE entity = %s", (entity,)) if entity else ("", ())
    # the index's order; of one entity's keys, without comparing its name each time (PostgreSQL compares
    # text by collation: 2.3 million keys sorted by (key, golden id) alone took 4.4 s against 6.0 s)
    order = "2, 3" if entity else "1, 2, 3"
    if conn.dialect.name == "postgresql":
        sql = (f"WITH moved AS (DELETE FROM match_hash_pending {where} RETURNING entity, golden_id, hashes) "
               "INSERT INTO match_hash (entity, key_hash, golden_id) SELECT m.entity, h::bigint, m.golden_id "
               f"FROM moved m, json_array_elements_text(m.hashes::json) h ORDER BY {order}")
        # a pending key is not stored already (a golden record's keys are pending once, its stored ones are
        # not appended again): the plain INSERT, which PostgreSQL does in about 60% of the time ON CONFLICT
        # takes (2.3 million keys: 7.0 s against 11.4 s); should one be stored after all, the savepoint
        # undoes the attempt and ON CONFLICT skips it. (On SQLite, OR IGNORE costs nothing measurable.)
        try:
            with conn.begin_nested():
                return conn.exec_driver_sql(sql, params).rowcount
        except IntegrityError:
            return conn.exec_driver_sql(sql + " ON CONFLICT DO NOTHING", params).rowcount
    where = where.replace("%s", "?").replace("entity", "p.entity")
    res = conn.exec_driver_sql("INSERT OR IGNORE INTO match_hash (entity, key_hash, golden_id) SELECT p.entity, "
                               f"j.value, p.golden_id FROM match_hash_pending p, json_each(p.hashes) j {where} "
                               f"ORDER BY {order}", params)
    conn.exec_driver_sql(f"DELETE FROM match_hash_pending {where.replace('p.entity', 'entity')}", params)
    return res.rowcount


def reclaim(engine: Engine) -> None:
    """After an initial load's keys are settled (PostgreSQL; nothing elsewhere): ``VACUUM`` the pending table.

    The settle deleted every row the load appended there (a row per golden record). Until those dead rows
    are vacuumed, every later probe for pending keys (one a batch: ``settle`` before a lookup) reads all
    of them; autovacuum gets to them a minute later at best, or never where it is off (measured: 1% of a
    million records changed, the probes took 8% of the cycle). A role that may not vacuum the table only
    leaves the probes slower."""
    if engine.dialect.name != "postgresql":
        return
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM match_hash_pending")
    except DBAPIError as exc:
        logging.getLogger("concord.match_keys").info("match_hash_pending not vacuumed: %s", exc.orig or exc)


def lookup(conn: Connection, entity: str, wanted: Collection[int]) -> Iterator[tuple[int, str]]:
    """(key hash, golden id) of every stored key among ``wanted`` (one indexed query per 500 hashes)."""
    settle(conn, entity)
    yield from bulk_in.select_in(conn, T.match_hash, ("key_hash", "golden_id"), [("entity", "=", entity)],
                                 "key_hash", sorted(wanted))


def stored(conn: Connection, entity: str, golden_ids: Collection[str]) -> dict[str, set[int]]:
    """golden id -> the key hashes it is indexed under now (those of ``golden_ids`` that have keys)."""
    return {gid: unpack(blob) for gid, blob in bulk_in.select_in(
        conn, T.match_keyset, ("golden_id", "hashes"), [("entity", "=", entity)], "golden_id", sorted(golden_ids))}


_dumps = orjson.dumps     # a JSON array of the hashes (integers only: orjson's text is json.dumps's)


def rekey(conn: Connection, entity: str, new_keys: Mapping[str, Collection[tuple[str, str]] | frozenset[int]],
          existing: Collection[str], *, defer: bool = False) -> None:
    """Bring the keys of these golden records to ``new_keys`` (golden id -> keys, or a frozenset of their
    hashes where the caller has them already), writing only what changed.

    The key sets of the ``existing`` golden records are read (a golden record not yet in the warehouse
    has none: its keys are written with it, in one transaction, and removed with it); rows no longer
    wanted are deleted and new ones inserted, both sorted by the primary key (index locality), so an
    update that leaves a record's keys alone writes nothing here.

    ``defer`` (the fresh path: every record is new, none is looked up before ``settle``): the keys
    are appended to ``match_hash_pending``."""
    if not new_keys:
        return
    wanted = set(existing) & new_keys.keys()
    if wanted:
        settle(conn, entity)
    old = stored(conn, entity, wanted)
    gone: list[tuple[int, str]] = []
    added: dict[str, set[int]] = {}                 # golden id -> its hashes to add
    sets: list[dict[str, object]] = []
    emptied: list[dict[str, object]] = []
    for gid, keys in new_keys.items():
        now = set(keys) if isinstance(keys, frozenset) else hashes(keys)
        was = old.get(gid)
        if was == now or (was is None and not now):
            continue
        if was:
            gone.extend((h, gid) for h in was - now)
            if now - was:
                added[gid] = now - was
        else:
            added[gid] = now
        if now:
            sets.append({"entity": entity, "golden_id": gid, "hashes": pack(now)})
        else:
            emptied.append({"entity": entity, "golden_id": gid})
    bulk.delete_by_key(conn, T.match_hash, [{"entity": entity, "key_hash": h, "golden_id": g} for h, g in sorted(gone)],
                       ["entity", "key_hash", "golden_id"])
    if defer and not gone:
        bulk.insert_tuples(conn, T.match_hash_pending, ("entity", "golden_id", "hashes"),
                           [(entity, gid, _dumps(list(hs)).decode()) for gid, hs in added.items()])
    else:
        bulk.upsert(conn, T.match_hash, [{"entity": entity, "key_hash": h, "golden_id": g}
                                         for h, g in sorted((h, g) for g, hs in added.items() for h in hs)],
                    ["entity", "key_hash", "golden_id"], update=[])
    bulk.delete_by_key(conn, T.match_keyset, sorted(emptied, key=lambda r: str(r["golden_id"])),
                       ["entity", "golden_id"])
    bulk.upsert(conn, T.match_keyset, sorted(sets, key=lambda r: str(r["golden_id"])), ["entity", "golden_id"])


def clear(conn: Connection, entity: str) -> None:
    """Forget every key of an entity (a full re-match)."""
    for t in (T.match_hash, T.match_hash_pending, T.match_keyset):
        conn.execute(delete(t).where(t.c.entity == entity))


def golden_hashes(conn: Connection, entity: str, golden_id: str) -> set[int]:
    """The key hashes one golden record is found by in ``match_hash`` (for inspection and tests)."""
    settle(conn, entity)
    h = T.match_hash.c
    return {r.key_hash for r in conn.execute(select(h.key_hash).where(h.entity == entity, h.golden_id == golden_id))}
