"""``iblearn estimate X --measure NAME``: information among many variables, each a group of X's columns."""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from typing import Any

from rich.markup import escape

from iblearn._measures import MEASURE_TABLE
from iblearn._settings import SETTINGS
from iblearn.cli import estimate_options
from iblearn.cli.console import out
from iblearn.cli.inputs import Samples, load_samples, regular_file
from iblearn.cli.json_out import exit_code, nonfinite_estimate, strict

#: ``--measure``'s names and what they print as.
MEASURES = {name: spec.label for name, spec in MEASURE_TABLE.items()} | {"pid": "I(X1, X2; T)"}
#: Estimate options that have no meaning for a measure among many variables.
_ONE_PAIR_ONLY = ("y", "y_cols", "cond")


def cmd_measure(args: argparse.Namespace) -> int:
    """``estimate X --measure NAME``: the measure through :func:`iblearn.estimation.estimate`: chosen and
    checked (``auto``), or a named method with a standard error (``--resamples``) and a permutation p-value
    (``--permutations``)."""
    import torch

    from iblearn.estimation import estimate
    from iblearn.functional.inference import unit_name

    for name in _ONE_PAIR_ONLY:
        if getattr(args, name) is not None:
            option = "Y" if name == "y" else f"--{name.replace('_', '-')}"
            raise ValueError(
                f"{option}: --measure takes its variables from X's columns (--groups), not a Y or Z"
            )
    if args.groups is None and args.measure == "pid":
        raise ValueError("--groups: pid needs three groups of columns: two sources, then the target")
    # What only a named method reads; auto reports nats, so --base asks for a named method too.
    named = args.option or args.resamples or args.permutations or args.base is not None
    method = (args.method or ("ksg" if named else "auto")).lower()
    if not args.max_mb > 0:
        raise ValueError(f"--max-mb: expected a positive number, got {args.max_mb}")
    base = math.e if args.base is None else SETTINGS["base"].check(args.base, "--base")
    x, blocks, labels = _read_groups(args)
    values = torch.as_tensor(x.values, dtype=torch.float64)
    options = _options(args, method)
    method = options["method"]
    if method == "auto" and args.base is not None:
        raise ValueError(
            "--base: not an option of method auto, which reports nats; name ksg, gaussian or copula"
        )
    given = {k: v for k, v in options.items() if k != "method"}
    if method == "auto":  # auto takes its own resamples, and no permutations
        given = {k: given[k] for k in ("k", "seed")}
    start = time.perf_counter()
    try:
        if args.measure == "pid":
            if len(blocks) != 3:
                raise ValueError(
                    f"--groups: pid takes 3 groups (two sources, then the target), got {len(blocks)}"
                )
            parts = estimate("pid", *(values[:, b] for b in blocks), method=method, **given)
        else:
            parts = {args.measure: estimate(args.measure, values, blocks=blocks, method=method, **given)}
    except ValueError as err:
        raise _blamed(err, args, options, labels) from err
    seconds = time.perf_counter() - start
    scale, unit = 1 / math.log(base), unit_name(base)
    main = parts["total"] if args.measure == "pid" else parts[args.measure]
    if args.json and method == "auto":  # the result's own record (a part each for the PID)
        record = {k: v.to_dict() for k, v in parts.items()} if args.measure == "pid" else main.to_dict()
        print(json.dumps(strict(record), default=str, allow_nan=False))
        return exit_code(float(main), MEASURES[args.measure])
    if method == "auto" and not args.json:
        if why := nonfinite_estimate(float(main), MEASURES[args.measure]):
            raise ValueError(why)
        for est in parts.values() if args.measure == "pid" else (main,):
            out.print(escape(est.describe()))
        out.print(f"[dim]auto; N = {len(values)}; {seconds:.3f} s[/dim]")
        return 0
    if args.json:
        _print_json(args, parts, labels, options, unit, scale, seconds, len(values))
        return exit_code(float(main), MEASURES[args.measure])
    if why := nonfinite_estimate(float(main), MEASURES[args.measure]):
        raise ValueError(why)
    resamples = options.get("n_resamples", 0)
    out.print(_line(MEASURES[args.measure], main, unit, scale, resamples))
    if args.measure == "pid":
        for name in ("redundancy", "unique_1", "unique_2", "synergy"):
            out.print(_line(f"  {name}", parts[name], unit, scale, resamples))
    if main.p_value is not None:
        out.print(f"permutation test: {main.n_permutations} permutations; null: {main.null}")
    groups = " | ".join(",".join(g) for g in labels)
    shown = f"{method}, k={options['k']}" if method == "ksg" else method
    shown += f", seed={options['seed']}" if options["seed"] else ""
    out.print(f"[dim]{escape(shown)}; variables: {escape(groups)}; N = {len(values)}; {seconds:.3f} s[/dim]")
    return 0


#: Settings that have an option of their own, and what it is.
_FLAGS = {"method": "--method"} | {
    name: estimate_options.FLAGS[name] for name in ("k", "seed", "n_resamples", "n_permutations")
}


def _options(args: argparse.Namespace, method: str) -> dict[str, Any]:
    """The measure's keyword settings: ``--option``'s, and the flags' values where ``--option`` does
    not give them (the same setting given both ways, differently, is refused); which the measure
    takes, :func:`iblearn.estimation.estimate` says."""
    given = dict(args.option or [])
    flags = {"method": method, "k": 3 if args.k is None else args.k, "seed": args.seed}
    flags |= estimate_options.given(n_resamples=args.resamples, n_permutations=args.permutations)
    explicit = {"method": args.method, "k": args.k, "seed": args.seed or None}
    explicit |= {"n_resamples": args.resamples or None, "n_permutations": args.permutations or None}
    for key, value in given.items():
        if key in _FLAGS and explicit[key] is not None and explicit[key] != value:
            raise ValueError(
                f"--option: {key}={value!r} and {_FLAGS[key]} {explicit[key]} disagree; give one"
            )
    for key in ("measure", "blocks"):
        if key in given:
            raise ValueError(f"--option: {key} is not a setting; --measure and --groups give it")
    options = flags | given
    options["method"] = str(options["method"]).lower()
    return options


def _blamed(err: ValueError, args: argparse.Namespace, options: dict[str, Any], labels: Any) -> ValueError:
    """The measure's error, naming what the user gave: the option of a setting (``--k``,
    ``--option NAME``), else the variables (``--groups`` or X)."""
    setting, _, rest = str(err).partition(":")
    if setting in options and rest:
        flag = f"--option {setting}" if setting in dict(args.option or []) else _FLAGS.get(setting)
        if flag is not None:
            return ValueError(f"{flag}:{rest}")
    return ValueError(_named(str(err), labels, "--groups" if args.groups is not None else "X"))


def _line(name: str, est: Any, unit: str, scale: float, resamples: int) -> str:
    text = f"{name} = {float(est) * scale:.4f} {unit}"
    if est.stderr is not None:
        text += f" ± {est.stderr * scale:.4f} (standard error, {est.stderr_method}, {resamples} resamples)"
    if est.interval is not None:
        low, high = (v * scale for v in est.interval)
        text += f", {est.confidence:.0%} interval [{low:.4f}, {high:.4f}]"
    if est.p_value is not None:
        text += f", p = {est.p_value:.4g}"
    return text


def _read_groups(args: argparse.Namespace) -> tuple[Samples, list[list[int]], list[list[str]]]:
    """X's picked columns, the blocks of columns of each variable, and each variable's column labels."""
    regular_file(args.x, "X")
    if args.groups is None:
        x = load_samples(args.x, "X", args.x_cols, max_mb=args.max_mb)
        if getattr(x.values, "ndim", 0) == 1:
            raise ValueError("X: one column is one variable; --measure needs at least 2")
        width = x.values.shape[1]
        labels = [[c] for c in x.columns] or [[str(j)] for j in range(width)]
        return _numbers(x, "X"), [[j] for j in range(width)], labels
    if args.x_cols is not None:
        raise ValueError("--x-cols: --groups names the columns of every variable; give one or the other")
    groups = [[t.strip() for t in g.split(",")] for g in args.groups.split(";")]
    if any(not t for g in groups for t in g):
        raise ValueError(f"--groups: an empty group or column in {args.groups!r}")
    x = load_samples(args.x, "--groups", ",".join(t for g in groups for t in g), max_mb=args.max_mb)
    seen: dict[str, int] = {}
    for j, label in enumerate(x.columns):
        if label in seen:
            raise ValueError(f"--groups: column {label} is in more than one place; each column in one group")
        seen[label] = j
    edges = [0]
    for g in groups:
        edges.append(edges[-1] + len(g))
    blocks = [list(range(a, b)) for a, b in itertools.pairwise(edges)]
    return _numbers(x, "--groups"), blocks, [[x.columns[j] for j in b] for b in blocks]


def _numbers(x: Samples, option: str) -> Samples:
    if x.text:
        raise ValueError(f"{option}: a column holds names (class labels); the measures take numbers")
    return x


def _named(message: str, labels: list[list[str]], option: str) -> str:
    """The function's message with its variables named by the user's columns (``x (variable 1)`` is
    variable 1's columns) and by the ``option`` that picked them."""
    for i, group in reversed(list(enumerate(labels))):
        message = message.replace(f"x (variable {i})", f"variable {i} ({','.join(group)})")
    if message.startswith(f"{option}: "):
        return message
    name = next((n for n in ("x: ", "data: ") if message.startswith(n)), "")
    return f"{option}: {message[len(name) :]}"


def _unquoted(label: str) -> str:
    """A column's header name as written (labels quote names for messages: ``'age'``), or its index."""
    return label[1:-1] if len(label) > 1 and label[0] == label[-1] == "'" else label


def _print_json(
    args: argparse.Namespace,
    parts: dict[str, Any],
    labels: list[list[str]],
    options: dict[str, Any],
    unit: str,
    scale: float,
    seconds: float,
    n: int,
) -> None:
    """``--measure --json``: one strict JSON object, as ``estimate --json`` writes (absent facts null,
    infinite or undefined numbers null and named in ``nonfinite``)."""

    def record(est: Any) -> dict[str, Any]:
        return {
            "value": float(est) * scale,
            "stderr": None if est.stderr is None else est.stderr * scale,
            "interval": None if est.interval is None else [v * scale for v in est.interval],
            "p_value": est.p_value,
        }

    main = parts["total"] if args.measure == "pid" else parts[args.measure]
    result = {
        "quantity": args.measure,
        **record(main),
        "unit": unit,
        "stderr_method": main.stderr_method,
        "resamples": options.get("n_resamples", 0) if main.stderr is not None else 0,
        "permutations": main.n_permutations,
        "null": main.null,
        "parts": {k: record(v) for k, v in parts.items() if k != "total"} if args.measure == "pid" else None,
        "method": options["method"],
        "groups": [[_unquoted(c) for c in g] for g in labels],
        "n_samples": n,
        "seed": options["seed"],
        "settings": {k: v for k, v in options.items() if k not in ("method", "seed")},
        "seconds": round(seconds, 4),
    }
    print(json.dumps(strict(result), default=str, allow_nan=False))
