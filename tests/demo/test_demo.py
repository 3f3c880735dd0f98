"""`concord demo` on a small world: every sandbox, two cycles, a summary, a ready warehouse, and the business
outcome checked against the sandboxes themselves (read through the connectors with the demo's mappings):

- each won deal is one ERP sales order with the deal's customer, products and quantities, and the ERP's number and
  status are on the deal in the CRM (Zoho, whose deals have no lines: on the deal's sales order in Zoho);
- each CRM account of an ERP customer holds the open and overdue receivables of that customer's ERP invoices
  (computed by hand), and its lifetime value (the KPI) equals the customer's invoiced amounts;
- the CRMs hold the ERPs' products with their stock.

The demo runs in this process (as `concord demo --serve` does) so its sandboxes are still up for the checks.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from concord.hub.cli.scenario_packs import load_pack
from concord.hub.config import load_project
from concord.hub.demo.profiles import PROFILES
from concord.hub.demo.runner import Demo, parse_size, run
from concord.hub.engine.context import RunContext
from concord.hub.errors import HubError
from concord.hub.http import HttpToolkit
from tests.conftest import run_cli

OPEN = ("open", "partially_paid", "overdue")
NOT_ISSUED = ("draft", "cancelled")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Demo, dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("demo") / "demo"
    saved = dict(os.environ)
    d = Demo(folder, parse_size("small"), 42)
    try:
        yield d, json.loads(json.dumps(run(d), default=str))
    finally:
        d.stop()
        os.environ.clear()
        os.environ.update(saved)


class Systems:
    """The demo project's connectors and mappings, to read each vendor as it is now."""

    def __init__(self, config: Path) -> None:
        self.project = load_project(config)
        self.ctx = RunContext(self.project, None, HttpToolkit())
        self._read: dict[tuple[str, str], list[tuple[dict[str, Any], Any]]] = {}

    def read(self, entity: str, system: str) -> list[tuple[dict[str, Any], Any]]:
        if (entity, system) not in self._read:
            self._read[entity, system] = self._read_now(entity, system)
        return self._read[entity, system]

    def _read_now(self, entity: str, system: str) -> list[tuple[dict[str, Any], Any]]:
        m, out = self.project.mapping(entity, system), []
        for r in (dict(r) for p in self.ctx.connector(system).read(m.source) for r in p.records):
            try:
                out.append((r, m.to_canonical(r)))
            except HubError:
                continue
        return out


def test_demo_runs_two_cycles_and_leaves_a_ready_project(demo: tuple[Demo, dict[str, Any]]) -> None:
    d, s = demo
    folder = d.folder
    # every vendor connector whose sandbox and mapping work took part; anything left out says why
    left_out = {n.split(" ")[0] for n in s["notes"] if " left out: " in n}
    assert set(s["systems"]) | left_out >= set(PROFILES), s["notes"]
    assert len(s["systems"]) >= 2
    full, incremental = s["cycles"]
    assert full["status"] == "success" and incremental["status"] == "success", s["cycles"]
    assert full["linked"] > 0 and full["written"] > 0 and full["new_golden"] > 0
    assert incremental["read"] < full["read"]                     # incremental, not a second full load
    assert s["golden_records"]["account"] > 0 and s["links"] > s["golden_records"]["account"]
    assert s["golden_in_several_systems"] > 0
    assert all(s["api_calls"][n] > 0 for n in s["systems"])
    for name, recs in s["records_per_system"].items():
        assert recs.get("account", 0) > 0, name
    assert {e["system"] for e in s["edits"]} >= set(s["systems"]) & {"salesforce", "oracle_fusion"}
    assert incremental["written"] > 0                             # the edits travelled to the other systems
    # the project is ready for the dashboard, and no secret is in it
    cfg = (folder / "concord.yaml").read_text(encoding="utf-8")
    assert "concord dashboard -c " in s["next"] and s["next"].startswith(". ") and (folder / "concord.db").exists()
    for name in s["systems"]:
        assert (folder / "mappings" / name / "account.yaml").exists()
    assert "${" in cfg
    for line in cfg.splitlines():
        if any(k in line for k in ("password:", "secret:", "refresh_token:", "permanent_code:")):
            assert "${" in line, line
    # after the demo, the warehouse answers `concord status` with the sandbox credentials file
    env_file = Path(s["env_file"])
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    env = dict(line[len("export "):].split("=", 1) for line in env_file.read_text().splitlines()
               if line.startswith("export "))
    assert len(env.get("CONCORD_DASHBOARD_TOKEN", "").strip("'")) >= 20   # the token the dashboard asks for
    status = json.loads(run_cli("status", "-c", str(folder / "concord.yaml"), "--json", env=env).stdout)
    assert status["golden"]["account"] == s["golden_records"]["account"]


def test_won_deals_are_one_erp_order_each_with_number_and_status_back_in_the_crm(
        demo: tuple[Demo, dict[str, Any]]) -> None:
    d, s = demo
    orders = s["business"]["orders"]
    # Salesforce (-> Oracle) and Fxiaoke (-> NAV) deals have lines; Zoho's (-> SAP) have none: its rep raises the
    # deal's sales order in Zoho, and that order goes to the ERP
    assert {(o["crm"], o["erp"], o["entity"]) for o in orders} == {
        ("salesforce", "oracle_fusion", "opportunity"), ("fxiaoke", "soap_erp", "opportunity"),
        ("zoho_crm", "sap_odata", "sales_order")}, orders
    systems = Systems(d.config_path)
    for o in orders:
        crm, erp = o["crm"], o["erp"]
        skus = {raw_id: c.sku for raw_id, c in ((_id(r), c) for r, c in systems.read("product", crm))}
        in_erp = [(r, c) for r, c in systems.read("sales_order", erp) if c.customer_reference == o["deal"]]
        assert len(in_erp) == 1, (erp, o["deal"], in_erp)                  # one order, not two
        _raw, order = in_erp[0]
        want = [(skus[ln["product_id"]], Decimal(ln["quantity"])) for ln in o["lines"]]
        assert [(ln.sku, ln.quantity) for ln in order.lines] == want
        if erp == "oracle_fusion":                                        # Oracle takes the deal's prices
            assert [ln.unit_price for ln in order.lines] == [Decimal(ln["unit_price"]) for ln in o["lines"]]
        assert order.net_amount == sum((ln.net_amount for ln in order.lines), Decimal(0))   # computed by the ERP
        in_crm = next(c for r, c in systems.read(o["entity"], crm) if _id(r) == o["deal_id"])
        number, status = ((in_crm.erp_order_number, in_crm.order_status) if o["entity"] == "opportunity"
                          else (in_crm.order_number, in_crm.status))
        assert order.order_number and number == order.order_number == o["order_number"]
        assert status == order.status is not None
        customer = next(c for r, c in systems.read("account", crm) if _id(r) == _account_id(crm, o, systems))
        assert _sold_to(systems, erp, _raw, order) == customer.erp_customer_number   # through the cross-reference
    created = s["business"]["orders_created"]
    assert sum(created.values()) == len(orders) and all(created[o["erp"]] >= 1 for o in orders)


def test_crm_accounts_hold_the_erp_receivables_and_kpis_and_crms_the_erp_products(
        demo: tuple[Demo, dict[str, Any]]) -> None:
    d, s = demo
    systems = Systems(d.config_path)
    # each invoice as survivorship makes it: per field, the first system in rank that has a value (SAP's open
    # amount of a partly cleared invoice is only in FI, so a CRM's invoice record may supply it)
    rank = systems.project.config.entities["invoice"].survivorship.priority
    held = {n: {c.invoice_number: c for _r, c in systems.read("invoice", n)} for n in rank}
    erps = [n for n in rank if PROFILES[n].role == "erp"]

    def pick(number: str, f: str) -> Any:
        return next((getattr(held[n][number], f) for n in rank
                     if number in held[n] and getattr(held[n][number], f) is not None), None)

    today = dt.date.today()
    hand: dict[str, list[Decimal]] = {}
    for number in {num for n in erps for num in held[n]}:
        o, od, ltv = hand.setdefault(pick(number, "customer_number"), [Decimal(0)] * 3)
        status, open_amount, due, amount = (pick(number, f) for f in ("status", "open_amount", "due_date", "amount"))
        if status in OPEN and open_amount is not None:
            o += open_amount
            if due is not None and due < today:
                od += open_amount
        if status not in NOT_ISSUED and amount is not None:
            ltv += amount
        hand[pick(number, "customer_number")] = [o, od, ltv]
    assert len(hand) >= 5 and any(v[0] > 0 for v in hand.values())
    for crm, figures in s["business"]["crms"].items():
        checked = 0
        kpi_field = load_pack("order-to-cash")["kpis"][0]["crm_fields"][crm]    # written only (direction: out)
        for raw, acc in systems.read("account", crm):
            if acc.erp_customer_number not in hand:
                continue
            o, od, ltv = hand[acc.erp_customer_number]
            assert (acc.open_receivables, acc.overdue_receivables) == (o, od), (crm, acc.erp_customer_number)
            ltv_in_crm, exposure_in_crm = (Decimal(str(raw[kpi_field[f]])) for f in ("lifetime_value", "credit_exposure"))
            assert ltv_in_crm == ltv, (crm, acc.erp_customer_number)               # the KPI, by hand
            assert exposure_in_crm >= o                                            # open receivables + open orders
            checked += 1
        assert checked >= 5, crm
        assert figures["accounts_with_kpis"] >= checked
        # the catalogue: the ERPs' products with their stock reach the CRM
        erp_skus = {c.sku for erp in ("sap_odata", "oracle_fusion", "soap_erp") if erp in s["systems"]
                    for _r, c in systems.read("product", erp)}
        crm_products = [c for _r, c in systems.read("product", crm)]
        assert erp_skus <= {c.sku for c in crm_products}
        assert figures["products"] >= len(erp_skus) and figures["products_in_stock"] > 0


def test_the_summary_is_printed_with_the_business_flows(demo: tuple[Demo, dict[str, Any]]) -> None:
    from concord.hub.cli import cmd_demo, common

    _d, s = demo
    buf = io.StringIO()
    saved = common.console.file
    common.console.file = buf
    try:
        cmd_demo._render(s)
    finally:
        common.console.file = saved
    text = buf.getvalue()
    for o in s["business"]["orders"]:
        assert f"-> {o['erp']} sales order {o['order_number']}" in text
    assert "lifetime value" in text and "open" in text


def _id(raw: dict[str, Any]) -> str:
    return str(raw.get("Id") or raw.get("_id") or raw.get("id"))


def _sold_to(systems: Systems, erp: str, raw: dict[str, Any], order: Any) -> str:
    """The ERP customer number the order is for, as the ERP records it (Oracle: its bill-to customer account)."""
    if erp != "oracle_fusion":
        return str(order.customer_number)
    account_id = raw["billToCustomer"][0]["CustomerAccountId"]
    return next(c.erp_customer_number for r, c in systems.read("account", erp) if r["CustomerAccountId"] == account_id)


def _account_id(crm: str, order: dict[str, Any], systems: Systems) -> str:
    raw = next(r for r, _c in systems.read(order["entity"], crm) if _id(r) == order["deal_id"])
    return str(raw.get("AccountId") or raw.get("account_id") or raw["Account_Name"]["id"])


def test_sizes() -> None:
    assert parse_size("small") == 30 and parse_size("7") == 7
