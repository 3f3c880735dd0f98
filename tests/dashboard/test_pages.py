"""Each page's content and each action's effect in the warehouse (TestClient, real warehouse)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from concord.hub.dashboard.present import mask
from concord.hub.dashboard.svg import sparkline
from concord.hub.warehouse import tables as T
from tests.dashboard.conftest import OP_TOKEN, READ_TOKEN, SECRET, op_headers, read_headers
from tests.engine.helpers import cycle

H = op_headers()


def get(client, path: str) -> str:
    r = client.get(path, headers=H)
    assert r.status_code == 200, f"{path}: {r.status_code} {r.text[:500]}"
    return r.text


def test_overview_has_a_tile_per_system_and_stream(client) -> None:
    html = get(client, "/")
    for stream in ("erp.account", "crm.account", "erp.contact", "crm.contact"):
        assert f'data-stream="{stream}"' in html
    assert 'data-system="erp"' in html and 'data-system="crm"' in html
    assert html.count("<svg") >= 4 * 5 and "records in" in html and "API calls today" in html
    assert "2</b> open conflicts" in html and "1</b> dead letters" in html and "1</b> pairs to review" in html
    assert 'http-equiv="refresh"' in client.get("/?refresh=15", headers=H).text


def test_runs_list_filters_and_run_page(client) -> None:
    html = get(client, "/runs")
    assert 'href="/runs/1"' in html and "success" in html
    assert 'href="/runs/1"' not in get(client, "/runs?status=failed")
    assert 'href="/runs/1"' in get(client, "/runs?system=erp&mode=sync")
    run = get(client, "/runs/1")
    assert "Prefect flow run" in run and "crm" in run and "pull" in run and "push" in run
    assert client.get("/runs/999", headers=H).status_code == 404


def test_record_search_by_name_email_and_source_id(client, filled) -> None:
    nord = filled.ids["nordwind"]
    assert f"/records/account/{nord}" in get(client, "/records?q=nord")          # case-insensitive prefix
    assert f"/records/account/{nord}" not in get(client, "/records?q=blue")
    by_mail = get(client, "/records?q=INFO@nordwind.example")
    assert "e-mail" in by_mail and f"/records/account/{nord}" in by_mail
    by_erp = get(client, "/records?q=C1")
    assert "source id erp:C1" in by_erp and f"/records/account/{nord}" in by_erp
    assert f"source id crm:{filled.ids['crm_id']}" in get(client, f"/records?q={filled.ids['crm_id']}")
    assert "golden id" in get(client, f"/records?q={nord}")
    assert "Nordwind" not in get(client, "/records?q=zzz")
    assert "contact records" in get(client, "/records?entity=contact")
    assert client.get("/records?entity=nope", headers=H).status_code == 404


def test_record_360(client, filled) -> None:
    html = get(client, f"/records/account/{filled.ids['nordwind']}")
    assert "Nordwind Logistik GmbH" in html and "Side by side" in html
    assert "erp" in html and filled.ids["crm_id"] in html and "lineage" in html
    assert "erp:C1" in html                                      # a field's lineage names system and record
    assert "SO-4711" in html and "INV-9001" in html and "1500" in html  # orders, invoices, open amount
    assert "Why these records are linked" in html and "erp_number" in html
    assert "phone" in html and "Writes" in html and "History" in html
    assert client.get("/records/account/unknown", headers=H).status_code == 404


def test_no_secret_on_any_page(client, filled) -> None:
    pages = ["/", "/runs", "/runs/1", "/records", "/conflicts", "/quarantine", "/review",
             f"/records/account/{filled.ids['nordwind']}", f"/records/account/{filled.ids['bluepeak']}"]
    for path in pages:
        assert SECRET not in get(client, path), path
    q = get(client, "/quarantine")
    assert "acc-bad-1" in q and "***" in q and "FIELD_INTEGRITY_EXCEPTION" in q
    for path in pages:
        html = get(client, path)
        assert OP_TOKEN not in html and READ_TOKEN not in html, path


def test_resolve_conflict_by_side_and_by_value(client, filled) -> None:
    ids = filled.ids
    r = client.post(f"/conflicts/{ids['conflict']}/resolve", data={"side": "right"}, headers=H)
    assert r.status_code == 200 and "resolved with the right value" in r.text
    r = client.post(f"/conflicts/{ids['conflict2']}/resolve", data={"side": "value", "value": "123000", "as_json": "1"},
                    headers=H)
    assert r.status_code == 200
    with filled.warehouse.tx() as conn:
        c = T.conflict.c
        rows = {x.id: x for x in conn.execute(select(T.conflict).where(c.id.in_([ids["conflict"], ids["conflict2"]])))}
    assert rows[ids["conflict"]].status == "resolved" and rows[ids["conflict"]].resolved_at is not None
    assert rows[ids["conflict"]].resolution == {"value": "+49401234599", "by": "dashboard:operator", "side": "right"}
    assert rows[ids["conflict2"]].resolution == {"value": 123000, "by": "dashboard:operator", "side": "value"}
    again = client.post(f"/conflicts/{ids['conflict']}/resolve", data={"side": "left"}, headers=H)
    assert again.status_code == 409 and "already resolved" in again.text
    bad = client.post(f"/conflicts/{ids['conflict']}/resolve", data={"side": "value", "value": "{", "as_json": "1"}, headers=H)
    assert "not valid JSON" in bad.text
    assert "No open conflicts" in get(client, "/conflicts")
    assert "+49401234599" in get(client, "/conflicts?status=resolved")


def test_a_resolution_feeds_the_next_cycle(client, filled, starter, database_url) -> None:
    ids = filled.ids
    assert client.post(f"/conflicts/{ids['conflict']}/resolve", data={"side": "value", "value": "+49 40 7777"},
                       headers=H).status_code == 200
    cycle(starter, database_url)
    with filled.warehouse.tx() as conn:
        status = conn.execute(select(T.conflict.c.status).where(T.conflict.c.id == ids["conflict"])).scalar()
        data = conn.execute(select(T.golden.c.data).where(T.golden.c.golden_id == ids["nordwind"])).scalar()
        o = T.outbox.c
        writes = [r.canonical for r in conn.execute(select(o.canonical).where(o.golden_id == ids["nordwind"],
                                                                                o.status == "done"))]
    assert status == "applied" and data["phone"] == "+49 40 7777"
    assert any(w.get("phone") == "+49 40 7777" for w in writes)
    html = get(client, f"/records/account/{ids['nordwind']}")
    assert "manual:conflict:" in html and "applied" in html


def test_quarantine_and_dead_letter_actions(client, filled) -> None:
    ids = filled.ids
    html = get(client, "/quarantine")
    assert f'id="q-{ids["quarantine"]}"' in html and f'id="d-{ids["dead"]}"' in html
    assert "erp" in get(client, "/quarantine?system=erp") and f'id="q-{ids["quarantine"]}"' not in get(client, "/quarantine?system=erp")
    assert "will be processed again" in client.post(f"/quarantine/{ids['quarantine']}/retry", headers=H).text
    assert "discarded" in client.post(f"/quarantine/{ids['quarantine2']}/discard", headers=H).text
    assert "not open any more" in client.post(f"/quarantine/{ids['quarantine2']}/discard", headers=H).text
    assert "queued again" in client.post(f"/deadletters/{ids['dead']}/retry", headers=H).text
    with filled.warehouse.tx() as conn:
        q = {x.id: x.status for x in conn.execute(select(T.quarantine.c.id, T.quarantine.c.status))}
        dead = conn.execute(select(T.outbox).where(T.outbox.c.id == ids["dead"])).first()
    assert q[ids["quarantine"]] == "retried" and q[ids["quarantine2"]] == "discarded"
    assert dead.status == "pending" and dead.attempts == 0
    assert "Nothing in quarantine" in get(client, "/quarantine") and "No dead letters" in get(client, "/quarantine")


def test_match_review_confirm_and_reject(client, filled) -> None:
    rid = filled.ids["review"]
    html = get(client, "/review")
    assert f'id="pair-{rid}"' in html and "0.82" in html and "fuzzy:name+city" in html
    assert "recorded" in client.post(f"/review/{rid}/confirm", headers=H).text
    assert "No pairs waiting" in get(client, "/review")
    assert client.post(f"/review/{rid}/reject", headers=H).status_code == 409   # already decided
    with filled.warehouse.tx() as conn:
        md = T.match_decision.c
        rows = list(conn.execute(select(md.decision, md.golden_id, md.evidence).where(
            md.system == "crm", md.source_id == filled.ids["crm_id"], md.decision.like("manual%"))))
    assert [r.decision for r in rows] == ["manual_link"] and rows[0].golden_id == "cand-nordwind"
    assert rows[0].evidence["review_decision_id"] == rid and rows[0].evidence["by"] == "dashboard:operator"


def test_lists_paginate(client, filled) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    with filled.warehouse.tx() as conn:
        conn.execute(T.golden.insert(), [{"entity": "account", "golden_id": f"p{i:04d}", "data": {"name": f"Paged {i:04d}"},
                                          "data_hash": "x", "version": 1, "deleted": False, "title": f"Paged {i:04d}",
                                          "created_at": now, "updated_at": now} for i in range(120)])
    first = get(client, "/records?q=paged")
    assert "Paged 0000" in first and "Paged 0049" in first and "Paged 0050" not in first and 'rel="next"' in first
    second = get(client, "/records?q=paged&page=2")
    assert "Paged 0050" in second and 'rel="prev"' in second
    assert 'rel="next"' not in get(client, "/records?q=paged&page=3")


def test_read_role_sees_pages(client) -> None:
    assert client.get("/", headers=read_headers()).status_code == 200


def test_mask_and_sparkline() -> None:
    masked = mask({"password": "x", "ApiKey": "y", "nested": [{"client_secret": "z"}], "name": "ok",
                   "note": "Authorization: Bearer abcdef", "token": None})
    assert masked["password"] == masked["ApiKey"] == masked["nested"][0]["client_secret"] == "***"
    assert masked["name"] == "ok" and "abcdef" not in masked["note"] and masked["token"] is None
    svg = sparkline([1, 3, None, 2, 5], label="in")
    assert svg.startswith("<svg") and svg.count("<polyline") == 2 and "last 5" in svg and "max 5" in svg
    assert "no data" in sparkline([], label="x") and "<circle" in sparkline([7], label="one")
    assert "&lt;b&gt;" in sparkline([1, 2], label="<b>")
