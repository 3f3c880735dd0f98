"""Statements over a list of ids (``WHERE ... AND col IN (...)``), a chunk of ids per statement.

The statement text is rendered once per shape (table, columns, conditions, number of ids) and cached,
and run through the driver: no Core statement is compiled per call. Core's ``update(...).where(
col.in_(ids))`` also keeps its bound list of ids in a reference cycle until a full collection, which a
load's relaxed GC makes rare (every batch's ids stayed alive meanwhile).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from enum import Enum
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect

from concord.hub.warehouse.bulk import analyse_if_stale, placeholder, processors, quote


def select_in(conn: Connection, table: Table, columns: Sequence[str], where: Sequence[tuple[str, str, Any]],
              in_col: str, values: Sequence[Any], chunk: int = 500) -> Iterator[tuple[Any, ...]]:
    """``SELECT columns FROM table WHERE <where> AND in_col IN (values)``, one query per ``chunk`` values.

    ``where`` holds ``(column, "=" | "!=", value)`` conditions. The statement text is rendered once
    per shape and run through the driver (no Core compiling of a fresh IN-list per call); rows are
    plain tuples of the driver's values, so this is for text columns (ids, keys, hashes).

    On PostgreSQL the table is analysed first when its statistics trail its size by half: a table the
    planner still believes empty is scanned whole for every IN list (a load's own staged records and
    cross-references grow by thousands between two autovacuum runs)."""
    if not values:
        return
    fresh_statistics(conn, table)     # a table a load is filling: its plan needs its row count
    ops = tuple((c, op) for c, op, _v in where)
    fixed = [v for _c, _op, v in where]
    for i in range(0, len(values), chunk):
        part = list(values[i:i + chunk])
        sql = _in_sql(conn.dialect, table, "SELECT", tuple(columns), ops, in_col, len(part))
        yield from conn.exec_driver_sql(sql, tuple(fixed + part)).fetchall()


def update_in(conn: Connection, table: Table, values: dict[str, Any], where: Sequence[tuple[str, str, Any]],
              in_col: str, ids: Sequence[Any], chunk: int = 500) -> None:
    """``UPDATE table SET <values> WHERE <where> AND in_col IN (ids)``, one statement per ``chunk`` ids.

    Like :func:`select_in`: the statement text is rendered once per shape and run through the driver
    (``values`` and ``where`` through their columns' bind processors; ``ids`` as they are: text ids).
    Not a Core ``update(...).where(col.in_(ids))``: SQLAlchemy holds such a statement's bound IN list in a
    reference cycle until a full collection, which a load's relaxed GC makes rare, so every batch's ids
    stayed alive meanwhile."""
    if not ids:
        return
    sets, ops = tuple(values), tuple((c, op) for c, op, _v in where)
    fixed = _bound(conn.dialect, table, [*zip(sets, values.values()), *((c, v) for c, _op, v in where)])
    for i in range(0, len(ids), chunk):
        part = list(ids[i:i + chunk])
        conn.exec_driver_sql(_in_sql(conn.dialect, table, "UPDATE", sets, ops, in_col, len(part)), tuple(fixed + part))


def delete_in(conn: Connection, table: Table, where: Sequence[tuple[str, str, Any]], in_col: str,
              ids: Sequence[Any], chunk: int = 500) -> None:
    """``DELETE FROM table WHERE <where> AND in_col IN (ids)``, one statement per ``chunk`` ids (see
    :func:`update_in`)."""
    if not ids:
        return
    ops = tuple((c, op) for c, op, _v in where)
    fixed = _bound(conn.dialect, table, [(c, v) for c, _op, v in where])
    for i in range(0, len(ids), chunk):
        part = list(ids[i:i + chunk])
        conn.exec_driver_sql(_in_sql(conn.dialect, table, "DELETE", (), ops, in_col, len(part)), tuple(fixed + part))


def _bound(dialect: Dialect, table: Table, pairs: Sequence[tuple[str, Any]]) -> list[Any]:
    """Values as their columns' bind processors hand them to the driver (an enum as its value)."""
    procs = processors(dialect, table, [c for c, _v in pairs])
    return [p(v) if p is not None and v is not None else v.value if isinstance(v, Enum) else v
            for p, (_c, v) in zip(procs, pairs)]


def fresh_statistics(conn: Connection, table: Table, *, changed: bool = False) -> None:
    """Before an IN-list read of a table a load may have filled (PostgreSQL; nothing elsewhere): see
    :func:`bulk.analyse_if_stale`. The golden table, say, is filled by an initial load that never reads
    it, so the next cycle's reads of a million golden records met a planner that believed it held a few
    thousand, and scanned it whole for each batch (1% of a million records changed: 16 s, mostly that)."""
    if conn.dialect.name == "postgresql":
        analyse_if_stale(conn, table, changed=changed)


@lru_cache(maxsize=512)
def _in_sql(dialect: Dialect, table: Table, verb: str, columns: tuple[str, ...], ops: tuple[tuple[str, str], ...],
            in_col: str, n: int) -> str:
    """``SELECT columns FROM`` / ``UPDATE ... SET columns = ...`` / ``DELETE FROM`` the table ``WHERE`` the
    ``ops`` conditions and ``in_col IN`` ``n`` values."""
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    conds = [f"{quote(dialect, c)} {'<>' if op == '!=' else '='} {mark}" for c, op in ops]
    conds.append(f"{quote(dialect, in_col)} IN ({', '.join([mark] * n)})")
    name, where = quote(dialect, table.name), " AND ".join(conds)
    if verb == "UPDATE":
        sets = ", ".join(f"{quote(dialect, c)} = {placeholder(dialect, table, c)}" for c in columns)
        return f"UPDATE {name} SET {sets} WHERE {where}"
    if verb == "DELETE":
        return f"DELETE FROM {name} WHERE {where}"
    return f"SELECT {', '.join(quote(dialect, c) for c in columns)} FROM {name} WHERE {where}"
