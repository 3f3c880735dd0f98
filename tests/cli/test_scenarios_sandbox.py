"""`concord init --scenario order-to-cash --erp sap_odata --crm salesforce --sandbox`, then
`concord sandbox up --project`, `concord check`, `concord sync`: a won Salesforce opportunity becomes one
SAP sales order (deep insert, lines), and SAP's number and statuses come back to the opportunity."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.cli.helpers import sandbox_up
from tests.cli.test_init_systems import _run
from tests.conftest import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture
def o2c(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    folder = tmp_path / "o2c"
    out = json.loads(run_cli("init", "--scenario", "order-to-cash", "--erp", "sap_odata", "--crm", "salesforce",
                             "--sandbox", str(folder), "--json", cwd=tmp_path).stdout)
    assert out["derivations"] == ["won_deal_to_order"], out
    with sandbox_up(folder) as (_lines, env):
        yield folder, env


class _Salesforce:
    """Just enough of the sandbox org's REST API to play the sales rep."""

    def __init__(self, env: dict[str, str]) -> None:
        self.ca = env["CONCORD_SANDBOX_SALESFORCE_CA_FILE"]
        base = env["CONCORD_SANDBOX_SALESFORCE_URL"]
        tok = requests.post(base + "/services/oauth2/token", verify=self.ca, timeout=30, data={
            "grant_type": "client_credentials", "client_id": "3MVG9sandbox.concord.connected.app",
            "client_secret": env["SF_CLIENT_SECRET"]}).json()
        self.h = {"Authorization": "Bearer " + tok["access_token"]}
        self.v = tok.get("instance_url", base) + "/services/data/v59.0"

    def query(self, soql: str) -> list[dict[str, Any]]:
        r = requests.get(self.v + "/query", params={"q": soql}, headers=self.h, verify=self.ca, timeout=30)
        r.raise_for_status()
        return r.json()["records"]

    def insert(self, sobject: str, fields: dict[str, Any]) -> str:
        r = requests.post(f"{self.v}/sobjects/{sobject}", json=fields, headers=self.h, verify=self.ca, timeout=30)
        assert r.status_code == 201, r.text
        return r.json()["id"]


class _Sap:
    def __init__(self, env: dict[str, str]) -> None:
        self.root = env["CONCORD_SANDBOX_SAP_ODATA_URL"] + "/sap/opu/odata/sap/"
        self.auth = ("CONCORD_SBX", env["SAP_PASSWORD"])

    def get(self, path: str, **params: str) -> requests.Response:
        return requests.get(self.root + path, params={"$format": "json", **params}, auth=self.auth, timeout=30)

    def orders(self, reference: str) -> list[dict[str, Any]]:
        r = self.get("API_SALES_ORDER_SRV/A_SalesOrder", **{"$filter": f"PurchaseOrderByCustomer eq '{reference}'",
                                                          "$expand": "to_Item"})
        r.raise_for_status()
        return r.json()["d"]["results"]


def _written(summary: dict[str, Any]) -> int:
    return sum(d.get("written", 0) for per in summary["streams"].values() for d in per.values())


def test_a_won_salesforce_deal_becomes_one_sap_order_and_its_number_comes_back(
        o2c: tuple[Path, dict[str, str]]) -> None:
    folder, env = o2c
    assert "ok:" in _run("check", cwd=folder, env=env).stdout
    first = json.loads(_run("sync", "--json", cwd=folder, env=env).stdout)
    assert first["status"] == "success", first
    assert first["golden_records"]["account"] > 0 and first["golden_records"]["sales_order"] > 0
    # history is not re-ordered: deals won before go-live create nothing in SAP
    assert first["streams"]["sap_odata"]["sales_order"]["written"] == 0, first

    sf, sap = _Salesforce(env), _Sap(env)
    # a customer linked to SAP (Concord wrote SAP's number onto it) and two products SAP knows
    account = next(a for a in sf.query("SELECT Id, AccountNumber FROM Account WHERE AccountNumber != null")
                   if sap.get(f"API_BUSINESS_PARTNER/A_BusinessPartner('{a['AccountNumber']}')").status_code == 200)
    materials = {p["Product"] for p in sap.get("API_PRODUCT_SRV/A_Product", **{"$select": "Product"}).json()["d"]["results"]}
    entries = [e for e in sf.query("SELECT Id, UnitPrice, Pricebook2Id, Product2.ProductCode FROM PricebookEntry")
               if e["Product2"]["ProductCode"] in materials][:2]
    assert len(entries) == 2
    opp = sf.insert("Opportunity", {"AccountId": account["Id"], "Name": "Scenario deal 1", "StageName": "Closed Won",
                                    "CloseDate": dt.date.today().isoformat(), "Amount": 1000.0,
                                    "CurrencyIsoCode": "EUR", "Pricebook2Id": entries[0]["Pricebook2Id"]})
    for i, e in enumerate(entries):
        sf.insert("OpportunityLineItem", {"OpportunityId": opp, "PricebookEntryId": e["Id"], "Quantity": 2 + i,
                                          "UnitPrice": e["UnitPrice"]})

    plan = json.loads(_run("plan", "--json", cwd=folder, env=env).stdout)
    assert [c["system"] for c in plan["planned"] if c["entity"] == "sales_order"] == ["sap_odata"]

    second = json.loads(_run("sync", "--json", cwd=folder, env=env).stdout)
    assert second["status"] == "success", second
    orders = sap.orders("Scenario deal 1")
    assert len(orders) == 1                                   # one SAP order for the one won deal
    order = orders[0]
    assert order["SoldToParty"] == account["AccountNumber"]   # the customer, resolved through the cross-reference
    assert [(i["Material"], float(i["RequestedQuantity"])) for i in order["to_Item"]["results"]] == [
        (entries[0]["Product2"]["ProductCode"], 2.0), (entries[1]["Product2"]["ProductCode"], 3.0)]
    back = sf.query(f"SELECT ERP_Order_Number__c, ERP_Order_Status__c, Delivery_Status__c FROM Opportunity "
                    f"WHERE Id = '{opp}'")[0]
    assert back["ERP_Order_Number__c"] == order["SalesOrder"]  # SAP's number, in the same sync
    assert back["ERP_Order_Status__c"] == "Open" and back["Delivery_Status__c"] == "Not Delivered"

    third = json.loads(_run("sync", "--json", cwd=folder, env=env).stdout)
    assert _written(third) == 0                               # settled
    assert len(sap.orders("Scenario deal 1")) == 1
