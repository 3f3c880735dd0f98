"""corpAccessToken auth: the token travels in the JSON body, not in a header.

``POST /cgi/corpAccessToken/get/V2 {appId, appSecret, permanentCode}`` answers
``{corpAccessToken, corpId, expiresIn}`` (seconds, at most 7200). Every business call
carries ``corpAccessToken``, ``corpId`` and ``currentOpenUserId`` at the top level of its
body, so :meth:`FxiaokeAuth.apply` rewrites the prepared request's JSON body. An expired
or unknown token is HTTP 200 with ``errorCode 20016``; the hub session then calls
:meth:`refresh` once and re-sends. The token is cached until shortly before it expires
(the endpoint allows about 10 calls a minute and no concurrency, so one lock guards it).
"""
from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from typing import Any

import requests

from concord.connectors.fxiaoke.config import FxiaokeConfig
from concord.hub.errors import AuthError, TransientError
from concord.hub.http.redact import redactor

TOKEN_PATH = "/cgi/corpAccessToken/get/V2"
#: errorCodes meaning "this corpAccessToken is unknown or expired": refresh and re-send once
TOKEN_EXPIRED = frozenset({20016, 20005})


class FxiaokeAuth:
    def __init__(self, config: FxiaokeConfig, token_session: requests.Session,
                 now: Callable[[], dt.datetime], system: str = "fxiaoke") -> None:
        self.config, self._session, self._now, self.system = config, token_session, now, system
        self._lock = threading.Lock()
        self._token: str | None = None
        self._corp_id: str | None = None
        self._expires_at: dt.datetime | None = None
        self.fetches = 0

    # ---- token -------------------------------------------------------------------------------
    def _fetch(self) -> None:
        body = {"appId": self.config.app_id, "appSecret": self.config.app_secret.get_secret_value(),
                "permanentCode": self.config.permanent_code.get_secret_value()}
        r = self._session.post(self.config.base_url + TOKEN_PATH, json=body)
        if r.status_code >= 500 or r.status_code == 429:
            raise TransientError(f"{self.system}: token endpoint answered HTTP {r.status_code}", system=self.system)
        try:
            data = r.json()
        except ValueError:
            raise AuthError(f"{self.system}: token endpoint answered HTTP {r.status_code} without JSON "
                            f"(is base_url the open API gateway?)", system=self.system) from None
        code = data.get("errorCode")
        if code != 0 or not data.get("corpAccessToken"):
            raise AuthError(f"{self.system} refused the app credentials: errorCode {code} "
                            f"{data.get('errorMessage', '')} (traceId {data.get('traceId', '-')})",
                            code=str(code), system=self.system, details={"traceId": data.get("traceId")})
        expires_in = float(data.get("expiresIn") or 7200)
        margin = min(self.config.token_refresh_margin, expires_in / 2)
        self._token, self._corp_id = data["corpAccessToken"], data.get("corpId")
        redactor.add(self._token)
        self._expires_at = self._now() + dt.timedelta(seconds=expires_in - margin)
        self.fetches += 1

    def credentials(self) -> tuple[str, str]:
        """(corpAccessToken, corpId), fetched or refreshed when missing or about to expire."""
        with self._lock:
            if self._token is None or self._expires_at is None or self._now() >= self._expires_at:
                self._fetch()
            return self._token or "", self._corp_id or ""

    # ---- hub.http.AuthHandler ---------------------------------------------------------------
    def apply(self, request: requests.PreparedRequest) -> None:
        if (request.path_url or "").split("?", 1)[0].endswith(TOKEN_PATH):
            return
        raw = request.body
        if not raw:
            return
        payload: dict[str, Any] = json.loads(raw if isinstance(raw, str) else raw.decode("utf-8"))
        token, corp_id = self.credentials()
        payload["corpAccessToken"], payload["corpId"] = token, corp_id
        payload.setdefault("currentOpenUserId", self.config.current_open_user_id)
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        request.body = body
        request.headers["Content-Length"] = str(len(body))
        request.headers["Content-Type"] = "application/json; charset=utf-8"

    def refresh(self) -> None:
        with self._lock:
            self._fetch()

    def is_auth_failure(self, response: requests.Response) -> bool:
        if response.status_code != 200 or len(response.content) > 4096:
            return False  # token errors are short envelopes; a data page is not one
        try:
            return response.json().get("errorCode") in TOKEN_EXPIRED
        except (ValueError, AttributeError):
            return False

    def secrets(self) -> list[str]:
        out = [self.config.app_secret.get_secret_value(), self.config.permanent_code.get_secret_value()]
        return out + ([self._token] if self._token else [])
