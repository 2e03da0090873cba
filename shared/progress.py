"""A progress bar for long CLI work (``demo-data``, ``monitoring rebuild``, backups and
restores): what is being done, a bar when the total is known, the count, the rate and the
time left. On a terminal it redraws in place; elsewhere (CI, a log file) it prints its last
state once, so it never floods a log.

    with progress("importing households", total=len(rows), unit="rows") as bar:
        for chunk in chunks:
            ...
            bar.advance(len(chunk))
"""

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Items per second (rich's own speed column counts bytes)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        # rich's speed needs two samples in its window; work reported in a few large steps
        # (an import's counts read back per chunk) has the overall rate instead.
        speed = task.finished_speed or task.speed
        if speed is None and task.completed and task.elapsed:
            speed = task.completed / task.elapsed
        if speed is None:
            return Text(f"- {self.unit}/s", style="progress.data.speed")
        return Text(f"{speed:,.0f} {self.unit}/s", style="progress.data.speed")


class CountColumn(ProgressColumn):
    """The count alone, for work whose total is unknown (a feed replayed to its end)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        return Text(f"{int(task.completed):,} {self.unit}", style="progress.download")


class ProgressBar:
    """What the work reports to: ``advance`` by some items, or ``update`` to an absolute
    count (e.g. a counter read back from the database)."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress, self._task = progress, task

    def advance(self, items: int = 1) -> None:
        self._progress.advance(self._task, items)

    def update(self, completed: int, total: int | None = None) -> None:
        if total is not None:
            self._progress.update(self._task, completed=completed, total=total)
        else:
            self._progress.update(self._task, completed=completed)

    @property
    def completed(self) -> int:
        return int(self._progress.tasks[0].completed)


@contextmanager
def progress(
    description: str,
    total: int | None = None,
    *,
    unit: str = "rows",
    console: Console | None = None,
) -> Iterator[ProgressBar]:
    """A progress bar for one piece of long work (see the module's docstring)."""
    columns: list[ProgressColumn] = [TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    else:
        columns += [CountColumn(unit)]
    columns += [RateColumn(unit), TimeElapsedColumn()]
    if total is not None:
        columns.append(TimeRemainingColumn())
    with Progress(*columns, console=console, refresh_per_second=4) as bar:
        yield ProgressBar(bar, bar.add_task(description, total=total))
