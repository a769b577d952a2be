"""The options of ``iblearn estimate``: its flags, defaults and help, as data (the command:
:mod:`iblearn.cli.estimate`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from iblearn._measures import MEASURE_TABLE
from iblearn._settings import SETTINGS
from iblearn.cli.console import Subparsers
from iblearn.cli.inputs import COLUMNS_RULE, MAX_MB, key_value

_DESCRIPTION = (
    "Estimate I(X;Y). Rows are samples. X and Y may be two files, or one CSV with "
    "--y-cols (and --x-cols) naming columns, e.g. iblearn estimate data.csv --y-cols label; or, with "
    "--measure, information among groups of one file's columns, e.g. --measure o_information "
    '--groups "a,b;c;d"'
)

#: The options that give a shared setting (:data:`iblearn._settings.SETTINGS`, which holds their type,
#: range and help), by the setting's keyword, in the order --help lists them.
FLAGS = {"lag": "--lag", "history": "--history", "k": "--k", "base": "--base"}
FLAGS |= {"n_resamples": "--resamples", "n_permutations": "--permutations", "seed": "--seed"}
FLAGS |= {"steps": "--steps", "batch_size": "--batch-size", "test": "--test-fraction"}
#: The settings whose option the command reads itself (``--option`` does not give them), with its
#: default: None leaves the front door's default for the measure and method, as a call from Python does.
_DEFAULTS = {"n_resamples": None, "n_permutations": None, "seed": 0, "steps": None, "batch_size": None}
_DEFAULTS |= {"test": None}


def has_default(name: str) -> bool:
    """Whether ``name`` is a setting that an option of the command's own gives."""
    return name in _DEFAULTS


def given(**options: Any) -> dict[str, Any]:
    """The ``options`` the user gave (not None): the front door's defaults stand for the others."""
    return {k: v for k, v in options.items() if v is not None}


def _setting_arguments() -> tuple[tuple[tuple[str, ...], dict[str, Any]], ...]:
    """The options of :data:`FLAGS`: their types and help from the table of settings."""
    return tuple(
        ((flag,), {"type": SETTINGS[name].type, "default": _DEFAULTS.get(name), "help": SETTINGS[name].help})
        for name, flag in FLAGS.items()
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
            "help": "estimator, by registry or class name in any case: ksg, mixed_ksg, gaussian_classes, "
            "quadratic_classes, binning, gaussian, renyi; or a neural one (mine, mine_f, nwj, js, infonce, "
            "...), whose critic is trained on part of the rows and reports on the rest; or auto: chosen "
            "from the data and checked (default: "
            "auto; ksg, or mixed_ksg where Y is class labels, where --k, --base, --option, --resamples "
            "or --permutations is given)",
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
    *_setting_arguments(),
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


def _add_measure(est: argparse.ArgumentParser) -> None:
    """``--measure`` and ``--groups`` on ``estimate``'s parser."""
    est.add_argument(
        "--measure",
        choices=("mi", "cmi", *MEASURE_TABLE, "pid", "te", "entropy", "ais"),
        default=None,
        help="mi: I(X;Y), the default; cmi: I(X;Y|Z), with --cond; or a measure among the variables of "
        "X's file: total_correlation, "
        "dual_total_correlation, o_information, s_information, interaction_information (3 groups) or "
        "pid (3 groups: two sources, then the target); --method auto (default: chosen from the data and "
        "checked; ksg where --resamples, --permutations or --option is given), ksg, gaussian or copula; "
        "or te: transfer entropy from the series X to the series Y (--lag, --history, --cond); or "
        "entropy: H(X) of X's class labels (auto, or a discrete estimator: nsb, cwj, plugin, ...); or "
        "ais: active information storage of the series X (--history); te and ais take --permutations "
        "by any method, auto's test by the method it chose (--option null=shift or trials)",
    )
    est.add_argument(
        "--groups",
        metavar="GROUPS",
        default=None,
        help="with --measure: the variables, groups of columns separated by ';' and columns by ',' "
        '("a,b;c;d": three variables, the first of two columns); default: each column of X alone',
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
    _add_measure(est)
    est.set_defaults(func=command)
