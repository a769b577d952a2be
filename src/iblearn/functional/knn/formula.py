"""KSG's formulas from neighbour counts (Kraskov et al. 2004, eqs. 8 and 9), below every module that
counts: the tree and brute-force searches (:mod:`iblearn.functional.knn.counts`) and the bivariate
kernel (:mod:`iblearn.functional.knn.bivariate`) read them from here.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from numpy.typing import NDArray
from scipy.special import digamma
from torch import Tensor


def digamma_f64(t: Tensor) -> Tensor:
    """The digamma function of a tensor of counts, in float64 (the KSG sums' terms)."""
    return torch.special.digamma(t.to(torch.float64))


@lru_cache(maxsize=8)
def digamma_table(n: int) -> NDArray[np.float64]:
    """``digamma(0 .. n + 1)`` by :func:`digamma_f64`, read-only: the terms of N = ``n`` points' counts
    looked up (``table[c + 1]`` is ``psi(c + 1)``), the same numbers as the function of each count."""
    table = digamma_f64(torch.arange(n + 2, dtype=torch.float64)).numpy()
    table.flags.writeable = False
    return table


def psi(v: float) -> float:
    """The digamma function of one number (``psi(k)``, ``psi(N)`` of the KSG formulas)."""
    return float(digamma(v))


def ksg_from_counts(nx: Tensor, ny: Tensor, k: int, variant: int) -> Tensor:
    """KSG eq. (8) (``variant=1``) or (9) from the neighbour counts n_x, n_y of each sample."""
    constant, terms = ksg_terms(nx, ny, k, variant)
    return constant - terms.mean()


def ksg_terms(nx: Tensor, ny: Tensor, k: int, variant: int) -> tuple[float, Tensor]:
    """KSG eq. (8) or (9) as ``constant - < terms >``: ``psi(k) + psi(N)`` and ``psi(n_x + 1) +
    psi(n_y + 1)`` per sample for ``variant=1``, ``psi(k) - 1/k + psi(N)`` and ``psi(n_x) + psi(n_y)``
    for ``variant=2``."""
    return ksg_constant(len(nx), k, variant), ksg_count_terms(nx, ny, variant)


def ksg_constant(n: int, k: int, variant: int) -> float:
    """The constant of KSG eq. (8) (``variant=1``) or (9) for N = ``n`` samples (see :func:`ksg_terms`)."""
    return psi(k) + psi(n) if variant == 1 else psi(k) - 1.0 / k + psi(n)


def ksg_count_terms(nx: Tensor, ny: Tensor, variant: int) -> Tensor:
    """The per-sample terms of KSG eq. (8) (``variant=1``) or (9) (see :func:`ksg_terms`)."""
    return digamma_f64(nx + 1) + digamma_f64(ny + 1) if variant == 1 else digamma_f64(nx) + digamma_f64(ny)
