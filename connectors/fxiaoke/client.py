"""One POST-JSON call to the Fxiaoke open API and the errorCode -> error taxonomy table.

Business errors are HTTP 200 with ``errorCode != 0``; only ``0`` (success) and ``20016``
(token invalid or expired, handled by :mod:`concord.connectors.fxiaoke.auth`) are confirmed by
probes. The rest of the table follows the documented global return codes. Every error
names the ``traceId`` (the vendor's support needs it).
"""
from __future__ import annotations

import json
from typing import Any

import requests

from concord.connectors.fxiaoke.config import FxiaokeConfig
from concord.hub.errors import AuthError, ConfigError, FatalError, HubError, RecordError, TransientError
from concord.hub.http import classify_response
from concord.hub.http.redact import redactor

#: credentials, consent, app state, quota not bought: a person must act
AUTH_CODES = frozenset({10006, 11013, 11014, 11015, 15003, 20005, 20006, 20012, 20014, 20015, 20016, 20017,
                        20020, 20021, 20022, 20023, 30003})
#: busy, system error, per-second and daily rate limits, timeouts: try again later
TRANSIENT_CODES = frozenset({-1, -2, 14001, 30002, 30004, 50009})
#: the object does not exist or is not enabled for this tenant
UNKNOWN_OBJECT_CODES = frozenset({320001404})


def data_path(api_name: str, action: str) -> str:
    """Standard objects live under /cgi/crm/v2/data, custom ``__c`` objects under /cgi/crm/custom/v2/data."""
    prefix = "/cgi/crm/custom/v2/data" if api_name.endswith("__c") else "/cgi/crm/v2/data"
    return f"{prefix}/{action}"


def error_for(body: dict[str, Any], *, system: str, path: str, write: bool, record_id: str | None = None) -> HubError:
    code = body.get("errorCode")
    trace = body.get("traceId") or "-"
    text = redactor(f"{body.get('errorMessage') or ''}" + (
        f" ({body['errorDescription']})" if body.get("errorDescription") not in (None, "", body.get("errorMessage"))
        else ""))
    msg = f"{system} {path.rsplit('/', 1)[-1]}: errorCode {code}: {text} [traceId {trace}]"
    details = {"errorCode": code, "traceId": trace}
    if code in AUTH_CODES:
        return AuthError(msg, code=str(code), system=system, details=details)
    if code in TRANSIENT_CODES:
        return TransientError(msg, code=str(code), system=system, details=details)
    if code in UNKNOWN_OBJECT_CODES:
        return ConfigError(msg, code=str(code), system=system, details=details)
    if write:
        return RecordError(msg, code=str(code), system=system, record_id=record_id, details=details)
    return FatalError(msg, code=str(code), system=system, details=details)


class FxiaokeClient:
    def __init__(self, config: FxiaokeConfig, session: requests.Session, system: str) -> None:
        self.config, self.session, self.system = config, session, system

    def call(self, path: str, payload: dict[str, Any], *, write: bool = False,
             record_id: str | None = None) -> dict[str, Any]:
        """POST ``payload`` (credentials are added by the auth handler); the envelope on success."""
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            r = self.session.post(self.config.base_url + path, data=body,
                                  headers={"Content-Type": "application/json; charset=utf-8"})
        except requests.ConnectionError as exc:
            raise TransientError(f"{self.system} {path}: connection failed ({type(exc).__name__})",
                                 system=self.system) from None
        except requests.Timeout:
            raise TransientError(f"{self.system} {path}: timed out", system=self.system) from None
        except requests.RequestException as exc:   # e.g. the answer was cut off mid-body
            raise TransientError(f"{self.system} {path}: the answer was lost ({type(exc).__name__})",
                                 system=self.system) from None
        try:
            data = r.json()
        except ValueError:
            data = None
        if r.status_code >= 400:
            if isinstance(data, dict) and "errorCode" in data and r.status_code not in (429, 500, 502, 503, 504):
                raise error_for(data, system=self.system, path=path, write=write, record_id=record_id)
            err = classify_response(r, system=self.system, record_id=record_id,
                                    message=f"{path}: {(data or {}).get('errorMessage', '') if isinstance(data, dict) else ''}"
                                            f" [traceId {(data or {}).get('traceId', '-') if isinstance(data, dict) else '-'}]")
            raise err or FatalError(f"{self.system} {path}: HTTP {r.status_code}", system=self.system)
        if not isinstance(data, dict) or "errorCode" not in data:
            raise FatalError(f"{self.system} {path}: HTTP {r.status_code} without the open API envelope "
                             f"(is base_url the gateway, e.g. https://open.fxiaoke.com?)", system=self.system)
        if data["errorCode"] != 0:
            raise error_for(data, system=self.system, path=path, write=write, record_id=record_id)
        return data
