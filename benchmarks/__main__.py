"""``python -m benchmarks``, at the root of a source checkout (what ``iblearn bench`` runs): the
non-parametric estimators against their peers (speed, then the accuracy grid against known truth, which
resumes), or the neural suite against torch-mist. Needs the bench extra (``make bench``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.markdown import Markdown

from benchmarks import runners
from benchmarks.runners.script import RESULTS, output_path
from iblearn._threads import limit_threads
from iblearn.cli.bench import add_arguments
from iblearn.cli.console import out, progress_bar
from iblearn.experiments.estimators.accuracy import AccuracyConfig, grid_size


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    add_arguments(parser)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (iblearn --threads)")
    args = parser.parse_args(argv)
    limit_threads(args.threads, "--threads")
    try:
        results = output_path(args.results and Path(args.results), RESULTS, args, "--results")
    except ValueError as err:
        parser.error(str(err))
    results.mkdir(parents=True, exist_ok=True)
    if args.suite == "neural":
        with progress_bar(None, "neural") as step:
            out.print(Markdown(runners.bench_neural(results, quick=args.quick, progress=step)))
        return 0
    if args.only in (None, "speed"):
        out.rule("speed (single thread; ratios from one run)")
        out.print(Markdown(runners.bench_speed(results, quick=args.quick)))
    if args.only in (None, "accuracy"):
        config = AccuracyConfig(sizes=(1000,), seeds=2) if args.quick else AccuracyConfig()
        with progress_bar(grid_size(config, runners.all_methods()), "accuracy") as step:
            table = runners.bench_accuracy(results, quick=args.quick, resume=not args.restart, progress=step)
        out.rule("accuracy against known truth")
        out.print(Markdown(table))
    out.print(f"[dim]results in {results}[/dim]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
