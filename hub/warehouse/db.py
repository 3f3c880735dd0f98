"""The warehouse connection: SQLite (embedded default) or PostgreSQL, chosen by URL.

- ``Warehouse.open(url)`` creates the engine, applies SQLite pragmas (WAL, busy timeout, foreign
  keys, working SAVEPOINTs) and migrates the schema with Alembic.
- ``tx()`` is one transaction; a page and its cursor commit in one ``tx()``.
- ``dry_run()`` runs everything inside one outer transaction that is rolled back at the end
  (``concord plan``): every ``tx()`` inside becomes a SAVEPOINT.
- ``upsert()`` is set-based ``INSERT ... ON CONFLICT`` on both engines.
- ``stream_lock()`` keeps one worker per stream on every warehouse (``locks.py``).
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from concord.hub.errors import ConfigError
from concord.hub.warehouse import bulk, jsoncodec
from concord.hub.warehouse.evolve import evolve
from concord.hub.warehouse.locks import lock_key, locks_for
from concord.hub.warehouse.views import ensure_views

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _normalise_url(url: str) -> str:
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


class Warehouse:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._dry: threading.local = threading.local()
        self._locks = locks_for(engine)

    # ---- construction --------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, *, migrate: bool = True, echo: bool = False) -> "Warehouse":
        """Open (and migrate) the warehouse; a bad, unreachable or unwritable one is one ConfigError."""
        try:
            url = _normalise_url(url)
        except Exception:  # not even parseable: do not echo it, it may hold a password
            raise ConfigError("the warehouse URL is not a database URL (expected sqlite:///path/to/file.db "
                              "or postgresql+psycopg://user@host:5432/db)") from None
        shown = make_url(url).set(query={}).render_as_string(hide_password=True)   # a query may hold one too
        try:
            kwargs: dict[str, Any] = {"echo": echo, "json_serializer": jsoncodec.dumps,
                                      "json_deserializer": jsoncodec.loads}
            if url.startswith("sqlite"):
                kwargs["connect_args"] = {"timeout": 60, "check_same_thread": False}
            else:
                kwargs["pool_pre_ping"] = True
            engine = create_engine(url, **kwargs)
        except Exception as exc:  # missing driver, unknown dialect
            raise ConfigError(f"cannot open warehouse {shown}: {_first_line(exc)}") from None
        if engine.dialect.name == "sqlite":
            _sqlite_setup(engine)
        wh = cls(engine)
        try:
            if migrate:
                wh.migrate()
            else:
                with engine.connect():
                    pass
        except DBAPIError as exc:
            engine.dispose()
            raise ConfigError(f"cannot use warehouse {shown}: {_first_line(exc.orig or exc)}"
                              f"{_hint(engine.dialect.name)}") from None
        return wh

    def migrate(self) -> None:
        """Bring the schema to the latest Alembic revision (serialised across workers on PostgreSQL)."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                schema = conn.execute(text("SELECT current_schema()")).scalar()
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(f"concord:{schema}:migrate")})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            evolve(conn)   # the canonical tables follow the canonical model (evolve.py)
            ensure_views(conn)   # analyst views over them, replaced when their definition changed (views.py)

    def dispose(self) -> None:
        self.engine.dispose()

    # ---- transactions ----------------------------------------------------------------------
    @contextlib.contextmanager
    def tx(self) -> Iterator[Connection]:
        conn: Connection | None = getattr(self._dry, "conn", None)
        if conn is not None:
            with conn.begin_nested():
                yield conn
            return
        with self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def dry_run(self) -> Iterator[Connection]:
        """Everything inside runs for real against the warehouse, then is rolled back."""
        with self.engine.connect() as conn:
            trans = conn.begin()
            self._dry.conn = conn
            try:
                yield conn
            finally:
                self._dry.conn = None
                trans.rollback()

    @property
    def is_dry_run(self) -> bool:
        return getattr(self._dry, "conn", None) is not None

    # ---- set-based writes -------------------------------------------------------------------
    def upsert(self, conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str],
               update: Sequence[str] | None = None) -> None:
        """INSERT rows; on a key conflict update ``update`` columns (all non-key columns by default).

        Straight through the driver's ``executemany`` (``bulk.py``): no per-row compiling."""
        bulk.upsert(conn, table, rows, keys, update)

    # ---- scale-out -------------------------------------------------------------------------
    @contextlib.contextmanager
    def stream_lock(self, name: str, *, wait: bool = False) -> Iterator[bool]:
        """Hold a warehouse-wide lock for one stream (hub/warehouse/locks.py: PostgreSQL advisory
        locks, OS file locks beside a SQLite file). Released when the holder ends, even by SIGKILL.

        Yields True when this process holds the lock, False when another worker does; with
        ``wait`` it blocks until the lock is free. A dry run (``concord plan``) writes nothing
        anywhere and takes no lock.
        """
        if self.is_dry_run:
            yield True
            return
        with self._locks.hold(name, wait=wait) as got:
            yield got


def _first_line(exc: BaseException) -> str:
    text_ = str(exc).strip().splitlines()
    return text_[0] if text_ else type(exc).__name__


def _hint(dialect: str) -> str:
    if dialect == "sqlite":
        return " (does the folder exist, and may this user write there?)"
    return " (is the server running and reachable, and are the user, password and database right?)"


def chunks(items: Sequence[Any], n: int = 500) -> Iterator[list[Any]]:
    """Slices of at most ``n`` items (IN-lists and executemany batches stay bounded)."""
    items = list(items)
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN so SAVEPOINTs work
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
