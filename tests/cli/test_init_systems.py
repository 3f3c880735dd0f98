"""`concord init --erp X --crm Y [--sandbox]`, `concord add system`, `concord sandbox up --project`,
`concord check` naming a missing external-id field, and `concord doctor`."""
from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.cli.helpers import _exe, sandbox_up
from tests.conftest import run_cli

SECRET_KEYS = ("password", "secret", "token", "permanent_code", "private_key")


@pytest.fixture
def sandboxed(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A project from `init --erp sap_odata --crm salesforce --sandbox`, its sandboxes running."""
    folder = tmp_path / "proj"
    run_cli("init", "--erp", "sap_odata", "--crm", "salesforce", "--sandbox", str(folder), cwd=tmp_path)
    with sandbox_up(folder) as (lines, env):
        assert {line["system"] for line in lines} == {"sap_odata", "salesforce"}
        assert oct((folder / "sandbox.env").stat().st_mode & 0o777) == "0o600"
        yield folder, {**env, "CONCORD_DATABASE_URL": ""}


def _no_db_override(env: dict[str, str]) -> dict[str, str]:
    full = {**os.environ, **env}
    full.pop("CONCORD_DATABASE_URL", None)
    return full


def _run(*args: str, cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([_exe(), *args], check=False, cwd=cwd, env=_no_db_override(env), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode in ok, f"concord {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_init_sandbox_check_sync_doctor(sandboxed: tuple[Path, dict[str, str]]) -> None:
    folder, env = sandboxed
    cfg = (folder / "concord.yaml").read_text(encoding="utf-8")
    assert "127.0.0.1" not in cfg and "${CONCORD_SANDBOX_SALESFORCE_URL}" in cfg
    assert (folder / "mappings" / "salesforce" / "account.yaml").is_file()
    assert "ok:" in _run("check", cwd=folder, env=env).stdout
    summary = json.loads(_run("sync", "--json", cwd=folder, env=env).stdout)
    assert summary["schema_version"] == 1 and summary["status"] == "success", summary
    assert summary["process"]["linked"] > 0 and summary["golden_records"]["account"] > 0
    assert summary["streams"]["salesforce"]["account"]["written"] > 0, summary
    doc = json.loads(_run("doctor", "--json", cwd=folder, env=env).stdout)
    assert doc["status"] == "ok" and set(doc["systems"]) == {"sap_odata", "salesforce"}
    checks = {c["check"] for c in doc["systems"]["salesforce"]["checks"]}
    assert checks == {"config", "connectivity", "credentials", "metadata", "permissions", "mappings"}
    # a wrong secret: doctor says which system's credentials fail, exit 2, and skips what depends on them
    bad = json.loads(_run("doctor", "--json", cwd=folder, env={**env, "SF_CLIENT_SECRET": "wrong"}, ok=(2,)).stdout)
    sf = {c["check"]: c for c in bad["systems"]["salesforce"]["checks"]}
    assert sf["credentials"]["status"] == "failed" and sf["mappings"]["status"] == "skipped"
    assert bad["systems"]["sap_odata"]["status"] == "ok"
    # an external-id field the org does not have: check names it exactly
    doc_yaml = yaml.safe_load(cfg)
    doc_yaml["systems"]["salesforce"]["config"]["external_id_field"] = "Missing_Id__c"
    (folder / "concord.yaml").write_text(yaml.safe_dump(doc_yaml), encoding="utf-8")
    proc = _run("check", cwd=folder, env=env, ok=(2,))
    assert "Missing_Id__c" in proc.stderr and "Account" in proc.stderr and "external-id" in proc.stderr
    checked = json.loads(_run("check", "--json", cwd=folder, env=env, ok=(2,)).stdout)
    assert any(p["code"] == "external_id_missing" for p in checked["problems"])


def test_init_for_real_systems_writes_env_refs_and_todo(tmp_path: Path) -> None:
    folder = tmp_path / "real"
    out = json.loads(run_cli("init", "--erp", "sap_odata", "--crm", "salesforce", str(folder), "--json").stdout)
    assert out["schema_version"] == 1 and out["entities"] == ["account"]
    doc = yaml.safe_load((folder / "concord.yaml").read_text(encoding="utf-8"))
    for name, s in doc["systems"].items():
        for key, value in s["config"].items():
            if any(k in key for k in SECRET_KEYS) or key in ("user", "client_id"):
                assert isinstance(value, str) and value.startswith("${"), (name, key, value)
    todo = (folder / "TODO.md").read_text(encoding="utf-8")
    assert "Concord_Id__c" in todo and "VAT_Id__c" in todo and "SF_CLIENT_SECRET" in todo and "SAP_PASSWORD" in todo
    sf = next(t for t in out["todo"] if t["system"] == "salesforce")
    assert any("external-id field Concord_Id__c on Account" in s for s in sf["steps"])
    env = {"SF_CLIENT_ID": "x", "SF_CLIENT_SECRET": "y", "SAP_USER": "u", "SAP_PASSWORD": "p"}
    assert run_cli("check", "--offline", cwd=folder, env=env).returncode == 0
    # without the variables: one line per missing one, exit 2, no traceback
    proc = subprocess.run([_exe(), "check", "--offline"], check=False, cwd=folder, capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if not k.startswith(("SF_", "SAP_"))})
    assert proc.returncode == 2 and "SF_CLIENT_SECRET" in proc.stderr and "Traceback" not in proc.stderr
    # an existing project is not overwritten
    again = run_cli("init", "--erp", "sap_odata", "--crm", "salesforce", str(folder), check=False)
    assert again.returncode == 2 and "--force" in again.stderr


def test_add_system_and_bad_names(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    run_cli("init", "--erp", "oracle_fusion", "--crm", "salesforce", str(folder))
    out = json.loads(run_cli("add", "system", "zoho", "--connector", "zoho_crm", "--json", cwd=folder).stdout)
    assert out["mappings"] == {"account": "mappings/zoho/account.yaml"}
    doc = yaml.safe_load((folder / "concord.yaml").read_text(encoding="utf-8"))
    assert doc["systems"]["zoho"]["config"]["client_secret"] == "${ZOHO_CLIENT_SECRET}"
    assert "zoho" in doc["entities"]["account"]["sources"]
    assert any(r["target"] == "zoho" for r in doc["entities"]["account"]["sync"])
    assert "Concord_ID" in (folder / "TODO.md").read_text(encoding="utf-8")
    env = {"SF_CLIENT_ID": "x", "SF_CLIENT_SECRET": "y", "ORACLE_USER": "u", "ORACLE_PASSWORD": "p",
           "ZOHO_CLIENT_ID": "i", "ZOHO_CLIENT_SECRET": "s", "ZOHO_REFRESH_TOKEN": "r"}
    assert run_cli("check", "--offline", cwd=folder, env=env).returncode == 0
    dup = run_cli("add", "system", "zoho", "--connector", "zoho_crm", cwd=folder, check=False)
    assert dup.returncode == 2 and "already exists" in dup.stderr
    unknown = run_cli("init", "--erp", "nosuch", "--crm", "salesforce", str(tmp_path / "q"), check=False)
    assert unknown.returncode == 2 and "salesforce" in unknown.stderr and "Traceback" not in unknown.stderr
