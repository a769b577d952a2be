"""``iblearn bench``: the benchmarks of a source checkout against peer libraries."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.markdown import Markdown

from iblearn.cli.console import Subparsers, err, out, progress_bar

# The benchmark runners and peer adapters live in the source checkout (benchmarks/runners), not in the
# installed package (DESIGN.md, "Layers"): they pin peers (jax, numpy<2) that iblearn itself never needs.
BENCH_MISSING = (
    "iblearn bench runs the benchmarks of a source checkout (benchmarks/runners), and this installation "
    "is not one: in a clone of iblearn's repository, `make bench` installs the peers (the bench extra) "
    "and iblearn from that checkout, after which `iblearn bench` finds them"
)
# Where this file lies in a checkout (src/iblearn/cli/bench.py); an installed wheel has no benchmarks/ there.
CHECKOUT = Path(__file__).resolve().parents[3]


def _bench_runners(root: Path = CHECKOUT) -> Any:
    """``benchmarks.runners`` of the checkout ``root`` (an editable install runs this file from its
    src/iblearn), imported on first use; None outside a checkout."""
    import importlib

    if not (root / "benchmarks" / "runners" / "__init__.py").is_file():
        return None
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return importlib.import_module("benchmarks.runners")


def cmd_bench(args: argparse.Namespace) -> int:
    runners = _bench_runners()
    if runners is None:
        err.print(f"[red]error:[/red] {BENCH_MISSING}")
        return 2
    from iblearn.experiments.accuracy import AccuracyConfig, grid_size

    results = Path(args.results)
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


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    """The command's parser under ``sub``, with the options of ``common``."""
    bench = sub.add_parser(
        "bench", parents=[common], help="benchmarks against peer libraries (needs the bench extra)"
    )
    bench.add_argument(
        "suite",
        choices=["estimators", "neural"],
        help="estimators: non-parametric vs sklearn/ennemi/npeet/bmi; neural: vs torch-mist",
    )
    bench.add_argument("--quick", action="store_true", help="small N and few seeds")
    bench.add_argument("--results", default="benchmarks/results", help="results folder")
    bench.add_argument("--only", choices=["speed", "accuracy"], default=None)
    bench.add_argument(
        "--restart", action="store_true", help="discard earlier accuracy rows instead of resuming"
    )
    bench.set_defaults(func=cmd_bench)
