"""Accounts of the seeded world as three systems hold them (bench/bench_matching.py's default-rule quality
and incremental parts, bench/matching_companies.py's probabilistic company linkage): an ERP clean, a CRM
with typos, case, legal-form variants, phone formats, street abbreviations and missing identifiers, a
Chinese CRM with CJK names for Chinese companies. Ids carry the world index (``E12``, ``crm-12``)."""
from __future__ import annotations

from typing import Any

from concord.hub.sandbox.world import World

SYSTEMS = {"erp": 0.9, "crm": 0.8, "cn": 0.6}
LEGAL_VARIANTS = {"GmbH": ["GmbH", "Gesellschaft mbH", "gmbh"], "Ltd": ["Ltd", "Limited", "Ltd."],
                  "Inc": ["Inc", "Inc.", "Incorporated"], "Corp": ["Corp", "Corporation", "Corp."],
                  "B.V.": ["B.V.", "BV"], "N.V.": ["N.V.", "NV"], "有限公司": ["有限公司", "Co., Ltd."],
                  "Co., Ltd.": ["Co., Ltd.", "Co Ltd", "Company Limited"], "LLC": ["LLC", "L.L.C."]}


# ---- world -> three systems ------------------------------------------------------------------------
def account_row(world: World, system: str, i: int) -> dict[str, Any] | None:
    if not world.present(system, "company", i, SYSTEMS[system]):
        return None
    c, n = world.company(i), world.noise(system, "company", i)
    legal = c.legal_form
    if system == "erp":
        name = n.case(c.full_name, 0.05)
        return {"id": f"E{i}", "name": name, "erp_customer_number": c.erp_number, "tax_id": n.maybe(c.tax_id, 0.1),
                "duns": n.maybe(c.duns, 0.5), "phone": c.phone, "website": n.maybe(c.website, 0.2),
                "billing_address.street": c.street, "billing_address.postal_code": c.postal_code,
                "billing_address.city": c.city, "billing_address.country": c.country}
    if system == "cn" and c.country == "CN":
        name = c.cjk_name if n.chance(0.9) else f"{c.name} {legal}"
    else:
        variant = n.rng.choice(LEGAL_VARIANTS.get(legal, [legal]))
        name = n.case(n.typo(c.name, 0.15), 0.1) + ("" if n.chance(0.2) else f" {variant}")
    return {"id": f"{system}-{i}", "name": n.spaces(name),
            "erp_customer_number": c.erp_number if system == "crm" and n.chance(0.2) else None,
            "tax_id": c.tax_id if n.chance(0.4) else None, "phone": n.maybe(n.phone(c.phone), 0.1),
            "website": n.maybe(c.website.replace("https://www.", n.rng.choice(["", "http://", "www."])), 0.15),
            "billing_address.street": n.maybe(n.typo(n.street(c.street, 0.4), 0.05), 0.05),
            "billing_address.postal_code": n.maybe(c.postal_code.replace(" ", "") if n.chance(0.3) else c.postal_code, 0.05),
            "billing_address.city": n.maybe(n.case(c.city, 0.2), 0.1), "billing_address.country": n.maybe(c.country, 0.1)}
