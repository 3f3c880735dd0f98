"""``/conflicts``: held conflicts with base, left and right; resolve by picking a side or entering a value."""
from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from concord.hub.dashboard import actions, queries
from concord.hub.dashboard.auth import Principal
from concord.hub.dashboard.web import Id, PageNo, back, operator, page_links, reader, render, state
from concord.hub.warehouse.stores.conflicts import ConflictStatus

router = APIRouter()
STATUSES = tuple(ConflictStatus)     # held; decided by policy; decided by a person; applied to golden


@router.get("/conflicts", response_class=HTMLResponse)
def conflicts(request: Request, status: str = "open", entity: str = "", page: PageNo = 1,
              _p: Principal = Depends(reader)) -> HTMLResponse:
    st = state(request)
    chosen = ConflictStatus(status) if status in STATUSES else ConflictStatus.OPEN
    with st.warehouse.engine.connect() as conn:
        pg = queries.conflicts(conn, status=chosen, entity=entity or None, page=page)
    return render(request, "conflicts.html", page=pg, links=page_links(request, pg), status=str(chosen), entity=entity,
                  statuses=STATUSES,
                  entities=st.project.entity_order())


@router.post("/conflicts/{conflict_id}/resolve")
def resolve(request: Request, conflict_id: Id, side: str = Form(""), value: str = Form(""), as_json: str = Form(""),
            p: Principal = Depends(operator)) -> Response:
    st = state(request)
    if side == "value":
        if as_json:
            try:
                parsed = json.loads(value)
            except ValueError as exc:
                return back("/conflicts", err=f"conflict {conflict_id}: the value is not valid JSON ({exc.msg})")
        else:
            parsed = value
        res = actions.resolve_conflict(st.warehouse, conflict_id, side=None, value=parsed, by=f"dashboard:{p.role}",
                                       now=st.now())
    elif side in actions.SIDES:
        res = actions.resolve_conflict(st.warehouse, conflict_id, side=side, value=None, by=f"dashboard:{p.role}",
                                       now=st.now())
    else:
        return back("/conflicts", err=f"conflict {conflict_id}: pick left, right, base or enter a value")
    how = f"the {side} value" if side != "value" else "an entered value"
    return back("/conflicts", msg=f"conflict {conflict_id} resolved with {how} ({res['value']!r}); "
                                  "the next sync applies and writes it")
