"""`concord sandbox up` (JSON lines, real servers, clean stop) and the plan's cost report."""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tests.conftest import run_cli


def test_sandbox_up_prints_one_json_line_per_sandbox_and_serves(tmp_path: Path) -> None:
    exe = shutil.which("concord", path=str(Path(sys.executable).parent))
    proc = subprocess.Popen([exe, "sandbox", "up", "zoho_crm", "files", "--seed", "3", "--size", "20"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [json.loads(proc.stdout.readline()) for _ in range(2)]
        assert [line["system"] for line in lines] == ["zoho_crm", "files"]
        zoho = lines[0]
        assert zoho["base_url"].startswith("http://127.0.0.1:") and zoho["credentials"]["client_id"]
        # the sandbox really answers, in the vendor's own error shape
        r = requests.get(zoho["base_url"] + "/crm/v8/Accounts", timeout=10)
        assert r.status_code == 401 and r.json()["code"] == "AUTHENTICATION_FAILURE"
        assert lines[1]["base_url"].startswith("file://")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)          # a loaded machine (the suite runs two workers) stops it slower
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode in (0, -signal.SIGINT, 130)


def test_unknown_sandbox_is_a_clear_error() -> None:
    proc = run_cli("sandbox", "up", "nosuch", check=False)
    assert proc.returncode == 2 and "unknown sandbox 'nosuch'" in proc.stderr and "salesforce" in proc.stderr


def test_plan_reports_write_calls(starter: Path) -> None:
    out = run_cli("plan", cwd=starter).stdout
    assert "write call(s)" in out and "crm.accounts" in out
    data = json.loads(run_cli("plan", "--json", cwd=starter).stdout)
    assert data["write_calls_planned"]["crm"]["accounts"]["calls"] == 1  # one file rewrite for all creates


def test_rematch_after_tuning_rules_on_an_initial_load(starter: Path) -> None:
    import yaml

    cfg_path = starter / "concord.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    tuned = cfg["entities"]["account"]["match"]
    cfg["entities"]["account"]["match"] = [{"name": "erp_number", "fields": ["erp_customer_number"]}]
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    first = json.loads(run_cli("sync", "--no-push", "--json", cwd=starter).stdout)
    assert first["golden_records"]["account"] == 8          # Bluepeak (no ERP number in the CRM) is not linked
    assert sum(v["written"] for s in first["streams"].values() for v in s.values()) == 0
    cfg["entities"]["account"]["match"] = tuned
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = json.loads(run_cli("rematch", "--entity", "account", "--json", cwd=starter).stdout)
    assert out["mapped"] == 10
    assert json.loads(run_cli("status", "--json", cwd=starter).stdout)["golden"]["account"] == 7
    run_cli("sync", cwd=starter)
    refused = run_cli("rematch", "--entity", "account", cwd=starter, check=False)
    assert refused.returncode == 2 and "already made" in refused.stderr
