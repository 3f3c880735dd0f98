"""Waiting on more than one call at a time: systems side by side, and the next page while this one lands.

A cycle is bound by API latency far more than by CPU (a 100 ms answer per call, one call after
another). Two things overlap the waiting without touching the HTTP layer, which stays the single
authority on each vendor's concurrency, rate limits and budget:

- **systems side by side**: the pull (or push) steps of one round are grouped by system; each
  system's steps run one after another in their own thread, in the order given (parents before
  children), and the systems run at the same time. A vendor never sees more concurrency from
  Concord than before; Concord just stops waiting for Zoho while Salesforce answers.
- **read-ahead**: a stream's next page is fetched while the current page is landed.

Warehouse writes stay what they were: each page and batch is its own transaction (SQLite serialises
writers, PostgreSQL runs them side by side). A dry run (``concord plan``) runs everything on one
connection in one thread, so it takes the sequential path.
"""
from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

import os

#: systems a round works on at once; CONCORD_MAX_SYSTEMS=1 runs them one after another
MAX_SYSTEMS_AT_ONCE = int(os.environ.get("CONCORD_MAX_SYSTEMS", "8") or 8)


def by_system(steps: Sequence[Any], run_one: Callable[[Any], Any], *, parallel: bool = True) -> None:
    """Run steps, each system's in order in its own thread, the systems side by side."""
    if not steps:
        return
    groups: dict[str, list[Any]] = {}
    for s in steps:
        groups.setdefault(s.system or "", []).append(s)
    if not parallel or len(groups) == 1 or MAX_SYSTEMS_AT_ONCE <= 1:
        for s in steps:
            run_one(s)
        return

    def run_group(group: list[Any]) -> None:
        for s in group:
            run_one(s)

    with ThreadPoolExecutor(max_workers=min(MAX_SYSTEMS_AT_ONCE, len(groups)),
                            thread_name_prefix="concord-system") as pool:
        futures = [pool.submit(contextvars.copy_context().run, run_group, g) for g in groups.values()]
        for f in futures:
            f.result()   # an unexpected error in a step surfaces here, as it would sequentially


_END = object()


def read_ahead(pages: Iterable[T], depth: int = 1) -> Iterator[T]:
    """Yield ``pages`` while a thread already fetches the next ``depth`` ones.

    The producer runs in a copy of the caller's context (the call ledger's stream name), its
    exceptions are raised at the point where the consumer would have read that page, and a
    consumer that stops early (budget used up, crash point) stops the producer too.
    """
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        q.put((page, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((_END, None))
        except BaseException as exc:  # handed to the consumer, raised there
            q.put((_END, exc))

    worker = threading.Thread(target=contextvars.copy_context().run, args=(produce,), daemon=True,
                              name="concord-read-ahead")
    worker.start()
    try:
        while True:
            item, exc = q.get()
            if item is _END:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        close = getattr(pages, "close", None)
        if worker.is_alive():
            while True:   # let a producer blocked on a full queue see the stop
                try:
                    q.get_nowait()
                except queue.Empty:
                    break
            worker.join(timeout=30)
        if callable(close) and not worker.is_alive():
            try:
                close()
            except Exception:  # noqa: BLE001 - a generator that cannot close cleanly is left to the GC
                pass
