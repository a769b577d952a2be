"""The consoles the command prints on, and its progress bar."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

#: What ``add_subparsers`` returns; each command's module adds its parser to it.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

# Off a terminal (logs, make demo piped), rich assumes 80 columns and truncates the task names.
out = Console() if sys.stdout.isatty() else Console(width=110)
err = Console(stderr=True)


class _Steps:
    """What :func:`progress_bar` yields: ``step(message)`` once per unit of work, ``step.planned(config)``
    when a reproduction has resolved its config (ReproduceOptions.planned), to learn the total."""

    def __init__(self, bar: Progress, task: TaskID, title: str) -> None:
        self.bar, self.task, self.title = bar, task, title

    def __call__(self, message: str) -> None:
        self.bar.update(self.task, advance=1, description=f"{self.title}: {message}")

    def planned(self, config: Any) -> None:
        steps = getattr(config, "progress_steps", None)
        if callable(steps):
            self.bar.update(self.task, total=steps())
        elif type(config).__name__ == "AccuracyConfig":  # the estimators grid
            from iblearn.experiments.estimators.accuracy import grid_size, ours

            self.bar.update(self.task, total=grid_size(config, ours()))


@contextmanager
def progress_bar(total: int | None, title: str, *, disable: bool = False) -> Iterator[_Steps]:
    """A progress bar on stderr, with the time left once the total is known (else ``n/?``); none shown
    with ``disable``."""
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=err, transient=True, disable=disable) as bar:
        yield _Steps(bar, bar.add_task(title, total=total), title)
