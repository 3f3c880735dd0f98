"""Seed a service store: world objects projected into S/4HANA shapes, generated rows for any other set."""
from __future__ import annotations

import datetime as dt
import random
import uuid
from decimal import Decimal
from typing import Any

from concord.connectors.sap_odata.config import DEFAULT_TAX_TYPES
from concord.connectors.sap_odata.edmx import Property
from concord.connectors.sap_odata.sandbox.billing import billing_rows
from concord.connectors.sap_odata.sandbox.store import ServiceStore
from concord.connectors.sap_odata.wire import UTC
from concord.hub.sandbox.world import World

SYSTEM = "sap_odata"
_INDUSTRY = {"Manufacturing": "MANU", "Retail": "RETL", "Technology": "TECH", "Healthcare": "HLTH",
             "Energy": "ENRG", "Logistics": "LOGI", "Food & Beverage": "FOOD", "Finance": "FINC"}
_LEGAL = {"GmbH": "01", "AG": "02", "GmbH & Co. KG": "03", "SA": "04", "SARL": "05", "SAS": "06", "Ltd": "07",
          "PLC": "08", "LLP": "09", "Inc": "10", "LLC": "11", "Corp": "12", "B.V.": "13", "N.V.": "14"}
_GROUP = {"Hardware": "HW", "Software": "SW", "Services": "SERV", "Spare Parts": "SPARE", "Consumables": "CONS"}
_STATUS = {"open": ("A", ""), "in_process": ("B", ""), "completed": ("C", ""), "cancelled": ("C", "C")}
#: world order status -> OverallTotalDeliveryStatus / item DeliveryStatus (A not, B partially, C fully delivered;
#: blank = not relevant, as for a rejected order)
_DELIVERY = {"open": "A", "in_process": "B", "completed": "C", "cancelled": ""}
#: plants and storage locations of the sandbox (S/4 best-practice codes)
PLANTS = (("1010", "101A"), ("1010", "101B"), ("1710", "171A"))


def stock_rows(sku: str, unit: str | None) -> list[dict]:
    """Deterministic stock of a material: unrestricted-use (stock type 01) and quality-inspection (02) quantities
    per plant / storage location. The world has no stock, so each sandbox derives it from the material number."""
    import zlib
    h = zlib.crc32(sku.encode())
    rows = []
    for n, (plant, sloc) in enumerate(PLANTS):
        if (h >> n) & 1 and n:               # not every material is in every location; the first always holds stock
            continue
        free = Decimal((h >> (4 + n * 5)) % 500)
        qual = Decimal((h >> (20 + n)) % 7)
        for stype, qty in (("01", free), ("02", qual)):
            if qty or stype == "01":
                rows.append({"Material": sku, "Plant": plant, "StorageLocation": sloc, "Batch": "", "Supplier": "",
                             "Customer": "", "WBSElementInternalID": "00000000", "SDDocument": "",
                             "SDDocumentItem": "000000", "InventorySpecialStockType": "", "InventoryStockType": stype,
                             "MaterialBaseUnit": unit, "MatlWrhsStkQtyInMatlBaseUnit": qty})
    return rows


def _split(dt_: dt.datetime) -> tuple[dt.datetime, dt.timedelta]:
    day = dt_.replace(hour=0, minute=0, second=0, microsecond=0)
    return day, dt_ - day


def _day(d: dt.date) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, tzinfo=UTC)


def _fit(store: ServiceStore, set_name: str, row: dict[str, Any]) -> dict[str, Any]:
    """Keep only properties the set's type declares; fill non-nullable ones; coerce lengths and scales."""
    props = store.etype(set_name).properties
    out: dict[str, Any] = {}
    for name, p in props.items():
        v = row.get(name)
        if v is None and not p.nullable:
            v = generate_value(p, random.Random(f"{set_name}.{name}"), 0)
        if isinstance(v, str) and p.max_length:
            v = v[:p.max_length]
        out[name] = store.coerce(p, v, wire=False) if v is not None else None
    return out


def company_rows(world: World, i: int) -> tuple[dict, dict, dict] | None:
    c = world.company(i)
    if not (c.lifecycle == "customer" or world.present(SYSTEM, "company", i, 0.3)):
        return None
    n = world.noise(SYSTEM, "company", i)
    bp = c.erp_number
    changed_day, changed_time = _split(c.updated_at)
    created_day, created_time = _split(c.created_at)
    name = n.typo(n.case(c.full_name, 0.05), 0.05)
    street, _, house = c.street.rpartition(" ")
    partner = {
        "BusinessPartner": bp, "Customer": bp, "BusinessPartnerCategory": "2", "BusinessPartnerGrouping": "BP02",
        "BusinessPartnerFullName": name, "BusinessPartnerName": name, "OrganizationBPName1": name[:40],
        "OrganizationBPName2": None, "SearchTerm1": c.name.upper()[:20], "Industry": _INDUSTRY.get(c.industry),
        "LegalForm": _LEGAL.get(c.legal_form), "Language": "EN" if c.country != "DE" else "DE",
        "CorrespondenceLanguage": "EN", "BusinessPartnerUUID": str(uuid.UUID(int=i + 1)),
        "CreationDate": created_day, "CreationTime": created_time, "CreatedByUser": "MIGRATION",
        "LastChangeDate": changed_day, "LastChangeTime": changed_time, "LastChangedByUser": "SAPUSER",
        "ETag": f"SAPUSER {c.updated_at.strftime('%Y%m%d%H%M%S')}", "BusinessPartnerIsBlocked": False,
        "IsMarkedForArchiving": False, "BusinessPartnerIDByExtSystem": None,
        "OrganizationFoundationDate": None,
    }
    address = {
        "BusinessPartner": bp, "AddressID": str(20000 + i), "ValidityStartDate": c.created_at,
        "ValidityEndDate": dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        "AddressUUID": str(uuid.UUID(int=(1 << 64) + i)), "StreetName": n.street(street), "HouseNumber": house,
        "PostalCode": c.postal_code, "CityName": n.typo(c.city, 0.03), "Country": c.country, "Region": c.region,
        "Language": "EN",
    }
    customer = {
        "Customer": bp, "CustomerAccountGroup": "CUST", "CustomerName": name[:80], "CustomerFullName": name,
        "VATRegistration": n.maybe(c.tax_id, 0.1), "OrderIsBlockedForCustomer": "", "DeletionIndicator": False,
        "CustomerClassification": "A" if c.annual_revenue > 10_000_000 else "B",
    }
    return partner, address, customer


def customer_role_rows(world: World, i: int, customer: dict) -> list[tuple[str, dict]]:
    """A seeded customer as S/4 holds it: the customer roles, the VAT id as a BP tax number, company code and
    sales area data (company code 1710 / sales org. 1710 for US customers, else 1010)."""
    c = world.company(i)
    bp = customer["Customer"]
    org = "1710" if c.country == "US" else "1010"
    rows: list[tuple[str, dict]] = [("A_BusinessPartnerRole", {"BusinessPartner": bp, "BusinessPartnerRole": r})
                                    for r in ("FLCU00", "FLCU01")]
    if customer.get("VATRegistration") and c.country in DEFAULT_TAX_TYPES:
        rows.append(("A_BusinessPartnerTaxNumber", {"BusinessPartner": bp, "BPTaxType": DEFAULT_TAX_TYPES[c.country],
                                                    "BPTaxNumber": customer["VATRegistration"]}))
    rows.append(("A_CustomerCompany", {"Customer": bp, "CompanyCode": org, "ReconciliationAccount": "12100000",
                                       "PaymentTerms": "0001", "DeletionIndicator": False}))
    rows.append(("A_CustomerSalesArea", {"Customer": bp, "SalesOrganization": org, "DistributionChannel": "10",
                                         "Division": "00", "Currency": "USD" if org == "1710" else "EUR",
                                         "CustomerPaymentTerms": "0001", "DeletionIndicator": False}))
    return rows


def product_rows(world: World, i: int) -> tuple[dict, dict]:
    p = world.product(i)
    day, _ = _split(p.updated_at)
    prod = {
        "Product": p.sku, "ProductType": "HAWA" if p.group in ("Hardware", "Spare Parts", "Consumables") else "DIEN",
        "CreationDate": day - dt.timedelta(days=30), "LastChangeDate": day, "LastChangeDateTime": p.updated_at,
        "CreatedByUser": "MIGRATION", "LastChangedByUser": "SAPUSER",
        "IsMarkedForDeletion": not p.active, "GrossWeight": p.weight_kg, "NetWeight": p.weight_kg,
        "WeightUnit": "KG", "ProductGroup": _GROUP.get(p.group, "MISC"), "BaseUnit": p.unit, "Division": "00",
        "ProductStandardID": p.gtin, "InternationalArticleNumberCat": "HE",
    }
    desc = {"Product": p.sku, "Language": "EN", "ProductDescription": p.name[:40]}
    return prod, desc


def order_rows(world: World, i: int) -> tuple[dict, list[dict]]:
    o = world.order(i)
    c = world.company(o.company_index)
    day, _ = _split(o.updated_at)
    status, rejection = _STATUS.get(o.status, ("A", ""))
    header = {
        "SalesOrder": o.order_number, "SalesOrderType": "OR", "SalesOrganization": "1010", "DistributionChannel": "10",
        "OrganizationDivision": "00", "SoldToParty": c.erp_number, "CreationDate": _day(o.order_date),
        "CreatedByUser": "MIGRATION", "LastChangeDate": day, "LastChangeDateTime": o.updated_at,
        "PurchaseOrderByCustomer": o.customer_reference, "SalesOrderDate": _day(o.order_date),
        "TotalNetAmount": o.net_amount, "TransactionCurrency": o.currency,
        "RequestedDeliveryDate": _day(o.requested_delivery_date), "CustomerPaymentTerms": c.payment_terms[:4],
        "OverallSDProcessStatus": status, "OverallSDDocumentRejectionSts": rejection,
        "OverallTotalDeliveryStatus": _DELIVERY.get(o.status, "A"),
    }
    items = [{
        "SalesOrder": o.order_number, "SalesOrderItem": str(ln.line_number * 10), "SalesOrderItemCategory": "TAN",
        "SalesOrderItemText": world.product(ln.product_index).name[:40], "Material": ln.sku,
        "RequestedQuantity": ln.quantity, "RequestedQuantityUnit": ln.unit, "TransactionCurrency": o.currency,
        "NetAmount": ln.net_amount, "MaterialGroup": _GROUP.get(world.product(ln.product_index).group, "MISC"),
        "SDProcessStatus": status, "DeliveryStatus": _DELIVERY.get(o.status, "A"), "OrderRelatedBillingStatus": "",
    } for ln in o.lines]
    return header, items


def generate_value(p: Property, rng: random.Random, n: int) -> Any:
    """A value that fits an EDM property (used for sets the world does not describe, e.g. a Z-service)."""
    t = p.type
    if t == "Edm.String":
        width = p.max_length or 20
        if p.display_format == "NonNegative" or width <= 4:
            return str(n + 1).zfill(min(width, 4))[-width:]
        text = f"{p.name[:max(1, width - 6)].upper()}{n + 1}"
        return text[:width]
    if t in ("Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.SByte"):
        return (n + 1) % 100 if t in ("Edm.Byte", "Edm.SByte") else n + 1
    if t == "Edm.Decimal":
        scale = p.scale if p.scale is not None else 2
        digits = max(1, (p.precision or 10) - scale)
        whole = rng.randrange(0, min(10 ** min(digits, 6), 100000))
        return Decimal(whole) + Decimal(rng.randrange(0, 100)) / 100
    if t in ("Edm.Double", "Edm.Single"):
        return round(rng.random() * 1000, 3)
    if t == "Edm.Boolean":
        return rng.random() < 0.2
    if t in ("Edm.DateTime", "Edm.DateTimeOffset"):
        base = dt.datetime(2026, 1, 5, tzinfo=UTC) + dt.timedelta(days=rng.randrange(300), seconds=rng.randrange(86400))
        return base.replace(hour=0, minute=0, second=0) if p.is_date_only else base
    if t == "Edm.Time":
        return dt.timedelta(seconds=rng.randrange(86400))
    if t == "Edm.Guid":
        return str(uuid.UUID(int=rng.getrandbits(128)))
    if t == "Edm.Binary":
        return ""
    return None


def seed_generic(store: ServiceStore, set_name: str, count: int, seed: int = 0) -> None:
    et = store.etype(set_name)
    rng = random.Random(f"{seed}:{store.name}:{set_name}")
    for n in range(count):
        row: dict[str, Any] = {}
        for name, p in et.properties.items():
            if name in et.keys:
                row[name] = generate_value(p, rng, n)
            elif p.type.startswith("Edm."):
                row[name] = generate_value(p, rng, n) if (not p.nullable or rng.random() < 0.8) else None
            else:
                row[name] = None
        store.put(set_name, _fit(store, set_name, row))


def seed_store(store: ServiceStore, world: World, *, generic_rows: int = 5) -> None:
    """Fill every set: world projections where the service has the S/4 sets, generated rows elsewhere."""
    sets = store.model.entity_sets
    seeded: set[str] = set()
    if "A_BusinessPartner" in sets:
        for i in range(world.size):
            rows = company_rows(world, i)
            if rows is None:
                continue
            for set_name, row in (*zip(("A_BusinessPartner", "A_BusinessPartnerAddress", "A_Customer"), rows),
                                  *customer_role_rows(world, i, rows[2])):
                if set_name in sets:
                    store.put(set_name, _fit(store, set_name, row), world_index=i)
        seeded |= {"A_BusinessPartner", "A_BusinessPartnerAddress", "A_Customer", "A_BusinessPartnerRole",
                   "A_BusinessPartnerTaxNumber", "A_CustomerCompany", "A_CustomerSalesArea"}
    if "A_Product" in sets:
        for i in range(world.n_products):
            for set_name, row in zip(("A_Product", "A_ProductDescription"), product_rows(world, i)):
                if set_name in sets:
                    store.put(set_name, _fit(store, set_name, row), world_index=i)
        seeded |= {"A_Product", "A_ProductDescription"}
    if "A_SalesOrder" in sets:
        for i in range(world.n_orders):
            header, items = order_rows(world, i)
            store.put("A_SalesOrder", _fit(store, "A_SalesOrder", header), world_index=i)
            if "A_SalesOrderItem" in sets:
                for item in items:
                    store.put("A_SalesOrderItem", _fit(store, "A_SalesOrderItem", item), world_index=i)
        seeded |= {"A_SalesOrder", "A_SalesOrderItem"}
    if "A_MaterialStock" in sets:
        for i in range(world.n_products):
            p = world.product(i)
            store.put("A_MaterialStock", _fit(store, "A_MaterialStock", {"Material": p.sku, "MaterialBaseUnit": p.unit}),
                      world_index=i)
            if "A_MatlStkInAcctMod" in sets:
                for row in stock_rows(p.sku, p.unit):
                    store.put("A_MatlStkInAcctMod", _fit(store, "A_MatlStkInAcctMod", row), world_index=i)
        seeded |= {"A_MaterialStock", "A_MatlStkInAcctMod"}
    if "A_BillingDocument" in sets:
        for i in range(world.n_invoices):
            inv = world.invoice(i)
            if company_rows(world, inv.company_index) is None:      # SAP bills only its own customers
                continue
            header, items = billing_rows(world, i, world.company(inv.company_index).erp_number)
            store.put("A_BillingDocument", _fit(store, "A_BillingDocument", header), world_index=i)
            if "A_BillingDocumentItem" in sets:
                for item in items:
                    store.put("A_BillingDocumentItem", _fit(store, "A_BillingDocumentItem", item), world_index=i)
        seeded |= {"A_BillingDocument", "A_BillingDocumentItem"}
    if "A_SalesOrder" in sets or "A_Product" in sets:
        store.prices.update({world.product(i).sku: world.product(i).list_price for i in range(world.n_products)})
    for set_name in sets:
        if set_name not in seeded:
            seed_generic(store, set_name, generic_rows, world.seed)
