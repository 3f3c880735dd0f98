"""Customers in S/4: a business partner create made a customer create, and what a BP update can carry.

S/4 keeps a customer as a business partner (BP) with customer roles; the customer (KNA1) gets the BP's number.
One ``POST A_BusinessPartner`` deep insert creates it all::

    A_BusinessPartner            BusinessPartnerCategory 2 (organisation), BusinessPartnerGrouping, OrganizationBPName1..
      to_BusinessPartnerAddress  street, postal code, city, region, country (from the mapping)
        to_PhoneNumber           the phone (E.164) with the address's country; to_EmailAddress: the e-mail
      to_BusinessPartnerRole     FLCU00 (FI customer), FLCU01 (customer)
      to_BusinessPartnerTax      BPTaxType DE0/FR0/... + BPTaxNumber = the VAT id
      to_Customer
        to_CustomerCompany       CompanyCode, ReconciliationAccount, PaymentTerms
        to_CustomerSalesArea     SalesOrganization, DistributionChannel, Division, Currency, CustomerPaymentTerms

The organisational values come from ``customer_defaults`` (config.CustomerDefaults). The mapping writes the VAT id
as ``to_Customer.VATRegistration`` (where it is read back: S/4 copies a tax number of a category ending in 0 there);
it is sent as a BP tax number, the way S/4 keeps it.
"""
from __future__ import annotations

import logging
from typing import Any

from concord.connectors.sap_odata.config import CustomerDefaults
from concord.connectors.sap_odata.edmx import ServiceModel
from concord.hub.contracts import Change

log = logging.getLogger("concord.sap_odata")

BP_SET = "A_BusinessPartner"
NAMES = ("OrganizationBPName1", "OrganizationBPName2", "OrganizationBPName3", "OrganizationBPName4")
NAME_LENGTH = 40


def _items(value: Any) -> list[dict[str, Any]]:
    """The entries of a to-many navigation value (``[...]`` or ``{"results": [...]}``), copied."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = value.get("results", [value])
    return [dict(v) for v in value if isinstance(v, dict)] if isinstance(value, (list, tuple)) else []


def split_name(fields: dict[str, Any], width: int = NAME_LENGTH) -> dict[str, Any]:
    """A name longer than OrganizationBPName1 holds continues in Name2..4, split between words, as S/4's own
    apps ask for it. Untouched when Name1 fits or the following name fields are given."""
    name = fields.get(NAMES[0])
    if not isinstance(name, str) or len(name) <= width or any(fields.get(n) for n in NAMES[1:]):
        return fields
    out, rest = dict(fields), name.strip()
    for field in NAMES:
        if not rest:
            break
        cut = rest.rfind(" ", 0, width + 1) if len(rest) > width else len(rest)
        cut = cut if cut > 0 else width
        out[field], rest = rest[:cut].rstrip(), rest[cut:].lstrip()
    if rest:        # longer than four name fields: the last one is too long, and the write says so
        out[NAMES[-1]] = f"{out[NAMES[-1]]} {rest}"
    return out


def _communication(address: dict[str, Any]) -> dict[str, Any]:
    """An address's first phone number and e-mail address are its standard ones; the phone's country is the
    address's (S/4 keeps the number with its country)."""
    out = dict(address)
    phones = _items(out.get("to_PhoneNumber"))
    if phones:
        first = dict(phones[0])
        first.setdefault("IsDefaultPhoneNumber", True)
        if address.get("Country") and not first.get("DestinationLocationCountry"):
            first["DestinationLocationCountry"] = address["Country"]
        out["to_PhoneNumber"] = {"results": [first, *phones[1:]]}
    mails = _items(out.get("to_EmailAddress"))
    if mails:
        out["to_EmailAddress"] = {"results": [{"IsDefaultEmailAddress": True, **mails[0]}, *mails[1:]]}
    return out


def customer_fields(fields: dict[str, Any], defaults: CustomerDefaults, model: ServiceModel,
                    record: str | None = None) -> dict[str, Any]:
    """The deep-insert body of a customer: the mapping's fields plus roles, tax number, company code and sales
    area from ``defaults``. Values the mapping gives win; nothing is added through a navigation that the
    service's $metadata does not have."""
    out = split_name(dict(fields))
    if not out.get("BusinessPartnerCategory"):
        out["BusinessPartnerCategory"] = "2"
    if defaults.grouping and not out.get("BusinessPartnerGrouping"):
        out["BusinessPartnerGrouping"] = defaults.grouping
    addresses = _items(out.get("to_BusinessPartnerAddress"))
    country = next((str(a["Country"]).upper() for a in addresses if a.get("Country")), None)
    if addresses:
        out["to_BusinessPartnerAddress"] = {"results": [_communication(a) for a in addresses]}
    navs = model.type_of(BP_SET).navs
    customer = dict(out.get("to_Customer") or {}) if "to_Customer" in navs else {}
    customer_navs = model.entity_types[navs["to_Customer"].target].navs if "to_Customer" in navs else {}
    vat = customer.pop("VATRegistration", None)
    if vat and "to_BusinessPartnerTax" in navs:
        tax_type = defaults.tax_types.get(country or str(vat)[:2].upper())
        taxes = _items(out.get("to_BusinessPartnerTax"))
        if tax_type is None:
            log.warning("SAP customer %s: no BP tax number category for country %s in customer_defaults.tax_types: "
                        "its VAT id is not written", record or "(new)", country)
        elif not any(t.get("BPTaxType") == tax_type for t in taxes):
            taxes.append({"BPTaxType": tax_type, "BPTaxNumber": vat})
        if taxes:
            out["to_BusinessPartnerTax"] = {"results": taxes}
    elif vat:
        customer["VATRegistration"] = vat
    if "to_BusinessPartnerRole" in navs:
        roles = _items(out.get("to_BusinessPartnerRole"))
        have = {r.get("BusinessPartnerRole") for r in roles}
        roles += [{"BusinessPartnerRole": r} for r in defaults.roles if r not in have]
        out["to_BusinessPartnerRole"] = {"results": roles}
    if "to_Customer" in navs:
        company = {"CompanyCode": defaults.company_code, "ReconciliationAccount": defaults.reconciliation_account,
                   "PaymentTerms": defaults.payment_terms, **defaults.company_fields}
        area = {"SalesOrganization": defaults.sales_organization, "DistributionChannel": defaults.distribution_channel,
                "Division": defaults.division, "Currency": defaults.currency,
                "CustomerPaymentTerms": defaults.payment_terms, **defaults.sales_area_fields}
        if "to_CustomerCompany" in customer_navs:
            companies = _items(customer.get("to_CustomerCompany"))
            if not any(c.get("CompanyCode") == defaults.company_code for c in companies):
                companies.append({k: v for k, v in company.items() if v not in (None, "")})
            customer["to_CustomerCompany"] = {"results": companies}
        if "to_CustomerSalesArea" in customer_navs:
            areas = _items(customer.get("to_CustomerSalesArea"))
            key = ("SalesOrganization", "DistributionChannel", "Division")
            if not any(all(a.get(k) == area[k] for k in key) for a in areas):
                areas.append({k: v for k, v in area.items() if v not in (None, "")})
            customer["to_CustomerSalesArea"] = {"results": areas}
    if customer:
        out["to_Customer"] = customer
    elif "to_Customer" in navs:
        out.pop("to_Customer", None)
    return out


def bp_change(c: Change, defaults: CustomerDefaults | None, model: ServiceModel) -> Change:
    """A change of A_BusinessPartner as S/4 takes it.

    create: with ``defaults`` a customer create (``customer_fields``), else the mapping's fields (long names
    split). update: a PATCH of the BP header; S/4 does not take navigations on a PATCH (address, tax numbers and
    customer data are their own entities), so those parts of an update are left out (logged)."""
    creating = c.op == "create" or (c.op == "upsert" and not c.key)
    et = model.type_of(BP_SET)
    if creating:
        fields = customer_fields(dict(c.fields), defaults, model, c.golden_id) if defaults else split_name(dict(c.fields))
        return c.model_copy(update={"fields": fields})
    if c.op not in ("update", "upsert"):
        return c
    dropped = sorted(k for k in c.fields if k in et.navs)
    if not dropped:
        return c.model_copy(update={"fields": split_name(dict(c.fields))})
    log.info("SAP A_BusinessPartner %s: an update writes the BP header only; not written: %s", c.key,
             ", ".join(dropped))
    return c.model_copy(update={"fields": split_name({k: v for k, v in c.fields.items() if k not in et.navs})})
