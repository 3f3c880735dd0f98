"""Business partners and customers in the sandbox: what S/4 checks on a BP create, and the customer it derives.

The sandbox's customizing stands in for an S/4 system's (best-practice codes): BP groupings with their number
ranges, BP roles, tax number categories, company codes, reconciliation accounts, terms of payment, sales areas.
A create with a value that is not in it is refused with a Gateway error naming the property; the whole deep
insert is undone. The message texts follow SAP's wording; the message numbers are the sandbox's guess.
"""
from __future__ import annotations

from typing import Any

import pycountry

from concord.connectors.sap_odata.config import DEFAULT_TAX_TYPES
from concord.connectors.sap_odata.receivables import DEFAULT_NET_DAYS
from concord.connectors.sap_odata.sandbox.store import ServiceStore, StoreError, new_guid

BP, ADDRESS, ROLE, TAX = "A_BusinessPartner", "A_BusinessPartnerAddress", "A_BusinessPartnerRole", "A_BusinessPartnerTaxNumber"
CUSTOMER, COMPANY, SALES_AREA = "A_Customer", "A_CustomerCompany", "A_CustomerSalesArea"
COMM_SETS = ("A_AddressPhoneNumber", "A_AddressEmailAddress", "A_AddressFaxNumber", "A_AddressHomePageURL")

#: grouping -> (number range kind, customer account group it derives); the default grouping has no value given
GROUPINGS = {"BP01": ("internal", "CUST"), "BP02": ("internal", "CUST"), "BP03": ("external", "CUST"),
             "0001": ("internal", "CUST"), "0002": ("external", "CUST")}
DEFAULT_GROUPING = "BP01"
ROLES = {"000000": "Business Partner (Gen.)", "FLCU00": "FI Customer", "FLCU01": "Customer",
         "FLVN00": "FI Vendor", "FLVN01": "Supplier", "BUP001": "Contact Person", "UKM000": "SAP Credit Management"}
CUSTOMER_ROLES = ("FLCU00", "FLCU01")
TAX_TYPES = set(DEFAULT_TAX_TYPES.values()) | {"DE1", "DE2", "DE3", "US1", "US2", "GB2", "FR1", "CN5"}
#: company code -> its currency
COMPANY_CODES = {"1010": "EUR", "1710": "USD"}
RECONCILIATION_ACCOUNTS = {"12100000", "12110000"}
#: (sales organisation, distribution channel, division)
SALES_AREAS = {("1010", "10", "00"), ("1010", "20", "00"), ("1710", "10", "00")}
#: blank key parts that are a value, not a number to assign (an organisation's address has no person)
BLANK_KEYS = {s: ("Person",) for s in COMM_SETS}


def _countries() -> set[str]:
    return {c.alpha_2 for c in pycountry.countries}


def _currencies() -> set[str]:
    return {c.alpha_3 for c in pycountry.currencies}


def fill_keys(store: ServiceStore, set_name: str, row: dict[str, Any]) -> None:
    """Keys S/4 assigns differently from the sandbox's default: address numbers are one number range for all
    addresses (ADRC), communication data is numbered per address (001, 002, ...) with a blank person."""
    if set_name == ADDRESS:
        if not row.get("AddressID"):
            row["AddressID"] = store.next_number(ADDRESS, store.etype(ADDRESS).properties["AddressID"], start=20000)
        if "AddressUUID" in row and not row.get("AddressUUID"):
            row["AddressUUID"] = new_guid()
    if set_name in COMM_SETS:
        if row.get("Person") is None:
            row["Person"] = ""
        if not row.get("OrdinalNumber"):
            taken = [int(k[2]) for k in store.by_first.get(set_name, {}).get(row.get("AddressID"), {})
                     if k[1] == row["Person"] and str(k[2]).isdigit()]
            row["OrdinalNumber"] = str(max(taken, default=0) + 1).zfill(3)


def check_partner(store: ServiceStore, row: dict[str, Any]) -> None:
    """The BP header, before its number is assigned: category, grouping and its number range."""
    category = row.get("BusinessPartnerCategory")
    if not category:
        raise StoreError(400, "R11/401", "Business partner category is required", "BusinessPartnerCategory")
    if category not in ("1", "2", "3"):
        raise StoreError(400, "R11/402", f"Business partner category {category} does not exist (1 person, "
                         "2 organization, 3 group)", "BusinessPartnerCategory")
    grouping = row.get("BusinessPartnerGrouping") or DEFAULT_GROUPING
    if grouping not in GROUPINGS:
        raise StoreError(400, "R11/124", f"Grouping {grouping} does not exist", "BusinessPartnerGrouping")
    row["BusinessPartnerGrouping"] = grouping
    internal = GROUPINGS[grouping][0] == "internal"
    if internal and row.get("BusinessPartner"):
        raise StoreError(400, "R11/085", f"Grouping {grouping} has internal number assignment: business partner "
                         f"number {row['BusinessPartner']} cannot be given", "BusinessPartner")
    if not internal and not row.get("BusinessPartner"):
        raise StoreError(400, "R11/086", f"Grouping {grouping} has external number assignment: enter a business "
                         "partner number", "BusinessPartner")
    if category == "2" and not row.get("OrganizationBPName1"):
        raise StoreError(400, "R11/036", "Enter a name for the organization", "OrganizationBPName1")


def check_row(store: ServiceStore, set_name: str, row: dict[str, Any]) -> None:
    """A row of a BP deep insert against the customizing."""
    if set_name == ADDRESS:
        country = row.get("Country")
        if not country:
            raise StoreError(400, "AM/216", "Enter a country for the address", "Country")
        if country not in _countries():
            raise StoreError(400, "AM/217", f"Country key {country} does not exist", "Country")
        if not row.get("Language"):
            row["Language"] = "EN"
    elif set_name == ROLE:
        if row.get("BusinessPartnerRole") not in ROLES:
            raise StoreError(400, "R11/657", f"Role {row.get('BusinessPartnerRole')} does not exist",
                             "BusinessPartnerRole")
    elif set_name == TAX:
        if row.get("BPTaxType") not in TAX_TYPES:
            raise StoreError(400, "R1/254", f"Tax number category {row.get('BPTaxType')} does not exist", "BPTaxType")
        if not row.get("BPTaxNumber") and not row.get("BPTaxLongNumber"):
            raise StoreError(400, "R1/255", f"Enter a tax number for category {row['BPTaxType']}", "BPTaxNumber")
    elif set_name == COMPANY:
        _check_company(row)
    elif set_name == SALES_AREA:
        _check_sales_area(row)


def _check_company(row: dict[str, Any]) -> None:
    code = row.get("CompanyCode")
    if code not in COMPANY_CODES:
        raise StoreError(400, "F5/165", f"Company code {code} does not exist", "CompanyCode")
    recon = row.get("ReconciliationAccount")
    if not recon:
        raise StoreError(400, "F2/157", f"Enter a reconciliation account for company code {code}",
                         "ReconciliationAccount")
    if recon not in RECONCILIATION_ACCOUNTS:
        raise StoreError(400, "F2/158", f"Reconciliation account {recon} is not defined in company code {code}",
                         "ReconciliationAccount")
    terms = row.get("PaymentTerms")
    if terms and terms not in DEFAULT_NET_DAYS:
        raise StoreError(400, "F2/175", f"Terms of payment {terms} are not defined", "PaymentTerms")


def _check_sales_area(row: dict[str, Any]) -> None:
    area = (row.get("SalesOrganization"), row.get("DistributionChannel"), row.get("Division"))
    if area not in SALES_AREAS:
        raise StoreError(400, "VS/002", f"Sales area {'/'.join(str(a or '') for a in area)} is not defined",
                         "SalesOrganization")
    currency = row.get("Currency")
    if currency and currency not in _currencies():
        raise StoreError(400, "V1/151", f"Currency {currency} is not defined", "Currency")
    terms = row.get("CustomerPaymentTerms")
    if terms and terms not in DEFAULT_NET_DAYS:
        raise StoreError(400, "V1/175", f"Terms of payment {terms} are not defined", "CustomerPaymentTerms")


def child_keys(set_name: str, nav_name: str, row: dict[str, Any], parent_keys: dict[str, Any]) -> dict[str, Any]:
    """The key values a deep-inserted child takes from its parent: the customer is numbered as its BP."""
    if set_name == BP and nav_name == "to_Customer":
        return {"Customer": row["BusinessPartner"]}
    return parent_keys


def after_partner(store: ServiceStore, row: dict[str, Any], undo: list[tuple[str, Any]]) -> None:
    """A BP with a customer role is a customer with the BP's number (customer-vendor integration); customer
    data without a customer role is refused. The customer's names and its VAT registration number (from the BP
    tax number of a category ending in 0) are derived as S/4 derives them."""
    bp = row["BusinessPartner"]
    if CUSTOMER not in store.tables:
        return
    customer = store.get(CUSTOMER, (bp,))
    if ROLE in store.tables:
        roles = {r["BusinessPartnerRole"] for r in (store.children(BP, row, "to_BusinessPartnerRole") or ("", []))[1]}
    else:       # a service without roles (Concord's reduced EDMX): customer data makes the customer
        roles = set(CUSTOMER_ROLES) if customer is not None else set()
    if not roles & set(CUSTOMER_ROLES):
        if customer is not None:
            raise StoreError(400, "CVI_EI/030", f"Business partner {bp}: customer data needs a customer role "
                             f"({' or '.join(CUSTOMER_ROLES)})", "to_Customer")
        return
    if customer is None:
        customer = {n: None for n in store.etype(CUSTOMER).properties}
        customer["Customer"] = bp
        store.stamp(CUSTOMER, customer, created=True)
        undo.append((CUSTOMER, store.put(CUSTOMER, customer)))
    row["Customer"] = bp
    name = row.get("BusinessPartnerFullName") or ""
    defaults = {"CustomerName": name[:80] or None, "CustomerFullName": name[:220] or None,
                "CustomerAccountGroup": GROUPINGS[row["BusinessPartnerGrouping"]][1], "DeletionIndicator": False,
                "OrderIsBlockedForCustomer": "", "BillingIsBlockedForCustomer": "", "DeliveryIsBlocked": ""}
    for k, v in defaults.items():
        if k in customer and customer.get(k) in (None, ""):
            customer[k] = v
    taxes = (store.children(BP, row, "to_BusinessPartnerTax") or ("", []))[1]
    addresses = (store.children(BP, row, "to_BusinessPartnerAddress") or ("", []))[1]
    country = next((a.get("Country") for a in addresses if a.get("Country")), None)
    vat = sorted((t for t in taxes if str(t.get("BPTaxType") or "").endswith("0")),
                 key=lambda t: str(t["BPTaxType"])[:2] != country)
    if vat and "VATRegistration" in customer:
        customer["VATRegistration"] = vat[0].get("BPTaxNumber") or vat[0].get("BPTaxLongNumber")
