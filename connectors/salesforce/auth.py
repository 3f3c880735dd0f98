"""OAuth 2.0 against the login URL (JWT bearer, client credentials, refresh token) as an AuthHandler.

The hub session applies the bearer token to every request; on a 401 ``INVALID_SESSION_ID``
it calls :meth:`SalesforceOAuth.refresh` once and re-sends (the only retry). Token
endpoint failures become :class:`AuthError` with Salesforce's ``error``/``error_description``
(never the secrets).
"""
from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path
from typing import Any

import requests

from concord.hub.errors import AuthError, ConfigError, TransientError
from concord.connectors.salesforce.config import SalesforceConfig


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_assertion(client_id: str, username: str, audience: str, private_key_pem: bytes, *, ttl: int = 180) -> str:
    """An RS256-signed JWT for the ``urn:ietf:params:oauth:grant-type:jwt-bearer`` grant."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    claims = _b64(json.dumps({"iss": client_id, "sub": username, "aud": audience,
                              "exp": int(time.time()) + ttl}).encode())
    try:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"the JWT private key cannot be read ({type(exc).__name__})", key="private_key") from None
    sig = key.sign(f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
    return f"{header}.{claims}.{_b64(sig)}"


class SalesforceOAuth:
    """Runs the configured flow; remembers ``instance_url`` from the token answer."""

    def __init__(self, config: SalesforceConfig, session: requests.Session, base_dir: str = ".") -> None:
        self.config = config
        self._session = session            # a session without this handler (no recursion on 401)
        self._base_dir = base_dir
        self._lock = threading.Lock()
        self._token: str | None = None
        self.instance_url: str | None = None

    # ---- AuthHandler protocol ---------------------------------------------------------------
    def apply(self, request: requests.PreparedRequest) -> None:
        if request.url and "/services/oauth2/" in request.url:
            return
        request.headers["Authorization"] = f"Bearer {self.token}"

    def refresh(self) -> None:
        with self._lock:
            self._token = None
        _ = self.token

    def is_auth_failure(self, response: requests.Response) -> bool:
        if response.status_code != 401:
            return False
        try:
            body = response.json()
            return any(isinstance(e, dict) and e.get("errorCode") == "INVALID_SESSION_ID" for e in body)
        except ValueError:
            return True

    def secrets(self) -> list[str]:
        out = [self._token] if self._token else []
        for s in (self.config.client_secret, self.config.refresh_token, self.config.private_key):
            if s is not None:
                out.append(s.get_secret_value())
        return out

    # ---- the flows --------------------------------------------------------------------------
    @property
    def token(self) -> str:
        with self._lock:
            if self._token is None:
                answer = self._fetch()
                self._token = answer["access_token"]
                self.instance_url = answer.get("instance_url") or self.instance_url
            return self._token

    def _form(self) -> dict[str, str]:
        c = self.config
        if c.auth == "client_credentials":
            return {"grant_type": "client_credentials", "client_id": c.client_id,
                    "client_secret": c.client_secret.get_secret_value()}  # type: ignore[union-attr]
        if c.auth == "refresh_token":
            form = {"grant_type": "refresh_token", "client_id": c.client_id,
                    "refresh_token": c.refresh_token.get_secret_value()}  # type: ignore[union-attr]
            if c.client_secret is not None:
                form["client_secret"] = c.client_secret.get_secret_value()
            return form
        if c.private_key is not None:
            pem = c.private_key.get_secret_value().encode()
        else:
            path = Path(self._base_dir, c.private_key_file or "")
            try:
                pem = path.read_bytes()
            except OSError as exc:
                raise ConfigError(f"cannot read the JWT private key file {path}: {exc.strerror}",
                                  key="private_key_file") from None
        return {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": jwt_assertion(c.client_id, c.username or "", c.login_url.rstrip("/"), pem)}

    def _fetch(self) -> dict[str, Any]:
        url = self.config.login_url.rstrip("/") + "/services/oauth2/token"
        try:
            r = self._session.post(url, data=self._form(), headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            raise TransientError(f"salesforce login at {self.config.login_url} failed: {type(exc).__name__}",
                                 system="salesforce") from None
        if r.status_code >= 500 or r.status_code == 429:
            raise TransientError(f"salesforce login answered {r.status_code}", system="salesforce")
        try:
            body = r.json()
        except ValueError:
            body = {}
        if r.status_code != 200 or "access_token" not in body:
            err = body.get("error", f"http_{r.status_code}")
            desc = body.get("error_description", "")
            raise AuthError(f"salesforce refused the {self.config.auth} login: {err}: {desc}", code=str(err),
                            system="salesforce")
        return body
