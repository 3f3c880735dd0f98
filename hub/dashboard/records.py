"""Record search and a golden record's 360° view (SQLAlchemy Core, indexed lookups only).

Search finds golden records by
- golden id or any source id (``xref`` primary key, probed per configured entity and system),
- e-mail (``lower(email)`` of the typed ``account`` / ``contact`` tables),
- name prefix, case-insensitive (``golden (entity, lower(title), golden_id)``), ordered and paginated.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, func, literal, literal_column, or_, select, union_all

from concord.hub.config.loader import Project
from concord.hub.dashboard.queries import PAGE, Page
from concord.hub.warehouse import tables as T
from concord.hub.warehouse import views
from concord.hub.warehouse.stores import conflicts as conflict_store
from concord.hub.warehouse.stores import golden as golden_store

EMAIL_TABLES = ("account", "contact")
HIGH = "\U0010ffff"


def search(conn: Connection, project: Project, q: str, *, entity: str | None = None, page: int = 1,
           size: int = PAGE) -> tuple[list[dict[str, Any]], Page]:
    """(exact hits by id or e-mail, paginated name-prefix matches)."""
    g = T.golden.c
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
            keys = list(exact)
            titles = {(x.entity, x.golden_id): x for x in conn.execute(
                select(g.entity, g.golden_id, g.title, g.version, g.deleted, g.updated_at).where(_pairs(g, keys)))}
            for k, row in exact.items():
                t = titles.get(k)
                row.update({"title": t.title if t else None, "version": t.version if t else None,
                            "deleted": bool(t.deleted) if t else False, "updated_at": t.updated_at if t else None})
    ent = entity or (entities[0] if entities else "account")
    low = func.lower(g.title)
    stmt = select(g.entity, g.golden_id, g.title, g.version, g.deleted, g.updated_at).where(g.entity == ent)
    if q:
        stmt = stmt.where(low >= func.lower(literal(q)), low < func.lower(literal(q)) + HIGH)
    stmt = stmt.order_by(low, g.golden_id)
    page = max(1, page)
    rows = [dict(r._mapping) for r in conn.execute(stmt.limit(size + 1).offset((page - 1) * size))]
    return list(exact.values()), Page(rows[:size], page, size, len(rows) > size)


def _pairs(g: Any, keys: list[tuple[str, str]]) -> Any:
    return or_(*[and_(g.entity == e, g.golden_id == i) for e, i in keys])


def _by_id(conn: Connection, entities: list[str], systems: list[str], q: str) -> list[dict[str, Any]]:
    x, g = T.xref.c, T.golden.c
    out = [{"entity": r.entity, "golden_id": r.golden_id, "why": f"source id {r.system}:{r.source_id}"}
           for r in conn.execute(select(x.entity, x.system, x.source_id, x.golden_id).where(
               x.entity.in_(entities), x.system.in_(systems), x.source_id == q).limit(PAGE))]
    out += [{"entity": r.entity, "golden_id": r.golden_id, "why": "golden id"}
            for r in conn.execute(select(g.entity, g.golden_id).where(g.entity.in_(entities), g.golden_id == q))]
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
    g = T.golden.c
    gold = conn.execute(select(T.golden).where(g.entity == entity, g.golden_id == golden_id)).first()
    if gold is None:
        return None
    x, r = T.xref.c, T.raw_record.c
    links = [dict(l._mapping) for l in conn.execute(
        select(T.xref).where(x.entity == entity, x.golden_id == golden_id).order_by(x.system, x.created_at))]
    sources = []
    for link in links:
        raw = conn.execute(select(r.source_entity, r.payload, r.canonical, r.status, r.deleted, r.source_updated_at,
                                  r.landed_at).where(r.system == link["system"], r.entity == entity,
                                                     r.source_id == link["source_id"])).first()
        sources.append({**link, "raw": dict(raw._mapping) if raw else None,
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
    md, o, q = T.match_decision.c, T.outbox.c, T.quarantine.c
    decisions = [dict(d._mapping) for d in conn.execute(
        select(T.match_decision).where(md.entity == entity, md.golden_id == golden_id).order_by(md.id.desc()).limit(PAGE))]
    writes = [dict(w._mapping) for w in conn.execute(
        select(T.outbox).where(o.entity == entity, o.golden_id == golden_id).order_by(o.id.desc()).limit(PAGE))]
    conflicts = [dict(w._mapping) for w in conn.execute(
        conflict_store.listing(status=None, entity=entity, golden_id=golden_id).limit(PAGE))]
    quarantined = []
    for link in links:
        quarantined += [dict(w._mapping) for w in conn.execute(
            select(T.quarantine).where(q.system == link["system"], q.entity == entity, q.source_id == link["source_id"])
            .order_by(q.id.desc()).limit(10))]
    history = sorted(
        [{"at": d["decided_at"], "kind": "match", "what": f"{d['decision']} {d['system']}:{d['source_id']}"
          + (f" by {d['rule']}" if d.get("rule") else "")} for d in decisions]
        + [{"at": w["updated_at"], "kind": "write", "what": f"{w['op']} → {w['system']} ({w['status']}, "
            f"{len(w['canonical'] or {})} field(s))"} for w in writes]
        + [{"at": row["changed_at"], "kind": "field", "what": f"{f} ← {row['system']}:{row['source_id']}"}
           for f, row in lineage.items()]
        + [{"at": k["created_at"], "kind": "conflict", "what": f"{k['field']} {k['status']}"} for k in conflicts],
        key=lambda h: str(h["at"] or ""), reverse=True)
    out = {"golden": dict(gold._mapping), "data": data, "sources": sources, "grid": grid, "lineage": lineage,
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
