"""``/review``: match pairs between the thresholds, to confirm or reject."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from concord.hub.dashboard import actions, queries
from concord.hub.dashboard.auth import Principal
from concord.hub.dashboard.web import Id, PageNo, back, operator, page_links, reader, render, state

router = APIRouter()


@router.get("/review", response_class=HTMLResponse)
def review(request: Request, entity: str = "", page: PageNo = 1, _p: Principal = Depends(reader)) -> HTMLResponse:
    st = state(request)
    with st.warehouse.engine.connect() as conn:
        pg = queries.review(conn, entity=entity or None, page=page)
    return render(request, "review.html", page=pg, links=page_links(request, pg), entity=entity,
                  entities=st.project.entity_order())


@router.post("/review/{decision_id}/{action}")
def decide(request: Request, decision_id: Id, action: str, p: Principal = Depends(operator)) -> Response:
    if action not in ("confirm", "reject"):
        return back("/review", err=f"unknown action {action!r}")
    st = state(request)
    d = actions.decide_review(st.warehouse, decision_id, confirm=action == "confirm", by=f"dashboard:{p.role}",
                              now=st.now(), project=st.project)
    return back("/review", msg=f"pair {decision_id}: {d.replace('_', ' ')} recorded")
