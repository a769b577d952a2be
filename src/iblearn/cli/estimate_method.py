"""Which estimator ``iblearn estimate`` runs, and Y as it takes it: ``--method`` read as a registry or
class name, the method that fits Y where none is given (mixed_ksg for class labels), Y's class labels
as integer codes, and the settings the data implies (seed, input widths, number of classes).

numpy and the estimators are imported inside the functions: ``iblearn --help`` imports none of them.
"""

from __future__ import annotations

import argparse
from typing import Any

from iblearn.cli.inputs import Samples


def estimator_name(text: str) -> str:
    """The registry name for ``--method``: a registry name or a class name in any case (``KSG``,
    ``MixedKSG``, ``mine-f``); anything else raises ValueError with the closest names."""
    import difflib

    from iblearn.estimators import REGISTRY

    names = {key: key for key in REGISTRY} | {"auto": "auto"}
    names |= {cls.__name__.lower(): key for key, cls in REGISTRY.items()}
    key = text.lower().replace("-", "_")
    for candidate in (key, key.replace("_", "")):
        if candidate in names:
            return names[candidate]
    close = difflib.get_close_matches(key, list(names), n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(dict.fromkeys(names[c] for c in close))}? " if close else ""
    raise ValueError(f"--method: unknown estimator {text!r}; {hint}known: {', '.join(sorted(REGISTRY))}")


def fit_method(
    method: str | None, x: Samples, y: Samples, given: dict[str, Any], args: argparse.Namespace
) -> tuple[str, Any, dict[str, Any]]:
    """The method (the one asked, or the one that fits Y: mixed_ksg for class labels, else ksg), Y as
    it takes it (integer labels where it takes labels) and its settings: the ones given, plus the seed
    and the input widths where it has such settings."""
    import inspect

    import numpy as np

    from iblearn.estimators import REGISTRY

    codes = label_codes(y, args.y_type)
    if method is None:
        method = "mixed_ksg" if codes is not None else "ksg"
    params = inspect.signature(REGISTRY[method]).parameters
    settings = dict(given)
    values = y.values
    if codes is not None:
        if method != "mixed_ksg" and "y_classes" not in params:
            where = f"column {y.columns[0]}" if len(y.columns) == 1 else repr(args.y or args.x)
            fits = [n for n, c in REGISTRY.items() if "y_classes" in inspect.signature(c).parameters]
            raise ValueError(
                f"{'--y-cols' if args.y_cols else 'Y'}: {where} holds {int(codes.max()) + 1} class labels, "
                f"which {method} reads as continuous numbers: use --method mixed_ksg (or a critic that "
                f"takes labels: {', '.join(fits)}), or --y-type continuous where the numbers are quantities"
            )
        if "y_classes" in params:  # a neural critic takes them one-hot
            settings.setdefault("y_classes", int(codes.max()) + 1)
        values = codes
    elif method == "mixed_ksg" or settings.get("y_classes") is not None:  # labels asked for
        values = integral_labels(y.values, method)
    if "seed" in params:
        settings.setdefault("seed", args.seed)
    xt, yt = np.asarray(x.values), np.asarray(values)
    if "x_dim" in params and xt.ndim >= 1:
        settings.setdefault("x_dim", int(np.prod(xt.shape[1:])))
    if "y_dim" in params and "y_classes" not in settings and yt.ndim >= 1:
        settings.setdefault("y_dim", int(np.prod(yt.shape[1:])))
    return method, values, settings


def x_values(x: Samples, method: str | None) -> Any:
    """X as the estimators take it: its numbers, or where X is one column of names (class labels) their
    codes, for ``auto`` alone (the other estimators take labels as Y). Names beside numbers, names that
    are free text (most of them on one row only) and names for another method are refused, naming X's
    columns."""
    import numpy as np

    if not x.text:
        return x.values
    values = np.asarray(x.values)
    cols = ", ".join(x.columns)
    if values.ndim == 2 and values.shape[1] > 1:
        raise ValueError(
            f"--x-cols: X's columns {cols} mix names (class labels) with numbers; class labels are a "
            "variable of their own: give them as Y (--y-cols), or pick only numeric columns for X"
        )
    codes = name_codes(values, "X", cols)
    if method not in (None, "auto"):
        raise ValueError(
            f"X: column {cols} holds class names, which {method} does not take as X: give them as Y "
            "(class labels go second), or use --method auto"
        )
    return codes


def name_codes(values: Any, side: str, cols: str) -> Any:
    """Class names read from a table (already codes in sorted order) as integer codes 0..K-1, refused
    where they are free text: more distinct names than half the rows."""
    import numpy as np

    codes = np.unique(np.asarray(values).reshape(-1), return_inverse=True)[1].astype(np.int64)
    distinct = int(codes.max()) + 1
    if distinct > len(codes) / 2:
        raise ValueError(
            f"{side}: column {cols} holds {distinct} distinct names in {len(codes)} rows: free text, not "
            "class labels; the estimators take numbers, or class labels that repeat"
        )
    return codes


def label_codes(y: Samples, kind: str) -> Any:
    """Y's classes as integer codes 0..K-1 (in sorted order of the values) where Y is one column of class
    labels, else None: names, or numbers that :func:`iblearn.functional.class_codes` reads as labels;
    ``kind`` ("labels", "continuous") overrides."""
    import numpy as np

    from iblearn.functional import class_codes

    values = np.asarray(y.values)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if kind == "continuous":
        if y.text:
            raise ValueError(f"--y-type: Y holds names, not numbers: {', '.join(y.columns)}")
        return None
    if values.ndim != 1 or values.size == 0:
        if kind == "labels":
            raise ValueError("--y-type: class labels are one column")
        return None
    if y.text:
        return name_codes(values, "Y", ", ".join(y.columns))
    if kind == "labels":  # labels asked for are taken as given
        if values.dtype.kind == "f" and not np.array_equal(values, np.round(values)):
            raise ValueError("--y-type: class labels are integers or names; Y holds other numbers")
        return np.unique(values, return_inverse=True)[1].astype(np.int64)
    codes = class_codes(values, "Y")
    return None if codes is None else codes.numpy()


def integral_labels(values: Any, method: str) -> Any:
    """Y's numbers as the integer labels ``method`` takes (tables are read as floats)."""
    import numpy as np

    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        if not np.array_equal(values, np.round(values)):
            raise ValueError(f"Y: {method} needs integer class labels here, got non-integral numbers")
        return values.astype(np.int64)
    return values
