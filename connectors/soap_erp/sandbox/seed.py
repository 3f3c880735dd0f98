"""Seed a page from the world: Customer pages from its companies (with the noise a real ERP has),
any other page from its invoices, with values chosen by the page's own fields and key (from the WSDL)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from connectors.soap_erp.sandbox.store import PageStore
from hub.sandbox.world import World

SYSTEM = "soap_erp"


def seed_store(store: PageStore, world: World, *, share: float = 0.8) -> None:
    """Seed a Customer page from the world's companies, any other page from its invoices."""
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
        }
        if "Type" in names:
            values["Type"] = "Customer"
        store.seed({k: v for k, v in values.items() if k in names and v is not None}, truth=c.index,
                   modified=c.updated_at.date())


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
