"""The canonical tables follow the canonical model: migrations Concord works out and applies itself.

The typed canonical tables (``account``, ``sales_order``, ``opportunity_line`` ...) are generated
from ``schemas``. When the model gains a field or a child collection (a new Concord release, or a
project's own extension), the warehouse must follow without anyone writing a migration: after the
Alembic revisions of the machinery tables, ``evolve`` compares each canonical table with the
database and creates missing tables and adds missing columns (all canonical columns are nullable,
so adding one never fails on existing rows). It never drops anything: a removed field's column
stays, with its data, until a person drops it. Every change is returned (and logged) so
``concord check`` and the migration log can say what was done.

A project's ``extensions:`` (hub/config/extensions.py) extend the models: :func:`canonical_table`
gives the project's table of an entity (the shipped columns plus one per extension field) and
:func:`evolve_project` adds those columns when a run starts. When an extension field's declared type
changes, its column is retyped only where that is safe:

- the column holds no value yet: it is dropped and added again with the new type;
- a widening keeps every value (integer -> decimal; integer, decimal, date or datetime -> string):
  PostgreSQL ``ALTER COLUMN ... TYPE ... USING``, SQLite a copy through a new column;
- anything else (text -> number, decimal -> integer, a boolean or date reinterpreted...) with values
  in the column is refused with a ConfigError that says which field and how many records hold values:
  declare a new field instead, or clear the values first. Nothing is changed in that case.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Column, Connection, ForeignKeyConstraint, Integer, MetaData, String, Table, inspect, text
from sqlalchemy import types as st
from sqlalchemy.schema import CreateTable

from concord import schemas
from concord.hub.errors import ConfigError
from concord.hub.warehouse import tables as T

log = logging.getLogger("concord.warehouse")

Columns = list[tuple[str, str, Any]]
#: (from, to) type families whose values all survive the change
WIDENINGS = frozenset({("integer", "decimal"), ("integer", "text"), ("decimal", "text"), ("date", "text"),
                       ("datetime", "text")})


def canonical_table(models: Mapping[str, type] | None, entity: str) -> tuple[Table, Columns]:
    """The typed table of ``entity`` and its (column, flat path, type) list, for a project's models."""
    model = (models or {}).get(entity)
    if model is None or model is schemas.ENTITIES.get(entity):
        return T.CANONICAL[entity], T.CANONICAL_COLUMNS[entity]
    table, cols, _children = _extended_tables(entity, model)
    return table, cols


def canonical_children(models: Mapping[str, type] | None, entity: str) -> list[tuple[str, Table, Columns]]:
    """The child tables of ``entity`` (``sales_order_line``...): (collection, table, columns), for a project's models."""
    model = (models or {}).get(entity)
    if model is None or model is schemas.ENTITIES.get(entity):
        return T.CANONICAL_CHILDREN.get(entity, [])
    return _extended_tables(entity, model)[2]


@lru_cache(maxsize=256)
def _extended_tables(entity: str, model: type) -> tuple[Table, Columns, list[tuple[str, Table, Columns]]]:
    """The tables of an extended model: the shipped columns plus one per project field (own metadata)."""
    md = MetaData()
    cols = T.canonical_columns(model)
    table = Table(entity, md,
                  Column("golden_id", String(64), primary_key=True),
                  *[Column(c, t) for c, _p, t in cols],
                  Column("_version", Integer, nullable=False),
                  Column("_updated_at", T.TS, nullable=False),
                  comment=T.CANONICAL[entity].comment)
    children = []
    for coll, item in T.child_collections(model):
        ccols = T.canonical_columns(item)
        child = Table(f"{entity}_{coll.rstrip('s')}", md,
                      Column("golden_id", String(64), primary_key=True),
                      Column("position", Integer, primary_key=True),
                      *[Column(c, t) for c, _p, t in ccols],
                      ForeignKeyConstraint(["golden_id"], [f"{entity}.golden_id"], ondelete="CASCADE"))
        children.append((coll, child, ccols))
    return table, cols, children


def canonical_tables(models: Mapping[str, type] | None = None) -> list[Table]:
    out = []
    for entity in T.CANONICAL:
        out.append(canonical_table(models, entity)[0])
        out.extend(child for _coll, child, _cols in canonical_children(models, entity))
    return out


def _shipped_columns() -> dict[str, set[str]]:
    out = {t.name: set(t.c.keys()) for t in T.CANONICAL.values()}
    out.update({child.name: set(child.c.keys()) for kids in T.CANONICAL_CHILDREN.values() for _c, child, _x in kids})
    return out


def family(t: Any) -> str:
    """The kind of value a column type holds: text, integer, decimal, boolean, date, datetime."""
    t = getattr(t, "impl_instance", t)
    for cls, name in ((st.Boolean, "boolean"), (st.Integer, "integer"), (st.Numeric, "decimal"),
                      (st.DateTime, "datetime"), (st.Date, "date")):
        if isinstance(t, cls):
            return name
    return "text"


@dataclass(frozen=True)
class Retype:
    table: str
    column: str
    old: str       # type family in the database
    new: str       # type family the model wants
    sql_type: Any
    values: int    # rows holding a value

    @property
    def how(self) -> str:
        return "empty" if not self.values else ("widen" if (self.old, self.new) in WIDENINGS else "refused")

    def describe(self) -> str:
        return f"retype column {self.table}.{self.column} ({self.old} -> {self.new})"

    def error(self) -> ConfigError:
        return ConfigError(
            f"warehouse column {self.table}.{self.column} is {self.old} and holds values in {self.values} record(s); "
            f"the project now declares it {self.new}, which would not keep them. Concord does not convert it: "
            f"declare the new type under a new field name (and map that), or clear the values first",
            code="unsafe_column_change")


def _plan(conn: Connection, models: Mapping[str, type] | None) -> tuple[list[tuple[Table, Any]], list[Table],
                                                                      list[Retype]]:
    """(columns to add, tables to create, extension columns to retype) for these models."""
    insp = inspect(conn)
    have = set(insp.get_table_names())
    add, create, retype = [], [], []
    shipped = _shipped_columns()
    for table in canonical_tables(models):
        if table.name not in have:
            create.append(table)
            continue
        existing = {c["name"]: c["type"] for c in insp.get_columns(table.name)}
        base_cols = shipped.get(table.name, set(table.c.keys()))
        for col in table.columns:
            if col.name not in existing:
                add.append((table, col))
            elif col.name not in base_cols and family(existing[col.name]) != family(col.type):
                q = conn.dialect.identifier_preparer.quote
                n = conn.execute(text(f"SELECT COUNT(*) FROM {q(table.name)} WHERE {q(col.name)} IS NOT NULL")).scalar()
                retype.append(Retype(table.name, col.name, family(existing[col.name]), family(col.type), col.type,
                                     int(n or 0)))
    return add, create, retype


def pending_changes(conn: Connection, models: Mapping[str, type] | None = None) -> list[str]:
    """What ``evolve`` would do, in words (nothing is changed); a refused retype is listed as such."""
    add, create, retype = _plan(conn, models)
    return ([f"create table {t.name}" for t in create] + [f"add column {t.name}.{c.name}" for t, c in add]
            + [r.describe() + (" (refused: it holds values)" if r.how == "refused" else "") for r in retype])


def unsafe_changes(conn: Connection, models: Mapping[str, type] | None = None) -> list[ConfigError]:
    return [r.error() for r in _plan(conn, models)[2] if r.how == "refused"]


def evolve(conn: Connection, models: Mapping[str, type] | None = None) -> list[str]:
    """Create missing canonical tables, add missing columns, retype extension columns where safe.

    Raises ConfigError (and changes nothing) when an extension column would have to be narrowed."""
    add, create, retype = _plan(conn, models)
    refused = [r.error() for r in retype if r.how == "refused"]
    if refused:
        from concord.hub.config.loader import ConfigErrors

        raise ConfigErrors(refused) if len(refused) > 1 else refused[0]
    q = conn.dialect.identifier_preparer.quote
    done = []
    for table in create:
        conn.execute(CreateTable(table))
        done.append(f"create table {table.name}")
    for table, col in add:
        conn.exec_driver_sql(f"ALTER TABLE {q(table.name)} ADD COLUMN {q(col.name)} "
                             f"{col.type.compile(dialect=conn.dialect)}")
        done.append(f"add column {table.name}.{col.name}")
    for r in retype:
        _retype(conn, r)
        done.append(r.describe())
    for line in done:
        log.info("warehouse: %s (the canonical model changed)", line)
    return done


def _retype(conn: Connection, r: Retype) -> None:
    q = conn.dialect.identifier_preparer.quote
    tbl, col, sql_type = q(r.table), q(r.column), r.sql_type.compile(dialect=conn.dialect)
    if r.how == "empty":
        conn.exec_driver_sql(f"ALTER TABLE {tbl} DROP COLUMN {col}")
        conn.exec_driver_sql(f"ALTER TABLE {tbl} ADD COLUMN {col} {sql_type}")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ALTER TABLE {tbl} ALTER COLUMN {col} TYPE {sql_type} USING {col}::{sql_type}")
    else:   # SQLite: a new column, the values cast across, the old one dropped, the new one renamed
        tmp = q(f"{r.column}__retype")
        conn.exec_driver_sql(f"ALTER TABLE {tbl} ADD COLUMN {tmp} {sql_type}")
        cast = "TEXT" if r.new == "text" else "NUMERIC"
        conn.exec_driver_sql(f"UPDATE {tbl} SET {tmp} = CAST({col} AS {cast})")
        conn.exec_driver_sql(f"ALTER TABLE {tbl} DROP COLUMN {col}")
        conn.exec_driver_sql(f"ALTER TABLE {tbl} RENAME COLUMN {tmp} TO {col}")


def evolve_project(warehouse: Any, models: Mapping[str, type] | None) -> list[str]:
    """Bring the warehouse to a project's extended models (once per warehouse and model set).

    Called when a run starts (``RunContext.create``), serialised across workers like ``migrate``."""
    if all(m is schemas.ENTITIES.get(e) for e, m in (models or {}).items()):
        return []
    key = tuple(sorted((e, id(m)) for e, m in (models or {}).items()))
    seen = warehouse.__dict__.setdefault("_evolved_for", set())
    if key in seen:
        return []
    from concord.hub.warehouse.locks import lock_key

    with warehouse.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            schema = conn.execute(text("SELECT current_schema()")).scalar()
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(f"concord:{schema}:migrate")})
        done = evolve(conn, models)
    seen.add(key)
    return done
