"""Reading a variable handed to the front door: columns of names (text, a pandas ``Categorical``, an
object array of strings or bools) become integer class labels, so that ``estimate("mi", x, ["cat",
"dog", ...])`` reads ``y`` as the labels it is, as the ``iblearn`` command reads a column of names.

Names become codes 0..K-1 in sorted order (:func:`sorted_codes`, the one rule of the package and of the
command); a ``Categorical`` keeps the order of its categories. A pandas Series or DataFrame comes back
as one, its index and column names kept; other inputs come back as numpy arrays. Numbers, tensors and
anything else that holds no names pass through untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["read_variable", "sorted_codes"]

_MISSING = ("NAType", "NaTType")


def sorted_codes(names: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Each of ``names`` as its rank among the distinct names (sorted order): class codes 0..K-1.

    Example:
        >>> sorted_codes(["dog", "cat", "dog", "eel"]).tolist()
        [1, 0, 1, 2]
    """
    return np.unique(np.asarray(names), return_inverse=True)[1].reshape(-1).astype(np.int64)


def read_variable(value: Any, name: str) -> Any:
    """``value`` with its columns of names as integer class codes; ``value`` itself where it holds none.

    Raises:
        ValueError: naming ``name``, where a column mixes names with numbers or with missing values
            (``None``, NaN), or holds objects that are neither names nor numbers.

    Example:
        >>> read_variable(["b", "a", "b"], "y").tolist()
        [1, 0, 1]
        >>> read_variable(np.array([True, False]), "y").dtype
        dtype('bool')
    """
    if isinstance(value, torch.Tensor | int | float):
        return value
    if hasattr(value, "dtypes") and hasattr(value, "columns"):  # a pandas DataFrame
        coded = {c: _pandas_column(value[c], f"{name}: column {c!r}") for c in value.columns}
        changed = {c: v for c, v in coded.items() if v is not None}
        if not changed:
            return value
        out = value.copy()
        for c, codes in changed.items():
            out[c] = codes
        return out
    if hasattr(value, "dtype") and hasattr(value, "index") and hasattr(value, "to_numpy"):  # a Series
        column = _pandas_column(value, name)
        return value if column is None else type(value)(column, index=value.index, name=value.name)
    if type(value).__name__ == "Categorical" and hasattr(value, "codes"):  # a bare pandas Categorical
        return _categorical(value, name)
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return value  # ragged or otherwise unreadable: the estimator's own check names it
    if array.dtype.kind not in "OUS":
        return value
    if array.dtype.kind in "US" and not isinstance(value, np.ndarray):
        array = np.asarray(value, dtype=object)  # numpy writes the numbers of ["a", 1] as text
    if array.ndim == 2:
        columns = [_names(array[:, j], f"{name}: column {j}") for j in range(array.shape[1])]
        if all(c.dtype == np.int64 for c in columns):
            return np.stack(columns, axis=1)
        return np.stack([c.astype(np.float64) for c in columns], axis=1)
    if array.ndim != 1:
        raise ValueError(f"{name}: names are read from a column or a table, got shape {array.shape}")
    return _names(array, name)


def _pandas_column(column: Any, name: str) -> np.ndarray | None:
    """A pandas column's class codes where it holds names or categories, else None."""
    cat = getattr(column, "cat", None) if str(column.dtype) == "category" else None
    if cat is not None:
        return _categorical(cat, name)
    if column.dtype.kind in "OUS" or str(column.dtype) in ("string", "boolean"):
        return _names(np.asarray(column.to_numpy(dtype=object)), name)
    return None


def _categorical(cat: Any, name: str) -> np.ndarray:
    """A Categorical's codes (in the order of its categories), refusing missing values."""
    codes = np.asarray(cat.codes, dtype=np.int64)
    if (codes < 0).any():
        raise ValueError(f"{name}: a missing value at row {int(np.argmax(codes < 0))}; drop or fill it")
    return codes


def _names(column: np.ndarray, name: str) -> np.ndarray:
    """One column of names as codes (int64), or of numbers kept in an object array as float64."""
    if column.dtype.kind in "US":
        return sorted_codes(column)
    items = column.tolist()
    for row, item in enumerate(items):
        # None, NaN, and pandas' NA and NaT (whose comparisons raise or give NA).
        if item is None or (isinstance(item, float) and item != item) or type(item).__name__ in _MISSING:
            raise ValueError(f"{name}: a missing value ({item!r}) at row {row}; drop or fill it")
    texts = [isinstance(v, str | bytes | np.str_ | np.bytes_) for v in items]
    if all(texts) or all(isinstance(v, bool | np.bool_) for v in items):
        return sorted_codes(np.array(items))
    numbers = [isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in items]
    if all(numbers):
        return np.asarray(items, dtype=np.float64)
    if any(texts) and any(numbers):
        first, other = texts.index(True), numbers.index(True)
        raise ValueError(
            f"{name}: mixes names and numbers ({items[first]!r} at row {first}, {items[other]!r} at row "
            f"{other}); class labels are all names or all numbers"
        )
    other = next(i for i, (t, n) in enumerate(zip(texts, numbers, strict=True)) if not (t or n))
    raise ValueError(
        f"{name}: holds a {type(items[other]).__name__} at row {other} ({items[other]!r}), neither a "
        "number nor a name; give numbers, or class labels as names or integers"
    )
