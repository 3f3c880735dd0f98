"""The shared contract suite for the SOAP ERP connector against its NAV sandbox (real zeep over loopback)."""
from __future__ import annotations

import pytest

from concord.connectors.soap_erp import SoapErpConnector
from concord.connectors.soap_erp.config import SoapErpConfig
from concord.connectors.soap_erp.sandbox import start
from concord.hub.contracts import ConnectorContext
from concord.hub.http import HttpToolkit
from concord.hub.sandbox import FaultConfig
from concord.hub.sandbox.world import World
from tests.contract import *  # noqa: F401,F403
from tests.contract import ContractCase


def make_connector(sandbox, *, password: str | None = None, page_size: int = 7) -> SoapErpConnector:
    cfg = dict(sandbox.connector_config)
    cfg["auth"] = dict(cfg["auth"], password=password or sandbox.env["NAV_PASSWORD"])
    cfg["pages"] = [dict(p, page_size=page_size) for p in cfg["pages"]]
    toolkit = HttpToolkit(sleep=lambda _s: None)
    return SoapErpConnector(SoapErpConfig.model_validate(cfg), ConnectorContext(system="erp", http=toolkit))


@pytest.fixture
def sandbox():
    with start(World(seed=7, size=40), faults=FaultConfig(rate=0.0)) as sb:
        yield sb


@pytest.fixture
def contract_case(sandbox) -> ContractCase:
    store = sandbox.state
    return ContractCase(
        connector=make_connector(sandbox),
        entity="Customer",
        expected_count=store.count,
        new_fields=lambda i: {"Name": f"Contract Customer {i} GmbH", "City": "Berlin", "Country_Region_Code": "DE",
                              "Credit_Limit_LCY": "25000.00", "E_Mail": f"c{i}@example.com"},
        update_fields={"City": "Hamburg", "Phone_No": "+49 40 123456"},
        invalid_fields={"Name": "X" * 61, "Country_Region_Code": "DE"},
        bad_credentials=lambda: make_connector(sandbox, password="wrong-password"),
        faults=sandbox.app.faults,
        read_back=store.get,
    )
