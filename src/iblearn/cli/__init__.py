"""The ``iblearn`` command: ``estimate``, ``demo``, ``bench`` and ``reproduce``.

Run ``iblearn --help`` or ``iblearn COMMAND --help``. Bad input exits with status 2 and a one-line
error that names the argument.

One module per command (:mod:`.estimate`, :mod:`.demo`, :mod:`.bench`, :mod:`.reproduce`), each with
its ``add_parser`` and its ``cmd_*``; :mod:`.inputs` reads what the user hands them, :mod:`.console`
prints and draws progress bars. ``estimate`` reads its options in :mod:`.estimate_options`, hands
one call to :func:`iblearn.estimate` and estimates information among many variables in
:mod:`.estimate_many`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from collections.abc import Sequence

from rich.markup import escape

from iblearn.cli import bench, demo, estimate, reproduce
from iblearn.cli.bench import BENCH_MISSING, CHECKOUT, cmd_bench
from iblearn.cli.console import err, out, progress_bar
from iblearn.cli.demo import DEMO_HELP, DEMO_SECTIONS, DemoSection, cmd_demo
from iblearn.cli.estimate import cmd_estimate
from iblearn.cli.reproduce import REPRODUCTION_NAMES, cmd_reproduce

# torch, numpy and the estimators are imported inside the commands that use them: `iblearn --help` and
# argument errors then answer at once, not after torch's import (docs/design.md, "Measurements").

__all__ = [
    "BENCH_MISSING",
    "CHECKOUT",
    "DEMO_HELP",
    "DEMO_SECTIONS",
    "REPRODUCTION_NAMES",
    "DemoSection",
    "build_parser",
    "cmd_bench",
    "cmd_demo",
    "cmd_estimate",
    "cmd_reproduce",
    "err",
    "main",
    "out",
    "progress_bar",
]


def build_parser() -> argparse.ArgumentParser:
    threads_help = (
        "CPU threads for torch, BLAS and OpenMP (default 1: iblearn's jobs are many small operations, "
        "which one thread runs fastest, above all on shared cores; see the command's reference, "
        "docs/api/cli.md)"
    )
    # --threads is accepted before the command and after it; SUPPRESS keeps a subcommand's parser from
    # overwriting the value given before it with its own default.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--threads", type=int, default=argparse.SUPPRESS, help=threads_help)
    parser = argparse.ArgumentParser(
        prog="iblearn", description="The iblearn command: estimate, demo, bench and reproduce."
    )
    parser.add_argument("--threads", type=int, default=1, help=threads_help)
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (estimate, demo, bench, reproduce):
        command.add_parser(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _warned
        if args.command == "estimate":  # the estimate printed, or its JSON record, says why itself
            warnings.filterwarnings("ignore", message=r"[^:]*: unreliable estimate: ")
        return _run(args)


def _warned(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
    """A warning on stderr as one line, as the command's own warnings print (Python's form names the
    file and line of the library that issued it)."""
    err.print(f"[yellow]warning:[/yellow] {escape(str(message))}")


def _run(args: argparse.Namespace) -> int:
    try:
        from iblearn._threads import limit_threads

        limit_threads(args.threads, "--threads")
        code: int = args.func(args)
    except ValueError as e:
        err.print(f"[red]error:[/red] {escape(str(e))}")
        return 2
    except RuntimeError as e:
        from iblearn.estimators.neural import CriticDivergedError

        if not isinstance(e, CriticDivergedError):  # the training went wrong, not a bug
            raise
        err.print(f"[red]error:[/red] {escape(str(e))}")
        return 2
    except BrokenPipeError:  # the reader went away (``| head``): stop without a word, as Unix tools do
        with contextlib.suppress(OSError, ValueError):  # and let the exit's flush write nowhere
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as e:  # a path that is a file, a folder that cannot be written, a disk that is full
        said = f"{e.filename}: {e.strerror or e}" if e.filename else str(e.strerror or e)
        err.print(f"[red]error:[/red] {escape(said)}")
        return 2
    return code
