"""Rich progress bars per stream (the engine only sees ``stream(name).advance(n)``)."""
from __future__ import annotations

from typing import Any

from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


class _Task:
    def __init__(self, progress: Progress, task_id: Any) -> None:
        self.progress, self.task_id = progress, task_id

    def advance(self, n: int) -> None:
        self.progress.update(self.task_id, advance=n)


class RichProgress:
    def __init__(self, console: Any) -> None:
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description:<32}"), BarColumn(),
                                 TextColumn("{task.completed} records"), TimeElapsedColumn(), console=console,
                                 transient=False)

    def stream(self, name: str) -> _Task:
        return _Task(self.progress, self.progress.add_task(name, total=None))

    def __enter__(self) -> "RichProgress":
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()
