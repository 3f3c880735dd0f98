"""Basic auth or an OAuth 2.0 bearer (client credentials), as hub.http AuthHandlers."""
from __future__ import annotations

from typing import Any

import requests

from concord.hub.errors import AuthError, TransientError
from concord.hub.http import BasicAuth, BearerAuth
from concord.connectors.oracle_fusion.config import BasicAuthConfig, OAuthConfig


def build_auth(cfg: BasicAuthConfig | OAuthConfig, token_session: requests.Session | None, *, system: str) -> Any:
    if isinstance(cfg, BasicAuthConfig):
        return BasicAuth(cfg.user, cfg.password)
    assert token_session is not None

    def fetch() -> str:
        data = {"grant_type": "client_credentials"}
        if cfg.scope:
            data["scope"] = cfg.scope
        try:
            resp = token_session.post(cfg.token_url, data=data,
                                      auth=(cfg.client_id, cfg.client_secret.get_secret_value()))
        except requests.RequestException as exc:
            raise TransientError(f"{system}: token endpoint unreachable ({type(exc).__name__})", system=system) from None
        if resp.status_code >= 500 or resp.status_code == 429:
            raise TransientError(f"{system}: token endpoint answered {resp.status_code}", system=system)
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code != 200 or not body.get("access_token"):
            reason = body.get("error_description") or body.get("error") or f"HTTP {resp.status_code}"
            raise AuthError(f"{system}: OAuth token request for client {cfg.client_id} refused: {reason}",
                            code="oauth", system=system)
        return str(body["access_token"])

    return BearerAuth(fetch)
