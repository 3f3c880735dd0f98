"""Idempotent creates, per vendor connector: a create whose answer is lost is found by ``lookup``.

Each case starts the vendor's sandbox, creates one record while the sandbox cuts the answer off half-way
(``drop_mid_body``: the record *is* written, the client cannot tell), and then asks the connector's
``lookup(entity, golden_id)`` (one query through the vendor's own protocol) for the record that carries
Concord's id. Push does exactly this before it re-sends a create it tried before (hub/engine/push.py).
The golden id holds a quote and a backslash, so every escaper is exercised. The end-to-end test is in
``test_idempotent_create_engine.py``.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from concord.hub.contracts import Change, ConnectorContext
from concord.hub.errors import TransientError
from concord.hub.http import CallLedger, HttpToolkit, RetryPolicy
from concord.hub.sandbox import FaultConfig
from concord.hub.sandbox.world import World

GOLDEN = "G-o'Neil\\7"          # a quote and a backslash: the query must escape both


@dataclass
class Case:
    connector: Any
    entity: str
    fields: dict[str, Any]
    count: Callable[[], int]
    faults: Any
    ext_value: Callable[[str], Any]        # the sandbox-side value of the external id field of a record
    before_write: int = 0                  # requests a write makes before the one that writes (SAP: the CSRF fetch)


def _toolkit() -> HttpToolkit:
    return HttpToolkit(CallLedger(), policy=RetryPolicy(backoff_base=0.001, backoff_max=0.01), sleep=lambda _s: None)


# ---- one builder per connector ------------------------------------------------------------------------
def salesforce(tmp: Path) -> Iterator[Case]:
    from concord.connectors.salesforce import SalesforceConfig, SalesforceConnector
    from concord.connectors.salesforce.sandbox import start

    with start(World(3, 20), faults=FaultConfig(retry_after=0.0)) as sb:
        creds = sb.credentials
        c = SalesforceConnector(SalesforceConfig(login_url=sb.base_url, auth="client_credentials",
                                                 client_id=creds["client_id"], client_secret=creds["client_secret"],
                                                 ca_file=sb.server.ca_file),
                                ConnectorContext(system="crm", http=_toolkit()))
        store = sb.state.store
        yield Case(c, "Account", {"Name": "Lost Answer GmbH", "BillingCity": "Berlin"}, lambda: store.count("Account"),
                   sb.app.faults, lambda rid: (store.get("Account", rid) or {}).get("Concord_Id__c"))


def zoho_crm(tmp: Path) -> Iterator[Case]:
    from concord.connectors.zoho_crm import ZohoCrmConfig, ZohoCrmConnector
    from concord.connectors.zoho_crm.sandbox import start

    sb = start(World(3, 20), faults=FaultConfig())
    try:
        cfg = ZohoCrmConfig(accounts_url=sb.extra["accounts_url"], client_id=sb.credentials["client_id"],
                            client_secret=SecretStr(sb.credentials["client_secret"]),
                            refresh_token=SecretStr(sb.credentials["refresh_token"]),
                            external_id_fields=sb.connector_config["external_id_fields"])
        c = ZohoCrmConnector(cfg, ConnectorContext(system="zoho_crm", http=_toolkit()))
        yield Case(c, "Accounts", {"Account_Name": "Lost Answer GmbH"}, lambda: sb.count("Accounts"), sb.app.faults,
                   lambda rid: (sb.record("Accounts", rid) or {}).get("Concord_ID"))
    finally:
        sb.stop()


def fxiaoke(tmp: Path) -> Iterator[Case]:
    from concord.connectors.fxiaoke import FxiaokeConfig, FxiaokeConnector
    from concord.connectors.fxiaoke.sandbox import start

    sb = start(World(seed=3, size=20))
    try:
        cr = sb.credentials
        cfg = FxiaokeConfig(base_url=sb.base_url, app_id=cr["app_id"], app_secret=cr["app_secret"],
                            permanent_code=cr["permanent_code"], current_open_user_id=cr["current_open_user_id"],
                            rate_limit=None, external_id_fields=sb.connector_config["external_id_fields"])
        c = FxiaokeConnector(cfg, ConnectorContext(system="crm_cn", http=_toolkit()))
        store = sb.state
        yield Case(c, "AccountObj", {"name": "丢失应答有限公司", "country": "CN", "mc_currency": "CNY"},
                   lambda: store.count("AccountObj"), sb.app.faults,
                   lambda rid: (store.get("AccountObj", rid) or {}).get("concord_id__c"))
    finally:
        sb.stop()


def oracle_fusion(tmp: Path, version: int = 4) -> Iterator[Case]:
    from concord.connectors.oracle_fusion import OracleFusionConfig, OracleFusionConnector
    from concord.connectors.oracle_fusion.sandbox import start

    sb = start(World(3, 20), faults=FaultConfig(retry_after=0.0), resources=("customerAccounts",))
    try:
        cr = sb.credentials
        cfg = OracleFusionConfig(base_url=sb.base_url, framework_version=version,
                                 auth={"kind": "basic", "user": cr["user"], "password": cr["password"]})
        c = OracleFusionConnector(cfg, ConnectorContext(system="oracle_fusion", http=_toolkit()))
        store = sb.state
        yield Case(c, "customerAccounts", {"AccountName": "Lost Answer GmbH", "CurrencyCode": "EUR"},
                   lambda: store.count("customerAccounts"), sb.app.faults,
                   lambda rid: (store.get("customerAccounts", int(rid)) or {}).get("OrigSystemReference"))
    finally:
        sb.stop()


def oracle_fusion_fw1(tmp: Path) -> Iterator[Case]:
    yield from oracle_fusion(tmp, version=1)


def sap_odata(tmp: Path) -> Iterator[Case]:
    from concord.connectors.sap_odata import SapODataConfig, SapODataConnector
    from concord.connectors.sap_odata.sandbox import start

    sb = start(World(3, 20))
    try:
        bp = "API_BUSINESS_PARTNER"
        # the sandbox's reduced BP model has no extension field: a 40-character name field stands in for one
        cfg = SapODataConfig(service_url=sb.extra["services"][bp], user="CONCORD_SBX",
                             password=sb.credentials["password"], sap_client="100",
                             external_id_fields={"A_BusinessPartner": "OrganizationBPName2"})
        c = SapODataConnector(cfg, ConnectorContext(system="erp", http=_toolkit()))
        store = sb.state.store(bp)
        yield Case(c, "A_BusinessPartner", {"BusinessPartnerCategory": "2", "OrganizationBPName1": "Lost Answer GmbH"},
                   lambda: len(store.tables["A_BusinessPartner"]), sb.app.faults,
                   lambda rid: (store.get("A_BusinessPartner", (rid,)) or {}).get("OrganizationBPName2"),
                   before_write=1)
    finally:
        sb.stop()


def soap_erp(tmp: Path) -> Iterator[Case]:
    from concord.connectors.soap_erp import SoapErpConnector
    from concord.connectors.soap_erp.config import SoapErpConfig
    from concord.connectors.soap_erp.sandbox import default_wsdl, start

    # the Customer page with one more field, Concord_Id (what an integrator adds to the page for Concord)
    raw = default_wsdl().read_text(encoding="utf-8")
    raw, n1 = re.subn(r'(<xsd:element[^>]*name="E_Mail"[^>]*/>)',
                      r'\1<xsd:element minOccurs="0" maxOccurs="1" name="Concord_Id" type="xsd:string"/>', raw, count=1)
    raw, n2 = re.subn(r'(<xsd:enumeration value="E_Mail"\s*/>)', r'\1<xsd:enumeration value="Concord_Id"/>', raw,
                      count=1)
    assert n1 == n2 == 1
    wsdl = tmp / "Customer.wsdl"
    wsdl.write_text(raw, encoding="utf-8")
    with start(World(seed=3, size=20), wsdl=str(wsdl), faults=FaultConfig(rate=0.0)) as sb:
        cfg = dict(sb.connector_config)
        cfg["auth"] = dict(cfg["auth"], password=sb.env["NAV_PASSWORD"])
        cfg["pages"] = [dict(p, external_id_field="Concord_Id") for p in cfg["pages"]]
        c = SoapErpConnector(SoapErpConfig.model_validate(cfg), ConnectorContext(system="erp", http=_toolkit(),
                                                                                   base_dir=str(tmp)))
        store = sb.state
        yield Case(c, "Customer", {"Name": "Lost Answer GmbH", "City": "Berlin"}, store.count, sb.app.faults,
                   lambda rid: (store.get(rid) or {}).get("Concord_Id"))


BUILDERS = [salesforce, zoho_crm, fxiaoke, oracle_fusion, oracle_fusion_fw1, sap_odata, soap_erp]


@pytest.fixture(params=BUILDERS, ids=[b.__name__ for b in BUILDERS])
def case(request, tmp_path: Path) -> Iterator[Case]:
    gen = request.param(tmp_path)
    yield next(gen)
    gen.close()


def test_a_create_whose_answer_is_lost_is_found_by_lookup(case: Case) -> None:
    c = case.connector
    c.entities()                                   # metadata and a token first: the fault hits the create
    assert c.lookup(case.entity, GOLDEN) is None
    before = case.count()
    case.faults.script(*["latency"] * case.before_write, "drop_mid_body")
    [res] = c.write(case.entity, [Change(op="create", entity=case.entity, fields=case.fields, idempotency_key="k1",
                                         golden_id=GOLDEN)])
    assert not res.ok and isinstance(res.error, TransientError), res   # the answer was lost ...
    assert case.count() == before + 1                                 # ... but the record was written
    found = c.lookup(case.entity, GOLDEN)
    assert found, "lookup did not find the record the lost create wrote"
    assert case.ext_value(found) == GOLDEN                             # the create carried Concord's id
    # near misses are no match: another id, a prefix, a LIKE-style wildcard, another case
    for other in ("G-o'Neil", "G-o'Neil\\", "G-o%", "g-o'neil\\7", "G-o'Neil\\7 "):
        assert c.lookup(case.entity, other) is None, other
    assert case.count() == before + 1                                 # lookups write nothing


def test_a_second_create_after_a_lookup_is_not_needed(case: Case) -> None:
    """The ordinary path: a create that succeeded is found too (push links it instead of re-creating)."""
    c = case.connector
    [res] = c.write(case.entity, [Change(op="create", entity=case.entity, fields=case.fields, idempotency_key="k2",
                                         golden_id="G-2")])
    assert res.ok, res.error
    assert c.lookup(case.entity, "G-2") == res.target_id
