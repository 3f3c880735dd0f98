"""The shared contract suite against the Oracle Fusion sandbox, for framework 4 (Basic) and 2 (OAuth) and 1."""
from __future__ import annotations

import pytest

from concord.hub.contracts import ConnectorContext
from concord.hub.http import HttpToolkit, RetryPolicy
from concord.hub.sandbox import FaultConfig
from concord.hub.sandbox.world import World
from concord.connectors.oracle_fusion import OracleFusionConfig, OracleFusionConnector
from concord.connectors.oracle_fusion.sandbox import start
from tests.contract import *  # noqa: F401,F403
from tests.contract import ContractCase

ENTITY = "customerAccounts"


def make_connector(sandbox, *, version: int = 4, oauth: bool = False, bad: bool = False, **over) -> OracleFusionConnector:
    creds = sandbox.credentials
    if oauth:
        auth = {"kind": "oauth", "token_url": f"{sandbox.base_url}/oauth2/v1/token", "client_id": creds["client_id"],
                "client_secret": "wrong-secret" if bad else creds["client_secret"]}
    else:
        auth = {"kind": "basic", "user": creds["user"], "password": "wrong" if bad else creds["password"]}
    cfg = OracleFusionConfig(base_url=sandbox.base_url, auth=auth, framework_version=version, page_size=7, **over)
    toolkit = HttpToolkit(policy=RetryPolicy(backoff_base=0.001, backoff_max=0.01), sleep=lambda s: None)
    return OracleFusionConnector(cfg, ConnectorContext(system="oracle_fusion", http=toolkit))


@pytest.fixture(scope="module", params=[(4, False), (2, True), (1, False)], ids=["fw4-basic", "fw2-oauth", "fw1-basic"])
def sandbox(request):
    sb = start(World(7, 40), faults=FaultConfig(retry_after=0.0),
               resources=("customerAccounts", "itemsV2", "salesOrdersForOrderHub", "receivablesInvoices"))
    sb.extra["case"] = request.param
    yield sb
    sb.stop()


def _new(n: int) -> dict:
    return {"AccountName": f"Contract Test {n} GmbH", "CurrencyCode": "EUR", "CreditLimit": 1000 * n,
            "customerAccountSites": [{"SiteUseCode": "BILL_TO", "PrimaryFlag": True, "Address1": f"Teststr. {n}",
                                      "City": "Berlin", "PostalCode": "10115", "Country": "DE"}]}


@pytest.fixture
def contract_case(sandbox) -> ContractCase:
    version, oauth = sandbox.extra["case"]
    sandbox.app.faults.clear()
    store = sandbox.state

    def read_back(target_id: str):
        return store.get(ENTITY, int(target_id))

    return ContractCase(
        connector=make_connector(sandbox, version=version, oauth=oauth),
        entity=ENTITY,
        expected_count=lambda: store.count(ENTITY),
        new_fields=_new,
        update_fields={"AccountName": "Renamed By Contract", "PaymentTerms": "NET45"},
        invalid_fields={"AccountName": None, "CurrencyCode": "EUR"},
        bad_credentials=lambda: make_connector(sandbox, version=version, oauth=oauth, bad=True),
        faults=sandbox.app.faults,
        read_back=read_back,
    )
