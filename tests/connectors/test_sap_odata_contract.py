"""The shared contract suite, through pyodata, against the SAP OData sandbox (A_BusinessPartner)."""
from __future__ import annotations

import pytest

from concord.connectors.sap_odata import SapODataConfig, SapODataConnector
from concord.connectors.sap_odata.sandbox import start
from concord.hub.contracts import ConnectorContext
from concord.hub.http import HttpToolkit
from concord.hub.sandbox.world import World
from tests.contract import *  # noqa: F401,F403
from tests.contract import ContractCase

BP = "API_BUSINESS_PARTNER"


@pytest.fixture(scope="module")
def sandbox():
    sb = start(World(7, 80), max_page_size=9)
    yield sb
    sb.stop()


def make_connector(sb, password: str | None = None, **overrides) -> SapODataConnector:
    cfg = SapODataConfig(service_url=sb.extra["services"][BP], user="CONCORD_SBX",
                         password=password or sb.credentials["password"], sap_client="100",
                         **{"page_size": 25, **overrides})
    return SapODataConnector(cfg, ConnectorContext(system="erp", http=HttpToolkit(sleep=lambda s: None)))


@pytest.fixture
def contract_case(sandbox) -> ContractCase:
    store = sandbox.state.store(BP)
    sandbox.app.faults.clear()

    def read_back(target_id: str):
        row = store.get("A_BusinessPartner", (target_id,))
        return dict(row) if row else None

    return ContractCase(
        connector=make_connector(sandbox),
        entity="A_BusinessPartner",
        expected_count=lambda: sum(1 for r in store.tables["A_BusinessPartner"].values()
                                   if not r.get("IsMarkedForArchiving")),
        new_fields=lambda i: {"BusinessPartnerCategory": "2", "OrganizationBPName1": f"Contract {i} GmbH",
                              "SearchTerm1": f"CONTRACT{i}"},
        update_fields={"OrganizationBPName1": "Contract Renamed GmbH"},
        invalid_fields={"OrganizationBPName1": "No Category GmbH"},   # the server requires a BP category
        bad_credentials=lambda: make_connector(sandbox, password="wrong-password"),
        faults=sandbox.app.faults,
        read_back=read_back,
    )
