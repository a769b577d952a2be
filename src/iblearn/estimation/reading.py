"""Reading a variable handed to the front door: columns of names (text, a pandas ``Categorical``, an
object array of strings or bools) become integer class labels, so that ``estimate("mi", x, ["cat",
"dog", ...])`` reads ``y`` as the labels it is, as the ``iblearn`` command reads a column of names.

Names become codes 0..K-1 in sorted order (:func:`sorted_codes`, the one rule of the package and of the
command); a ``Categorical`` keeps the order of its categories. A pandas Series or DataFrame comes back
as one, its index and column names kept; other inputs come back as numpy arrays. Numbers, tensors and
anything else that holds no names pass through untouched.

Objects of the libraries users hold their data in are read first (:mod:`.libraries`): a Polars frame or
series column by column (its text, boolean and categorical columns as labels, an ``Enum`` in the order
of its categories), an xarray ``DataArray``, an MNE ``Raw``/``Epochs`` and an ``AnnData`` as numpy
samples. :func:`read_samples` gives the names of the columns with them, and :func:`read_trials` reads
the trials of a network's processes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from iblearn.estimation.libraries import (
    TIME_DIMS,
    frame_columns,
    library,
    library_samples,
    library_series_trials,
    library_trials,
)
from iblearn.functional.information_dynamics import matched_trials, trials_of

__all__ = [
    "MIN_ROWS",
    "label_columns",
    "not_transposed",
    "read_samples",
    "read_series_trials",
    "read_trials",
    "read_variable",
    "same_row_order",
    "sorted_codes",
]

_MISSING = ("NAType", "NaTType")
#: Fewest rows of the automatic estimate: each half of its checks needs a few neighbours a class. Fewer
#: beside more columns than rows reads as a table passed transposed (:func:`not_transposed`).
MIN_ROWS = 16


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
    return read_samples(value, name)[0]


def read_samples(
    value: Any, name: str, *, layer: str | None = None, picks: Any = None
) -> tuple[Any, list[str] | None]:
    """``value`` as :func:`read_variable` reads it, and the names of its columns where it has them (a
    DataFrame's columns, a Series' name, a DataArray's channels or last coordinate, an MNE object's
    channels, an AnnData's genes), else None. ``layer`` reads an AnnData's layer instead of its ``.X``,
    ``picks`` an MNE object's channels (:func:`.libraries.library_samples`).

    Example:
        >>> import pandas as pd
        >>> values, names = read_samples(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}), "x")
        >>> names, values["b"].tolist()
        (['a', 'b'], [0, 1])
    """
    lib = library(value)
    if layer is not None and lib != "anndata":
        raise ValueError(f"layer: selects a layer of an AnnData, got a {type(value).__name__}")
    if picks is not None and lib != "mne":
        raise ValueError(f"picks: selects the channels of an MNE Raw or Epochs, got a {type(value).__name__}")
    if isinstance(value, torch.Tensor | int | float):
        return value, None
    if hasattr(value, "tocsc") and hasattr(value, "nnz"):  # a scipy sparse matrix
        return np.asarray(value.toarray()), None
    if lib is not None:
        columns = frame_columns(value, name)
        if columns is not None:
            series = not hasattr(value, "columns")
            named = not series or bool(getattr(value, "name", None))  # a Polars series is named "" by default
            return _frame(*columns, name, series=series), columns[1] if named else None
        read = library_samples(value, name, layer=layer, picks=picks)
        if read is not None:
            return read_variable(read[0], name), read[1]
    names = _pandas_names(value)
    return _read(value, name), names


def same_row_order(variables: Sequence[Any], names: Sequence[str]) -> None:
    """Refuse variables whose rows are labelled (a pandas index, an AnnData's ``obs_names``) with the
    same labels in another order: samples are paired by position, so such rows would be paired with
    another sample's.

    Raises:
        ValueError: naming the variable whose rows are in another order, and how to reorder it.

    Example:
        >>> import pandas as pd
        >>> same_row_order([pd.Series([1.0, 2.0], index=["a", "b"]), [3.0, 4.0]], ["x", "y"])
        >>> x, y = pd.Series([1.0, 2.0], index=["a", "b"]), pd.Series([3.0, 4.0], index=["b", "a"])
        >>> same_row_order([x, y], ["x", "y"])
        Traceback (most recent call last):
        ...
        ValueError: y: its index holds the labels of x's rows (x.index) in another order, ...
    """
    labelled = [
        (rows, value, n)
        for value, n in zip(variables, names, strict=True)
        if (rows := _row_labels(value)) is not None
    ]
    for rows, value, n in labelled[1:]:
        first, _, first_name = labelled[0]
        if len(rows) != len(first) or rows.equals(first) or not (rows.is_unique and first.is_unique):
            continue
        if rows.isin(first).all():
            where = (
                f"{first_name}.obs_names" if library(labelled[0][1]) == "anndata" else f"{first_name}.index"
            )
            pick = f"{n}.loc[{where}]" if library(value) != "anndata" else f"{n}[{where}]"
            raise ValueError(
                f"{n}: its index holds the labels of {first_name}'s rows ({where}) in another order, and "
                f"samples are paired by position; reorder it ({pick}) or pass arrays"
            )


def _row_labels(value: Any) -> Any:
    """The labels of ``value``'s rows as a pandas Index: a pandas object's index, an AnnData's
    ``obs_names``; None for anything else."""
    if library(value) == "anndata":
        return value.obs_names
    if type(value).__module__.split(".")[0] == "pandas" and hasattr(value, "index"):
        return value.index
    return None


def label_columns(value: Any, name: str) -> list[bool] | None:
    """Which columns of a frame or series (pandas, or one narwhals reads: Polars, PyArrow)
    :func:`read_samples` reads as class labels (text, booleans, categories); None where ``value`` is
    neither.

    Example:
        >>> import pandas as pd
        >>> label_columns(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "c": [True, False]}), "x")
        [False, True, True]
    """
    columns = frame_columns(value, name)
    if columns is not None:
        return [kind != "numbers" for kind in columns[2]]
    if hasattr(value, "dtypes") and hasattr(value, "columns"):  # a pandas DataFrame
        pieces = [(value.iloc[:, j], f"{name}: column {c!r}") for j, c in enumerate(value.columns)]
    elif hasattr(value, "dtype") and hasattr(value, "index") and hasattr(value, "to_numpy"):  # a Series
        pieces = [(value, name)]
    else:
        return None
    labels = []
    for column, label in pieces:
        codes = _pandas_column(column, label)
        labels.append(column.dtype.kind == "b" or (codes is not None and codes.dtype == np.int64))
    return labels


def read_trials(data: Any, name: str = "data", picks: Any = None) -> tuple[Any, list[str] | None]:
    """``data`` for :func:`iblearn.network.infer_network`: an xarray ``DataArray`` or MNE ``Raw``/
    ``Epochs`` as trials of ``(T_r, P)`` numpy arrays (see :func:`.libraries.library_trials`), a frame
    (pandas, Polars) as its numbers, a list of frames as theirs; other data as it is. With the names of
    the processes (the columns), None where the data holds none.

    Raises:
        ValueError: naming ``name`` where trials name their processes differently, and ``picks`` where
            ``data`` is not an MNE object.
    """
    read = library_trials(data, name, picks)
    if read is not None:
        return read
    if isinstance(data, list | tuple) and data and not isinstance(data[0], int | float):
        pieces, names = _read_pieces(data, name)
        for r, piece in enumerate(pieces):
            _no_clock(piece, names, f"{name}[{r}]")
        return pieces, names
    if isinstance(data, torch.Tensor | np.ndarray):
        return data, None
    values, names = read_samples(data, name)
    values = _numbers(values)
    _no_clock(values, names, name)
    return values, names


def _no_clock(values: Any, names: list[str] | None, name: str) -> None:
    """Refuse a frame's column named as time (:data:`.libraries.TIME_DIMS`) whose values only increase:
    time stamps, which every column of the frame, read as a process, would make one."""
    for c, column in enumerate(names or []):
        if str(column).lower() in TIME_DIMS:
            stamps = np.asarray(values[:, c], dtype=np.float64)
            if len(stamps) > 1 and bool((np.diff(stamps) > 0).all()):
                raise ValueError(
                    f"{name}: column {column!r} holds time stamps (its values only increase), and every "
                    "column is read as a process: drop it, or make it the index"
                )


def _read_pieces(data: list[Any] | tuple[Any, ...], name: str) -> tuple[list[Any], list[str] | None]:
    """Trials given as a list, each read as :func:`read_samples` reads it (a frame as its numbers), and
    the names of their columns, refused naming ``name`` where the trials name them differently."""
    pieces = [read_samples(piece, f"{name}[{r}]") for r, piece in enumerate(data)]
    named = {tuple(n) for _, n in pieces if n is not None}
    if len(named) > 1:
        raise ValueError(f"{name}: the trials name their processes differently: {sorted(named)}")
    return [_numbers(v) for v, _ in pieces], (list(named.pop()) if named else None)


def _tabular(value: Any) -> bool:
    """Whether ``value`` is a frame or a series of pandas or Polars (read from its type's module)."""
    return type(value).__module__.split(".")[0] in ("pandas", "polars")


def read_series_trials(
    variables: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, tuple[str, ...]]] | None:
    """The series of a transfer entropy or an information storage (``variables`` by name) as trials
    where any is given as trials: an xarray ``DataArray`` with a trial dimension, an MNE ``Epochs``
    (:func:`.libraries.library_series_trials`; ``condition`` may hold several processes), or a list of
    1-D arrays or tensors, one a trial. Each becomes a list of ``(T_r,)`` (``(T_r, P)``) arrays, and
    the names of the processes go with them; trials given as a list of frames or series (pandas,
    Polars) are read as their numbers, with their columns' names. None where none is trials, and
    where there is one trial each, the series themselves in a dict, as one series reads.

    Raises:
        ValueError: naming the variable given as one series beside trials, or whose trials differ in
            count or length from the first variable's.
    """
    read: dict[str, list[Any] | None] = {}
    names: dict[str, tuple[str, ...]] = {}
    for name, value in variables.items():
        found = library_series_trials(value, name, several=name == "condition")
        if found is not None:
            read[name] = found[0]
            if found[1] is not None:
                names[name] = tuple(found[1])
        elif isinstance(value, list | tuple) and value and all(_tabular(v) for v in value):
            read[name], found_names = _read_pieces(value, name)  # frames or series, one a trial
            if found_names is not None:
                names[name] = tuple(found_names)
        else:
            read[name] = trials_of(value, name)
    given = {name: trials for name, trials in read.items() if trials is not None}
    if not given:
        return None
    first, trials = next(iter(given.items()))
    for name, value in read.items():
        if value is None:
            raise ValueError(
                f"{name}: {first} holds {len(trials)} trials; give {name} as trials too (a list of 1-D "
                "arrays, one a trial, or trials as the other is given)"
            )
        matched_trials(name, value, trials, first)
    if len(trials) == 1:
        return {name: value[0] for name, value in given.items()}, names
    return dict(given), names


def _numbers(values: Any) -> Any:
    """A pandas frame's values as numpy; anything else as it is."""
    return values.to_numpy() if hasattr(values, "to_numpy") and hasattr(values, "index") else values


def _pandas_names(value: Any) -> list[str] | None:
    """A pandas DataFrame's column names or a named Series' name, else None."""
    if hasattr(value, "dtypes") and hasattr(value, "columns"):
        return [str(c) for c in value.columns]
    if hasattr(value, "dtype") and hasattr(value, "index") and getattr(value, "name", None) is not None:
        return [str(value.name)]
    return None


def _frame(
    arrays: list[np.ndarray], names: list[str], kinds: list[str], name: str, series: bool
) -> np.ndarray:
    """The columns of a frame (:func:`.libraries.frame_columns`) as numpy: labels as class codes, and
    all columns int64 where every one is labels, else float64."""
    coded = []
    for array, column, kind in zip(arrays, names, kinds, strict=True):
        label = name if series else f"{name}: column {column!r}"
        if kind == "enum":
            if (array < 0).any():
                raise ValueError(
                    f"{label}: a missing value at row {int(np.argmax(array < 0))}; drop or fill it"
                )
            coded.append(array.astype(np.int64))
        elif kind == "names":
            coded.append(_names(array, label))
        else:
            _not_times(array.dtype.kind, label)
            _no_missing_number(array, label, "NaN or null")  # a Polars null reads as NaN
            coded.append(array)
    if not coded:
        raise ValueError(f"{name}: is empty, it has no columns")
    if series:
        return coded[0]
    if all(k == "numbers" for k in kinds) or all(c.dtype == np.int64 for c in coded):
        return np.stack(coded, axis=1)
    return np.stack([c.astype(np.float64) for c in coded], axis=1)


def _read(value: Any, name: str) -> Any:
    """:func:`read_variable` of anything but a library's object."""
    if hasattr(value, "dtypes") and hasattr(value, "columns"):  # a pandas DataFrame
        # By position: a name two columns share selects both.
        coded = [_pandas_read(value.iloc[:, j], f"{name}: column {c!r}") for j, c in enumerate(value.columns)]
        if all(codes is None for codes in coded):
            return value
        out = value.copy()
        for j, codes in enumerate(coded):
            if codes is not None:
                out.isetitem(j, codes)
        return out
    if hasattr(value, "dtype") and hasattr(value, "index") and hasattr(value, "to_numpy"):  # a Series
        column = _pandas_read(value, name)
        return value if column is None else type(value)(column, index=value.index, name=value.name)
    if type(value).__name__ == "Categorical" and hasattr(value, "codes"):  # a bare pandas Categorical
        return _categorical(value, name)
    if np.ma.is_masked(value):
        masked = np.ma.getmaskarray(value).reshape(len(value), -1).any(axis=1)
        raise ValueError(
            f"{name}: a masked array, {int(masked.sum())} of its rows masked (the first at row "
            f"{int(np.argmax(masked))}); drop those rows, or fill them (.filled())"
        )
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return value  # ragged or otherwise unreadable: the estimator's own check names it
    if array.ndim == 0 and array.dtype.kind == "O":
        raise ValueError(
            f"{name}: expected samples as rows (an array, a tensor, a list, a frame), got a "
            f"{type(value).__name__}"
        )
    _not_times(array.dtype.kind, name)
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


def _pandas_read(column: Any, name: str) -> np.ndarray | None:
    """A pandas column as numpy where it must change to be read: names and categories as class codes
    (:func:`_pandas_column`), nullable numbers (``Int64``, ``Float64``) as int64 or float64, a missing
    value refused; None where it reads as it is."""
    _not_times(column.dtype.kind, name)
    if column.dtype.kind in "iuf" and not isinstance(column.dtype, np.dtype):
        missing = np.asarray(column.isna(), dtype=bool)
        if missing.any():
            raise ValueError(
                f"{name}: a missing value (<NA>) at row {int(np.argmax(missing))}; drop or fill it"
            )
        return np.asarray(column.to_numpy(dtype=np.float64 if column.dtype.kind == "f" else np.int64))
    if column.dtype.kind == "f":
        _no_missing_number(column.to_numpy(), name, "NaN")
    return _pandas_column(column, name)


def _no_missing_number(array: np.ndarray, name: str, what: str) -> None:
    """Refuse a column of numbers with a missing value (NaN), naming its row."""
    if array.dtype.kind == "f" and (missing := np.isnan(array)).any():
        raise ValueError(
            f"{name}: a missing value ({what}) at row {int(np.argmax(missing))}; drop or fill it"
        )


def _not_times(kind: str, name: str) -> None:
    """Refuse datetimes and durations (numpy's kinds ``M`` and ``m``), saying how to give numbers."""
    if kind in "Mm":
        what = "datetimes" if kind == "M" else "durations"
        raise ValueError(
            f"{name}: holds {what}, not numbers; pass them as numbers, such as seconds since the first "
            "((t - t.min()) / np.timedelta64(1, 's'))"
        )


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
    flags = [isinstance(v, bool | np.bool_) for v in items]
    if all(texts) or all(flags):
        return sorted_codes(np.array(items))
    if any(flags):
        first, other = flags.index(True), flags.index(False)
        raise ValueError(
            f"{name}: mixes booleans with other values ({items[first]!r} at row {first}, {items[other]!r} "
            f"at row {other}); class labels are all booleans, all names or all numbers"
        )
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


def not_transposed(variables: Mapping[str, Any], *, trials: bool = False) -> None:
    """Refuse variables (arrays or tensors, by name) where one has fewer than :data:`MIN_ROWS` rows and
    more columns than rows, naming each such: samples are rows, and a table passed transposed has few
    of them beside many columns, where no estimate, automatic or named, means anything. ``trials``: the
    variables are series, whose few wide rows may be trials by time points (an epochs array), and the
    refusal says how trials go."""
    shapes = {
        k: tuple(v.shape) for k, v in variables.items() if isinstance(v, np.ndarray | torch.Tensor) and v.ndim
    }
    wide = {
        k: (s[0], math.prod(s[1:])) for k, s in shapes.items() if s[0] < MIN_ROWS and math.prod(s[1:]) > s[0]
    }
    if wide:
        name, (rows, _) = next(iter(wide.items()))
        shown = ", ".join(f"{k} is {r} x {c}" for k, (r, c) in wide.items())
        how = (
            "; a process recorded over trials goes as a list of series, one a trial (list(a) of an array a "
            "of trials by time points), or as a DataArray or an Epochs (the guide's Data inputs)"
        )
        raise ValueError(
            f"{name}: {rows} row(s) ({shown}): samples are rows; transposed?{how if trials else ''}"
        )
