"""The SAP OData sandbox on the wire (requests) and with the real S/4 EDMX files (pyodata)."""
from __future__ import annotations

import json

import pyodata
import pytest
import requests
from pyodata.v2.model import Config

from concord.connectors.sap_odata.sandbox import OWN_EDMX, start
from concord.hub.sandbox.world import World
from tests import fixtures_path

BP = "API_BUSINESS_PARTNER"


@pytest.fixture(scope="module")
def sb():
    s = start(World(3, 30), max_page_size=4, metadata=[str(OWN_EDMX / f"{n}.edmx") for n in
                                                       ("API_BUSINESS_PARTNER", "API_SALES_ORDER_SRV", "API_PRODUCT_SRV")])
    yield s
    s.stop()


@pytest.fixture
def http(sb):
    s = requests.Session()
    s.auth = ("CONCORD_SBX", sb.credentials["password"])
    s.headers["Accept"] = "application/json"
    return s


def url(sb, rel="", service=BP):
    return sb.extra["services"][service] + rel


def test_metadata_is_xml_and_count_is_bare_int(sb, http):
    r = http.get(url(sb, "$metadata"))
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/xml")
    r = http.get(url(sb, "A_BusinessPartner/$count"), headers={"Accept": "*/*"})
    assert r.json() == sb.state.store(BP).count("A_BusinessPartner")


def test_collection_envelope_paging_and_types(sb, http):
    r = http.get(url(sb, "A_BusinessPartner"), params={"$inlinecount": "allpages", "$top": "6", "$orderby": "BusinessPartner",
                                                        "sap-client": "100"})
    d = r.json()["d"]
    assert isinstance(d["__count"], str) and int(d["__count"]) == sb.state.store(BP).count("A_BusinessPartner")
    assert len(d["results"]) == 4 and d["__next"].startswith(url(sb, "A_BusinessPartner?"))
    row = d["results"][0]
    assert row["__metadata"]["type"] == "API_BUSINESS_PARTNER.A_BusinessPartnerType"
    assert row["to_BusinessPartnerAddress"]["__deferred"]["uri"].endswith("/to_BusinessPartnerAddress")
    assert row["LastChangeDate"].startswith("/Date(") and row["LastChangeTime"].startswith("PT")
    nxt = http.get(d["__next"]).json()["d"]
    assert len(nxt["results"]) == 2 and "__next" not in nxt          # $top=6 honoured across server pages
    so = http.get(url(sb, "A_SalesOrder?$top=1&$expand=to_Item", "API_SALES_ORDER_SRV")).json()["d"]["results"][0]
    assert isinstance(so["TotalNetAmount"], str) and so["LastChangeDateTime"].endswith("+0000)/")
    assert isinstance(so["to_Item"]["results"], list) and so["to_Item"]["results"][0]["SalesOrder"] == so["SalesOrder"]


def test_filter_select_and_keys(sb, http):
    key = sorted(sb.state.store(BP).tables["A_BusinessPartner"])[0][0]
    r = http.get(url(sb, "A_BusinessPartner"), params={"$filter": f"BusinessPartner eq '{key}' and not (BusinessPartnerCategory eq '1')",
                                                        "$select": "BusinessPartner,SearchTerm1"})
    [row] = r.json()["d"]["results"]
    assert set(row) == {"__metadata", "BusinessPartner", "SearchTerm1"}
    by_name = http.get(url(sb, f"A_BusinessPartner%28BusinessPartner%3D%27{key}%27%29"))
    assert by_name.status_code == 200 and by_name.headers["ETag"] == by_name.json()["d"]["__metadata"]["etag"]
    assert http.get(url(sb, f"A_BusinessPartner('{key}')/to_BusinessPartnerAddress")).json()["d"]["results"]
    bad = http.get(url(sb, "A_BusinessPartner"), params={"$filter": "Nope eq 1"})
    err = bad.json()["error"]
    assert bad.status_code == 400 and err["message"]["value"] and err["innererror"]["errordetails"]
    assert http.get(url(sb, "A_BusinessPartner('NOPE')")).status_code == 404


def test_csrf_and_preconditions(sb, http):
    key = sorted(sb.state.store(BP).tables["A_BusinessPartner"])[0][0]
    target = url(sb, f"A_BusinessPartner('{key}')")
    r = http.patch(target, json={"SearchTerm1": "X"})
    assert r.status_code == 403 and r.headers["x-csrf-token"] == "Required"
    tok = http.head(url(sb), headers={"x-csrf-token": "Fetch"})
    assert tok.headers["x-csrf-token"] and "SAP_SESSIONID" in tok.headers["Set-Cookie"]
    http.headers["x-csrf-token"] = tok.headers["x-csrf-token"]
    assert http.patch(target, json={"SearchTerm1": "X"}).status_code == 428
    assert http.patch(target, json={"SearchTerm1": "X"}, headers={"If-Match": 'W/"\'old\'"'}).status_code == 412
    etag = http.get(target).headers["ETag"]
    ok = http.patch(target, json={"SearchTerm1": "X"}, headers={"If-Match": etag})
    assert ok.status_code == 204 and ok.headers["ETag"] != etag
    created = http.post(url(sb, "A_BusinessPartner"), json={"BusinessPartnerCategory": "2", "OrganizationBPName1": "New"},
                        headers={"X-Requested-With": "X"})
    assert created.status_code == 201 and created.headers["Location"].startswith(url(sb, "A_BusinessPartner("))
    assert http.delete(target, headers={"If-Match": "*"}).status_code == 405      # sap:deletable="false"


def test_auth_errors(sb):
    r = requests.get(url(sb, "$metadata"), auth=("CONCORD_SBX", "bad"))
    assert r.status_code == 401 and "Basic" in r.headers["WWW-Authenticate"]


def test_faults_answer_in_gateway_shape(sb, http):
    sb.app.faults.script("503")
    r = http.get(url(sb, "A_BusinessPartner?$top=1"))
    assert r.status_code == 503 and r.headers["Retry-After"] and json.loads(r.text)["error"]["code"]


def test_custom_z_service_is_served_with_generated_data(tmp_path):
    edmx = (OWN_EDMX / "API_PRODUCT_SRV.edmx").read_text().replace("API_PRODUCT_SRV", "ZCONCORD_TEST_SRV").replace(
        "A_Product", "ZC_Article")
    f = tmp_path / "ZCONCORD_TEST_SRV.edmx"
    f.write_text(edmx)
    with start(World(1, 5), metadata=str(f), generic_rows=3) as sb:
        s = requests.Session()
        s.auth = ("CONCORD_SBX", sb.credentials["password"])
        client = pyodata.Client(sb.extra["services"]["ZCONCORD_TEST_SRV"], s, config=Config(retain_null=True))
        rows = client.entity_sets.ZC_ArticleDescription.get_entities().execute()
        assert len(rows) == 3 and all(r.Product for r in rows)


def test_refuses_entity_expansion(tmp_path):
    from concord.connectors.sap_odata.edmx import EdmxError, parse_edmx
    with pytest.raises(EdmxError, match="DOCTYPE"):
        parse_edmx(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')


@pytest.mark.parametrize("service", ["API_BUSINESS_PARTNER", "API_SALES_ORDER_SRV", "API_PRODUCT_SRV"])
def test_real_s4_metadata_every_entity_set_reads_through_pyodata(service):
    real = fixtures_path("sap-odata-v2", f"{service}.edmx")
    with start(World(5, 20), metadata=str(real), generic_rows=2) as sb:
        s = requests.Session()
        s.auth = ("CONCORD_SBX", sb.credentials["password"])
        client = pyodata.Client(sb.extra["services"][service], s, config=Config(retain_null=True))
        assert client.schema.entity_sets
        for es in client.schema.entity_sets:
            rows = getattr(client.entity_sets, es.name).get_entities().count(inline=True).execute()
            assert rows.total_count == len(rows) >= 1, es.name
