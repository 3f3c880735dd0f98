"""Project the shared world into a Salesforce org: Accounts, Contacts, Products with a
standard price book, Orders with their items, and Opportunities, with realistic noise.

Timestamps come from the world (whole minutes), so many records share a
``SystemModstamp``: exactly the ties an incremental reader must survive.
"""
from __future__ import annotations

import datetime as dt

from concord.hub.sandbox.world import BASE_TIME, World
from concord.connectors.salesforce.sandbox.describes import INDUSTRIES
from concord.connectors.salesforce.sandbox.store import Store

COUNTRY_NAMES = {"DE": "Germany", "FR": "France", "GB": "United Kingdom", "US": "United States", "NL": "Netherlands",
                 "CN": "China"}
ORDER_STATUS = {"open": "Activated", "in_process": "In Process", "completed": "Completed", "cancelled": "Cancelled"}
SHARES = {"company": 0.8, "person": 0.8, "product": 0.9, "order": 0.6, "opportunity": 0.3}
SYSTEM = "salesforce"


def seed(store: Store, world: World, *, accounts: int | None = None, now: dt.datetime | None = None) -> dict[str, int]:
    """Fill the store; returns counts per sObject. ``accounts`` caps how many companies are read.

    World times are shifted (by whole minutes, keeping every tie) so that the newest record
    was modified just before ``now``: a live org, inside Salesforce's delete-retention window.
    """
    shift = _shift(now or dt.datetime.now(dt.timezone.utc))
    _ins = store.insert

    def insert(sobject: str, fields: dict, *, stamp: dt.datetime, created: dt.datetime | None = None,
               world_index: int | None = None, trusted: bool = True) -> str:
        return _ins(sobject, fields, stamp=stamp + shift, created=(created or stamp) + shift,
                    world_index=world_index, trusted=trusted)

    counts = {k: 0 for k in ("Account", "Contact", "Product2", "PricebookEntry", "Order", "OrderItem", "Opportunity",
                                "OpportunityLineItem")}
    account_of: dict[int, str] = {}
    n_comp = world.size if accounts is None else min(world.size, accounts)
    for c in world.companies(0, n_comp):
        if not world.present(SYSTEM, "company", c.index, SHARES["company"]):
            continue
        nz = world.noise(SYSTEM, "company", c.index)
        fields = {
            "Name": nz.spaces(nz.case(nz.typo(c.full_name, 0.08), 0.05)),
            "Type": "Customer - Direct" if c.lifecycle == "customer" else "Prospect",
            "BillingStreet": nz.street(c.street), "BillingCity": c.city, "BillingPostalCode": c.postal_code,
            "BillingState": c.region,
            "BillingCountry": COUNTRY_NAMES[c.country] if nz.chance(0.6) else c.country,
            "Phone": nz.maybe(nz.phone(c.phone), 0.05), "Website": nz.maybe(c.website.replace("https://", ""), 0.1),
            "AccountNumber": nz.maybe(c.erp_number, 0.3) if c.lifecycle == "customer" else None,
            "Industry": c.industry if c.industry in INDUSTRIES else "Other",
            "AnnualRevenue": float(c.annual_revenue), "NumberOfEmployees": c.employees,
            "DunsNumber": nz.maybe(c.duns, 0.4), "VAT_Id__c": nz.maybe(c.tax_id, 0.2),
            "Credit_Limit__c": float(c.credit_limit), "Payment_Terms__c": c.payment_terms,
            "CurrencyIsoCode": c.currency, "Legal_Form__c": c.legal_form, "Email__c": nz.maybe(c.email, 0.3),
            "Description": None, "Concord_Id__c": None,
        }
        account_of[c.index] = insert("Account", fields, stamp=c.updated_at, created=c.created_at,
                                           world_index=c.index, trusted=True)
        counts["Account"] += 1
    for i in range(min(world.n_people, n_comp * 2)):
        p = world.person(i)
        if p.company_index not in account_of or not world.present(SYSTEM, "person", i, SHARES["person"]):
            continue
        nz = world.noise(SYSTEM, "person", i)
        insert("Contact", {
            "AccountId": account_of[p.company_index], "FirstName": nz.maybe(p.first_name, 0.05),
            "LastName": nz.typo(p.last_name, 0.05), "Email": nz.maybe(nz.case(p.email, 0.1), 0.1),
            "Phone": nz.maybe(nz.phone(p.phone), 0.2), "MobilePhone": nz.maybe(p.mobile, 0.5), "Title": p.job_title,
            "Birthdate": nz.maybe(p.birth_date.isoformat(), 0.6), "HasOptedOutOfEmail": nz.chance(0.1),
        }, stamp=p.updated_at, world_index=i, trusted=True)
        counts["Contact"] += 1
    std = insert("Pricebook2", {"Name": "Standard Price Book", "IsActive": True, "IsStandard": True},
                       trusted=True, stamp=world_time(world))
    entry_of: dict[int, tuple[str, str]] = {}
    for prod in world.products():
        if not world.present(SYSTEM, "product", prod.index, SHARES["product"]):
            continue
        nz = world.noise(SYSTEM, "product", prod.index)
        pid = insert("Product2", {
            "Name": nz.typo(prod.name, 0.05), "ProductCode": prod.sku, "Description": nz.maybe(prod.description, 0.2),
            "IsActive": prod.active, "Family": prod.group, "QuantityUnitOfMeasure": prod.unit,
            "StockKeepingUnit": prod.sku, "GTIN__c": nz.maybe(prod.gtin, 0.3), "Weight_Kg__c": float(prod.weight_kg),
        }, stamp=prod.updated_at, world_index=prod.index, trusted=True)
        pbe = insert("PricebookEntry", {"Pricebook2Id": std, "Product2Id": pid, "UnitPrice": float(prod.list_price),
                                              "IsActive": True, "CurrencyIsoCode": prod.currency},
                           stamp=prod.updated_at, world_index=prod.index, trusted=True)
        entry_of[prod.index] = (pid, pbe)
        counts["Product2"] += 1
        counts["PricebookEntry"] += 1
    for i in range(min(world.n_orders, n_comp)):
        o = world.order(i)
        if o.company_index not in account_of or not world.present(SYSTEM, "order", i, SHARES["order"]):
            continue
        lines = [ln for ln in o.lines if ln.product_index in entry_of]
        if not lines:
            continue
        oid = insert("Order", {
            "AccountId": account_of[o.company_index], "Pricebook2Id": std, "EffectiveDate": o.order_date.isoformat(),
            "EndDate": o.requested_delivery_date.isoformat(), "Status": "Draft" if o.status == "open" else ORDER_STATUS[o.status],
            "PoNumber": o.customer_reference, "CurrencyIsoCode": o.currency, "ERP_Order_Number__c": o.order_number,
        }, stamp=o.updated_at, world_index=i, trusted=True)
        counts["Order"] += 1
        for ln in lines:
            pid, pbe = entry_of[ln.product_index]
            insert("OrderItem", {"OrderId": oid, "PricebookEntryId": pbe, "Product2Id": pid,
                                       "Quantity": float(ln.quantity), "UnitPrice": float(ln.unit_price),
                                       "Line_Number__c": float(ln.line_number), "Unit__c": ln.unit},
                         stamp=o.updated_at, world_index=i, trusted=True)
            counts["OrderItem"] += 1
        if world.present(SYSTEM, "opportunity", i, SHARES["opportunity"]):
            stage = {"open": "Negotiation/Review", "in_process": "Closed Won", "completed": "Closed Won",
                     "cancelled": "Closed Lost"}[o.status]
            opp = insert("Opportunity", {
                "AccountId": account_of[o.company_index], "Name": f"Deal {o.customer_reference}", "StageName": stage,
                "Amount": float(o.net_amount), "Probability": {"Negotiation/Review": 70.0, "Closed Won": 100.0,
                                                               "Closed Lost": 0.0}[stage],
                "CloseDate": o.requested_delivery_date.isoformat(), "CurrencyIsoCode": o.currency,
                "Type": "New Customer", "Pricebook2Id": std,
            }, stamp=o.updated_at, world_index=i, trusted=True)
            counts["Opportunity"] += 1
            for ln in lines:                     # the deal's products (SortOrder stays empty, as the API leaves it)
                pid, pbe = entry_of[ln.product_index]
                insert("OpportunityLineItem", {"OpportunityId": opp, "PricebookEntryId": pbe, "Product2Id": pid,
                                               "Quantity": float(ln.quantity), "UnitPrice": float(ln.unit_price)},
                       stamp=o.updated_at, world_index=i, trusted=True)
                counts["OpportunityLineItem"] += 1
    return counts


def world_time(world: World) -> dt.datetime:
    return BASE_TIME


def _shift(now: dt.datetime) -> dt.timedelta:
    newest = BASE_TIME + dt.timedelta(days=301)
    minutes = int((now - newest).total_seconds() // 60) - 5
    return dt.timedelta(minutes=minutes)
