"""The Frenzel-Pompe conditional MI of many variables x_b against one y and one z at once, in torch on
any device: the surrogates of a candidate in network inference, each estimated against the same
conditioning set.

For every b the estimate is :func:`~iblearn.functional.ksg_cmi`'s (Frenzel & Pompe 2007),

    ``I(X_b; Y | Z) = psi(k) - < psi(n_xz + 1) + psi(n_yz + 1) - psi(n_z + 1) >``,

with eps_i the max-norm distance from sample i to its k-th neighbour in the joint (x_b, y, z) space and
the counts strict (``< eps_i``, the sample itself not counted); with no z it is KSG's estimate of
I(X_b; Y) (Kraskov et al. 2004, eq. 8), as :func:`~iblearn.functional.ksg_mi` gives it. The distances of
y and z, and their maximum, are computed once a chunk of rows and shared by every b; only x_b's change
with b. Chunks of rows keep the matrices alive at once within
:func:`~iblearn.functional.knn.neighbors.chunk_bytes`; on the CPU one b a step (as
:mod:`~iblearn.functional.knn.batched`), elsewhere as many as that memory holds. On a GPU with Triton
the fused kernels count instead, the distances never written (:mod:`iblearn.functional.knn.fused_cmi`).

References:
    S. Frenzel, B. Pompe. Partial mutual information for coupling analysis of multivariate time series.
    Phys. Rev. Lett. 99, 204101 (2007).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from iblearn.functional.knn import fused_cmi
from iblearn.functional.knn.batched import CPU_PAIRINGS
from iblearn.functional.knn.cmi import PreparedCondition
from iblearn.functional.knn.counts import digamma_f64, ksg_chunk_counts, psi, row_chunks
from iblearn.functional.knn.formula import ksg_constant
from iblearn.functional.knn.ksg import ready, ready_columns
from iblearn.functional.knn.neighbors import chebyshev, chunk_bytes, fill_self

#: float64 matrices of (b, rows, N) alive at once in a step: x_b's distances (then their maximum with
#: z's), the joint ones, the k-th neighbour search's work and the comparisons of the counts.
_BLOCKS = 4
#: Matrices of (rows, N) shared by every b: z's distances and those of (y, z).
_SHARED = 2


def _step(b: int, n: int, device: torch.device) -> int:
    """How many b a step: :data:`CPU_PAIRINGS` on the CPU; elsewhere as many whole (N, N) blocks as a
    chunk holds (large samples: one, their rows then split into chunks)."""
    if device.type == "cpu":
        return CPU_PAIRINGS
    whole = chunk_bytes(device) // (8 * n * n)  # (N, N) matrices a chunk holds
    return max(1, min(b, (whole - _SHARED) // _BLOCKS))


def cmi_counts_batched(x: Tensor, y: Tensor, z: Tensor | None, k: int) -> list[Tensor]:
    """The neighbour counts of :func:`ksg_cmi_batched` on prepared samples.

    Args:
        x: ``(B, N, d_x)`` float64, the B variables.
        y: ``(N, d_y)`` float64, on x's device.
        z: ``(N, d_z)`` float64 on x's device, or None (no condition).
        k: neighbours in the joint space, 1 <= k < N.

    Returns:
        ``[n_xz, n_yz, n_z]`` with z, ``[n_x, n_y]`` without: ``(B, N)`` int64 each, on x's device,
        equal to the exact searches' counts of each ``(x[b], y, z)`` (the distances are exact, so every
        device and chunking gives the same).
    """
    if fused_cmi.usable(x, y, z, k):  # a GPU with Triton: the fused kernels, the same counts
        return fused_cmi.cmi_counts_fused(x, y, z, k)
    b, n = x.shape[:2]
    step = _step(b, n, x.device)
    per_chunk: list[list[Tensor]] = []
    for rows in row_chunks(n, _SHARED + _BLOCKS * step, x.device):
        dz = chebyshev(z[rows], z) if z is not None else None
        dyz = chebyshev(y[rows], y)
        if dz is not None:
            dyz = torch.maximum(dyz, dz)
        steps = [_chunk_counts(x[s : s + step], rows, dyz, dz, k) for s in range(0, b, step)]
        per_chunk.append([torch.cat(kind) for kind in zip(*steps, strict=True)])
    return [torch.cat(kind, dim=1) for kind in zip(*per_chunk, strict=True)]


def _chunk_counts(xs: Tensor, rows: Tensor, dyz: Tensor, dz: Tensor | None, k: int) -> list[Tensor]:
    """The counts of the points ``rows`` for the variables ``xs`` ``(b, N, d_x)``, from the rows of the
    shared distance matrices of (y, z) and z ``(R, N)``."""
    dxz = chebyshev(xs[:, rows], xs)
    if dz is None:
        return list(ksg_chunk_counts(dxz, dyz, rows, k, 1))
    dxz = torch.maximum(dxz, dz, out=dxz)
    joint = torch.maximum(dxz, dyz)
    fill_self(joint, rows, -1.0)  # self first
    eps = torch.topk(joint, k + 1, dim=-1, largest=False).values[..., k:]
    del joint
    return [(d < eps).sum(dim=-1) - 1 for d in (dxz, dyz, dz)]


def ksg_cmi_batched(x: Tensor, y: Tensor, z: Tensor | None, k: int) -> Tensor:
    """``ksg_cmi(x[b], y, z, k)`` (``ksg_mi(x[b], y, k)`` where z is None) of every b on prepared
    samples (standardized and jittered as :func:`~iblearn.functional.knn.ksg.prepare` does), the
    formula of the module's notes from :func:`cmi_counts_batched`.

    Args:
        x: ``(B, N, d_x)`` float64; y: ``(N, d_y)``; z: ``(N, d_z)`` or None; all on one device.
        k: neighbours in the joint space, 1 <= k < N.

    Returns:
        ``(B,)`` float64 estimates in nats on x's device. Each one's terms are those of the exact
        estimator in the same order; their mean is torch's over the last dimension of a ``(B, N)``
        tensor, which may sum in another order than the mean of one ``(N,)`` tensor (a few ulps).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> z = torch.randn(500, 1, generator=g, dtype=torch.float64)
        >>> y = z + torch.randn(500, 1, generator=g, dtype=torch.float64)
        >>> x = torch.stack([z + torch.randn(500, 1, generator=g, dtype=torch.float64) for _ in range(3)])
        >>> ksg_cmi_batched(x, y, z, 4).shape
        torch.Size([3])
    """
    n = x.shape[1]
    counts = cmi_counts_batched(x, y, z, k)
    # psi(m + 1) for every count m, looked up: the same numbers as the exact path's.
    psis = digamma_f64(torch.arange(1, n + 1, device=x.device))
    if z is None:
        nx, ny = counts
        return ksg_constant(n, k, 1) - (psis[nx] + psis[ny]).mean(dim=-1)
    nxz, nyz, nz = counts
    return (psi(k) - (psis[nxz] + psis[nyz] - psis[nz])).mean(dim=-1)


def ready_samples(x: Tensor) -> Tensor:
    """:func:`~iblearn.functional.knn.ksg.ready` of every ``x[b]`` (``(B, N, d)`` float64), as the
    exact path makes each (standardized, jittered from seed 0): on the CPU, 1-d samples together in a
    few passes over all of them, the same bits (:func:`~iblearn.functional.knn.ksg.ready_columns`), and
    those it leaves (a constant sample, ties the jitter leaves) one by one."""
    if x.shape[2] != 1 or x.device.type != "cpu":
        return torch.stack([ready(xb, "x", standardize=True, ties="jitter", seed=0) for xb in x])
    columns, done = ready_columns(x[:, :, 0].numpy(), seed=0)
    out = torch.from_numpy(columns).unsqueeze(2)
    for b in np.flatnonzero(~done):
        out[b] = ready(x[b], "x", standardize=True, ties="jitter", seed=0)
    return out


def ksg_cmi_prepared_batched(cond: PreparedCondition, x: Tensor, device: torch.device) -> Tensor:
    """:func:`~iblearn.functional.knn.cmi.ksg_cmi_prepared` of every ``x[b]`` (``(B, N, d_x)`` finite
    float64, unchecked) against ``cond``, counted on ``device``: each x[b] made ready on x's device as
    the exact path makes it (so on the CPU the same samples bit for bit), then moved. ``(B,)`` float64 on
    ``device``, unread: from a CPU x to a CUDA device the samples go through pinned memory and y and z
    are copied once a condition, so nothing here waits on the device, and the host may make the next
    samples ready while the device counts these."""
    xs = ready_samples(x)
    if device.type == "cuda" and xs.device.type == "cpu":
        xs = xs.pin_memory()
    y, z = cond.on(device)
    return ksg_cmi_batched(xs.to(device, non_blocking=True), y, z, cond.k)
