"""A broken configuration gives one clear error with file and line, and no traceback."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from concord.hub.config import load_project
from concord.hub.errors import ConfigError
from tests.conftest import run_cli


def _error(project: Path) -> str:
    proc = run_cli("check", "--offline", cwd=project, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    return proc.stderr


def test_unknown_canonical_field(starter: Path) -> None:
    m = starter / "mappings/erp/account.yaml"
    m.write_text(m.read_text().replace("  payment_terms: PaymentTerms", "  payment_term: PaymentTerms"))
    err = _error(starter)
    assert re.search(r"mappings/erp/account\.yaml:\d+", err), err
    assert "payment_term" in err and "payment_terms" in err  # names the bad field and suggests the right one


def test_bad_yaml_names_the_line(starter: Path) -> None:
    m = starter / "mappings/crm/contact.yaml"
    lines = m.read_text().splitlines()
    lines[3] = "  first_name: [first_name"
    m.write_text("\n".join(lines) + "\n")
    err = _error(starter)
    assert re.search(r"mappings/crm/contact\.yaml:\d+", err) and "invalid YAML" in err, err


def test_wrong_type_names_file_line_and_key(starter: Path) -> None:
    cfg = starter / "concord.yaml"
    cfg.write_text(cfg.read_text().replace("version: 1", "version: 1\nbatch_size: lots"))
    err = _error(starter)
    assert "concord.yaml:4" in err and "batch_size" in err, err


def test_literal_secret_is_refused(starter: Path) -> None:
    cfg = starter / "concord.yaml"
    text = cfg.read_text().replace("\nentities:\n", "\ndashboard:\n  token: hunter2-literal\nentities:\n", 1)
    cfg.write_text(text)
    err = _error(starter)
    assert "literal secret" in err and "dashboard.token" in err and re.search(r"concord\.yaml:\d+", err), err
    assert "hunter2" not in err


def test_env_reference_is_expanded_and_a_missing_one_named(starter: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = starter / "concord.yaml"
    cfg.write_text(cfg.read_text().replace("\nentities:\n", "\ndashboard:\n  token: ${CONCORD_TEST_TOKEN}\nentities:\n", 1))
    monkeypatch.delenv("CONCORD_TEST_TOKEN", raising=False)
    with pytest.raises(ConfigError) as exc:
        load_project(cfg)
    assert "CONCORD_TEST_TOKEN is not set" in str(exc.value) and exc.value.line
    monkeypatch.setenv("CONCORD_TEST_TOKEN", "s3cret-value")
    project = load_project(cfg)
    assert project.config.dashboard.token == "s3cret-value"


def test_unknown_connector_lists_the_known_ones(starter: Path) -> None:
    cfg = starter / "concord.yaml"
    cfg.write_text(cfg.read_text().replace("connector: files\n    role: erp", "connector: nosuch\n    role: erp"))
    err = _error(starter)
    assert "unknown connector 'nosuch'" in err and "files" in err


def test_unknown_system_in_sync_rule(starter: Path) -> None:
    cfg = starter / "concord.yaml"
    cfg.write_text(cfg.read_text().replace("- {target: crm, mode: upsert}", "- {target: crmm, mode: upsert}", 1))
    err = _error(starter)
    assert "crmm" in err and re.search(r"concord\.yaml:\d+", err)


def test_check_against_system_metadata(starter: Path) -> None:
    m = starter / "mappings/crm/account.yaml"
    m.write_text(m.read_text().replace("  owner: owner", "  owner: account_owner"))
    proc = run_cli("check", cwd=starter, check=False)
    assert proc.returncode == 2
    assert "account_owner" in proc.stderr and "mappings/crm/account.yaml" in proc.stderr
    m.write_text(m.read_text().replace("  owner: account_owner", "  owner: owner"))
    ok = run_cli("check", cwd=starter)
    assert "checked against system metadata" in ok.stdout


def test_sync_with_broken_config_exits_2_without_traceback(starter: Path) -> None:
    m = starter / "mappings/erp/account.yaml"
    m.write_text(m.read_text() + "  nosuchfield: X\n")
    proc = run_cli("sync", cwd=starter, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "nosuchfield" in proc.stderr
