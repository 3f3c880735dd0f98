"""Retry, discard or resolve of an id that is unknown (or no longer open) prints one line and exits 2,
changing nothing; known ids still work."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from concord.hub.cli.app import app
from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T
from tests.conftest import run_cli

HUGE = "99999999999999999999"


@pytest.fixture
def project(starter: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    run_cli("sync", cwd=starter)
    now = dt.datetime.now(dt.timezone.utc)
    wh = Warehouse.open(database_url, migrate=False)
    try:
        with wh.tx() as conn:
            q = conn.execute(T.quarantine.insert().values(
                run_id=1, system="crm", entity="account", source_id="acc-x", stage="map", reason="bad",
                error={"message": "bad"}, payload={"id": "acc-x"}, status="open", created_at=now)).inserted_primary_key[0]
            d = conn.execute(T.outbox.insert().values(
                run_id=1, entity="account", system="crm", target_entity="accounts", golden_id="g-x", op="update",
                target_id="acc-x", fields={"name": "x"}, canonical={"name": "x"}, idempotency_key="cli-unknown-ids",
                status="dead", attempts=5, last_error={"message": "nope"}, created_at=now,
                updated_at=now)).inserted_primary_key[0]
            c = conn.execute(T.conflict.insert().values(
                entity="account", golden_id="g-x", field="phone", systems=["erp", "crm"], base="1", left="2",
                right="3", status="open", created_at=now)).inserted_primary_key[0]
    finally:
        wh.dispose()
    monkeypatch.chdir(starter)
    return {"quarantine": q, "dead": d, "conflict": c, "url": database_url}


def _cli(*args: str):
    return CliRunner().invoke(app, list(args))


def _status(url: str, table, item_id: int) -> str:
    wh = Warehouse.open(url, migrate=False)
    try:
        with wh.tx() as conn:
            return conn.execute(select(table.c.status).where(table.c.id == item_id)).scalar_one()
    finally:
        wh.dispose()


def test_unknown_ids_exit_2_with_one_line_and_change_nothing(project: dict) -> None:
    q, d, c = project["quarantine"], project["dead"], project["conflict"]
    for args in (["quarantine", "retry", "424242"], ["quarantine", "retry", str(q), "424242"],
                 ["quarantine", "retry", HUGE], ["quarantine", "discard", "424242"],
                 ["quarantine", "retry", str(q), "--system", "erp"],
                 ["deadletter", "retry", "424242"], ["deadletter", "retry", str(d), HUGE],
                 ["deadletter", "discard", "424242"], ["deadletter", "retry"],
                 ["conflicts", "resolve", "424242", "--take", "left"], ["conflicts", "resolve", HUGE, "--take", "left"]):
        res = _cli(*args)
        assert res.exit_code == 2, (args, res.output)
        assert "Traceback" not in res.output and res.exception is None or isinstance(res.exception, SystemExit), args
        lines = [ln for ln in res.output.splitlines() if ln.strip()]
        assert len(lines) == 1, (args, res.output)
        if args[-1] != "retry":
            assert "no open" in lines[0] and ("424242" in lines[0] or HUGE in lines[0]
                                              or str(q) in lines[0]), (args, lines)
    assert _status(project["url"], T.quarantine, q) == "open"
    assert _status(project["url"], T.outbox, d) == "dead"
    assert _status(project["url"], T.conflict, c) == "open"


def test_known_ids_still_work_and_a_second_time_is_an_error(project: dict) -> None:
    q, d, c = project["quarantine"], project["dead"], project["conflict"]
    for args in (["quarantine", "retry", str(q)], ["deadletter", "discard", str(d)],
                 ["conflicts", "resolve", str(c), "--take", "right"]):
        res = _cli(*args)
        assert res.exit_code == 0, (args, res.output)
        again = _cli(*args)
        assert again.exit_code == 2 and "no open" in again.output, (args, again.output)
    assert _cli("quarantine", "retry", "--all").exit_code == 0     # nothing open: fine, says 0
