"""The samples of network inference: the recorded processes checked and each process's past laid out
as candidate variables.

A candidate variable is a pair ``(process, lag)``: its realisation at sample t is the process's value
at t - lag. One sample per time step t from ``max_lag`` to the end of each trial, trials stacked, so
``n = sum_r (T_r - max_lag)`` samples, every variable the same n rows (Novelli et al. 2019, "Methods":
the realisations pooled over replications).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from iblearn import _checks as V

#: Candidate variables a (process, lag) pair.
Variable = tuple[int, int]


@dataclass(frozen=True)
class Embedded:
    """Every candidate variable of every process: ``values[i, p, l]`` is process p at sample i's time
    minus l (``l = 0`` the present), float64, each process standardized over all its samples;
    ``segments`` the samples each trial gives, in order."""

    values: np.ndarray
    segments: tuple[int, ...]

    @property
    def n_processes(self) -> int:
        return int(self.values.shape[1])

    def columns(self, variables: Sequence[Variable]) -> np.ndarray:
        """The realisations of ``variables``, ``(n, len(variables))`` (``(n, 0)`` for none)."""
        if not variables:
            return np.empty((self.values.shape[0], 0))
        return np.stack([self.values[:, p, lag] for p, lag in variables], axis=1)


def as_trials(data: Any, name: str = "data") -> list[np.ndarray]:
    """``data`` as trials of float64 ``(T_r, P)`` arrays: a ``(T, P)`` array is one trial; a list of
    them is several, each with the same P. Refuses NaN/Inf, other shapes and fewer than 2 processes."""
    if isinstance(data, torch.Tensor | np.ndarray):
        pieces: list[Any] = [data]
        names = [name]
    elif isinstance(data, Sequence) and not isinstance(data, str) and len(data) > 0:
        pieces, names = list(data), [f"{name}[{r}]" for r in range(len(data))]
    else:
        raise ValueError(
            f"{name}: expected a (T, P) array or a list of (T_r, P) trials, got {type(data).__name__}"
        )
    trials = []
    for piece, label in zip(pieces, names, strict=True):
        t = V.as_tensor(piece, label)
        if t.ndim != 2:
            raise ValueError(
                f"{label}: expected (T, P) samples, one process a column, got shape {tuple(t.shape)}"
            )
        trials.append(V.series(t, label).detach().cpu().double().numpy())
    widths = {t.shape[1] for t in trials}
    if len(widths) != 1:
        raise ValueError(f"{name}: every trial needs the same processes (columns), got {sorted(widths)}")
    if trials[0].shape[1] < 2:
        raise ValueError(
            f"{name}: network inference needs at least 2 processes (columns), got {trials[0].shape[1]}"
        )
    return trials


#: The samples a trial needs beyond ``max_lag``, so that its embedding holds rows enough to test.
SPARE_STEPS = 10


def check_lags(min_lag: Any, max_lag: Any, trials: Sequence[np.ndarray]) -> tuple[int, int]:
    """``min_lag <= max_lag``, both positive, and each trial longer than ``max_lag`` plus a few samples."""
    min_lag, max_lag = V.positive_int(min_lag, "min_lag"), V.positive_int(max_lag, "max_lag")
    if min_lag > max_lag:
        raise ValueError(f"min_lag: must not exceed max_lag={max_lag}, got {min_lag}")
    shortest = min(len(t) for t in trials)
    if shortest <= max_lag + SPARE_STEPS:
        wide = next((t.shape for t in trials if t.shape[1] > t.shape[0]), None)
        if wide is not None:  # rows of processes, columns of time steps: the transpose of (T, P)
            raise ValueError(
                f"data: a trial of shape {wide} has {wide[1]} processes (columns) and {wide[0]} time "
                f"steps (rows), too few for max_lag {max_lag}; infer_network takes (T, P), time steps as "
                "rows and one process a column: if the rows are processes, pass data.T"
            )
        raise ValueError(
            f"max_lag: {max_lag} leaves too few samples of a {shortest}-step trial (data is (T, P), time "
            "steps as rows); use a shorter max_lag, or longer trials"
        )
    return min_lag, max_lag


def normal_scores(trials: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Each process replaced by ``Phi^-1(rank / (n + 1))`` of its values over all trials (the Gaussian
    copula's normal scores; average ranks for ties)."""
    from scipy.special import ndtri
    from scipy.stats import rankdata

    pooled = np.concatenate(list(trials), axis=0)
    scores = ndtri(rankdata(pooled, axis=0) / (len(pooled) + 1))
    cuts = np.cumsum([len(t) for t in trials])[:-1]
    return list(np.split(scores, cuts, axis=0))


def embed(trials: Sequence[np.ndarray], max_lag: int) -> Embedded:
    """The :class:`Embedded` samples of ``trials``, each process standardized over all trials."""
    pooled = np.concatenate(list(trials), axis=0)
    # each process divided by its largest magnitude first: the variance of 1e-300 data underflows to 0
    # and that of 1e300 data overflows
    scale = np.abs(pooled).max(axis=0)
    scale[scale == 0] = 1.0
    pooled = pooled / scale
    mean, std = pooled.mean(axis=0), pooled.std(axis=0)
    constant = [p for p in range(pooled.shape[1]) if std[p] == 0]
    if constant:
        raise ValueError(f"data: process {constant[0]} is constant: it can neither drive nor be driven")
    blocks = []
    for t in trials:
        z = (t / scale - mean) / std
        rows = len(t) - max_lag
        blocks.append(
            np.stack([z[max_lag - lag : max_lag - lag + rows] for lag in range(max_lag + 1)], axis=2)
        )
    return Embedded(
        np.ascontiguousarray(np.concatenate(blocks, axis=0)), tuple(len(t) - max_lag for t in trials)
    )
