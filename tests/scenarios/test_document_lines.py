"""Document lines written into a CRM with the CRM's own product ids (mapping `write_ref`, resolved through the
golden product and the cross-reference at push time), end to end against the sandboxes.

The project is order-to-cash + catalogue for SAP and a CRM, plus one project-file change an integrator would make
to mirror the ERP's orders into the CRM: the CRM's sales-order mapping as a source and a `create` rule to it. Every
SAP order of a customer the CRM holds arrives with its lines, each naming the CRM product of its sku (Salesforce:
the PricebookEntry of the standard price book, found by the connector). Without the catalogue (products are not
synced), the order's writes are blocked with a reason that names the product, not sent without lines.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import ROOT
from tests.cli.helpers import sandbox_up
from tests.conftest import run_cli
from tests.scenarios.helpers import Systems, cli
from tests.scenarios.helpers import written as written_in

pytestmark = pytest.mark.slow
#: Fxiaoke is left out here: Concord never creates its accounts and SAP products carry no price (Fxiaoke requires
#: one), so in the sandbox world no SAP order has both its customer and all its products in Fxiaoke; its orders
#: wait, blocked with both reasons (tests/mapping/test_write_ref.py covers the misses that make a write wait)
CRMS = ("salesforce",)


def _project(tmp_path: Path, crm: str, scenarios: tuple[str, ...]) -> Path:
    folder = tmp_path / f"lines-{crm}"
    run_cli("init", *(a for s in scenarios for a in ("--scenario", s)), "--erp", "sap_odata", "--crm", crm,
            "--sandbox", str(folder), "--json", cwd=tmp_path)
    doc = yaml.safe_load((folder / "concord.yaml").read_text(encoding="utf-8"))
    target = folder / "mappings" / crm / "sales_order.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "mappings" / crm / "sales_order.yaml", target)
    order = doc["entities"]["sales_order"]
    order["sources"][crm] = {"mapping": f"mappings/{crm}/sales_order.yaml"}
    order.setdefault("match", [{"name": "order_number", "fields": ["order_number"]}])
    order["sync"].append({"target": crm, "mode": "create"})
    (folder / "concord.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return folder


@pytest.fixture(params=CRMS)
def mirrored(request, tmp_path: Path, database_url: str) -> Iterator[tuple[str, Path, dict[str, str]]]:
    folder = _project(tmp_path, request.param, ("order-to-cash", "catalogue"))
    with sandbox_up(folder) as (_lines, env):
        yield request.param, folder, {**env, "CONCORD_DATABASE_URL": database_url}


def test_erp_orders_reach_the_crm_with_lines_naming_the_crms_products(mirrored) -> None:
    crm, folder, env = mirrored
    assert "ok:" in run_cli("check", cwd=folder, env=env).stdout
    s = Systems(folder, env)
    before = {_product_id(crm, r) for r, _c in s.canonical("sales_order", crm)}     # the CRM's own orders
    summary = cli(folder, env, "sync")
    assert summary["status"] in ("success", "partial"), summary
    # what may fail does so with the vendor's reason (Salesforce: an order in a currency its products have no
    # price book entry in; Fxiaoke: a product without the price it requires, an order whose sold-to party is not
    # linked); never a line sent without its product
    dead = json.loads(run_cli("deadletter", "list", "--json", cwd=folder, env=env, check=False).stdout)["items"]
    messages = [(d.get("last_error") or {}).get("message", "") for d in dead]
    assert all(messages) and not any("product_id" in m or "PricebookEntryId" in m for m in messages), messages
    try:
        sap = {c.order_number: c for _r, c in s.canonical("sales_order", "sap_odata")}
        products = {c.sku: r for r, c in s.canonical("product", crm)}
        written = [(r, c) for r, c in s.canonical("sales_order", crm)
                   if c.order_number in sap and _product_id(crm, r) not in before]            # created by Concord
        assert written, f"no SAP order reached {crm}"
        assert len(written) == len({c.order_number for _r, c in written})        # each once (failed ones undone)
        for raw, order in written:
            want = sap[order.order_number]
            assert [(ln.sku, ln.quantity) for ln in order.lines] == [(ln.sku, ln.quantity) for ln in want.lines]
            ids = _line_product_ids(crm, raw)
            assert ids == [_product_id(crm, products[ln.sku]) for ln in want.lines]   # the CRM's own products
            assert all(isinstance(ln.net_amount, Decimal) for ln in order.lines)     # computed by the CRM
    finally:
        s.close()
    again = cli(folder, env, "sync")
    assert written_in(again) == 0, again       # the lines read back are the lines written: nothing to rewrite


def _line_product_ids(crm: str, raw: dict[str, Any]) -> list[str]:
    if crm == "salesforce":
        return [r["Product2Id"] for r in raw["OrderItems"]["records"]]
    return [r["product_id"] for r in raw["SalesOrderProductObj"]]


def _product_id(crm: str, raw: dict[str, Any]) -> str:
    """The record's id in the CRM (products, orders)."""
    return raw["Id"] if crm == "salesforce" else raw["_id"]


def test_without_the_catalogue_the_order_is_blocked_and_names_the_product(tmp_path: Path, database_url: str) -> None:
    folder = _project(tmp_path, "salesforce", ("order-to-cash",))
    with sandbox_up(folder) as (_lines, env):
        env = {**env, "CONCORD_DATABASE_URL": database_url}
        summary = cli(folder, env, "sync")
        errors = [e for d in summary["streams"]["salesforce"].values() for e in d.get("errors") or ()]
        assert any("blocked" in e for e in errors), summary
        status = json.loads(run_cli("status", "--json", cwd=folder, env=env, check=False).stdout)
    reasons = json.dumps(status)
    assert "product is not synced by this project" in reasons, reasons[:3000]
