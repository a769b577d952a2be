"""``iblearn estimate``: I(X;Y), or I(X;Y|Z), from sample files."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from iblearn.cli.console import Subparsers, out, progress_bar
from iblearn.cli.inputs import _load, _option


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    """The command's parser under ``sub``, with the options of ``common``."""
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
