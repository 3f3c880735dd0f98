"""The bulk path: set-based writes straight through the DBAPI ``executemany``, no per-row compiling.

SQLAlchemy Core compiles a statement and builds its parameters row by row (``construct_params``);
at a hundred thousand rows that is most of the cost of a load. Here a statement is rendered once
per (table, columns, keys) and cached, each column's bind processor (JSON serialisation, SQLite's
datetime and boolean storage) is looked up once, and rows become plain tuples handed to the
driver: ``sqlite3``'s prepared-statement ``executemany`` on SQLite, psycopg's pipelined
``executemany`` on PostgreSQL. Values are stored exactly as Core would store them (the same bind
processors), so reads through Core see no difference.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Connection, Table
from sqlalchemy.engine import Dialect

BATCH = 2000


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str],
           update: Sequence[str] | None = None) -> None:
    """INSERT rows; on a key conflict update ``update`` columns (all non-key columns by default)."""
    if not rows:
        return
    rows, cols = _with_defaults(table, rows)
    upd = tuple(update) if update is not None else tuple(c for c in cols if c not in keys)
    sql, procs = _upsert_sql(conn.dialect, table, cols, tuple(keys), upd)
    _run(conn, sql, procs, cols, rows)


def insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    rows, cols = _with_defaults(table, rows)
    sql, procs = _upsert_sql(conn.dialect, table, cols, (), None)
    _run(conn, sql, procs, cols, rows)


def _with_defaults(table: Table, rows: Sequence[dict[str, Any]]) -> tuple[Sequence[dict[str, Any]], tuple[str, ...]]:
    """Scalar column defaults Core would fill in for columns the rows leave out."""
    cols = tuple(rows[0])
    extra = {c.name: c.default.arg for c in table.c
             if c.name not in cols and c.default is not None and getattr(c.default, "is_scalar", False)}
    if not extra:
        return rows, cols
    return [{**extra, **r} for r in rows], cols + tuple(extra)


def update_by_key(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    """``UPDATE table SET <other columns> WHERE <keys>`` for every row (all rows carry the same columns)."""
    if not rows:
        return
    cols = tuple(rows[0])
    sets = tuple(c for c in cols if c not in keys)
    sql, procs, order = _update_sql(conn.dialect, table, sets, tuple(keys))
    _run(conn, sql, procs, order, rows)


def _run(conn: Connection, sql: str, procs: tuple[Callable[[Any], Any] | None, ...], cols: Sequence[str],
         rows: Sequence[dict[str, Any]]) -> None:
    pairs = list(zip(cols, procs))
    for i in range(0, len(rows), BATCH):
        params = [tuple(p(r.get(c)) if p else r.get(c) for c, p in pairs) for r in rows[i:i + BATCH]]
        conn.exec_driver_sql(sql, params)


def _placeholder(dialect: Dialect, table: Table, col: str) -> str:
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    if dialect.name == "postgresql" and isinstance(table.c[col].type, JSON):
        return mark + "::jsonb"
    return mark


def _procs(dialect: Dialect, table: Table, cols: Sequence[str]) -> tuple[Callable[[Any], Any] | None, ...]:
    return tuple(table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in cols)


def _q(dialect: Dialect, name: str) -> str:
    return dialect.identifier_preparer.quote(name)


@lru_cache(maxsize=256)
def _upsert_sql(dialect: Dialect, table: Table, cols: tuple[str, ...], keys: tuple[str, ...],
                update: tuple[str, ...] | None) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    names = ", ".join(_q(dialect, c) for c in cols)
    marks = ", ".join(_placeholder(dialect, table, c) for c in cols)
    sql = f"INSERT INTO {_q(dialect, table.name)} ({names}) VALUES ({marks})"
    if keys:
        target = ", ".join(_q(dialect, k) for k in keys)
        if update:
            sets = ", ".join(f"{_q(dialect, c)} = excluded.{_q(dialect, c)}" for c in update)
            sql += f" ON CONFLICT ({target}) DO UPDATE SET {sets}"
        else:
            sql += f" ON CONFLICT ({target}) DO NOTHING"
    return sql, _procs(dialect, table, cols)


@lru_cache(maxsize=256)
def _update_sql(dialect: Dialect, table: Table, sets: tuple[str, ...], keys: tuple[str, ...]
                ) -> tuple[str, tuple[Callable[[Any], Any] | None, ...], tuple[str, ...]]:
    s = ", ".join(f"{_q(dialect, c)} = {_placeholder(dialect, table, c)}" for c in sets)
    w = " AND ".join(f"{_q(dialect, k)} = {_placeholder(dialect, table, k)}" for k in keys)
    order = sets + keys
    return f"UPDATE {_q(dialect, table.name)} SET {s} WHERE {w}", _procs(dialect, table, order), order
