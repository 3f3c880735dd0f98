"""A circuit breaker per system: a system that is down costs one error, not one per stream.

The retry layer (:mod:`concord.hub.http.session`) reports the outcome of every attempt. A failure is an
attempt that did not reach a working server: the connection could not be opened or dropped, it
timed out, or the answer was one of ``failure_statuses`` (502/503/504: a gateway or the server
says it is unavailable). Any other answer, even a 4xx or a 500, shows the system is up and
resets the count.

- **closed**: calls go through. ``failure_threshold`` consecutive failures open the breaker. With
  the default (5) and the default retry policy (6 attempts), one call whose retries all fail
  opens it. The call in flight finishes its own retries; the breaker only gates new calls.
- **open**: new calls fail at once with :class:`~concord.hub.errors.SystemUnavailable` (nothing is sent,
  nothing is counted against the API budget) until ``cooldown`` seconds have passed.
- **half-open**: the next call is the trial: one attempt, no retries. Success closes the breaker;
  a failure opens it again for another cool-down. Other calls meanwhile fail at once.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

from concord.hub.errors import SystemUnavailable
from concord.hub.http.redact import redact

log = logging.getLogger("concord.http")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class BreakerPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: consecutive failed attempts that open the breaker (0 switches the breaker off)
    failure_threshold: int = 5
    #: seconds an open breaker fails calls at once before it lets one trial call through
    cooldown: float = 60.0
    #: answers that count as "the system is unavailable" (connection failures always count)
    failure_statuses: frozenset[int] = frozenset({502, 503, 504})


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CircuitBreaker:
    """The breaker of one system, shared by every session the toolkit builds for it (thread-safe)."""

    def __init__(self, system: str, policy: BreakerPolicy | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self.system = system
        self.policy = policy or BreakerPolicy()
        self._clock, self._wall = clock, wall
        self._lock = threading.Lock()
        self.state = CLOSED
        self.failures = 0                     # consecutive failed attempts
        self.first_error: str | None = None   # the first failure of the current streak
        self.since: dt.datetime | None = None # when the streak began (wall clock, for people)
        self._opened_at = 0.0                 # monotonic time the breaker (re)opened
        self.rejected = 0                     # calls failed at once while open
        self._trial: tuple[int, int] | None = None   # (thread, depth) of the trial call under way

    @property
    def enabled(self) -> bool:
        return self.policy.failure_threshold > 0

    def admit(self) -> bool:
        """Called before a call. Raises SystemUnavailable while open; True when this call is the trial."""
        if not self.enabled:
            return False
        with self._lock:
            if self.state == CLOSED:
                return False
            me = threading.get_ident()
            if self.state == HALF_OPEN and self._trial and self._trial[0] == me:
                self._trial = (me, self._trial[1] + 1)   # a call made by the trial itself (a token fetch)
                return True
            if self.state == OPEN and self._clock() - self._opened_at >= self.policy.cooldown:
                self.state, self._trial = HALF_OPEN, (me, 1)
                log.info("%s: circuit half-open; one trial call", self.system)
                return True
            self.rejected += 1
            err = self._error()
        log.debug("%s: call not sent: %s", self.system, err.message)
        raise err

    def _error(self) -> SystemUnavailable:
        since = _iso(self.since) if self.since else "?"
        left = max(0.0, self.policy.cooldown - (self._clock() - self._opened_at))
        retry_at = _iso(self._wall() + dt.timedelta(seconds=left))
        what = "a trial call is under way" if self.state == HALF_OPEN else f"next trial after {retry_at}"
        return SystemUnavailable(
            f"system {self.system} is unavailable (circuit open since {since}; unreachable after "
            f"{self.failures} failed attempts, first error: {self.first_error}); {what}",
            system=self.system, retry_after=left, since=since, first_error=self.first_error)

    def failure(self, what: str) -> None:
        """An attempt failed (``what``: a short description, no secrets)."""
        if not self.enabled:
            return
        with self._lock:
            self.failures += 1
            if self.failures == 1 or self.first_error is None:
                self.first_error, self.since = redact(what), self._wall()
            if self.state == HALF_OPEN or (self.state == CLOSED and self.failures >= self.policy.failure_threshold):
                reopened = self.state == HALF_OPEN
                self.state, self._opened_at = OPEN, self._clock()
                log.warning("%s: circuit %s after %d consecutive failed attempts since %s (first error: %s); "
                            "calls fail at once for %.0fs", self.system, "re-opened" if reopened else "open",
                            self.failures, _iso(self.since) if self.since else "?", self.first_error,
                            self.policy.cooldown)
            elif self.state == OPEN:
                self._opened_at = self._clock()   # still down: the cool-down counts from the latest failure

    def success(self) -> None:
        """The system answered (anything but a failure status)."""
        if not self.enabled:
            return
        with self._lock:
            if self.state != CLOSED:
                log.warning("%s: circuit closed; the system answers again (it was unavailable since %s)",
                            self.system, _iso(self.since) if self.since else "?")
            self.state, self.failures, self.first_error, self.since = CLOSED, 0, None, None

    def release(self) -> None:
        """A trial call ended. Without an outcome (e.g. the budget stopped it), the next call tries again."""
        with self._lock:
            if self._trial and self._trial[0] == threading.get_ident():
                depth = self._trial[1] - 1
                self._trial = (self._trial[0], depth) if depth > 0 else None
            if self._trial is None and self.state == HALF_OPEN:
                self.state = OPEN   # the cool-down has passed: the next call is the new trial
