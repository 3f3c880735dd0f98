"""The dashboard's FastAPI application factory."""
from __future__ import annotations

import datetime as dt
import html
import logging
import os
import traceback
from collections.abc import Callable
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from concord.hub.config.loader import Project
from concord.hub.dashboard import evidence, present
from concord.hub.dashboard.auth import SessionSigner, Tokens
from concord.hub.dashboard.svg import sparkline, timebar
from concord.hub.dashboard.web import DashState, Forbidden, NotAuthenticated, render, state
from concord.hub.errors import HubError
from concord.hub.http.redact import redact
from concord.hub.warehouse import Warehouse

log = logging.getLogger("concord.hub.dashboard")

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def template_env() -> Environment:
    env = Environment(loader=PackageLoader("concord.hub.dashboard", "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pretty=present.pretty, short=present.short, when=present.when, duration=present.duration,
                       mask=present.mask, amount=present.amount, percent=present.percent, day=present.day,
                       bar_class=present.bar_class, since=present.since, number=present.number,
                       country=present.country)
    env.globals.update(sparkline=sparkline, timebar=timebar, evidence=evidence.read, ago=present.ago, seconds_between=present.seconds_between)
    return env


def create_app(project: Project, warehouse: Warehouse, *, tokens: Tokens | None = None,
               now: Callable[[], dt.datetime] = _utcnow, refresh_seconds: int = 30) -> FastAPI:
    """The dashboard over one project and its warehouse. Tokens default to config + environment."""
    if tokens is None:
        d = project.config.dashboard
        tokens = Tokens.resolve(d.token, d.read_token)
    app = FastAPI(title="Concord dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.dash = DashState(project=project, warehouse=warehouse, tokens=tokens,
                               signer=SessionSigner(tokens.signing_key()), env=template_env(), now=now,
                               refresh_seconds=refresh_seconds, prefect_ui=os.environ.get("PREFECT_UI_URL"))

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        # An unexpected failure is caught here, inside this middleware, so its 500 page carries the
        # same headers as every other response (Starlette's own 500 page is outside all middleware).
        try:
            response = await call_next(request)
        except Exception as exc:  # noqa: BLE001 - the last line of defence: log it, show no detail
            response = _internal_error(request, exc)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if request.url.path != "/static/style.css":
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(RequestValidationError)
    async def _400(request: Request, exc: RequestValidationError) -> Response:
        # the input is not echoed: a page number or id out of range, or not a number at all
        problems = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors() if e.get("loc")) or "bad request"
        if _wants_html(request):
            return render(request, "error.html", status_code=400, title="Bad request", message=problems)
        return JSONResponse({"detail": problems}, 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_html(request) and exc.status_code >= 400:
            title = {404: "Not found", 400: "Bad request", 405: "Not allowed"}.get(exc.status_code, "Error")
            resp: Response = render(request, "error.html", status_code=exc.status_code, title=title,
                                    message=str(exc.detail))
        else:
            resp = JSONResponse({"detail": exc.detail}, exc.status_code)
        for k, v in (exc.headers or {}).items():
            resp.headers[k] = v
        return resp

    @app.exception_handler(NotAuthenticated)
    async def _401(request: Request, _exc: NotAuthenticated) -> Response:
        hdrs = {"WWW-Authenticate": 'Bearer realm="concord"'}
        if _wants_html(request):
            from concord.hub.dashboard.routes.login import login_page

            return login_page(request, status_code=401, next_path=request.url.path, headers=hdrs)
        return JSONResponse({"detail": "a dashboard token is required (Authorization: Bearer ...)"}, 401, headers=hdrs)

    @app.exception_handler(Forbidden)
    async def _403(request: Request, exc: Forbidden) -> Response:
        if _wants_html(request):
            return render(request, "error.html", status_code=403, title="Forbidden", message=exc.message)
        return JSONResponse({"detail": exc.message}, 403)

    @app.exception_handler(HubError)
    async def _hub_error(request: Request, exc: HubError) -> Response:
        message = redact(exc.message)
        if _wants_html(request):
            return render(request, "error.html", status_code=409, title="Not done", message=message)
        return JSONResponse({"detail": message}, 409)

    @app.get("/static/style.css", include_in_schema=False)
    def css() -> Response:
        text = resources.files("concord.hub.dashboard").joinpath("static/style.css").read_text(encoding="utf-8")
        return Response(text, media_type="text/css", headers={"Cache-Control": "max-age=300"})

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> HTMLResponse:
        return HTMLResponse("ok")

    from concord.hub.dashboard.routes import conflicts, login, overview, queues, records, review, runs, writes

    for mod in (login, overview, runs, records, writes, conflicts, queues, review):
        app.include_router(mod.router)
    return app


def _internal_error(request: Request, exc: BaseException) -> Response:
    """A 500 that says nothing about the failure; the log gets the redacted message and the stack."""
    log.error("dashboard: %s %s failed: %s: %s\n%s", request.method, request.url.path, type(exc).__name__,
              redact(str(exc))[:1000], "".join(traceback.format_tb(exc.__traceback__)))
    if _wants_html(request) or "text/html" in request.headers.get("accept", ""):
        body = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error - Concord</title>"
                "<link rel=\"stylesheet\" href=\"/static/style.css\"></head><body><main><h1>Something went wrong</h1>"
                "<p class=\"flash bad\" role=\"alert\">The dashboard could not show this page. The error is in its log "
                f"({html.escape(type(exc).__name__)}).</p><p><a href=\"/\">overview</a></p></main></body></html>")
        return HTMLResponse(body, status_code=500)
    return JSONResponse({"detail": "internal error; see the dashboard's log"}, 500)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") or request.method == "POST" and \
        request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/"))


__all__ = ["create_app", "state", "template_env"]
