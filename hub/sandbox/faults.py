"""Fault injection for sandboxes: random at a rate (seeded), or scripted for exact tests.

Kinds:
- ``429``: 429 with ``Retry-After`` (the vendor's own rate-limit answer is up to the sandbox:
  it may override :meth:`FaultInjector.render` per kind through ``SandboxApp.fault_renderer``)
- ``503``/``500``: server errors
- ``latency``: the request sleeps ``latency_s`` before it is handled
- ``drop``: the connection is closed without an answer (the request is never handled)
- ``drop_mid_body``: the request *is* handled, then the connection is closed half-way through the
  body of the answer (the client cannot tell whether a write happened)
- ``token_expiry``: the next auth check fails as an expired token (``token_expired()``)
- ``partial_batch``: ``fail_record()`` answers True for some records of a batch (the vendor's
  per-record rejection, which may be permanent)
- ``record_transient``: ``fail_record_transient()`` answers True for some records of a batch; the
  sandbox rejects that record with the vendor's *transient* per-record error (Salesforce
  ``UNABLE_TO_LOCK_ROW``, Zoho ``RECORD_LOCKED``, Fxiaoke a busy-system code) and the same write
  succeeds when it is sent again
"""
from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field

REQUEST_FAULTS = ("429", "503", "500", "latency", "drop", "drop_mid_body")
RECORD_FAULTS = ("partial_batch", "record_transient")
ALL_FAULTS = REQUEST_FAULTS + ("token_expiry",) + RECORD_FAULTS
#: every fault a client must survive without losing or duplicating a record (chaos runs)
TRANSIENT_FAULTS = ("429", "503", "500", "latency", "drop", "drop_mid_body", "token_expiry", "record_transient")


@dataclass
class FaultConfig:
    rate: float = 0.0                               # probability a request gets a random fault
    kinds: tuple[str, ...] = ("429", "503", "latency", "drop", "token_expiry", "partial_batch")
    retry_after: float = 0.05                       # seconds, sent in Retry-After (rounded up for header)
    latency_s: float = 0.05
    seed: int = 0
    base_latency_s: float = 0.0                     # every request waits this long (a vendor across the net)
    record_failure_rate: float | None = None        # for partial_batch / record_transient; default = rate


class FaultInjector:
    """Decides, thread-safely, which fault (if any) hits the next request."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.config = config or FaultConfig()
        self._rng = random.Random(self.config.seed)
        self._lock = threading.Lock()
        self._script: deque[str] = deque()
        self._expire_next = 0
        self.injected: dict[str, int] = {}
        self.paused = False

    # ---- scripting (deterministic tests) ---------------------------------------------------
    def script(self, *kinds: str) -> None:
        """Queue faults for the next requests, in order: ``script("429", "503")``."""
        for k in kinds:
            if k not in ALL_FAULTS:
                raise ValueError(f"unknown fault {k!r}; known: {', '.join(ALL_FAULTS)}")
        with self._lock:
            for k in kinds:
                if k == "token_expiry":
                    self._expire_next += 1
                else:
                    self._script.append(k)

    def expire_tokens(self, times: int = 1) -> None:
        """The next ``times`` token checks fail as expired."""
        with self._lock:
            self._expire_next += times

    def clear(self) -> None:
        with self._lock:
            self._script.clear()
            self._expire_next = 0

    # ---- decisions --------------------------------------------------------------------------
    def _count(self, kind: str) -> None:
        self.injected[kind] = self.injected.get(kind, 0) + 1

    def next_request_fault(self) -> str | None:
        """The fault for the request being handled now, or None."""
        if self.paused:
            return None
        with self._lock:
            if self._script and self._script[0] in REQUEST_FAULTS:
                kind = self._script.popleft()
                self._count(kind)
                return kind
            kinds = [k for k in self.config.kinds if k in REQUEST_FAULTS]
            if kinds and self.config.rate > 0 and self._rng.random() < self.config.rate:
                kind = self._rng.choice(kinds)
                self._count(kind)
                return kind
        return None

    def token_expired(self) -> bool:
        """Ask from the sandbox's auth check: should this (valid) token be treated as expired?"""
        if self.paused:
            return False
        with self._lock:
            if self._expire_next > 0:
                self._expire_next -= 1
                self._count("token_expiry")
                return True
            if "token_expiry" in self.config.kinds and self.config.rate > 0 and self._rng.random() < self.config.rate / 4:
                self._count("token_expiry")
                return True
        return False

    def fail_record(self) -> bool:
        """Ask per record of a batch write: should this record fail?"""
        if self.paused:
            return False
        with self._lock:
            if self._script and self._script[0] == "partial_batch":
                self._script.popleft()
                self._count("partial_batch")
                return True
            rate = self.config.record_failure_rate if self.config.record_failure_rate is not None else self.config.rate
            if "partial_batch" in self.config.kinds and rate > 0 and self._rng.random() < rate:
                self._count("partial_batch")
                return True
        return False

    def fail_record_transient(self) -> bool:
        """Ask per record of a batch write: should this record fail with a transient (retryable) error?"""
        if self.paused:
            return False
        with self._lock:
            if self._script and self._script[0] == "record_transient":
                self._script.popleft()
                self._count("record_transient")
                return True
            rate = self.config.record_failure_rate if self.config.record_failure_rate is not None else self.config.rate
            if "record_transient" in self.config.kinds and rate > 0 and self._rng.random() < rate:
                self._count("record_transient")
                return True
        return False

    def sleep_latency(self) -> None:
        time.sleep(self.config.latency_s)


@dataclass
class RequestStats:
    """Counts of requests a sandbox answered, by route name and in total."""

    total: int = 0
    by_route: dict[str, int] = field(default_factory=dict)
    by_status: dict[int, int] = field(default_factory=dict)
