"""Nearest-neighbour estimators: KSG mutual information, Kozachenko-Leonenko entropy, and the
mixed continuous-discrete MI of Ross (2014).

References:
    A. Kraskov, H. Stoegbauer, P. Grassberger. Estimating mutual information. Phys. Rev. E 69, 066138
    (2004): eq. (8) is algorithm 1, eq. (9) algorithm 2, eq. (20) the entropy estimator.
    B. C. Ross. Mutual information between discrete and continuous data sets. PLoS ONE 9, e87357 (2014).

All functions compute in float64 and return a 0-d float64 tensor in nats on the input's device.
The neighbour counts and KSG's formula on them are in :mod:`iblearn.functional.knn.counts`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, NamedTuple, Unpack

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from iblearn import _checks as V
from iblearn._settings import setting
from iblearn._threads import one_torch_thread
from iblearn.functional.knn import bivariate
from iblearn.functional.knn.counts import (
    digamma_f64,
    ksg_constant,
    ksg_count_terms,
    ksg_counts_brute,
    ksg_counts_tree,
    ksg_from_counts,
    ksg_terms,
    psi,
)
from iblearn.functional.knn.mixed import mixed_counts_brute
from iblearn.functional.knn.neighbors import (
    HAVE_KERNEL,
    KERNEL_MAX_DIM,
    PART_POINTS,
    TREE_MAX_DIM,
    Backend,
    Metric,
    count_in_index,
    count_within,
    knn_max_tree_dim,
    kth_neighbour,
    ordered_index,
    pick_backend,
)
from iblearn.functional.knn.options import KNNKeywords, KNNOptions, Ties
from iblearn.functional.scale import constant_columns, power_of_two_at_most

#: Relative size of the noise that breaks ties (as scikit-learn and NPEET do, and Vasudevan (2020) describes).
JITTER = 1e-10
#: Rounds of jitter for the rows that a round left still tied: one almost always suffices, and each
#: leaves a row tied with a chance of about its level's count over the ~1e6 values a jitter spans near it
#: (2.5% for 25,000 tied rows), so that none survives these many.
REJITTER_ROUNDS = 12


def prepare(value: Any, name: str, *, standardize: bool, ties: Ties, seed: int) -> Tensor:
    """Validate a continuous sample and make it ready for neighbour searches.

    Columns are centred, which leaves every distance as it is but keeps small differences
    representable (at 1e12 plus small integers, a jitter of 1e-10 standard deviations would otherwise
    round away), and scaled to unit standard deviation if ``standardize`` (constant columns are left
    alone: they add nothing to any distance). A variable whose every column is constant is rejected,
    since all its distances are zero. Ties violate the continuity that the kNN estimators assume: with
    ``ties="jitter"`` every sample gets Gaussian noise of relative size :data:`JITTER`, as scikit-learn
    and NPEET add, drawn from a generator on the data's device seeded with ``seed`` (so the estimate is
    reproducible on that device). It breaks duplicate rows and tied distances alike (lattice data: on
    1,000 distinct rows of 6 values in {0..3}, KSG said 1.02 nats unjittered, 0.61 - 0.62 jittered),
    and leaves the neighbour counts of continuous data as they are. Rows that the noise happens to leave
    equal are jittered again from the same generator. With ``ties="raise"`` duplicate rows raise and
    nothing is jittered.
    The result is detached: these estimators are not differentiable.
    """
    V.choice(ties, "ties", ("jitter", "raise"))
    standardize, seed = V.flag(standardize, "standardize"), setting("seed", seed)
    # Not differentiable (counts of neighbours), so a layer's activations may come with a graph.
    t = V.several_rows(V.continuous(value, name), name).detach().to(torch.float64)
    return ready(t, name, standardize=standardize, ties=ties, seed=seed)


def ready(t: Tensor, name: str, *, standardize: bool, ties: Ties, seed: int) -> Tensor:
    """:func:`prepare`'s work on a sample its checks passed: ``(N, d)`` finite float64 of two rows or
    more, the settings valid. Callers that check their data once and estimate on it many times (the
    greedy search of network inference) call it directly, with the same result bit for bit."""
    if standardize and ties == "jitter" and t.shape[1] == 1 and t.device.type == "cpu":
        column = _ready_column(t, seed)
        if column is not None:
            return column
    return _ready_tensor(t, name, standardize=standardize, ties=ties, seed=seed)


def _ready_column(t: Tensor, seed: int) -> Tensor | None:
    """:func:`ready` of one CPU column, standardized and jittered, the same bits in fewer operations:
    the exact steps (the power-of-two scale, quotients, differences, products) in numpy, torch's mean,
    standard deviation and noise on the same numbers. None where the general path has more to do: a
    constant column, a zero spread, rows the jitter leaves tied."""
    a = _jittered_column(t, seed)
    if a is None:
        return None
    values = np.sort(a[:, 0])
    return None if bool((values[1:] == values[:-1]).any()) else torch.from_numpy(a)


def _jittered_column(t: Tensor, seed: int) -> NDArray[np.float64] | None:
    """:func:`_ready_column` before its test for tied rows: the column standardized and jittered; None
    for a constant column or a zero spread."""
    a = t.numpy()
    if a.dtype != np.float64 or bool((a == a[0]).all()):
        return None
    _, exponent = np.frexp(np.abs(a).max())
    a = a / np.ldexp(1.0, int(exponent) - 1)  # power_of_two_scale: exact
    a = a - torch.from_numpy(a).mean(dim=0).numpy()
    std = float(torch.from_numpy(a).std(dim=0, unbiased=False))
    if not std > 0:
        return None
    # The general path's JITTER * std, with std 1 after standardizing.
    return a / std + JITTER * _noise(seed, a.shape[0])


def ranked_column(
    t: Tensor, key: NDArray[np.int64], size: int, seed: int, order: NDArray[np.int64] | None = None
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]] | None:
    """:func:`ready` of the CPU column ``t (N, 1)`` (standardized, jittered from ``seed``), the order
    of its values, taken from ``key``: distinct integers in ``[0, size)`` in the order of its values (the
    ranks of the rows among more rows), and its values in that order. ``order``: :func:`key_order` of
    ``key`` where the caller has it. None where the prepared values do not read strictly increasing in
    that order (keys repeated or out of order, values the jitter left tied), or :func:`ready` takes
    its general path (a constant column): then the order is not known, and the caller sorts."""
    n = len(t)
    if len(key) != n or t.device.type != "cpu" or t.dtype != torch.float64 or t.requires_grad:
        return None
    a = _jittered_column(t, seed)
    if a is None:
        return None
    order = key_order(key, size) if order is None else order
    if order is None or len(order) != n:
        return None
    ordered = a[order, 0]
    return (a, order, ordered) if _increasing(ordered) else None


def column_ranks(columns: Sequence[Tensor]) -> NDArray[np.int64] | None:
    """Each column's ranks among its rows ``(m, N)`` (ties by position), from which
    :func:`ranked_columns` takes a column's order on any of those rows without a sort; None where the
    columns are not single CPU float64 columns or the compiled kernel is missing (the shortcuts need
    both)."""
    return bivariate.sorted_ranks(columns)[1] if bivariate.usable(columns) else None


def ranked_columns(
    columns: Sequence[Tensor],
    keys: Sequence[NDArray[np.int64]],
    size: int,
    seed: int,
    orders: Sequence[NDArray[np.int64] | None] | None = None,
) -> tuple[list[NDArray[np.float64]], list[NDArray[np.int64]]] | None:
    """:func:`ranked_column` of each column, the i-th jittered from ``seed + i`` (as
    :func:`prepare_samples` jitters them) and ordered by ``keys[i]`` (``orders[i]``, its
    :func:`key_order`, where known): the prepared columns ``(N, 1)`` and their ascending orders; None
    where one declines or is not a single column (the caller then prepares and sorts them)."""
    known = [None] * len(columns) if orders is None else list(orders)
    if not len(keys) == len(known) == len(columns) or any(t.ndim != 2 or t.shape[1] != 1 for t in columns):
        return None
    prepared, ascending = [], []
    for i, (t, key, order) in enumerate(zip(columns, keys, known, strict=True)):
        found = ranked_column(t, key, size, seed + i, order)
        if found is None:
            return None
        prepared.append(found[0])
        ascending.append(found[1])
    return prepared, ascending


def key_order(key: NDArray[np.int64], size: int) -> NDArray[np.int64] | None:
    """The positions of ``key`` (integers in ``[0, size)``) in ascending order of their keys, by one
    pass over ``[0, size)``; None where a key repeats."""
    at = np.full(size, -1, dtype=np.int64)
    at[key] = np.arange(len(key))
    # The filled places' indices, then a gather: a boolean mask's selection takes longer (a branch a place).
    order = at[np.flatnonzero(at >= 0)]
    return order if len(order) == len(key) else None


def _increasing(values: NDArray[np.float64]) -> bool:
    return bool((values[1:] > values[:-1]).all())


def ksg_mi_ranked(
    x: Tensor,
    y: Tensor,
    keys: Sequence[NDArray[np.int64]],
    size: int,
    k: int,
    seed: int,
    orders: Sequence[NDArray[np.int64] | None] | None = None,
) -> float | None:
    """``ksg_mi(x, y, k, seed=seed)`` (variant 1, the default settings) of CPU samples whose columns'
    orders are known, the same value to the last bit without sorting them: ``keys`` holds for each
    column (x's, then y's) distinct integers in ``[0, size)`` in the order of its values (the ranks of a
    column's rows among all its rows, for some of those rows: a half of normal scores, or two halves
    side by side). The keys' order is taken for the prepared column's only where the prepared values
    read strictly increasing in it (then no two are tied, and it is their sort); ``orders`` gives, for
    a column whose keys an earlier call on the same rows ordered, that order (:func:`key_order` of its
    key; None for one to find). Two single columns are
    scanned in one pass (:mod:`~iblearn.functional.knn.bivariate`); wider samples are searched on the
    compiled kernel. None where the shortcut does not hold (another shape or device,
    keys not distinct or out of order, a constant column, ``k`` out of range, distances that overflow):
    the caller then calls :func:`ksg_mi`, which gives that value or the error."""
    n = len(x)
    if not (isinstance(k, int) and 1 <= k < n) or len(y) != n or x.ndim != 2 or y.ndim != 2:
        return None
    if len(keys) != x.shape[1] + y.shape[1]:
        return None
    known = [None] * len(keys) if orders is None else list(orders)
    if len(known) != len(keys):
        return None
    if x.shape[1] > 1 or y.shape[1] > 1:
        return _ksg_mi_ordered(x, y, keys, size, k, seed, known)
    terms = pair_terms_ranked(x, y, keys, size, k, seed, known)
    return None if terms is None else ksg_of_terms(terms, k)


def ksg_of_terms(terms: NDArray[np.float64] | Tensor, k: int) -> float:
    """KSG eq. (8) from its per-row terms ``psi(n_x + 1) + psi(n_y + 1)`` (:func:`pair_terms_ranked`,
    :func:`pair_terms`): ``psi(k) + psi(N)`` less their mean, torch's mean as ``ksg_from_counts`` takes
    it."""
    t = terms if isinstance(terms, Tensor) else torch.from_numpy(terms)
    return float(ksg_constant(len(t), k, 1) - t.mean())


def pair_terms(x: Tensor, y: Tensor, k: int, seed: int) -> Tensor:
    """KSG eq. (8)'s per-row terms ``psi(n_x + 1) + psi(n_y + 1)`` ``(N,)`` of ``ksg_mi(x, y, k,
    seed=seed)`` (variant 1, the default settings), from the same count, on the data's device:
    :func:`ksg_of_terms` of them is that estimate to the last bit, and their spread over sqrt(N) its
    first-order standard error. Raises what :func:`ksg_mi` raises."""
    k, nx, ny = _ksg_counts(x, y, k, 1, KNNOptions(seed=seed))
    return ksg_count_terms(nx, ny, 1)


def pair_terms_ranked(
    x: Tensor,
    y: Tensor,
    keys: Sequence[NDArray[np.int64]],
    size: int,
    k: int,
    seed: int,
    orders: Sequence[NDArray[np.int64] | None],
) -> NDArray[np.float64] | None:
    """KSG eq. (8)'s per-row terms ``psi(n_x + 1) + psi(n_y + 1)`` ``(N,)`` of two single columns whose
    orders are known, as :func:`ksg_mi_ranked` reads them (its arguments; ``orders`` one a column,
    None where unknown): the estimate is ``psi(k) + psi(N)`` less their mean (:func:`ksg_of_terms`), and
    the per-row local MI (``ksg_mi(..., local=True)``) that less each. None where the shortcut does not
    hold."""
    n = len(x)
    if not (isinstance(k, int) and 1 <= k < n) or len(y) != n or len(keys) != 2 or len(orders) != 2:
        return None
    if not (bivariate.usable([x, y]) and (torch.get_num_threads() == 1 or n <= PART_POINTS)):
        return None
    ordered, ranks = np.empty((2, n)), np.empty((2, n), dtype=np.int64)
    for i, (t, key) in enumerate(zip((x, y), keys, strict=True)):
        found = ranked_column(t, key, size, seed + i, orders[i])
        if found is None:
            return None
        _, order, ordered[i] = found
        ranks[i, order] = np.arange(n)
    # The scan forms the terms itself.
    return bivariate.pair_terms(ordered, ranks, k)


def _ksg_mi_ordered(
    x: Tensor,
    y: Tensor,
    keys: Sequence[NDArray[np.int64]],
    size: int,
    k: int,
    seed: int,
    known: Sequence[NDArray[np.int64] | None],
) -> float | None:
    """:func:`ksg_mi_ranked` of wider samples, on the compiled kernel: the k-th neighbour searched as
    :func:`ksg_mi` searches it, and each side's counts laid out from its columns' known orders
    (:func:`~iblearn.functional.knn.neighbors.ordered_index`; ``known``: those the caller found, else
    None). A side is made ready as :func:`ready` makes it, bar the search for tied rows: where each
    column reads strictly increasing in its keys' order no two rows are equal, and that search would
    have found none."""
    if not HAVE_KERNEL or pick_backend("auto", x.device, x.shape[1] + y.shape[1], KERNEL_MAX_DIM) != "tree":
        return None
    sides: list[Tensor] = []
    orders: list[NDArray[np.int64]] = []
    for i, t in enumerate((x, y)):
        if t.device.type != "cpu" or t.dtype != torch.float64 or t.requires_grad:
            return None
        scaled = _scaled(t, standardize=True)
        if scaled is None:
            return None
        ready_t = _jittered(*scaled, seed + i)[0]
        side = ready_t.numpy()
        for j in range(t.shape[1]):
            order = known[len(orders)]
            order = key_order(keys[len(orders)], size) if order is None else order
            if order is None or len(order) != len(t) or not _increasing(side[order, j]):
                return None
            orders.append(order)
        sides.append(ready_t)
    eps, _ = kth_neighbour(sides, k, "chebyshev", "tree")
    if not bool(((eps > 0) & torch.isfinite(eps)).all()):
        return None
    radius, dx = eps.numpy(), x.shape[1]
    nx, ny = (
        count_in_index(ordered_index(t.numpy(), part), radius, False)
        for t, part in ((sides[0], orders[:dx]), (sides[1], orders[dx:]))
    )
    return float(ksg_from_counts(nx, ny, k, 1))


#: The longest rows :func:`ready_columns` makes ready (torch's grain of a reduction, 32,768).
READY_COLUMNS_MAX_N = 32768


def ready_columns(
    a: NDArray[np.float64], seed: int | Sequence[int]
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """:func:`ready` (standardized, jittered from ``seed``, or from ``seed[b]`` for row b where a seed a
    row is given) of each row of ``a`` ``(B, N)`` as one CPU
    column, the same bits, for all rows at once: ``(B, N)``, and which rows are done; the others (a
    constant row, a zero spread, rows the jitter leaves tied) need :func:`ready` of their own. The
    steps are :func:`_ready_column`'s on every row: the mean is torch's (its sum of each contiguous row
    is that of the column alone), and the standard deviation torch's of one column, the mean of the
    centred values and then the sum of their squared deviations in order (a cumulative sum's last)."""
    a = np.asarray(a, dtype=np.float64)
    high, low = a.max(axis=1), a.min(axis=1)
    # Torch sums longer columns' squared deviations in parts (its grain): those rows go alone.
    done = (high != low) & (a.shape[1] <= READY_COLUMNS_MAX_N)
    _, exponent = np.frexp(np.maximum(high, -low))  # the largest absolute value's
    # A copy, then each step in place on it or on one more (the same operations in the same order, so
    # the same bits): fewer arrays of the rows' size, which cost more to allocate than to fill.
    a = a / np.ldexp(1.0, exponent - 1)[:, None]
    a -= torch.from_numpy(a).mean(dim=1).numpy()[:, None]
    work = a - torch.from_numpy(a).mean(dim=1).numpy()[:, None]  # the deviations
    np.multiply(work, work, out=work)
    std = np.sqrt(np.cumsum(work, axis=1, out=work)[:, -1] / a.shape[1])
    done &= std > 0
    n = a.shape[1]
    if isinstance(seed, Sequence):
        noise = np.array([_noise(int(s), n)[:, 0] for s in seed]).reshape(-1, n)
    else:
        noise = _noise(int(seed), n)[:, 0]
    a /= np.where(done, std, 1.0)[:, None]
    a += JITTER * noise
    # Ties the jitter left: the rows sorted where the deviations were.
    np.copyto(work, a)
    work.sort(axis=1)
    done &= ~(work[:, 1:] == work[:, :-1]).any(axis=1)
    return a, done


#: The most values of a noise :func:`_cpu_noise` keeps (8 MB each).
NOISE_CACHE_MAX = 2**20
#: The most noises :func:`_cpu_noise` keeps: the automatic conditional MI's estimate and checks draw 9
#: (x, y and z, each on all the rows, on a half and on two halves side by side), and with fewer kept
#: each draw would push out one the next call needs.
NOISE_CACHE_SIZE = 12


@functools.lru_cache(maxsize=NOISE_CACHE_SIZE)
def _cpu_noise(seed: int, shape: tuple[int, ...]) -> Tensor:
    """The jitter's standard normal noise of ``shape`` from a CPU generator seeded with ``seed``, drawn
    once for the many samples of one shape made ready with one seed (the halves of the automatic
    estimate's checks); read-only by use, as the caller adds it to its sample."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=gen, dtype=torch.float64)


#: Why a variable whose every column is constant is refused, after its name.
CONSTANT = (
    "every column is constant; its MI with anything is 0, and nearest-neighbour distances are all "
    "zero, so a kNN estimate is undefined"
)


def _noise(seed: int, n: int) -> NDArray[np.float64]:
    """:func:`_cpu_noise` ``(n, 1)`` as a read-only array: drawn once for the many columns of one length
    made ready with one seed (network inference's candidates)."""
    noise = _cpu_noise(seed, (n, 1)).numpy()
    noise.flags.writeable = False
    return noise


def _ready_tensor(t: Tensor, name: str, *, standardize: bool, ties: Ties, seed: int) -> Tensor:
    """:func:`ready` by torch operations, for any sample on any device."""
    scaled = _scaled(t, standardize)
    if scaled is None:
        raise ValueError(f"{name}: {CONSTANT}")
    t, std = scaled
    if not standardize and not bool(torch.isfinite(t).all()):
        raise ValueError(
            f"{name}: its spread exceeds float64's range, so distances overflow; "
            "standardize or rescale the data"
        )
    if ties == "raise":
        if bool(duplicated_rows(t).any()):
            raise ValueError(
                f"{name}: has duplicate samples (ties); kNN estimators assume continuous data. "
                "Use ties='jitter', or an estimator for discrete data"
            )
        return t
    t, gen = _jittered(t, std, seed)
    # A jitter of 1e-10 sd spans only ~4e5 float64 steps at values near 1 sd, so among thousands of tied
    # samples (a discrete level, a silent ReLU unit) two may land on the same value: jitter those again.
    for _ in range(REJITTER_ROUNDS):
        dup = duplicated_rows(t)
        if not bool(dup.any()):
            return t
        if gen is None:  # the generator where the first draw left it: drawn again
            gen = torch.Generator(device=t.device).manual_seed(seed)
            torch.randn(t.shape, generator=gen, dtype=t.dtype, device=t.device)
        again = torch.randn((int(dup.sum()), t.shape[1]), generator=gen, dtype=t.dtype, device=t.device)
        t[dup] = t[dup] + JITTER * std * again
    if bool(duplicated_rows(t).any()):  # the last round checked too
        raise ValueError(
            f"{name}: {int(duplicated_rows(t).sum())} samples stay tied after {REJITTER_ROUNDS} rounds "
            "of jitter; pass a different seed, or use an estimator for discrete data"
        )
    return t


def _scaled(t: Tensor, standardize: bool) -> tuple[Tensor, Tensor] | None:
    """:func:`_ready_tensor`'s sample before its jitter: centred, standardized if ``standardize``
    (else its scale kept), a constant column 0; and the jitter's scale a column (1, or 0 for a
    constant one, where standardized; else the standard deviation). None where every column is
    constant."""
    # One pass for both: a finite column is constant where its least and largest values are equal, and
    # its largest magnitude is the larger of theirs.
    low, high = torch.aminmax(t, dim=0)
    constant = low == high
    if bool(constant.all()):
        return None
    # Mean and standard deviation in units of an exact power-of-two scale: on the raw values the squares
    # overflow from about 1e154 (KSG gave 0.002 for 0.346 at 1e200) and vanish below 1e-154.
    scale = power_of_two_at_most(torch.maximum(low.abs(), high.abs()))
    t = t / scale
    t = t - t.mean(dim=0)
    if bool(constant.any()):  # exactly: their mean can round off the value (1/3), leaving a constant 1e-17
        t[:, constant] = 0.0
    std = t.std(dim=0, unbiased=False)
    if standardize:
        return t / torch.where(std > 0, std, torch.ones_like(std)), (std > 0).to(torch.float64)
    return t * scale, std * scale


def _jittered(t: Tensor, std: Tensor, seed: int) -> tuple[Tensor, torch.Generator | None]:
    """``t`` plus the jitter, :data:`JITTER` times ``std`` a column times standard normal noise from
    ``seed``; and the generator it was drawn from, where not from the cache (None)."""
    # Drawn on the data's device. A GPU's stream is not the CPU's, so where the jitter decides a count
    # (tied distances, point masses) a GPU's estimate differs from the CPU's by the jitter's own
    # spread (an H100, N = 2,000: 1.3e-4 relative on 1 x 1 normal scores, 0.012 nats on a 3 x 3 point
    # mass, each well within the estimate's standard error). Drawn on the CPU and moved, it would be the
    # same on both, but the CPU's generator is slow (docs/design.md, "Measurements behind the code").
    cached = t.device.type == "cpu" and t.dtype == torch.float64 and t.numel() <= NOISE_CACHE_MAX
    noise = _cpu_noise(seed, tuple(t.shape)) if cached else None
    gen = None
    if noise is None:
        gen = torch.Generator(device=t.device).manual_seed(seed)
        noise = torch.randn(t.shape, generator=gen, dtype=t.dtype, device=t.device)
    return t + JITTER * std * noise, gen


def prepare_samples(
    samples: Sequence[tuple[str, Any]],
    k: int,
    *,
    standardize: bool,
    ties: Ties,
    seed: int,
    seeds: Sequence[int] | None = None,
) -> tuple[list[Tensor], int]:
    """The named samples each made ready by :func:`prepare` (the i-th jittered from ``seed + i``, or
    from ``seeds[i]`` where given) and checked to hold the same N rows on one device, with ``k`` checked
    against N: what a KSG estimate on them needs."""
    seed = setting("seed", seed)
    own = [seed + i for i in range(len(samples))] if seeds is None else [setting("seed", s) for s in seeds]
    together = standardize is True and ties == "jitter" and len(own) == len(samples)
    out = _ready_together(samples, own) if together else None
    if out is None:
        out = [
            prepare(value, name, standardize=standardize, ties=ties, seed=s)
            for s, (name, value) in zip(own, samples, strict=True)
        ]
    named = [(name, t) for (name, _), t in zip(samples, out, strict=True)]
    n = V.same_length(*named)
    V.same_device(*named)
    return out, V.neighbours(k, n)


def _ready_together(samples: Sequence[tuple[str, Any]], seeds: list[int]) -> list[Tensor] | None:
    """:func:`prepare` (standardized, jittered) of each sample, the i-th from ``seeds[i]``, made ready
    together by :func:`ready_columns` where every sample is a finite CPU float64 column of the same N
    rows (2 to :data:`READY_COLUMNS_MAX_N`): the same bits, one pass over all of them. A sample it
    leaves (a constant column, rows the jitter leaves tied) is prepared alone. None where the samples
    are not such columns: each then goes through :func:`prepare`, which names what is wrong."""
    values = [value for _, value in samples]
    n = values[0].shape[0] if values and isinstance(values[0], Tensor) and values[0].ndim else 0
    if not 2 <= n <= READY_COLUMNS_MAX_N or not all(_cpu_column(v, n) for v in values):
        return None
    a = np.stack([v.detach().numpy().reshape(n) for v in values])
    if not bool(np.isfinite(a).all()):
        return None
    ready_rows, done = ready_columns(a, seeds)
    return [
        torch.from_numpy(ready_rows[i, :, None])
        if done[i]
        else prepare(value, name, standardize=True, ties="jitter", seed=seeds[i])
        for i, (name, value) in enumerate(samples)
    ]


def _cpu_column(value: Any, n: int) -> bool:
    """Whether ``value`` is a float64 CPU tensor of ``n`` rows and one column (``(n, 1)`` or ``(n,)``)."""
    return (
        isinstance(value, Tensor)
        and value.device.type == "cpu"
        and value.dtype == torch.float64
        and value.shape[0] == n
        and (value.ndim == 1 or (value.ndim == 2 and value.shape[1] == 1))
    )


def _same_projection(t: Tensor) -> Tensor:
    """Rows whose projection on a fixed random direction is within rounding of another row's: a
    superset of the duplicated rows, found by one sort. Equal rows need not project to the same float
    (the matrix-vector kernel sums its remainder rows in another order), so two projections count as
    the same within the bound on a d-term sum's rounding, d eps sum_i |t_i u_i| (Higham, Accuracy and
    Stability of Numerical Algorithms, 2002, Sec. 3.1)."""
    gen = torch.Generator(device=t.device).manual_seed(12345)
    direction = torch.randn(t.shape[1], generator=gen, dtype=t.dtype, device=t.device)
    slack = (t.abs() @ direction.abs()) * (t.shape[1] * torch.finfo(t.dtype).eps)
    proj, order = torch.sort(t @ direction)
    slack = slack[order]
    same = proj[1:] - proj[:-1] <= slack[1:] + slack[:-1]
    out = torch.zeros(t.shape[0], dtype=torch.bool, device=t.device)
    out[order[1:][same]] = True
    out[order[:-1][same]] = True
    return out


def duplicated_rows(t: Tensor) -> Tensor:
    """Rows exactly equal to another row; the projection picks the few candidates to compare (in one
    column, the sorted values are compared directly). On the CPU, where the first column holds no
    value twice no two rows are equal, which one sort of that column shows."""
    if t.device.type == "cpu" and t.shape[1] > 1 and len(t) > 1:
        first = np.sort(t[:, 0].detach().numpy())
        if not bool((first[1:] == first[:-1]).any()):
            return torch.zeros(t.shape[0], dtype=torch.bool)
    if t.shape[1] == 1:
        values, order = torch.sort(t[:, 0])
        same = values[1:] == values[:-1]
        out = torch.zeros(t.shape[0], dtype=torch.bool, device=t.device)
        out[order[1:][same]] = True
        out[order[:-1][same]] = True
        return out
    rows = _same_projection(t).nonzero()[:, 0]
    out = torch.zeros(t.shape[0], dtype=torch.bool, device=t.device)
    if len(rows):
        _, inverse, counts = torch.unique(t[rows], dim=0, return_inverse=True, return_counts=True)
        out[rows] = counts[inverse] > 1
    return out


def ksg_mi(
    x: Any,
    y: Any,
    k: int = 3,
    variant: int = 1,
    *,
    local: bool = False,
    **options: Unpack[KNNKeywords],
) -> Tensor:
    """Kraskov-Stoegbauer-Grassberger estimate of I(X; Y) in nats, max-norm in every space.

    With eps_i the distance from sample i to its k-th nearest neighbour in the joint space
    (the max-norm, i.e. the larger of the x- and y-distances):

    * ``variant=1`` (KSG eq. 8): ``I = psi(k) + psi(N) - < psi(n_x + 1) + psi(n_y + 1) >`` with
      ``n_x(i) = #{j != i : ||x_j - x_i|| < eps_i}``.
    * ``variant=2`` (KSG eq. 9): ``I = psi(k) - 1/k + psi(N) - < psi(n_x) + psi(n_y) >`` with
      ``n_x(i) = #{j != i : ||x_j - x_i|| <= eps_x(i)}`` and eps_x(i) the largest x-distance among
      the k neighbours.

    Args:
        x: ``(N, dx)`` or ``(N,)`` floating-point samples.
        y: ``(N, dy)`` or ``(N,)`` floating-point samples.
        k: neighbours, 1 <= k < N (the paper recommends 2-4).
        variant: 1 or 2, the two algorithms of the paper.
        local: return the pointwise terms instead, one per sample, whose mean is the estimate:
            ``psi(k) + psi(N) - psi(n_x(i) + 1) - psi(n_y(i) + 1)`` for ``variant=1`` (eq. 8 before its
            average), ``psi(k) - 1/k + psi(N) - psi(n_x(i)) - psi(n_y(i))`` for ``variant=2``. Each term
            is a noisy local value (pointwise MI, as latent MI reports it: Gowri et al. 2024),
            meaningful in averages over many samples.
        **options: the kNN settings (:class:`~iblearn.functional.knn.options.KNNKeywords`).

    Returns:
        0-d float64 tensor, nats (``(N,)`` with ``local``). Not clipped at 0: a small negative value is
        the estimator's bias.

    Example:
        >>> g = torch.Generator().manual_seed(1)
        >>> x = torch.randn(2000, 1, generator=g)
        >>> y = 0.75 * x + (1 - 0.75**2) ** 0.5 * torch.randn(2000, 1, generator=g)
        >>> abs(float(ksg_mi(x, y)) - 0.4133) < 0.1  # truth -log(1 - 0.75^2)/2; sd at N=2000 is 0.024
        True
        >>> bool(torch.isclose(ksg_mi(x, y, local=True).mean(), ksg_mi(x, y)))
        True
    """
    opts = KNNOptions(**options)
    local = V.flag(local, "local")
    k, nx, ny = _ksg_counts(x, y, k, variant, opts)
    if not local:
        return ksg_from_counts(nx, ny, k, variant)
    constant, terms = ksg_terms(nx, ny, k, variant)
    return constant - terms


def _ksg_counts(x: Any, y: Any, k: int, variant: int, opts: KNNOptions) -> tuple[int, Tensor, Tensor]:
    """``(k, n_x, n_y)`` of KSG: the inputs checked and prepared, ``k`` checked against N."""
    V.ksg_variant(variant)
    (x, y), k = prepare_samples(
        [("x", x), ("y", y)], k, standardize=opts.standardize, ties=opts.ties, seed=opts.seed
    )
    return k, *ksg_counts(x, y, k, opts.backend, variant)


def ksg_counts(x: Tensor, y: Tensor, k: int, backend: Backend, variant: int) -> tuple[Tensor, Tensor]:
    """n_x and n_y of KSG on prepared samples, by the search ``backend`` picks for their joint space."""
    joint_dim = x.shape[1] + y.shape[1]
    if pick_backend(backend, x.device, joint_dim, knn_max_tree_dim("chebyshev")) == "brute":
        return ksg_counts_brute(x, y, k, variant)
    return ksg_counts_tree(x, y, k, variant)


def kl_entropy(
    x: Any,
    k: int = 3,
    *,
    metric: Metric = "chebyshev",
    ties: Ties = "jitter",
    backend: Backend = "auto",
    seed: int = 0,
) -> Tensor:
    """Kozachenko-Leonenko estimate of the differential entropy h(X) in nats (KSG eq. 20).

    ``h = psi(N) - psi(k) + log c_d + d < log eps_i >``, with eps_i twice the distance to the k-th
    neighbour and c_d the volume of the d-dimensional ball of unit diameter in ``metric`` (1 for the
    max-norm). Entropy is not scale invariant, so the data are not standardized. Repeated samples or a
    constant column raise: a distribution with atoms, or on a subspace, has no density (its differential
    entropy is -inf), and a jittered estimate would be a function of the jitter (-19.7 nats for integer
    data). ``ties`` then concerns tied distances alone.

    Example:
        >>> x = torch.randn(5000, 2, generator=torch.Generator().manual_seed(0))
        >>> round(float(kl_entropy(x)), 1)  # truth: log(2 pi e) = 2.8379
        2.8
    """
    V.choice(metric, "metric", ("chebyshev", "euclidean"))
    t = V.several_rows(V.continuous(x, "x"), "x").detach().to(torch.float64)
    if bool(constant_columns(t).any()):
        raise ValueError("x: has a constant column, so no density in its dimension (h = -inf)")
    if bool(duplicated_rows(t).any()):
        raise ValueError(
            "x: has repeated samples, atoms without a density (h = -inf); if they are the rounding of "
            "continuous data, add noise at the rounding's scale first"
        )
    x = prepare(t, "x", standardize=False, ties=ties, seed=seed)
    n, d = x.shape
    k = V.neighbours(k, n)
    r, _ = kth_neighbour([x], k, metric, pick_backend(backend, x.device, d, knn_max_tree_dim(metric)))
    if metric == "chebyshev":
        log_cd = 0.0
    else:
        log_cd = (d / 2) * math.log(math.pi) - math.lgamma(d / 2 + 1) - d * math.log(2)
    # log 2 + log r: 2 r overflows for a spread near float64's largest value.
    return psi(n) - psi(k) + log_cd + d * (math.log(2) + torch.log(r).mean())


def mixed_tree_dim(metric: Metric, n: int) -> int:
    """The most dimensions at which MixedKSG's ``"auto"`` takes the tree on the CPU, for ``n`` rows.

    With the max-norm, :data:`~iblearn.functional.knn.neighbors.TREE_MAX_DIM` (the tree is the compiled
    kernel where it is built: 4.9x and 1.7x brute force's speed at 10 and 40 dims, N = 5,000, on the AMD
    EPYC below). With Euclidean distances it is scipy's k-d tree, whose searches grow steeply with the
    dimension, while brute force is a matrix product a chunk, whose cost grows as N^2 and hardly with the
    dimension; so the switch moves up with N. Measured (``benchmarks/kernel_dims.py``, 10 classes, one
    thread, on an AMD EPYC of family 25): at N = 5,000 the tree wins up to 4 dims (1.4x) and loses from
    5 (1/1.1x; 1/5.1x at 10); at 20,000 it wins up to 7 (1.1x) and loses from 8 (1/1.3x; an Intel Xeon
    read 1/2.1x there). One and a half more dimensions for each doubling of N fit both:
    4 + 1.5 log2(N / 5,000).
    """
    if metric == "chebyshev":
        return TREE_MAX_DIM
    return max(0, min(TREE_MAX_DIM, int(4 + 1.5 * math.log2(max(n, 1) / 5000))))


def mixed_ksg_mi(
    x: Any,
    labels: Any,
    k: int = 3,
    *,
    metric: Metric = "euclidean",
    **options: Unpack[KNNKeywords],
) -> Tensor:
    """MI between a continuous variable and a discrete one (class labels), in nats (Ross 2014).

    For sample i of class c: d_i is the distance to its k-th nearest neighbour among the N_c samples
    of class c (k is lowered to N_c - 1 for small classes), m_i the number of samples of any class
    within d_i (the k-th neighbour included, i itself not). Then

        ``I = psi(N) - < psi(N_c) > + < psi(k) > - < psi(m) >``.

    Samples whose class occurs once carry no neighbour information and are left out (N counts the
    rest), as in scikit-learn's ``mutual_info_classif``. This is the estimator of I(T; Y) for a
    representation T and labels Y: KSG on one-hot labels degenerates, since every label is a tie.

    Args:
        x: ``(N, d)`` floating-point samples, e.g. a layer's activations.
        labels: ``(N,)`` integer class labels.
        k: neighbours within a class.
        metric: ``"euclidean"`` (default) or ``"chebyshev"``. The estimator lives in one space, so any
            norm is valid; in hundreds of dimensions the max-norm is ruled by the single most deviant
            unit, while the Euclidean norm pools all of them and is computed by a matrix product.
        **options: the kNN settings (:class:`~iblearn.functional.knn.options.KNNKeywords`).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> y = torch.randint(0, 2, (2000,), generator=g)
        >>> x = y[:, None] * 4.0 + torch.randn(2000, 1, generator=g)  # two well-separated classes
        >>> 0.55 < float(mixed_ksg_mi(x, y)) < 0.7  # truth: a little under log 2 = 0.693
        True
    """
    return mixed_ksg_counts(x, labels, k, metric=metric, **options).mi()


class MixedCounts(NamedTuple):
    """The counts of :func:`mixed_ksg_mi` on the rows it keeps (those of a class seen more than once):
    their number N and, a row each, its class's size N_c, its neighbours k_i within the class and m_i."""

    n: int
    n_c: Tensor
    k_i: Tensor
    m: Tensor

    def mi(self) -> Tensor:
        """``psi(N) - < psi(N_c) > + < psi(k) > - < psi(m) >``, in nats (Ross 2014)."""
        return (
            psi(self.n)
            - digamma_f64(self.n_c).mean()
            + digamma_f64(self.k_i).mean()
            - digamma_f64(self.m).mean()
        )

    def local(self) -> Tensor:
        """The per-row terms ``psi(N) - psi(N_c) + psi(k_i) - psi(m_i)``, ``(N,)``, whose mean is :meth:`mi`
        (up to rounding). Their standard deviation over sqrt(N) is the estimate's standard error to first
        order, as for a mean of independent terms (a row's term also moves with its neighbours')."""
        return psi(self.n) - digamma_f64(self.n_c) + digamma_f64(self.k_i) - digamma_f64(self.m)


def mixed_ksg_counts(
    x: Any,
    labels: Any,
    k: int = 3,
    *,
    metric: Metric = "euclidean",
    **options: Unpack[KNNKeywords],
) -> MixedCounts:
    """The :class:`MixedCounts` behind :func:`mixed_ksg_mi` (same arguments, checked the same way)."""
    opts = KNNOptions(**options)
    V.choice(metric, "metric", ("chebyshev", "euclidean"))
    x = prepare(x, "x", standardize=opts.standardize, ties=opts.ties, seed=opts.seed)
    lab = V.labels(labels, "labels").to(x.device)
    V.same_length(("x", x), ("labels", lab))
    _, inverse, class_counts = torch.unique(lab, return_inverse=True, return_counts=True)
    n_c = class_counts[inverse]
    keep = n_c > 1
    # A class seen once has no neighbour within it and is left out; each class takes at most its
    # size less one neighbours (scikit-learn's mutual_info_classif does the same).
    k = V.neighbours(k, k + 1)
    if int(keep.sum()) < 2:
        raise ValueError(
            f"labels: none of the {len(lab)} rows is in a class that occurs more than once; MI with labels "
            "that never repeat cannot be estimated"
        )
    x, lab, n_c = x[keep], lab[keep], n_c[keep]
    n = x.shape[0]
    k_i = torch.clamp(n_c - 1, max=k)
    how = pick_backend(opts.backend, x.device, x.shape[1], mixed_tree_dim(metric, n))
    if how == "tree":
        radius = torch.empty(n, dtype=torch.float64)
        for c in torch.unique(lab):
            members = (lab == c).nonzero()[:, 0]
            radius[members], _ = kth_neighbour([x[members]], int(k_i[members[0]]), metric, "tree")
        m = count_within(x, radius, metric, "tree", inclusive=True)
    else:  # up to PART_POINTS rows on one thread: a parallel region there costs more than it gives
        with one_torch_thread(x.device.type == "cpu" and n <= PART_POINTS):
            m = mixed_counts_brute(x, lab, k_i, metric)
    return MixedCounts(n, n_c, k_i, m)
