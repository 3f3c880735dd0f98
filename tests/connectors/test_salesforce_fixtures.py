"""The sandbox answers in the shapes of real recorded Salesforce responses (../shared/fixtures/salesforce)."""
from __future__ import annotations

import json

import pytest
import requests

from concord.hub.sandbox.world import World
from concord.connectors.salesforce.sandbox import start
from tests import fixtures_path


def _fixture(*parts):
    return json.loads(fixtures_path("salesforce", *parts).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def org():
    with start(World(3, 400)) as rs:
        s = requests.Session()
        s.trust_env = False
        s.verify = rs.server.ca_file
        c = rs.credentials
        tok = s.post(rs.base_url + "/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": c["client_secret"]}).json()
        s.headers["Authorization"] = "Bearer " + tok["access_token"]
        yield rs, s, tok


def test_token_answer_has_the_real_keys(org):
    _, _, tok = org
    assert set(_fixture("restforce", "auth_success_response.json")) <= set(tok)
    assert set(_fixture("simple-salesforce", "oauth_token_response_success.json")) <= set(tok)


def test_describe_keys_match_real_describes(org):
    rs, s, _ = org
    for name in ("Account", "Contact", "Opportunity", "Order", "Product2"):
        mine = s.get(f"{rs.base_url}/services/data/v59.0/sobjects/{name}/describe").json()
        real = _fixture("describe", f"{name}.describe.json")
        assert set(real) <= set(mine)
        assert set(real["fields"][0]) <= set(mine["fields"][0]) | {"extraTypeInfo"}
        full = _fixture("restforce", "sobject__sobject_describe_success_response.json")
        assert set(full) <= set(mine), set(full) - set(mine)
        assert set(full["fields"][0]) <= set(mine["fields"][0])
        real_fields = {f["name"]: f for f in real["fields"]}
        for f in mine["fields"]:
            if f["name"] in real_fields and f["type"] != "address":
                assert f["type"] == real_fields[f["name"]]["type"], (name, f["name"])
        ext = [f for f in mine["fields"] if f["name"] == "Concord_Id__c"]
        assert ext and ext[0]["externalId"] and ext[0]["unique"]


def test_query_paging_and_error_shapes(org):
    rs, s, _ = org
    base = f"{rs.base_url}/services/data/v59.0"
    first = s.get(base + "/query/", params={"q": "SELECT Id, Name FROM Contact"},
                  headers={"Sforce-Query-Options": "batchSize=200"}).json()
    assert set(first) == set(_fixture("restforce", "sobject__query_paginated_first_page_response.json"))
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/")
    last = s.get(rs.base_url + first["nextRecordsUrl"]).json()
    while not last["done"]:
        last = s.get(rs.base_url + last["nextRecordsUrl"]).json()
    assert set(last) == set(_fixture("restforce", "sobject__query_paginated_last_page_response.json"))
    err = s.get(base + "/query/", params={"q": "SELECT Nope FROM Account"})
    assert err.status_code == 400
    assert set(err.json()[0]) == set(_fixture("restforce", "sobject__query_error_response.json")[0])
    assert err.json()[0]["errorCode"] == "INVALID_FIELD"
    assert "Sforce-Limit-Info" in err.headers


def test_updated_deleted_limits_and_expiry_shapes(org):
    rs, s, _ = org
    import datetime as dt
    base = f"{rs.base_url}/services/data/v59.0"
    now = dt.datetime.now(dt.timezone.utc)
    window = {"start": (now - dt.timedelta(days=2)).isoformat(), "end": (now + dt.timedelta(minutes=5)).isoformat()}
    rid = rs.state.store.rows("Contact")[0]["Id"]
    assert s.delete(f"{base}/sobjects/Contact/{rid}").status_code == 204
    rs.state.store.deleted_at[rid] -= dt.timedelta(minutes=2)   # deleted/ covers whole minutes up to now
    upd = s.get(base + "/sobjects/Contact/updated/", params=window).json()
    assert set(upd) == set(_fixture("restforce", "sobject__get_updated_success_response.json"))
    dele = s.get(base + "/sobjects/Contact/deleted/", params=window).json()
    assert set(dele) == set(_fixture("restforce", "sobject__get_deleted_success_response.json"))
    assert [d["id"] for d in dele["deletedRecords"]] == [rid]
    lim = s.get(base + "/limits/").json()
    assert set(lim["DailyApiRequests"]) == set(_fixture("simple-salesforce", "limits_response.json")["DailyApiRequests"])
    rs.app.faults.expire_tokens()
    gone = s.get(base + "/limits/")
    assert gone.status_code == 401 and gone.json() == _fixture("restforce", "expired_session_response.json")
    c = rs.credentials
    tok = s.post(rs.base_url + "/services/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": c["client_secret"]}).json()
    s.headers["Authorization"] = "Bearer " + tok["access_token"]


def test_upsert_and_collection_shapes(org):
    rs, s, _ = org
    base = f"{rs.base_url}/services/data/v59.0"
    created = s.patch(base + "/sobjects/Account/Concord_Id__c/G-FIX-1", json={"Name": "Fixture Co"})
    assert created.status_code == 201
    assert set(_fixture("restforce", "sobject__upsert_created_success_response.json")) <= set(created.json())
    bad = s.patch(base + "/sobjects/Account/Namez/x", json={"Name": "x"})
    assert bad.status_code == 404
    assert set(bad.json()[0]) == set(_fixture("restforce", "sobject__upsert_error_response.json")[0])
    rs.state.store.records["Account"][rs.state.store.rows("Account")[0]["Id"]]["Concord_Id__c"] = "G-DUP"
    rs.state.store.records["Account"][rs.state.store.rows("Account")[1]["Id"]]["Concord_Id__c"] = "G-DUP"
    for r in rs.state.store.rows("Account")[:2]:
        rs.state.store.ext_index[("Account", "Concord_Id__c")].setdefault("g-dup", set()).add(r["Id"])
    multi = s.patch(base + "/sobjects/Account/Concord_Id__c/G-DUP", json={"Name": "x"})
    assert multi.status_code == 300 and len(multi.json()) == 2
    coll = s.post(base + "/composite/sobjects", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Account"}, "Name": "A"}]}).json()
    assert set(coll[0]) == set(_fixture("restforce", "sobject__composite_sobjects_success_response.json")[0])
    none = s.delete(base + "/composite/sobjects", params={"ids": ""})
    assert none.json() == _fixture("restforce", "sobject__composite_sobjects_destroy_bad_request_response.json")


def test_bulk_job_shapes(org):
    rs, s, _ = org
    base = f"{rs.base_url}/services/data/v59.0/jobs"
    job = s.post(base + "/ingest", json={"object": "Account", "operation": "insert", "contentType": "CSV",
                                          "lineEnding": "LF", "columnDelimiter": "COMMA"}).json()
    assert set(_fixture("restforce", "bulk__create_job_success_response.json")) <= set(job)
    assert job["state"] == "Open"
    up = s.put(f"{base}/ingest/{job['id']}/batches", data="Name,BillingCity\nBulk A,Berlin\n,Paris\n",
               headers={"Content-Type": "text/csv"})
    assert up.status_code == 201
    assert s.patch(f"{base}/ingest/{job['id']}", json={"state": "UploadComplete"}).json()["state"] == "UploadComplete"
    states = [s.get(f"{base}/ingest/{job['id']}").json()["state"] for _ in range(2)]
    assert states == ["InProgress", "JobComplete"]
    ok = s.get(f"{base}/ingest/{job['id']}/successfulResults").text
    bad = s.get(f"{base}/ingest/{job['id']}/failedResults").text
    assert ok.splitlines()[0].startswith(_fixture("restforce", "bulk__success_results_success_response.json")
                                         .splitlines()[0].split(",Name")[0])
    assert bad.splitlines()[0].startswith('"sf__Id","sf__Error"') and "REQUIRED_FIELD_MISSING" in bad
    q = s.post(base + "/query", json={"operation": "query", "query": "SELECT Id, Name FROM Account"}).json()
    s.get(f"{base}/query/{q['id']}")
    s.get(f"{base}/query/{q['id']}")
    res = s.get(f"{base}/query/{q['id']}/results", params={"maxRecords": 10})
    assert res.headers["Sforce-NumberOfRecords"] == "10" and res.headers["Sforce-Locator"] != "null"
