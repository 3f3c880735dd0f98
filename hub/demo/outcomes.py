"""The business outcome of the demo, read from the warehouse after the last cycle: the won deals' ERP orders
(number, status, lines, amount) and what came back to the deals; per CRM the products with their stock, the
invoice records, the accounts' receivables and KPIs (sums over the accounts linked to that CRM)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from concord.hub.warehouse.stores import golden as golden_store
from concord.hub.warehouse.stores import outbox as outbox_store
from concord.hub.warehouse.stores import xrefs

KPI_FIELDS = ("lifetime_value", "credit_exposure")


def _dec(v: Any) -> Decimal:
    return Decimal(str(v)) if v not in (None, "") else Decimal(0)


def orders(conn: Any, deals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    opps, sos = golden_store.live_data(conn, "opportunity"), golden_store.live_data(conn, "sales_order")
    opp_links, so_links = xrefs.links(conn, "opportunity"), xrefs.links(conn, "sales_order")
    out = []
    for d in deals:
        if d.get("entity") == "sales_order":          # the CRM's own order (Zoho): the ERP's answers are on it
            gid, so_gid = None, so_links.get(d["crm"], {}).get(d["deal_id"])
            so = sos.get(so_gid or "", {})
            back = {"erp_order_number": so.get("order_number"), "order_status": so.get("status")}
        else:
            gid = opp_links.get(d["crm"], {}).get(d["deal_id"])
            opp = opps.get(gid or "", {})
            so_gid = opp.get("order_ref")
            so = sos.get(so_gid or "", {})
            back = {f: opp.get(f) for f in ("erp_order_number", "order_status", "delivery_status", "billing_status")}
        erp_ids = [sid for sid, g in so_links.get(d["erp"], {}).items() if g == so_gid]
        out.append({**d, "opportunity": gid, "order": so_gid, "erp_record": erp_ids[0] if erp_ids else None,
                    "order_number": so.get("order_number"), "order_status": so.get("status"),
                    "order_lines": len(so.get("lines") or ()), "net_amount": so.get("net_amount"),
                    "back_on_deal": back})
    return out


def per_crm(conn: Any, crms: list[str]) -> dict[str, dict[str, Any]]:
    accounts, products = golden_store.live_data(conn, "account"), golden_store.live_data(conn, "product")
    acc_links, prod_links, inv_links = xrefs.links(conn, "account"), xrefs.links(conn, "product"), xrefs.links(conn, "invoice")
    out: dict[str, dict[str, Any]] = {}
    for crm in crms:
        accs = [accounts[g] for g in set(acc_links.get(crm, {}).values()) if g in accounts]
        prods = [products[g] for g in set(prod_links.get(crm, {}).values()) if g in products]
        with_open = [a for a in accs if _dec(a.get("open_receivables")) > 0]
        with_kpis = [a for a in accs if a.get("lifetime_value") not in (None, "")]
        out[crm] = {
            "products": len(prods),
            "products_in_stock": sum(1 for p in prods if _dec(p.get("on_hand_quantity")) > 0),
            "stock_on_hand": str(sum((_dec(p.get("on_hand_quantity")) for p in prods), Decimal(0))),
            "invoice_records": len(inv_links.get(crm, {})),
            "accounts": len(accs),
            "accounts_with_open_receivables": len(with_open),
            "open_receivables": str(sum((_dec(a.get("open_receivables")) for a in accs), Decimal(0))),
            "overdue_receivables": str(sum((_dec(a.get("overdue_receivables")) for a in accs), Decimal(0))),
            "accounts_with_kpis": len(with_kpis),
            **{f: str(sum((_dec(a.get(f)) for a in accs), Decimal(0))) for f in KPI_FIELDS},
        }
    return out


def erp_orders(conn: Any, erps: list[str]) -> dict[str, int]:
    """Sales orders Concord created in each ERP (outbox creates that are done; Oracle's are upserts by the
    order's source transaction id)."""
    done = outbox_store.done_per_system(conn, "sales_order", ("create", "upsert"))
    return {e: done.get(e, 0) for e in erps}
