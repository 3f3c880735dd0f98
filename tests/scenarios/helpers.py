"""Shared by the scenario tests: the project's systems read and written as a user would, and the CLI's JSON."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from concord.hub.config import load_project
from concord.hub.contracts import Change, entity_by_name, source_id_of
from concord.hub.engine.context import RunContext
from concord.hub.errors import HubError
from concord.hub.http import HttpToolkit
from concord.hub.mapping import load_mapping

from tests import ROOT
from tests.conftest import run_cli


ERPS = ("sap_odata", "oracle_fusion", "soap_erp")
CRMS = ("salesforce", "zoho_crm", "fxiaoke")
#: every ERP x CRM pair, for ``pytest.fixture(params=PAIRS, ids=pair_id)``
PAIRS = [(e, c) for e in ERPS for c in CRMS]


def pair_id(pair: tuple[str, str]) -> str:
    return f"{pair[0]}-{pair[1]}"


def init_pair(tmp_path: Path, scenario: str, erp: str, crm: str) -> tuple[Path, dict[str, Any]]:
    """`concord init --scenario S --erp E --crm C --sandbox`: the project folder and init's JSON answer."""
    folder = tmp_path / f"{erp}-{crm}"
    out = json.loads(run_cli("init", "--scenario", scenario, "--erp", erp, "--crm", crm, "--sandbox",
                             str(folder), "--json", cwd=tmp_path).stdout)
    return folder, out


def cli(folder: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    proc = run_cli(*args, "--json", cwd=folder, env=env, check=False)
    assert proc.returncode in (0, 1) and proc.stdout.strip(), proc.stderr       # 1: partial (see assert_synced)
    return json.loads(proc.stdout)


class Systems:
    """The project's connectors and mappings, to read the vendors as they are and play the sales rep."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.project = load_project(folder / "concord.yaml", environ=env)
        self.ctx = RunContext(self.project, None, HttpToolkit())

    def mapping(self, entity: str, system: str) -> Any:
        """The project's mapping, or the shipped one for an entity the project does not sync (products)."""
        ent = self.project.config.entities.get(entity)
        if ent is not None and system in ent.sources:
            return self.project.mapping(entity, system)
        return load_mapping(ROOT / "mappings" / system / f"{entity}.yaml")

    def canonical(self, entity: str, system: str) -> list[tuple[dict[str, Any], Any]]:
        m, out = self.mapping(entity, system), []
        for r in (dict(r) for p in self.ctx.connector(system).read(m.source) for r in p.records):
            try:
                out.append((r, m.to_canonical(r)))
            except HubError:           # quarantined by the engine too
                continue
        return out

    def create(self, system: str, entity: str, fields: dict[str, Any]) -> str:
        src = self.mapping(entity, system).source
        [res] = self.ctx.connector(system).write(src, [Change(op="create", entity=src, fields=fields,
                                                              idempotency_key=f"rep-{entity}")])
        assert res.ok, res.error
        return str(res.target_id)

    def key_of(self, system: str, entity: str, raw: dict[str, Any]) -> str:
        """The source id of a raw record (what an update names)."""
        spec = entity_by_name(self.ctx.connector(system), self.mapping(entity, system).source)
        return source_id_of(spec, raw)

    def update(self, system: str, entity: str, key: str, fields: dict[str, Any]) -> None:
        src = self.mapping(entity, system).source
        [res] = self.ctx.connector(system).write(src, [Change(op="update", entity=src, key=key, fields=fields,
                                                              idempotency_key=f"user-{entity}-{key}")])
        assert res.ok, res.error

    def close(self) -> None:
        self.ctx.close()


def dead_letters(folder: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """`concord deadletter list`: the writes a vendor refused for good, with its reason."""
    return cli(folder, env, "deadletter", "list")["items"]


def assert_synced(summary: dict[str, Any]) -> None:
    """Success, or partial only because writes are blocked with a reason: an invoice of an account the CRM does
    not hold (Fxiaoke accounts are never created by Concord) waits for that account, reported, not failed."""
    errors = [e for per in summary["streams"].values() for d in per.values() for e in d.get("errors") or ()]
    assert summary["status"] == "success" or (summary["status"] == "partial" and errors
                                               and all("blocked" in e for e in errors)), summary


def written(summary: dict[str, Any]) -> int:
    return sum(d.get("written", 0) for per in summary["streams"].values() for d in per.values())
