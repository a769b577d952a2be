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


def _console(stderr: bool) -> Console:
    """A console that wraps text to the terminal's width on a terminal, and off one (a pipe, a log, a
    file) leaves each paragraph on one line: a hard wrap at an assumed width splits phrases in files
    that a reader's own window or tool wraps anyway. Tables off a terminal are drawn 110 columns wide
    (rich would assume 80 and truncate their cells)."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=110, soft_wrap=True)


out = _console(stderr=False)
err = _console(stderr=True)


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
