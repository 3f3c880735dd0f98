"""SAP Gateway error bodies -> readable messages and the error taxonomy."""
from __future__ import annotations

import json
from typing import Any

from concord.hub.errors import AuthError, HubError, RecordError, StaleRecordError, TransientError
from concord.hub.http.redact import redactor


def parse_gateway_error(body: bytes | str | None) -> tuple[str, str | None, str | None]:
    """(message, code, field) from ``{"error": {"code", "message": {"value"}, "innererror": {"errordetails"}}}``.

    Falls back to the plain text of the body (XML errors, HTML logon pages, CSRF text)."""
    if body is None:
        return "", None, None
    text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else str(body)
    try:
        data = json.loads(text)
        err = data["error"]
    except (ValueError, KeyError, TypeError):
        import re
        m = re.search(r"<message[^>]*>(.*?)</message>", text, re.S)
        plain = m.group(1) if m else re.sub(r"<[^>]+>", " ", text)
        return " ".join(plain.split())[:500], None, None
    msg = err.get("message")
    message = msg.get("value", "") if isinstance(msg, dict) else str(msg or "")
    code = err.get("code")
    details: list[dict[str, Any]] = ((err.get("innererror") or {}).get("errordetails") or [])
    extra, field = [], None
    for d in details:
        m = (d.get("message") or "").strip()
        if m and m != message and m not in extra:
            extra.append(m)
        field = field or d.get("propertyref") or d.get("target") or None
    if extra:
        message = f"{message} ({'; '.join(extra)})"
    return message, code, field


def error_for(status: int, body: bytes | str | None, *, system: str, record_id: str | None,
              retry_after: float | None = None, what: str = "request") -> HubError:
    message, code, field = parse_gateway_error(body)
    message = redactor(message) if message else f"HTTP {status}"
    label = f"SAP {what} {record_id!r}" if record_id else f"SAP {what}"
    text = f"{label} failed ({status}{' ' + code if code else ''}): {message}"
    if status in (412, 428):
        return StaleRecordError(text, code=code or str(status), system=system, record_id=record_id, field=field)
    if status in (401, 403):
        return AuthError(text, code=code or str(status), system=system)
    if status in (408, 429) or status >= 500:
        return TransientError(text, code=code or str(status), system=system, retry_after=retry_after)
    return RecordError(text, code=code or str(status), system=system, record_id=record_id, field=field)
