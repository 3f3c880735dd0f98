"""The canonical tables follow the canonical model: migrations Concord works out and applies itself.

The typed canonical tables (``account``, ``sales_order``, ``opportunity_line`` ...) are generated
from ``schemas``. When the model gains a field or a child collection (a new Concord release, or a
project's own extension), the warehouse must follow without anyone writing a migration: after the
Alembic revisions of the machinery tables, ``evolve`` compares each canonical table with the
database and creates missing tables and adds missing columns (all canonical columns are nullable,
so adding one never fails on existing rows). It never drops or retypes anything: a removed field's
column stays, with its data, until a person drops it. Every change is returned (and logged) so
``concord check`` and the migration log can say what was done.
"""
from __future__ import annotations

import logging

from sqlalchemy import Connection, inspect
from sqlalchemy.schema import CreateTable

from concord.hub.warehouse import tables as T

log = logging.getLogger("concord.warehouse")


def canonical_tables() -> list:  # type: ignore[type-arg]
    out = []
    for entity, table in T.CANONICAL.items():
        out.append(table)
        out.extend(child for _coll, child, _cols in T.CANONICAL_CHILDREN.get(entity, []))
    return out


def pending_changes(conn: Connection) -> list[str]:
    """What ``evolve`` would do, in words (nothing is changed)."""
    insp = inspect(conn)
    have = set(insp.get_table_names())
    out = []
    for table in canonical_tables():
        if table.name not in have:
            out.append(f"create table {table.name}")
            continue
        cols = {c["name"] for c in insp.get_columns(table.name)}
        out.extend(f"add column {table.name}.{c.name}" for c in table.columns if c.name not in cols)
    return out


def evolve(conn: Connection) -> list[str]:
    """Create missing canonical tables and add missing columns; returns what was done."""
    insp = inspect(conn)
    have = set(insp.get_table_names())
    done = []
    for table in canonical_tables():
        if table.name not in have:
            conn.execute(CreateTable(table))
            done.append(f"create table {table.name}")
            continue
        cols = {c["name"] for c in insp.get_columns(table.name)}
        for col in table.columns:
            if col.name not in cols:
                q = conn.dialect.identifier_preparer.quote
                conn.exec_driver_sql(f"ALTER TABLE {q(table.name)} ADD COLUMN {q(col.name)} "
                                     f"{col.type.compile(dialect=conn.dialect)}")
                done.append(f"add column {table.name}.{col.name}")
    for line in done:
        log.info("warehouse: %s (the canonical model changed)", line)
    return done
