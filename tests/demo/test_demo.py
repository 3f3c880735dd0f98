"""`concord demo` on a small world: every sandbox, two cycles, a summary, a ready warehouse."""
from __future__ import annotations

import json
from pathlib import Path

from concord.hub.demo.profiles import PROFILES
from concord.hub.demo.runner import parse_size
from tests.conftest import run_cli


def test_demo_runs_two_cycles_and_leaves_a_ready_project(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    proc = run_cli("demo", "--size", "small", "--json", "--folder", str(folder), cwd=tmp_path)
    s = json.loads(proc.stdout)
    # every vendor connector whose sandbox and mapping work took part; anything left out says why
    left_out = {n.split(" ")[0] for n in s["notes"] if " left out: " in n}
    assert set(s["systems"]) | left_out >= set(PROFILES), s["notes"]
    assert len(s["systems"]) >= 2
    full, incremental = s["cycles"]
    assert full["status"] in ("success", "partial") and incremental["status"] in ("success", "partial"), s["cycles"]
    assert full["linked"] > 0 and full["written"] > 0 and full["new_golden"] > 0
    assert incremental["read"] < full["read"]                     # incremental, not a second full load
    assert s["golden_records"]["account"] > 0 and s["links"] > s["golden_records"]["account"]
    assert s["golden_in_several_systems"] > 0
    assert all(s["api_calls"][n] > 0 for n in s["systems"])
    for name, recs in s["records_per_system"].items():
        assert recs.get("account", 0) > 0, name
    assert {e["system"] for e in s["edits"]} >= set(s["systems"]) & {"salesforce", "oracle_fusion"}
    assert incremental["written"] > 0                             # the edits travelled to the other systems
    # the project is ready for the dashboard, and no secret is in it
    cfg = (folder / "concord.yaml").read_text(encoding="utf-8")
    assert "concord dashboard -c " in s["next"] and s["next"].startswith(". ") and (folder / "concord.db").exists()
    for name in s["systems"]:
        assert (folder / "mappings" / name / "account.yaml").exists()
    assert "${" in cfg
    for line in cfg.splitlines():
        if any(k in line for k in ("password:", "secret:", "refresh_token:", "permanent_code:")):
            assert "${" in line, line
    # after the demo, the warehouse answers `concord status` with the sandbox credentials file
    env_file = Path(s["env_file"])
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    env = dict(line[len("export "):].split("=", 1) for line in env_file.read_text().splitlines()
               if line.startswith("export "))
    assert len(env.get("CONCORD_DASHBOARD_TOKEN", "").strip("'")) >= 20   # the token the dashboard asks for
    status = json.loads(run_cli("status", "-c", str(folder / "concord.yaml"), "--json", env=env).stdout)
    assert status["golden"]["account"] == s["golden_records"]["account"]


def test_sizes() -> None:
    assert parse_size("small") == 30 and parse_size("7") == 7
