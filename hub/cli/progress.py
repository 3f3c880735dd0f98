"""Progress of long work, per phase and stream (the engine only calls ``stream(name).advance(n)``).

On a terminal: rich bars with counts, the total where it is known (what process and push have queued),
the rate and the time left. Elsewhere (a pipe, a log file, systemd): a line on stderr every
``CONCORD_PROGRESS_SECONDS`` (default 10) per running stream, and a closing line per stream when any
line was printed, so a short run stays quiet and a long one is never silent.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

Totals = Callable[[str], "int | None"]


class _RateColumn(TextColumn):
    def __init__(self) -> None:
        super().__init__("")

    def render(self, task: Any) -> Any:  # type: ignore[override]
        from rich.text import Text

        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "", style="progress.data.speed")


class _Task:
    def __init__(self, progress: Progress, task_id: Any) -> None:
        self.progress, self.task_id = progress, task_id

    def advance(self, n: int) -> None:
        self.progress.update(self.task_id, advance=n)


class RichProgress:
    """Bars on a terminal: ``pull erp.account  ━━━━━━  1,200/5,000  24%  310/s  0:00:12 left``."""

    def __init__(self, console: Any, totals: Totals | None = None) -> None:
        self.totals = totals
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description:<32}"), BarColumn(),
                                 MofNCompleteColumn(), TaskProgressColumn(), _RateColumn(),
                                 TimeRemainingColumn(), TimeElapsedColumn(), console=console, transient=False)
        self._last: Any = None

    def stream(self, name: str, total: int | None = None) -> _Task:
        if total is None and self.totals is not None:
            total = _safe(self.totals, name)
        if self._last is not None:        # the previous stream is done: its bar stops its spinner
            t = self.progress.tasks[self._last] if isinstance(self._last, int) else None
            if t is not None and t.total is None:
                self.progress.update(self._last, total=t.completed)
        self._last = self.progress.add_task(name, total=total or None, visible=total != 0)
        return _Task(self.progress, self._last)

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._last is not None:
            t = self.progress.tasks[self._last]
            if t.total is None:
                self.progress.update(self._last, total=t.completed)
        self.progress.stop()


class _LogTask:
    def __init__(self, owner: LogProgress, name: str, total: int | None) -> None:
        self.owner, self.name, self.total = owner, name, total
        self.done = 0
        self.started = self.last = time.monotonic()
        self.reported = False

    def advance(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last >= self.owner.interval:
            self.last = now
            self.reported = True
            self.owner.say(self.line(now))

    def line(self, now: float, final: bool = False) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        of = f"/{self.total:,}" if self.total else ""
        eta = ""
        if self.total and rate > 0 and not final:
            left = max(self.total - self.done, 0) / rate
            eta = f", about {_hms(left)} left"
        verb = "done" if final else "progress"
        return f"{verb}: {self.name} {self.done:,}{of} records in {_hms(elapsed)} ({rate:,.0f}/s{eta})"


class LogProgress:
    """Periodic plain lines for a non-terminal stderr."""

    def __init__(self, say: Callable[[str], None], totals: Totals | None = None, interval: float | None = None) -> None:
        self.say, self.totals = say, totals
        env = os.environ.get("CONCORD_PROGRESS_SECONDS", "")
        self.interval = interval if interval is not None else (float(env) if _is_number(env) else 10.0)
        self.tasks: list[_LogTask] = []

    def stream(self, name: str, total: int | None = None) -> _LogTask:
        if total is None and self.totals is not None:
            total = _safe(self.totals, name)
        self._close_last()
        t = _LogTask(self, name, total)
        self.tasks.append(t)
        return t

    def _close_last(self) -> None:
        if self.tasks and self.tasks[-1].reported:
            t = self.tasks[-1]
            t.reported = False
            self.say(t.line(time.monotonic(), final=True))

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close_last()


def make_progress(console: Any, totals: Totals | None = None) -> RichProgress | LogProgress:
    if console.is_terminal:
        return RichProgress(console, totals)
    return LogProgress(lambda m: console.print(m, markup=False, highlight=False, soft_wrap=True), totals)


def warehouse_totals(project: Any, wh: Any) -> Totals:
    """What is queued for ``process <system>.<entity>`` (staged, pending) and ``push <system>.<entity>``
    (outbox, pending or failed), counted when the stream starts; pulls have no total up front."""
    from concord.hub.warehouse.stores import outbox as outbox_store
    from concord.hub.warehouse.stores import staging

    def total(name: str) -> int | None:
        phase, _, stream = name.partition(" ")
        system, _, entity = stream.partition(".")
        if phase == "process":
            with wh.tx() as conn:
                return staging.count_pending(conn, system, entity)
        if phase == "push":
            with wh.tx() as conn:
                return outbox_store.count(conn, outbox_store.QUEUED, system=system, entity=entity)
        return None

    return total


def _safe(fn: Totals, name: str) -> int | None:
    try:
        return fn(name)
    except Exception:        # a total is a nicety: never let it stop the work
        return None


def _is_number(s: str) -> bool:
    try:
        return float(s) > 0
    except ValueError:
        return False


def _hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
