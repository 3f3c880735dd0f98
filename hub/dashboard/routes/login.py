"""Login (token form -> signed session cookie) and logout."""
from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from concord.hub.dashboard.auth import COOKIE, LOGIN_COOKIE, SESSION_SECONDS
from concord.hub.dashboard.web import authenticate, back, safe_next, state

router = APIRouter()


def login_page(request: Request, *, status_code: int = 200, next_path: str = "/", error: str | None = None,
               headers: dict[str, str] | None = None) -> HTMLResponse:
    st = state(request)
    nonce = secrets.token_urlsafe(24)
    html = st.env.get_template("login.html").render(request=request, nav=[], principal=None, next_path=safe_next(next_path),
                                                    login_csrf=nonce, error=error, msg=None, err=None)
    resp = HTMLResponse(html, status_code=status_code, headers=headers)
    resp.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                    max_age=1800, path="/login")
    return resp


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    if authenticate(request) is not None:
        return back(safe_next(next))
    return login_page(request, next_path=next)


@router.post("/login")
def login(request: Request, token: str = Form(""), csrf: str = Form(""), next: str = Form("/")) -> Response:
    st = state(request)
    expected = request.cookies.get(LOGIN_COOKIE) or ""
    if not expected or not csrf or not secrets.compare_digest(expected.encode(), csrf.encode()):
        return login_page(request, status_code=403, next_path=next,
                          error="The login form expired or was not sent from this page; please try again.")
    role = st.tokens.role_of(token.strip())
    if role is None:
        return login_page(request, status_code=401, next_path=next, error="That token is not valid.")
    resp = back(safe_next(next))
    resp.set_cookie(COOKIE, st.signer.issue(role), httponly=True, samesite="strict", secure=request.url.scheme == "https",
                    max_age=SESSION_SECONDS, path="/")
    resp.delete_cookie(LOGIN_COOKIE, path="/login")
    return resp


@router.post("/logout")
async def logout(request: Request) -> Response:
    p = authenticate(request)
    if p is not None and p.via == "cookie":
        form: Any = await request.form()
        if not state(request).signer.check_csrf(p, form.get("csrf")):
            return back("/", err="sign-out refused: missing CSRF token")
    resp = back("/login")
    resp.delete_cookie(COOKIE, path="/")
    return resp
