"""Project the world's companies into NAV Customer records (with the noise a real ERP has)."""
from __future__ import annotations

from decimal import Decimal

from connectors.soap_erp.sandbox.store import PageStore
from hub.sandbox.world import World

SYSTEM = "soap_erp"


def seed_store(store: PageStore, world: World, *, share: float = 0.8) -> None:
    """Seed a Customer-like page from the world (other record types start empty)."""
    if store.record_type != "Customer":
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
