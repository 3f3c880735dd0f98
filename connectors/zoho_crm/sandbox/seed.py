"""Project the seeded world into the sandbox org (Zoho's shapes, with realistic noise)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from concord.connectors.zoho_crm.sandbox.store import ORG_USER, ZohoStore
from concord.hub.sandbox.world import World

SYSTEM = "zoho_crm"
DEFAULT_SHARES = {"Accounts": 0.7, "Contacts": 0.7, "Products": 1.0, "Deals": 0.4, "Sales_Orders": 0.5,
                  "Invoices": 0.5, "Shipments__c": 0.3}
COUNTRY_NAMES = {"DE": ["Germany", "Deutschland", "DE"], "FR": ["France", "FR"], "GB": ["United Kingdom", "UK", "GB"],
                 "US": ["United States", "USA", "US"], "NL": ["Netherlands", "NL"], "CN": ["China", "中国", "CN"]}
UNIT = {"EA": "Each", "KG": "Kg", "M": "M", "L": "Litre", "PAK": "Pack", "H": "Hour(s)"}
SO_STATUS = {"open": "Created", "in_process": "Approved", "completed": "Delivered", "cancelled": "Cancelled"}
STAGE = {"open": ("Negotiation/Review", 75), "in_process": ("Proposal/Price Quote", 60),
         "completed": ("Closed Won", 100), "cancelled": ("Closed Lost", 0)}
PAYMENT = {"open": "Open", "partially_paid": "Partially Paid", "paid": "Paid"}


def _user(owner_email: str) -> dict[str, Any]:
    return {"name": owner_email.split("@")[0], "id": ORG_USER["id"], "email": owner_email}


def _sys(store: ZohoStore, created: dt.datetime, modified: dt.datetime) -> dict[str, Any]:
    by = {"name": ORG_USER["name"], "id": ORG_USER["id"], "email": ORG_USER["email"]}
    return {"Created_Time": store.wire_dt(created), "Modified_Time": store.wire_dt(max(created, modified)),
            "Created_By": by, "Modified_By": by, "Tag": [], "Locked__s": False, "Exchange_Rate": 1.0,
            "$currency_symbol": "€", "$state": "save", "$approved": True, "$editable": True,
            "$approval_state": "approved", "$process_flow": False}


def _fill(store: ZohoStore, module: str, values: dict[str, Any], index: int) -> dict[str, Any]:
    mod = store.modules[module]
    rec = {f: None for f in mod.fields}
    rec.update(values)
    rec["id"] = store.new_id()
    store.put(mod, rec, world_index=index)
    return rec


def _lines(store: ZohoStore, order: Any, products: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for ln in order.lines:
        p = products.get(ln.product_index)
        if p is None:
            continue
        total = float(ln.net_amount)
        out.append({"id": store.new_id(), "Product_Name": {"name": p["Product_Name"], "id": p["id"],
                                                           "Product_Code": p["Product_Code"]},
                    "Quantity": float(ln.quantity), "List_Price": float(ln.unit_price), "Discount": 0.0, "Tax": 0.0,
                    "Total": total, "Net_Total": total, "Description": None, "Sequence_Number": ln.line_number})
    return out


def seed(store: ZohoStore, world: World, *, shares: dict[str, float] | None = None,
         modules: Iterable[str] | None = None) -> None:
    share = dict(DEFAULT_SHARES, **(shares or {}))
    wanted = set(modules or share)
    accounts: dict[int, dict[str, Any]] = {}
    products: dict[int, dict[str, Any]] = {}
    sales_orders: dict[int, dict[str, Any]] = {}
    latest = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
    need_accounts = wanted & {"Accounts", "Contacts", "Deals", "Sales_Orders", "Invoices", "Shipments__c"}
    with store.lock:
        if need_accounts:
            for c in world.companies():
                if not world.present(SYSTEM, "company", c.index, share["Accounts"]):
                    continue
                n = world.noise(SYSTEM, "company", c.index)
                name = c.cjk_name if c.country == "CN" and n.chance(0.5) else n.typo(n.case(c.full_name, 0.05), 0.08)
                street = n.street(c.street)
                rec = _fill(store, "Accounts", {
                    **_sys(store, c.created_at, c.updated_at), "Owner": _user(c.owner), "Account_Name": name,
                    "Account_Number": n.maybe(c.erp_number, 0.2), "ERP_Customer_Number": n.maybe(c.erp_number, 0.1),
                    "Account_Type": "Customer" if c.lifecycle == "customer" else "Prospect",
                    "Lifecycle_Stage": "Customer" if c.lifecycle == "customer" else "Prospect",
                    "Industry": c.industry, "Phone": n.phone(c.phone), "Website": n.maybe(c.website.replace("https://", ""), 0.1),
                    "Email": n.maybe(c.email, 0.2), "Employees": c.employees, "Annual_Revenue": float(c.annual_revenue),
                    "VAT_ID": n.maybe(n.spaces(c.tax_id), 0.15), "DUNS_Number": n.maybe(c.duns, 0.4),
                    "Credit_Limit": float(c.credit_limit), "Payment_Terms": c.payment_terms, "Legal_Form": c.legal_form,
                    "Local_Name": c.cjk_name if c.country == "CN" else None, "Currency": c.currency,
                    "Billing_Street": street, "Billing_City": c.city, "Billing_State": c.region,
                    "Billing_Code": c.postal_code, "Billing_Country": n.rng.choice(COUNTRY_NAMES[c.country]),
                    "Shipping_Street": street if n.chance(0.7) else None, "Shipping_City": c.city,
                    "Shipping_Code": c.postal_code, "Shipping_Country": COUNTRY_NAMES[c.country][0],
                    "Key_Account": c.annual_revenue > 20_000_000, "Customer_Since": c.created_at.date().isoformat(),
                }, c.index)
                accounts[c.index] = rec
                latest = max(latest, c.updated_at)
            if "Accounts" not in wanted:   # only needed for references
                pass
        if "Contacts" in wanted:
            for p in world.people():
                acc = accounts.get(p.company_index)
                if not world.present(SYSTEM, "person", p.index, share["Contacts"]):
                    continue
                n = world.noise(SYSTEM, "person", p.index)
                cjk = acc is not None and bool(acc.get("Local_Name")) and n.chance(0.6)
                first, last = (p.cjk_name[1:], p.cjk_name[0]) if cjk else (n.typo(p.first_name, 0.05), n.typo(p.last_name, 0.05))
                _fill(store, "Contacts", {
                    **_sys(store, p.updated_at - dt.timedelta(days=30), p.updated_at), "Owner": dict(ORG_USER),
                    "First_Name": n.maybe(first, 0.03), "Last_Name": last, "Full_Name": f"{first} {last}",
                    "Email": n.maybe(n.case(p.email, 0.1), 0.05), "Phone": n.maybe(n.phone(p.phone), 0.1),
                    "Mobile": n.maybe(n.phone(p.mobile), 0.3), "Title": p.job_title,
                    "Date_of_Birth": n.maybe(p.birth_date.isoformat(), 0.5),
                    "Account_Name": {"name": acc["Account_Name"], "id": acc["id"]} if acc else None,
                    "Mailing_City": acc["Billing_City"] if acc else None, "Mailing_Country": acc["Billing_Country"] if acc else None,
                    "Email_Opt_Out": n.chance(0.05), "Local_Name": p.cjk_name if cjk else None,
                }, p.index)
                latest = max(latest, p.updated_at)
        if wanted & {"Products", "Sales_Orders", "Invoices"}:
            for pr in world.products():
                if not world.present(SYSTEM, "product", pr.index, share["Products"]):
                    continue
                n = world.noise(SYSTEM, "product", pr.index)
                products[pr.index] = _fill(store, "Products", {
                    **_sys(store, pr.updated_at - dt.timedelta(days=90), pr.updated_at), "Owner": dict(ORG_USER),
                    "Product_Name": pr.name, "Product_Code": pr.sku, "Product_Active": pr.active,
                    "Product_Category": pr.group, "Unit_Price": float(pr.list_price), "Usage_Unit": UNIT[pr.unit],
                    "Description": n.maybe(pr.description, 0.2), "GTIN": n.maybe(pr.gtin, 0.3),
                    "Weight_kg": float(pr.weight_kg), "Currency": pr.currency, "Taxable": True,
                }, pr.index)
                latest = max(latest, pr.updated_at)
        orders = list(world.orders()) if wanted & {"Deals", "Sales_Orders", "Invoices", "Shipments__c"} else []
        for o in orders:
            acc = accounts.get(o.company_index)
            if acc is None:
                continue
            ref = {"name": acc["Account_Name"], "id": acc["id"]}
            n = world.noise(SYSTEM, "order", o.index)
            if "Deals" in wanted and world.present(SYSTEM, "deal", o.index, share["Deals"]):
                stage, prob = STAGE[o.status]
                _fill(store, "Deals", {
                    **_sys(store, o.updated_at - dt.timedelta(days=20), o.updated_at), "Owner": dict(ORG_USER),
                    "Deal_Name": f"{acc['Account_Name']} - {o.customer_reference}", "Account_Name": ref,
                    "Amount": float(o.net_amount), "Stage": stage, "Probability": prob,
                    "Closing_Date": o.requested_delivery_date.isoformat(), "Currency": o.currency,
                    "Type": "Existing Business" if n.chance(0.6) else "New Business",
                }, o.index)
            if "Sales_Orders" in wanted and world.present(SYSTEM, "order", o.index, share["Sales_Orders"]):
                lines = _lines(store, o, products)
                if lines:
                    total = round(sum(x["Net_Total"] for x in lines), 2)
                    sales_orders[o.index] = _fill(store, "Sales_Orders", {
                        **_sys(store, o.updated_at - dt.timedelta(days=5), o.updated_at), "Owner": dict(ORG_USER),
                        "Subject": f"Order {o.order_number}", "SO_Number": f"SO-{o.index + 1:06d}", "Account_Name": ref,
                        "Customer_No": acc.get("ERP_Customer_Number"), "Purchase_Order": o.customer_reference,
                        "Order_Date": o.order_date.isoformat(), "Due_Date": o.requested_delivery_date.isoformat(),
                        "Status": SO_STATUS[o.status], "ERP_Order_Number": n.maybe(o.order_number, 0.1),
                        "Currency": o.currency, "Ordered_Items": lines, "Sub_Total": total, "Grand_Total": total,
                        "Discount": 0.0, "Adjustment": 0.0, "Billing_City": acc["Billing_City"],
                        "Billing_Country": acc["Billing_Country"],
                    }, o.index)
            latest = max(latest, o.updated_at)
        if "Invoices" in wanted:
            for inv in world.invoices():
                acc = accounts.get(inv.company_index)
                if acc is None or not world.present(SYSTEM, "invoice", inv.index, share["Invoices"]):
                    continue
                lines = _lines(store, world.order(inv.order_index), products)
                if not lines:
                    continue
                so = sales_orders.get(inv.order_index)
                _fill(store, "Invoices", {
                    **_sys(store, inv.updated_at - dt.timedelta(days=3), inv.updated_at), "Owner": dict(ORG_USER),
                    "Subject": f"Invoice {inv.invoice_number}", "Invoice_Number": f"INV-{inv.index + 1:06d}",
                    "ERP_Invoice_Number": inv.invoice_number, "Invoice_Date": inv.invoice_date.isoformat(),
                    "Due_Date": inv.due_date.isoformat(), "Account_Name": {"name": acc["Account_Name"], "id": acc["id"]},
                    "Sales_Order": {"name": so["Subject"], "id": so["id"]} if so else None,
                    "Status": "Approved", "Payment_Status": PAYMENT[inv.status], "Currency": inv.currency,
                    # the lines are net; the invoice's VAT is its Tax, so Grand_Total is the ERP's gross amount
                    "Sub_Total": round(sum(x["Net_Total"] for x in lines), 2),
                    "Tax": round(float(inv.amount) - sum(x["Net_Total"] for x in lines), 2),
                    "Discount": 0.0, "Adjustment": 0.0,
                    "Grand_Total": float(inv.amount), "Open_Amount": float(inv.open_amount),
                    "Invoiced_Items": lines,
                }, inv.index)
                latest = max(latest, inv.updated_at)
        if "Shipments__c" in wanted:
            for idx, so in sales_orders.items():
                if so["Status"] != "Delivered" or not world.present(SYSTEM, "shipment", idx, share["Shipments__c"]):
                    continue
                mt = dt.datetime.fromisoformat(so["Modified_Time"])
                _fill(store, "Shipments__c", {
                    **_sys(store, mt, mt), "Owner": dict(ORG_USER), "Name": f"SHP-{idx:07d}",
                    "Sales_Order": {"name": so["Subject"], "id": so["id"]}, "Carrier": "DHL",
                    "Tracking_Number": f"JD{idx:012d}", "Shipped_Date": so["Due_Date"], "Shipment_Status": "Delivered",
                }, idx)
        if "Accounts" not in wanted:
            store.modules["Accounts"].records.clear()
            store.modules["Accounts"].index.clear()
            store.modules["Accounts"].truth.clear()
            for values in store.modules["Accounts"].unique.values():
                values.clear()
        if not (wanted & {"Products"}) and products:
            mod = store.modules["Products"]
            mod.records.clear(), mod.index.clear(), mod.truth.clear()
            for values in mod.unique.values():
                values.clear()
    store.ensure_clock_after(latest)
