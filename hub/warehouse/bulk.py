"""The bulk path: set-based writes straight through the DBAPI ``executemany``, no per-row compiling.

SQLAlchemy Core compiles a statement and builds its parameters row by row (``construct_params``);
at a hundred thousand rows that is most of the cost of a load. Here a statement is rendered once
per (table, columns, keys) and cached, each column's bind processor (JSON serialisation, SQLite's
datetime and boolean storage) is looked up once, and rows become plain tuples handed to the
driver: ``sqlite3``'s prepared-statement ``executemany`` on SQLite; on PostgreSQL ``COPY`` into a
temporary table and one set-based statement from it (see the PostgreSQL section below). On SQLite,
rows of 12 columns or more (the typed projections, mostly empty) are bound without their NULLs
(``_run_sparse``): ``sqlite3`` binds parameter by parameter, NULLs included.
Values are stored exactly as Core would store them (the same bind processors), so reads through
Core see no difference.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Connection, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError

BATCH = 2000
SPARSE_COLUMNS = 12     # rows this wide are bound without their NULLs on SQLite (see _run_sparse)


class RawJSON(str):
    """JSON text already encoded for a JSON column (any encoder's text of the value decodes the same):
    the bulk path stores it as it is instead of encoding the value again."""

    __slots__ = ()

_NOTHING = object()
_NEW_ROWS = "concord_new_rows"      # key in the connection's info: see ``new_rows``


@contextmanager
def new_rows(conn: Connection) -> Iterator[None]:
    """A hint for the block: what it upserts is new, no row exists yet (an initial load's fresh path).

    On PostgreSQL an upsert then COPYs its rows straight into the table, in a savepoint, instead of into a
    temporary table first and from there by ``INSERT ... ON CONFLICT``; should a row exist after all, the
    savepoint is rolled back and the usual upsert applies. The hint changes no result, only the route.
    SQLite's upsert is one statement either way, so it is ignored there."""
    before = conn.info.get(_NEW_ROWS)
    conn.info[_NEW_ROWS] = True
    try:
        yield
    finally:        # the info belongs to the pooled DBAPI connection: never leave the hint behind
        if before is None:
            conn.info.pop(_NEW_ROWS, None)
        else:
            conn.info[_NEW_ROWS] = before


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str],
           update: Sequence[str] | None = None) -> None:
    """INSERT rows; on a key conflict update ``update`` columns (all non-key columns by default)."""
    if not rows:
        return
    rows, cols = _with_defaults(table, rows)
    upd = tuple(update) if update is not None else tuple(c for c in cols if c not in keys)
    if conn.dialect.name == "postgresql":
        _pg_upsert(conn, table, rows, cols, tuple(keys), upd)
        return
    if len(cols) >= SPARSE_COLUMNS and any(_omittable(conn.dialect, table, cols)):
        _run_sparse(conn, table, rows, cols, tuple(keys), upd)
        return
    sql, procs = _upsert_sql(conn.dialect, table, cols, tuple(keys), upd)
    _run(conn, sql, procs, cols, rows)


def insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    rows, cols = _with_defaults(table, rows)
    if conn.dialect.name == "postgresql":
        _pg_upsert(conn, table, rows, cols, (), None)
        return
    if len(cols) >= SPARSE_COLUMNS and any(_omittable(conn.dialect, table, cols)):
        _run_sparse(conn, table, rows, cols, (), None)
        return
    sql, procs = _upsert_sql(conn.dialect, table, cols, (), None)
    _run(conn, sql, procs, cols, rows)


def insert_tuples(conn: Connection, table: Table, cols: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """INSERT rows given as tuples in ``cols`` order: for narrow rows of plain values (ids, keys, hashes)
    whose columns have no bind processor, so no dict is built per row (a fresh load's match keys)."""
    if not rows:
        return
    cols = tuple(cols)
    sql, procs = _upsert_sql(conn.dialect, table, cols, (), None)
    if any(p is not None for p in procs):     # a column that needs its processor: the general path
        insert(conn, table, [dict(zip(cols, r)) for r in rows])
        return
    if conn.dialect.name == "postgresql":
        names = ", ".join(quote(conn.dialect, c) for c in cols)
        dbapi = conn.connection.driver_connection
        with dbapi.cursor() as cur, cur.copy(f"COPY {quote(conn.dialect, table.name)} ({names}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                write(row)
        return
    for i in range(0, len(rows), BATCH * 10):
        conn.exec_driver_sql(sql, list(rows[i:i + BATCH * 10]))


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
    if conn.dialect.name == "postgresql":
        _pg_staged(conn, table, sets + tuple(keys), _last_per_key(rows, tuple(keys)),
                   _pg_update_sql(conn.dialect, table, sets, tuple(keys)))
        return
    sql, procs, order = _update_sql(conn.dialect, table, sets, tuple(keys))
    _run(conn, sql, procs, order, rows)


def delete_by_key(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    """``DELETE FROM table WHERE <keys>`` for every row (one ``executemany``)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _pg_staged(conn, table, tuple(keys), rows, _pg_delete_sql(conn.dialect, table, tuple(keys)))
        return
    sql, procs = _delete_sql(conn.dialect, table, tuple(keys))
    _run(conn, sql, procs, tuple(keys), rows)


def _run(conn: Connection, sql: str, procs: tuple[Callable[[Any], Any] | None, ...], cols: Sequence[str],
         rows: Sequence[dict[str, Any]]) -> None:
    for i in range(0, len(rows), BATCH):
        conn.exec_driver_sql(sql, _params(rows[i:i + BATCH], tuple(cols), procs))


def _run_sparse(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], cols: tuple[str, ...],
                keys: tuple[str, ...], update: tuple[str, ...] | None) -> None:
    """SQLite, wide rows (a typed projection: 40 columns, most of them empty): each row is bound without
    the columns it leaves NULL, one statement per pattern of NULLs in a batch (a handful), the update
    setting them to NULL. ``sqlite3`` binds parameter by parameter, so this halves the cost of such a row.

    Only columns that store NULL for None (no JSON ``null``, no server default) are left out. Grouping
    reorders the rows, so of several rows with one key the one the row-by-row order would leave is kept
    (the last when updating, the first otherwise)."""
    omittable = _omittable(conn.dialect, table, cols)
    if keys:
        get_key = itemgetter(*keys)
        kept: dict[Any, dict[str, Any]] = {}
        for r in rows:
            k = get_key(r)
            if update or k not in kept:
                kept[k] = r
        if len(kept) < len(rows):
            rows = list(kept.values())
    idx = [i for i, ok in enumerate(omittable) if ok]
    get = itemgetter(*[cols[i] for i in idx]) if len(idx) > 1 else (lambda r, _c=cols[idx[0]]: (r.get(_c),))
    for i in range(0, len(rows), BATCH):
        groups: dict[tuple[bool, ...], list[dict[str, Any]]] = {}
        for r in rows[i:i + BATCH]:
            try:
                vals = get(r)
            except KeyError:
                vals = tuple(r.get(cols[j]) for j in idx)
            pattern = tuple([v is None for v in vals])
            groups.setdefault(pattern, []).append(r)
        for pattern, group in groups.items():
            empty = {cols[j] for j, none in zip(idx, pattern) if none}
            present = tuple(c for c in cols if c not in empty)
            nulls = tuple(c for c in update or () if c in empty)
            sql, procs = _upsert_sql(conn.dialect, table, present, keys,
                                     tuple(c for c in update if c not in empty) if update is not None else None, nulls)
            conn.exec_driver_sql(sql, _params(group, present, procs))


@lru_cache(maxsize=128)
def _omittable(dialect: Dialect, table: Table, cols: tuple[str, ...]) -> tuple[bool, ...]:
    """Per column: whether leaving it out of an INSERT stores what binding None stores (NULL)."""
    out = []
    for c, proc in zip(cols, processors(dialect, table, cols)):
        col = table.c[c]
        out.append(not col.primary_key and col.server_default is None and (proc is None or proc(None) is None))
    return tuple(out)


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


def placeholder(dialect: Dialect, table: Table, col: str) -> str:
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    if dialect.name == "postgresql" and isinstance(table.c[col].type, JSON):
        return mark + "::jsonb"
    return mark


def processors(dialect: Dialect, table: Table, cols: Sequence[str]) -> tuple[Callable[[Any], Any] | None, ...]:
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


def quote(dialect: Dialect, name: str) -> str:
    return dialect.identifier_preparer.quote(name)


@lru_cache(maxsize=256)
def _upsert_sql(dialect: Dialect, table: Table, cols: tuple[str, ...], keys: tuple[str, ...],
                update: tuple[str, ...] | None, nulls: tuple[str, ...] = ()
                ) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    """The INSERT of ``cols``; on a conflict over ``keys``, ``update`` columns from the row and ``nulls``
    set to NULL (nothing to update: DO NOTHING)."""
    names = ", ".join(quote(dialect, c) for c in cols)
    marks = ", ".join(placeholder(dialect, table, c) for c in cols)
    sql = f"INSERT INTO {quote(dialect, table.name)} ({names}) VALUES ({marks})"
    if keys:
        target = ", ".join(quote(dialect, k) for k in keys)
        if update or nulls:
            sets = ", ".join([f"{quote(dialect, c)} = excluded.{quote(dialect, c)}" for c in update or ()]
                             + [f"{quote(dialect, c)} = NULL" for c in nulls])
            sql += f" ON CONFLICT ({target}) DO UPDATE SET {sets}"
        else:
            sql += f" ON CONFLICT ({target}) DO NOTHING"
    return sql, processors(dialect, table, cols)


@lru_cache(maxsize=256)
def _update_sql(dialect: Dialect, table: Table, sets: tuple[str, ...], keys: tuple[str, ...]
                ) -> tuple[str, tuple[Callable[[Any], Any] | None, ...], tuple[str, ...]]:
    s = ", ".join(f"{quote(dialect, c)} = {placeholder(dialect, table, c)}" for c in sets)
    w = " AND ".join(f"{quote(dialect, k)} = {placeholder(dialect, table, k)}" for k in keys)
    order = sets + keys
    return f"UPDATE {quote(dialect, table.name)} SET {s} WHERE {w}", processors(dialect, table, order), order


@lru_cache(maxsize=64)
def _delete_sql(dialect: Dialect, table: Table, keys: tuple[str, ...]
                ) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    w = " AND ".join(f"{quote(dialect, k)} = {placeholder(dialect, table, k)}" for k in keys)
    return f"DELETE FROM {quote(dialect, table.name)} WHERE {w}", processors(dialect, table, keys)


# ---- PostgreSQL: COPY, then one set-based statement ---------------------------------------------------
# psycopg's pipelined ``executemany`` still runs one statement per row on the server (a plan
# execution, a lock and a WAL record each: about 70 microseconds a row, most of a load). Here the
# rows go through ``COPY`` (rows formatted in C) into a temporary table of the statement's columns,
# and one statement applies them all: ``INSERT ... SELECT ... ON CONFLICT``, ``UPDATE ... FROM``,
# ``DELETE ... USING``. A plain insert is a ``COPY`` into the table itself, and so is an upsert under
# the ``new_rows`` hint (an initial load: 100,000 accounts 37.5 s -> 33.8 s), with the staged upsert as
# its fallback. Everything runs on the transaction's own connection: a rollback takes it all back.

def _pg_upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], cols: tuple[str, ...],
               keys: tuple[str, ...], update: tuple[str, ...] | None) -> None:
    if not keys:
        _pg_copy(conn, table, quote(conn.dialect, table.name), cols, rows)
        return
    if update:      # ON CONFLICT DO UPDATE may touch a row once per statement: the last row wins
        rows = _last_per_key(rows, keys)
    if conn.info.get(_NEW_ROWS) and _pg_copy_new(conn, table, cols, rows):
        return
    _pg_staged(conn, table, cols, rows, _pg_insert_sql(conn.dialect, table, cols, keys, update))


def _pg_copy_new(conn: Connection, table: Table, cols: tuple[str, ...], rows: Sequence[dict[str, Any]]) -> bool:
    """COPY rows expected to be new straight into ``table`` (see ``new_rows``); False, with nothing written,
    when one of them exists already (or two share a key)."""
    try:
        with conn.begin_nested():
            _pg_copy(conn, table, quote(conn.dialect, table.name), cols, rows)
    except (IntegrityError, conn.dialect.dbapi.IntegrityError):   # COPY runs on the driver: its own error
        return False
    return True


def _last_per_key(rows: Sequence[dict[str, Any]], keys: tuple[str, ...]) -> Sequence[dict[str, Any]]:
    """The rows, of several with one key only the last (as row-by-row statements would leave it)."""
    get = itemgetter(*keys)
    last = {get(r): r for r in rows}
    return rows if len(last) == len(rows) else list(last.values())


def _pg_staged(conn: Connection, table: Table, cols: tuple[str, ...], rows: Sequence[dict[str, Any]],
               statement: str) -> None:
    """COPY the rows into the temporary table of (table, cols), apply ``statement``, empty it again."""
    stage = _pg_stage_name(table, cols)
    names = ", ".join(quote(conn.dialect, c) for c in cols)
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
                         f"SELECT {names} FROM {quote(conn.dialect, table.name)} WITH NO DATA")
    _pg_copy(conn, table, stage, cols, rows)
    if not statement.startswith("INSERT"):       # a join: its plan needs the table's row count
        analyse_if_stale(conn, table)
    conn.exec_driver_sql(statement)
    conn.exec_driver_sql(f"TRUNCATE {stage}")


def analyse_if_stale(conn: Connection, table: Table, *, changed: bool = False) -> None:
    """ANALYZE ``table`` (PostgreSQL) when its planner statistics trail its size by more than half.

    A load fills tables faster than autovacuum analyses them: a table of 20,000 staged records the
    planner still believes empty joins the staged rows through whichever index comes first (for
    ``raw_record`` its status index, every record read per staged row) instead of its primary key.
    Row counts only double between two ANALYZEs this way, so a load of n rows analyses log(n) times.

    Only the columns the table's indexes read (their keys, expressions and partial conditions, as the
    catalogue records them) are analysed: what the planner's choice between index plans depends on. The
    row count is updated all the same; the count of changes since the last ANALYZE is not (only a whole
    ANALYZE resets it, and autovacuum's, where it runs, still comes), so the size compared is the live
    rows alone. Sampling every text and JSON column too made each ANALYZE three to four times dearer
    (100,000 staged records: 0.42-0.51 s against 0.10-0.14 s).

    ``changed`` (asked once a stream, before its records are processed): a table whose rows changed more
    often since its last whole ANALYZE than it has rows (a load's staged records, all pending when analysed
    as they grew, then all mapped) gets a whole ANALYZE, which resets that count: a planner that believed a
    million records pending scanned the table for each pending read. Not at every write: the counts a
    session reads may trail its own changes, and a load's writes asked every transaction (100,000 staged
    records mapped: ten whole ANALYZEs, 2.6 s, each one seeing the same stale counts)."""
    row = conn.exec_driver_sql(
        "SELECT c.reltuples, s.n_live_tup, s.n_mod_since_analyze FROM pg_class c "
        "JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = to_regclass(%s)", (table.name,)).first()
    if row is None or row[1] < 1000:
        return
    if row[0] >= row[1] / 2:
        if changed and row[2] > row[1]:
            conn.exec_driver_sql(f"ANALYZE {quote(conn.dialect, table.name)}")
        return
    # key columns from ``indkey``; expressions and partial conditions from ``pg_depend`` (which records
    # no columns for a constraint's index: a primary key's depend on its constraint, not on the index)
    indexed = [r[0] for r in conn.exec_driver_sql(
        "SELECT DISTINCT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum > 0 AND (a.attnum = ANY(i.indkey::int2[]) OR EXISTS (SELECT 1 FROM pg_depend d "
        "WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid AND d.refobjid = i.indrelid "
        "AND d.refobjsubid = a.attnum)) WHERE i.indrelid = to_regclass(%s) ORDER BY 1", (table.name,))]
    columns = f" ({', '.join(quote(conn.dialect, c) for c in indexed)})" if indexed else ""
    conn.exec_driver_sql(f"ANALYZE {quote(conn.dialect, table.name)}{columns}")


def _pg_copy(conn: Connection, table: Table, target: str, cols: tuple[str, ...],
             rows: Sequence[dict[str, Any]]) -> None:
    procs = _pg_procs(conn.dialect, table, cols)
    names = ", ".join(quote(conn.dialect, c) for c in cols)
    dbapi = conn.connection.driver_connection
    with dbapi.cursor() as cur, cur.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
        write = copy.write_row
        for i in range(0, len(rows), BATCH):
            for row in _params(rows[i:i + BATCH], cols, procs):
                write(row)


def _json_text(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A JSON column's value as JSON text (COPY writes text; psycopg's JSON wrappers are for parameters)."""
    def process(value: Any) -> Any:
        if value is None or value.__class__ is RawJSON:
            return None if value is None else str(value)
        out = proc(value)
        if out is None or isinstance(out, str):
            return out
        return (getattr(out, "dumps", None) or json.dumps)(out.obj)
    return process


@lru_cache(maxsize=256)
def _pg_procs(dialect: Dialect, table: Table, cols: tuple[str, ...]) -> tuple[Callable[[Any], Any] | None, ...]:
    return tuple(_json_text(p) if p is not None and isinstance(table.c[c].type, JSON) else p
                 for c, p in zip(cols, processors(dialect, table, cols)))


@lru_cache(maxsize=256)
def _pg_stage_name(table: Table, cols: tuple[str, ...]) -> str:
    digest = hashlib.blake2b("\x1f".join(cols).encode(), digest_size=4).hexdigest()
    return f"concord_stage_{table.name[:30]}_{digest}"


@lru_cache(maxsize=256)
def _pg_insert_sql(dialect: Dialect, table: Table, cols: tuple[str, ...], keys: tuple[str, ...],
                   update: tuple[str, ...] | None) -> str:
    names = ", ".join(quote(dialect, c) for c in cols)
    sql = (f"INSERT INTO {quote(dialect, table.name)} ({names}) SELECT {names} FROM {_pg_stage_name(table, cols)}"
           f" ON CONFLICT ({', '.join(quote(dialect, k) for k in keys)})")
    if update:
        return sql + " DO UPDATE SET " + ", ".join(f"{quote(dialect, c)} = excluded.{quote(dialect, c)}" for c in update)
    return sql + " DO NOTHING"


@lru_cache(maxsize=256)
def _pg_update_sql(dialect: Dialect, table: Table, sets: tuple[str, ...], keys: tuple[str, ...]) -> str:
    t, s = quote(dialect, table.name), _pg_stage_name(table, sets + keys)
    assign = ", ".join(f"{quote(dialect, c)} = {s}.{quote(dialect, c)}" for c in sets)
    where = " AND ".join(f"{t}.{quote(dialect, k)} = {s}.{quote(dialect, k)}" for k in keys)
    return f"UPDATE {t} SET {assign} FROM {s} WHERE {where}"


@lru_cache(maxsize=64)
def _pg_delete_sql(dialect: Dialect, table: Table, keys: tuple[str, ...]) -> str:
    t, s = quote(dialect, table.name), _pg_stage_name(table, keys)
    where = " AND ".join(f"{t}.{quote(dialect, k)} = {s}.{quote(dialect, k)}" for k in keys)
    return f"DELETE FROM {t} USING {s} WHERE {where}"
