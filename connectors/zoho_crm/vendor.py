"""Zoho error bodies -> Concord's error taxonomy (one table, Airbyte style)."""
from __future__ import annotations

from typing import Any

import requests

from concord.hub.errors import AuthError, FatalError, HubError, RecordError, TransientError
from concord.hub.http import classify_response
from concord.hub.http.redact import redact

SYSTEM = "zoho_crm"
AUTH_CODES = {"INVALID_TOKEN", "AUTHENTICATION_FAILURE", "OAUTH_SCOPE_MISMATCH", "NO_PERMISSION"}
TRANSIENT_CODES = {"TOO_MANY_REQUESTS", "LIMIT_REACHED", "INTERNAL_ERROR", "RECORD_LOCKED"}


def body_of(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def call_error(response: requests.Response, what: str) -> HubError:
    """The error of a whole call that did not succeed (after the session's retries and refresh)."""
    body = body_of(response)
    code, message = str(body.get("code") or response.status_code), redact(str(body.get("message") or response.text[:300]))
    details = body.get("details") if isinstance(body.get("details"), dict) else {}
    text = f"Zoho CRM {what}: HTTP {response.status_code} {code}: {message}" + (f" {details}" if details else "")
    if response.status_code == 429 or code in ("TOO_MANY_REQUESTS", "LIMIT_REACHED"):
        base = classify_response(response, system=SYSTEM)
        return TransientError(text, code=code, system=SYSTEM, retry_after=getattr(base, "retry_after", None))
    if code in AUTH_CODES or response.status_code in (401, 403):
        return AuthError(text, code=code, system=SYSTEM)
    if code in ("INVALID_MODULE", "INVALID_URL_PATTERN", "REQUIRED_PARAM_MISSING", "LIMIT_EXCEEDED",
                "DISCRETE_PAGINATION_LIMIT_EXCEEDED", "INVALID_QUERY", "SYNTAX_ERROR"):
        return FatalError(text, code=code, system=SYSTEM, details=details)
    return classify_response(response, system=SYSTEM, message=text) or FatalError(text, code=code, system=SYSTEM)


def record_error(result: dict[str, Any], *, module: str, position: int, record_id: str | None) -> HubError:
    """The error of one ``data[i]`` entry of a write answer."""
    code = str(result.get("code") or "UNKNOWN")
    details = result.get("details") if isinstance(result.get("details"), dict) else {}
    field = details.get("api_name")
    who = f"record {position}" + (f" ({record_id})" if record_id else "")
    extra = {k: v for k, v in details.items() if k in ("api_name", "json_path", "expected_data_type", "maximum_length", "id")}
    dup = details.get("duplicate_record")
    if isinstance(dup, dict) and dup.get("id"):
        extra["duplicate_record_id"] = dup["id"]
    msg = f"Zoho CRM {module} rejected {who}: {code}: {redact(str(result.get('message') or ''))}"
    if field:
        msg += f" (field {field})"
    if code in TRANSIENT_CODES:
        return TransientError(msg, code=code, system=SYSTEM, details=extra)
    if code in AUTH_CODES:
        return AuthError(msg, code=code, system=SYSTEM, details=extra)
    return RecordError(msg, code=code, system=SYSTEM, record_id=record_id, field=field, details=extra)
