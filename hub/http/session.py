"""Build the shared ``requests.Session``: auth, retries, rate limit, call counting.

Retries live here and nowhere else. The adapter re-sends a request when:

- the answer is 429 or 502/503/504 (the server did not process it), after the
  ``Retry-After`` it asked for, else exponential backoff with jitter;
- the connection could not be opened (nothing was sent), for any method;
- the connection dropped after sending, for idempotent methods only (a POST
  might have been processed: it is not re-sent blindly, the error goes up);
- the answer's body was cut off half-way (``ChunkedEncodingError``,
  ``ContentDecodingError``, ``ProtocolError``), for idempotent methods only. The
  body of every non-streamed answer is read here, so this never surprises the
  client library later. For POST/PATCH the request may have been applied: a
  :class:`~concord.hub.errors.TransientError` (code ``OUTCOME_UNKNOWN``) says the outcome
  is unknown, and push looks a create up by Concord's id before sending it again.

When the attempts run out the last response is returned unchanged, so the
client library (simple-salesforce, pyodata, zeep) raises its own error and the
connector maps it with :func:`classify_response`. An auth failure (as the
:class:`AuthHandler` defines it) triggers one ``refresh()`` and one re-send.

Every attempt also reports to the system's :class:`~concord.hub.http.breaker.CircuitBreaker`:
after enough consecutive failures (connection errors, timeouts, 502/503/504) it
opens, and new calls to that system raise :class:`~concord.hub.errors.SystemUnavailable`
at once, without a request, until a cool-down lets one trial call through.
"""
from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import requests
from pydantic import BaseModel, ConfigDict
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError, ProtocolError

from concord.hub.errors import AuthError, BudgetExhausted, HubError, RecordError, StaleRecordError, TransientError
from concord.hub.http.auth import AuthHandler
from concord.hub.http.breaker import BreakerPolicy, CircuitBreaker
from concord.hub.http.ledger import CallLedger
from concord.hub.http.limiter import RateLimiter
from concord.hub.http.redact import install_log_redaction, redactor

log = logging.getLogger("concord.http")

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
#: a body that stops half-way (connection dropped, bad chunking or compression, a read timeout mid-body)
CUT_OFF = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError, ProtocolError,
           requests.ConnectionError)


class RetryPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = 6
    backoff_base: float = 0.2
    backoff_max: float = 30.0
    retry_statuses: frozenset[int] = frozenset({429, 502, 503, 504})
    #: a Retry-After longer than this is not slept through: the response goes up as is
    max_retry_after: float = 120.0
    timeout: float = 60.0


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class ConcordAdapter(HTTPAdapter):
    def __init__(self, system: str, *, policy: RetryPolicy, ledger: CallLedger, auth: AuthHandler | None,
                 limiter: RateLimiter | None, sleep: Callable[[float], None], observers: list[Callable] | None = None,
                 pool_maxsize: int = 16, breaker: CircuitBreaker | None = None,
                 safe_posts: bool | Callable[[requests.PreparedRequest], bool] = False) -> None:
        super().__init__(max_retries=0, pool_connections=4, pool_maxsize=pool_maxsize)
        self.safe_posts = safe_posts
        self.system, self.policy, self.ledger, self.auth, self.limiter = system, policy, ledger, auth, limiter
        self.breaker = breaker or CircuitBreaker(system, BreakerPolicy(failure_threshold=0))
        self._sleep = sleep
        self._rng = random.Random()
        self.observers = observers or []

    def _retry_safe(self, request: requests.PreparedRequest, method: str) -> bool:
        """May this request be sent again when its outcome is unknown? Idempotent methods, and POSTs
        the connector declared reads (Fxiaoke queries, SOAP ReadMultiple, OAuth token requests)."""
        if method in IDEMPOTENT:
            return True
        if callable(self.safe_posts):
            return bool(self.safe_posts(request))
        return bool(self.safe_posts)

    def _backoff(self, attempt: int) -> float:
        return min(self.policy.backoff_max, self.policy.backoff_base * (2 ** (attempt - 1))) * (0.5 + self._rng.random() / 2)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        trial = self.breaker.admit()   # raises SystemUnavailable while the system's circuit is open
        try:
            return self._send(request, max_attempts=1 if trial else self.policy.max_attempts, **kwargs)
        finally:
            if trial:
                self.breaker.release()   # no-op unless the trial ended without an outcome

    def _send(self, request: requests.PreparedRequest, *, max_attempts: int, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.policy.timeout
        attempt, refreshed = 0, False
        method = (request.method or "GET").upper()
        safe = self._retry_safe(request, method)
        breaker = self.breaker
        while True:
            attempt += 1
            left = self.ledger.remaining(self.system)
            if left is not None and left <= 0:
                raise BudgetExhausted(f"{self.system}: the daily API budget of {self.ledger.budgets[self.system]} "
                                      "calls is used up; the work waits for tomorrow", system=self.system)
            if self.limiter:
                self.limiter.acquire()
            if self.auth:
                self.auth.apply(request)
            try:
                response = super().send(request, **kwargs)
            except requests.ConnectionError as exc:
                self.ledger.record(self.system, 0, retry=attempt > 1)
                breaker.failure(_describe(exc))
                not_sent = _not_sent(exc)
                if attempt < max_attempts and (not_sent or safe):
                    delay = self._backoff(attempt)
                    log.info("%s %s: connection error (%s); retry %d in %.2fs", self.system, method,
                             type(exc).__name__, attempt, delay)
                    self._sleep(delay)
                    continue
                raise
            except requests.Timeout as exc:
                self.ledger.record(self.system, 0, retry=attempt > 1)
                breaker.failure(_describe(exc))
                if attempt < max_attempts and safe:
                    self._sleep(self._backoff(attempt))
                    continue
                raise
            self.ledger.record(self.system, response.status_code, retry=attempt > 1)
            if not kwargs.get("stream"):
                try:
                    response.content  # noqa: B018 - the whole body now: a cut-off answer is dealt with here
                except CUT_OFF as exc:
                    response.close()
                    breaker.failure(f"answer cut off: {_describe(exc)}")
                    if attempt < max_attempts and safe:
                        delay = self._backoff(attempt)
                        log.info("%s %s %s: the answer was cut off (%s); retry %d in %.2fs", self.system, method,
                                 _short(request.url), type(exc).__name__, attempt, delay)
                        self._sleep(delay)
                        continue
                    if safe:
                        raise
                    raise TransientError(
                        f"{self.system} {method} {_short(request.url)}: the answer was cut off mid-way "
                        f"({type(exc).__name__}); the outcome is unknown: the request may have been applied",
                        code="OUTCOME_UNKNOWN", system=self.system,
                        details={"outcome": "unknown", "status": response.status_code}) from None
            if response.status_code in breaker.policy.failure_statuses:
                breaker.failure(f"HTTP {response.status_code} {response.reason or ''}".strip())
            else:
                breaker.success()
            for obs in self.observers:
                obs(response)
            if self.auth and not refreshed and self.auth.is_auth_failure(response):
                refreshed = True
                response.close()
                log.info("%s: auth failure (%s); refreshing credentials once", self.system, response.status_code)
                self.auth.refresh()
                redactor.add(*self.auth.secrets())
                attempt -= 1  # the refresh does not use up a retry
                continue
            if response.status_code in self.policy.retry_statuses and attempt < max_attempts:
                delay = parse_retry_after(response.headers.get("Retry-After"))
                if delay is not None and delay > self.policy.max_retry_after:
                    return response
                delay = self._backoff(attempt) if delay is None else delay
                log.info("%s %s %s -> %d; retry %d in %.2fs", self.system, method, _short(request.url),
                         response.status_code, attempt, delay)
                response.close()
                self._sleep(delay)
                continue
            return response


def _short(url: str | None) -> str:
    return (url or "").split("?", 1)[0]


def _describe(exc: BaseException) -> str:
    """A short, secret-free description of a connection failure: its root cause, without URLs or objects."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    root: BaseException = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        root = cur
        reason = getattr(cur, "reason", None)
        nxt = reason if isinstance(reason, BaseException) else (
            cur.args[0] if cur.args and isinstance(cur.args[0], BaseException) else None)
        cur = nxt or cur.__cause__ or cur.__context__
    if isinstance(root, OSError) and root.strerror:
        return f"{type(root).__name__}: {root.strerror}"
    text = str(root)
    if "Failed to establish a new connection:" in text:   # urllib3: "<conn object at 0x..>: Failed to ...: [Errno]"
        text = text.split("Failed to establish a new connection:", 1)[1].strip()
    elif "Read timed out" in text:
        text = "read timed out"
    elif "://" in text or "object at 0x" in text or len(text) > 120:
        text = ""
    return f"{type(root).__name__}: {text}" if text else type(root).__name__


def _not_sent(exc: BaseException) -> bool:
    """True when the connection could not be opened at all (the request never left)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, (NewConnectionError, ConnectionRefusedError)):
            return True
        reason = getattr(cur, "reason", None)
        if isinstance(reason, BaseException) and id(reason) not in seen:
            cur = reason
            continue
        nxt = cur.args[0] if cur.args and isinstance(cur.args[0], BaseException) else None
        cur = nxt or cur.__cause__ or cur.__context__
    return False


class HttpToolkit:
    """Builds sessions for connectors; owns the run's call ledger and per-system limiters."""

    def __init__(self, ledger: CallLedger | None = None, *, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, user_agent: str = "concord-hub/0.1",
                 breaker: BreakerPolicy | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.ledger = ledger or CallLedger()
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.user_agent = user_agent
        self._limiters: dict[str, RateLimiter] = {}
        self.breaker_policy = breaker or BreakerPolicy()
        self.clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}
        install_log_redaction()

    def limiter(self, system: str, rate_per_second: float | None, burst: int | None = None) -> RateLimiter | None:
        if not rate_per_second:
            return None
        if system not in self._limiters:
            self._limiters[system] = RateLimiter(rate_per_second, burst, sleep=self.sleep)
        return self._limiters[system]

    def breaker(self, system: str) -> CircuitBreaker:
        """The circuit breaker of ``system``, shared by all its sessions in this toolkit (one per run)."""
        if system not in self._breakers:
            self._breakers[system] = CircuitBreaker(system, self.breaker_policy, clock=self.clock)
        return self._breakers[system]

    def session(self, system: str, *, auth: AuthHandler | None = None, verify: bool | str = True,
                rate_per_second: float | None = None, policy: RetryPolicy | None = None,
                observers: list[Callable[[requests.Response], None]] | None = None,
                secrets: list[str] | None = None,
                safe_posts: bool | Callable[[requests.PreparedRequest], bool] = False) -> requests.Session:
        """A session for one system. ``verify`` may be a CA file (sandboxes' self-signed certs).

        ``safe_posts``: POSTs that only read (True for all, or a predicate on the request), which the
        retry layer may send again when an answer is lost, as it does GETs; other POSTs are never re-sent
        blindly (their outcome is unknown).
        """
        s = requests.Session()
        if isinstance(verify, str):
            # REQUESTS_CA_BUNDLE would override session.verify (see protocols.md section 8)
            s.trust_env = False
        s.verify = verify
        s.headers["User-Agent"] = self.user_agent
        adapter = ConcordAdapter(system, policy=policy or self.policy, ledger=self.ledger, auth=auth,
                                 limiter=self.limiter(system, rate_per_second), sleep=self.sleep,
                                 observers=observers, breaker=self.breaker(system), safe_posts=safe_posts)
        s.mount("http://", adapter)
        s.mount("https://", adapter)
        redactor.add(*(secrets or []))
        if auth:
            redactor.add(*auth.secrets())
        return s


# --------------------------------------------------------------------------------------------
# Status -> action table (after the retry layer has done its part)
# --------------------------------------------------------------------------------------------
def classify_response(response: requests.Response, *, system: str | None = None, message: str | None = None,
                      record_id: str | None = None) -> HubError | None:
    """Map a final HTTP answer to the error taxonomy (None for success)."""
    status = response.status_code
    if status < 400:
        return None
    text = message or redactor((response.text or "")[:500])
    if status in (401, 403) and "REQUEST_LIMIT" not in text:
        return AuthError(f"{system or 'system'} refused the credentials ({status}): {text}", code=str(status), system=system)
    if status in (412, 428):
        return StaleRecordError(f"precondition failed ({status}): {text}", code=str(status), system=system,
                                record_id=record_id)
    if status in (408, 429) or status >= 500 or "REQUEST_LIMIT" in text:
        return TransientError(f"{system or 'system'} answered {status}: {text}", code=str(status), system=system,
                              retry_after=parse_retry_after(response.headers.get("Retry-After")))
    return RecordError(f"{system or 'system'} rejected the request ({status}): {text}", code=str(status),
                       system=system, record_id=record_id)
