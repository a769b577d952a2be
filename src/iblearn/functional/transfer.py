"""Transfer entropy between time series, as a conditional mutual information.

References:
    T. Schreiber. Measuring information transfer. Phys. Rev. Lett. 85, 461 (2000): the definition.
    S. Frenzel, B. Pompe. Phys. Rev. Lett. 99, 204101 (2007): its nearest-neighbour estimate as a
    conditional MI (:func:`iblearn.functional.ksg_cmi`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn.functional._neighbors import Backend
from iblearn.functional.cmi import _ksg_cmi
from iblearn.functional.knn import Ties


def transfer_entropy(
    source: Any,
    target: Any,
    lag: int = 1,
    history: int = 1,
    k: int = 3,
    *,
    standardize: bool = True,
    ties: Ties = "jitter",
    backend: Backend = "auto",
    seed: int = 0,
) -> Tensor:
    """Transfer entropy from ``source`` to ``target`` in nats, estimated by :func:`ksg_cmi`:

        ``TE = I(target_t ; source_{t-lag} | target_{t-1}, ..., target_{t-history})``,

    what the source's past tells about the target's present beyond the target's own past (Schreiber
    2000, eq. 4, with one source sample at ``lag``). One sample per t from ``max(lag, history)`` to
    T - 1, so ``T - max(lag, history)`` samples; they are successive, not independent, so the
    estimator's variance is larger than for as many independent samples.

    Args:
        source: ``(T,)`` or ``(T, d_s)`` series, rows in time order.
        target: ``(T,)`` or ``(T, d_t)`` series of the same length.
        lag: delay of the source sample, at least 1.
        history: past target samples conditioned on, at least 1.
        k, standardize, ties, backend, seed: as in :func:`iblearn.functional.ksg_cmi`.

    Returns:
        0-d float64 tensor, nats.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(3000, generator=g)
        >>> y = torch.zeros(3000)
        >>> y[1:] = 0.8 * x[:-1] + 0.6 * torch.randn(2999, generator=g)  # x drives y one step later
        >>> te_xy, te_yx = transfer_entropy(x, y), transfer_entropy(y, x)
        >>> round(float(te_xy), 1), abs(float(te_yx)) < 0.05  # truth: log(1 / 0.6) = 0.51, and 0
        (0.5, True)
    """
    lag, history = V.positive_int(lag, "lag"), V.positive_int(history, "history")
    k = V.positive_int(k, "k")
    src, tgt = V.continuous(source, "source").detach(), V.continuous(target, "target").detach()
    length = V.same_length(("source", src), ("target", tgt))
    V.same_device(("source", src), ("target", tgt))
    for value, name in ((lag, "lag"), (history, "history")):
        if value >= length:
            raise ValueError(f"{name}: must be below the series length, {length} steps; got {value}")
    start = max(lag, history)
    n = length - start
    if n <= k:
        raise ValueError(
            f"target: a series of {length} steps leaves {n} samples after lag={lag} and history={history}; "
            f"k={k} needs more than {k}"
        )
    present = tgt[start:]
    past_source = src[start - lag : length - lag]
    past_target = torch.cat([tgt[start - j : length - j] for j in range(1, history + 1)], dim=1)
    names = ("target", "source", "target")  # its present, the source's past, its own past
    return _ksg_cmi(present, past_source, past_target, k, standardize, ties, backend, seed, names)
