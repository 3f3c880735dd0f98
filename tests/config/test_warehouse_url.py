"""A password in the warehouse URL is a secret like any other: a literal one is refused (in concord.yaml,
--warehouse and CONCORD_DATABASE_URL), an ${ENV} reference is expanded, and no error shows the URL's password."""
from __future__ import annotations

from pathlib import Path

import pytest

from concord.hub.config import load_project
from concord.hub.config.dburl import check_override, literal_password_problem, resolve_warehouse_url, shown
from concord.hub.errors import ConfigError
from concord.hub.http.redact import redact
from tests.conftest import run_cli

SECRET = "Hunter2-not-for-eyes"


@pytest.mark.parametrize("url", [
    f"postgresql+psycopg://u:{SECRET}@db.example/concord",
    f"postgresql://u:{SECRET}@db.example:5432/concord?sslmode=require",
    f"postgresql+psycopg://u@db.example/concord?password={SECRET}",
    f"postgresql+psycopg://u:pre${{PGPASSWORD}}{SECRET}@db.example/concord",
    f"mysql+pymysql://u:{SECRET}@db.example/concord",
])
def test_literal_password_is_refused(url: str) -> None:
    problem = literal_password_problem(url)
    assert problem and "${" in problem and SECRET not in problem
    with pytest.raises(ConfigError) as exc:
        check_override(url)
    assert SECRET not in str(exc.value) and "--warehouse" in str(exc.value)


@pytest.mark.parametrize("url", [
    "sqlite:///concord.db", "sqlite:////abs/concord.db", "sqlite://", "postgresql+psycopg://u@db.example/concord",
    "postgresql+psycopg://u:${PGPASSWORD}@db.example/concord", "postgresql+psycopg://u:@db.example/concord",
    "postgresql+psycopg://u@db.example/concord?password=${PGPASSWORD}&sslmode=require",
    "postgresql+psycopg://u@/concord?host=/run/postgresql", "not a url at all",
])
def test_urls_without_a_literal_password_pass(url: str) -> None:
    assert literal_password_problem(url) is None


def _with_warehouse(starter: Path, url: str) -> Path:
    cfg = starter / "concord.yaml"
    lines = [f"warehouse: '{url}'" if ln.startswith("warehouse:") else ln for ln in cfg.read_text().splitlines()]
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


def test_concord_yaml_literal_password_names_file_line_and_key(starter: Path) -> None:
    cfg = _with_warehouse(starter, f"postgresql+psycopg://u:{SECRET}@db.example/concord")
    with pytest.raises(ConfigError) as exc:
        load_project(cfg, check_connectors=False)
    err = exc.value
    assert err.file == str(cfg) and err.line and err.key == "warehouse", err
    assert "literal password" in str(err) and "${PGPASSWORD}" in str(err) and SECRET not in str(err)


def test_concord_yaml_env_reference_is_expanded_quoted_and_redacted(starter: Path) -> None:
    cfg = _with_warehouse(starter, "postgresql+psycopg://u:${CONCORD_TEST_PGPW}@db.example/concord")
    with pytest.raises(ConfigError, match="CONCORD_TEST_PGPW is not set"):
        load_project(cfg, check_connectors=False, environ={})
    project = load_project(cfg, check_connectors=False, environ={"CONCORD_TEST_PGPW": "p@ss/w0rd-xyz"})
    assert project.config.warehouse == "postgresql+psycopg://u:p%40ss%2Fw0rd-xyz@db.example/concord"
    assert "p@ss/w0rd-xyz" not in redact("connecting with p@ss/w0rd-xyz")


def test_override_is_checked_expanded_and_never_echoed(tmp_path: Path) -> None:
    env = {"PW": "s3cret-from-env"}
    url = resolve_warehouse_url(str(tmp_path), "sqlite:///concord.db", "postgresql+psycopg://u:${PW}@h/db", env)
    assert url == "postgresql+psycopg://u:s3cret-from-env@h/db"
    assert shown(url) == "postgresql+psycopg://u:***@h/db"
    env_url = resolve_warehouse_url(str(tmp_path), "sqlite:///concord.db", None,
                                    {"CONCORD_DATABASE_URL": "postgresql+psycopg://u@h/db"})
    assert env_url == "postgresql+psycopg://u@h/db"
    with pytest.raises(ConfigError, match="literal password"):     # on the command line: refused
        resolve_warehouse_url(str(tmp_path), "sqlite:///x.db", f"postgresql+psycopg://u:{SECRET}@h/db", {})
    # in the environment (where a deployment keeps secrets): allowed, and never shown
    from_env = resolve_warehouse_url(str(tmp_path), "sqlite:///x.db", None,
                                     {"CONCORD_DATABASE_URL": f"postgresql+psycopg://u:{SECRET}@h/db"})
    assert from_env == f"postgresql+psycopg://u:{SECRET}@h/db" and SECRET not in redact(f"using {from_env}")
    with pytest.raises(ConfigError, match="NOPE"):
        resolve_warehouse_url(str(tmp_path), "sqlite:///x.db", "postgresql+psycopg://u:${NOPE}@h/db", {})
    for bad in ("postgresql+psycopg://u:${PW}@h:notaport/db", "garbage"):
        with pytest.raises(ConfigError, match="warehouse URL is invalid") as exc:
            resolve_warehouse_url(str(tmp_path), "sqlite:///x.db", bad, env)
        assert "s3cret" not in str(exc.value)
    assert resolve_warehouse_url(str(tmp_path), "sqlite:///concord.db", None, {}) == f"sqlite:///{tmp_path}/concord.db"


def test_cli_refuses_a_literal_password_without_echo_or_traceback(starter: Path) -> None:
    proc = run_cli("status", "--warehouse", f"postgresql+psycopg://u:{SECRET}@127.0.0.1:1/db", cwd=starter,
                   check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "literal password" in out and SECRET not in out and "Traceback" not in out, out
    # from the environment the password is used (this server is unreachable) and never shown
    proc = run_cli("quarantine", "list", cwd=starter, check=False,
                   env={"CONCORD_DATABASE_URL": f"postgresql+psycopg://u:{SECRET}@127.0.0.1:1/db"})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2 and "warehouse" in out and SECRET not in out and "Traceback" not in out, out


def test_cli_unreachable_warehouse_is_one_line(starter: Path) -> None:
    for url in ("postgresql+psycopg://u:${CONCORD_TEST_PW}@127.0.0.1:1/db",
                "postgresql+psycopg://u@127.0.0.1:1/db?password=${CONCORD_TEST_PW}&connect_timeout=2"):
        proc = run_cli("status", "--warehouse", url, cwd=starter, env={"CONCORD_TEST_PW": SECRET}, check=False)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 2, out
        assert "warehouse" in out and SECRET not in out and "Traceback" not in out, out
