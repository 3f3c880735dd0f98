"""Sales reps win deals between the demo's two cycles: one won opportunity with two product lines per CRM that
has deal lines (Salesforce, Fxiaoke), or the won deal's sales order where deals have no lines (Zoho), for an
account that its fulfilling ERP holds as a customer, with products that ERP sells.

The deals are written through the CRM's connector (the rep's UI writes the same objects): Salesforce an
Opportunity with OpportunityLineItems by Product2Id (the connector resolves the standard price book entries),
Fxiaoke a NewOpportunityObj with its NewOpportunityLinesObj lines. The incremental cycle then creates each
deal's order in its ERP (the order-to-cash derivation) and writes the ERP's number and status back to the deal.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from concord.hub.contracts import Change
from concord.hub.warehouse.stores import staging, xrefs

#: per CRM: the raw fields of a won deal (account source id, name, currency, lines (product id, qty, price))
Lines = list[tuple[str, Decimal, Decimal]]


def _salesforce(account: str, name: str, currency: str, lines: Lines, today: str) -> dict[str, Any]:
    return {"AccountId": account, "Name": name, "StageName": "Closed Won", "CloseDate": today,
            "CurrencyIsoCode": currency, "OpportunityLineItems": {"records": [
                {"Product2Id": pid, "Quantity": float(q), "UnitPrice": float(p)} for pid, q, p in lines]}}


def _fxiaoke(account: str, name: str, currency: str, lines: Lines, today: str) -> dict[str, Any]:
    return {"name": name, "account_id": account, "sales_stage": "5", "sales_status": "2", "close_date": today,
            "mc_currency": currency, "NewOpportunityLinesObj": [
                {"product_id": pid, "quantity": str(q), "sales_price": str(p), "line_no__c": str(n)}
                for n, (pid, q, p) in enumerate(lines, 1)]}


def _zoho_crm(account: str, name: str, currency: str, lines: Lines, today: str) -> dict[str, Any]:
    """Zoho deals have no lines: the rep raises the won deal's Sales Order (Ordered_Items); its Subject is left to
    the connector ("Order <Purchase_Order>", connectors/zoho_crm/README.md)."""
    return {"Account_Name": {"id": account}, "Purchase_Order": name, "Order_Date": today, "Status": "Created",
            "Currency": currency, "Ordered_Items": [
                {"Product_Name": {"id": pid}, "Quantity": float(q), "List_Price": float(p)} for pid, q, p in lines]}


Build = Callable[[str, str, str, Lines, str], dict[str, Any]]
#: per CRM: what the rep writes (a won deal with lines: opportunity; a sales order: sales_order) and how
WON_DEAL: dict[str, tuple[str, Build]] = {
    "salesforce": ("opportunity", _salesforce), "fxiaoke": ("opportunity", _fxiaoke),
    "zoho_crm": ("sales_order", _zoho_crm)}


def _linked(conn: Any, entity: str, system: str) -> dict[str, str]:
    """golden id -> the system's source id, for the entity's linked records."""
    return {g: sid for sid, g in xrefs.links(conn, entity, system).get(system, {}).items()}


def plan_deal(conn: Any, crm: str, erp: str) -> tuple[str, str, Lines] | None:
    """(CRM account id, currency, lines by CRM product id) for a deal the ERP can fulfil, or None."""
    accounts, erp_accounts = _linked(conn, "account", crm), _linked(conn, "account", erp)
    shared = sorted(g for g in accounts if g in erp_accounts)
    products, erp_products = _linked(conn, "product", crm), _linked(conn, "product", erp)
    canon = staging.canonical_of(conn, crm, "product")
    sellable = [(products[g], canon.get(products[g], {})) for g in sorted(products) if g in erp_products]
    sellable = [(pid, c) for pid, c in sellable if c.get("list_price") not in (None, "") and c.get("active") is not False]
    if not shared or not sellable:
        return None
    currency = str(sellable[0][1].get("currency") or "EUR")
    chosen = [(pid, c) for pid, c in sellable if (c.get("currency") or currency) == currency][:2]
    lines = [(pid, Decimal(2 + i), Decimal(str(c["list_price"])).quantize(Decimal("0.01")))
             for i, (pid, c) in enumerate(chosen)]
    return accounts[shared[0]], currency, lines


def win_deals(wh: Any, ctx: Any, routes: dict[str, str],
              today: dt.date | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """One won deal (or, where deals have no lines, its sales order) per CRM of ``routes``; returns (deals, notes)."""
    day = (today or dt.date.today()).isoformat()
    deals, notes = [], []
    for crm, erp in sorted(routes.items()):
        entity, build = WON_DEAL.get(crm, ("", None))
        if build is None or entity not in ctx.project.config.entities or \
                crm not in ctx.project.config.entities[entity].sources:
            continue
        with wh.tx() as conn:
            plan = plan_deal(conn, crm, erp)
        if plan is None:
            notes.append(f"{crm}: no account that {erp} holds and no product both sell: no deal won")
            continue
        account, currency, lines = plan
        name = f"Demo deal {crm} for {erp}"
        source = ctx.project.mapping(entity, crm).source
        try:
            [res] = ctx.connector(crm).write(source, [Change(op="create", entity=source, fields=build(
                account, name, currency, lines, day), idempotency_key=f"demo-deal-{crm}")])
        except Exception as exc:
            notes.append(f"{crm}: the demo deal could not be written ({type(exc).__name__}: {exc})")
            continue
        if not res.ok:
            notes.append(f"{crm}: the demo deal was refused ({res.error})")
            continue
        deals.append({"crm": crm, "erp": erp, "entity": entity, "deal_id": str(res.target_id), "deal": name,
                      "currency": currency,
                      "lines": [{"product_id": p, "quantity": str(q), "unit_price": str(u)} for p, q, u in lines]})
    return deals, notes
