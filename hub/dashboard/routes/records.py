"""``/records`` (search by name, e-mail or any source id) and a golden record's 360° page."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from concord.hub.dashboard import records as R
from concord.hub.dashboard.auth import Principal
from concord.hub.dashboard.web import PageNo, page_links, reader, render, state

router = APIRouter()


@router.get("/records", response_class=HTMLResponse)
def search(request: Request, q: str = "", entity: str = "", page: PageNo = 1,
           _p: Principal = Depends(reader)) -> HTMLResponse:
    st = state(request)
    entities = st.project.entity_order()
    if entity and entity not in entities:
        raise HTTPException(404, f"unknown entity {entity!r}; known: {', '.join(entities)}")
    with st.warehouse.engine.connect() as conn:
        exact, pg = R.search(conn, st.project, q[:200], entity=entity or None, page=page)
    return render(request, "records.html", q=q, entity=entity or (entities[0] if entities else ""), entities=entities,
                  exact=exact, page=pg, links=page_links(request, pg))


@router.get("/records/{entity}/{golden_id}", response_class=HTMLResponse)
def record(request: Request, entity: str, golden_id: str, _p: Principal = Depends(reader)) -> HTMLResponse:
    st = state(request)
    with st.warehouse.engine.connect() as conn:
        data = R.record_360(conn, st.project, entity, golden_id)
    if data is None:
        raise HTTPException(404, f"no golden {entity} record {golden_id}")
    return render(request, "record.html", entity=entity, golden_id=golden_id, **data)
