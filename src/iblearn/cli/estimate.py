"""``iblearn estimate``: I(X;Y), I(X;Y|Z), transfer entropy, entropy, active information storage or a
measure among many variables, from sample
files, through :func:`iblearn.estimation.estimate` (the command reads files and prints; the front door
chooses, checks and refuses)."""

from __future__ import annotations

import argparse
import json
import time
from functools import partial
from pathlib import Path
from typing import Any

from rich.markup import escape

from iblearn.cli import estimate_many
from iblearn.cli.console import Subparsers, out, progress_bar
from iblearn.cli.estimate_method import estimator_name, fit_method, label_codes, x_values
from iblearn.cli.inputs import COLUMNS_RULE, MAX_MB, SAMPLE_SUFFIXES, Samples, key_value, load_samples
from iblearn.cli.json_out import exit_code, nonfinite_estimate, strict

_DESCRIPTION = (
    "Estimate I(X;Y). Rows are samples. X and Y may be two files, or one CSV with "
    "--y-cols (and --x-cols) naming columns, e.g. iblearn estimate data.csv --y-cols label; or, with "
    "--measure, information among groups of one file's columns, e.g. --measure o_information "
    '--groups "a,b;c;d"'
)

# The command's own options, in the order --help lists them: (flags, keyword arguments of add_argument).
_ARGUMENTS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("x",), {"metavar": "X", "help": "samples of X: .npy, .csv, .txt or .pt"}),
    (
        ("y",),
        {
            "metavar": "Y",
            "nargs": "?",
            "default": None,
            "help": "samples of Y (integer labels or class names for mixed_ksg); leave out to take --y-cols "
            "from X",
        },
    ),
    (
        ("--x-cols",),
        {
            "metavar": "COLS",
            "default": None,
            "help": f"X's {COLUMNS_RULE} (default: all, or all that --y-cols and --cond leave when they "
            "share X's file); a CSV's header line is detected",
        },
    ),
    (("--y-cols",), {"metavar": "COLS", "default": None, "help": "Y's columns, as --x-cols"}),
    (
        ("--method",),
        {
            "default": None,
            "help": "estimator, by registry or class name in any case: ksg, mixed_ksg, binning, gaussian, "
            "renyi; or a neural one (mine, mine_f, nwj, js, infonce, ...), whose critic is trained on part "
            "of the rows and reports on the rest; or auto: chosen from the data and checked (default: "
            "mixed_ksg where Y is class labels, else auto; ksg where --k, --option, --resamples, "
            "--permutations or --cond is given)",
        },
    ),
    (
        ("--y-type",),
        {
            "choices": ("auto", "labels", "continuous"),
            "default": "auto",
            "help": "what Y is; auto: class labels where Y is one column of names, of integers (.npy), or "
            "of integral numbers with few distinct values, each on 2 rows or more on average (at most 20: "
            "iblearn.functional.class_codes)",
        },
    ),
    (("--json",), {"action": "store_true", "help": "print one JSON object instead of text"}),
    (
        ("--cond",),
        {
            "metavar": "Z",
            "default": None,
            "help": "samples of Z, a file or columns of X's file (as --x-cols): estimate I(X;Y|Z) instead "
            "(auto by default; ksg, gaussian); Z of class labels is a discrete condition, and "
            "--permutations then tests conditional independence; with --measure te, series the transfer "
            "is conditioned on",
        },
    ),
    (("--lag",), {"type": int, "default": None, "help": "--measure te: the source's lag (default 1)"}),
    (
        ("--history",),
        {
            "type": int,
            "default": None,
            "help": "--measure te: past target steps conditioned on; ais: past steps of X (default 1)",
        },
    ),
    (("--k",), {"type": int, "default": None, "help": "neighbours, for ksg and mixed_ksg"}),
    (("--base",), {"type": float, "default": None, "help": "logarithm base: 2 for bits (default: nats)"}),
    (("--resamples",), {"type": int, "default": 0, "help": "resamples for a standard error"}),
    (("--permutations",), {"type": int, "default": 0, "help": "permutations for an independence p-value"}),
    (
        ("--seed",),
        {"type": int, "default": 0, "help": "seeds the estimator, resampling and permutations (default 0)"},
    ),
    (("--steps",), {"type": int, "default": 2000, "help": "neural estimators: critic training steps"}),
    (("--batch-size",), {"type": int, "default": 256, "help": "neural estimators: rows per step"}),
    (
        ("--test-fraction",),
        {
            "type": float,
            "default": 0.2,
            "help": "neural estimators: share of the rows held out for the estimate (default 0.2)",
        },
    ),
    (
        ("--max-mb",),
        {
            "type": float,
            "default": MAX_MB,
            "help": f"refuse sample files larger than this many megabytes (default {MAX_MB:g}); a table "
            "takes about 8 bytes a number in memory",
        },
    ),
    (
        ("--option",),
        {
            "type": key_value,
            "action": "append",
            "metavar": "KEY=VALUE",
            "help": "any other estimator setting, e.g. --option n_bins=20",
        },
    ),
)


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    """The command's parser under ``sub``, with the options of ``common``."""
    est = sub.add_parser(
        "estimate",
        parents=[common],
        help="estimate I(X;Y) from sample files (rows are samples)",
        description=_DESCRIPTION,
    )
    for flags, settings in _ARGUMENTS:
        est.add_argument(*flags, **settings)
    estimate_many.add_arguments(est)
    est.set_defaults(func=cmd_estimate)


def cmd_estimate(args: argparse.Namespace) -> int:
    from iblearn.estimators import get_estimator

    if args.seed < 0:  # one rule for every measure
        raise ValueError(f"--seed: expected a non-negative integer, got {args.seed}")
    if args.measure not in ("te", "ais") and args.history is not None:
        raise ValueError("--history: only with --measure te or ais")
    if args.measure != "te" and args.lag is not None:
        raise ValueError("--lag: only with --measure te")
    if args.measure == "te":
        return _estimate_series(args)
    if args.measure in ("entropy", "ais"):
        return _estimate_one(args)
    if args.measure is not None or args.groups is not None:
        if args.measure is None:
            raise ValueError("--groups: names the variables of a --measure; give --measure too")
        return estimate_many.cmd_measure(args)
    if not args.max_mb > 0:
        raise ValueError(f"--max-mb: expected a positive number, got {args.max_mb}")
    if args.y is None and args.y_cols is None:
        raise ValueError("Y: give a second file, or --y-cols to take Y from X's file")
    given = dict(args.option or [])
    if args.k is not None:
        given["k"] = args.k
    if args.base is not None:
        given["base"] = args.base
    method = estimator_name(args.method) if args.method is not None else None
    x, y, z = _read_samples(args)
    plain = not (given or args.resamples or args.permutations)  # nothing only ksg reads
    auto = method == "auto" or (method is None and plain)
    xv = x_values(x, "auto" if auto else method or "ksg or mixed_ksg")
    if auto:  # labels on either side too: the automatic estimate takes them, with its checks
        codes = label_codes(y, args.y_type)
        return _estimate_auto(xv, y.values if codes is None else codes, z, given, args)
    method, y, settings = fit_method(method, x, y, given, args)
    est = get_estimator(method, **settings)
    start = time.perf_counter()
    trained = ""
    quantity = "I(X;Y)"
    if z is not None:
        result = _estimate_conditional(est, x.values, y, z, method, args)
        quantity = "I(X;Y|Z)"
    else:
        xv = x.values
        if est.trainable:
            xv, y, trained = _fit_on_split(est, xv, y, args)
        result = est(xv, y, n_resamples=args.resamples, n_permutations=args.permutations, seed=args.seed)
    shown = ", ".join(f"{k}={_shown(v)}" for k, v in settings.items())
    return _print_result(result, quantity, time.perf_counter() - start, args, shown, trained)


def _shown(value: Any) -> str:
    """A setting as a user would write it: 2 for 2.0, [64] for (64,)."""
    if isinstance(value, float):
        return f"{value:g}"
    return json.dumps(value) if isinstance(value, list | dict) else str(value)


def _read_samples(args: argparse.Namespace) -> tuple[Samples, Samples, Samples | None]:
    """X, Y and Z (None without --cond) from their files; --y-cols and --cond columns of X's file are
    not X's unless --x-cols says so."""
    cond_cols = args.cond if args.cond is not None and not _names_a_file(args.cond) else None
    exclude = []
    if args.x_cols is None:
        if args.y is None:
            exclude.append((args.y_cols, "--y-cols"))
        if cond_cols is not None:
            exclude.append((cond_cols, "--cond"))
    load = partial(load_samples, max_mb=args.max_mb)
    x = load(args.x, "X", args.x_cols, exclude=exclude)
    y = load(args.y or args.x, "Y", args.y_cols)
    if args.cond is None:
        return x, y, None
    z = load(args.x, "--cond", cond_cols) if cond_cols is not None else load(args.cond, "--cond")
    return x, y, z


def _names_a_file(text: str) -> bool:
    """Whether ``--cond`` names a file (else it names columns of X's file)."""
    return Path(text).is_file() or Path(text).suffix in SAMPLE_SUFFIXES


def _estimate_auto(x: Any, y: Any, z: Samples | None, given: dict[str, Any], args: argparse.Namespace) -> int:
    """``estimate`` by ``method="auto"``: :func:`iblearn.estimation.estimate` of MI, or of CMI with
    ``--cond``."""
    from iblearn.estimation import estimate

    start = time.perf_counter()
    try:
        if z is None:
            result, quantity = estimate("mi", x, y, seed=args.seed, **given), "I(X;Y)"
        else:
            result, quantity = estimate("cmi", x, y, _condition(z), seed=args.seed, **given), "I(X;Y|Z)"
    except ValueError as err:
        raise _flagged(err, given, args) from err
    return _print_result(result, quantity, time.perf_counter() - start, args)


def _flagged(err: ValueError, given: dict[str, Any], args: argparse.Namespace) -> ValueError:
    """The front door's message naming a setting, with the option that gave it (``--option n_bins``)."""
    setting, _, rest = str(err).partition(":")
    if setting in dict(args.option or []):
        return ValueError(f"--option {setting}:{rest}")
    return ValueError(f"--{setting}:{rest}") if setting in given else err


def _print_result(
    result: Any,
    quantity: str,
    seconds: float,
    args: argparse.Namespace,
    settings: str = "",
    trained: str = "",
) -> int:
    """What :func:`iblearn.estimation.estimate` or a named estimator returned: its own record (``--json``:
    ``to_dict()``), or its own description, then the settings and the time it took."""
    if args.json:
        print(json.dumps(strict(result.to_dict()), default=str, allow_nan=False))
        return exit_code(float(result), quantity)
    if why := nonfinite_estimate(float(result), quantity):
        raise ValueError(why)
    out.print(escape(result.describe()))
    shown = ", ".join(
        part for part in (result.method, settings, f"seed={args.seed}" if args.seed else "") if part
    )
    out.print(f"[dim]{escape(shown)}; N = {result.n_samples}; {seconds:.3f} s[/dim]")
    if trained:
        out.print(f"[dim]{trained}[/dim]")
    return 0


def _condition(z: Samples) -> Any:
    """Z as the estimate takes it: integer codes where it is class labels (a discrete condition)."""
    codes = label_codes(z, "auto")
    return codes if codes is not None else z.values


def _estimate_series(args: argparse.Namespace) -> int:
    """``estimate X Y --measure te``: transfer entropy from the series X to the series Y (rows are time
    steps), given the series of ``--cond``; auto by default, or ``--method ksg`` with ``--resamples``
    and ``--permutations``."""
    from iblearn.estimation import estimate

    if args.y is None and args.y_cols is None:
        raise ValueError("Y: the target series: give a second file, or --y-cols to take it from X's file")
    x, y, z = _read_samples(args)
    given = dict(args.option or [])
    if args.k is not None:
        given["k"] = args.k
    given["lag"] = 1 if args.lag is None else args.lag
    given["history"] = 1 if args.history is None else args.history
    method = "auto" if args.method is None else args.method.lower()
    if method != "auto":
        given |= {"n_resamples": args.resamples, "n_permutations": args.permutations}
    condition = None if z is None else z.values
    start = time.perf_counter()
    try:
        given["seed"] = args.seed
        result = estimate("te", x.values, y.values, method=method, condition=condition, **given)
    except ValueError as err:
        raise _flagged(err, given, args) from err
    return _print_result(result, "TE(X -> Y)", time.perf_counter() - start, args)


#: What ``--measure entropy`` and ``ais`` print as.
_ONE_VARIABLE = {"entropy": "H(X)", "ais": "A(X)"}


def _estimate_one(args: argparse.Namespace) -> int:
    """``estimate X --measure entropy``: H(X) of X's class labels (a row of several columns is one
    outcome); ``--measure ais``: the active information storage of the series X (rows are time steps,
    ``--history`` past steps). Auto by default, or a named method (a discrete estimator for the
    entropy: nsb, cwj, plugin, ...; ksg, gaussian or copula for the storage) with ``--resamples``."""
    import numpy as np

    from iblearn.estimation import estimate

    for option, value in (("Y", args.y), ("--y-cols", args.y_cols), ("--cond", args.cond)):
        if value is not None:
            raise ValueError(f"{option}: --measure {args.measure} takes one variable, X")
    x = load_samples(args.x, "X", args.x_cols, max_mb=args.max_mb)
    values = x.values
    given = dict(args.option or [])
    method = "auto" if args.method is None else args.method.lower()
    if args.measure == "entropy":
        if isinstance(values, np.ndarray) and values.dtype.kind == "f":
            if not np.array_equal(values, np.round(values)):
                raise ValueError(
                    "X: --measure entropy takes class labels (integers or names); X holds other numbers"
                )
            values = values.astype(np.int64)
        if method != "auto":
            given["n_resamples"] = args.resamples or 200
    else:
        if args.k is not None:
            given["k"] = args.k
        given["history"] = 1 if args.history is None else args.history
        if method != "auto":
            given |= {"n_resamples": args.resamples, "n_permutations": args.permutations}
    given["seed"] = args.seed
    start = time.perf_counter()
    try:
        result = estimate(args.measure, values, method=method, **given)
    except ValueError as err:
        raise _flagged(err, given, args) from err
    return _print_result(result, _ONE_VARIABLE[args.measure], time.perf_counter() - start, args)


def _estimate_conditional(est: Any, x: Any, y: Any, z: Samples, method: str, args: argparse.Namespace) -> Any:
    """``estimate X Y --cond Z``: I(X;Y|Z), with a p-value for conditional independence (local
    permutations of X in Z, Runge 2018) instead of one for independence. Z of class labels (one column
    of names or integers, as Y's labels are told) is a discrete condition."""
    from iblearn.estimators.conditional import Conditional

    if not isinstance(est, Conditional):
        raise ValueError(f"--cond: {method} does not estimate conditional MI; use ksg or gaussian")
    codes = label_codes(z, "auto")
    zv = codes if codes is not None else z.values
    return est(x, y, z=zv, n_resamples=args.resamples, n_permutations=args.permutations, seed=args.seed)


def _fit_on_split(est: Any, x: Any, y: Any, args: argparse.Namespace) -> tuple[Any, Any, str]:
    """Trains a neural estimator's critic on a random ``1 - test_fraction`` of the rows, stopping early
    on a validation share of them, and returns the held-out rest, to report on: a bound evaluated on the
    rows its critic was fitted to rewards memorizing them, and is no bound
    (:func:`iblearn.estimation.split.fit_on_split`, what :func:`iblearn.estimate_mi` does)."""
    import torch

    from iblearn.estimation.split import fit_on_split

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
