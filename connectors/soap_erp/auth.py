"""Auth handlers for NAV / Business Central: NavUserPassword (Basic) or OAuth client credentials."""
from __future__ import annotations

import requests

from concord.connectors.soap_erp.config import AuthConfig
from concord.hub.errors import AuthError, TransientError
from concord.hub.http import AuthHandler, BasicAuth, BearerAuth, HttpToolkit


def build_auth(cfg: AuthConfig, http: HttpToolkit, system: str, verify: bool | str) -> AuthHandler | None:
    if cfg.kind == "none":
        return None
    if cfg.kind == "basic":
        assert cfg.username is not None and cfg.password is not None
        return BasicAuth(cfg.username, cfg.password)
    token_session = http.session(system, verify=verify, safe_posts=True,
                                 secrets=[cfg.client_secret.get_secret_value()] if cfg.client_secret else None)

    def fetch() -> str:
        assert cfg.token_url and cfg.client_secret is not None
        data = {"grant_type": "client_credentials", "client_id": cfg.client_id,
                "client_secret": cfg.client_secret.get_secret_value()}
        if cfg.scope:
            data["scope"] = cfg.scope
        try:
            resp = token_session.post(cfg.token_url, data=data)
        except requests.RequestException as exc:
            raise TransientError(f"token endpoint unreachable: {type(exc).__name__}", system=system) from None
        body = _json(resp)
        if resp.status_code >= 500 or resp.status_code == 429:
            raise TransientError(f"token endpoint answered {resp.status_code}", system=system)
        if resp.status_code != 200 or "access_token" not in body:
            reason = body.get("error_description") or body.get("error") or f"HTTP {resp.status_code}"
            raise AuthError(f"token request refused: {reason}", system=system)
        return str(body["access_token"])

    return BearerAuth(fetch)


def _json(resp: requests.Response) -> dict:
    try:
        data = resp.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
