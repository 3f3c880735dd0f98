"""Project the shared world into Oracle Fusion's shape (with noise), one resource at a time."""
from __future__ import annotations

from concord.hub.sandbox.world import World
from concord.connectors.oracle_fusion.sandbox.store import Store, iso

SYSTEM = "oracle_fusion"
UOM = {"EA": "Each", "KG": "Kilogram", "M": "Meter", "L": "Liter", "PAK": "Pack", "H": "Hour"}
ORDER_STATUS = {"open": "OPEN", "in_process": "PROCESSING", "completed": "CLOSED", "cancelled": "CANCELED"}
SHARE = {"customerAccounts": 0.8, "itemsV2": 0.9, "salesOrdersForOrderHub": 0.8, "receivablesInvoices": 0.8}
PARTY_BASE, ACCOUNT_BASE = 300000002000000, 300000001000000


def party_number(i: int) -> str:
    return f"CDRM_{100000 + i}"


def seed_accounts(store: Store, world: World) -> None:
    for c in world.companies():
        if not world.present(SYSTEM, "company", c.index, SHARE["customerAccounts"]):
            continue
        n = world.noise(SYSTEM, "company", c.index)
        created, updated = iso(c.created_at), iso(c.updated_at)
        who = {"CreationDate": created, "CreatedBy": "FIN.IMPL", "LastUpdateDate": updated, "LastUpdatedBy": "FIN.IMPL"}
        party_id = PARTY_BASE + c.index
        store.seed("hubOrganizations", {
            "PartyId": party_id, "PartyNumber": party_number(c.index), "OrganizationName": c.full_name,
            "TaxpayerIdentificationNumber": n.maybe(c.tax_id, 0.1), "DUNSNumberC": n.maybe(c.duns, 0.3),
            "URL": c.website, "EmailAddress": n.maybe(c.email, 0.2), "RawPhoneNumber": n.phone(c.phone),
            "EmployeesTotal": c.employees, "CurrentFiscalYearPotentialRevenueAmount": float(c.annual_revenue),
            "Address1": n.street(c.street), "City": c.city, "PostalCode": c.postal_code, "State": c.region,
            "Country": c.country, "PartyUsageCode": "CUSTOMER", **who}, c.index)
        sites = [{"CustomerAccountSiteId": 300000003000000 + c.index * 2, "PartySiteId": 300000004000000 + c.index,
                  "SiteUseCode": "BILL_TO", "PrimaryFlag": True, "Address1": n.street(c.street), "Address2": None,
                  "City": n.typo(c.city, 0.03), "PostalCode": c.postal_code, "State": c.region, "Country": c.country,
                  **who}]
        if n.chance(0.3):
            sites.append({**sites[0], "CustomerAccountSiteId": sites[0]["CustomerAccountSiteId"] + 1,
                          "SiteUseCode": "SHIP_TO", "PrimaryFlag": False})
        store.seed("customerAccounts", {
            "CustomerAccountId": ACCOUNT_BASE + c.index, "PartyId": party_id, "PartyNumber": party_number(c.index),
            "AccountNumber": c.erp_number, "AccountName": n.case(n.typo(c.full_name, 0.05), 0.05),
            "OrganizationName": c.full_name, "TaxpayerIdentificationNumber": n.maybe(c.tax_id, 0.1),
            "DUNSNumber": n.maybe(c.duns, 0.3), "URL": c.website, "PrimaryPhoneNumber": n.phone(c.phone),
            "PrimaryEmailAddress": n.maybe(c.email, 0.2), "CustomerType": "R",
            "CustomerClassCode": c.industry.upper().replace(" & ", "_").replace(" ", "_"),
            "AccountEstablishedDate": c.created_at.date().isoformat(),
            "Status": "I" if n.chance(0.05) else "A", "CreditLimit": float(c.credit_limit),
            "PaymentTerms": c.payment_terms, "CurrencyCode": c.currency, "OrigSystemReference": None,
            "customerAccountSites": sites, **who}, c.index)


def seed_items(store: Store, world: World) -> None:
    for p in world.products():
        if not world.present(SYSTEM, "product", p.index, SHARE["itemsV2"]):
            continue
        n = world.noise(SYSTEM, "product", p.index)
        ts = iso(p.updated_at)
        store.seed("itemsV2", {
            "ItemId": 300000005000000 + p.index, "OrganizationCode": "MST", "ItemNumber": p.sku,
            "ItemDescription": n.typo(p.name, 0.05), "LongDescription": n.maybe(p.description, 0.2),
            "ItemClass": p.group, "PrimaryUOMValue": UOM.get(p.unit, "Each"),
            "ItemStatusValue": "Active" if p.active else "Inactive", "ListPrice": float(p.list_price),
            "UnitWeightQuantity": float(p.weight_kg), "WeightUOMValue": "Kilogram", "CustomerOrderEnabledFlag": p.active,
            "CreationDate": ts, "CreatedBy": "SCM.IMPL", "LastUpdateDate": ts, "LastUpdatedBy": "SCM.IMPL"}, p.index)


def _line_status(order_status: str, line: int) -> str:
    """Fulfillment line status of a seeded order: an order in process has its first line shipped and billed."""
    if order_status == "in_process":
        return "BILLED" if line == 1 else "AWAIT_SHIPPING"
    return {"open": "AWAIT_SHIPPING", "completed": "CLOSED", "cancelled": "CANCELED"}.get(order_status, "AWAIT_SHIPPING")


def seed_orders(store: Store, world: World) -> None:
    for o in world.orders():
        if not world.present(SYSTEM, "order", o.index, SHARE["salesOrdersForOrderHub"]):
            continue
        c = world.company(o.company_index)
        ts = iso(o.updated_at)
        lines = [{"LineId": 300000006000000 + o.index * 10 + ln.line_number, "SourceTransactionLineId": str(ln.line_number),
                  "SourceTransactionLineNumber": str(ln.line_number), "ProductNumber": ln.sku,
                  "ProductDescription": world.product(ln.product_index).name, "OrderedQuantity": float(ln.quantity),
                  "OrderedUOMCode": ln.unit, "UnitSellingPrice": float(ln.unit_price),
                  "ExtendedAmount": float(ln.net_amount), "RequestedShipDate": o.requested_delivery_date.isoformat(),
                  "StatusCode": _line_status(o.status, ln.line_number)}
                 for ln in o.lines]
        store.seed("salesOrdersForOrderHub", {
            "HeaderId": 300000007000000 + o.index, "OrderKey": f"OPS:{o.order_number}", "OrderNumber": o.order_number,
            "SourceTransactionSystem": "OPS", "SourceTransactionId": o.order_number,
            "SourceTransactionNumber": o.order_number, "BusinessUnitName": "Vision Operations",
            "BuyingPartyNumber": party_number(c.index), "BuyingPartyName": c.full_name,
            "CustomerPONumber": o.customer_reference, "TransactionalCurrencyCode": o.currency,
            "TransactionOn": o.order_date.isoformat(), "RequestedShipDate": o.requested_delivery_date.isoformat(),
            "StatusCode": ORDER_STATUS[o.status], "TotalAmount": float(o.net_amount), "lines": lines,
            "billToCustomer": [{"BillToCustomerId": 300000008000000 + o.index, "CustomerAccountId": ACCOUNT_BASE + c.index,
                                "AccountNumber": c.erp_number, "PartyName": c.full_name, "SiteUseId": None}],
            "CreationDate": ts, "CreatedBy": "OM.IMPL", "LastUpdateDate": ts, "LastUpdatedBy": "OM.IMPL"}, o.index)


def seed_invoices(store: Store, world: World) -> None:
    for inv in world.invoices():
        if not world.present(SYSTEM, "invoice", inv.index, SHARE["receivablesInvoices"]):
            continue
        c = world.company(inv.company_index)
        ts = iso(inv.updated_at)
        store.seed("receivablesInvoices", {
            "CustomerTransactionId": 300000008000000 + inv.index, "TransactionNumber": inv.invoice_number,
            "TransactionDate": inv.invoice_date.isoformat(), "DueDate": inv.due_date.isoformat(),
            "BusinessUnit": "Vision Operations", "TransactionSource": "Manual", "TransactionType": "Invoice",
            "InvoiceCurrencyCode": inv.currency, "BillToCustomerNumber": c.erp_number,
            "BillToCustomerName": c.full_name, "CrossReference": world.order(inv.order_index).order_number,
            "PurchaseOrder": None, "EnteredAmount": float(inv.amount), "InvoiceBalanceAmount": float(inv.open_amount),
            "InvoiceStatus": "Complete",
            "receivablesInvoiceInstallments": [{
                "InstallmentId": 300000009000000 + inv.index, "InstallmentNumber": 1, "DueDate": inv.due_date.isoformat(),
                "InstallmentBalanceDue": float(inv.open_amount),
                "InstallmentStatus": "Closed" if inv.open_amount == 0 else "Open"}],
            "CreationDate": ts, "CreatedBy": "AR.IMPL", "LastUpdateDate": ts, "LastUpdatedBy": "AR.IMPL"}, inv.index)


SEEDERS = {"customerAccounts": seed_accounts, "itemsV2": seed_items, "salesOrdersForOrderHub": seed_orders,
           "receivablesInvoices": seed_invoices}


def seed(store: Store, world: World, resources: tuple[str, ...] | None = None) -> None:
    """Seed the named resources (all by default; hubOrganizations comes with customerAccounts)."""
    for name, fn in SEEDERS.items():
        if resources is None or name in resources:
            fn(store, world)
    for t in store.tables.values():
        if t.rows and t.rdef.key_type == "integer":
            t.next_id = max(t.next_id, max(t.rows) + 1)
