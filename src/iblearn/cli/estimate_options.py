"""The options of ``iblearn estimate``: its flags, defaults and help, as data (the command:
:mod:`iblearn.cli.estimate`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from iblearn.cli import estimate_many
from iblearn.cli.console import Subparsers
from iblearn.cli.inputs import COLUMNS_RULE, MAX_MB, key_value

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
            "auto; ksg, or mixed_ksg where Y is class labels, where --k, --option, --resamples or "
            "--permutations is given)",
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


def add_parser(sub: Subparsers, common: argparse.ArgumentParser, command: Callable[..., int]) -> None:
    """The command's parser under ``sub``, with the options of ``common``, running ``command``."""
    est = sub.add_parser(
        "estimate",
        parents=[common],
        help="estimate I(X;Y) from sample files (rows are samples)",
        description=_DESCRIPTION,
    )
    for flags, settings in _ARGUMENTS:
        est.add_argument(*flags, **settings)
    estimate_many.add_arguments(est)
    est.set_defaults(func=command)
