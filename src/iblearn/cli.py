"""The ``iblearn`` command: ``estimate``, ``demo``, ``bench`` and ``reproduce``.

Run ``iblearn --help`` or ``iblearn COMMAND --help``. Bad input exits with status 2 and a one-line
error that names the argument.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.markdown import Markdown
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

# torch, numpy and the estimators are imported inside the commands that use them: `iblearn --help` and
# argument errors then answer in about 0.2 s instead of 4-13 s (torch's import, on two shared cores).

# Off a terminal (logs, make demo piped), rich assumes 80 columns and truncates the task names.
out = Console() if sys.stdout.isatty() else Console(width=110)
err = Console(stderr=True)


def _load(path: str, name: str) -> Any:
    """An array from .npy (no pickles), .csv/.txt, or .pt (tensors only)."""
    import numpy as np
    import torch

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{name}: no such file {path!r}")
    try:
        if p.suffix == ".npy":
            return np.load(p, allow_pickle=False)
        if p.suffix == ".pt":
            return torch.load(p, map_location="cpu", weights_only=True)
        if p.suffix in (".csv", ".txt"):
            return np.loadtxt(p, delimiter="," if p.suffix == ".csv" else None, ndmin=2)
    except (OSError, ValueError, RuntimeError, EOFError, pickle.UnpicklingError) as e:
        # EOFError: an empty .npy; UnpicklingError: a .pt that holds more than tensors (weights_only)
        raise ValueError(f"{name}: cannot read {path!r}: {str(e).splitlines()[0]}") from e
    raise ValueError(f"{name}: unsupported file type {p.suffix!r}; use .npy, .csv, .txt or .pt")


def _option(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value, parse_constant=_no_constant)
    except json.JSONDecodeError:
        return key, value


def _no_constant(name: str) -> Any:
    raise argparse.ArgumentTypeError(f"{name} is not a setting's value (JSON's NaN and Infinity are refused)")


def _config_file(path: str) -> dict[str, Any]:
    """Config fields from a JSON or TOML file: a table of ``KEY = VALUE``, nested configs as sub-tables.
    Nothing in it is evaluated or unpickled."""
    import tomllib

    from iblearn.records import read_json

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"--config: no such file {path!r}")
    if p.suffix not in (".json", ".toml"):
        raise ValueError(f"--config: {path!r} is neither .json nor .toml")
    try:
        data = read_json(p) if p.suffix == ".json" else tomllib.loads(p.read_text(encoding="utf-8"))
    except (ValueError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"--config: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"--config: {path!r} holds a {type(data).__name__}, not a table of config fields")
    return data


def cmd_estimate(args: argparse.Namespace) -> int:
    import numpy as np

    from iblearn.estimators import get_estimator

    settings = dict(args.option or [])
    if args.k is not None:
        settings["k"] = args.k
    if args.base is not None:
        settings["base"] = args.base
    est = get_estimator(args.method, **settings)
    x, y = _load(args.x, "X"), _load(args.y, "Y")
    labels = args.method == "mixed_ksg" or settings.get("y_classes") is not None
    if labels and isinstance(y, np.ndarray) and y.dtype.kind == "f":
        # Text files hold numbers only; integral values in Y are read as the labels they must be.
        if not np.array_equal(y, np.round(y)):
            raise ValueError(f"Y: {args.method} needs integer class labels here, got non-integral numbers")
        y = y.astype(np.int64)
    start = time.perf_counter()
    trained = ""
    quantity, test = "I(X;Y)", "permutation test of independence"
    if args.cond is not None:
        result = _estimate_conditional(est, x, y, args)
        quantity, test = "I(X;Y|Z)", "local permutation test of conditional independence"
    else:
        if est.trainable:
            x, y, trained = _fit_on_split(est, x, y, args)
        result = est(x, y, n_resamples=args.resamples, n_permutations=args.permutations, seed=args.seed)
    seconds = time.perf_counter() - start
    line = f"{quantity} = {float(result):.4f} {result.unit}"
    if result.stderr is not None:
        line += f" ± {result.stderr:.4f} (standard error, {result.stderr_method}, {args.resamples} resamples)"
    out.print(line)
    if result.p_value is not None:
        out.print(f"p = {result.p_value:.4g} ({test}, {result.n_permutations} permutations)")
    out.print(f"[dim]{args.method}, N = {result.n_samples}, {est.extra_repr()}; {seconds:.3f} s[/dim]")
    if trained:
        out.print(f"[dim]{trained}[/dim]")
    return 0


def _estimate_conditional(est: Any, x: Any, y: Any, args: argparse.Namespace) -> Any:
    """``estimate X Y --cond Z``: I(X;Y|Z), with a p-value for conditional independence (local
    permutations of X in Z, Runge 2018) instead of one for independence."""
    import numpy as np

    from iblearn.estimators.conditional import Conditional

    if not isinstance(est, Conditional):
        raise ValueError(f"--cond: {args.method} does not estimate conditional MI; use ksg or gaussian")
    z = _load(args.cond, "--cond")
    if isinstance(z, np.ndarray) and z.dtype.kind in "iub":
        z = z.astype(np.int64)  # integer Z (.npy) is a discrete condition: one class per value
    return est(x, y, z=z, n_resamples=args.resamples, n_permutations=args.permutations, seed=args.seed)


def _fit_on_split(est: Any, x: Any, y: Any, args: argparse.Namespace) -> tuple[Any, Any, str]:
    """Trains a neural estimator's critic on a random ``1 - test_fraction`` of the rows, stopping early
    on a validation share of them, and returns the held-out rest, to report on: a bound evaluated on the
    rows its critic was fitted to rewards memorizing them, and is no bound
    (:func:`iblearn.estimators.split.fit_on_split`, what :func:`iblearn.estimate_mi` does)."""
    import torch

    from iblearn.estimators.split import fit_on_split

    if not 0 < args.test_fraction < 1:
        raise ValueError(f"--test-fraction: must lie strictly between 0 and 1, got {args.test_fraction}")
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    if len(xt) != len(yt):
        raise ValueError(f"Y: sample counts differ: X has {len(xt)} rows, Y has {len(yt)}")
    n = len(xt)
    n_test = round(n * args.test_fraction)
    if min(n_test, n - n_test) < 2:
        raise ValueError(f"--test-fraction: {args.test_fraction} of {n} rows leaves fewer than 2 on one side")
    x_test, y_test, split = fit_on_split(
        est, xt, yt, test=args.test_fraction, steps=args.steps, batch_size=args.batch_size, seed=args.seed
    )
    return (
        x_test,
        y_test,
        (
            f"critic trained on {split['train']} standardized rows, {split['validation']} more held out "
            f"to keep its best step ({int(est.steps_done)} of at most {args.steps}); "
            f"the estimate is on the other {split['test']}"
        ),
    )


@contextmanager
def progress_bar(total: int | None, title: str) -> Iterator[Callable[[str], None]]:
    """A progress bar on stderr; yields ``step(message)`` to call once per unit of work."""
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(title, total=total)

        def step(message: str) -> None:
            bar.update(task, advance=1, description=f"{title}: {message}")

        yield step


def _summary_table(summary: Sequence[dict[str, Any]], title: str) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD)
    for col in ("task", "truth", "estimator", "N", "mean", "sd", "bias", "time (s)"):
        table.add_column(col, justify="left" if col in ("task", "estimator") else "right")
    last = None
    for s in summary:
        if "mean" not in s:
            continue
        bias = s["bias"]
        colour = "green" if abs(bias) <= 0.05 * max(1.0, s["truth"]) else "yellow"
        table.add_row(
            s["task"] if s["task"] != last else "",
            f"{s['truth']:.4f}" if s["task"] != last else "",
            s["method"].replace("iblearn ", ""),
            str(s["n"]),
            f"{s['mean']:.4f}",
            f"{s['sd']:.4f}",
            f"[{colour}]{bias:+.4f}[/{colour}]",
            f"{s['seconds']:.3f}",
        )
        last = s["task"]
    return table


def _demo_estimators(out_dir: Path) -> None:
    from iblearn.experiments import REPRODUCTIONS, ReproduceOptions
    from iblearn.experiments.accuracy import AccuracyConfig, grid_size, ours, summarize
    from iblearn.records import RunFolder

    out.print(
        "MI estimators against closed-form truth, N = 1,000, 2 seeds (iblearn reproduce estimators --quick)."
    )
    with progress_bar(grid_size(AccuracyConfig(sizes=(1000,), seeds=2), ours()), "estimators") as step:
        path = REPRODUCTIONS["estimators"](ReproduceOptions(out=out_dir, progress=step))
    out.print(_summary_table(summarize(RunFolder(path).metrics()), "Estimates in nats (bias: mean - truth)"))
    out.print(
        "KSG is biased low when the MI is high or the dimension large (Kraskov et al. 2004; "
        "Gao et al. 2015): see the 25-D and high-MI rows. Binning is shown in one dimension only."
    )
    out.print(f"[dim]records: {path}[/dim]")


def _show_reproduction(
    out_dir: Path, name: str, intro: str, config: Any, steps: int | None, files: str
) -> None:
    """Run a small version of ``iblearn reproduce NAME`` with a progress bar and print its table."""
    from iblearn.experiments import REPRODUCTIONS, ReproduceOptions

    out.print(intro)
    with progress_bar(steps, name) as step:
        path = REPRODUCTIONS[name](ReproduceOptions(out=out_dir, progress=step), config)
    out.print(Markdown((path / "table.md").read_text(encoding="utf-8")))
    out.print(f"[dim]{files}: {path}[/dim]")


def _demo_aamine(out_dir: Path) -> None:
    from iblearn.experiments import aamine_noise

    config = aamine_noise.Config(noise_vars=(0.0, 1e-2, 1.0), n_train=4096, n_test=1024, rounds=2, steps=250)
    _show_reproduction(
        out_dir,
        "aamine-noise",
        "Paper 002, Fig. 1: I(X; L + eps) of a random 3-layer MLP, AA-MINE against plain MINE "
        "(a small version of iblearn reproduce aamine-noise).",
        config,
        2 * len(config.noise_vars),
        "records and plot",
    )


def _demo_proximal(out_dir: Path) -> None:
    from iblearn.experiments import proximal

    config = proximal.Config(
        parts=("binary",), binary_gammas=(100.0,), binary_baseline_lrs=(0.1, 10.0), seeds=1
    )
    _show_reproduction(
        out_dir,
        "proximal",
        "Paper 000, Fig. 3: ProximalSplit on the paper's binary task (full-batch SGD, alpha 0.1, beta 10, "
        "gamma 100, 1 seed). 'ours' is ProximalSplit's default (eq. 5 keeping eq. 4's first-order term); "
        "'ours literal' is eq. 5 as printed, which stays at chance; 'split-lr backprop' is plain backprop "
        "with theta at gamma * lam * beta = 1000 and phi at 0.1, and 'baseline lr=10' a tuned plain SGD: "
        "they show that the speed-up over the paper's baseline (lr=0.1) comes from theta's learning rate "
        "(10 seeds and the image and VAE rows: docs/results/proximal.md).",
        config,
        1,
        "records and plot",
    )


def _demo_mi_lr(out_dir: Path) -> None:
    from iblearn.experiments import mi_lr

    config = mi_lr.Config(
        runs=(("mnist", "lenet5"),),
        methods=("mi-global", "adam"),
        epochs=3,
        seeds=1,
        train_size=3000,
        test_size=1000,
        val_size=500,
        mi_samples=500,
        range_lrs=(0.01, 0.1, 1.0),
        range_trials=1,
        range_epochs=2,
        grid={"adam": (1e-3,)},
        grid_epochs=1,
        sensitivity=(),
    )
    _show_reproduction(
        out_dir,
        "mi-lr",
        "Paper 004: the LR range test, then SGD with MIDecayLR against Adam on an MNIST subset (3,000 "
        "train / 1,000 test images, 3 epochs; a small version of iblearn reproduce mi-lr).",
        config,
        None,
        "records and plots",
    )


def _demo_mole(out_dir: Path) -> None:
    from iblearn.experiments import mole

    config = mole.Config(
        tasks=("mnist",),
        estimators=("matrix",),
        epochs=2,
        seeds=1,
        train_size=5000,
        test_size=1000,
        tsne_samples=200,  # ten t-SNE fits (two methods, five panels): at 300 points they took half the time
    )
    _show_reproduction(
        out_dir,
        "mole",
        "Paper 001: MOLE, each module of a CNN trained alone on its own MI objective (matrix-based Renyi "
        "estimator), against backpropagation of the same net, on an MNIST subset (5,000 train / 1,000 test "
        "images; a small version of iblearn reproduce mole).",
        config,
        2,
        "records and t-SNE of every module",
    )


def _demo_layerwise_ib(out_dir: Path) -> None:
    from iblearn.experiments import layerwise_ib

    _show_reproduction(
        out_dir,
        "layerwise-ib",
        "Paper 002: an MLP trained layer by layer on I(Y;L) - beta I(X;L+eps) (MINE and AA-MINE), then a "
        "post-trained linear layer, against cross-entropy end to end, on 1% of MNIST (600 images; a small "
        "version of iblearn reproduce layerwise-ib).",
        layerwise_ib.Config.quick(),
        5,
        "records and the t-SNE of Fig. 3",
    )


def _demo_ib_theory(out_dir: Path) -> None:
    from iblearn.experiments import ib_plane, ib_theory

    plane = ib_plane.Config(train_size=1000, eval_size=300, epochs=8, records=5)
    _show_reproduction(
        out_dir,
        "ib-theory",
        "Paper 003: the IB functional of a deterministic net is infinite or piecewise constant; its "
        "decision-rule, noisy and stochastic forms are not, and tell good nets from bad. Exact values for "
        "the toy nets of Figs. 1-3, eq. (5) against KSG, and information planes of a small MLP on 1,000 "
        "MNIST images (a small version of iblearn reproduce ib-theory).",
        ib_theory.Config(plane=plane),
        len(plane.runs),
        "records, Fig. 1 grids and information planes",
    )


DEMO_SECTIONS: dict[str, Callable[[Path], None]] = {
    "estimators": _demo_estimators,
    "aamine": _demo_aamine,
    "proximal": _demo_proximal,
    "mi-lr": _demo_mi_lr,
    "mole": _demo_mole,
    "layerwise-ib": _demo_layerwise_ib,
    "ib-theory": _demo_ib_theory,
}


def cmd_demo(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    for name in [args.only] if args.only else DEMO_SECTIONS:
        out.rule(f"[bold]iblearn demo: {name}[/bold]")
        section = time.perf_counter()
        DEMO_SECTIONS[name](Path(args.out) / name)
        out.print(f"[dim]{name}: {time.perf_counter() - section:.0f} s[/dim]")
    out.print(f"[dim]demo finished in {time.perf_counter() - start:.0f} s[/dim]")
    return 0


# The benchmark runners and peer adapters live in the source checkout (benchmarks/runners), not in the
# installed package (DESIGN.md, "Layers"): they pin peers (jax, numpy<2) that iblearn itself never needs.
BENCH_MISSING = (
    "iblearn bench runs the benchmarks of a source checkout (benchmarks/runners), and this installation "
    "is not one: in a clone of iblearn's repository, `make bench` installs the peers (the bench extra) "
    "and iblearn from that checkout, after which `iblearn bench` finds them"
)
# Where this file lies in a checkout (src/iblearn/cli.py); an installed wheel has no benchmarks/ there.
CHECKOUT = Path(__file__).resolve().parents[2]


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


def cmd_reproduce(args: argparse.Namespace) -> int:
    from iblearn.experiments import REPRODUCTIONS, ReproduceOptions

    if args.name not in REPRODUCTIONS:
        raise ValueError(
            f"NAME: unknown reproduction {args.name!r}; known: {', '.join(sorted(REPRODUCTIONS))}"
        )
    with progress_bar(None, args.name) as step:
        options = ReproduceOptions(
            full=args.full,
            out=Path(args.out) if args.out else None,
            seed=args.seed,
            device=args.device,
            resume=args.resume,
            overrides={**(_config_file(args.config) if args.config else {}), **dict(args.set or [])},
            progress=step,
        )
        path = REPRODUCTIONS[args.name](options)
    table = path / "table.md"
    if table.exists():
        out.print(Markdown(table.read_text(encoding="utf-8")))
    out.print(f"[dim]records: {path}[/dim]")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="iblearn", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for torch, BLAS and OpenMP (default 1: iblearn's jobs are many small operations, "
        "which one thread runs fastest, above all on shared cores; see iblearn._threads)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    est = sub.add_parser("estimate", help="estimate I(X;Y) from two sample files (rows are samples)")
    est.add_argument("x", metavar="X", help="samples of X: .npy, .csv, .txt or .pt")
    est.add_argument("y", metavar="Y", help="samples of Y (integer labels for mixed_ksg)")
    est.add_argument(
        "--method",
        default="ksg",
        help="estimator name: ksg, mixed_ksg, binning, gaussian, renyi; or a neural one (mine, mine_f, nwj, "
        "js, infonce), whose critic is trained on part of the rows and reports on the rest",
    )
    est.add_argument(
        "--cond",
        metavar="Z",
        default=None,
        help="samples of Z: estimate I(X;Y|Z) instead (ksg, gaussian); integer Z in a .npy is a discrete "
        "condition, and --permutations then tests conditional independence",
    )
    est.add_argument("--k", type=int, default=None, help="neighbours, for ksg and mixed_ksg")
    est.add_argument("--base", type=float, default=None, help="logarithm base: 2 for bits (default: nats)")
    est.add_argument("--resamples", type=int, default=0, help="resamples for a standard error")
    est.add_argument("--permutations", type=int, default=0, help="permutations for an independence p-value")
    est.add_argument("--seed", type=int, default=0)
    est.add_argument("--steps", type=int, default=2000, help="neural estimators: critic training steps")
    est.add_argument("--batch-size", type=int, default=256, help="neural estimators: rows per step")
    est.add_argument(
        "--test-fraction",
        type=float,
        default=0.2,
        help="neural estimators: share of the rows held out for the estimate (default 0.2)",
    )
    est.add_argument(
        "--option",
        type=_option,
        action="append",
        metavar="KEY=VALUE",
        help="any other estimator setting, e.g. --option n_bins=20",
    )
    est.set_defaults(func=cmd_estimate)

    demo = sub.add_parser("demo", help="run the main job on embedded data (about a minute)")
    demo.add_argument("--out", default="runs/demo", help="where the run records go")
    demo.add_argument("--only", choices=list(DEMO_SECTIONS), default=None, help="run one section")
    demo.set_defaults(func=cmd_demo)

    bench = sub.add_parser("bench", help="benchmarks against peer libraries (needs the bench extra)")
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

    rep = sub.add_parser("reproduce", help="run a reproduction and write its run folder")
    rep.add_argument("name", metavar="NAME")
    size = rep.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="full", action="store_false", help="minutes on two CPU cores (default)")
    size.add_argument("--full", dest="full", action="store_true", help="the full reproduction")
    rep.add_argument("--out", default=None, help="run folder (default runs/NAME-quick or runs/NAME-full)")
    rep.add_argument("--seed", type=int, default=0)
    rep.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    rep.add_argument("--resume", action="store_true", help="continue a killed run from its records")
    rep.add_argument(
        "--set",
        type=_option,
        action="append",
        metavar="KEY=VALUE",
        help="change a field of the preset config (VALUE as JSON), e.g. --set seeds=5",
    )
    rep.add_argument(
        "--config",
        metavar="FILE",
        help="a .json or .toml file of config fields to change, as --set does (--set wins)",
    )
    rep.set_defaults(func=cmd_reproduce, full=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from iblearn._threads import limit_threads

        limit_threads(args.threads)
        code: int = args.func(args)
    except ValueError as e:
        err.print(f"[red]error:[/red] {e}")
        return 2
    except RuntimeError as e:
        from iblearn.estimators.neural import CriticDivergedError

        if not isinstance(e, CriticDivergedError):  # the training went wrong, not a bug
            raise
        err.print(f"[red]error:[/red] {e}")
        return 2
    except OSError as e:  # a path that is a file, a folder that cannot be written, a disk that is full
        err.print(f"[red]error:[/red] {e.filename or ''}: {e.strerror or e}")
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
