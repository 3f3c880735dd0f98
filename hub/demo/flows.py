"""The business flows of the demo: catalogue, order to cash, invoices and payments, KPIs (issue 13's scenarios
2-5; scenario 1, the customer master, is ``project.build_config``'s account and contact).

The rules come from the shipped scenario packs (``hub/packs``), spread over the demo's several ERPs and CRMs:

- **catalogue**: every system's products matched by SKU; the ERPs own price, unit and stock, which reach every
  CRM that creates products;
- **order to cash**: each CRM sells for one ERP (:data:`FULFILMENT`: Salesforce -> Oracle, Fxiaoke -> NAV,
  Zoho -> SAP; the first ERP present otherwise). The CRM's opportunity mapping sets ``fulfilment_erp`` (a project
  field, ``extensions:``) to that ERP, the pack's derivation copies it onto the order, and each ERP's sync rule
  creates only the orders meant for it (``when: fulfilment_erp eq <erp>``, dated from go-live on). A CRM whose
  deals have no lines (Zoho) sells through its own sales orders: its sales_order mapping sets ``fulfilment_erp``,
  its orders are created in the ERP as they are, and the ERP's number and status come back to them;
- **invoices and payments**: ERP invoices matched with the CRMs' invoice records by number, written to the CRMs
  that hold invoices, and rolled up on the account (the pack's ``receivables`` roll-up);
- **KPIs**: the pack's ``kpis:`` (lifetime value, credit exposure from ``customer_kpi``) on the account.

A CRM account sync rule writes the roll-up and KPI fields its mapping writes.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from concord.hub.cli.scenario_packs import add_mapping_rules, kpi_rules, load_pack, mapping_reads, mapping_writes
from concord.hub.config.yamlsource import load_packaged
from concord.hub.demo.profiles import CRM, ERP

#: which ERP fulfils each CRM's won deals
FULFILMENT = {"salesforce": "oracle_fusion", "fxiaoke": "soap_erp", "zoho_crm": "sap_odata"}
FLOW_ENTITIES = ("product", "opportunity", "sales_order", "invoice")
ROUTE_FIELD = "fulfilment_erp"


def fulfilment(crm: str, erps: list[str]) -> str | None:
    want = FULFILMENT.get(crm)
    return want if want in erps else (erps[0] if erps else None)


def _load(folder: Path, rel: str) -> dict[str, Any]:
    return load_packaged((folder / rel).read_text(encoding="utf-8")) or {}


def _keep(folder: Path, rel: str, fields: list[str]) -> list[str]:
    m = _load(folder, rel)
    return [f for f in fields if mapping_writes(m, f)]


def add_flows(doc: dict[str, Any], roles: Mapping[str, str], mappings: Mapping[str, Mapping[str, str]],
              folder: Path, *, today: dt.date | None = None) -> dict[str, str]:
    """Add scenarios 2-5 to ``doc`` (concord.yaml of the demo); returns CRM -> the ERP its won deals go to."""
    golive = (today or dt.date.today()).isoformat()
    has = {e: [n for n in roles if e in mappings.get(n, {})] for e in (*FLOW_ENTITIES, "account")}
    erps = {e: [n for n in has[e] if roles[n] == ERP] for e in has}
    crms = {e: [n for n in has[e] if roles[n] == CRM] for e in has}
    entities = doc["entities"]
    catalogue, o2c = load_pack("catalogue"), load_pack("order-to-cash")
    ext: dict[str, dict[str, Any]] = {}

    def src(e: str) -> dict[str, Any]:
        return {n: {"mapping": mappings[n][e]} for n in has[e]}

    if erps["product"] and crms["product"]:
        spec = catalogue["entities"]["product"]
        fields = list(spec["sync"][0]["fields"])
        entities["product"] = {
            "sources": src("product"), "match": spec["match"],
            "survivorship": {"strategy": "priority", "priority": erps["product"] + crms["product"],
                             "fields": {"description": {"strategy": "latest",
                                                        "priority": crms["product"] + erps["product"]}}},
            "sync": [{"target": n, "mode": "upsert", "fields": _keep(folder, mappings[n]["product"], fields)}
                     for n in crms["product"]]}
    routes: dict[str, str] = {}
    if erps["sales_order"] and crms["opportunity"]:
        # deals with lines become orders (the derivation); a CRM whose deals have none (Zoho) sells through its own
        # sales orders, which are created in the ERP as they are
        by_deal = [n for n in crms["opportunity"] if mapping_reads(_load(folder, mappings[n]["opportunity"]), "lines")]
        by_order = [n for n in crms["sales_order"] if n not in by_deal]
        for n in by_deal + by_order:
            erp = fulfilment(n, erps["sales_order"])
            if erp:
                routes[n] = erp
                entity = "opportunity" if n in by_deal else "sales_order"
                add_mapping_rules(folder / mappings[n][entity], {ROUTE_FIELD: f"{{const: {erp}}}"},
                                  "demo: the ERP that fulfils this CRM's won deals (hub/demo/flows.py)")
        back = list(o2c["entities"]["opportunity"]["sync"][0]["fields"])
        entities["opportunity"] = {
            "sources": src("opportunity"), "survivorship": {"strategy": "latest", "priority": crms["opportunity"]},
            "sync": [{"target": n, "mode": "update_only", "fields": _keep(folder, mappings[n]["opportunity"], back)}
                     for n in by_deal]}
        entities["sales_order"] = {
            "sources": {n: {"mapping": mappings[n]["sales_order"]} for n in erps["sales_order"] + by_order},
            "survivorship": {"strategy": "priority", "priority": erps["sales_order"] + by_order},
            # orders from go-live on only: a CRM's past orders are history (their ERP orders exist)
            "sync": [{"target": n, "mode": "create", "when": [{"field": ROUTE_FIELD, "eq": n},
                                                                {"field": "order_date", "ge": golive}]}
                     for n in erps["sales_order"] if n in routes.values()]
            + [{"target": n, "mode": "update_only",
                "fields": _keep(folder, mappings[n]["sales_order"], o2c["crm_orders"]["sync"][0]["fields"])}
               for n in by_order]}
        for e in ("opportunity", "sales_order"):
            ext[e] = {"fields": {ROUTE_FIELD: {"type": "string", "max_length": 64,
                                               "description": "The ERP that fulfils the deal (demo routing)"}}}
        d = {k: v for k, v in o2c["derivations"][0].items() if k != "requires"}
        d["when"] = [dict(c, ge=golive) if c.get("ge") == "$golive" else c for c in d["when"]]
        d["fields"] = {**d["fields"], ROUTE_FIELD: ROUTE_FIELD}
        doc["derivations"] = [d]
    if erps["invoice"]:
        spec = o2c["entities"]["invoice"]
        inv_fields = list(spec["sync"][0]["fields"])
        entities["invoice"] = {
            "sources": src("invoice"), "match": spec["match"],
            "survivorship": {"strategy": "priority", "priority": erps["invoice"] + crms["invoice"]},
            "sync": [{"target": n, "mode": "update_only",
                      "fields": _keep(folder, mappings[n]["invoice"], inv_fields)} for n in crms["invoice"]]}
        doc["rollups"] = [dict(r) for r in o2c["rollups"]]
    account_extra = list(o2c["entities"]["account"]["add_fields"]["crm"]) if erps["invoice"] else []
    kpis = o2c.get("kpis") or []
    if kpis and "account" in entities:
        ext["account"] = {"fields": dict(o2c["extensions"]["account"]["fields"])}
        doc["kpis"] = [{k: v for k, v in kpi.items() if k != "crm_fields"} for kpi in kpis]
        for n in crms["account"]:
            for kpi in kpis:
                rules = kpi_rules(kpi, n)
                if rules:
                    add_mapping_rules(folder / mappings[n]["account"], rules, f"KPIs from customer_kpi ({kpi['name']})")
        account_extra += [f for kpi in kpis for f in kpi["fields"]]
    acc = entities.get("account")
    if acc and account_extra:
        for rule in acc["sync"]:
            if roles.get(rule["target"]) == CRM and isinstance(rule.get("fields"), list):
                rel = mappings[rule["target"]]["account"]
                rule["fields"] = rule["fields"] + _keep(folder, rel, account_extra)
    if ext:
        doc["extensions"] = ext
    order = ("account", "product", "contact", "opportunity", "sales_order", "invoice")
    doc["entities"] = dict(sorted(entities.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 9))
    return routes
