"""``iblearn bench``: the benchmarks of a source checkout against peer libraries.

The benchmarks live in the checkout (``benchmarks/``), not in the installed package: they pin peers
(jax, numpy<2) that iblearn itself never needs. Their entry point is ``python -m benchmarks``, run at
the checkout's root; ``iblearn bench`` runs it there in a process of its own, so the command imports
nothing from outside the package.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from iblearn.cli.console import Subparsers, err

BENCH_MISSING = (
    "iblearn bench runs the benchmarks of a source checkout (python -m benchmarks at its root), and this "
    "installation is not one: in a clone of iblearn's repository, `make bench` installs the peers (the "
    "bench extra) and iblearn from that checkout, after which `iblearn bench` finds them"
)
# Where this file lies in a checkout (src/iblearn/cli/bench.py); an installed wheel has no benchmarks/ there.
CHECKOUT = Path(__file__).resolve().parents[3]


def checkout(root: Path = CHECKOUT) -> Path | None:
    """The source checkout whose benchmarks ``iblearn bench`` runs (an editable install runs this file
    from its src/iblearn): ``root`` where it holds the entry point, else None."""
    return root if (root / "benchmarks" / "__main__.py").is_file() else None


def cmd_bench(args: argparse.Namespace) -> int:
    root = checkout()
    if root is None:
        err.print(f"[red]error:[/red] {BENCH_MISSING}")
        return 2
    argv = [args.suite] + (["--results", str(Path(args.results).resolve())] if args.results else [])
    argv += ["--threads", str(args.threads)]
    argv += [f"--only={args.only}"] if args.only else []
    argv += [
        flag
        for flag in ("--quick", "--restart", "--write-results")
        if getattr(args, flag[2:].replace("-", "_"))
    ]
    return subprocess.run([sys.executable, "-m", "benchmarks", *argv], cwd=root, check=False).returncode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's arguments, which ``python -m benchmarks`` takes too."""
    parser.add_argument(
        "suite",
        choices=["estimators", "neural"],
        help="estimators: non-parametric vs sklearn/ennemi/npeet/bmi; neural: vs torch-mist",
    )
    parser.add_argument("--quick", action="store_true", help="small N and few seeds")
    parser.add_argument(
        "--results",
        default=None,
        help="results folder (default: the checkout's benchmarks/results/_scratch, or its committed "
        "benchmarks/results with --write-results)",
    )
    parser.add_argument(
        "--write-results", action="store_true", help="write the committed results of the checkout"
    )
    parser.add_argument("--only", choices=["speed", "accuracy"], default=None)
    parser.add_argument(
        "--restart", action="store_true", help="discard earlier accuracy rows instead of resuming"
    )


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    """The command's parser under ``sub``, with the options of ``common``."""
    bench = sub.add_parser(
        "bench", parents=[common], help="benchmarks against peer libraries (needs the bench extra)"
    )
    add_arguments(bench)
    bench.set_defaults(func=cmd_bench)
