"""Oracle's two error formats, made readable: plain text (framework < 4) and o:errorDetails JSON (4+)."""
from __future__ import annotations

import re
from typing import Any

import requests

from concord.hub.errors import AuthError, ConfigError, HubError, RecordError, StaleRecordError, TransientError
from concord.hub.http.redact import redactor
from concord.hub.http.session import parse_retry_after

_TAGS = re.compile(r"<[^>]+>")


def details(body: Any) -> tuple[str, str | None, str | None, int | None]:
    """(message, code, path, status) of an error body: a JSON object, a string, or None."""
    if isinstance(body, dict):
        items = body.get("o:errorDetails")
        status = _int(body.get("status"))
        if isinstance(items, list) and items:
            msgs = [str(d.get("detail") or d.get("title") or "") for d in items if isinstance(d, dict)]
            first = next((d for d in items if isinstance(d, dict)), {})
            return ("; ".join(m for m in msgs if m) or str(body.get("title") or "error"), first.get("o:errorCode"),
                    first.get("o:errorPath"), status)
        msg = body.get("detail") or body.get("title") or body.get("message") or str(body)
        return str(msg), body.get("o:errorCode"), body.get("o:errorPath"), status
    text = _TAGS.sub(" ", str(body or "")).strip()
    text = " ".join(text.split())
    m = re.match(r"(JBO-\d+|[A-Z]{2,5}-\d+)", text)
    return text, (m.group(1) if m else None), None, None


def _int(v: Any) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def response_details(resp: requests.Response) -> tuple[str, str | None, str | None]:
    ctype = resp.headers.get("Content-Type", "")
    body: Any = resp.text
    if "json" in ctype:
        try:
            body = resp.json()
        except ValueError:
            pass
    msg, code, path, _ = details(body)
    return (redactor(msg[:1000]) or resp.reason or f"HTTP {resp.status_code}"), code, path


def error_for(status: int, message: str, *, code: str | None = None, path: str | None = None, system: str,
              record_id: str | None = None, reading: bool = False, retry_after: float | None = None) -> HubError:
    """The taxonomy class for an Oracle answer. On reads, a 400/404 means our request (config) is wrong."""
    where = f" at {path}" if path else ""
    text = f"{system}: {message}{where}"
    code = code or str(status)
    if status in (401, 403):
        hint = " (a 403 usually means the user lacks a role for this resource)" if status == 403 else ""
        return AuthError(f"{system} refused the credentials ({status}){hint}: {message}", code=code, system=system)
    if status in (408, 429) or status >= 500:
        return TransientError(f"{text} (HTTP {status})", code=code, system=system, retry_after=retry_after)
    if status in (409, 412) or "RowInconsistentException" in message:
        # another user changed the row since we read it: re-read and re-plan, never overwrite blindly
        return StaleRecordError(text, code=code, system=system, record_id=record_id)
    if reading:
        return ConfigError(text, code=code, system=system)
    return RecordError(text, code=code, system=system, record_id=record_id, field=path.rsplit("/", 1)[-1] if path else None)


def from_response(resp: requests.Response, *, system: str, record_id: str | None = None,
                  reading: bool = False) -> HubError:
    msg, code, path = response_details(resp)
    return error_for(resp.status_code, msg, code=code, path=path, system=system, record_id=record_id, reading=reading,
                     retry_after=parse_retry_after(resp.headers.get("Retry-After")))
