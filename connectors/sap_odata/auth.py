"""SAP auth for the shared session: Basic or OAuth bearer, the sap-client parameter, and CSRF tokens.

The CSRF token is fetched (``HEAD {service root}`` with ``x-csrf-token: Fetch``) together with the
session cookie it is bound to, per service, before the first modifying request. A ``403`` answered
with ``x-csrf-token: Required`` makes the session call :meth:`refresh`, which fetches a new token
(and a 401 refreshes the bearer token); the request is then re-sent once by the session.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests

from concord.hub.http.auth import AuthHandler

MODIFYING = frozenset({"POST", "PUT", "PATCH", "MERGE", "DELETE"})


class SapAuth:
    """Wraps a base AuthHandler (Basic/Bearer or None) and adds CSRF + sap-client."""

    def __init__(self, base: AuthHandler | None, service_urls: tuple[str, ...], sap_client: str | None = None) -> None:
        self.base = base
        self.roots = sorted(service_urls, key=len, reverse=True)
        self.sap_client = sap_client
        self.session: requests.Session | None = None
        self._lock = threading.RLock()
        self._tokens: dict[str, tuple[str, dict[str, str]]] = {}   # root -> (token, cookies)
        self._pending: str | None = None
        self.fetches = 0

    # ---- AuthHandler ---------------------------------------------------------------------
    def apply(self, request: requests.PreparedRequest) -> None:
        if self.base:
            self.base.apply(request)
        if self.sap_client:
            request.url = _with_client(request.url or "", self.sap_client)
        method = (request.method or "GET").upper()
        if method in MODIFYING:
            root = self._root(request.url or "")
            if root is not None:
                token, cookies = self._token(root)
                request.headers["x-csrf-token"] = token
                merged = _parse_cookie_header(request.headers.get("Cookie", ""))
                merged.update(cookies)
                request.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in merged.items())

    def is_auth_failure(self, response: requests.Response) -> bool:
        if response.status_code == 403 and (response.headers.get("x-csrf-token") or "").lower() == "required":
            self._pending = "csrf"
            return True
        if response.status_code == 401 and self.base is not None:
            self._pending = "auth"
            return self.base.is_auth_failure(response)
        return False

    def refresh(self) -> None:
        with self._lock:
            if self._pending == "auth" and self.base is not None:
                self.base.refresh()
            self._tokens.clear()         # tokens are bound to the (possibly new) session: fetch again
            self._pending = None

    def secrets(self) -> list[str]:
        out = list(self.base.secrets()) if self.base else []
        with self._lock:
            for token, cookies in self._tokens.values():
                out.append(token)
                out.extend(cookies.values())
        return out

    # ---- CSRF ------------------------------------------------------------------------------
    def _root(self, url: str) -> str | None:
        plain = url.split("?", 1)[0]
        for root in self.roots:
            if plain.startswith(root) or plain + "/" == root:
                return root
        return None

    def _token(self, root: str) -> tuple[str, dict[str, str]]:
        with self._lock:
            if root not in self._tokens:
                self._tokens[root] = self._fetch(root)
            return self._tokens[root]

    def _fetch(self, root: str) -> tuple[str, dict[str, str]]:
        if self.session is None:
            raise RuntimeError("SapAuth.session must be set before a write")
        resp = self.session.head(root, headers={"x-csrf-token": "Fetch"})
        self.fetches += 1
        token = resp.headers.get("x-csrf-token")
        if resp.status_code >= 400 or not token or token.lower() == "required":
            from concord.hub.errors import AuthError
            raise AuthError(f"could not fetch a CSRF token from {root} (HTTP {resp.status_code})", code="csrf")
        cookies = {c.name: c.value for c in resp.cookies}
        for raw in _set_cookie_headers(resp):
            sc: SimpleCookie = SimpleCookie()
            sc.load(raw)
            cookies.update({k: m.value for k, m in sc.items()})
        return token, cookies


def _set_cookie_headers(resp: requests.Response) -> list[str]:
    raw = getattr(resp.raw, "headers", None)
    if raw is not None and hasattr(raw, "getlist"):
        return list(raw.getlist("Set-Cookie"))
    v = resp.headers.get("Set-Cookie")
    return [v] if v else []


def _parse_cookie_header(value: str) -> dict[str, str]:
    out = {}
    for part in value.split(";"):
        k, _, v = part.strip().partition("=")
        if k:
            out[k] = v
    return out


def _with_client(url: str, client: str) -> str:
    parts = urlsplit(url)
    if "sap-client=" in parts.query:
        return url
    query = parts.query + ("&" if parts.query else "") + urlencode({"sap-client": client})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def client_credentials_fetcher(session_factory: Callable[[], requests.Session], token_url: str, client_id: str,
                               client_secret: str) -> Callable[[], str]:
    """A BearerAuth fetch function for the OAuth2 client-credentials grant (BTP / S/4HANA Cloud)."""
    def fetch() -> str:
        from concord.hub.errors import AuthError
        s = session_factory()
        resp = s.post(token_url, data={"grant_type": "client_credentials"}, auth=(client_id, client_secret),
                      headers={"Accept": "application/json"})
        if resp.status_code != 200:
            raise AuthError(f"OAuth token request to {token_url} failed (HTTP {resp.status_code})", code="oauth")
        try:
            return str(resp.json()["access_token"])
        except (ValueError, KeyError):
            raise AuthError(f"OAuth token response from {token_url} has no access_token", code="oauth") from None
    return fetch


