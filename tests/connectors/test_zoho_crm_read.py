"""Zoho CRM reads: page_token past 2000, fields <= 50 in column groups, If-Modified-Since, 204, deletes, COQL."""
from __future__ import annotations

import requests
import pytest

from concord.connectors.zoho_crm.sandbox.schema import ACCOUNTS
from concord.hub.contracts import Change, Cursor
from concord.hub.errors import ConfigError, FatalError
from concord.hub.sandbox import Response, SandboxApp, SandboxServer
from tests.connectors.test_zoho_crm_helpers import connector, sandbox


@pytest.fixture(scope="module")
def big():
    sb = sandbox(2400, modules=("Contacts",), shares={"Contacts": 0.5})
    assert sb.count("Contacts") > 2000
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def small():
    sb = sandbox(120)
    yield sb
    sb.stop()


def _token(sb) -> dict[str, str]:
    r = requests.post(sb.extra["accounts_url"] + "/oauth/v2/token", data={"grant_type": "refresh_token", **sb.credentials})
    return {"Authorization": "Zoho-oauthtoken " + r.json()["access_token"]}


def test_page_numbers_stop_at_2000_and_page_token_goes_further(big) -> None:
    h = _token(big)
    r = requests.get(big.base_url + "/crm/v8/Contacts", headers=h, params={"fields": "Last_Name", "page": 11, "per_page": 200})
    assert r.status_code == 400 and r.json()["code"] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
    big.app.reset_stats()
    records = [r for p in connector(big).read("Contacts") for r in p.records]
    assert len(records) == len({r["id"] for r in records}) == big.count("Contacts")
    assert big.app.stats.by_route["get_records"] == -(-big.count("Contacts") // 200)


def test_fields_is_mandatory_and_at_most_50(small) -> None:
    h = _token(small)
    r = requests.get(small.base_url + "/crm/v8/Accounts", headers=h)
    assert r.status_code == 400 and r.json()["code"] == "REQUIRED_PARAM_MISSING"
    names = ",".join(f["api_name"] for f in ACCOUNTS[:51])
    r = requests.get(small.base_url + "/crm/v8/Accounts", headers=h, params={"fields": names})
    assert r.status_code == 400 and r.json()["code"] == "LIMIT_EXCEEDED"


def test_wide_module_is_read_in_column_groups_and_joined(small) -> None:
    c = connector(small)
    spec = next(s for s in c.entities() if s.name == "Accounts")
    assert len(spec.fields) > 50
    small.app.reset_stats()
    records = [r for p in c.read("Accounts") for r in p.records]
    assert len(records) == small.count("Accounts")
    for rec in records[:20]:
        stored = small.record("Accounts", rec["id"])
        for f in spec.fields:
            assert rec.get(f.name) == stored.get(f.name), f.name
    pages = -(-small.count("Accounts") // 200)
    assert small.app.stats.by_route["get_records"] == pages * len(c.reader.groups(c.metadata.readable_fields(spec)))


def test_column_groups_stay_consistent_when_records_change_during_the_read(small) -> None:
    c = connector(small, per_page=20)
    pages = iter(c.read("Accounts"))
    first = next(pages)
    moved = [r["id"] for r in first.records[:3]] + [next(iter(small.state.modules["Accounts"].records))]
    c.write("Accounts", [Change(op="update", entity="Accounts", key=i, fields={"NPS_Score": 9}, idempotency_key=i)
                         for i in moved])
    rest = [r for p in pages for r in p.records]
    ids = [r["id"] for r in first.records] + [r["id"] for r in rest]
    assert set(ids) == set(small.state.modules["Accounts"].records)
    for rec in rest:
        if rec["id"] in moved:
            assert rec["NPS_Score"] == 9 and rec["Account_Name"] is not None


def test_incremental_is_inclusive_with_ties_and_204_means_no_data(small) -> None:
    c = connector(small)
    changes = [Change(op="create", entity="Deals", idempotency_key=f"tie{i}",
                      fields={"Deal_Name": f"Tie {i}", "Stage": "Qualification", "Closing_Date": "2026-12-01"})
               for i in range(3)]
    ids = {r.target_id for r in c.write("Deals", changes)}
    full = list(c.read("Deals"))
    cp = [p.checkpoint for p in full if p.checkpoint][-1]
    again = [r["id"] for p in c.read("Deals", since=cp) for r in p.records]
    assert ids <= set(again)               # all three share the last Modified_Time: every tie comes back
    future = Cursor(value="2099-01-01T00:00:00+00:00", key=None)
    pages = list(c.read("Deals", since=future))
    assert len(pages) == 1 and not pages[0].records and pages[0].checkpoint is None
    assert small.app.stats.by_status.get(204, 0) >= 1


def test_full_read_marks_the_snapshot_complete(small) -> None:
    pages = list(connector(small, per_page=50).read("Products"))
    assert [p.snapshot_complete for p in pages] == [False] * (len(pages) - 1) + [True]


def test_deletes_come_from_the_deleted_api(small) -> None:
    c = connector(small)
    pages = list(c.read("Invoices"))
    cp = pages[-1].checkpoint
    victim = pages[0].records[0]["id"]
    [res] = c.write("Invoices", [Change(op="delete", entity="Invoices", key=victim, idempotency_key="del1")])
    assert res.ok
    inc = list(c.read("Invoices", since=cp))
    assert victim in {d for p in inc for d in p.deleted}
    assert small.record("Invoices", victim) is None


def test_coql_filtered_read(small) -> None:
    c = connector(small)
    recs = [r for p in c.query("Accounts", "Industry = 'Retail'", columns=["Account_Name", "Industry"]) for r in p.records]
    expected = [r for r in small.state.modules["Accounts"].records.values() if r["Industry"] == "Retail"]
    assert len(recs) == len(expected) and all(r["Industry"] == "Retail" for r in recs)
    with pytest.raises(ConfigError):
        list(c.query("Accounts", "  "))


def test_unknown_module_is_a_config_error(small) -> None:
    with pytest.raises(ConfigError) as exc:
        list(connector(small).read("Leads__x"))
    assert "Accounts" in str(exc.value)


def test_a_bad_vendor_payload_names_the_record() -> None:
    app = SandboxApp("zoho_bad")
    app.add_route("POST", r"/oauth/v2/token", lambda req: Response.json(
        {"access_token": "1000.x", "api_domain": "", "expires_in": 3600}), name="token")
    app.add_route("GET", r"/crm/v8/settings/modules", lambda req: Response.json(
        {"modules": [{"api_name": "Accounts", "generated_type": "default", "api_supported": True}]}), name="m")
    app.add_route("GET", r"/crm/v8/settings/fields", lambda req: Response.json(
        {"fields": [{"api_name": "Account_Name", "data_type": "text"}, {"api_name": "Modified_Time", "data_type": "datetime"}]}),
        name="f")
    app.add_route("GET", r"/crm/v8/Accounts", lambda req: Response.json(
        {"data": [{"id": "1", "Modified_Time": "2026-01-01T00:00:00+01:00"}, {"Account_Name": "no id"}],
         "info": {"more_records": False}}), name="r")
    with SandboxServer(app) as server:
        sb = type("SB", (), {"extra": {"accounts_url": server.base_url},
                             "credentials": {"client_id": "c", "client_secret": "s", "refresh_token": "r"}})()
        c = connector(sb, api_domain=server.base_url)
        with pytest.raises(FatalError) as exc:
            list(c.read("Accounts"))
        assert "Accounts page 1 record 1" in str(exc.value)
