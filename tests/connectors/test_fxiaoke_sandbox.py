"""The sandbox speaks the open API's rules: raw requests, no connector."""
from __future__ import annotations

import pytest
import requests

from concord.connectors.fxiaoke.sandbox import start
from concord.hub.sandbox import FaultConfig
from concord.hub.sandbox.world import World


@pytest.fixture(scope="module")
def sb():
    s = start(World(seed=3, size=120), faults=FaultConfig())
    yield s
    s.stop()


@pytest.fixture
def auth(sb):
    c = sb.credentials
    r = requests.post(sb.base_url + "/cgi/corpAccessToken/get/V2",
                      json={"appId": c["app_id"], "appSecret": c["app_secret"], "permanentCode": c["permanent_code"]})
    body = r.json()
    assert r.status_code == 200 and body["errorCode"] == 0 and 0 < body["expiresIn"] <= 7200
    return {"corpAccessToken": body["corpAccessToken"], "corpId": body["corpId"],
            "currentOpenUserId": c["current_open_user_id"]}


def post(sb, path, body):
    r = requests.post(sb.base_url + path, json=body)
    return r.status_code, r.json()


def q(auth, sqi, api="AccountObj", **data):
    return auth | {"data": {"dataObjectApiName": api, "search_query_info": sqi, **data}}


def test_token_errors_are_http_200_with_error_code(sb):
    c = sb.credentials
    status, body = post(sb, "/cgi/corpAccessToken/get/V2", {"appId": c["app_id"], "appSecret": "nope",
                                                             "permanentCode": c["permanent_code"]})
    assert status == 200 and body["errorCode"] == 10006 and body["traceId"]
    status, body = post(sb, "/cgi/corpAccessToken/get/V2", {"appId": c["app_id"], "appSecret": c["app_secret"],
                                                             "permanentCode": "nope"})
    assert status == 200 and body["errorCode"] == 20015


def test_token_is_reissued_unchanged_within_its_lifetime(sb, auth):
    c = sb.credentials
    _, body = post(sb, "/cgi/corpAccessToken/get/V2", {"appId": c["app_id"], "appSecret": c["app_secret"],
                                                        "permanentCode": c["permanent_code"]})
    assert body["corpAccessToken"] == auth["corpAccessToken"]


def test_business_calls_need_the_body_credentials(sb, auth):
    status, body = post(sb, "/cgi/crm/v2/data/query", {"data": {"dataObjectApiName": "AccountObj",
                                                                "search_query_info": {"limit": 10, "offset": 0}}})
    assert (status, body["errorCode"]) == (200, 20017)
    status, body = post(sb, "/cgi/crm/v2/data/query", q(dict(auth, corpAccessToken="forged"), {"limit": 10, "offset": 0}))
    assert (status, body["errorCode"]) == (200, 20016)


def test_query_envelope_and_total(sb, auth):
    status, body = post(sb, "/cgi/crm/v2/data/query", q(auth, {"limit": 5, "offset": 0}))
    assert status == 200 and body["errorCode"] == 0 and body["errorMessage"] == "OK"
    assert body["traceId"].startswith("E-O.")
    data = body["data"]
    assert len(data["dataList"]) == 5 and data["limit"] == 5 and data["offset"] == 0
    assert data["total"] == sb.state.count("AccountObj", include_invalid=True)
    row = data["dataList"][0]
    assert isinstance(row["owner"], list) and isinstance(row["last_modified_time"], int)
    _, body = post(sb, "/cgi/crm/v2/data/query", q(auth, {"limit": 5, "offset": 0}, find_explicit_total_num=False))
    assert body["data"]["total"] == 0


@pytest.mark.parametrize("sqi, code", [
    ({"limit": 101, "offset": 0}, 15002),
    ({"limit": 0, "offset": 0}, 15002),
    ({"limit": 30, "offset": 45}, 15002),
    ({"limit": 100, "offset": 10100}, 10013),
    ({"limit": 10, "offset": 0, "filters": [{"field_name": "nope", "operator": "EQ", "field_values": ["x"]}]}, 15002),
    ({"limit": 10, "offset": 0, "filters": [{"field_name": "name", "operator": "EQ", "field_values": "x"}]}, 15002),
])
def test_limit_and_offset_rules(sb, auth, sqi, code):
    status, body = post(sb, "/cgi/crm/v2/data/query", q(auth, sqi))
    assert status == 200 and body["errorCode"] == code and body["traceId"]


def test_data_object_api_name_at_the_top_level_is_a_500(sb, auth):
    status, body = post(sb, "/cgi/crm/v2/data/query", auth | {"dataObjectApiName": "AccountObj",
                                                              "data": {"search_query_info": {"limit": 10, "offset": 0}}})
    assert status == 500


def test_custom_objects_live_under_custom_v2(sb, auth):
    sqi = {"limit": 10, "offset": 0}
    _, body = post(sb, "/cgi/crm/v2/data/query", q(auth, sqi, api="object_invoice__c"))
    assert body["errorCode"] != 0
    _, body = post(sb, "/cgi/crm/custom/v2/data/query", q(auth, sqi, api="object_invoice__c"))
    assert body["errorCode"] == 0 and body["data"]["dataList"]


def test_create_wants_the_api_name_inside_object_data(sb, auth):
    _, body = post(sb, "/cgi/crm/v2/data/create", auth | {"data": {"dataObjectApiName": "ProductObj",
                                                                   "object_data": {"name": "x"}}})
    assert body["errorCode"] == 15002
    _, body = post(sb, "/cgi/crm/v2/data/create", auth | {"data": {"object_data": {
        "dataObjectApiName": "ProductObj", "name": "螺丝", "product_code": "SBX-1", "price": "1.50"}}})
    assert body["errorCode"] == 0 and body["dataId"]
    row = sb.state.get("ProductObj", body["dataId"])
    assert row["name"] == "螺丝" and row["owner"] == [auth["currentOpenUserId"]] and row["life_status"] == "normal"


@pytest.mark.parametrize("fields, code", [
    ({"name": "x", "product_code": "P", "price": "abc"}, 201111007),
    ({"name": "x", "product_code": "P", "price": 1.5}, 201111007),
    ({"name": "x", "product_code": "P"}, 201111006),
    ({"name": "x", "product_code": "P", "price": "1", "unit": "BOX"}, 201111008),
    ({"name": "x", "product_code": "P", "price": "1", "nope__c": "1"}, 320001400),
])
def test_create_validates_values_by_describe_type(sb, auth, fields, code):
    _, body = post(sb, "/cgi/crm/v2/data/create", auth | {"data": {"object_data": {"dataObjectApiName": "ProductObj",
                                                                                   **fields}}})
    assert body["errorCode"] == code, body


def test_bad_lookup_is_201112011(sb, auth):
    _, body = post(sb, "/cgi/crm/v2/data/create", auth | {"data": {"object_data": {
        "dataObjectApiName": "ContactObj", "name": "王芳", "account_id": "000000000000000000000000"}}})
    assert body["errorCode"] == 201112011


def test_owner_cannot_be_updated_and_invalid_then_delete(sb, auth):
    acc = next(iter(sb.state.tables["AccountObj"].rows))
    _, body = post(sb, "/cgi/crm/v2/data/update", auth | {"data": {"object_data": {
        "dataObjectApiName": "AccountObj", "_id": acc, "owner": ["FSUID_ADMIN1000"]}}})
    assert body["errorCode"] != 0
    _, body = post(sb, "/cgi/crm/v2/data/delete", auth | {"data": {"dataObjectApiName": "AccountObj", "idList": [acc]}})
    assert body["errorCode"] == 201112005     # invalidate first
    _, body = post(sb, "/cgi/crm/v2/data/invalid", auth | {"data": {"dataObjectApiName": "AccountObj",
                                                                    "object_data_id": acc}})
    assert body["errorCode"] == 0 and sb.state.get("AccountObj", acc)["life_status"] == "invalid"
    _, body = post(sb, "/cgi/crm/v2/data/recover", auth | {"data": {"dataObjectApiName": "AccountObj", "idList": [acc]}})
    assert body["errorCode"] == 0 and sb.state.get("AccountObj", acc)["life_status"] == "normal"


def test_gateway_faults_keep_the_envelope(sb, auth):
    sb.app.faults.script("429")
    r = requests.post(sb.base_url + "/cgi/crm/v2/data/query", json=q(auth, {"limit": 1, "offset": 0}))
    assert r.status_code == 429 and r.headers["Retry-After"] and r.json()["errorCode"] == 30004


def test_expired_token_fault_is_20016(sb, auth):
    sb.app.faults.expire_tokens()
    _, body = post(sb, "/cgi/crm/v2/data/query", q(auth, {"limit": 1, "offset": 0}))
    assert body["errorCode"] == 20016
    _, body = post(sb, "/cgi/crm/v2/data/query", q(auth, {"limit": 1, "offset": 0}))
    assert body["errorCode"] == 0


def test_describe_shape(sb, auth):
    _, body = post(sb, "/cgi/crm/v2/object/describe", auth | {"includeDetail": False, "data": {"apiName": "AccountObj"}})
    d = body["data"]["describe"]
    assert d["api_name"] == "AccountObj" and d["fields"]["name"]["is_required"] is True
    assert {"value": "CN", "label": "中国"} in d["fields"]["country"]["options"]
    _, body = post(sb, "/cgi/crm/v2/object/list", auth | {"includeNull": False})
    names = {o["describeApiName"] for o in body["data"]["objects"]}
    assert {"AccountObj", "SalesOrderProductObj", "object_invoice__c"} <= names


def test_only_post(sb):
    assert requests.get(sb.base_url + "/cgi/crm/v2/data/query").status_code == 405
