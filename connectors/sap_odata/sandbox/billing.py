"""Billing documents (API_BILLING_DOCUMENT_SRV) projected from the world's invoices, totals computed as S/4 does.

S/4 creates billing documents in its billing run (never through the API, which is read-only) and computes every
amount: an item's net value from the priced order item, its tax from the tax code (19 %, the German standard rate,
per item and rounded to the cent), the header's ``TotalNetAmount`` and ``TaxAmount`` as the sums over its items
and ``TotalGrossAmount`` as their sum. ``InvoiceClearingStatus`` is FI's clearing status of the receivable:
A not cleared, B partially cleared (a partial payment), C cleared (paid). The world's invoice i bills order i.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from concord.hub.sandbox.world import World

TAX_RATE = Decimal("0.19")
_CLEARING = {"open": "A", "partially_paid": "B", "paid": "C"}


def _cents(d: Decimal) -> Decimal:
    return d.quantize(Decimal("0.01"))


def billing_rows(world: World, i: int, payer: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header and items of the billing document for world invoice ``i`` (payer: the BP number)."""
    inv = world.invoice(i)
    order = world.order(inv.order_index)
    items = []
    for ln in order.lines:
        net = _cents(ln.net_amount)
        items.append({
            "BillingDocument": inv.invoice_number, "BillingDocumentItem": str(ln.line_number * 10),
            "SalesDocumentItemCategory": "TAN", "Material": ln.sku,
            "BillingDocumentItemText": world.product(ln.product_index).name[:40], "BillingQuantity": ln.quantity,
            "BillingQuantityUnit": ln.unit, "NetAmount": net, "TransactionCurrency": inv.currency,
            "TaxAmount": _cents(net * TAX_RATE), "SalesDocument": order.order_number,
            "SalesDocumentItem": str(ln.line_number * 10), "ReferenceSDDocument": order.order_number,
            "ReferenceSDDocumentItem": str(ln.line_number * 10)})
    net = sum((it["NetAmount"] for it in items), Decimal("0.00"))
    tax = sum((it["TaxAmount"] for it in items), Decimal("0.00"))
    day = dt.datetime(inv.invoice_date.year, inv.invoice_date.month, inv.invoice_date.day, tzinfo=dt.timezone.utc)
    header = {
        "BillingDocument": inv.invoice_number, "SDDocumentCategory": "M", "BillingDocumentCategory": "L",
        "BillingDocumentType": "F2", "CreationDate": day, "LastChangeDate": inv.updated_at.replace(
            hour=0, minute=0, second=0, microsecond=0), "LastChangeDateTime": inv.updated_at,
        "SalesOrganization": "1010", "DistributionChannel": "10", "Division": "00", "BillingDocumentDate": day,
        "BillingDocumentIsCancelled": False, "CancelledBillingDocument": "", "TotalNetAmount": net,
        "TransactionCurrency": inv.currency, "TaxAmount": tax, "TotalGrossAmount": net + tax, "PayerParty": payer,
        # the world's invoices are due 30 days net: S/4's terms key NT30 (the connector derives the due date)
        "CustomerPaymentTerms": "NT30", "PaymentMethod": "T", "CompanyCode": "1010",
        "FiscalYear": str(inv.invoice_date.year), "AccountingDocument": inv.invoice_number,
        "SoldToParty": payer, "PurchaseOrderByCustomer": order.customer_reference, "OverallSDProcessStatus": "C",
        "OverallBillingStatus": "C", "AccountingPostingStatus": "C", "AccountingTransferStatus": "C",
        "InvoiceClearingStatus": _CLEARING.get(inv.status, "A")}
    return header, items
