"""Accounts (customers and prospects) and the people who work for them."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import Field

from concord.schemas.base import CanonicalEntity, CanonicalModel


class Address(CanonicalModel):
    """A postal address. Country is ISO 3166-1 alpha-2."""

    street: str | None = Field(None, description="Street and house number, one line.")
    street2: str | None = Field(None, description="Second address line (building, floor, c/o).")
    postal_code: str | None = Field(None, description="Postcode / ZIP as written locally.")
    city: str | None = Field(None, description="City or town.")
    region: str | None = Field(None, description="State, province or region code/name.")
    country: str | None = Field(None, min_length=2, max_length=2, description="ISO 3166-1 alpha-2 country code.")


class Account(CanonicalEntity):
    """A company the business sells to: a customer in the ERP, an account in the CRM."""

    entity_name = "account"
    identity_fields = ("erp_customer_number", "tax_id", "duns", "lei")

    name: str = Field(..., min_length=1, description="Registered or trading name.")
    legal_form: str | None = Field(None, description="Legal form such as GmbH, Ltd, Inc.")
    lifecycle: Literal["prospect", "customer", "former_customer", "partner"] | None = Field(
        None, description="Where the account stands in the customer lifecycle."
    )
    erp_customer_number: str | None = Field(None, description="Customer number in the ERP (SAP BP, Oracle account number).")
    tax_id: str | None = Field(None, description="VAT / tax registration number, normalised (no spaces).")
    duns: str | None = Field(None, description="Dun & Bradstreet number (9 digits).")
    registration_number: str | None = Field(
        None, description="Company register number (Handelsregister HRB, Companies House, SIREN...), as written.")
    lei: str | None = Field(None, description="Legal Entity Identifier (ISO 17442: 20 characters, two check digits).")
    industry: str | None = Field(None, description="Industry or sector.")
    website: str | None = Field(None, description="Website URL, normalised to https://host/...")
    email: str | None = Field(None, description="General e-mail address, lower case.")
    phone: str | None = Field(None, description="Main phone number in E.164 (+4930123456).")
    billing_address: Address | None = Field(None, description="Billing / sold-to address.")
    shipping_address: Address | None = Field(None, description="Shipping / ship-to address.")
    credit_limit: Decimal | None = Field(None, ge=0, description="Credit limit in the account currency.")
    payment_terms: str | None = Field(None, description="Payment terms code, e.g. NET30.")
    currency: str | None = Field(None, min_length=3, max_length=3, description="ISO 4217 currency code.")
    owner: str | None = Field(None, description="Account owner (sales rep) as a user name or e-mail.")
    annual_revenue: Decimal | None = Field(None, ge=0, description="Annual revenue in the account currency.")
    employees: int | None = Field(None, ge=0, description="Number of employees.")
    created_at: dt.datetime | None = Field(None, description="When the record was created at its source.")
    # receivables roll-ups from the ERP's invoices (a `rollups:` rule of the project keeps them)
    open_receivables: Decimal | None = Field(None, description="Sum of the open amounts of the account's invoices.")
    overdue_receivables: Decimal | None = Field(
        None, description="Open amount of invoices past their due date (or flagged overdue by the ERP).")
    last_payment_date: dt.date | None = Field(None, description="Latest payment received on any invoice.")
    invoice_count: int | None = Field(None, ge=0, description="Number of invoices of the account.")


class Contact(CanonicalEntity):
    """A person at an account."""

    entity_name = "contact"
    identity_fields = ("email",)
    title_field = "last_name"

    first_name: str | None = Field(None, description="Given name.")
    last_name: str = Field(..., min_length=1, description="Family name.")
    email: str | None = Field(None, description="E-mail address, lower case.")
    phone: str | None = Field(None, description="Office phone in E.164.")
    mobile: str | None = Field(None, description="Mobile phone in E.164.")
    job_title: str | None = Field(None, description="Job title.")
    department: str | None = Field(None, description="Department.")
    account_ref: str | None = Field(None, description="Golden id of the account the person works for.")
    birth_date: dt.date | None = Field(None, description="Date of birth, used by person matching.")
    national_id: str | None = Field(
        None, description="National identity or social-security number (SSN, NINO, Steuer-ID...), as written; "
                          "matching compares it without separators or case.")
    person_id: str | None = Field(
        None, description="The customer's own id for the person (CRM contact number, ERP partner number), "
                          "stable across systems that share it.")
    mailing_address: Address | None = Field(None, description="Mailing address.")
    do_not_contact: bool | None = Field(None, description="Marketing opt-out.")
