"""Zoho OAuth 2.0 refresh-token flow, as an :class:`concord.hub.http.AuthHandler`.

``POST {accounts_url}/oauth/v2/token`` (form: grant_type=refresh_token, client_id,
client_secret, refresh_token) answers ``access_token``, ``api_domain`` and ``expires_in``.
A refused refresh is **HTTP 200** with ``{"error": "invalid_code"}``: reported as AuthError.
Requests carry ``Authorization: Zoho-oauthtoken <token>``. The token is refreshed shortly
before it expires, and once (by the hub session) when the API answers 401 ``INVALID_TOKEN``.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

import requests

from concord.connectors.zoho_crm.config import ZohoCrmConfig
from concord.connectors.zoho_crm.vendor import SYSTEM, body_of
from concord.hub.errors import AuthError, TransientError
from concord.hub.http.redact import redactor

SCHEME = "Zoho-oauthtoken"
EARLY_REFRESH_S = 60.0


class ZohoOAuth:
    def __init__(self, config: ZohoCrmConfig, token_session: requests.Session,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._session = token_session       # a plain hub session (no auth) for the accounts server
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.api_domain: str | None = None
        self.refreshes = 0
        redactor.add(config.client_secret.get_secret_value(), config.refresh_token.get_secret_value())

    # ---- AuthHandler ------------------------------------------------------------------------
    def apply(self, request: requests.PreparedRequest) -> None:
        request.headers["Authorization"] = f"{SCHEME} {self.token()}"

    def refresh(self) -> None:
        with self._lock:
            self._fetch()

    def is_auth_failure(self, response: requests.Response) -> bool:
        return response.status_code == 401 and body_of(response).get("code") == "INVALID_TOKEN"

    def secrets(self) -> list[str]:
        out = [self._config.client_secret.get_secret_value(), self._config.refresh_token.get_secret_value()]
        return out + ([self._token] if self._token else [])

    # ---- tokens -------------------------------------------------------------------------------
    def token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at - EARLY_REFRESH_S:
                self._fetch()
            assert self._token is not None
            return self._token

    def _fetch(self) -> None:
        cfg = self._config
        url = cfg.accounts_url.rstrip("/") + "/oauth/v2/token"
        try:
            response = self._session.post(url, data={
                "grant_type": "refresh_token", "client_id": cfg.client_id,
                "client_secret": cfg.client_secret.get_secret_value(),
                "refresh_token": cfg.refresh_token.get_secret_value()})
        except requests.RequestException as exc:
            raise TransientError(f"Zoho accounts server {cfg.accounts_url} unreachable: {type(exc).__name__}",
                                 system=SYSTEM) from None
        body = body_of(response)
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(f"Zoho accounts server answered {response.status_code}", system=SYSTEM,
                                 code=str(response.status_code))
        if response.status_code != 200 or "error" in body or not body.get("access_token"):
            reason = body.get("error") or f"HTTP {response.status_code}"
            raise AuthError(f"Zoho accounts server {cfg.accounts_url} refused the refresh token for client "
                            f"{cfg.client_id}: {reason}", code=str(reason), system=SYSTEM)
        self._token = str(body["access_token"])
        redactor.add(self._token)
        ttl = float(body.get("expires_in") or body.get("expires_in_sec") or 3600)
        self._expires_at = self._clock() + ttl
        self.api_domain = str(body.get("api_domain") or "").rstrip("/") or None
        self.refreshes += 1
