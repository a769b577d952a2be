"""Noise-regularized MI of a deterministic representation, I(X; L(X) + eps) with Gaussian eps.

For a deterministic layer L and continuous X, I(X; L) is infinite; with additive Gaussian noise,

    I(X; L + eps) = h(L + eps) - h(eps),     h(eps) = 1/2 log |2 pi e S_eps|      (Elad et al. 2019, eqs.
    3-4),

a penalty on the entropy of the representation alone. Two tools:

* :func:`linear_gaussian_noisy_mi`: the closed form for a linear layer on a Gaussian input,
  ``1/2 log |W S_x W^T + S_eps| - 1/2 log |S_eps|`` (Elad et al. 2019, eq. 5).
* :func:`noisy_mi_bounds`: for X uniform over N samples (the finite training set), L + eps is a
  mixture of N Gaussians, whose entropy is bracketed by pairwise distances (Kolchinsky & Tracey 2017,
  "Estimating mixture entropy with pairwise distances"); this is the noisy estimator Saxe et al. (2018)
  used for information planes. Differentiable in the representation.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn.functional.scale import power_of_two_scale


def linear_gaussian_noisy_mi(weight: Any, cov_x: Any, noise_std: float) -> Tensor:
    """I(X; W X + b + eps) in nats for X ~ N(mu, cov_x) and eps ~ N(0, noise_std^2 I) (Elad et al.
    2019, eq. 5).

    The bias b does not matter. Shrinks to 0 as W -> 0, which is why the penalty acts like weight decay.

    Example:
        >>> w = torch.tensor([[2.0, 0.0]])
        >>> round(float(linear_gaussian_noisy_mi(w, torch.eye(2), 1.0)), 4)  # 1/2 log(4 + 1)
        0.8047
    """
    w = V.as_tensor(weight, "weight").to(torch.float64)
    if w.ndim != 2:
        raise ValueError(f"weight: expected a matrix (out, in), got shape {tuple(w.shape)}")
    if not bool(torch.isfinite(w).all()):
        raise ValueError("weight: contains NaN or Inf")
    cov = V.covariance(cov_x, "cov_x")
    if cov.shape != (w.shape[1], w.shape[1]):
        raise ValueError(
            f"cov_x: expected shape {(w.shape[1], w.shape[1])} to match weight, got {tuple(cov.shape)}"
        )
    V.same_device(("weight", w), ("cov_x", cov))
    # 1/2 log |W S W^T / s^2 + I| with W / s: the square of a noise_std above 1e154 overflows a float.
    w = w / V.positive(noise_std, "noise_std")
    # Positive definite, since cov_x is.
    out = w @ cov @ w.T + torch.eye(w.shape[0], dtype=w.dtype, device=w.device)
    return 0.5 * torch.logdet(out)


def noisy_mi_bounds(representation: Any, noise_std: float) -> tuple[Tensor, Tensor]:
    """Lower and upper bounds, in nats, on I(X; L + eps) for X uniform over the N given samples.

    With d_ij the distances between the representations l_i (rows of ``representation``, flattened):

        upper = -1/N sum_i log( 1/N sum_j exp(-d_ij^2 / (2 s^2)) )   (KL divergences)
        lower = -1/N sum_i log( 1/N sum_j exp(-d_ij^2 / (8 s^2)) )   (Bhattacharyya distances)

    Both lie in [0, log N]; they approach each other as the noise grows.

    Example:
        >>> lo, hi = noisy_mi_bounds(torch.tensor([[0.0], [10.0]]), 0.1)  # two far-apart points
        >>> round(float(lo), 4), round(float(hi), 4)  # log 2: the noise cannot blur them
        (0.6931, 0.6931)
    """
    t = V.continuous(representation, "representation", allow_grid=True)
    # Centred, since the expansion of |l_i - l_j|^2 below cancels terms of the size of |l|^2 (an offset
    # far above the spread, e.g. non-negative ReLU activations, would wipe out the distances), and in at
    # least float32, where |l|^2 of float16 activations would overflow.
    t = t.reshape(t.shape[0], -1)
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    noise_std = V.positive(noise_std, "noise_std")
    # The bounds depend on distances over the noise alone: both are divided by an exact power of two
    # near the larger of the two, since squares overflow from about 1e154 (float64; 1e19 in float32)
    # and vanish below 1e-154 (NaN bounds at 1e-200). A noise more than the dtype's range below the data
    # is clamped to its smallest normal number: every distinct pair is then beyond its blur anyway.
    scale = max(
        float(power_of_two_scale(t)), float(power_of_two_scale(torch.tensor(noise_std, dtype=torch.float64)))
    )
    t = t / scale
    t = t - t.mean(dim=0)
    s2 = max((noise_std / scale) ** 2, torch.finfo(t.dtype).tiny)
    sq = (t * t).sum(dim=1)
    n = t.shape[0]
    off = 1 - torch.eye(n, dtype=t.dtype, device=t.device)  # exact zero self-distances: bounds <= log N
    d2 = (sq[:, None] + sq[None, :] - 2 * t @ t.T).clamp_min(0) * off

    def bound(spread: float) -> Tensor:
        return -(torch.logsumexp(-d2 / spread, dim=1) - math.log(n)).mean()

    return bound(8 * s2), bound(2 * s2)
