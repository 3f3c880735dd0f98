"""SAP OData connector behaviour against the sandbox, through pyodata: paging, ties, CSRF, ETags, $batch."""
from __future__ import annotations

import datetime as dt

import pytest

from concord.connectors.sap_odata import SapODataConfig, SapODataConnector
from concord.connectors.sap_odata.sandbox import start
from concord.hub.contracts import Change, ConnectorContext, Cursor, source_id_of
from concord.hub.errors import AuthError, ConfigError, RecordError, StaleRecordError
from concord.hub.http import HttpToolkit
from concord.hub.sandbox.world import World

BP, SO, PR = "API_BUSINESS_PARTNER", "API_SALES_ORDER_SRV", "API_PRODUCT_SRV"


@pytest.fixture(scope="module")
def sb():
    s = start(World(11, 60), max_page_size=7)
    yield s
    s.stop()


def conn(sb, **kw) -> SapODataConnector:
    base = dict(service_url=sb.extra["services"][BP],
                extra_service_urls=tuple(u for n, u in sb.extra["services"].items() if n != BP),
                user="CONCORD_SBX", password=sb.credentials["password"], page_size=10)
    base.update(kw)
    return SapODataConnector(SapODataConfig(**base), ConnectorContext(system="erp", http=HttpToolkit(sleep=lambda s: None)))


def ids(pages, spec):
    return [source_id_of(spec, r) for p in pages for r in p.records]


def spec_of(c, name):
    return next(s for s in c.entities() if s.name == name)


def test_entities_come_from_metadata(sb):
    c = conn(sb)
    bp, so, prod = spec_of(c, "A_BusinessPartner"), spec_of(c, "A_SalesOrder"), spec_of(c, "A_Product")
    assert bp.cursor.field == "LastChangeDate+LastChangeTime" and bp.cursor.tiebreak == "BusinessPartner"
    assert so.cursor.field == "LastChangeDateTime" and prod.cursor.field == "LastChangeDateTime"
    assert "delete" not in bp.capabilities and {"create", "update"} <= bp.capabilities   # sap:deletable="false"
    assert "create" not in spec_of(c, "A_Customer").capabilities                        # sap:creatable="false"
    assert spec_of(c, "A_BusinessPartnerAddress").cursor is None                        # no change field
    cust = bp.field("Customer")
    assert cust and not cust.createable and not cust.updateable
    nav = bp.field("to_BusinessPartnerAddress")
    assert nav.children[0].name == "results" and any(f.name == "CityName" for f in nav.children[0].children)
    assert so.field("SalesOrderDate").type == "date" and so.field("TotalNetAmount").type == "decimal"


def test_unknown_entity_lists_known(sb):
    with pytest.raises(ConfigError, match="A_BusinessPartner"):
        list(conn(sb).read("NoSuchSet"))


def test_many_pages_follow_next_and_keyset(sb):
    c = conn(sb)
    sb.app.reset_stats()
    pages = list(c.read("A_BusinessPartner"))
    store = sb.state.store(BP)
    got = ids(pages, spec_of(c, "A_BusinessPartner"))
    assert sorted(got) == sorted(k[0] for k in store.tables["A_BusinessPartner"])
    assert len(got) == len(set(got))
    assert len(pages) >= len(got) // 7          # server pages of 7 inside client windows of 10
    assert pages[-1].snapshot_complete and all(p.checkpoint for p in pages)
    stamps = [p.checkpoint.value for p in pages]
    assert stamps == sorted(stamps)
    rec = pages[0].records[0]
    assert isinstance(rec["to_BusinessPartnerAddress"]["results"], list)
    assert rec["LastChangeTime"].startswith("PT") and len(rec["LastChangeDate"]) == 10
    assert rec["__metadata"]["etag"].startswith('W/"')


def test_ties_on_change_stamp_across_pages(sb):
    c = conn(sb, page_size=3)
    store = sb.state.store(BP)
    when = store.clock.next() + dt.timedelta(days=400)
    keys = sorted(store.tables["A_BusinessPartner"])[:8]
    for k in keys:
        store.touch("A_BusinessPartner", k, when)
    since = Cursor(value=when.isoformat().replace("+00:00", "Z"), key=None)
    first = list(c.read("A_BusinessPartner", since=since))
    got = ids(first, spec_of(c, "A_BusinessPartner"))
    assert got == [k[0] for k in keys]              # ordered by stamp, then key; ties split over 3 queries
    mid = first[1].checkpoint                         # a checkpoint inside the tie
    assert mid.value == first[-1].checkpoint.value and mid.key == keys[5][0]
    rest = ids(list(c.read("A_BusinessPartner", since=mid)), spec_of(c, "A_BusinessPartner"))
    assert rest == [k[0] for k in keys[5:]]           # inclusive: the checkpoint row itself comes again


def test_lookback_rereads_window(sb):
    c = conn(sb, lookback_seconds=3600)
    pages = list(c.read("A_SalesOrder"))
    again = list(c.read("A_SalesOrder", since=pages[-1].checkpoint))
    assert 1 <= sum(len(p.records) for p in again) < sum(len(p.records) for p in pages)


def test_child_set_without_change_field_is_a_snapshot(sb):
    c = conn(sb)
    pages = list(c.read("A_BusinessPartnerAddress"))
    assert all(p.checkpoint is None for p in pages) and pages[-1].snapshot_complete
    assert sum(len(p.records) for p in pages) == sb.state.store(BP).count("A_BusinessPartnerAddress")
    assert sorted(c.keys("A_SalesOrder")) == sorted(k[0] for k in sb.state.store(SO).tables["A_SalesOrder"])


def test_archiving_flag_reports_deleted(sb):
    c = conn(sb)
    store = sb.state.store(BP)
    key = sorted(store.tables["A_BusinessPartner"])[-1]
    store.touch("A_BusinessPartner", key, IsMarkedForArchiving=True)
    row = store.get("A_BusinessPartner", key)
    since = Cursor(value=(row["LastChangeDate"] + row["LastChangeTime"]).isoformat().replace("+00:00", "Z"))
    pages = list(c.read("A_BusinessPartner", since=since))
    assert [key[0]] == [d for p in pages for d in p.deleted]
    assert key[0] not in ids(pages, spec_of(c, "A_BusinessPartner"))
    store.touch("A_BusinessPartner", key, IsMarkedForArchiving=False)


def test_csrf_token_expiring_mid_run_is_refetched(sb):
    c = conn(sb)
    key = sorted(sb.state.store(BP).tables["A_BusinessPartner"])[0][0]
    upd = lambda n: Change(op="update", entity="A_BusinessPartner", key=key,  # noqa: E731
                           fields={"SearchTerm1": f"CSRF{n}"}, idempotency_key=f"csrf-{n}")
    assert c.write("A_BusinessPartner", [upd(1)])[0].ok
    assert c.auth.fetches == 1
    sb.app.faults.expire_tokens()                    # the server forgets the token: 403 x-csrf-token: Required
    [res] = c.write("A_BusinessPartner", [upd(2)])
    assert res.ok, res.error
    assert c.auth.fetches == 2
    assert sb.state.store(BP).get("A_BusinessPartner", (key,))["SearchTerm1"] == "CSRF2"


def test_stale_etag_is_reread_not_overwritten(sb):
    c = conn(sb)
    store = sb.state.store(BP)
    key = sorted(store.tables["A_BusinessPartner"])[1][0]
    [page] = [p for p in c.read("A_BusinessPartner", since=None) if any(r["BusinessPartner"] == key for r in p.records)][:1]
    etag = next(r for r in page.records if r["BusinessPartner"] == key)["__metadata"]["etag"]
    store.touch("A_BusinessPartner", (key,), OrganizationBPName1="Changed In SAP")
    [res] = c.write("A_BusinessPartner", [Change(op="update", entity="A_BusinessPartner", key=key, etag=etag,
                                                  fields={"OrganizationBPName1": "Concord"}, idempotency_key="stale")])
    assert not res.ok and isinstance(res.error, StaleRecordError)
    assert res.error.details["current"]["OrganizationBPName1"] == "Changed In SAP"
    assert res.error.details["current_etag"] != etag
    assert store.get("A_BusinessPartner", (key,))["OrganizationBPName1"] == "Changed In SAP"


def test_batch_with_one_failing_changeset(sb):
    c = conn(sb)
    c.entities()                                     # $metadata of the three services, fetched once
    before = sb.state.store(BP).count("A_BusinessPartner")
    changes = [Change(op="create", entity="A_BusinessPartner", idempotency_key=f"b{i}",
                      fields={"BusinessPartnerCategory": "2", "OrganizationBPName1": f"Batch {i} AG"}) for i in range(4)]
    sb.app.reset_stats()
    sb.app.faults.script("partial_batch")            # the first changeset is rejected by the server
    res = c.write("A_BusinessPartner", changes)
    assert [r.ok for r in res] == [False, True, True, True]
    assert isinstance(res[0].error, RecordError) and "rejected" in res[0].error.message
    assert sb.state.store(BP).count("A_BusinessPartner") == before + 3
    assert sb.app.stats.by_route.get("odata") == 2   # one CSRF fetch + one $batch


def test_deep_insert_sales_order_with_items(sb):
    c = conn(sb)
    [res] = c.write("A_SalesOrder", [Change(op="create", entity="A_SalesOrder", idempotency_key="so1", fields={
        "SalesOrderType": "OR", "SalesOrganization": "1010", "DistributionChannel": "10", "OrganizationDivision": "00",
        "SoldToParty": "1000001", "TransactionCurrency": "EUR", "SalesOrderDate": "2026-03-01",
        "to_Item": {"results": [{"Material": "MAT-000001", "RequestedQuantity": "2", "RequestedQuantityUnit": "EA"},
                                {"Material": "MAT-000002", "RequestedQuantity": "1.5", "RequestedQuantityUnit": "KG"}]}})])
    assert res.ok, res.error
    store = sb.state.store(SO)
    head = store.get("A_SalesOrder", (res.target_id,))
    items = store.children("A_SalesOrder", head, "to_Item")[1]
    assert [i["Material"] for i in items] == ["MAT-000001", "MAT-000002"]
    assert head["SalesOrderDate"].date() == dt.date(2026, 3, 1)


def test_metadata_checks_fields_before_sending(sb):
    c = conn(sb)
    c.entities()
    sb.app.reset_stats()
    res = c.write("A_BusinessPartner", [
        Change(op="create", entity="A_BusinessPartner", fields={"NoSuchField": 1}, idempotency_key="m1"),
        Change(op="update", entity="A_BusinessPartner", key="1000001", fields={"Customer": "X"}, idempotency_key="m2")])
    assert [r.ok for r in res] == [False, False]
    assert "NoSuchField" in res[0].error.message and "not updatable" in res[1].error.message
    assert sb.app.stats.total <= 2                   # CSRF fetch + the ETag read; nothing invalid was sent


def test_bearer_oauth_and_token_expiry(sb):
    c = conn(sb, auth="bearer", user=None, password=None, token_url=sb.credentials["token_url"],
             client_id=sb.credentials["client_id"], client_secret=sb.credentials["client_secret"])
    c.check()
    sb.app.faults.expire_tokens()
    assert sum(len(p.records) for p in c.read("A_Product")) > 0
    bad = conn(sb, auth="bearer", user=None, password=None, token_url=sb.credentials["token_url"],
               client_id=sb.credentials["client_id"], client_secret="nope")
    with pytest.raises(AuthError):
        bad.check()


def test_secrets_never_in_errors(sb):
    c = conn(sb, password="wrong-secret-value")
    with pytest.raises(AuthError) as exc:
        c.check()
    assert "wrong-secret-value" not in str(exc.value)
    assert "wrong-secret-value" not in repr(c.config)
