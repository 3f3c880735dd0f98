"""The shared connector contract suite, driven through simple-salesforce against the HTTPS sandbox."""
from __future__ import annotations

import pytest

from concord.hub.contracts import ConnectorContext
from concord.hub.http import HttpToolkit
from concord.hub.sandbox import FaultConfig
from concord.hub.sandbox.world import World
from concord.connectors.salesforce import SalesforceConfig, SalesforceConnector
from concord.connectors.salesforce.sandbox import start
from tests.contract import *  # noqa: F401,F403
from tests.contract import ContractCase


@pytest.fixture(scope="module")
def sandbox():
    with start(World(11, 300), faults=FaultConfig(retry_after=0.01)) as running:
        yield running


def make_connector(running, **overrides) -> SalesforceConnector:
    creds = running.credentials
    cfg = dict(login_url=running.base_url, auth="client_credentials", client_id=creds["client_id"],
               client_secret=creds["client_secret"], ca_file=running.server.ca_file, page_size=200)
    cfg.update(overrides)
    toolkit = HttpToolkit(sleep=lambda s: None)
    return SalesforceConnector(SalesforceConfig(**cfg), ConnectorContext(system="crm", http=toolkit))


@pytest.fixture
def contract_case(sandbox) -> ContractCase:
    store = sandbox.state.store
    sandbox.app.faults.clear()
    return ContractCase(
        connector=make_connector(sandbox),
        entity="Account",
        expected_count=lambda: store.count("Account"),
        new_fields=lambda n: {"Name": f"Contract Account {n}", "BillingCity": "Berlin", "Type": "Prospect"},
        update_fields={"BillingCity": "Hamburg"},
        invalid_fields={"BillingCity": "No Name"},      # Name is required: REQUIRED_FIELD_MISSING
        bad_credentials=lambda: make_connector(sandbox, client_secret="wrong"),
        faults=sandbox.app.faults,
        read_back=lambda rid: store.get("Account", rid),
        op_for_create="upsert",
    )
