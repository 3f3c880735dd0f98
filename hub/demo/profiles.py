"""Which connectors play which part in the demo, and how their records link up.

A profile names the connector's role (ERP or CRM), the canonical entities the demo syncs with it
(each with the shipped mapping ``mappings/<connector>/<entity>.yaml``) and how golden records flow
back to it; ``flows`` are the entities of the business flows (their rules: ``flows.py``). The exact match keys are the identifiers every projection shares: the ERP customer
number (ERPs assign it, CRMs carry it in a custom field), the tax id and the e-mail address.
A connector without a profile still joins the demo, as a CRM for every entity it has a mapping of.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ERP, CRM = "erp", "crm"


@dataclass(frozen=True)
class Profile:
    role: str
    entities: tuple[str, ...]
    #: canonical entity -> sync mode when this system is a target (absent: not a target)
    sync: dict[str, str] = field(default_factory=dict)
    #: the entities of the business flows the demo also syncs with it (``flows.py``: catalogue, order to cash,
    #: invoices); ``entities`` are the customer master's
    flows: tuple[str, ...] = ()


# ERPs own customers and credit: they are never asked to create a customer that a CRM invented
# (update_only), but CRM-owned values (phone, owner) flow back into them. CRMs get every customer
# the ERPs hold (upsert).
PROFILES: dict[str, Profile] = {
    "sap_odata": Profile(ERP, ("account",), {}, ("product", "sales_order", "invoice")),  # BP writes: read-only here
    "oracle_fusion": Profile(ERP, ("account",), {"account": "update_only"}, ("product", "sales_order", "invoice")),
    "soap_erp": Profile(ERP, ("account",), {"account": "update_only"}, ("product", "sales_order", "invoice")),
    "salesforce": Profile(CRM, ("account", "contact"), {"account": "upsert", "contact": "upsert"},
                          ("product", "opportunity")),
    "zoho_crm": Profile(CRM, ("account", "contact"), {"account": "upsert", "contact": "upsert"},
                        ("product", "opportunity", "sales_order", "invoice")),
    "fxiaoke": Profile(CRM, ("account", "contact"), {"account": "update_only", "contact": "update_only"},
                       ("product", "opportunity", "invoice")),
}

#: connectors that never join the demo, with the reason printed
EXCLUDED = {"files": "a drop-folder system (the `concord init` starter), not a vendor API"}

MATCH_RULES = {
    "account": [{"name": "erp_number", "fields": ["erp_customer_number"]},
                {"name": "tax_id", "fields": ["tax_id"]},
                {"name": "email", "fields": ["email"]}],
    "contact": [{"name": "email", "fields": ["email"]}],
    "product": [{"name": "sku", "fields": ["sku"]}],
}

#: fields the ERPs own (priority: ERPs first) and fields the CRMs own (priority: CRMs first)
ERP_OWNED = {"account": ("credit_limit", "payment_terms", "erp_customer_number", "currency")}
CRM_OWNED = {"account": ("phone", "owner", "website"), "contact": ("phone", "mobile", "job_title")}

#: golden fields written to each role (the rest stays with its source: picklist vocabularies such as
#: industry or lifecycle differ per vendor and are not mapped across systems in the demo)
SYNC_FIELDS = {
    (CRM, "account"): ("name", "erp_customer_number", "tax_id", "email", "phone", "website", "credit_limit",
                       "payment_terms", "billing_address.street", "billing_address.postal_code",
                       "billing_address.city", "billing_address.country"),
    (ERP, "account"): ("phone", "email", "website"),
    (CRM, "contact"): ("first_name", "last_name", "email", "phone", "mobile", "job_title", "account_ref"),
}
