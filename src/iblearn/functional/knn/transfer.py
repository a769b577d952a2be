"""Transfer entropy between time series, as a conditional mutual information.

References:
    T. Schreiber. Measuring information transfer. Phys. Rev. Lett. 85, 461 (2000): the definition.
    S. Frenzel, B. Pompe. Phys. Rev. Lett. 99, 204101 (2007): its nearest-neighbour estimate as a
    conditional MI (:func:`iblearn.functional.ksg_cmi`).
    J. T. Lizier, M. Prokopenko, A. Y. Zomaya. Local information transfer as a spatiotemporal filter for
    complex systems. Phys. Rev. E 77, 026110 (2008): the local transfer entropy.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Unpack

import numpy as np
import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn._settings import setting
from iblearn.functional.knn import pair_batches
from iblearn.functional.knn.cmi import ksg_cmi_named
from iblearn.functional.knn.options import KNNKeywords, KNNOptions
from iblearn.functional.scale import power_of_two_scale
from iblearn.parallel import Progress, check_n_jobs, map_batches, store_for


def ksg_transfer_entropy(
    source: Any,
    target: Any,
    lag: int = 1,
    history: int = 1,
    k: int = 3,
    *,
    local: bool = False,
    **options: Unpack[KNNKeywords],
) -> Tensor:
    """Transfer entropy from ``source`` to ``target`` in nats, estimated by :func:`ksg_cmi`:

        ``TE = I(target_t ; source_{t-lag} | target_{t-1}, ..., target_{t-history})``,

    what the source's past tells about the target's present beyond the target's own past (Schreiber
    2000, eq. 4, with one source sample at ``lag``). One sample per t from ``max(lag, history)`` to
    T - 1, so ``T - max(lag, history)`` samples; they are successive, not independent, so the
    estimator's variance is larger than for as many independent samples. The target's present and the
    source's past enter as their residuals from a linear fit on the target's past
    (:func:`partialled`), which leaves the TE as it is and keeps the kNN counts from reading it far too
    low on slowly mixing series.

    Args:
        source: ``(T,)`` or ``(T, d_s)`` series, rows in time order.
        target: ``(T,)`` or ``(T, d_t)`` series of the same length.
        lag: delay of the source sample, at least 1.
        history: past target samples conditioned on, at least 1.
        k, **options: as in :func:`iblearn.functional.ksg_cmi`.
        local: return the local transfer entropy (Lizier et al. 2008), one value per embedded time
            point t = ``max(lag, history)``, ..., T - 1 in that order, whose mean is the estimate: the
            local values of :func:`~iblearn.functional.ksg_cmi` on the samples above, the residuals
            included.

    Returns:
        0-d float64 tensor, nats; with ``local``, ``(T - max(lag, history),)`` float64.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(3000, generator=g)
        >>> y = torch.zeros(3000)
        >>> y[1:] = 0.8 * x[:-1] + 0.6 * torch.randn(2999, generator=g)  # x drives y one step later
        >>> te_xy, te_yx = ksg_transfer_entropy(x, y), ksg_transfer_entropy(y, x)
        >>> round(float(te_xy), 1), abs(float(te_yx)) < 0.05  # truth: log(1 / 0.6) = 0.51, and 0
        (0.5, True)
    """
    opts = KNNOptions(**options)
    present, past_source, past_target = partialled(*embedding(source, target, lag, history, k))
    names = ("target", "source", "target")  # its present, the source's past, its own past
    return ksg_cmi_named(present, past_source, past_target, k, opts, names, local=V.flag(local, "local"))


#: A residual whose spread is below this share of its column's is what is left of a column that the
#: past determines: the column is kept as it is rather than made of rounding error.
DETERMINED = 1e-9


def partialled(present: Tensor, past_source: Tensor, past_target: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The samples of :func:`embedding` with the target's present and the source's past replaced by
    their residuals from a least-squares fit on the target's past (and a constant), in float64.

    For each value z of the target's past, ``(y, x) -> (y - B z, x - C z)`` is a shift, invertible, so
    ``I(Y - B Z; X - C Z | Z) = I(Y; X | Z)`` for any B and C: the transfer entropy is unchanged. The
    kNN estimate is not: a present that follows its own past closely (a slowly mixing series) puts the
    samples near a thin ridge in the joint space, where the neighbour counts read the conditional MI
    far too low; the residuals take the linear part of that dependence away.
    """
    # Each in units of an exact power of two: the solver drops a column of 1e-20 beside the constant's 1
    # as rank deficient, and products of 1e160 overflow.
    z = past_target.detach().cpu().double()
    z = z - z.mean(dim=0)
    design = torch.cat([torch.ones(len(z), 1, dtype=torch.float64), z / power_of_two_scale(z)], dim=1)
    out = []
    for t in (present, past_source):
        raw = t.detach().cpu().double()
        unit = power_of_two_scale(raw)
        coef = torch.linalg.lstsq(design, raw / unit, driver="gelsd").solution
        residual = raw / unit - design @ coef
        # Columns the past determines (up to rounding), constant ones among them, keep their values:
        # see DETERMINED.
        spread = (raw / unit).std(dim=0)
        keep = (residual.std(dim=0) <= DETERMINED * spread) | (spread == 0)
        out.append(torch.where(keep, raw, residual * unit).to(t.device))
    return out[0], out[1], past_target


def within_series(length: int, lag: int, history: int) -> None:
    """Refuse a ``lag`` or a ``history`` that reaches back past a series of ``length`` steps (of trials,
    the shortest), naming it."""
    for value, name in ((lag, "lag"), (history, "history")):
        if value >= length:
            raise ValueError(f"{name}: must be below the series length, {length} steps; got {value}")


def embedding(source: Any, target: Any, lag: int, history: int, k: int) -> tuple[Tensor, Tensor, Tensor]:
    """The samples of :func:`ksg_transfer_entropy`, checked: the target's present ``(n, d_t)``, the source's
    past ``(n, d_s)`` and the target's own past ``(n, history d_t)``, ``n = T - max(lag, history)``."""
    lag, history, k = setting("lag", lag), setting("history", history), setting("k", k)
    src = V.series(source, "source").detach()
    tgt = V.series(target, "target").detach()
    length = V.same_length(("source", src), ("target", tgt))
    V.same_device(("source", src), ("target", tgt))
    within_series(length, lag, history)
    start = max(lag, history)
    n = length - start
    if n <= k:
        raise ValueError(
            f"target: a series of {length} steps leaves {n} samples after lag={lag} and history={history}; "
            f"k={k} needs more than {k}"
        )
    dims = (history + 1) * tgt.shape[1] + src.shape[1]
    if n <= dims:
        # Fewer samples than the joint space's dimensions: every neighbour count is the same and the
        # estimate reads 0 whatever the coupling.
        raise ValueError(
            f"history: {history} steps of history leave {n} samples of a {length}-step series in "
            f"{dims} joint dimensions; a conditional MI needs more samples than dimensions: use a shorter "
            "history or a longer series"
        )
    present = tgt[start:]
    past_source = src[start - lag : length - lag]
    past_target = torch.cat([tgt[start - j : length - j] for j in range(1, history + 1)], dim=1)
    return present, past_source, past_target


#: Ordered pairs per batch of :func:`transfer_entropy_matrix`.
PAIRS_PER_BATCH = 32


def transfer_entropy_matrix(
    series: Any,
    lag: int = 1,
    history: int = 1,
    k: int = 3,
    *,
    n_jobs: int | None = None,
    progress: Progress = False,
    checkpoint: str | os.PathLike[str] | None = None,
    **options: Unpack[KNNKeywords],
) -> Tensor:
    """The transfer entropy from every series to every other: entry ``[i, j]`` is
    ``ksg_transfer_entropy(series[i], series[j], ...)`` with the same settings (NaN on the diagonal).

    Args:
        series: ``(T, m)`` samples, one series a column, or a sequence of m ``(T,)`` / ``(T, d_i)``
            series.
        lag, history, k, **options: as for :func:`ksg_transfer_entropy` (each entry
            equals that call's value).
        n_jobs, progress, checkpoint: as for :func:`~iblearn.functional.pairwise_mi` (batches of 32
            ordered pairs); the matrix does not depend on ``n_jobs`` or the backend.

    Returns:
        ``(m, m)`` float64 tensor, nats.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(2000, 3, generator=g)
        >>> x[1:, 1] += 0.8 * x[:-1, 0]  # series 0 drives series 1 one step later
        >>> te = transfer_entropy_matrix(x)  # te[0, 1]: truth log(1 + 0.8^2) / 2 = 0.25, the others 0
        >>> bool(te[0, 1] > 0.2 and te[1:, 0].abs().max() < 0.1 and te[2, 2].isnan())
        True
    """
    opts = KNNOptions(**options)
    if isinstance(series, Tensor | np.ndarray):
        t = V.series(series, "series")
        if t.ndim != 2:
            raise ValueError(f"series: expected (T, m) samples or a sequence of series, got {tuple(t.shape)}")
        named = [(f"series[:, {i}]", t[:, i]) for i in range(t.shape[1])]
    elif isinstance(series, Sequence) and not isinstance(series, str):
        named = [(f"series[{i}]", V.series(s, f"series[{i}]")) for i, s in enumerate(series)]
    else:
        what = type(series).__name__
        raise ValueError(f"series: expected (T, m) samples or a sequence of series, got {what}")
    if len(named) < 2:
        raise ValueError(f"series: transfer entropy between series needs at least 2, got {len(named)}")
    m = len(named)
    V.same_length(*named)
    check_n_jobs(n_jobs)
    pairs = [(i, j) for i in range(m) for j in range(m) if i != j]
    jobs, batches = [], []
    for s in range(0, len(pairs), PAIRS_PER_BATCH):
        batch = pairs[s : s + PAIRS_PER_BATCH]
        used, local = pair_batches.used_by(batch)
        shipped = [(named[i][0], named[i][1].detach().cpu().numpy()) for i in used]
        settings = (lag, history, k, opts)
        jobs.append((shipped, local, settings))
        batches.append(batch)
    key = dict(
        lag=lag, history=history, k=k, standardize=opts.standardize, ties=opts.ties, seed=opts.seed, m=m
    )
    store = store_for(checkpoint, [v for _, v in named], key)
    values = map_batches(
        _te_batch, jobs, n_jobs, progress=progress, sizes=[len(b) for b in batches], store=store, what="pairs"
    )
    out = torch.full((m, m), float("nan"), dtype=torch.float64)
    for batch, value in zip(batches, values, strict=True):
        for (a, b), v in zip(batch, np.asarray(value).tolist(), strict=True):
            out[a, b] = v
    return out


def _te_batch(series: list[tuple[str, Any]], pairs: list[tuple[int, int]], settings: tuple[Any, ...]) -> Any:
    lag, history, k, opts = settings
    values = []
    for a, b in pairs:
        (name_a, source), (name_b, target) = series[a], series[b]
        try:
            te = ksg_transfer_entropy(source, target, lag, history, k, **opts.keywords())
        except ValueError as e:  # name the series as the caller gave them
            raise ValueError(f"{name_a} (source) -> {name_b} (target): {e}") from None
        values.append(float(te))
    return np.asarray(values)
