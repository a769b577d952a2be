"""What the ``iblearn`` command is handed: sample files, ``KEY=VALUE`` settings and config files.

Reading them imports numpy and torch inside the functions (see :mod:`iblearn.cli`).
"""

from __future__ import annotations

import argparse
import csv
import json
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any


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
