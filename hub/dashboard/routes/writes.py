"""``/writes``: queued and waiting writes, each with the reason it has not gone yet (``writes.py``)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from concord.hub.dashboard import queries
from concord.hub.dashboard import writes as W
from concord.hub.dashboard.auth import Principal
from concord.hub.dashboard.queries import Page
from concord.hub.dashboard.web import PageNo, page_links, reader, render, state
from concord.hub.warehouse.stores.outbox import OPEN

router = APIRouter()


@router.get("/writes", response_class=HTMLResponse)
def writes(request: Request, system: str = "", entity: str = "", status: str = "", kind: str = "", page: PageNo = 1,
           _p: Principal = Depends(reader)) -> HTMLResponse:
    st = state(request)
    now = st.now()
    status = status if status in {s.value for s in OPEN} else ""
    kind = kind if kind in W.KINDS else ""
    with st.warehouse.engine.connect() as conn:
        usage = queries.systems_usage(conn, st.project, now)
        exhausted = {u["system"]: (u["used"], u["budget"]) for u in usage if u["budget"] and u["used"] >= u["budget"]}
        rows, more, cut = W.page(conn, now=now, exhausted=exhausted, system=system or None, entity=entity or None,
                                 status=status or None, kind=kind or None, page_no=page, size=queries.PAGE)
        totals = W.totals(conn)
    pg = Page([r.model_dump() for r in rows], page, queries.PAGE, more)
    return render(request, "writes.html", page=pg, links=page_links(request, pg), totals=totals, cut=cut,
                  system=system, entity=entity, status=status, kind=kind, kinds=W.KINDS,
                  statuses=[s.value for s in OPEN], systems=list(st.project.config.systems),
                  entities=st.project.entity_order(), scan_limit=W.SCAN_LIMIT)
