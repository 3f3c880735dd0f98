"""A warehouse filled by a real sync of the starter project, plus a few rows inserted directly for the
queues that a two-files sync does not produce (a conflict, a quarantined record with secrets in its
payload, a dead letter, a review pair, an order and an invoice of an account)."""
from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from concord.hub.config import load_project
from concord.hub.dashboard import Tokens, create_app
from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T
from tests.engine.helpers import cycle

OP_TOKEN = "op-token-0123456789abcdef"
READ_TOKEN = "read-token-0123456789abcdef"
SECRET = "s3cr3t-Pa55word-never-shown"      # planted in payloads and errors; no page may show it
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)


@dataclass
class Filled:
    project: Any
    warehouse: Warehouse
    ids: dict[str, Any]


def _fill(wh: Warehouse) -> dict[str, Any]:
    g, x = T.golden.c, T.xref.c
    now = dt.datetime.now(dt.timezone.utc)
    with wh.tx() as conn:
        nordwind = conn.execute(select(g.golden_id).where(g.entity == "account", g.title == "Nordwind Logistik GmbH")).scalar_one()
        bluepeak = conn.execute(select(g.golden_id).where(g.entity == "account", g.title == "Bluepeak Software AG")).scalar_one()
        crm_id = conn.execute(select(x.source_id).where(x.entity == "account", x.golden_id == nordwind,
                                                        x.system == "crm")).scalar_one()
        conflict_id = conn.execute(T.conflict.insert().values(
            entity="account", golden_id=nordwind, field="phone", systems=["erp", "crm"], base="+49401234567",
            left="+49401234500", right="+49401234599", status="open", created_at=now)).inserted_primary_key[0]
        conflict2 = conn.execute(T.conflict.insert().values(
            entity="account", golden_id=bluepeak, field="credit_limit", systems=["erp", "crm"], base="100000",
            left="120000", right="125000", status="open", created_at=now)).inserted_primary_key[0]
        q_id = conn.execute(T.quarantine.insert().values(
            run_id=1, system="crm", entity="account", source_id="acc-bad-1", stage="map",
            reason="name: field required (crm accounts acc-bad-1)",
            error={"kind": "record", "code": "RecordError", "message": "name: field required"},
            payload={"id": "acc-bad-1", "name": None, "api_key": SECRET, "nested": {"password": SECRET},
                     "note": f"Authorization: Bearer {SECRET}"},
            status="open", created_at=now)).inserted_primary_key[0]
        q2 = conn.execute(T.quarantine.insert().values(
            run_id=1, system="erp", entity="contact", source_id="P-bad-2", stage="map", reason="email: not an e-mail",
            error={"message": "email: not an e-mail"}, payload={"ContactNo": "P-bad-2", "Email": "nope"},
            status="open", created_at=now)).inserted_primary_key[0]
        dead_id = conn.execute(T.outbox.insert().values(
            run_id=1, entity="account", system="crm", target_entity="accounts", golden_id=bluepeak, op="update",
            target_id="acc-2", fields={"credit_limit": "120000"}, canonical={"credit_limit": "120000"},
            idempotency_key="dash-test-dead-1", status="dead", attempts=5,
            last_error={"kind": "record", "message": f"FIELD_INTEGRITY_EXCEPTION token={SECRET}"},
            created_at=now, updated_at=now)).inserted_primary_key[0]
        # a candidate golden record without a crm record, so the crm record of Nordwind may be linked into it
        conn.execute(T.golden.insert().values(entity="account", golden_id="cand-nordwind", title="Nordwind Logistik",
                                              data={"name": "Nordwind Logistik", "billing_address.city": "Hamburg"},
                                              data_hash="x", version=1, deleted=False, created_at=now, updated_at=now))
        review_id = conn.execute(T.match_decision.insert().values(
            run_id=1, entity="account", system="crm", source_id=crm_id, golden_id="cand-nordwind", decision="review",
            rule="fuzzy:name+city", score=0.82, evidence={"name": {"score": 0.78}, "city": {"score": 1.0}},
            decided_at=now)).inserted_primary_key[0]
        so, inv = T.CANONICAL["sales_order"], T.CANONICAL["invoice"]
        conn.execute(so.insert().values(golden_id="so-1", order_number="SO-4711", account_ref=nordwind,
                                        order_date=dt.date(2026, 11, 1), status="open", net_amount=1200,
                                        currency="EUR", _version=1, _updated_at=now))
        conn.execute(inv.insert(), [
            {"golden_id": "inv-1", "invoice_number": "INV-9001", "account_ref": nordwind, "invoice_date": dt.date(2026, 11, 2),
             "amount": 1428, "open_amount": 1428, "status": "open", "currency": "EUR", "_version": 1, "_updated_at": now},
            {"golden_id": "inv-2", "invoice_number": "INV-9002", "account_ref": nordwind, "invoice_date": dt.date(2026, 10, 2),
             "amount": 500, "open_amount": 72, "status": "partially_paid", "currency": "EUR", "_version": 1, "_updated_at": now}])
    return {"nordwind": nordwind, "bluepeak": bluepeak, "crm_id": crm_id, "conflict": conflict_id,
            "conflict2": conflict2, "quarantine": q_id, "quarantine2": q2, "dead": dead_id, "review": review_id}


@pytest.fixture
def filled(starter: Path, database_url: str) -> Iterator[Filled]:
    cycle(starter, database_url)
    project = load_project(starter / "concord.yaml")
    wh = Warehouse.open(database_url)
    try:
        yield Filled(project, wh, _fill(wh))
    finally:
        wh.dispose()


@pytest.fixture
def app(filled: Filled) -> Any:
    return create_app(filled.project, filled.warehouse, tokens=Tokens(OP_TOKEN, READ_TOKEN), refresh_seconds=0)


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def op_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {OP_TOKEN}", "Accept": "text/html"}


def read_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {READ_TOKEN}", "Accept": "text/html"}


ARTIFACTS = Path(os.environ.get("CONCORD_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")) / "dashboard"
SCREENSHOTS = ARTIFACTS.parent / "screenshots"
CHROMIUM = os.environ.get("CONCORD_CHROMIUM", "/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(app: Any) -> Iterator[str]:
    import uvicorn

    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    for _ in range(500):
        if srv.started:
            break
        time.sleep(0.02)
    assert srv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        th.join(10)


@pytest.fixture
def browser() -> Iterator[Any]:
    pw = pytest.importorskip("playwright.sync_api")
    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            yield b
        finally:
            b.close()
