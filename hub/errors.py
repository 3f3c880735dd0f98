"""One error taxonomy, classified by what the caller must do.

===================  =========================================================
class                 what the caller does
===================  =========================================================
ConfigError           stop before running; a person fixes concord.yaml/mapping
AuthError             stop the stream; credentials or consent must be fixed
TransientError        retry later (with backoff; honour ``retry_after``)
SystemUnavailable     (a TransientError) the circuit is open: not sent; retry later
RecordError           quarantine / dead-letter this one record, carry on
StaleRecordError      (a RecordError) re-read the target and re-plan
FatalError            stop the run; a bug or a broken invariant
===================  =========================================================

Every error carries a short machine ``code`` and optional ``details`` that are
safe to show (they must never contain secrets: messages are built from
redacted values only).
"""
from __future__ import annotations

from typing import Any


class HubError(Exception):
    """Base of every error Concord raises on purpose."""

    kind: str = "fatal"
    retryable: bool = False

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None,
                 system: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).__name__
        self.details = dict(details or {})
        self.system = system

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe description (stored in quarantine, outbox and the run ledger)."""
        out: dict[str, Any] = {"kind": self.kind, "code": self.code, "message": self.message}
        if self.system:
            out["system"] = self.system
        if self.details:
            out["details"] = self.details
        return out

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


class ConfigError(HubError):
    """The configuration is wrong. ``location`` is ``file:line`` where known."""

    kind = "configuration"

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 key: str | None = None, **kw: Any) -> None:
        self.file, self.line, self.key = file, line, key
        where = ""
        if file:
            where = f"{file}:{line}" if line else str(file)
            if key:
                where += f" ({key})"
            where += ": "
        super().__init__(where + message, **kw)
        self.details.update({k: v for k, v in (("file", file), ("line", line), ("key", key)) if v})


class AuthError(HubError):
    """Authentication or authorisation failed and a refresh did not help."""

    kind = "auth"


class TransientError(HubError):
    """Temporary failure (429, 5xx, timeouts, dropped connections): retry later."""

    kind = "transient"
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class BudgetExhausted(TransientError):
    """The system's daily API budget is used up: stop calling it until tomorrow (nothing is lost)."""

    kind = "budget"


class SystemUnavailable(TransientError):
    """The system's circuit breaker is open: the call was not sent (nothing happened); retry after the cool-down."""

    kind = "skipped"

    def __init__(self, message: str, *, since: str | None = None, first_error: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.since, self.first_error = since, first_error
        self.details.update({k: v for k, v in (("since", since), ("first_error", first_error)) if v})


class RecordError(HubError):
    """One record cannot be processed (mapping, validation, vendor rejection): quarantine it."""

    kind = "record"

    def __init__(self, message: str, *, record_id: str | None = None, field: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.record_id, self.field = record_id, field
        if record_id:
            self.details.setdefault("record_id", record_id)
        if field:
            self.details.setdefault("field", field)


class StaleRecordError(RecordError):
    """The target changed since we read it (412, stale Key): re-read and re-plan, never overwrite blindly."""

    kind = "stale"
    retryable = True


class FatalError(HubError):
    """A broken invariant or an unexpected state: stop the run."""

    kind = "fatal"


def error_from_dict(data: dict[str, Any]) -> HubError:
    """Rebuild an error stored with :meth:`HubError.to_dict`."""
    cls = {c.kind: c for c in (ConfigError, AuthError, TransientError, BudgetExhausted, SystemUnavailable, RecordError,
                               StaleRecordError, FatalError)}.get(
        data.get("kind", "fatal"), FatalError)
    err = cls.__new__(cls)
    HubError.__init__(err, data.get("message", ""), code=data.get("code"), details=data.get("details"),
                      system=data.get("system"))
    return err
