"""The shared contract suite against the Zoho CRM sandbox (Accounts: >2000 rows and >50 columns)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from tests.connectors.test_zoho_crm_helpers import connector, sandbox
from tests.contract import *  # noqa: F401,F403
from tests.contract import ContractCase


@pytest.fixture(scope="module")
def zoho_sandbox() -> Iterator:
    # 3000 companies at a 0.75 share: ~2250 Accounts, past the 2000 records page numbers reach
    sb = sandbox(3000, shares={"Accounts": 0.75}, modules=("Accounts",))
    assert sb.count("Accounts") > 2000
    yield sb
    sb.stop()


@pytest.fixture
def contract_case(zoho_sandbox) -> ContractCase:
    sb = zoho_sandbox
    sb.app.faults.clear()
    return ContractCase(
        connector=connector(sb), entity="Accounts",
        expected_count=lambda: sb.count("Accounts"),
        new_fields=lambda i: {"Account_Name": f"Contract Test {i} GmbH", "Industry": "Retail", "Employees": 10 + i,
                              "Billing_Country": "Germany"},
        update_fields={"Phone": "+49301234567", "Annual_Revenue": 125000.0},
        invalid_fields={"Industry": "Retail"},          # Account_Name missing -> MANDATORY_NOT_FOUND
        bad_credentials=lambda: connector(sb, refresh_token=SecretStr("1000.not-a-valid-refresh-token")),
        faults=sb.app.faults, read_back=lambda rid: sb.record("Accounts", rid), op_for_create="create")
