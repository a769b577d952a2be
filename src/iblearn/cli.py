"""The ``iblearn`` command: ``estimate``, ``demo``, ``bench`` and ``reproduce``.

Run ``iblearn --help`` or ``iblearn COMMAND --help``. Bad input exits with status 2 and a one-line
error that names the argument.
"""

from __future__ import annotations

import argparse
import csv
import json
import pickle
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

# torch, numpy and the estimators are imported inside the commands that use them: `iblearn --help` and
# argument errors then answer in about 0.2 s instead of 4-13 s (torch's import, on two shared cores).

# Off a terminal (logs, make demo piped), rich assumes 80 columns and truncates the task names.
out = Console() if sys.stdout.isatty() else Console(width=110)
err = Console(stderr=True)

# The reproductions by name, for `reproduce --help` without importing them (and torch); a test keeps this
# equal to iblearn.experiments.REPRODUCTIONS.
REPRODUCTION_NAMES = {
    "estimators": "MI estimators against closed-form truth (no paper)",
    "aamine-noise": "paper 002, Fig. 1: AA-MINE against MINE on a noisy random MLP",
    "proximal": "paper 000: ProximalSplit, Fig. 3 and the image and VAE tables",
    "mi-lr": "paper 004: the LR range test and MIDecayLR against Adam, RMSprop, LARS",
    "mole": "paper 001, Table 1: MOLE's module-wise training against backpropagation",
    "layerwise-ib": "paper 002, Table 1 and Fig. 3: layer-wise IB training",
    "ib-theory": "paper 003: the IB functional of deterministic nets, information planes",
}


def _load(path: str, name: str, cols: str | None = None, exclude: str | None = None) -> Any:
    """An array from .npy (no pickles), .csv/.txt (a header line of column names is optional), or .pt
    (tensors only). ``cols`` picks columns by header name or 0-based index, e.g. ``"age,2"``;
    ``exclude`` takes all columns but those."""
    import numpy as np
    import torch

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{name}: no such file {path!r}")
    if p.suffix not in (".npy", ".pt", ".csv", ".txt"):
        raise ValueError(f"{name}: unsupported file type {p.suffix!r}; use .npy, .csv, .txt or .pt")
    if p.suffix in (".csv", ".txt"):
        return _read_table(p, name, cols, exclude)
    try:
        if p.suffix == ".npy":
            data = np.load(p, allow_pickle=False)
        else:
            data = torch.load(p, map_location="cpu", weights_only=True)
    except (OSError, ValueError, RuntimeError, EOFError, pickle.UnpicklingError) as e:
        # EOFError: an empty .npy; UnpicklingError: a .pt that holds more than tensors (weights_only)
        raise ValueError(f"{name}: cannot read {path!r}: {str(e).splitlines()[0]}") from e
    if cols is None and exclude is None:
        return data
    if getattr(data, "ndim", 0) != 2:
        raise ValueError(f"{name}: columns are picked from a 2-D array; {path!r} holds another shape")
    return data[:, _pick(cols, exclude, [], data.shape[1], name)]


def _read_table(p: Path, name: str, cols: str | None, exclude: str | None) -> Any:
    """A CSV (comma-separated) or .txt (whitespace-separated) table as a float64 array. The first line
    is a header when any of its fields is not a number. A column of text (class names) becomes integer
    codes in sorted order: labels, as mixed_ksg's Y needs. Empty fields and text among numbers are
    refused, naming the line."""
    import numpy as np

    try:
        with p.open(encoding="utf-8-sig", newline="") as f:  # -sig: Excel writes a byte-order mark
            if p.suffix == ".csv":
                rows = [[field.strip() for field in row] for row in csv.reader(f) if row]
            else:
                rows = [line.split() for line in f if line.strip()]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"{name}: cannot read {str(p)!r}: {e}") from e
    header: list[str] = []
    if rows and not all(_is_number(field) for field in rows[0]):
        header, rows = rows[0], rows[1:]
    if not rows:
        raise ValueError(f"{name}: {str(p)!r} holds no rows of samples")
    width = len(header or rows[0])
    first = 2 if header else 1  # the line number of rows[0]
    for line, row in enumerate(rows, start=first):
        if len(row) != width:
            raise ValueError(f"{name}: line {line} of {str(p)!r} has {len(row)} fields, expected {width}")
    columns = []
    for j in _pick(cols, exclude, header, width, name):
        values = [row[j] for row in rows]
        if "" in values:
            raise ValueError(f"{name}: line {values.index('') + first} of {str(p)!r} has an empty field")
        numbers = [_is_number(v) for v in values]
        if all(numbers):
            columns.append(np.array(values, dtype=np.float64))
        elif any(numbers):  # a typo or a missing-value marker in a column of numbers, not a class name
            bad = numbers.index(False)
            raise ValueError(
                f"{name}: line {bad + first} of {str(p)!r} has {values[bad]!r} in a column of numbers"
            )
        else:
            names = np.array(sorted(set(values)))
            columns.append(np.searchsorted(names, np.array(values)).astype(np.float64))
    return np.stack(columns, axis=1)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _pick(cols: str | None, exclude: str | None, header: Sequence[str], width: int, name: str) -> list[int]:
    """The columns named by ``cols`` (all when None), less those named by ``exclude``."""
    picked = _column_indices(cols, header, width, name) if cols else list(range(width))
    if exclude:
        dropped = set(_column_indices(exclude, header, width, "Y"))
        picked = [j for j in picked if j not in dropped]
        if not picked:
            raise ValueError(f"{name}: --y-cols takes every column of the file; none is left for X")
    return picked


def _column_indices(cols: str, header: Sequence[str], width: int, name: str) -> list[int]:
    """``"a,2"``: column ``a`` by header name, then column 2 (0-based; -1 is the last)."""
    flag = "--x-cols" if name == "X" else "--y-cols" if name == "Y" else name
    picked = []
    for token in (t.strip() for t in cols.split(",")):
        if token in header:
            picked.append(list(header).index(token))
            continue
        try:
            j = int(token)
        except ValueError:
            known = f"the columns are {', '.join(header)}" if header else "the file has no header line"
            raise ValueError(f"{flag}: no column {token!r}; {known}") from None
        if not -width <= j < width:
            raise ValueError(f"{flag}: column {j} is out of range; the file has {width} columns")
        picked.append(j % width)
    return picked


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
    args.method = _estimator_name(args.method)
    est = get_estimator(args.method, **settings)
    if args.y is None and args.y_cols is None:
        raise ValueError("Y: give a second file, or --y-cols to take Y from X's file")
    # One file for both: X is the columns that --y-cols leaves, unless --x-cols says otherwise.
    rest = args.y_cols if args.y is None and args.x_cols is None else None
    x, y = _load(args.x, "X", args.x_cols, exclude=rest), _load(args.y or args.x, "Y", args.y_cols)
    labels = args.method == "mixed_ksg" or settings.get("y_classes") is not None
    if labels and isinstance(y, np.ndarray) and y.dtype.kind == "f":
        # Tables are read as floats (class names as codes); integral values in Y are the labels they must be.
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
    if args.json:
        _print_json(result, est, args, seconds, trained, quantity)
        return 0
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


def _print_json(
    result: Any, est: Any, args: argparse.Namespace, seconds: float, trained: str, quantity: str
) -> None:
    """``estimate --json``: one JSON object on stdout, for scripts; absent facts are null."""
    record = {
        "quantity": quantity,
        "value": float(result),
        "unit": result.unit,
        "stderr": result.stderr,
        "stderr_method": result.stderr_method,
        "resamples": args.resamples if result.stderr is not None else 0,
        "p_value": result.p_value,
        "permutations": result.n_permutations,
        "method": args.method,
        "n_samples": result.n_samples,
        "settings": est.settings(),
        "seconds": round(seconds, 4),
        "training": trained or None,
    }
    print(json.dumps(record, default=str))


def _estimator_name(text: str) -> str:
    """The registry name for ``--method``: a registry name or a class name in any case (``KSG``,
    ``MixedKSG``, ``mine-f``); anything else raises ValueError with the closest names."""
    import difflib

    from iblearn.estimators import REGISTRY

    names = {key: key for key in REGISTRY}
    names |= {cls.__name__.lower(): key for key, cls in REGISTRY.items()}
    key = text.lower().replace("-", "_")
    for candidate in (key, key.replace("_", "")):
        if candidate in names:
            return names[candidate]
    close = difflib.get_close_matches(key, list(names), n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(dict.fromkeys(names[c] for c in close))}? " if close else ""
    raise ValueError(f"--method: unknown estimator {text!r}; {hint}known: {', '.join(sorted(REGISTRY))}")


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
    with progress_bar(args.steps, "critic") as step:  # seconds of training: say how far it is
        x_test, y_test, split = fit_on_split(
            est,
            xt,
            yt,
            test=args.test_fraction,
            steps=args.steps,
            batch_size=args.batch_size,
            seed=args.seed,
            progress=lambda done, loss: step(f"loss {loss:.3f}"),
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
            from iblearn.experiments.accuracy import grid_size, ours

            self.bar.update(self.task, total=grid_size(config, ours()))


@contextmanager
def progress_bar(total: int | None, title: str) -> Iterator[_Steps]:
    """A progress bar on stderr, with the time left once the total is known (else ``n/?``)."""
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=err, transient=True) as bar:
        yield _Steps(bar, bar.add_task(title, total=total), title)


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


# Measured on the project's 2-core machine with other jobs beside it: 225 s (load about 6) and 530 s
# (heavier load; mole 235 s, layerwise-ib 111 s).
DEMO_HELP = (
    "run a small version of every reproduction and say what its numbers mean (4 to 9 minutes on two CPU "
    "cores shared with other jobs; each section prints its time)"
)


@dataclass(frozen=True)
class DemoSection:
    """One section of ``iblearn demo``: a reproduction at its experiment's ``Config.demo()`` preset
    (estimators: its ``--quick`` one), what it runs, and what its numbers mean at that scale."""

    reproduction: str
    intro: str
    meaning: str
    files: str


DEMO_SECTIONS: dict[str, DemoSection] = {
    "estimators": DemoSection(
        "estimators",
        "MI estimators against closed-form truth, N = 1,000, 2 seeds (iblearn reproduce estimators --quick).",
        "Each row is measured against a known truth, not a paper: at N = 1,000 KSG is biased low where "
        "the MI is high or the dimension large (Kraskov et al. 2004; Gao et al. 2015: the 25-D and high-MI "
        "rows), GaussianMI is exact only on Gaussian tasks (see student-t), and Binning, shown in one "
        "dimension only, overestimates weak dependence.",
        "records and accuracy.png",
    ),
    "aamine": DemoSection(
        "aamine-noise",
        "Paper 002, Fig. 1: I(X; L + eps) of a random 3-layer MLP, AA-MINE against plain MINE, 2 rounds "
        "of 250 critic steps (a small version of iblearn reproduce aamine-noise).",
        "The nats are far below the paper's: a 10-10-10-5 net on 10 inputs and 500 critic steps, where "
        "the paper has 784 inputs and far longer training, so 'keeps growing' cannot be judged here. What "
        "carries over is the ordering: AA-MINE above MINE at zero noise, both falling as the noise grows "
        "and agreeing once it dominates (--quick: 8.34 against 5.70 nats at zero noise; "
        "docs/results/aamine-noise.md).",
        "records and aamine_noise.png",
    ),
    "proximal": DemoSection(
        "proximal",
        "Paper 000, Fig. 3: ProximalSplit on the paper's binary task (full-batch SGD, alpha 0.1, beta 10, "
        "gamma 100, 1 seed) against plain backprop at the paper's rate, a split-rate control (theta at "
        "gamma * lam * beta = 1000, phi at 0.1) and a tuned plain SGD (lr 10).",
        "'Iterations to 95%' is the paper's claim, faster convergence at gamma = 100, and 'ours' shows it "
        "against the baseline at lr 0.1; the split-rate control and plain SGD at lr 10 are about as fast, so "
        "the speed-up comes from theta's learning rate, not the split, and 'ours' may fall back below 90% "
        "after reaching 95% ('drops'), which the paper's one curve does not show. 'ours literal' (eq. 5 as "
        "printed) stays at chance. One seed; 10 seeds and the image and VAE rows: docs/results/proximal.md.",
        "records and proximal.png",
    ),
    "mi-lr": DemoSection(
        "mi-lr",
        "Paper 004: the LR range test (Algorithm 2) over 0.01 - 0.3, then SGD with MIDecayLR (Algorithm 1) "
        "against Adam on 3,000 MNIST images, 3 epochs (a small version of iblearn reproduce mi-lr).",
        "Accuracies after 3 epochs on 3,000 images, far from the paper's 50 on 60,000 (99.27% and 99.53%). "
        "The candidates stop at 0.3, as the range the full run found ([0.003, 0.3]): with 1.0 among them the "
        "test took lr_max = 1, where training accuracy stayed at 10%, and MIDecayLR, which sets the LR in "
        "[lr_min, lr_max] from how far I(T;Y) is from I(X;Y), raised it to 0.21 after epoch 1 and test "
        "accuracy fell to 19%. With these candidates it ended 1.4 points below Adam (86.6 against 88.0), "
        "as at 10 epochs on 20,000 images (97.89 against 98.94; the paper: 99.27 against 99.53; "
        "docs/results/mi-lr.md).",
        "records, mi_lr.png and the range test's lr_range-mnist-lenet5.png",
    ),
    "mole": DemoSection(
        "mole",
        "Paper 001: MOLE, each module of a CNN trained alone on its own MI objective (matrix-based Renyi "
        "estimator), against backpropagation of the same net, on 5,000 MNIST images, 2 epochs (a small "
        "version of iblearn reproduce mole).",
        "Two epochs on 5,000 images are about 80 updates: backpropagation is far from converged, and MOLE, "
        "whose modules each settle on their own objective sooner, can land above it, where the paper has it "
        "4.6 points below. The gap opens with longer training on more data (ours, matrix-based: -1.02 points "
        "on 10,000 images at 5 epochs, -4.31 on all 60,000; docs/results/mole.md).",
        "records and the t-SNE of every module, tsne-mnist-*.png",
    ),
    "layerwise-ib": DemoSection(
        "layerwise-ib",
        "Paper 002: an MLP trained layer by layer on I(Y;L) - beta I(X;L+eps) (MINE and AA-MINE), then a "
        "post-trained linear layer, against cross-entropy end to end, on 1% of MNIST (600 images; a small "
        "version of iblearn reproduce layerwise-ib).",
        "120 updates per layer and one seed: the accuracies land near the paper's 1% column, but their "
        "order can change from seed to seed; the full protocol (2,400 updates per layer, 3 seeds) puts both "
        "layer-wise objectives above cross-entropy (+3.80 and +1.32 points at 1%; "
        "docs/results/layerwise-ib.md).",
        "records and the t-SNE of Fig. 3, fig3-tsne.png",
    ),
    "ib-theory": DemoSection(
        "ib-theory",
        "Paper 003: the IB functional of a deterministic net is infinite or piecewise constant; its "
        "decision-rule, noisy and stochastic forms are not. Exact values for the toy nets of Figs. 1-3, eq. "
        "(5) against KSG, and information planes of a small MLP on 1,000 MNIST images, 8 epochs (a small "
        "version of iblearn reproduce ib-theory).",
        "The toy nets' values are exact, so they hold at any scale. The information planes are ours (paper "
        "003 has no experiment), 8 epochs on 1,000 images: I(X;T) of a deterministic layer is infinite, so "
        "the 'compression' each plane shows is its estimator's (binning, KSG, noisy), not the net's "
        "(100 epochs on 10,000 images: docs/results/ib-theory.md).",
        "records, fig1_grid.png and the information planes plane_*.png",
    ),
}


def _demo_config(name: str) -> Any:
    """The experiment's ``Config.demo()``, or None for its ``--quick`` preset (estimators)."""
    import importlib

    module = importlib.import_module(f"iblearn.experiments.{name.replace('-', '_')}")
    config = getattr(module, "Config", None)
    return config.demo() if config is not None and hasattr(config, "demo") else None


def _run_demo_section(section: DemoSection, out_dir: Path) -> Path:
    """Runs one section with a progress bar and prints its table and what the numbers mean."""
    from iblearn.experiments import REPRODUCTIONS, ReproduceOptions

    out.print(escape(section.intro))  # escape: "[lr_min, lr_max]" would be read as rich markup
    with progress_bar(None, section.reproduction) as step:
        options = ReproduceOptions(out=out_dir, progress=step, planned=step.planned)
        path = REPRODUCTIONS[section.reproduction](options, _demo_config(section.reproduction))
    if section.reproduction == "estimators":
        summary = json.loads((path / "results.json").read_text(encoding="utf-8"))["summary"]
        out.print(_summary_table(summary, "Estimates in nats (bias: mean - truth)"))
    else:
        out.print(Markdown((path / "table.md").read_text(encoding="utf-8")))
    out.print(f"[bold]What it means:[/bold] {escape(section.meaning)}")
    out.print(f"[dim]{section.files}: {path}[/dim]")
    return path


def cmd_demo(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    done: list[tuple[str, Path, float]] = []
    for name in [args.only] if args.only else DEMO_SECTIONS:
        out.rule(f"[bold]iblearn demo: {name}[/bold]")
        section = time.perf_counter()
        path = _run_demo_section(DEMO_SECTIONS[name], Path(args.out) / name)
        done.append((name, path, time.perf_counter() - section))
        out.print(f"[dim]{name}: {done[-1][2]:.0f} s[/dim]")
    out.rule("[bold]iblearn demo: summary[/bold]")
    table = Table(box=box.SIMPLE_HEAD)
    for col in ("section", "seconds", "folder", "pictures"):
        table.add_column(col, justify="right" if col == "seconds" else "left")
    for name, path, seconds in done:
        pictures = ", ".join(sorted(p.name for p in path.glob("*.png"))) or "-"
        table.add_row(name, f"{seconds:.0f}", str(path), pictures)
    out.print(table)
    out.print(
        f"Each folder holds config.json, metrics.csv, results.json and table.md. Demo finished in "
        f"{time.perf_counter() - start:.0f} s. The full reproductions: iblearn reproduce NAME --full "
        "(iblearn reproduce --help lists them)."
    )
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
            planned=step.planned,
        )
        path = REPRODUCTIONS[args.name](options)
    table = path / "table.md"
    if table.exists():
        out.print(Markdown(table.read_text(encoding="utf-8")))
    out.print(f"[dim]records: {path}[/dim]")
    return 0


def build_parser() -> argparse.ArgumentParser:
    threads_help = (
        "CPU threads for torch, BLAS and OpenMP (default 1: iblearn's jobs are many small operations, "
        "which one thread runs fastest, above all on shared cores; see iblearn._threads)"
    )
    # --threads is accepted before the command and after it; SUPPRESS keeps a subcommand's parser from
    # overwriting the value given before it with its own default.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--threads", type=int, default=argparse.SUPPRESS, help=threads_help)
    parser = argparse.ArgumentParser(prog="iblearn", description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help=threads_help)
    sub = parser.add_subparsers(dest="command", required=True)

    est = sub.add_parser(
        "estimate",
        parents=[common],
        help="estimate I(X;Y) from sample files (rows are samples)",
        description="Estimate I(X;Y). Rows are samples. X and Y may be two files, or one CSV with "
        "--y-cols (and --x-cols) naming columns, e.g. iblearn estimate data.csv --y-cols label",
    )
    est.add_argument("x", metavar="X", help="samples of X: .npy, .csv, .txt or .pt")
    est.add_argument(
        "y",
        metavar="Y",
        nargs="?",
        default=None,
        help="samples of Y (integer labels or class names for mixed_ksg); leave out to take --y-cols from X",
    )
    est.add_argument(
        "--x-cols",
        metavar="COLS",
        default=None,
        help="X's columns, by header name or 0-based index, comma-separated (default: all, or all but "
        "--y-cols when X and Y share the file); a CSV's header line is detected",
    )
    est.add_argument("--y-cols", metavar="COLS", default=None, help="Y's columns, as --x-cols")
    est.add_argument(
        "--method",
        default="ksg",
        help="estimator, by registry or class name in any case: ksg, mixed_ksg, binning, gaussian, renyi; "
        "or a neural one (mine, mine_f, nwj, js, infonce), whose critic is trained on part of the rows and "
        "reports on the rest",
    )
    est.add_argument("--json", action="store_true", help="print one JSON object instead of text")
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

    demo = sub.add_parser("demo", parents=[common], help=DEMO_HELP, description=DEMO_HELP)
    demo.add_argument("--out", default="runs/demo", help="where the run records go")
    demo.add_argument("--only", choices=list(DEMO_SECTIONS), default=None, help="run one section")
    demo.set_defaults(func=cmd_demo)

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

    rep = sub.add_parser(
        "reproduce",
        parents=[common],
        help="run a reproduction and write its run folder",
        epilog="reproductions:\n" + "\n".join(f"  {k:<14}{v}" for k, v in REPRODUCTION_NAMES.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rep.add_argument("name", metavar="NAME", help="which reproduction (listed below)")
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
