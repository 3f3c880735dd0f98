"""Record search and a golden record's 360° view (SQLAlchemy Core, indexed lookups only).

Search finds golden records by
- golden id or any source id (``xref`` primary key, probed per configured entity and system),
- e-mail (``lower(email)`` of the typed ``account`` / ``contact`` tables),
- name prefix, case-insensitive (``golden (entity, lower(title), golden_id)``), ordered and paginated.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, literal, literal_column, select, union_all

from concord.hub.config.loader import Project
from concord.hub.dashboard.queries import PAGE, Page
from concord.hub.warehouse import tables as T
from concord.hub.warehouse import views
from concord.hub.warehouse.stores import conflicts as conflict_store
from concord.hub.warehouse.stores import decisions as decision_store
from concord.hub.warehouse.stores import golden as golden_store
from concord.hub.warehouse.stores import lookup, staged, xrefs
from concord.hub.warehouse.stores import outbox as outbox_store
from concord.hub.warehouse.stores import quarantine as quarantine_store

EMAIL_TABLES = ("account", "contact")


def search(conn: Connection, project: Project, q: str, *, entity: str | None = None, page: int = 1,
           size: int = PAGE) -> tuple[list[dict[str, Any]], Page]:
    """(exact hits by id or e-mail, paginated name-prefix matches)."""
    entities = list(project.entity_order())
    q = q.strip()
    exact: dict[tuple[str, str], dict[str, Any]] = {}
    if q:
        for row in _by_id(conn, entities, list(project.config.systems), q):
            exact.setdefault((row["entity"], row["golden_id"]), row)
        if "@" in q:
            for row in _by_email(conn, q):
                exact.setdefault((row["entity"], row["golden_id"]), row)
        if exact:
            titles = lookup.summaries(conn, list(exact))
            for k, row in exact.items():
                t = titles.get(k)
                row.update({"title": t.title if t else None, "version": t.version if t else None,
                            "deleted": t.deleted if t else False, "updated_at": t.updated_at if t else None})
    ent = entity or (entities[0] if entities else "account")
    stmt = lookup.title_prefix_listing(ent, q)
    page = max(1, page)
    rows = [dict(r._mapping) for r in conn.execute(stmt.limit(size + 1).offset((page - 1) * size))]
    return list(exact.values()), Page(rows[:size], page, size, len(rows) > size)


def _by_id(conn: Connection, entities: list[str], systems: list[str], q: str) -> list[dict[str, Any]]:
    out = [{"entity": r.entity, "golden_id": r.golden_id, "why": f"source id {r.system}:{r.source_id}"}
           for r in xrefs.with_source_id(conn, entities, systems, q, limit=PAGE)]
    out += [{"entity": e, "golden_id": gid, "why": "golden id"} for e, gid in lookup.with_ids(conn, entities, q)]
    return out


def _by_email(conn: Connection, q: str) -> list[dict[str, Any]]:
    parts = []
    for name in EMAIL_TABLES:
        t = T.CANONICAL[name]
        parts.append(select(literal(name).label("entity"), t.c.golden_id).where(
            func.lower(t.c.email) == func.lower(literal(q))).limit(PAGE))
    stmt = union_all(*[p.subquery().select() for p in parts])
    return [{"entity": r.entity, "golden_id": r.golden_id, "why": "e-mail"} for r in conn.execute(stmt)]


# ---- 360° ----------------------------------------------------------------------------------------
def record_360(conn: Connection, project: Project, entity: str, golden_id: str) -> dict[str, Any] | None:
    gold = lookup.view(conn, entity, golden_id)
    if gold is None:
        return None
    links = [x.as_dict() for x in xrefs.of_golden(conn, entity, golden_id)]
    sources = []
    for link in links:
        raw = staged.view(conn, link["system"], entity, link["source_id"])
        sources.append({**link, "raw": raw.as_dict() if raw else None,
                        "canonical": dict((raw.canonical if raw else None) or {})})
    data = dict(gold.data or {})
    lineage = golden_store.lineage_of(conn, entity, golden_id)
    fields = sorted(set(data) | {f for s in sources for f in s["canonical"]})
    grid = []
    for f in fields:
        want = data.get(f)
        cells = [{"value": s["canonical"].get(f), "differs": s["canonical"].get(f) != want and s["canonical"].get(f) is not None
                  or (want is not None and f in s["canonical"] and s["canonical"].get(f) is None)} for s in sources]
        grid.append({"field": f, "golden": want, "cells": cells, "lineage": lineage.get(f),
                     "differs": any(c["differs"] for c in cells)})
    decisions = [d.as_dict() for d in decision_store.of_golden(conn, entity, golden_id, limit=PAGE)]
    writes = [w.as_dict() for w in outbox_store.of_golden(conn, entity, golden_id, limit=PAGE)]
    conflicts = [dict(w._mapping) for w in conn.execute(
        conflict_store.listing(status=None, entity=entity, golden_id=golden_id).limit(PAGE))]
    quarantined = []
    for link in links:
        quarantined += [w.as_dict() for w in quarantine_store.of_record(conn, link["system"], entity,
                                                                          link["source_id"], limit=10)]
    history = sorted(
        [{"at": d["decided_at"], "kind": "match", "what": f"{d['decision']} {d['system']}:{d['source_id']}"
          + (f" by {d['rule']}" if d.get("rule") else "")} for d in decisions]
        + [{"at": w["updated_at"], "kind": "write", "what": f"{w['op']} → {w['system']} ({w['status']}, "
            f"{len(w['canonical'] or {})} field(s))"} for w in writes]
        + [{"at": row["changed_at"], "kind": "field", "what": f"{f} ← {row['system']}:{row['source_id']}"}
           for f, row in lineage.items()]
        + [{"at": k["created_at"], "kind": "conflict", "what": f"{k['field']} {k['status']}"} for k in conflicts],
        key=lambda h: str(h["at"] or ""), reverse=True)
    out = {"golden": gold.as_dict(), "data": data, "sources": sources, "grid": grid, "lineage": lineage,
           "decisions": decisions, "writes": writes, "conflicts": conflicts, "quarantined": quarantined,
           "history": history[:100], "erp": None}
    if entity == "account":
        out["erp"] = account_erp(conn, golden_id)
    return out


def account_erp(conn: Connection, golden_id: str) -> dict[str, Any]:
    """An account's orders, invoices (open amount, overdue flag) and KPIs.

    Lists come from the typed canonical tables (indexed by ``account_ref``); the figures are the rows of
    the ``customer_360`` and ``customer_kpi`` views for this account (``hub.warehouse.views``: the same
    SQL, restricted to the account), and an invoice's open amount and overdue flag use the views'
    definitions, so the page and an analyst's query agree."""
    so, inv = T.CANONICAL["sales_order"], T.CANONICAL["invoice"].alias("i")
    d = views.Dialect(conn.dialect.name)
    orders = [dict(r._mapping) for r in conn.execute(
        select(so.c.golden_id, so.c.order_number, so.c.order_date, so.c.status, so.c.delivery_status,
               so.c.billing_status, so.c.net_amount, so.c.currency)
        .where(so.c.account_ref == golden_id)
        .order_by(so.c.order_date.desc().nulls_last(), so.c.order_number, so.c.golden_id).limit(PAGE))]
    invoices = [dict(r._mapping) for r in conn.execute(
        select(inv.c.golden_id, inv.c.invoice_number, inv.c.invoice_date, inv.c.due_date, inv.c.status, inv.c.amount,
               literal_column(views.invoice_open_sql("i")).label("open_due"), inv.c.open_amount, inv.c.currency,
               literal_column(views.invoice_overdue_sql(d, "i")).label("overdue"))
        .where(inv.c.account_ref == golden_id)
        .order_by(inv.c.invoice_date.desc().nulls_last(), inv.c.invoice_number).limit(PAGE))]
    for i in invoices:
        i["overdue"] = bool(i["overdue"])
    n_invoices = conn.execute(select(func.count()).where(inv.c.account_ref == golden_id)).scalar()
    n_orders = conn.execute(select(func.count()).where(so.c.account_ref == golden_id)).scalar()
    figures = views.account_figures(conn, golden_id)
    c360, kpi = figures["customer_360"], figures["customer_kpi"]
    return {"orders": orders, "invoices": invoices, "open_amount": kpi.get("open_receivables") or 0,
            "n_invoices": n_invoices, "n_orders": n_orders, "c360": c360, "kpi": kpi}
