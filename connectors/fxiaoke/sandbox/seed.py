"""Project the shared world into the Fxiaoke sandbox's objects, with Chinese names.

Accounts carry the company's 中文 name (``Company.cjk_name``) and contacts the person's
(``Person.cjk_name``), so CJK text is exercised end to end. Latin names go to the
``english_name__c`` custom fields with some typos. Money and numbers are strings, dates
are epoch ms at 00:00 Beijing time (the describe says ``time_zone: GMT+8``), ``owner`` is
a list of open user ids. A few accounts are invalidated (作废) so delete detection has
something to find. Each table's ``truth`` maps ``_id`` to the world index.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

from concord.connectors.fxiaoke.sandbox.objects import INDUSTRY_CODES, ORDER_STATUS
from concord.connectors.fxiaoke.sandbox.store import Store
from concord.hub.sandbox.world import World

SYSTEM = "fxiaoke"
BEIJING = dt.timezone(dt.timedelta(hours=8))
#: the sandbox enterprise's users: open user id -> e-mail (the CRM admin is user 1000)
USERS = {
    "FSUID_ADMIN1000": "admin@sandbox.fxiaoke.example",
    "FSUID_A1B2C3D4E5F60001": "a.weber@example.com",
    "FSUID_A1B2C3D4E5F60002": "j.smith@example.com",
    "FSUID_A1B2C3D4E5F60003": "l.chen@example.com",
    "FSUID_A1B2C3D4E5F60004": "m.rossi@example.com",
}
_BY_EMAIL = {v: k for k, v in USERS.items()}


def object_id(api_name: str, index: int) -> str:
    """A stable 24-hex id (the shape of real Fxiaoke ``_id`` values)."""
    return hashlib.blake2b(f"fxiaoke:{api_name}:{index}".encode(), digest_size=12).hexdigest()


def ms(d: dt.datetime) -> int:
    return int(d.timestamp() * 1000)


def date_ms(d: dt.date) -> int:
    return ms(dt.datetime(d.year, d.month, d.day, tzinfo=BEIJING))


def money(v: Decimal) -> str:
    return str(Decimal(v).quantize(Decimal("0.01")))


def _system(owner_email: str, created: dt.datetime, updated: dt.datetime) -> dict[str, Any]:
    owner = _BY_EMAIL.get(owner_email, "FSUID_ADMIN1000")
    return {"owner": [owner], "owner_department": "销售部", "created_by": [owner], "create_time": ms(created),
            "last_modified_by": [owner], "last_modified_time": ms(updated), "life_status": "normal",
            "is_deleted": False, "lock_status": "0", "record_type": "default__c", "version": "1"}


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """Empty values are not returned (includeNull defaults to false)."""
    return {k: v for k, v in row.items() if v not in (None, "")}


def seed(store: Store, world: World, *, share: float = 0.6, objects: set[str] | None = None) -> None:
    want = (lambda name: objects is None or name in objects)
    accounts: dict[int, str] = {}
    rows: list[dict[str, Any]] = []
    truth: dict[str, int] = {}
    for c in world.companies():
        if not world.present(SYSTEM, "company", c.index, share):
            continue
        n = world.noise(SYSTEM, "company", c.index)
        _id = object_id("AccountObj", c.index)
        accounts[c.index] = _id
        row = _system(c.owner, c.created_at, c.updated_at) | {
            "_id": _id, "name": c.cjk_name, "account_no": f"KH{c.index + 1:08d}",
            "english_name__c": n.typo(n.case(c.full_name, 0.05), 0.1), "legal_form__c": c.legal_form,
            "uniform_social_credit_code": n.maybe(c.tax_id, 0.1), "duns__c": n.maybe(c.duns, 0.3),
            "erp_customer_no__c": c.erp_number if c.lifecycle == "customer" and not n.chance(0.2) else None,
            "tel": n.phone(c.phone), "email": n.case(c.email, 0.05), "url": n.maybe(c.website, 0.1),
            "country": c.country, "province__c": c.region, "city__c": c.city, "address": n.street(c.street),
            "postal_code__c": n.maybe(c.postal_code, 0.05), "industry_level1": INDUSTRY_CODES[c.industry],
            "deal_status": "2" if c.lifecycle == "customer" else "1",
            "account_level": n.rng.choice(["A", "B", "C"]), "credit_limit__c": money(c.credit_limit),
            "payment_terms__c": c.payment_terms, "mc_currency": c.currency,
            "annual_revenue__c": money(c.annual_revenue), "employee_count__c": str(c.employees),
        }
        if n.chance(0.02):
            row["life_status"], row["is_deleted"] = "invalid", True
        rows.append(_clean(row))
        truth[_id] = c.index
    if want("AccountObj") or objects is None or len(objects) > 1:
        store.load("AccountObj", rows, truth)  # referenced by every other object
    del rows

    if want("ContactObj"):
        rows, truth = [], {}
        for p in world.people():
            acc = accounts.get(p.company_index)
            if acc is None or not world.present(SYSTEM, "person", p.index, 0.8):
                continue
            n = world.noise(SYSTEM, "person", p.index)
            _id = object_id("ContactObj", p.index)
            c = world.company(p.company_index)
            rows.append(_clean(_system(c.owner, p.updated_at - dt.timedelta(days=30), p.updated_at) | {
                "_id": _id, "name": p.cjk_name, "english_name__c": n.typo(f"{p.first_name} {p.last_name}", 0.05),
                "account_id": acc, "tel1": n.phone(p.phone), "mobile1": n.maybe(n.phone(p.mobile), 0.2),
                "email": n.maybe(p.email, 0.05), "job_title": p.job_title, "birthday": n.maybe(date_ms(p.birth_date), 0.4),
            }))
            truth[_id] = p.index
        store.load("ContactObj", rows, truth)

    products: dict[int, str] = {}
    if want("ProductObj") or want("SalesOrderObj"):
        rows, truth = [], {}
        for pr in world.products():
            if not world.present(SYSTEM, "product", pr.index, 0.9):
                continue
            n = world.noise(SYSTEM, "product", pr.index)
            _id = object_id("ProductObj", pr.index)
            products[pr.index] = _id
            rows.append(_clean(_system("a.weber@example.com", pr.updated_at - dt.timedelta(days=90), pr.updated_at) | {
                "_id": _id, "name": n.typo(pr.name, 0.05), "product_code": pr.sku, "price": money(pr.list_price),
                "unit": pr.unit, "category": pr.group, "product_status": "1" if pr.active else "2",
                "barcode": n.maybe(pr.gtin, 0.1), "weight__c": str(pr.weight_kg), "mc_currency": pr.currency,
                "product_spec": pr.description,
            }))
            truth[_id] = pr.index
        store.load("ProductObj", rows, truth)

    if want("SalesOrderObj") or want("NewOpportunityObj"):
        orders, lines, opps, opp_lines = [], [], [], []
        o_truth, l_truth, p_truth, ol_truth = {}, {}, {}, {}
        for o in world.orders():
            acc = accounts.get(o.company_index)
            if acc is None:
                continue
            c = world.company(o.company_index)
            if want("SalesOrderObj") and world.present(SYSTEM, "order", o.index, 0.7):
                _id = object_id("SalesOrderObj", o.index)
                orders.append(_clean(_system(c.owner, o.updated_at - dt.timedelta(days=5), o.updated_at) | {
                    "_id": _id, "name": f"SO{o.index + 1:08d}", "erp_order_no__c": o.order_number,
                    "account_id": acc, "order_time": date_ms(o.order_date),
                    "delivery_date": date_ms(o.requested_delivery_date), "order_status": ORDER_STATUS[o.status],
                    "order_amount": money(o.net_amount), "customer_po__c": o.customer_reference,
                    "mc_currency": o.currency,
                }))
                o_truth[_id] = o.index
                for ln in o.lines:
                    prod = products.get(ln.product_index)
                    if prod is None:
                        continue
                    lid = object_id("SalesOrderProductObj", o.index * 10 + ln.line_number)
                    lines.append(_clean(_system(c.owner, o.updated_at - dt.timedelta(days=5), o.updated_at) | {
                        "_id": lid, "name": f"OP{o.index + 1:08d}-{ln.line_number}", "order_id": _id,
                        "product_id": prod, "product_code": ln.sku, "line_no__c": str(ln.line_number),
                        "quantity": str(ln.quantity), "unit__c": ln.unit, "sales_price": money(ln.unit_price),
                        "subtotal": money(ln.net_amount),
                    }))
                    l_truth[lid] = o.index
            if want("NewOpportunityObj") and world.present(SYSTEM, "opportunity", o.index, 0.4):
                _id = object_id("NewOpportunityObj", o.index)
                stage = {"completed": "5", "cancelled": "6"}.get(o.status, str(1 + o.index % 4))
                opps.append(_clean(_system(c.owner, o.updated_at - dt.timedelta(days=40), o.updated_at) | {
                    "_id": _id, "name": f"{c.cjk_name} - {o.customer_reference}", "account_id": acc,
                    "amount": money(o.net_amount), "sales_stage": stage,
                    "sales_status": {"5": "2", "6": "3"}.get(stage, "1"),
                    "probability": {"5": "100", "6": "0"}.get(stage, str(20 * int(stage))),
                    "close_date": date_ms(o.requested_delivery_date), "mc_currency": o.currency,
                }))
                p_truth[_id] = o.index
                for ln in o.lines:                  # the deal's products (商机2.0明细)
                    prod = products.get(ln.product_index)
                    if prod is None:
                        continue
                    lid = object_id("NewOpportunityLinesObj", o.index * 10 + ln.line_number)
                    opp_lines.append(_clean(_system(c.owner, o.updated_at - dt.timedelta(days=40), o.updated_at) | {
                        "_id": lid, "name": f"NO{o.index + 1:08d}-{ln.line_number}", "new_opportunity_id": _id,
                        "product_id": prod, "product_code": ln.sku, "line_no__c": str(ln.line_number),
                        "quantity": str(ln.quantity), "sales_price": money(ln.unit_price),
                        "subtotal": money(ln.net_amount),
                    }))
                    ol_truth[lid] = o.index
        store.load("SalesOrderObj", orders, o_truth)
        store.load("SalesOrderProductObj", lines, l_truth)
        store.load("NewOpportunityObj", opps, p_truth)
        store.load("NewOpportunityLinesObj", opp_lines, ol_truth)

    if want("object_invoice__c"):
        rows, truth = [], {}
        for inv in world.invoices():
            acc = accounts.get(inv.company_index)
            if acc is None or not world.present(SYSTEM, "invoice", inv.index, 0.3):
                continue
            _id = object_id("object_invoice__c", inv.index)
            c = world.company(inv.company_index)
            rows.append(_clean(_system(c.owner, inv.updated_at - dt.timedelta(days=1), inv.updated_at) | {
                "_id": _id, "name": inv.invoice_number, "account_id__c": acc,
                "invoice_date__c": date_ms(inv.invoice_date), "due_date__c": date_ms(inv.due_date),
                "amount__c": money(inv.amount), "open_amount__c": money(inv.open_amount),
                "status__c": inv.status if inv.status in ("open", "partially_paid", "paid") else "open",
                "mc_currency": inv.currency,
            }))
            truth[_id] = inv.index
        store.load("object_invoice__c", rows, truth)
