"""``iblearn estimate``: I(X;Y), I(X;Y|Z), transfer entropy, entropy, active information storage or a
measure among many variables, from sample files. The command reads the columns, builds one call of
:func:`iblearn.estimate` (which chooses, fits, checks and refuses) and prints what it returns."""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import time
from functools import partial
from typing import Any

from rich.markup import escape

from iblearn.cli import estimate_many, estimate_options
from iblearn.cli.console import Subparsers, out, progress_bar
from iblearn.cli.inputs import Samples, codes_or_values, label_codes, load_samples, read_variables, x_values
from iblearn.cli.json_out import exit_code, nonfinite_estimate, strict


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    """The command's parser under ``sub``, with the options of ``common``."""
    estimate_options.add_parser(sub, common, cmd_estimate)


#: The front door's names of variables and options, as a user of the command gives them.
_OPTION_NAMES = {
    **dict.fromkeys(("x", "source", "series", "labels"), "X"),
    **dict.fromkeys(("y", "target"), "Y"),
    **dict.fromkeys(("z", "condition"), "--cond"),
    **estimate_options.FLAGS,
    "method": "--method",
}
#: What each measure's estimate prints as.
_QUANTITIES = {"mi": "I(X;Y)", "cmi": "I(X;Y|Z)", "te": "TE(X -> Y)", "entropy": "H(X)", "ais": "A(X)"}


def cmd_estimate(args: argparse.Namespace) -> int:
    from iblearn.estimation import MEASURES, estimate, with_names

    if args.measure in ("mi", "cmi"):  # the front door's names of I(X;Y) and I(X;Y|Z): --cond says which
        if args.groups is not None:
            raise ValueError(f"--groups: not with --measure {args.measure}, whose variables are X and Y")
        if args.measure == "cmi" and args.cond is None:
            raise ValueError("--measure cmi: I(X;Y|Z) needs Z: give it with --cond")
        if args.measure == "mi" and args.cond is not None:
            raise ValueError("--measure mi: I(X;Y) takes no --cond; I(X;Y|Z) is --measure cmi")
        args.measure = None
    if args.measure not in ("te", "ais") and args.history is not None:
        raise ValueError("--history: only with --measure te or ais")
    if args.measure != "te" and args.lag is not None:
        raise ValueError("--lag: only with --measure te")
    if args.measure not in (None, "te", "entropy", "ais") or args.groups is not None:
        if args.measure is None:
            raise ValueError("--groups: names the variables of a --measure; give --measure too")
        return estimate_many.cmd_measure(args)
    if not args.max_mb > 0:
        raise ValueError(f"--max-mb: expected a positive number, got {args.max_mb}")
    for key in dict(args.option or []):
        if estimate_options.has_default(key):  # the option's value, given or not, is the one passed
            raise ValueError(f"--option: {key} is set by {estimate_options.FLAGS[key]}; give it there")
    flags = {k: v for k, v in (("k", args.k), ("base", args.base)) if v is not None}
    for key, value in dict(args.option or []).items():
        if key in flags and value != flags[key]:
            raise ValueError(f"--option: {key}={value!r} and --{key} {flags[key]} disagree; give one")
    given = dict(args.option or []) | flags
    build = _one_variable if args.measure in ("entropy", "ais") else _two_variables
    start, training = time.perf_counter(), {"done": 0}
    with contextlib.ExitStack() as bar:
        try:
            measure, variables, method, options, read = build(args, given)
            if measure == "mi" and method != "auto":  # a critic's training shows its progress
                options["progress"] = partial(_progress, bar, _steps(args), training)
            result = estimate(measure, *variables, method=method, **options, seed=args.seed)
        except ValueError as err:
            raise _flagged(err, args) from err
    # The header's names of the columns name the variables, as a frame's columns do in Python.
    keys = MEASURES[measure].variables
    result = with_names(result, {k: s.names for k, s in zip(keys, read, strict=False) if s.names})
    seconds = time.perf_counter() - start
    if args.json:
        print(json.dumps(strict(result.to_dict()), default=str, allow_nan=False))
        return exit_code(float(result), _QUANTITIES[measure])
    if why := nonfinite_estimate(float(result), _QUANTITIES[measure]):
        raise ValueError(why)
    out.print(escape(result.describe()))
    shown = [result.method, *(f"{k}={_shown(v)}" for k, v in given.items())]
    shown += [f"seed={args.seed}"] if args.seed else []
    out.print(f"[dim]{escape(', '.join(shown))}; N = {result.n_samples}; {seconds:.3f} s[/dim]")
    if split := result.report.split:
        out.print(
            f"[dim]critic trained on {split['train']} standardized rows, {split['validation']} more held "
            f"out to keep its best step ({training['done']} of at most {_steps(args)}); the estimate is on "
            f"the other {split['test']}[/dim]"
        )
    return 0


#: A call of the front door: the measure, its variables, the method, the options, and the samples read
#: for the variables (their header names name them).
_Call = tuple[str, tuple[Any, ...], str, Any, tuple[Samples, ...]]


def _two_variables(args: argparse.Namespace, given: dict[str, Any]) -> _Call:
    """The call for X and Y: I(X;Y), I(X;Y|Z) with ``--cond``, or the transfer entropy X -> Y."""
    from iblearn.estimation.split import method_name, takes_labels

    if args.y is None and args.y_cols is None:
        raise ValueError("Y: give a second file, or --y-cols to take Y from X's file")
    x, y, z = read_variables(args)
    method = "auto" if args.method is None or args.method.lower() == "auto" else args.method
    named = estimate_options.given(n_resamples=args.resamples, n_permutations=args.permutations)
    if args.measure == "te":
        options = given | {"lag": _or_one(args.lag), "history": _or_one(args.history)}
        options |= ({} if z is None else {"condition": z.values}) | _series_named(method, named)
        return "te", (x.values, y.values), method.lower(), options, (x, y)
    if method == "auto" and (given or args.resamples or args.permutations) and args.method is None:
        method = "ksg or mixed_ksg"  # options only a named estimator reads
    elif method != "auto":
        method = method_name(method)
    kind = args.y_type
    labelled = ("mixed_ksg", "gaussian_classes", "quadratic_classes")
    if kind == "auto" and (method in labelled or "y_classes" in given):  # labels
        kind = "labels"
    codes = label_codes(y, kind)
    variables: tuple[Any, ...] = (x_values(x, method), y.values if codes is None else codes)
    if z is not None:
        variables += (codes_or_values(z),)
    read = (x, y) if z is None else (x, y, z)
    if method == "auto":
        return ("mi", "cmi")[z is not None], variables, method, given, read
    if method == "ksg or mixed_ksg":
        method = "ksg" if codes is None else "mixed_ksg"
    if codes is not None and not takes_labels(method):
        where = f"column {y.columns[0]}" if len(y.columns) == 1 else repr(args.y or args.x)
        raise ValueError(
            f"{'--y-cols' if args.y_cols else 'Y'}: {where} holds {int(codes.max()) + 1} class labels, "
            f"which {method} reads as continuous numbers: use --method mixed_ksg, gaussian_classes or "
            "quadratic_classes (or a neural critic that takes labels: mine, infonce, ...), or --y-type "
            "continuous where the numbers are quantities"
        )
    if z is not None:
        return "cmi", variables, method, given | named, read
    neural = estimate_options.given(test=args.test_fraction, steps=args.steps, batch_size=args.batch_size)
    return "mi", variables, method, given | named | neural, read


def _one_variable(args: argparse.Namespace, given: dict[str, Any]) -> _Call:
    """The call for X alone: the entropy of its class labels (a row of several columns is one outcome),
    or the active information storage of the series X."""
    import numpy as np

    for option, value in (("Y", args.y), ("--y-cols", args.y_cols), ("--cond", args.cond)):
        if value is not None:
            raise ValueError(f"{option}: --measure {args.measure} takes one variable, X")
    x = load_samples(args.x, "X", args.x_cols, max_mb=args.max_mb)
    values = x.values
    method = "auto" if args.method is None else args.method.lower()
    options = dict(given)
    if args.measure == "ais":
        options["history"] = _or_one(args.history)
        named = estimate_options.given(n_resamples=args.resamples, n_permutations=args.permutations)
    else:
        if isinstance(values, np.ndarray) and values.dtype.kind == "f":
            if not np.array_equal(values, np.round(values)):
                raise ValueError(
                    "X: --measure entropy takes class labels (integers or names); X holds other numbers"
                )
            # Each column's values as their ranks: a cast to int64 would wrap those beyond 2^63 into one.
            columns = values.reshape(len(values), -1).T
            codes = [np.unique(c, return_inverse=True)[1].reshape(-1) for c in columns]
            values = np.stack(codes, axis=1).reshape(values.shape).astype(np.int64)
        named = estimate_options.given(n_resamples=args.resamples)
    if args.measure == "ais":
        return "ais", (values,), method, options | _series_named(method, named), (x,)
    return args.measure, (values,), method, options | ({} if method == "auto" else named), (x,)


def _series_named(method: str, named: dict[str, int]) -> dict[str, int]:
    """The resampling options a series measure's ``method`` takes: all of ``named`` for a named
    method; the permutations alone for auto, which draws its own resamples (``--resamples`` refused)."""
    if method != "auto":
        return named
    if named.get("n_resamples"):
        raise ValueError(
            "--resamples: the automatic method draws its own resamples (blocks of the series); "
            "name a method (--method ksg, gaussian or copula) to set their number"
        )
    return estimate_options.given(n_permutations=named.get("n_permutations"))


def _steps(args: argparse.Namespace) -> int:
    """The critic's training steps at most: ``--steps``, else the front door's."""
    from iblearn.estimation.split import STEPS

    return STEPS if args.steps is None else args.steps


def _or_one(value: int | None) -> int:
    """An option of the series (``--lag``, ``--history``), 1 where not given; a 0 given is passed on, to
    be refused naming it."""
    return 1 if value is None else value


def _progress(
    bar: contextlib.ExitStack, total: int, training: dict[str, Any], done: int, loss: float
) -> None:
    """One step of a critic's training on the progress bar, opened at its first step."""
    if "step" not in training:
        training["step"] = bar.enter_context(progress_bar(total, "critic"))
    training["done"] = done
    training["step"](f"loss {loss:.3f}")


def _flagged(err: ValueError, args: argparse.Namespace) -> ValueError:
    """The front door's message, naming the command's own option or argument where it names a variable
    or setting (``--k``, ``--option n_bins``, ``Y``)."""
    setting, _, rest = str(err).partition(":")
    # The front door's names of the variables where a message lists them ("x has 300", "x is 5 x 2000"),
    # as the command's.
    rest = re.sub(r"\b(\w+) (has|is \d+ x)", lambda m: f"{_OPTION_NAMES.get(m[1], m[1])} {m[2]}", rest)
    if setting == "sample counts differ":
        return ValueError(f"{setting}:{rest}")
    if setting in dict(args.option or []):
        return ValueError(f"--option {setting}:{rest}")
    return ValueError(f"{_OPTION_NAMES[setting]}:{rest}") if setting in _OPTION_NAMES else err


def _shown(value: Any) -> str:
    """A setting as a user would write it: 2 for 2.0, [64] for (64,)."""
    if isinstance(value, float):
        return f"{value:g}"
    return json.dumps(value) if isinstance(value, list | dict) else str(value)
