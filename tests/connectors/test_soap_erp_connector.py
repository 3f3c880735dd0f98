"""SOAP ERP connector against its sandbox: paging, incremental overlap, stale Keys, faults, XML bombs, auth."""
from __future__ import annotations


import pytest
import requests
from pydantic import ValidationError

from concord.connectors.soap_erp import SoapErpConnector
from concord.connectors.soap_erp.config import SoapErpConfig
from concord.connectors.soap_erp.opmap import load_operation_map
from concord.connectors.soap_erp.sandbox import BUNDLED_WSDL, start
from concord.hub.contracts import Change, ConnectorContext, Cursor
from concord.hub.errors import AuthError, ConfigError, FatalError, RecordError, StaleRecordError
from concord.hub.http import HttpToolkit
from concord.hub.sandbox import FaultConfig
from concord.hub.sandbox.world import World
from tests import fixtures_path
from tests.connectors.test_soap_erp_contract import make_connector


@pytest.fixture
def sandbox():
    with start(World(seed=3, size=60), today="2027-02-01") as sb:
        yield sb


def all_records(conn, since=None):
    pages = list(conn.read("Customer", since=since))
    return [r for p in pages for r in p.records], pages


def change(op, key=None, etag=None, n=0, **fields):
    return Change(op=op, entity="Customer", key=key, etag=etag, fields=fields, idempotency_key=f"{op}-{key}-{n}")


def test_bookmark_paging_uses_the_minimum_calls(sandbox):
    conn = make_connector(sandbox, page_size=7)
    conn.check()
    sandbox.app.reset_stats()
    records, pages = all_records(conn)
    n = sandbox.state.count()
    assert len(records) == n and len({r["No"] for r in records}) == n
    # NAV pages until a short page: ceil(n/7) calls, one more when n is a multiple of 7
    assert sandbox.app.stats.by_route["page"] == n // 7 + 1
    assert all(p.checkpoint is None for p in pages[:-1]) and pages[-1].snapshot_complete
    assert pages[-1].checkpoint.value == max(r["Last_Date_Modified"] for r in records)
    # raw records are JSON-able vendor payloads
    r = records[0]
    assert isinstance(r["Credit_Limit_LCY"], str) and r["Key"].startswith("18;")


def test_incremental_reads_an_overlap_window_and_sees_new_changes(sandbox):
    conn = make_connector(sandbox)
    records, pages = all_records(conn)
    cp = pages[-1].checkpoint
    again, again_pages = all_records(conn, since=cp)
    lower = (__import__("datetime").date.fromisoformat(cp.value) - __import__("datetime").timedelta(days=1)).isoformat()
    assert {r["No"] for r in again} == {r["No"] for r in records if r["Last_Date_Modified"] >= lower}
    assert not again_pages[-1].snapshot_complete
    victim = records[0]["No"]
    sandbox.state.touch(victim, City="Leipzig")  # another user edits a customer today
    later, later_pages = all_records(conn, since=cp)
    assert victim in {r["No"] for r in later}
    assert later_pages[-1].checkpoint.value == "2027-02-01"
    # nothing newer: the cursor stays where it was
    _, none_pages = all_records(conn, since=Cursor(value="2030-01-01"))
    assert none_pages[-1].records == [] and none_pages[-1].checkpoint == Cursor(value="2030-01-01")


def test_empty_read_multiple_is_none_and_gives_an_empty_page():
    with start(World(seed=1, size=5), share=0.0) as sb:
        pages = list(make_connector(sb).read("Customer"))
        assert len(pages) == 1 and pages[0].records == [] and pages[0].snapshot_complete


def test_stale_key_is_isolated_reread_and_reported(sandbox):
    conn = make_connector(sandbox, page_size=100)
    records, _ = all_records(conn)
    a, b, c = records[:3]
    sandbox.state.touch(b["No"], Name="Changed In NAV")  # b's Key from our read is now stale
    sandbox.app.reset_stats()
    res = conn.write("Customer", [change("update", a["No"], a["Key"], City="Köln"),
                                  change("update", b["No"], b["Key"], City="Bonn"),
                                  change("update", c["No"], c["Key"], City="Essen")])
    assert [r.ok for r in res] == [True, False, True]
    err = res[1].error
    assert isinstance(err, StaleRecordError) and err.record_id == b["No"]
    assert err.details["current_key"] == sandbox.state.get(b["No"])["Key"] != b["Key"]
    assert sandbox.state.get(b["No"])["City"] == b.get("City")      # never overwritten blindly
    assert sandbox.state.get(a["No"])["City"] == "Köln" and sandbox.state.get(c["No"])["City"] == "Essen"
    # the fault names the record: one failed batch, one re-send of the rest, one re-read
    assert sandbox.app.stats.by_route["page"] == 3


def test_update_without_etag_looks_up_keys_in_one_call(sandbox):
    conn = make_connector(sandbox)
    nos = [r["No"] for r in all_records(conn)[0][:5]]
    sandbox.app.reset_stats()
    res = conn.write("Customer", [change("update", no, n=i, Credit_Limit_LCY=1000 + i) for i, no in enumerate(nos)]
                     + [change("update", "NOPE-1", Credit_Limit_LCY=1)])
    assert [r.ok for r in res] == [True] * 5 + [False]
    assert res[-1].error.code == "not_found" and "NOPE-1" in res[-1].error.message
    assert sandbox.app.stats.by_route["page"] == 2      # ReadMultiple No=a|b|..  + UpdateMultiple
    assert str(sandbox.state.get(nos[2])["Credit_Limit_LCY"]) == "1002"


def test_batch_with_bad_records_bisects_to_per_record_errors(sandbox):
    conn = make_connector(sandbox)
    before = sandbox.state.count()
    changes = [change("create", n=i, Name=f"Good {i}", Country_Region_Code="DE") for i in range(8)]
    changes[2] = change("create", n=2, Name="Bad country", Country_Region_Code="XX")
    changes[6] = change("create", n=6, Name="Y" * 51)
    res = conn.write("Customer", changes)
    assert [r.ok for r in res] == [True, True, False, True, True, True, False, True]
    assert "related table (Country/Region)" in res[2].error.message
    assert "must be less than or equal to 50" in res[6].error.message
    assert all(isinstance(r.error, RecordError) for r in res if not r.ok)
    assert sandbox.state.count() == before + 6
    assert all(r.created and r.target_id for r in res if r.ok)


def test_client_side_validation_names_the_field(sandbox):
    conn = make_connector(sandbox)
    res = conn.write("Customer", [change("create", Name="A", Balance_LCY="5"), change("create", Nope="x"),
                                  change("create", Credit_Limit_LCY="lots"), change("upsert", "1", Name="x")])
    assert [r.ok for r in res] == [False] * 4
    assert [r.error.details.get("field") for r in res[:3]] == ["Balance_LCY", "Nope", "Credit_Limit_LCY"]
    assert res[3].error.code == "unsupported"


def test_delete_by_key_and_missing_is_ok(sandbox):
    conn = make_connector(sandbox)
    no = all_records(conn)[0][4]["No"]
    res = conn.write("Customer", [change("delete", no), change("delete", no, n=1), change("delete", "NEVER-1")])
    assert [r.ok for r in res] == [True, True, True]     # a record that is gone is the goal reached
    assert sandbox.state.get(no) is None


def test_fault_storm_read_is_complete_and_writes_are_never_half_applied():
    faults = FaultConfig(rate=0.35, kinds=("429", "503", "latency", "partial_batch"), latency_s=0.001, seed=11,
                         retry_after=0.0, record_failure_rate=0.05)
    with start(World(seed=5, size=80), faults=faults) as sb:
        conn = make_connector(sb, page_size=9)
        sb.app.faults.paused = True
        expected = sb.state.count()
        sb.app.faults.paused = False
        records, _ = all_records(conn)
        assert len(records) == expected
        res = conn.write("Customer", [change("create", n=i, Name=f"Storm {i}") for i in range(40)])
        ok = [r for r in res if r.ok]
        assert all(isinstance(r.error, RecordError) and r.error.message for r in res if not r.ok)
        sb.app.faults.paused = True
        assert sb.state.count() == expected + len(ok)
        assert sum(sb.app.faults.injected.values()) > 0


@pytest.mark.parametrize("kind", ["bomb", "xxe"])
def test_xml_bombs_and_external_entities_are_refused(sandbox, kind):
    conn = make_connector(sandbox)
    conn.check()
    sandbox.handles["control"].poison(kind)
    with pytest.raises(FatalError) as exc:
        list(conn.read("Customer"))
    assert exc.value.code == "unsafe_xml"
    # a poisoned WSDL is refused as well
    sandbox.handles["control"].poison(kind)
    with pytest.raises(FatalError):
        make_connector(sandbox).entities()


def test_sandbox_refuses_dtd_and_answers_soap_faults(sandbox):
    url = sandbox.extra["pages"]["Customer"]
    auth = ("CONCORD", sandbox.env["NAV_PASSWORD"])
    body = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/'
            'soap/envelope/"><s:Body/></s:Envelope>')
    r = requests.post(url, data=body, auth=auth, headers={"Content-Type": "text/xml; charset=utf-8"})
    assert r.status_code == 500 and "DTD is prohibited" in r.text and "<faultcode" in r.text   # SOAP 1.1: faults are 500
    assert r.headers["Content-Type"].startswith("text/xml")
    delete = ('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
              '<Delete xmlns="urn:microsoft-dynamics-schemas/page/customer"><Key>18;WgA=;1;</Key></Delete>'
              '</s:Body></s:Envelope>')
    r = requests.post(url, data=delete, auth=auth, headers={
        "Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"urn:microsoft-dynamics-schemas/page/customer:Delete"'})
    assert r.status_code == 500 and r.headers["Content-Type"].startswith("text/xml")
    assert "NavCSideRecordNotFoundException" in r.text and "<faultstring" in r.text
    assert requests.get(url, auth=auth).text.count(url) == 1          # the WSDL names this server
    assert requests.get(url).status_code == 401


def test_bad_filter_is_a_readable_fault(sandbox):
    conn = make_connector(sandbox)
    h = conn._handle("Customer")
    with pytest.raises(Exception) as exc:
        h.call("ReadMultiple", {"filter": [{"Field": "Last_Date_Modified", "Criteria": ">=31/12/2026"}], "setSize": 5})
    assert "not a valid date" in str(exc.value)


def test_oauth_token_expiry_is_refreshed_once():
    with start(World(seed=2, size=20), auth="oauth") as sb:
        cfg = dict(sb.connector_config)
        cfg["auth"] = dict(cfg["auth"], client_secret=sb.env["NAV_CLIENT_SECRET"])
        toolkit = HttpToolkit(sleep=lambda _s: None)
        conn = SoapErpConnector(SoapErpConfig.model_validate(cfg), ConnectorContext(system="erp", http=toolkit))
        conn.check()
        sb.app.faults.expire_tokens()
        records, _ = all_records(conn)
        assert len(records) == sb.state.count()
        assert toolkit.ledger.snapshot()["erp"]["by_status"]["401"] == 1
        cfg["auth"] = dict(cfg["auth"], client_secret="wrong")
        bad = SoapErpConnector(SoapErpConfig.model_validate(cfg), ConnectorContext(system="erp"))
        with pytest.raises(AuthError) as exc:
            bad.check()
        assert "wrong" not in str(exc.value)


def test_bad_password_error_has_no_secret(sandbox):
    with pytest.raises(AuthError) as exc:
        make_connector(sandbox, password="s3cret-value").check()
    assert "s3cret-value" not in str(exc.value) and "s3cret-value" not in repr(exc.value.to_dict())


def test_unknown_entity_lists_known_ones(sandbox):
    with pytest.raises(ConfigError, match="known: Customer"):
        list(make_connector(sandbox).read("Vendor"))


def test_config_is_frozen_and_strict(tmp_path):
    with pytest.raises(ValidationError):
        SoapErpConfig.model_validate({"pages": [{"wsdl": "x.wsdl"}], "auth": {"kind": "basic", "username": "u"}})
    with pytest.raises(ValidationError):
        SoapErpConfig.model_validate({"pages": [{"wsdl": "x.wsdl", "typo": 1}]})
    cfg = SoapErpConfig.model_validate({"pages": [{"wsdl": "x.wsdl"}],
                                        "auth": {"kind": "basic", "username": "u", "password": "pw"}})
    assert "pw" not in repr(cfg)


def test_operation_map_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "map.yaml"
    bad.write_text("operations:\n  list: ReadMultiple\nfields:\n  id: No\n  version_key: Key\npaging:\n  page_size: 0\n")
    with pytest.raises(ConfigError) as exc:
        load_operation_map(bad)
    assert f"{bad}:4" in str(exc.value)                  # bare No is YAML false: caught on its line


def test_wsdl_from_file_with_address_override(tmp_path):
    with start(World(seed=3, size=30), wsdl=str(BUNDLED_WSDL)) as sandbox:
        _wsdl_from_file(sandbox)


def _wsdl_from_file(sandbox):
    page = sandbox.connector_config["pages"][0]
    cfg = {"pages": [{"wsdl": str(BUNDLED_WSDL), "address": page["address"], "entity": "Debitor"}],
           "auth": {"kind": "basic", "username": "CONCORD", "password": sandbox.env["NAV_PASSWORD"]}}
    conn = SoapErpConnector(SoapErpConfig.model_validate(cfg), ConnectorContext(system="erp"))
    [spec] = conn.entities()
    assert spec.name == "Debitor" and spec.field("Blocked").picklist == ("_blank_", "Ship", "Invoice", "All")
    assert len([r for p in conn.read("Debitor") for r in p.records]) == sandbox.state.count()


def test_entities_from_the_real_nav_wsdl():
    real = fixtures_path("soap-erp", "dynamics-nav", "NAV2016_Page_Customer.wsdl")
    with start(World(seed=4, size=15), wsdl=str(real)) as sb:
        conn = make_connector(sb)
        [spec] = conn.entities()
        assert len(spec.fields) == 58 and spec.primary_key == ("No",)
        assert spec.field("Last_Date_Modified").type == "date" and not spec.field("Last_Date_Modified").updateable
        assert spec.field("Key").createable is False and spec.field("No").updateable is False
        assert spec.field("Type").picklist == ("Customer", "Member")
        assert spec.cursor.kind == "date" and spec.cursor.lookback_seconds == 86400
        assert len([r for p in conn.read("Customer") for r in p.records]) == sb.state.count()
        res = conn.write("Customer", [change("create", Name="Real WSDL Ltd", Type="Member")])
        assert res[0].ok, res[0].error
