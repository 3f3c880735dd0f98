"""A files "sandbox": drop folders written from the world, as an ERP export and a CRM export would look.

``start(world)`` writes ``erp/customers.csv`` (German number format, ERP field names) and
``crm/accounts.jsonl`` (nested billing address, CRM field names) into a folder (a temp folder by
default) and returns their connector configs. There is no server: base_url is a file:// URL.
"""
from __future__ import annotations

import csv
import json
import os
import tempfile
from typing import Any

from concord.hub.sandbox.faults import FaultConfig
from concord.hub.sandbox.running import RunningSandbox
from concord.hub.sandbox.world import World

ERP_COLUMNS = ["CustomerNo", "Name1", "VATRegNo", "Street", "PostCode", "City", "Country", "CreditLimit",
               "PaymentTerms", "Currency", "Phone", "Email", "ChangedAt", "ConcordId"]
_COUNTRY_NAMES = {"DE": "Germany", "FR": "France", "GB": "United Kingdom", "US": "United States",
                  "NL": "Netherlands", "CN": "China"}


def _german(amount: Any) -> str:
    s = f"{amount:,.2f}"
    return s.replace(",", "X").replace(".", ",").replace("X", ".")


def write_drops(world: World, folder: str, *, erp_share: float = 0.8, crm_share: float = 0.7) -> dict[str, int]:
    """Write the ERP and CRM drops; returns how many rows each got. Streams: constant memory."""
    os.makedirs(os.path.join(folder, "erp"), exist_ok=True)
    os.makedirs(os.path.join(folder, "crm"), exist_ok=True)
    counts = {"erp": 0, "crm": 0}
    with open(os.path.join(folder, "erp", "customers.csv"), "w", encoding="utf-8", newline="") as ef, \
            open(os.path.join(folder, "crm", "accounts.jsonl"), "w", encoding="utf-8") as cf:
        w = csv.DictWriter(ef, fieldnames=ERP_COLUMNS)
        w.writeheader()
        for c in world.companies():
            if c.lifecycle == "customer" and world.present("erp", "company", c.index, erp_share):
                n = world.noise("files-erp", "company", c.index)
                w.writerow({"CustomerNo": c.erp_number, "Name1": n.case(c.full_name, 0.05), "VATRegNo": c.tax_id,
                            "Street": n.street(c.street), "PostCode": c.postal_code, "City": c.city,
                            "Country": c.country, "CreditLimit": _german(c.credit_limit),
                            "PaymentTerms": c.payment_terms, "Currency": c.currency, "Phone": n.phone(c.phone),
                            "Email": c.email, "ChangedAt": c.updated_at.isoformat(timespec="seconds"), "ConcordId": ""})
                counts["erp"] += 1
            if world.present("crm", "company", c.index, crm_share):
                n = world.noise("files-crm", "company", c.index)
                rec = {"id": f"acc-{c.index + 1}", "name": n.typo(c.full_name, 0.05),
                       "erp_number": c.erp_number if c.lifecycle == "customer" and n.chance(0.6) else None,
                       "tax_number": n.maybe(c.tax_id, 0.1),
                       "billing": {"street": c.street, "zip": c.postal_code, "city": c.city,
                                   "country": _COUNTRY_NAMES[c.country]},
                       "phone": n.phone(c.phone), "website": c.website, "owner": c.owner,
                       "type": "Customer" if c.lifecycle == "customer" else "Prospect",
                       "updated_at": c.updated_at.isoformat(timespec="seconds")}
                cf.write(json.dumps({k: v for k, v in rec.items() if v is not None}, ensure_ascii=False) + "\n")
                counts["crm"] += 1
    return counts


def start(world: World, *, faults: FaultConfig | None = None, port: int = 0, folder: str | None = None,
          **_options: Any) -> RunningSandbox:
    folder = folder or tempfile.mkdtemp(prefix="concord-files-")
    counts = write_drops(world, folder)
    config = {"erp": {"root": os.path.join(folder, "erp"), "entities": {"customers": {
                  "file": "customers.csv", "key": "CustomerNo", "external_id": "ConcordId", "id_prefix": "C",
                  "modified_column": "ChangedAt"}}},
              "crm": {"root": os.path.join(folder, "crm"), "entities": {"accounts": {
                  "file": "accounts.jsonl", "key": "id", "external_id": "concord_id", "id_prefix": "acc-",
                  "modified_column": "updated_at"}}}}
    return RunningSandbox(connector="files", server=None, app=None, credentials={}, connector_config=config,
                          env={}, state=folder, extra={"base_url": f"file://{folder}", "records": counts})
