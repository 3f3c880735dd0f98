"""Secret redaction for logs, errors and anything shown to a person."""
from __future__ import annotations

import logging
import re
import threading

_PATTERNS = [
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:[A-Za-z-]+\s+)?)[^\s\"',}]+"),
    re.compile(r"(?i)((?:access_token|refresh_token|client_secret|password|passwd|secret|api[_-]?key|session_id|"
               r"corpAccessToken|appSecret|permanentCode|sessionId|token|assertion)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}<]+"),
    re.compile(r"(?i)(<(?:\w+:)?(?:password|sessionId)>)[^<]+"),
]


class Redactor:
    """Removes known secret values and secret-looking key/value pairs from text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, *values: str | None) -> None:
        with self._lock:
            for v in values:
                if v and len(v) >= 4:
                    self._secrets.add(v)

    def __call__(self, text: str) -> str:
        if not text:
            return text
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for s in secrets:
            if s in text:
                text = text.replace(s, "***")
        for rx in _PATTERNS:
            text = rx.sub(r"\1***", text)
        return text


#: the process-wide redactor; sessions register their secrets here
redactor = Redactor()


def redact(text: str) -> str:
    return redactor(text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts every record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # pragma: no cover - malformed record
            return True
        record.msg, record.args = redact(msg), None
        return True


def install_log_redaction(*logger_names: str) -> None:
    for name in logger_names or ("", "concord", "urllib3", "requests", "zeep", "pyodata", "simple_salesforce"):
        lg = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in lg.filters):
            lg.addFilter(RedactingFilter())
    for h in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in h.filters):
            h.addFilter(RedactingFilter())
