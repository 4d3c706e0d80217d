"""Progress for long CLI work, on stderr so that stdout stays parseable: a rich bar with counts
and time left on a terminal, one plain line per step otherwise (CI logs, pipes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from app.cli.common import progress

Step = Callable[[int, int, str], None]  # (done, total, what is being done now)


@contextmanager
def step_progress(label: str) -> Iterator[Step]:
    """Yield a callback the work calls at each step; the bar or the lines follow it."""
    console = Console(stderr=True)
    if not console.is_terminal:
        def line(done: int, total: int, what: str) -> None:
            progress(f"{label}: {done}/{total} {what}".rstrip())

        yield line
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                  TextColumn("{task.fields[what]}"), console=console, transient=True) as bar:
        task = bar.add_task(label, total=None, what="")

        def update(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total, what=what)

        yield update
