"""Connector behaviour against the sandbox: auth and token expiry, ties, deletes, details, writes, CJK."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from concord.connectors.fxiaoke import FxiaokeConfig, FxiaokeConnector
from concord.connectors.fxiaoke.read import iso_to_ms
from concord.connectors.fxiaoke.sandbox import start
from concord.hub.contracts import Change, ConnectorContext, Cursor
from concord.hub.errors import AuthError, ConfigError, RecordError, TransientError
from concord.hub.http import CallLedger, HttpToolkit
from concord.hub.sandbox.world import World


@pytest.fixture(scope="module")
def sb():
    s = start(World(seed=11, size=250))
    yield s
    s.stop()


def connector(sb, *, now=None, **over) -> FxiaokeConnector:
    c = sb.credentials
    fields = dict(base_url=sb.base_url, app_id=c["app_id"], app_secret=c["app_secret"],
                  permanent_code=c["permanent_code"], current_open_user_id=c["current_open_user_id"], rate_limit=None)
    fields.update(over)
    return FxiaokeConnector(FxiaokeConfig(**fields),
                            ConnectorContext(system="crm_cn", http=HttpToolkit(CallLedger(), sleep=lambda s: None),
                                             now=now))


def read_all(conn, entity, since=None):
    pages = list(conn.read(entity, since=since))
    return [r for p in pages for r in p.records], pages


def routes(sb):
    return dict(sb.app.stats.by_route)


def test_entities_come_from_describe(sb):
    specs = {s.name: s for s in connector(sb).entities()}
    assert {"AccountObj", "ContactObj", "ProductObj", "SalesOrderObj", "SalesOrderProductObj", "NewOpportunityObj",
            "object_invoice__c"} <= set(specs)   # the custom object is discovered through object/list
    acc = specs["AccountObj"]
    assert acc.primary_key == ("_id",) and acc.cursor.field == "last_modified_time" and acc.cursor.tiebreak == "_id"
    assert acc.max_batch == 1 and "upsert" not in acc.capabilities
    assert acc.field("country").type == "picklist" and "CN" in acc.field("country").picklist
    assert acc.field("name").nullable is False and acc.field("name").label == "客户名称"
    assert acc.field("last_modified_time").createable is False and acc.field("owner").type == "array"
    lines = specs["SalesOrderObj"].field("SalesOrderProductObj")
    assert lines.type == "array" and {c.name for c in lines.children} >= {"product_id", "quantity", "sales_price"}
    assert specs["SalesOrderObj"].field("name").createable is False   # auto_number


def test_token_is_cached_then_refreshed_once_on_20016_mid_run(sb):
    conn = connector(sb, page_size=50)
    before = routes(sb).get("token", 0)
    pages = conn.read("AccountObj")
    first = next(pages)
    sb.app.faults.expire_tokens()          # the next business call answers errorCode 20016
    rest = list(pages)
    assert len(first.records) + sum(len(p.records) for p in rest) == sb.state.count("AccountObj")
    assert routes(sb)["token"] - before == 2   # one fetch, one refresh after 20016
    assert conn.auth.fetches == 2


def test_token_refreshed_before_its_announced_expiry(sb):
    clock = [dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)]
    conn = connector(sb, now=lambda: clock[0])
    list(conn.read("ProductObj"))
    assert conn.auth.fetches == 1
    clock[0] += dt.timedelta(seconds=7200 - 299)   # inside the 300 s refresh margin
    list(conn.read("ProductObj"))
    assert conn.auth.fetches == 2


def test_server_side_expiry_gets_a_new_token(sb):
    conn = connector(sb)
    list(conn.read("ProductObj"))
    old = conn.auth.credentials()[0]
    sb.app.expire_all_tokens()
    records, _ = read_all(conn, "ProductObj")
    assert records and conn.auth.credentials()[0] != old


def test_bad_credentials_name_the_code_never_the_secret(sb):
    conn = connector(sb, permanent_code="WRONG-PERMANENT-CODE-1234")
    with pytest.raises(AuthError) as ei:
        conn.check()
    assert "20015" in str(ei.value) and "WRONG-PERMANENT-CODE-1234" not in str(ei.value)
    assert sb.credentials["app_secret"] not in str(ei.value)


def test_unknown_objects_are_config_errors(sb):
    with pytest.raises(ConfigError, match="NoSuchObj"):
        connector(sb, objects=("AccountObj", "NoSuchObj")).entities()
    with pytest.raises(ConfigError, match="known: .*AccountObj"):
        connector(sb).read("Nope")


def test_more_ties_than_a_page_in_one_millisecond(sb):
    conn = connector(sb, page_size=40)
    store = sb.state
    tick = store.high_water + 60_000
    saved, store._clock = store._clock, (lambda: tick)
    try:
        ids = [store.create("ProductObj", {"name": f"并列产品{i}", "product_code": f"TIE-{i:03d}", "price": "9.90",
                                           "owner": ["FSUID_ADMIN1000"]}, None, "FSUID_ADMIN1000") for i in range(130)]
    finally:
        store._clock = saved
    records, pages = read_all(conn, "ProductObj", since=Cursor(value=str(tick - 1)))
    got = [r["_id"] for r in records]
    assert sorted(got) == sorted(ids) and len(got) == len(set(got))
    cp = pages[-1].checkpoint
    assert iso_to_ms(cp.value) == tick and cp.key == max(ids)
    again, _ = read_all(conn, "ProductObj", since=cp)   # inclusive: every tie of that millisecond again
    assert {r["_id"] for r in again} == set(ids)


def test_incremental_sees_updates_and_invalidations(sb):
    conn = connector(sb)
    records, pages = read_all(conn, "ContactObj")
    cp = pages[-1].checkpoint
    assert pages[-1].snapshot_complete and not any(p.snapshot_complete for p in pages[:-1])
    a, b = records[3]["_id"], records[4]["_id"]
    [ok] = conn.write("ContactObj", [Change(op="update", entity="ContactObj", key=a, fields={"job_title": "采购经理"},
                                            idempotency_key="u1")])
    [gone] = conn.write("ContactObj", [Change(op="delete", entity="ContactObj", key=b, idempotency_key="d1")])
    assert ok.ok and gone.ok
    new_pages = list(conn.read("ContactObj", since=cp))
    assert any(r["_id"] == a and r["job_title"] == "采购经理" for p in new_pages for r in p.records)
    assert b in {d for p in new_pages for d in p.deleted}
    assert not any(p.snapshot_complete for p in new_pages)
    full, _ = read_all(conn, "ContactObj")
    assert b not in {r["_id"] for r in full}


def test_seeded_invalid_accounts_are_reported_as_deleted(sb):
    conn = connector(sb)
    pages = list(conn.read("AccountObj"))
    deleted = {d for p in pages for d in p.deleted}
    invalid = {i for i, r in sb.state.tables["AccountObj"].rows.items() if r["life_status"] == "invalid"}
    assert invalid and invalid <= deleted


def test_orders_embed_their_lines_and_dates_are_iso(sb):
    conn = connector(sb)
    records, _ = read_all(conn, "SalesOrderObj")
    assert len(records) == sb.state.count("SalesOrderObj")
    with_lines = [r for r in records if r["SalesOrderProductObj"]]
    assert with_lines
    o = with_lines[0]
    truth = sb.state.tables["SalesOrderObj"].truth[o["_id"]]
    world_order = World(seed=11, size=250).order(truth)
    assert o["order_time"] == world_order.order_date.isoformat()          # Beijing midnight, not the day before
    assert [ln["line_no__c"] for ln in o["SalesOrderProductObj"]] == sorted(
        (ln["line_no__c"] for ln in o["SalesOrderProductObj"]), key=int)
    assert o["create_time"].endswith("+08:00")


def test_create_order_with_lines_in_one_call(sb):
    conn = connector(sb)
    acc = next(i for i, r in sb.state.tables["AccountObj"].rows.items() if r["life_status"] == "normal")
    prod = next(iter(sb.state.tables["ProductObj"].rows))
    ch = Change(op="create", entity="SalesOrderObj", idempotency_key="o1", fields={
        "account_id": acc, "order_time": "2026-04-01", "erp_order_no__c": "5999999", "mc_currency": "CNY",
        "SalesOrderProductObj": [{"product_id": prod, "quantity": 3, "sales_price": "12.50", "line_no__c": 1}]})
    before = routes(sb).get("data/create", 0)
    [res] = conn.write("SalesOrderObj", [ch])
    assert res.ok and res.created and routes(sb)["data/create"] - before == 1
    row = sb.state.get("SalesOrderObj", res.target_id)
    assert row["order_time"] == int(dt.datetime(2026, 4, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp() * 1000)
    lines = [r for r in sb.state.tables["SalesOrderProductObj"].rows.values() if r["order_id"] == res.target_id]
    assert len(lines) == 1 and lines[0]["quantity"] == "3"


def test_write_errors_are_per_record_with_trace_id(sb):
    conn = connector(sb)
    changes = [
        Change(op="create", entity="ContactObj", idempotency_key="c-ok", fields={"name": "李娜"}),
        Change(op="create", entity="ContactObj", idempotency_key="c-bad",
               fields={"name": "赵敏", "account_id": "0" * 24}),
        Change(op="update", entity="ContactObj", key="f" * 24, idempotency_key="c-missing", fields={"job_title": "x"}),
        Change(op="upsert", entity="ContactObj", idempotency_key="c-upsert", fields={"name": "x"}),
    ]
    res = conn.write("ContactObj", changes)
    assert [r.ok for r in res] == [True, False, False, False]
    bad = res[1].error
    assert isinstance(bad, RecordError) and "201112011" in bad.message and bad.details["traceId"].startswith("E-O.")
    assert bad.details["record_id"] == "c-bad"
    assert isinstance(res[2].error, RecordError) and isinstance(res[3].error, ConfigError)


def test_update_with_owner_uses_change_owner(sb):
    conn = connector(sb)
    acc = next(i for i, r in sb.state.tables["AccountObj"].rows.items() if r["life_status"] == "normal")
    before = routes(sb).get("data/changeOwner", 0)
    [res] = conn.write("AccountObj", [Change(op="update", entity="AccountObj", key=acc, idempotency_key="own",
                                              fields={"owner": "FSUID_A1B2C3D4E5F60003", "remark": "转交"})])
    assert res.ok, res.error
    row = sb.state.get("AccountObj", acc)
    assert row["owner"] == ["FSUID_A1B2C3D4E5F60003"] and row["remark"] == "转交"
    assert routes(sb)["data/changeOwner"] - before == 1


def test_custom_objects_use_the_custom_path(sb):
    conn = connector(sb)
    before = routes(sb).get("custom/data/query", 0)
    records, _ = read_all(conn, "object_invoice__c")
    assert len(records) == sb.state.count("object_invoice__c") and routes(sb)["custom/data/query"] > before
    assert isinstance(records[0]["due_date__c"], str)


def test_business_rate_limit_is_transient():
    s = start(World(seed=5, size=60), throttle=(2, 3600))
    try:
        conn = connector(s)
        with pytest.raises(TransientError, match="30004"):
            list(conn.read("AccountObj"))   # object/list, describe(s) and queries exceed 2 calls per endpoint
    finally:
        s.stop()


def test_auth_error_stops_the_rest_of_a_batch(sb):
    conn = connector(sb)
    conn.entities()
    sb.app.faults.expire_tokens(2)     # the call and its one re-send after the refresh both see 20016
    changes = [Change(op="create", entity="ProductObj", idempotency_key=f"p{i}",
                      fields={"name": f"产品{i}", "product_code": f"AUTH-{i}", "price": "1.00"}) for i in range(3)]
    res = conn.write("ProductObj", changes)
    assert [r.ok for r in res] == [False, False, False]
    assert all(isinstance(r.error, AuthError) for r in res)
    assert routes(sb).get("data/create")   # the first was attempted; the others were not


def test_cjk_round_trip_through_read_update_read(sb):
    conn = connector(sb)
    records, _ = read_all(conn, "AccountObj")
    rec = next(r for r in records if any("\u4e00" <= ch <= "\u9fff" for ch in r["name"]))
    name = rec["name"] + "（华东）"
    [res] = conn.write("AccountObj", [Change(op="update", entity="AccountObj", key=rec["_id"], idempotency_key="cjk",
                                              fields={"name": name})])
    assert res.ok
    back = sb.state.get("AccountObj", rec["_id"])
    assert back["name"] == name
    again, _ = read_all(conn, "AccountObj", since=Cursor(value=str(back["last_modified_time"])))
    assert next(r for r in again if r["_id"] == rec["_id"])["name"] == name
    # the wire carries UTF-8, not \\u escapes
    assert name.encode("utf-8") in json.dumps({"n": name}, ensure_ascii=False).encode("utf-8")
