"""Wide rows bound without their NULLs (``bulk._run_sparse``, SQLite) store exactly what row-by-row Core
statements store: upserts over existing rows that empty a column, several rows with one key in a batch,
a JSON column's ``null``, a column with a server default, datetime and decimal columns; PostgreSQL takes
its COPY path for the same calls and must agree too."""
from __future__ import annotations

import datetime as dt
import random
from contextlib import nullcontext
from decimal import Decimal

import pytest

from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, Numeric, String, Table, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from concord.hub.warehouse import bulk

WIDE = 16


def _table(md: MetaData, name: str) -> Table:
    return Table(name, md, Column("id", String(20), primary_key=True),
                 *[Column(f"c{i}", String(20)) for i in range(WIDE)],
                 Column("amount", Numeric(24, 6)), Column("at", DateTime(timezone=True)), Column("doc", JSON),
                 Column("flag", String(5), server_default=text("'dflt'")), Column("n", Integer))


PATTERNS = [frozenset(random.Random(p).sample(range(WIDE), 5)) for p in range(3)]   # few, as real rows have


def _row(rng: random.Random, key: str) -> dict[str, object]:
    row: dict[str, object] = {"id": key}
    filled = rng.choice(PATTERNS)
    for i in range(WIDE):
        row[f"c{i}"] = f"v{rng.randrange(99)}" if i in filled else None
    row["amount"] = rng.choice([None, Decimal("12.5"), Decimal("0.000001")])
    row["at"] = rng.choice([None, dt.datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=dt.timezone.utc)])
    row["doc"] = rng.choice([None, {"a": [1, None]}, []])
    row["flag"] = rng.choice([None, "x"])
    row["n"] = rng.choice([None, 0, 7])
    return row


def _core(conn, table: Table, rows: list[dict[str, object]], update: bool) -> None:  # type: ignore[no-untyped-def]
    ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for r in rows:                                  # one statement per row: the reference
        stmt = ins(table).values(**r)
        if update:
            stmt = stmt.on_conflict_do_update(index_elements=["id"], set_={c: stmt.excluded[c] for c in r if c != "id"})
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=["id"])
        conn.execute(stmt)


def _all(conn, table: Table) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    return sorted(tuple(r) for r in conn.execute(select(table)))


@pytest.mark.parametrize("hint", [False, True], ids=["plain", "new-rows-hint"])
def test_wide_rows_store_what_row_by_row_statements_store(warehouse, hint: bool) -> None:  # type: ignore[no-untyped-def]
    """With the ``new_rows`` hint too: rows that exist after all (PostgreSQL: the direct COPY fails and the
    savepoint is rolled back) come out as the plain upsert leaves them."""
    md = MetaData()
    ref, got = _table(md, "t_sparse_ref"), _table(md, "t_sparse_got")
    md.create_all(warehouse.engine)
    rng = random.Random(11)
    try:
        for rnd in range(4):        # later rounds upsert over the earlier ones (columns emptied and filled)
            rows = [_row(rng, f"k{rng.randrange(60)}") for _ in range(150)]   # many keys twice in a batch
            update = rnd != 2
            with warehouse.tx() as conn, bulk.new_rows(conn) if hint else nullcontext():
                _core(conn, ref, rows + rows[:1], update)
                bulk.upsert(conn, got, rows, ["id"], update=None if update else [])
                bulk.upsert(conn, got, rows[:1], ["id"], update=None if update else [])   # one that exists
            with warehouse.tx() as conn:
                assert _all(conn, got) == _all(conn, ref), f"round {rnd}"
        fresh = [_row(rng, f"new{i}") for i in range(40)]
        with warehouse.tx() as conn:
            _core(conn, ref, fresh, False)
            bulk.insert(conn, got, fresh)
        with warehouse.tx() as conn:
            assert _all(conn, got) == _all(conn, ref)
    finally:
        md.drop_all(warehouse.engine)


def test_new_rows_hint_copies_new_rows_straight_in_and_leaves_no_trace(warehouse) -> None:  # type: ignore[no-untyped-def]
    md = MetaData()
    got = _table(md, "t_hint_got")
    md.create_all(warehouse.engine)
    rng = random.Random(5)
    rows = [_row(rng, f"n{i}") for i in range(50)]
    try:
        with warehouse.tx() as conn:
            with bulk.new_rows(conn):
                bulk.upsert(conn, got, rows, ["id"])
            assert "concord_new_rows" not in conn.info          # the pooled connection keeps no hint
            assert len(_all(conn, got)) == 50
            if conn.dialect.name == "postgresql":   # the direct COPY: no temporary stage table was made
                stage = bulk._pg_stage_name(got, bulk._with_defaults(got, rows)[1])
                assert conn.exec_driver_sql("SELECT to_regclass(%s)", (stage,)).scalar() is None
                bulk.upsert(conn, got, rows[:3], ["id"])                   # no hint: the staged upsert
                assert conn.exec_driver_sql("SELECT to_regclass(%s)", (stage,)).scalar() is not None
    finally:
        md.drop_all(warehouse.engine)


def test_omittable_columns() -> None:
    from sqlalchemy.dialects import sqlite

    md = MetaData()
    t = _table(md, "t_omit")
    cols = tuple(c.name for c in t.c)
    omit = dict(zip(cols, bulk._omittable(sqlite.dialect(), t, cols)))
    assert not omit["id"] and not omit["doc"] and not omit["flag"]        # key, JSON null, server default
    assert omit["c0"] and omit["amount"] and omit["at"] and omit["n"]
