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

from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Connection, Table
from sqlalchemy.engine import Dialect

BATCH = 2000


class RawJSON(str):
    """JSON text already encoded as a JSON column's serializer (``json.dumps``) encodes its value:
    the bulk path stores it as it is instead of encoding the value again."""

    __slots__ = ()

_NOTHING = object()


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


def delete_by_key(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    """``DELETE FROM table WHERE <keys>`` for every row (one ``executemany``)."""
    if not rows:
        return
    sql, procs = _delete_sql(conn.dialect, table, tuple(keys))
    _run(conn, sql, procs, tuple(keys), rows)


def select_in(conn: Connection, table: Table, columns: Sequence[str], where: Sequence[tuple[str, str, Any]],
              in_col: str, values: Sequence[Any], chunk: int = 500) -> Iterator[tuple[Any, ...]]:
    """``SELECT columns FROM table WHERE <where> AND in_col IN (values)``, one query per ``chunk`` values.

    ``where`` holds ``(column, "=" | "!=", value)`` conditions. The statement text is rendered once
    per shape and run through the driver (no Core compiling of a fresh IN-list per call); rows are
    plain tuples of the driver's values, so this is for text columns (ids, keys, hashes)."""
    if not values:
        return
    ops = tuple((c, op) for c, op, _v in where)
    fixed = [v for _c, _op, v in where]
    for i in range(0, len(values), chunk):
        part = list(values[i:i + chunk])
        sql = _select_in_sql(conn.dialect, table, tuple(columns), ops, in_col, len(part))
        yield from conn.exec_driver_sql(sql, tuple(fixed + part)).fetchall()


def _run(conn: Connection, sql: str, procs: tuple[Callable[[Any], Any] | None, ...], cols: Sequence[str],
         rows: Sequence[dict[str, Any]]) -> None:
    for i in range(0, len(rows), BATCH):
        conn.exec_driver_sql(sql, _params(rows[i:i + BATCH], tuple(cols), procs))


def _params(rows: Sequence[dict[str, Any]], cols: tuple[str, ...],
            procs: tuple[Callable[[Any], Any] | None, ...]) -> list[tuple[Any, ...]]:
    """Rows as parameter tuples in ``cols`` order, each value through its column's bind processor.

    A missing key is None (as ``dict.get``). The common case (every row carries every column) takes
    one C-level ``itemgetter`` per row; bind processors run only on the columns that have one."""
    get = itemgetter(*cols) if len(cols) > 1 else (lambda r, _c=cols[0]: (r[_c],))
    todo = [(i, p) for i, p in enumerate(procs) if p is not None]
    out: list[tuple[Any, ...]] = []
    append = out.append
    if not todo:
        for r in rows:
            try:
                append(get(r))
            except KeyError:
                append(tuple(r.get(c) for c in cols))
        return out
    # a bind processor is a pure function of its value, and a batch often repeats one object in a
    # column (the batch's timestamp, a flag): its last input and output are kept per column
    last_in: list[Any] = [_NOTHING] * len(cols)
    last_out: list[Any] = [None] * len(cols)
    for r in rows:
        try:
            v = list(get(r))
        except KeyError:
            v = [r.get(c) for c in cols]
        for i, p in todo:
            x = v[i]
            if x is last_in[i]:
                v[i] = last_out[i]
            else:
                v[i] = last_out[i] = p(x)
                last_in[i] = x
        append(tuple(v))
    return out


def _placeholder(dialect: Dialect, table: Table, col: str) -> str:
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    if dialect.name == "postgresql" and isinstance(table.c[col].type, JSON):
        return mark + "::jsonb"
    return mark


def _procs(dialect: Dialect, table: Table, cols: Sequence[str]) -> tuple[Callable[[Any], Any] | None, ...]:
    out = []
    for c in cols:
        proc = table.c[c].type.dialect_impl(dialect).bind_processor(dialect)
        if proc is not None and isinstance(table.c[c].type, JSON):
            proc = _keep_encoded(proc)
        out.append(proc)
    return tuple(out)


def _keep_encoded(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A JSON column's processor that stores ``RawJSON`` (text already encoded as the column's
    serializer encodes its value) as it is."""
    def process(value: Any) -> Any:
        if value.__class__ is RawJSON:
            return str(value)
        return proc(value)
    return process


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


@lru_cache(maxsize=64)
def _delete_sql(dialect: Dialect, table: Table, keys: tuple[str, ...]
                ) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    w = " AND ".join(f"{_q(dialect, k)} = {_placeholder(dialect, table, k)}" for k in keys)
    return f"DELETE FROM {_q(dialect, table.name)} WHERE {w}", _procs(dialect, table, keys)


@lru_cache(maxsize=512)
def _select_in_sql(dialect: Dialect, table: Table, columns: tuple[str, ...], ops: tuple[tuple[str, str], ...],
                   in_col: str, n: int) -> str:
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    conds = [f"{_q(dialect, c)} {'<>' if op == '!=' else '='} {mark}" for c, op in ops]
    conds.append(f"{_q(dialect, in_col)} IN ({', '.join([mark] * n)})")
    cols = ", ".join(_q(dialect, c) for c in columns)
    return f"SELECT {cols} FROM {_q(dialect, table.name)} WHERE {' AND '.join(conds)}"
