"""Progress of a run, for the terminal: the flow says how many pages each stage has done; `huunghi run`
draws it (pages done, rate, time left). Under Prefect alone nobody listens and it costs nothing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Listener = Callable[[str, int, int], None]  # (stage, pages done, pages in the stage)
_listener: Listener | None = None
_drawing: Bars | None = None


def listen(listener: Listener | None) -> None:
    global _listener
    _listener = listener


def report(stage: str, done: int, total: int) -> None:
    if _listener is not None:
        _listener(stage, done, total)


class Bars:
    """One rich progress bar per stage, created when the stage first reports."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description:<8}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("pages"),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            transient=False,
            console=Console(stderr=True),  # stdout keeps the summary, for pipes
        )
        self.tasks: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=max(total, 1), rate="")
        task_id = self.tasks[stage]
        self.progress.update(task_id, completed=done, total=max(total, 1))
        task = self.progress.tasks[task_id]
        if task.elapsed:
            self.progress.update(task_id, rate=f"{done / task.elapsed:,.0f} pages/s")

    def __enter__(self) -> Bars:
        global _drawing
        self.progress.start()
        listen(self)
        _drawing = self
        return self

    def __exit__(self, *exc: object) -> None:
        global _drawing
        listen(None)
        _drawing = None
        self.progress.stop()


def stop_drawing() -> None:
    """Stop the bars now (from any thread): an interrupted command says one line, and leaves the terminal's
    cursor shown even when it ends without unwinding."""
    if (bars := _drawing) is not None:
        bars.progress.stop()


class Stopwatch:
    """Seconds per stage; time spent in a nested span (the gates) is not counted twice. `spans` keeps each
    span's wall-clock start and end, so that a process watching the run (`make bench`) can say which
    stage used its memory. `after` runs at the end of each span, outside its seconds (the run's: give the memory
    the stage freed back, huunghi/memory.py)."""

    def __init__(self, after: Callable[[], None] | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self.spans: list[tuple[str, float, float]] = []
        self._stack: list[list] = []
        self._after = after

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        self._stack.append([stage, time.perf_counter(), 0.0])
        started = time.time()
        try:
            yield
        finally:
            self.spans.append((stage, started, time.time()))
            name, t0, nested = self._stack.pop()
            spent = time.perf_counter() - t0
            self.seconds[name] = self.seconds.get(name, 0.0) + spent - nested
            if self._stack:
                self._stack[-1][2] += spent
            if self._after is not None:
                self._after()
