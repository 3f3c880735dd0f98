"""Connector behaviour through simple-salesforce against the HTTPS sandbox."""
from __future__ import annotations

import datetime as dt

import pytest

from concord.hub.contracts import Change, ConnectorContext, Cursor
from concord.hub.errors import AuthError, ConfigError, RecordError, TransientError
from concord.hub.http import HttpToolkit
from concord.hub.sandbox import FaultConfig
from concord.hub.sandbox.world import World
from concord.connectors.salesforce import SalesforceConfig, SalesforceConnector
from concord.connectors.salesforce.sandbox import start


@pytest.fixture(scope="module")
def sb():
    with start(World(21, 1200), faults=FaultConfig(retry_after=0.01), duplicate_rules={"Contact": "Email"}) as rs:
        yield rs


def conn(rs, **kw) -> SalesforceConnector:
    c = rs.credentials
    cfg = dict(login_url=rs.base_url, auth="client_credentials", client_id=c["client_id"],
               client_secret=c["client_secret"], ca_file=rs.server.ca_file, page_size=200)
    cfg.update(kw)
    return SalesforceConnector(SalesforceConfig(**cfg), ConnectorContext(system="crm", http=HttpToolkit(sleep=lambda s: None)))


def ids(pages):
    return [r["Id"] for p in pages for r in p.records]


def test_full_read_pages_across_many_batches_with_relationships(sb):
    sb.app.reset_stats()
    c = conn(sb, bulk_read_threshold=None)
    pages = list(c.read("Contact"))
    got = ids(pages)
    assert len(got) == len(set(got)) == sb.state.store.count("Contact")
    assert sb.app.stats.by_route["query_more"] >= 4            # 2000-row server batches: query + query_more
    assert pages[-1].snapshot_complete and all(p.checkpoint for p in pages if p.records)
    first = pages[0].records[0]
    assert first["Account"]["Name"] and "attributes" in first
    order = next(r for p in c.read("Order") for r in p.records)
    assert order["OrderItems"]["records"][0]["Product2"]["ProductCode"].startswith("MAT-")


def test_incremental_with_ties_on_systemmodstamp(sb):
    c = conn(sb)
    pages = list(c.read("Account"))
    recs = [r for p in pages for r in p.records]
    stamps = [r["SystemModstamp"] for r in recs]
    tied = next(s for s in stamps if stamps.count(s) > 1)
    group = sorted(r["Id"] for r in recs if r["SystemModstamp"] == tied)
    cursor = Cursor(value=tied, key=group[1])                   # stopped in the middle of a tie
    again = ids(c.read("Account", since=cursor))
    assert group[0] not in again and set(group[1:]) <= set(again)
    assert all(r["SystemModstamp"] >= tied for p in c.read("Account", since=cursor) for r in p.records)


def test_soft_deletes_come_back_from_query_all_and_get_deleted(sb):
    c = conn(sb)
    store = sb.state.store
    last = [p.checkpoint for p in c.read("Opportunity") if p.checkpoint][-1]
    victim = store.rows("Opportunity")[0]["Id"]
    store.delete("Opportunity", victim)
    pages = list(c.read("Opportunity", since=last))
    assert victim in [d for p in pages for d in p.deleted] and victim not in ids(pages)
    store.deleted_at[victim] -= dt.timedelta(minutes=2)
    gd = conn(sb, deletes="get_deleted")
    pages = list(gd.read("Opportunity", since=Cursor(value=last.value, key=None)))
    assert victim in pages[-1].deleted
    old = Cursor(value="2020-01-01T00:00:00.000+0000", key=None)
    with pytest.raises(ConfigError, match="retention"):
        list(gd.read("Opportunity", since=old))


def test_token_expiry_in_the_middle_of_a_read(sb):
    c = conn(sb, bulk_read_threshold=None)
    it = c.read("Contact")
    first = next(it)
    sb.app.faults.expire_tokens()
    rest = list(it)
    assert len(first.records) + sum(len(p.records) for p in rest) == sb.state.store.count("Contact")
    assert sb.app.faults.injected.get("token_expiry", 0) >= 1


def test_429_and_503_storms_are_retried_by_the_session(sb):
    c = conn(sb, bulk_read_threshold=None)
    c.entities()
    sb.app.faults.script(*(["429", "503"] * 2))
    assert len(ids(c.read("Product2"))) == sb.state.store.count("Product2")
    usage = c.http.ledger.snapshot()["crm"]
    assert usage["retries"] >= 4 and usage["vendor_max"] == 100000 and usage["vendor_used"] > 0


def test_partial_failure_duplicates_and_lock_errors_in_one_collection(sb):
    c = conn(sb)
    acct = sb.state.store.rows("Account")[0]["Id"]
    email = "dup.person@example.com"
    changes = [Change(op="upsert", entity="Contact", fields={"LastName": "One", "Email": email, "AccountId": acct},
                      idempotency_key="k1", golden_id="G-C-1"),
               Change(op="upsert", entity="Contact", fields={"LastName": "Two", "Email": email},
                      idempotency_key="k2", golden_id="G-C-2"),
               Change(op="upsert", entity="Contact", fields={"Email": "x@example.com"},
                      idempotency_key="k3", golden_id="G-C-3"),
               Change(op="upsert", entity="Contact", fields={"LastName": "Four"}, idempotency_key="k4",
                      golden_id="G-C-4")]
    sb.app.faults.script("partial_batch")
    res = c.write("Contact", changes)
    assert [r.change.idempotency_key for r in res] == ["k1", "k2", "k3", "k4"]
    assert isinstance(res[0].error, TransientError) and res[0].error.code == "UNABLE_TO_LOCK_ROW"
    assert res[1].ok and res[1].created
    assert isinstance(res[2].error, RecordError) and "LastName" in res[2].error.message
    assert res[3].ok
    again = c.write("Contact", [Change(op="create", entity="Contact", fields={"LastName": "Dup", "Email": email},
                                       idempotency_key="k5", golden_id="G-C-5")])
    assert again[0].error.code == "DUPLICATES_DETECTED" and again[0].error.details["matches"]
    second = c.write("Contact", changes[1:2] + changes[3:4])
    assert [r.created for r in second] == [False, False]


def test_single_upsert_multiple_match_and_update_only(sb):
    c = conn(sb)
    store = sb.state.store
    a, b = (r["Id"] for r in store.rows("Product2")[:2])
    for rid in (a, b):
        store.records["Product2"][rid]["Concord_Id__c"] = "G-P-DUP"
        store.ext_index[("Product2", "Concord_Id__c")].setdefault("g-p-dup", set()).add(rid)
    [r] = c.write("Product2", [Change(op="upsert", entity="Product2", fields={"Name": "X"}, idempotency_key="p1",
                                      golden_id="G-P-DUP")])
    assert not r.ok and r.error.code == "MULTIPLE_MATCHES" and set(r.error.details["matches"]) == {a, b}
    [new] = c.write("Product2", [Change(op="upsert", entity="Product2", fields={"Name": "Solo"},
                                        idempotency_key="p2", golden_id="G-P-SOLO")])
    assert new.ok and new.created and new.target_id
    res = c.write("Product2", [
        Change(op="update", entity="Product2", fields={"Family": "Software"}, idempotency_key="u1", golden_id="G-P-SOLO"),
        Change(op="update", entity="Product2", fields={"Family": "Software"}, idempotency_key="u2", golden_id="G-NONE"),
        Change(op="update", entity="Product2", fields={"Family": "Software"}, idempotency_key="u3", golden_id="G-P-DUP")])
    assert res[0].ok and res[0].target_id == new.target_id
    assert res[1].error.code == "NOT_FOUND" and res[2].error.code == "MULTIPLE_MATCHES"
    before = store.count("Product2")
    [d] = c.write("Product2", [Change(op="delete", entity="Product2", key=new.target_id, idempotency_key="d1")])
    assert d.ok and store.count("Product2") == before - 1


def test_bulk_read_and_bulk_write(sb):
    c = conn(sb, bulk_read_threshold=100, bulk_page_size=300, bulk_poll_seconds=0.01, bulk_write_threshold=5)
    pages = list(c.read("Account"))
    got = [r for p in pages for r in p.records]
    assert len(got) == sb.state.store.count("Account")
    assert [p.checkpoint is not None for p in pages][-1] and pages[0].checkpoint is None
    assert isinstance(got[0]["NumberOfEmployees"], int) and isinstance(got[0]["IsDeleted"], bool)
    changes = [Change(op="upsert", entity="Account", fields={"Name": f"Bulk {i}", "BillingCity": None},
                      idempotency_key=f"b{i}", golden_id=f"G-BULK-{i}") for i in range(8)]
    changes.append(Change(op="upsert", entity="Account", fields={"Name": ""}, idempotency_key="bad",
                          golden_id="G-BULK-BAD"))
    res = c.write("Account", changes)
    assert [r.ok for r in res] == [True] * 8 + [False]
    assert all(r.created for r in res[:8]) and res[8].error.code == "REQUIRED_FIELD_MISSING"
    assert sb.app.stats.by_route.get("bulk_ingest_upload", 0) >= 1


def test_jwt_bearer_and_refresh_token_flows(sb):
    key = sb.state.private_key_pem.decode()
    jwt = conn(sb, auth="jwt", client_secret=None, username="integration@concord.sandbox", private_key=key)
    jwt.check()
    refresh = conn(sb, auth="refresh_token", refresh_token=sb.credentials["refresh_token"])
    refresh.check()
    with pytest.raises(AuthError, match="invalid_grant"):
        conn(sb, auth="jwt", client_secret=None, username="someone@else", private_key=key).check()
    with pytest.raises(AuthError):
        conn(sb, auth="refresh_token", refresh_token="nope").check()
    bad = conn(sb, client_secret="wrong-secret-value")
    with pytest.raises(AuthError) as exc:
        bad.check()
    assert "wrong-secret-value" not in str(exc.value)


def test_unknown_entity_and_invalid_config(sb):
    with pytest.raises(ConfigError, match="known: Account"):
        list(conn(sb).read("Nope__c"))
    with pytest.raises(ValueError):
        SalesforceConfig(client_id="x", auth="jwt")
