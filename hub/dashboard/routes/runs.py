"""``/runs`` (filtered, paginated) and ``/runs/{id}``: where the run's wall time went (phases, streams,
entities: ``timings.py``), each stream's counts and errors, and its Prefect flow run."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from concord.hub.dashboard import queries
from concord.hub.dashboard.timings import attribute
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
    timing = attribute(data["run"], data["streams"])
    busy = {(x.system, x.entity, x.direction): x for x in timing.streams}
    summary = data["run"].get("summary")
    shown = {k: v for k, v in summary.items() if k != "timings"} if isinstance(summary, dict) else summary
    return render(request, "run.html", prefect_ui=st.prefect_ui, timing=timing, busy=busy, summary=shown, **data)
