"""API-call counting per system and stream, and daily budgets."""
from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

_current_stream: contextvars.ContextVar[str | None] = contextvars.ContextVar("concord_stream", default=None)


@dataclass
class SystemUsage:
    calls: int = 0
    by_stream: dict[str, int] = field(default_factory=dict)
    by_status: dict[int, int] = field(default_factory=dict)
    retries: int = 0
    #: what the vendor reports (e.g. Sforce-Limit-Info api-usage=used/max)
    vendor_used: int | None = None
    vendor_max: int | None = None
    #: calls made earlier today by other runs (from the run ledger), counted against the budget
    baseline: int = 0


class CallLedger:
    """Thread-safe counters of the HTTP calls made, for the run ledger and the API budget."""

    def __init__(self, budgets: dict[str, int] | None = None) -> None:
        self._lock = threading.Lock()
        self.usage: dict[str, SystemUsage] = {}
        self.budgets: dict[str, int] = dict(budgets or {})

    @contextlib.contextmanager
    def stream(self, name: str) -> Iterator[None]:
        """Attribute calls made inside this block to a stream (e.g. ``account``)."""
        token = _current_stream.set(name)
        try:
            yield
        finally:
            _current_stream.reset(token)

    def record(self, system: str, status: int, *, retry: bool = False) -> None:
        stream = _current_stream.get() or "-"
        with self._lock:
            u = self.usage.setdefault(system, SystemUsage())
            u.calls += 1
            u.by_stream[stream] = u.by_stream.get(stream, 0) + 1
            u.by_status[status] = u.by_status.get(status, 0) + 1
            if retry:
                u.retries += 1

    def set_baseline(self, system: str, used_earlier_today: int) -> None:
        with self._lock:
            self.usage.setdefault(system, SystemUsage()).baseline = used_earlier_today

    def observe_vendor_usage(self, system: str, used: int, maximum: int) -> None:
        with self._lock:
            u = self.usage.setdefault(system, SystemUsage())
            u.vendor_used, u.vendor_max = used, maximum

    def calls(self, system: str, stream: str | None = None) -> int:
        with self._lock:
            u = self.usage.get(system)
            if not u:
                return 0
            return u.calls if stream is None else u.by_stream.get(stream, 0)

    def remaining(self, system: str) -> int | None:
        """Calls left today under the configured budget (None = no budget)."""
        with self._lock:
            budget = self.budgets.get(system)
            if budget is None:
                return None
            u = self.usage.get(system)
            ours = (u.calls + u.baseline) if u else 0
            used = max(ours, u.vendor_used) if u and u.vendor_used is not None else ours
            return max(0, budget - used)

    def snapshot(self) -> dict[str, dict]:
        with self._lock:
            return {s: {"calls": u.calls, "by_stream": dict(u.by_stream), "retries": u.retries,
                        "by_status": {str(k): v for k, v in u.by_status.items()},
                        "vendor_used": u.vendor_used, "vendor_max": u.vendor_max}
                    for s, u in self.usage.items()}
