"""``/``: a tile per system and stream, with sparklines over recent runs; refreshes itself."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from concord.hub.dashboard import queries
from concord.hub.dashboard.auth import Principal
from concord.hub.dashboard.web import reader, render, state

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, refresh: Annotated[int | None, Query(ge=0, le=86_400)] = None,
             _p: Principal = Depends(reader)) -> HTMLResponse:
    st = state(request)
    now = st.now()
    with st.warehouse.engine.connect() as conn:
        data = queries.overview(conn, st.project, now)
    seconds = st.refresh_seconds if refresh is None else max(0, refresh)
    return render(request, "overview.html", refresh=seconds, **data)
