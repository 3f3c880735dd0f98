"""``/runs`` (filtered, paginated) and ``/runs/{id}`` (each stream's counts, timings, errors, Prefect run)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from concord.hub.dashboard import queries
from concord.hub.dashboard.auth import Principal
from concord.hub.dashboard.web import Id, PageNo, page_links, reader, render, state

router = APIRouter()
STATUSES = ("running", "success", "partial", "failed")
MODES = ("sync", "plan", "pull", "push", "resync")


@router.get("/runs", response_class=HTMLResponse)
def runs(request: Request, status: str = "", mode: str = "", system: str = "", page: PageNo = 1,
         _p: Principal = Depends(reader)) -> HTMLResponse:
    st = state(request)
    with st.warehouse.engine.connect() as conn:
        pg = queries.runs(conn, status=status or None, mode=mode or None, system=system or None, page=page)
    return render(request, "runs.html", page=pg, links=page_links(request, pg), status=status, mode=mode,
                  system=system, statuses=STATUSES, modes=MODES, systems=list(st.project.config.systems))


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run(request: Request, run_id: Id, _p: Principal = Depends(reader)) -> HTMLResponse:
    st = state(request)
    with st.warehouse.engine.connect() as conn:
        data = queries.run_detail(conn, run_id)
    if data is None:
        raise HTTPException(404, f"run {run_id} does not exist")
    return render(request, "run.html", prefect_ui=st.prefect_ui, **data)
