"""Tokens, roles, session cookies and CSRF, through FastAPI's TestClient against the real warehouse."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from concord.hub.dashboard.auth import COOKIE, SessionSigner, Tokens
from concord.hub.errors import ConfigError
from concord.hub.warehouse import tables as T
from tests.dashboard.conftest import OP_TOKEN, READ_TOKEN, op_headers, read_headers

PAGES = ["/", "/runs", "/runs/1", "/records", "/records?q=nord", "/conflicts", "/quarantine", "/review"]


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def _actions(ids: dict) -> list[tuple[str, dict]]:
    return [(f"/conflicts/{ids['conflict']}/resolve", {"side": "left"}),
            (f"/quarantine/{ids['quarantine']}/retry", {}), (f"/quarantine/{ids['quarantine']}/discard", {}),
            (f"/deadletters/{ids['dead']}/retry", {}), (f"/deadletters/{ids['dead']}/discard", {}),
            (f"/review/{ids['review']}/confirm", {}), (f"/review/{ids['review']}/reject", {})]


def test_every_page_needs_a_token(client, filled) -> None:
    pages = PAGES + [f"/records/account/{filled.ids['nordwind']}"]
    for path in pages:
        r = client.get(path)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"].startswith("Bearer")
        html = client.get(path, headers={"Accept": "text/html"})
        assert html.status_code == 401 and 'action="/login"' in html.text, path
        assert client.get(path, headers={"Authorization": "Bearer wrong-token-123456"}).status_code == 401
        assert client.get(path, headers={"Authorization": f"Basic {OP_TOKEN}"}).status_code == 401
        assert client.get(path, headers=read_headers()).status_code == 200, path
    for path, data in _actions(filled.ids):
        assert client.post(path, data=data).status_code == 401, path


def test_read_only_role_cannot_act(client, filled) -> None:
    for path, data in _actions(filled.ids):
        r = client.post(path, data=data, headers=read_headers(), follow_redirects=False)
        assert r.status_code == 403, path
        assert "operator role" in r.text
    with filled.warehouse.tx() as conn:
        assert conn.execute(select(T.conflict.c.status).where(T.conflict.c.id == filled.ids["conflict"])).scalar() == "open"
        assert conn.execute(select(T.outbox.c.status).where(T.outbox.c.id == filled.ids["dead"])).scalar() == "dead"
        assert conn.execute(select(T.quarantine.c.status).where(T.quarantine.c.id == filled.ids["quarantine"])).scalar() == "open"
    page = client.get("/quarantine", headers=read_headers()).text
    assert "/deadletters/" not in page and "read-only" in page  # no action buttons for the read-only role


def _login(client, token: str) -> None:
    form = client.get("/login", headers={"Accept": "text/html"})
    assert form.status_code == 200
    r = client.post("/login", data={"token": token, "csrf": _csrf(form.text), "next": "/conflicts"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/conflicts"
    set_cookie = r.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie.replace("Strict", "strict")
    assert token not in set_cookie


def test_login_form_sets_a_signed_session_and_actions_need_csrf(client, filled) -> None:
    _login(client, OP_TOKEN)
    page = client.get("/conflicts", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "operator" in page.text
    url = f"/conflicts/{filled.ids['conflict']}/resolve"
    assert client.post(url, data={"side": "left"}, follow_redirects=False).status_code == 403
    assert client.post(url, data={"side": "left", "csrf": "forged"}, follow_redirects=False).status_code == 403
    r = client.post(url, data={"side": "left", "csrf": _csrf(page.text)}, headers={"Origin": "https://evil.example"},
                    follow_redirects=False)
    assert r.status_code == 403 and "cross-site" in r.text
    r = client.post(url, data={"side": "left", "csrf": _csrf(page.text)}, headers={"Origin": "http://127.0.0.1"},
                    follow_redirects=False)
    assert r.status_code == 303
    with filled.warehouse.tx() as conn:
        assert conn.execute(select(T.conflict.c.status).where(T.conflict.c.id == filled.ids["conflict"])).scalar() == "resolved"
    # a tampered cookie is no session
    cookie = client.cookies.get(COOKIE)
    client.cookies.set(COOKIE, cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))
    assert client.get("/").status_code == 401


def test_read_only_session_and_logout(client, filled) -> None:
    _login(client, READ_TOKEN)
    page = client.get("/quarantine", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "read-only" in page.text
    r = client.post(f"/deadletters/{filled.ids['dead']}/retry", data={"csrf": _csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 403
    assert client.post("/logout", data={"csrf": _csrf(page.text)}, follow_redirects=False).status_code == 303
    client.cookies.clear()
    assert client.get("/").status_code == 401


def test_login_refusals(client) -> None:
    form = client.get("/login", headers={"Accept": "text/html"})
    assert client.post("/login", data={"token": "not-the-token", "csrf": _csrf(form.text)}).status_code == 401
    assert client.post("/login", data={"token": OP_TOKEN, "csrf": "made-up"}).status_code == 403
    client.cookies.clear()
    assert client.post("/login", data={"token": OP_TOKEN, "csrf": _csrf(form.text)}).status_code == 403
    form = client.get("/login?next=//evil.example/x", headers={"Accept": "text/html"})
    r = client.post("/login", data={"token": OP_TOKEN, "csrf": _csrf(form.text), "next": "//evil.example/x"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_security_headers(client) -> None:
    r = client.get("/", headers=op_headers())
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
    css = client.get("/static/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_token_resolution() -> None:
    with pytest.raises(ConfigError, match="needs a token"):
        Tokens.resolve(None, None, environ={})
    with pytest.raises(ConfigError, match="shorter"):
        Tokens.resolve("short", None, environ={})
    with pytest.raises(ConfigError, match="must differ"):
        Tokens.resolve(OP_TOKEN, OP_TOKEN, environ={})
    t = Tokens.resolve("from-config-123", None, environ={"CONCORD_DASHBOARD_READ_TOKEN": READ_TOKEN})
    assert (t.operator, t.read) == ("from-config-123", READ_TOKEN)
    t = Tokens.resolve("from-config-123", None, environ={"CONCORD_DASHBOARD_TOKEN": OP_TOKEN})
    assert t.operator == OP_TOKEN and t.role_of(OP_TOKEN) == "operator" and t.role_of("from-config-123") is None
    assert Tokens(None, READ_TOKEN).role_of("") is None and Tokens(None, READ_TOKEN).role_of(READ_TOKEN) == "read"


def test_session_cookie_is_signed_and_expires() -> None:
    tokens = Tokens(OP_TOKEN, READ_TOKEN)
    signer = SessionSigner(tokens.signing_key())
    cookie = signer.issue("operator", now=1000.0)
    assert OP_TOKEN not in cookie and signer.verify(cookie, now=1001.0).role == "operator"
    assert signer.verify(cookie, now=1000.0 + 13 * 3600) is None
    other = SessionSigner(Tokens("rotated-token-xyz", READ_TOKEN).signing_key())
    assert other.verify(cookie, now=1001.0) is None  # rotating a token ends every session
    assert signer.verify("garbage") is None and signer.verify(None) is None
