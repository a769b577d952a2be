"""The MI terms of the score functions and the selector, on numpy columns, in nats.

Each term is a module-level function of its own columns only (so that joblib can send it to a
worker, and a term's value cannot depend on the worker or the order of the others). A variable none of
whose columns varies shares no information with anything: its terms are 0 rather than the kNN
estimators' error about zero distances.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from iblearn import _checks as V
from iblearn import functional as ibf
from iblearn.functional.knn import bivariate as _bivariate
from iblearn.functional.knn.counts import ksg_from_counts
from iblearn.functional.knn.ksg import prepare


def discrete_target(y: np.ndarray, setting: Any) -> bool:
    """Whether ``y`` is read as class labels: ``setting`` True or False says so; ``"auto"`` reads
    non-numeric (string, object) targets as labels, and numeric ones by
    :func:`iblearn.functional.class_codes` (bool and integer, or few integral float values)."""
    V.choice(setting, "discrete_target", ("auto", True, False))
    if setting != "auto":
        return bool(setting)
    if y.dtype.kind not in "biuf":
        return True
    return ibf.class_codes(y) is not None


def class_codes(y: np.ndarray, name: str = "y") -> np.ndarray:
    """``y``'s classes as codes 0..C-1; refused when no class occurs twice (the mixed estimator leaves
    such samples out, so nothing would be left)."""
    _, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    if counts.max() < 2:
        raise ValueError(
            f"{name}: read as class labels, but no class occurs more than once; "
            "pass discrete_target=False if it is a continuous target"
        )
    return codes.astype(np.int64).reshape(-1)


def _varying(a: np.ndarray) -> np.ndarray:
    """``a``'s columns that are not constant."""
    return a[:, np.ptp(a, axis=0) > 0]


def relevance(a: np.ndarray, y: np.ndarray, discrete: bool, k: int, seed: int = 0) -> float:
    """I(A; Y): KSG (Kraskov et al. 2004, eq. 8) for a continuous ``y`` ``(N, 1)``, the mixed
    estimator of Ross (2014) for class codes ``y`` ``(N,)``. ``a`` is ``(N, d)``, continuous."""
    a = _varying(a)
    if a.shape[1] == 0:
        return 0.0
    if discrete:
        return float(ibf.mixed_ksg_mi(a, y, k, seed=seed))
    if np.ptp(y) == 0:
        return 0.0
    return float(ibf.ksg_mi(a, y, k, seed=seed))


def redundancy(a: np.ndarray, b: np.ndarray, k: int, seed: int = 0) -> float:
    """I(A; B) between two continuous features ``(N, 1)``, by KSG."""
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(ibf.ksg_mi(a, b, k, seed=seed))


def redundancies(a: list[np.ndarray], b: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """``redundancy(a_i, b, k, seed)`` for each of the columns ``a``, the same numbers: where the
    compiled kernel is built, the pairs' neighbour counts in one call of it (each ``a_i`` prepared as
    ``ksg_mi`` prepares its x, ``b`` as its y, and each estimate formed from the counts as there)."""
    out = np.zeros(len(a))
    live = [i for i, col in enumerate(a) if np.ptp(col) != 0]
    if np.ptp(b) == 0 or not live:
        return out
    k = V.neighbours(k, len(b))
    prepared = [prepare(a[i], "x", standardize=True, ties="jitter", seed=seed) for i in live]
    prepared.append(prepare(b, "y", standardize=True, ties="jitter", seed=seed + 1))
    counts = None
    if _bivariate.usable(prepared):
        pairs = [(p, len(live)) for p in range(len(live))]
        counts = _bivariate.pair_counts(*_bivariate.sorted_ranks(prepared), pairs, k, 1)
    if counts is None:  # no kernel, or distances that overflow: one estimate at a time
        out[live] = [redundancy(a[i], b, k, seed) for i in live]
        return out
    nx, ny = (torch.from_numpy(c) for c in counts)
    out[live] = [float(ksg_from_counts(nx[p], ny[p], k, 1)) for p in range(len(live))]
    return out


def conditional(a: np.ndarray, y: np.ndarray, b: np.ndarray, discrete: bool, k: int, seed: int = 0) -> float:
    """I(A; Y | B): the Frenzel-Pompe KSG estimate (``ksg_cmi``) for a continuous ``y``; for class
    codes, the chain rule I(A, B; Y) - I(B; Y) with both terms by the mixed estimator (the kNN CMI needs
    a continuous Y)."""
    if discrete:
        return relevance(np.hstack([a, b]), y, True, k, seed) - relevance(b, y, True, k, seed)
    if np.ptp(a) == 0 or np.ptp(y) == 0:
        return 0.0
    if np.ptp(b) == 0:  # conditioning on a constant changes nothing
        return relevance(a, y, False, k, seed)
    return float(ibf.ksg_cmi(a, y, b, k, seed=seed))


def discrete_relevance(codes: np.ndarray, y: np.ndarray, discrete: bool, k: int, seed: int = 0) -> float:
    """I(X; Y) for a discrete feature's codes ``(N,)``: plug-in for class codes ``y``, the mixed
    estimator (with ``y`` the continuous side) for a continuous ``y`` ``(N, 1)``."""
    if discrete:
        return float(ibf.discrete_mi(codes, y))
    if np.ptp(y) == 0 or np.ptp(codes) == 0:
        return 0.0
    return float(ibf.mixed_ksg_mi(y, codes, k, seed=seed))
