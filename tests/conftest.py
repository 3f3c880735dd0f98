"""Shared fixtures: a real warehouse per test (SQLite file, or a fresh PostgreSQL schema).

``CONCORD_TEST_DATABASE_URL`` selects the engine: ``sqlite`` (default) or a PostgreSQL URL such as
``postgresql+psycopg://postgres@127.0.0.1:5432/test``. With PostgreSQL each test gets its own
schema, dropped afterwards. An unreachable PostgreSQL fails the tests: it never silently skips.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

DB_URL = os.environ.get("CONCORD_TEST_DATABASE_URL", "sqlite")


def pytest_report_header(config: pytest.Config) -> str:
    return f"concord warehouse under test: {DB_URL}"


def pytest_configure(config: pytest.Config) -> None:
    """A run started as a background job of a shell without job control (``make test &`` in a script) has
    SIGINT ignored, and would pass that on to every process it starts: the CLI processes that tests stop
    with SIGINT (``concord sandbox up``, ``concord serve``) would never stop. A handler, unlike an ignored
    signal, is reset to the default when a child starts, so the children get their own SIGINT handling."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def pg_admin_url() -> str | None:
    if DB_URL.startswith("postgres"):
        from sqlalchemy import create_engine, text

        eng = create_engine(DB_URL)
        try:
            with eng.connect() as c:
                c.execute(text("select 1"))
        except Exception as exc:
            pytest.fail(f"CONCORD_TEST_DATABASE_URL={DB_URL} is unreachable: {exc}")
        finally:
            eng.dispose()
        return DB_URL
    return None


@pytest.fixture
def database_url(tmp_path: Path, pg_admin_url: str | None) -> Iterator[str]:
    """A fresh, empty warehouse URL for one test."""
    if pg_admin_url is None:
        yield f"sqlite:///{tmp_path / 'warehouse.db'}"
        return
    from sqlalchemy import create_engine, text

    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(pg_admin_url)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_admin_url else "?"
    try:
        yield f"{pg_admin_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def warehouse(database_url: str):  # type: ignore[no-untyped-def]
    from concord.hub.warehouse import Warehouse

    wh = Warehouse.open(database_url)
    yield wh
    wh.dispose()


@pytest.fixture
def starter(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `concord init` project in a temp folder, its warehouse pointed at the test database."""
    folder = tmp_path / "project"
    run_cli("init", str(folder))
    monkeypatch.setenv("CONCORD_DATABASE_URL", database_url)
    return folder


def run_cli(*args: str, cwd: str | Path | None = None, env: dict[str, str] | None = None,
            check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real `concord` command in a subprocess."""
    exe = shutil.which("concord", path=str(Path(sys.executable).parent)) or "concord"
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([exe, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode not in (0,):
        raise AssertionError(f"concord {' '.join(args)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc
