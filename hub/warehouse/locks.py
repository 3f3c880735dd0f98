"""Stream locks: one worker per stream, on every warehouse, released when the holder dies.

A lock must not outlive its holder, or a SIGKILLed sync would block the rerun; and it must hold
across processes, or two ``concord sync`` on one warehouse both push (the SQLite defect this
module fixes: the lock used to be a no-op there).

- PostgreSQL: session-level advisory locks (``pg_try_advisory_lock``), released by the server
  when the session ends, whatever happens to the client.
- SQLite file: an OS lock (``flock``) on one small file per stream beside the database,
  ``<db>.locks/<stream>.lock``. The kernel drops it when the process dies. SQLite warehouses live
  on one machine (SQLite over a network file system is not supported by SQLite itself), so a
  machine-wide lock is a warehouse-wide lock. ``flock`` belongs to an open file description: two
  threads of one process that open the file separately exclude each other too.
- SQLite in memory: only one process can see it; threads of that process are serialised by an
  in-process lock.

Hand-made rather than ``filelock``: it is thirty lines over ``fcntl``/``msvcrt``, we need the
non-blocking try *and* the blocking wait with one API across both warehouses, and no extra
dependency for the embedded default.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text

_MEMORY_LOCKS: dict[str, threading.Lock] = {}
_MEMORY_GUARD = threading.Lock()


def lock_key(name: str) -> int:
    """A signed 64-bit key for PostgreSQL advisory locks."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


class StreamLocks:
    """``hold(name, wait)`` yields True while this process holds the lock, False if another does."""

    def hold(self, name: str, *, wait: bool = False) -> contextlib.AbstractContextManager[bool]:
        raise NotImplementedError


class PostgresLocks(StreamLocks):
    """Advisory locks are per database: the key names the warehouse's schema too, so two projects
    sharing one database (each in its own schema) never wait for each other."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._namespace: str | None = None

    def namespace(self) -> str:
        if self._namespace is None:
            with self.engine.connect() as conn:
                self._namespace = str(conn.execute(text("SELECT current_schema()")).scalar() or "public")
        return self._namespace

    @contextlib.contextmanager
    def hold(self, name: str, *, wait: bool = False) -> Iterator[bool]:
        key = lock_key(f"concord:{self.namespace()}:stream:{name}")
        with self.engine.connect() as conn:
            fn = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
            got = conn.execute(text(f"SELECT {fn}(:k)"), {"k": key}).scalar()
            conn.commit()
            got = True if wait else bool(got)
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()


class FileLocks(StreamLocks):
    """OS file locks in a folder beside the SQLite database file."""

    POLL_S = 0.05

    def __init__(self, database: Path) -> None:
        self.folder = database.parent / f"{database.name}.locks"

    def _path(self, name: str) -> Path:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80]
        return self.folder / f"{slug}-{hashlib.blake2b(name.encode(), digest_size=4).hexdigest()}.lock"

    @contextlib.contextmanager
    def hold(self, name: str, *, wait: bool = False) -> Iterator[bool]:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path(name), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            got = _try_lock(fd)
            while wait and not got:
                time.sleep(self.POLL_S)
                got = _try_lock(fd)
            try:
                yield got
            finally:
                if got:
                    _unlock(fd)
        finally:
            os.close(fd)


class MemoryLocks(StreamLocks):
    """An in-memory SQLite warehouse is private to this process: threads are all there is to exclude."""

    @contextlib.contextmanager
    def hold(self, name: str, *, wait: bool = False) -> Iterator[bool]:
        with _MEMORY_GUARD:
            lock = _MEMORY_LOCKS.setdefault(name, threading.Lock())
        got = lock.acquire(blocking=wait)
        try:
            yield got
        finally:
            if got:
                lock.release()


def locks_for(engine: Engine) -> StreamLocks:
    if engine.dialect.name == "postgresql":
        return PostgresLocks(engine)
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:" and not database.startswith("file::memory:"):
        return FileLocks(Path(database).resolve())
    return MemoryLocks()


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
