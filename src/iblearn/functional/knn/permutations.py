"""The local permutation test of conditional independence (Runge 2018, Algorithm 1): permutations of
the samples that move each one only among its near neighbours in z, so that a statistic such as
:func:`~iblearn.functional.ksg_cmi` recomputed on x permuted by them draws from its null distribution
under X independent of Y given Z.

References:
    J. Runge. Conditional independence testing based on a nearest-neighbor estimator of conditional
    mutual information. AISTATS 2018, PMLR 84.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn._settings import setting
from iblearn.functional.knn.cmi import continuous_z, z_classes
from iblearn.functional.knn.ksg import prepare
from iblearn.functional.knn.neighbors import Backend, knn_max_tree_dim, kth_neighbour, pick_backend

#: Neighbours in z among which x is permuted for the null distribution: k_perm = 5, Runge (2018)'s
#: setting and tigramite's default.
PERMUTATION_NEIGHBOURS = 5
#: The most indices (permutations times samples) one :func:`local_permutations` call returns: 2 GiB of
#: int64. More permutations than that are drawn in several calls, each with its own seed.
MAX_PERMUTATION_INDICES = 2**28


def local_permutations(
    z: Any,
    n_permutations: int,
    n_neighbours: int = PERMUTATION_NEIGHBOURS,
    *,
    standardize: bool = True,
    backend: Backend = "auto",
    seed: int = 0,
) -> Tensor:
    """Permutations of the samples that move each sample only among near neighbours in z, for the
    null distribution of I(X; Y | Z) under conditional independence (Runge 2018, Algorithm 1).

    A global shuffle of x tests X independent of (Y, Z), a different hypothesis: it destroys the
    dependence of x on z too, so any X-Z dependence would reject. Here each sample i draws its new x
    from the ``n_neighbours`` nearest samples to z_i (itself included, max-norm): the samples are
    visited in random order, each taking the first of its neighbours (in random order) not yet taken,
    or, if all are, a random one of them. A row is therefore not quite a permutation: at k_perm = 5,
    7 - 8% of the samples take an index already taken when z has one dimension, 9 - 12% in three
    (Gaussian or uniform z, N = 100 - 50,000), as in Runge's algorithm and tigramite. Making each row
    a true permutation within the neighbourhoods (by augmenting paths) would cost 4 - 10 times the draw
    at N = 20,000, more than the CMI estimate it feeds. The permuted x keeps p(x | z) approximately
    and loses any dependence on y beyond z. For integer (class) ``z`` the permutation is exact: x is
    shuffled within each class.

    Args:
        z: ``(N, dz)`` floating-point samples, or integer class labels ``(N,)``.
        n_permutations: how many permutations.
        n_neighbours: k_perm, the candidates per sample (Runge 2018: 5).
        standardize, backend: for the neighbour search in z, as in :func:`~iblearn.functional.ksg_cmi`.
        seed: seeds the draws.

    Returns:
        ``(n_permutations, N)`` int64 indices: row p maps sample i to the sample whose x it takes,
        ``x[perm[p]]``; on z's device.

    Example:
        >>> z = torch.arange(10.0)
        >>> perm = local_permutations(z, 3, n_neighbours=3)
        >>> bool(((perm - torch.arange(10)).abs() <= 2).all())  # each moves at most 2 places
        True
    """
    n_permutations = V.positive_int(n_permutations, "n_permutations")
    classes = z_classes(z)
    n = _bounded_count(n_permutations, (classes if classes is not None else continuous_z(z)).shape[0])
    draws = iter_local_permutations(z, n_neighbours, standardize=standardize, backend=backend, seed=seed)
    out = np.empty((n_permutations, n), dtype=np.int64)
    for p in range(n_permutations):
        out[p] = next(draws)
    device = (classes if classes is not None else continuous_z(z)).device
    return torch.from_numpy(out).to(device)


def iter_local_permutations(
    z: Any,
    n_neighbours: int = PERMUTATION_NEIGHBOURS,
    *,
    standardize: bool = True,
    backend: Backend = "auto",
    seed: int = 0,
) -> Iterator[np.ndarray]:
    """:func:`local_permutations`' rows drawn one at a time, as a caller needs them, without end: the
    first n are the n rows of ``local_permutations(z, n, ...)``, each ``(N,)`` int64 on the host. The
    neighbour search in z is made once, at the first row."""
    rng = np.random.default_rng(setting("seed", seed) % 2**64)
    classes = z_classes(z)
    if classes is not None:
        labels = classes.cpu().numpy()
        groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
        while True:
            row = np.empty(len(labels), dtype=np.int64)
            for members in groups:
                row[members] = rng.permutation(members)
            yield row
    zt = prepare(continuous_z(z), "z", standardize=standardize, ties="jitter", seed=seed)
    n = zt.shape[0]
    m = V.positive_int(n_neighbours, "n_neighbours")
    if m > n:
        raise ValueError(f"n_neighbours: {m} exceeds the {n} samples")
    how = pick_backend(backend, zt.device, zt.shape[1], knn_max_tree_dim("chebyshev"))
    if m > 1:
        _, idx = kth_neighbour([zt], m - 1, "chebyshev", how)
        candidates = torch.cat([torch.arange(n, device=idx.device)[:, None], idx], dim=1).cpu().numpy()
    else:
        candidates = np.arange(n)[:, None]
    while True:
        yield _restricted_permutation(rng.permuted(candidates, axis=1), rng.permutation(n))


def _bounded_count(n_permutations: int, n: int) -> int:
    """``n`` if ``n_permutations`` permutations of ``n`` samples fit :data:`MAX_PERMUTATION_INDICES`."""
    if n_permutations * n > MAX_PERMUTATION_INDICES:
        raise ValueError(
            f"n_permutations: {n_permutations} permutations of {n} samples are {n_permutations * n} "
            f"indices, and one call returns at most 2^28 ({MAX_PERMUTATION_INDICES}, 2 GiB of int64); "
            "draw them in several calls with different seeds"
        )
    return n


def _restricted_permutation(candidates: np.ndarray, order: np.ndarray) -> np.ndarray:
    """One draw of Runge's Algorithm 1: in ``order``, each sample takes its first candidate not yet
    used, or its last candidate if all are (a repeat: see :func:`local_permutations`). Plain lists:
    this loop is the scheme's only per-sample Python work (1 - 2 us a sample at N = 20,000)."""
    rows = candidates.tolist()
    used = bytearray(len(rows))
    out = [0] * len(rows)
    for i in order.tolist():
        row = rows[i]
        pick = row[-1]
        for j in row:
            if not used[j]:
                pick = j
                break
        used[pick] = 1
        out[i] = pick
    return np.asarray(out, dtype=np.int64)
