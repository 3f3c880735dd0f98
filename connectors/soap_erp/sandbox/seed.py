"""Seed a page from the world: Customer pages from its companies (with the noise a real ERP has), Item pages
from its products, sales orders from its orders, posted sales invoices from its invoices (as NAV posts them),
any other page from its invoices, with values chosen by the page's own fields and key (from the WSDL)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from concord.connectors.soap_erp.sandbox.customers import posting_groups
from concord.connectors.soap_erp.sandbox.store import PageStore
from concord.hub.sandbox.world import World

SYSTEM = "soap_erp"


def seed_store(store: PageStore, world: World, *, share: float = 0.8,
               related: dict[str, PageStore] | None = None) -> None:
    """Seed a Customer page from the world's companies, an Item page from its products, a sales order page
    (one with document rules) from its orders, any other page from its invoices."""
    if store.rules is not None:
        seed_orders(store, world, share=share, related=related or {})
        return
    if is_posted_invoices(store):
        seed_posted_invoices(store, world, share=share, related=related or {})
        return
    if store.record_type == "Item" and "Inventory" in store.fields:
        seed_items(store, world, share=share)
        return
    if store.record_type != "Customer" or "No" not in store.fields:
        seed_generic(store, world, share=share)
        return
    names = set(store.fields)
    for c in world.companies():
        if not world.present(SYSTEM, "company", c.index, share):
            continue
        n = world.noise(SYSTEM, "company", c.index)
        name = n.typo(c.full_name, 0.08)[:50]
        home = c.website if not n.chance(0.3) else c.website.removeprefix("https://")
        values = {
            "No": c.erp_number,
            "Name": name,
            "Search_Name": name.upper()[:50],
            "Address": n.street(c.street)[:50],
            "Post_Code": c.postal_code.upper(),
            "City": n.case(c.city, 0.05)[:30],
            "Country_Region_Code": c.country,
            "Phone_No": n.phone(c.phone)[:30],
            "E_Mail": n.maybe(c.email, 0.1),
            "Home_Page": n.maybe(home, 0.2),
            "VAT_Registration_No": n.maybe(c.tax_id, 0.1),
            "Credit_Limit_LCY": c.credit_limit,
            "Balance_LCY": (c.credit_limit * Decimal(n.rng.randrange(0, 80)) / 100).quantize(Decimal("0.01")),
            "Blocked": "_blank_" if not n.chance(0.03) else "All",
            "Payment_Terms_Code": c.payment_terms,
            "Currency_Code": c.currency,
            "Prices_Including_VAT": False,
            "Language_Code": {"DE": "DEU", "FR": "FRA", "NL": "NLD", "CN": "CHS"}.get(c.country, "ENU"),
            **posting_groups(c.country),          # when the page shows them (the real page 21 does)
        }
        if "Type" in names:
            values["Type"] = "Customer"
        store.seed({k: v for k, v in values.items() if k in names and v is not None}, truth=c.index,
                   modified=c.updated_at.date())


def is_posted_invoices(store: PageStore) -> bool:
    """A posted sales invoice page (Page 143 / 132): invoices with their remaining amount."""
    return store.rules is None and {"No", "Remaining_Amount", "Amount_Including_VAT"} <= set(store.fields)


def seed_order(store: PageStore) -> int:
    """Seeding order: master data (customers, items), then sales orders, then posted invoices (which name both)."""
    return 2 if is_posted_invoices(store) else (1 if store.rules is not None else 0)


#: the VAT rate of the world's invoices (their amount is the order's net amount plus 19 %)
VAT = Decimal("1.19")


def seed_posted_invoices(store: PageStore, world: World, *, share: float = 0.8,
                         related: dict[str, PageStore]) -> None:
    """One posted sales invoice per world invoice the ERP holds, under the world's invoice number (the sandboxes
    play one business: an invoice has the same number in every ERP that holds it, as SAP's billing documents
    and Oracle's transactions do, so Concord links them instead of counting one receivable twice). NAV computes the amounts: ``Amount`` (excl. VAT), ``Amount_Including_VAT``, and
    ``Remaining_Amount`` from the customer ledger entry (the world's open amount: unpaid, half paid or paid;
    ``Closed`` when nothing remains). The bill-to customer must exist on the Customer page when it is served;
    ``Order_No`` is the sales order's number when the sales order page holds that order."""
    customers, orders = related.get("Customer"), related.get("SalesOrder")
    order_no = {idx: sid for sid, idx in orders.truth.items()} if orders is not None else {}
    names = set(store.fields)
    for inv in world.invoices():
        if not world.present(SYSTEM, "invoice", inv.index, share):
            continue
        c = world.company(inv.company_index)
        cust = customers.get(c.erp_number) if customers is not None else {"No": c.erp_number, "Name": c.full_name}
        if cust is None:
            continue
        o = world.order(inv.order_index)
        values = {
            "No": inv.invoice_number, "Sell_to_Customer_No": cust["No"], "Sell_to_Customer_Name": cust.get("Name"),
            "Bill_to_Customer_No": cust["No"], "Bill_to_Name": cust.get("Name"),
            "Currency_Code": inv.currency, "Posting_Date": inv.invoice_date, "Document_Date": inv.invoice_date,
            "Due_Date": inv.due_date, "Payment_Terms_Code": cust.get("Payment_Terms_Code"),
            "Amount": (inv.amount / VAT).quantize(Decimal("0.01")), "Amount_Including_VAT": inv.amount,
            "Remaining_Amount": inv.open_amount, "Closed": inv.open_amount == 0, "Cancelled": False,
            "Corrective": False, "Order_No": order_no.get(inv.order_index),
            "External_Document_No": o.customer_reference, "No_Printed": 1,
        }
        store.seed({k: v for k, v in values.items() if k in names and v is not None}, truth=inv.index,
                   modified=inv.updated_at.date())


def seed_generic(store: PageStore, world: World, *, share: float = 0.8) -> None:
    """One record per invoice the ERP holds, shaped by the page's fields.

    Key fields: an integer field counts up in steps of 10000 (NAV's line numbers), a ``Document_No``-like
    field is the invoice number, an option is its invoice-like value, a template or batch name is
    ``GENERAL``/``DEFAULT``, and the last string key field is otherwise made unique from the invoice.
    Other fields are filled by name (dates, amounts, customer numbers, description, currency); the rest
    stay empty. ``store.truth`` maps each source id to the invoice's world index.
    """
    line = 0
    for inv in world.invoices():
        if not world.present(SYSTEM, "invoice", inv.index, share):
            continue
        c = world.company(inv.company_index)
        line += 1
        values: dict[str, Any] = {}
        for name, info in store.fields.items():
            v = _value(name, info.xsd, info.enum, inv, c, line)
            if v is not None:
                values[name] = v
        for pos, name in enumerate(store.key.names):
            info = store.fields[name]
            values[name] = _key_value(name, store.key.types[pos], info.enum, inv, line,
                                      last=pos == len(store.key.names) - 1)
        store.seed(values, truth=inv.index, modified=inv.updated_at.date())


def _key_value(name: str, kind: str, enum: tuple[str, ...] | None, inv: Any, line: int, *, last: bool) -> Any:
    low = name.lower()
    if kind == "int":
        return line * 10000
    if kind == "date":
        return inv.invoice_date
    if enum:
        return _option(enum, "invoice")
    if "document_no" in low or low.endswith("_no") and last:
        return inv.invoice_number
    if "template" in low:
        return "GENERAL"
    if "batch" in low:
        return "DEFAULT"
    return inv.invoice_number if last else "DEFAULT"


def _option(enum: tuple[str, ...], wanted: str) -> str:
    for v in enum:
        if v.lower() == wanted:
            return v
    return next((v for v in enum if v != "_blank_"), enum[0])


def _value(name: str, xsd: str, enum: tuple[str, ...] | None, inv: Any, c: Any, line: int) -> Any:
    low = name.lower()
    if enum:
        if "account_type" in low:
            return _option(enum, "customer")
        if "document_type" in low:
            return _option(enum, "invoice")
        return None
    if xsd == "date":
        if "due" in low:
            return inv.due_date
        if "posting" in low or "document_date" in low:
            return inv.invoice_date
        return None
    if xsd in ("decimal", "double", "float"):
        if "amount" in low:
            return inv.amount
        return None
    if xsd != "string":
        return None
    if low in ("account_no", "customer_no", "sell_to_customer_no", "bill_to_customer_no"):
        return c.erp_number
    if low in ("document_no", "external_document_no"):
        return inv.invoice_number
    if low == "description":
        return f"Invoice {inv.invoice_number} {c.full_name}"[:50]
    if low == "currency_code":
        return inv.currency
    return None


def seed_items(store: PageStore, world: World, *, share: float = 0.9) -> None:
    """One Item per product of the world (the ERP is the item master): No = the SKU, stock on hand (Inventory) and open order quantity."""
    names = set(store.fields)
    for p in world.products():
        n = world.noise(SYSTEM, "product", p.index)
        inventory = Decimal(n.rng.randrange(0, 400)) if not n.chance(0.1) else Decimal(0)
        values = {
            "No": p.sku, "Description": p.name[:50], "Base_Unit_of_Measure": p.unit.upper(),
            "Item_Category_Code": p.group.upper()[:10], "Blocked": not p.active,
            "Inventory": inventory, "Qty_on_Sales_Order": Decimal(n.rng.randrange(0, int(inventory) + 5)),
            "Qty_on_Purch_Order": Decimal(n.rng.randrange(0, 50)), "Unit_Price": p.list_price,
            "Unit_Cost": (p.list_price * Decimal("0.6")).quantize(Decimal("0.01")), "Gen_Prod_Posting_Group": "RETAIL",
        }
        store.seed({k: v for k, v in values.items() if k in names}, truth=p.index, modified=p.updated_at.date())


#: the world's order status -> NAV Status and the share of each line shipped / invoiced
_ORDER_STATE = {"open": ("Open", 0, 0), "in_process": ("Released", Decimal("0.5"), 0),
                "completed": ("Released", 1, Decimal("0.5"))}


def seed_orders(store: PageStore, world: World, *, share: float = 0.8, related: dict[str, PageStore]) -> None:
    """One sales order per world order the ERP holds, numbered as NAV's series does (101001, ...).

    Cancelled orders are not there (NAV deletes them); a fully invoiced order would be deleted by posting,
    so "completed" ones are shipped and half invoiced. Customers and items must exist on their pages when
    those pages are served (else the order is skipped)."""
    customers, items = related.get("Customer"), related.get("Item")
    part = store.rules.part
    number = 101000
    for o in world.orders():
        if o.status not in _ORDER_STATE or not world.present(SYSTEM, "order", o.index, share):
            continue
        c = world.company(o.company_index)
        cust = customers.get(c.erp_number) if customers is not None else {"No": c.erp_number, "Name": c.full_name}
        if cust is None or any(items is not None and items.get(ln.sku) is None for ln in o.lines):
            continue
        status, shipped, invoiced = _ORDER_STATE[o.status]
        lines = []
        for ln in o.lines:
            qty = ln.quantity
            done_s = (qty * shipped).quantize(Decimal(1))
            done_i = min(done_s, (qty * invoiced).quantize(Decimal(1)))
            item = items.get(ln.sku) if items is not None else {}
            lines.append({"Type": "Item", "No": ln.sku, "Description": (item or {}).get("Description", ln.sku),
                          "Quantity": qty, "Unit_of_Measure_Code": ln.unit.upper(), "Unit_Price": ln.unit_price,
                          "Line_Amount": ln.net_amount, "Line_Discount_Percent": Decimal(0),
                          "Reserved_Quantity": Decimal(0), "Quantity_Shipped": done_s, "Qty_to_Ship": qty - done_s,
                          "Quantity_Invoiced": done_i, "Qty_to_Invoice": qty - done_i,
                          "Shipment_Date": o.requested_delivery_date, "Line_No": ln.line_number * 10000})
        number += 1
        values = {
            "No": str(number), "Sell_to_Customer_No": cust["No"], "Sell_to_Customer_Name": cust.get("Name"),
            "Sell_to_Address": cust.get("Address"), "Sell_to_City": cust.get("City"),
            "Sell_to_Post_Code": cust.get("Post_Code"), "Posting_Date": o.order_date, "Order_Date": o.order_date,
            "Document_Date": o.order_date, "Requested_Delivery_Date": o.requested_delivery_date,
            "Shipment_Date": o.requested_delivery_date, "External_Document_No": o.customer_reference,
            "Status": status, "Bill_to_Customer_No": cust["No"], "Currency_Code": o.currency,
            "Payment_Terms_Code": cust.get("Payment_Terms_Code"), "Prices_Including_VAT": False,
            part.name: {part.line_element: lines},
        }
        store.seed({k: v for k, v in values.items() if v is not None and (k in store.fields)}, truth=o.index)
