"""Sales documents: opportunities, sales orders with their lines, invoices."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import Field

from concord.schemas.base import CanonicalEntity, CanonicalModel


class SalesOrderLine(CanonicalModel):
    """One line of a sales order."""

    line_number: int = Field(..., ge=1, description="Position of the line in the order (1-based).")
    sku: str = Field(..., min_length=1, description="Product number of the ordered item.")
    description: str | None = Field(None, description="Line text.")
    quantity: Decimal = Field(..., description="Ordered quantity.")
    unit: str | None = Field(None, description="Unit of measure.")
    unit_price: Decimal | None = Field(None, description="Net price per unit.")
    net_amount: Decimal | None = Field(None, description="Net line amount.")


class SalesOrder(CanonicalEntity):
    """A customer order, usually created in the CRM and fulfilled in the ERP.

    Its identity is Concord's golden id: an order created from the CRM has no ERP number until the
    ERP assigns one (the number then arrives in the settle round and becomes a cross-reference).
    """

    entity_name = "sales_order"
    identity_fields = ("order_number",)
    title_field = "order_number"

    order_number: str | None = Field(None, min_length=1, description="Order number (ERP sales document number), "
                                                                     "assigned by the ERP; empty until then.")
    account_ref: str | None = Field(None, description="Golden id of the sold-to account.")
    customer_number: str | None = Field(None, description="ERP customer number of the sold-to party.")
    order_date: dt.date | None = Field(None, description="Document date.")
    requested_delivery_date: dt.date | None = Field(None, description="Requested delivery date.")
    status: Literal["draft", "open", "in_process", "completed", "cancelled"] | None = Field(None, description="Overall status.")
    delivery_status: Literal["not_delivered", "partially_delivered", "delivered"] | None = Field(
        None, description="Delivery status (ERP).")
    billing_status: Literal["not_billed", "partially_billed", "billed"] | None = Field(
        None, description="Billing status (ERP).")
    opportunity_ref: str | None = Field(None, description="Golden id of the opportunity the order was won from.")
    currency: str | None = Field(None, min_length=3, max_length=3, description="ISO 4217 document currency.")
    net_amount: Decimal | None = Field(None, description="Total net amount.")
    customer_reference: str | None = Field(None, description="Customer's purchase order number.")
    lines: tuple[SalesOrderLine, ...] = Field((), description="Order lines.")


class Invoice(CanonicalEntity):
    """A receivables invoice from the ERP."""

    entity_name = "invoice"
    identity_fields = ("invoice_number",)
    title_field = "invoice_number"

    invoice_number: str = Field(..., min_length=1, description="Invoice number.")
    account_ref: str | None = Field(None, description="Golden id of the billed account.")
    customer_number: str | None = Field(None, description="ERP customer number of the bill-to party.")
    order_number: str | None = Field(None, description="Sales order the invoice bills.")
    invoice_date: dt.date | None = Field(None, description="Invoice date.")
    due_date: dt.date | None = Field(None, description="Due date for payment.")
    currency: str | None = Field(None, min_length=3, max_length=3, description="ISO 4217 currency.")
    amount: Decimal | None = Field(None, description="Invoice total, gross.")
    open_amount: Decimal | None = Field(None, description="Amount still open (unpaid).")
    last_payment_date: dt.date | None = Field(None, description="Date of the latest payment (clearing) received.")
    status: Literal["draft", "open", "partially_paid", "paid", "cancelled", "overdue"] | None = Field(None, description="Payment status.")


class OpportunityLine(CanonicalModel):
    """A product line of an opportunity (Salesforce OpportunityLineItem, Zoho/Fxiaoke product subforms)."""

    line_number: int = Field(..., ge=1, description="Position of the line (1-based).")
    sku: str = Field(..., min_length=1, description="Product number.")
    description: str | None = Field(None, description="Line text.")
    quantity: Decimal = Field(..., description="Quantity.")
    unit: str | None = Field(None, description="Unit of measure.")
    unit_price: Decimal | None = Field(None, description="Net price per unit.")
    net_amount: Decimal | None = Field(None, description="Net line amount.")


class Opportunity(CanonicalEntity):
    """A deal in the CRM pipeline."""

    entity_name = "opportunity"
    identity_fields = ()

    name: str = Field(..., min_length=1, description="Opportunity name.")
    account_ref: str | None = Field(None, description="Golden id of the account.")
    stage: str | None = Field(None, description="Pipeline stage as named in the CRM.")
    status: Literal["open", "won", "lost"] | None = Field(None, description="Normalised outcome.")
    amount: Decimal | None = Field(None, description="Expected amount.")
    currency: str | None = Field(None, min_length=3, max_length=3, description="ISO 4217 currency.")
    probability: Decimal | None = Field(None, ge=0, le=100, description="Win probability in percent.")
    close_date: dt.date | None = Field(None, description="Expected or actual close date.")
    owner: str | None = Field(None, description="Owner (sales rep).")
    lines: tuple[OpportunityLine, ...] = Field((), description="Product lines.")
    order_ref: str | None = Field(None, description="Golden id of the ERP sales order won from this deal.")
    erp_order_number: str | None = Field(None, description="The ERP's number of that order.")
    order_status: Literal["draft", "open", "in_process", "completed", "cancelled"] | None = Field(
        None, description="Status of that order in the ERP.")
    delivery_status: Literal["not_delivered", "partially_delivered", "delivered"] | None = Field(
        None, description="Delivery status of that order.")
    billing_status: Literal["not_billed", "partially_billed", "billed"] | None = Field(
        None, description="Billing status of that order.")
