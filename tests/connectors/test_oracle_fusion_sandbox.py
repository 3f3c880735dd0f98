"""The sandbox as a raw HTTP client sees it: media types, error formats per version, ETags, Upsert-Mode, batch."""
from __future__ import annotations

import pytest
import requests

from concord.hub.sandbox.world import World
from concord.connectors.oracle_fusion.sandbox import start

ROOT = "/fscmRestApi/resources/11.13.18.05"


@pytest.fixture(scope="module")
def sb():
    s = start(World(9, 10), resources=("itemsV2",))
    yield s
    s.stop()


def call(sb, method, path, version="4", auth=True, **kw):
    s = requests.Session()
    s.trust_env = False
    headers = {"REST-Framework-Version": version, **kw.pop("headers", {})}
    c = sb.credentials
    return s.request(method, sb.base_url + path, headers=headers,
                     auth=(c["user"], c["password"]) if auth else None, **kw)


def test_describe_lists_attributes_lov_and_actions(sb) -> None:
    r = call(sb, "GET", ROOT + "/itemsV2/describe")
    assert r.headers["Content-Type"].startswith("application/vnd.oracle.adf.description+json")
    res = r.json()["Resources"]["itemsV2"]
    attrs = {a["name"]: a for a in res["attributes"]}
    assert attrs["ItemId"]["updatable"] is False and attrs["ItemNumber"]["allowChanges"] == "whenNew"
    assert attrs["ItemDescription"]["mandatory"] is True and attrs["ListPrice"]["type"] == "number"
    assert "Each" in attrs["PrimaryUOMValue"]["lov"]["values"]
    assert {a["name"] for a in res["item"]["actions"]} >= {"update", "delete"}


def test_versions_root_and_unsupported_version(sb) -> None:
    ext = call(sb, "GET", "/fscmRestApi/resources/").json()["items"][0]["adf:extension"]
    assert ext["defaultFrameworkVersion"] == "1" and "9" in ext["allowedFrameworkVersions"]
    r = call(sb, "GET", ROOT + "/itemsV2", version="12")
    assert r.status_code == 400 and r.headers["Content-Type"].startswith("text/plain")


def test_no_credentials_is_401(sb) -> None:
    r = call(sb, "GET", ROOT + "/itemsV2", auth=False)
    assert r.status_code == 401 and "WWW-Authenticate" in r.headers


@pytest.mark.parametrize("version", ["1", "4"])
def test_error_format_follows_the_framework_version(sb, version) -> None:
    r = call(sb, "POST", ROOT + "/itemsV2", version=version, json={"OrganizationCode": "MST", "ItemNumber": "E-1"})
    assert r.status_code == 400
    if version == "1":
        assert r.headers["Content-Type"].startswith("text/plain") and r.text.startswith("JBO-27014")
    else:
        body = r.json()
        assert r.headers["Content-Type"].startswith("application/vnd.oracle.adf.error+json")
        assert body["o:errorDetails"][0]["o:errorCode"] == "JBO-27014"


def test_throttling_in_the_vendor_shape(sb) -> None:
    sb.app.faults.script("429")
    r = call(sb, "GET", ROOT + "/itemsV2")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1 and "o:errorDetails" in r.json()


def test_etag_if_match_and_upsert_mode(sb) -> None:
    r = call(sb, "POST", ROOT + "/itemsV2", json={"OrganizationCode": "MST", "ItemNumber": "U-1",
                                                 "ItemDescription": "first"})
    assert r.status_code == 201 and r.headers["Location"].endswith(str(r.json()["ItemId"]))
    etag, key = r.headers["ETag"], r.json()["ItemId"]
    ok = call(sb, "PATCH", f"{ROOT}/itemsV2/{key}", json={"ItemDescription": "second"}, headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.headers["ETag"] != etag
    stale = call(sb, "PATCH", f"{ROOT}/itemsV2/{key}", json={"ItemDescription": "third"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    up = call(sb, "POST", ROOT + "/itemsV2", json={"OrganizationCode": "MST", "ItemNumber": "U-1",
                                                  "ItemDescription": "upserted"}, headers={"Upsert-Mode": "true"})
    assert up.status_code == 200 and up.json()["ItemId"] == key and up.json()["ItemDescription"] == "upserted"
    assert call(sb, "DELETE", f"{ROOT}/itemsV2/{key}").status_code == 204
    assert call(sb, "GET", f"{ROOT}/itemsV2/{key}").status_code == 404


def test_batch_is_all_or_none_and_needs_its_media_type(sb) -> None:
    n = sb.state.count("itemsV2")
    parts = [{"id": "a", "path": "/itemsV2", "operation": "create",
              "payload": {"OrganizationCode": "MST", "ItemNumber": "B-1", "ItemDescription": "ok"}},
             {"id": "b", "path": "/itemsV2", "operation": "create", "payload": {"OrganizationCode": "MST"}},
             {"id": "c", "path": "/itemsV2/1", "operation": "delete"}]
    assert call(sb, "POST", ROOT, json={"parts": parts}).status_code == 415
    r = call(sb, "POST", ROOT, json={"parts": parts}, headers={"Content-Type": "application/vnd.oracle.adf.batch+json"})
    assert r.status_code == 400 and [p["id"] for p in r.json()["parts"]] == ["b", "c"]
    assert sb.state.count("itemsV2") == n, "nothing of a failed batch is applied"
    r = call(sb, "POST", ROOT, json={"parts": parts[:1]}, headers={"Content-Type": "application/vnd.oracle.adf.batch+json"})
    assert r.status_code == 200 and r.json()["parts"][0]["payload"]["ItemNumber"] == "B-1"
    assert sb.state.count("itemsV2") == n + 1
