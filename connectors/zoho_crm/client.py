"""The thin HTTP layer the reader and writer share: URLs on the api_domain, JSON, errors."""
from __future__ import annotations

from typing import Any

import requests

from concord.connectors.zoho_crm.auth import ZohoOAuth
from concord.connectors.zoho_crm.config import ZohoCrmConfig
from concord.connectors.zoho_crm.vendor import SYSTEM, call_error
from concord.hub.errors import FatalError, TransientError
from concord.hub.http.redact import redact


class ZohoApi:
    def __init__(self, config: ZohoCrmConfig, session: requests.Session, auth: ZohoOAuth) -> None:
        self.config, self.session, self.auth = config, session, auth

    @property
    def base(self) -> str:
        domain = self.config.api_domain
        if not domain:
            self.auth.token()                      # the token response names the api_domain
            domain = self.auth.api_domain
        if not domain:
            raise FatalError("the Zoho token response carried no api_domain; set api_domain in the config", system=SYSTEM)
        return f"{domain.rstrip('/')}/crm/{self.config.api_version}"

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        try:
            return self.session.request(method, f"{self.base}/{path}", **kw)
        except requests.RequestException as exc:
            raise TransientError(f"Zoho CRM {method} /{path}: {type(exc).__name__}: {redact(str(exc))[:200]}",
                                 system=SYSTEM) from None

    def json(self, method: str, path: str, what: str, **kw: Any) -> dict[str, Any] | None:
        """Decoded JSON of a successful answer; None for 204/304 (no data); raises on errors."""
        response = self.request(method, path, **kw)
        if response.status_code in (204, 304):
            return None
        if response.status_code >= 300:
            raise call_error(response, what)
        try:
            body = response.json()
        except ValueError:
            raise FatalError(f"Zoho CRM {what}: HTTP {response.status_code} answer is not JSON: "
                             f"{redact(response.text[:200])!r}", system=SYSTEM) from None
        if not isinstance(body, dict):
            raise FatalError(f"Zoho CRM {what}: expected a JSON object, got {type(body).__name__}", system=SYSTEM)
        return body

    def get_meta(self, path: str, params: dict[str, str]) -> Any:
        return self.json("GET", path, f"GET /{path}", params=params)
