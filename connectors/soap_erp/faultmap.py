"""From what zeep and requests raise to Concord's error taxonomy.

SOAP faults are classified by the operation map's ``faults`` patterns (stale
``Key``, not found, transient, permission), HTTP-level failures by status, and
XML that zeep refused (DTD, entities, external references) is a FatalError:
it is never parsed, never expanded, and never retried.
"""
from __future__ import annotations

import re

import requests
import zeep.exceptions as zx

from concord.connectors.soap_erp.opmap import FaultPatterns
from concord.hub.errors import (AuthError, ConfigError, FatalError, HubError, RecordError, StaleRecordError,
                        TransientError)
from concord.hub.http.redact import redact

UNSAFE_XML = (zx.DTDForbidden, zx.EntitiesForbidden, zx.ExternalReferenceForbidden)


def classify_fault(fault: zx.Fault, patterns: FaultPatterns, *, system: str, record_id: str | None = None) -> HubError:
    code = str(fault.code or "")
    message = redact(str(fault.message or "SOAP fault without a message"))[:1000]
    text = f"{code} {message}".lower()
    short = code.rsplit(".", 1)[-1] or "Fault"

    def has(pats: tuple[str, ...]) -> bool:
        return any(p.lower() in text for p in pats)

    details = {"faultcode": code}
    if has(patterns.auth):
        return AuthError(f"{system} refused the operation: {message}", code=short, system=system, details=details)
    if has(patterns.stale):
        return StaleRecordError(message, code="stale_key", system=system, record_id=record_id, details=details)
    if has(patterns.transient):
        return TransientError(f"{system}: {message}", code=short, system=system, details=details)
    if has(patterns.not_found):
        return RecordError(message, code="not_found", system=system, record_id=record_id, details=details)
    return RecordError(message, code=short, system=system, record_id=record_id, details=details)


def classify_exception(exc: BaseException, patterns: FaultPatterns, *, system: str, what: str) -> HubError:
    """Any failure of a SOAP call or WSDL load, as a HubError (``what`` names the call)."""
    if isinstance(exc, HubError):
        return exc
    if isinstance(exc, zx.Fault):
        return classify_fault(exc, patterns, system=system)
    if isinstance(exc, UNSAFE_XML):
        return FatalError(f"{system}: {what}: refused unsafe XML from the server ({type(exc).__name__}); "
                          f"DTDs, entity declarations and external references are forbidden", code="unsafe_xml",
                          system=system)
    if isinstance(exc, zx.TransportError):
        if _declares_dtd(exc.content):
            return FatalError(f"{system}: {what}: refused unsafe XML from the server (a DTD or entity "
                              f"declaration); it was not expanded", code="unsafe_xml", system=system)
        return _status_error(exc.status_code, what, system, redact(_text(exc.content))[:300])
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return _status_error(exc.response.status_code, what, system, redact(exc.response.text or "")[:300])
    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return TransientError(f"{system}: {what}: {type(exc).__name__} (the server did not answer)", system=system,
                              code="connection")
    if isinstance(exc, zx.XMLSyntaxError):
        return FatalError(f"{system}: {what}: the server answered invalid XML: {redact(str(exc))[:300]}",
                          code="bad_xml", system=system)
    if isinstance(exc, zx.ValidationError):
        return RecordError(f"{system}: {what}: the record does not fit the WSDL: {exc}", code="validation",
                           system=system)
    return FatalError(f"{system}: {what}: {type(exc).__name__}: {redact(str(exc))[:300]}", system=system)


def _status_error(status: int, what: str, system: str, text: str) -> HubError:
    if status in (401, 403):
        return AuthError(f"{system} refused the credentials ({status}) on {what}", code=str(status), system=system)
    if status == 404:
        return ConfigError(f"{system}: {what}: no service at this address (404): {text}", code="404", system=system)
    if status in (408, 429) or status >= 500:
        return TransientError(f"{system}: {what}: HTTP {status}: {text}", code=str(status), system=system)
    return FatalError(f"{system}: {what}: HTTP {status}: {text}", code=str(status), system=system)


def _declares_dtd(content: object) -> bool:
    head = content[:4096] if isinstance(content, (bytes, str)) else b""
    if isinstance(head, str):
        head = head.encode("utf-8", "replace")
    return b"<!DOCTYPE" in head or b"<!ENTITY" in head


def _text(content: object) -> str:
    if isinstance(content, bytes):
        return content.decode("utf-8", "replace")
    return str(content or "")


_IDENT = re.compile(r"([^=,]+?)='((?:[^']|'')*)'")


def identified_values(message: str, marker: str | None) -> list[str]:
    """The key values a fault names after ``Identification fields and values:`` (NAV's convention)."""
    if not marker or marker not in message:
        return []
    tail = message.split(marker, 1)[1]
    return [v.replace("''", "'") for _k, v in _IDENT.findall(tail)]
