"""``/quarantine``: quarantined records and dead-lettered writes, with retry and discard."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from concord.hub.dashboard import actions, queries
from concord.hub.dashboard.auth import Principal
from concord.hub.dashboard.web import Id, PageNo, back, operator, page_links, reader, render, state

router = APIRouter()


@router.get("/quarantine", response_class=HTMLResponse)
def quarantine(request: Request, system: str = "", entity: str = "", page: PageNo = 1, dpage: PageNo = 1,
               _p: Principal = Depends(reader)) -> HTMLResponse:
    st = state(request)
    with st.warehouse.engine.connect() as conn:
        qpg = queries.quarantine(conn, system=system or None, entity=entity or None, page=page)
        dpg = queries.dead_letters(conn, system=system or None, page=dpage)
    return render(request, "quarantine.html", qpage=qpg, qlinks=page_links(request, qpg), dpage=dpg,
                  dlinks=page_links(request, dpg, "dpage"), system=system, entity=entity,
                  systems=list(st.project.config.systems), entities=st.project.entity_order())


@router.get("/deadletters", response_class=HTMLResponse)
def deadletters(request: Request, _p: Principal = Depends(reader)) -> Response:
    return back("/quarantine#dead")


@router.post("/quarantine/{item_id}/{action}")
def quarantine_action(request: Request, item_id: Id, action: str, _p: Principal = Depends(operator)) -> Response:
    st = state(request)
    if action == "retry":
        n = actions.retry_quarantine(st.warehouse, [item_id], st.now())
        return _done(n, f"quarantined record {item_id} will be processed again on the next sync", item_id)
    if action == "discard":
        n = actions.discard_quarantine(st.warehouse, [item_id], st.now())
        return _done(n, f"quarantined record {item_id} discarded", item_id)
    return back("/quarantine", err=f"unknown action {action!r}")


@router.post("/deadletters/{item_id}/{action}")
def dead_action(request: Request, item_id: Id, action: str, _p: Principal = Depends(operator)) -> Response:
    st = state(request)
    if action == "retry":
        n = actions.retry_dead(st.warehouse, [item_id], st.now())
        return _done(n, f"write {item_id} queued again; the next sync or push sends it", item_id)
    if action == "discard":
        n = actions.discard_dead(st.warehouse, [item_id], st.now())
        return _done(n, f"write {item_id} discarded", item_id)
    return back("/quarantine", err=f"unknown action {action!r}")


def _done(n: int, message: str, item_id: int) -> Response:
    if n:
        return back("/quarantine", msg=message)
    return back("/quarantine", err=f"item {item_id} is not open any more (already retried or discarded)")
