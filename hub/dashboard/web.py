"""Plumbing shared by the page modules: the app state, rendering, authentication and CSRF checks."""
from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment

from concord.hub.config.loader import Project
from concord.hub.dashboard.auth import COOKIE, Principal, SessionSigner, Tokens, bearer_principal
from concord.hub.warehouse import Warehouse

MAX_PAGE = 100_000          # 5 million rows at 50 a page; beyond it a page number is a mistake (or a probe)
MAX_ID = 2**63 - 1          # a warehouse id is a 64-bit integer; larger ones would overflow the driver
#: a page number parameter: 1..MAX_PAGE, anything else is a 400 (never a database overflow)
PageNo = Annotated[int, Query(ge=1, le=MAX_PAGE)]
#: an id in a path: 0..MAX_ID, anything else is a 400
Id = Annotated[int, Path(ge=0, le=MAX_ID)]

NAV = [("/", "Overview"), ("/runs", "Runs"), ("/records", "Records"), ("/writes", "Queued writes"),
       ("/conflicts", "Conflicts"),
       ("/quarantine", "Quarantine"), ("/review", "Match review")]


@dataclass
class DashState:
    project: Project
    warehouse: Warehouse
    tokens: Tokens
    signer: SessionSigner
    env: Environment
    now: Callable[[], dt.datetime]
    refresh_seconds: int = 30
    prefect_ui: str | None = None


def state(request: Request) -> DashState:
    return request.app.state.dash


class NotAuthenticated(Exception):
    pass


class Forbidden(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def authenticate(request: Request) -> Principal | None:
    st = state(request)
    p = bearer_principal(st.tokens, request.headers.get("authorization"))
    if p is None:
        p = st.signer.verify(request.cookies.get(COOKIE))
    return p


def reader(request: Request) -> Principal:
    """Dependency: any role may read."""
    p = authenticate(request)
    if p is None:
        raise NotAuthenticated()
    request.state.principal = p
    return p


async def operator(request: Request) -> Principal:
    """Dependency for actions: the operator role, the same origin and (for cookie sessions) a valid CSRF token."""
    p = reader(request)
    if not p.is_operator:
        raise Forbidden("this action needs the operator role; you are signed in read-only")
    origin = request.headers.get("origin")
    if origin and origin != "null" and _host_of(origin) != request.headers.get("host"):
        raise Forbidden("cross-site request refused (Origin does not match)")
    if p.via == "cookie":
        form = await request.form()
        token = form.get("csrf")
        if not state(request).signer.check_csrf(p, token if isinstance(token, str) else None):
            raise Forbidden("the form's CSRF token is missing or wrong; reload the page and try again")
    return p


def _host_of(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc


def render(request: Request, template: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    st = state(request)
    p: Principal | None = getattr(request.state, "principal", None)
    base = {"request": request, "nav": NAV, "path": request.url.path, "principal": p,
            "csrf": st.signer.csrf_token(p) if p else "", "now": st.now(), "msg": request.query_params.get("msg"),
            "err": request.query_params.get("err"), "project_file": st.project.file}
    html = st.env.get_template(template).render(**base, **ctx)
    return HTMLResponse(html, status_code=status_code)


def back(path: str, *, msg: str | None = None, err: str | None = None) -> RedirectResponse:
    """After a POST: 303 to a page, with a short message shown there."""
    q = {k: v for k, v in (("msg", msg), ("err", err)) if v}
    return RedirectResponse(path + ("?" + urllib.parse.urlencode(q) if q else ""), status_code=303)


def safe_next(target: str | None) -> str:
    """Only local paths are followed after login (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def page_links(request: Request, page: Any, param: str = "page") -> dict[str, str | None]:
    def link(n: int) -> str:
        q = dict(request.query_params)
        q.pop("msg", None)
        q.pop("err", None)
        q[param] = str(n)
        return request.url.path + "?" + urllib.parse.urlencode(q)

    return {"prev": link(page.page - 1) if page.has_prev else None, "next": link(page.page + 1) if page.has_more else None}


def int_list(values: list[str]) -> list[int]:
    out = []
    for v in values:
        try:
            n = int(v)
        except ValueError:
            n = -1
        if not 0 <= n <= MAX_ID:
            raise HTTPException(400, f"not an id: {v[:40]!r}")
        out.append(n)
    return out
