"""Negative pairs: the samples of the product of the marginals that a variational bound's second term
averages over, drawn from a batch of joint samples.

Three ways, from cheapest to most general: every off-diagonal pair of a separable critic (one matrix
product); for labels, the classes summed instead of sampled (:func:`class_scores`); else random
re-pairings of y that never pair a sample with itself (:func:`derangements`). Under
``torch.distributed`` each way pairs a rank's rows with the columns of every rank (:func:`spread_scores`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import cast

import torch
from torch import Tensor, nn

from iblearn import distributed
from iblearn.estimators.critics import critic_method


def scores(
    critic: nn.Module, x: Tensor, y: Tensor, n_shuffles: int, gen: torch.Generator | None, *, by_class: bool
) -> tuple[Tensor, Tensor]:
    """Joint scores ``(N,)`` and marginal scores (flat) of ``critic`` on a batch.

    A separable critic scores every off-diagonal pair; with ``by_class`` (y one-hot labels, and a bound
    that sees the marginal scores through exp(T) alone) the classes are summed (:func:`class_scores`);
    else ``n_shuffles`` random re-pairings of y, none pairing a sample with itself.
    """
    if distributed.is_distributed():
        return spread_scores(critic, x, y, n_shuffles, gen, by_class=by_class)
    if getattr(critic, "separable", False):
        pairwise = cast(Callable[[Tensor, Tensor], Tensor], critic.pairwise)
        return critic(x, y), off_diagonal(pairwise(x, y))
    if by_class:
        return class_scores(critic, x, y)
    perms = drawn(len(x), n_shuffles, gen, x.device)
    repaired = critic_method(critic, "repaired")  # a critic that re-pairs cheaply
    if repaired is not None:
        return cast(tuple[Tensor, Tensor], repaired(x, y, perms))
    return critic(x, y), torch.cat([critic(x, y[perm]) for perm in perms])


def off_diagonal(matrix: Tensor) -> Tensor:
    """The off-diagonal entries of a square ``matrix``, row by row (as ``matrix[~eye]``), without the
    boolean mask's read of its count to the host: after the first entry, the entries fall into rows of
    n + 1 whose last is the next diagonal one."""
    n = len(matrix)
    return matrix.flatten()[1:].view(n - 1, n + 1)[:, :-1].flatten()


#: Where a training step's derangements come from while :func:`drawing_from` says otherwise.
_SOURCE: ContextVar[Callable[[int, int, torch.Generator | None, torch.device], list[Tensor]] | None]
_SOURCE = ContextVar("iblearn_negatives_source", default=None)


def drawn(n: int, count: int, gen: torch.Generator | None, device: torch.device) -> list[Tensor]:
    """:func:`derangements` of ``n`` rows from ``gen``, on ``device``; within :func:`drawing_from`, what its
    source gives for them (a training step captured in a CUDA graph reads them from the device)."""
    source = _SOURCE.get()
    if source is not None:
        return source(n, count, gen, device)
    return [perm.to(device) for perm in derangements(n, count, gen)]


@contextmanager
def drawing_from(
    source: Callable[[int, int, torch.Generator | None, torch.device], list[Tensor]],
) -> Iterator[None]:
    """Within it :func:`drawn` calls ``source(n, count, gen, device)`` for a batch's derangements."""
    token = _SOURCE.set(source)
    try:
        yield
    finally:
        _SOURCE.reset(token)


def spread_scores(
    critic: nn.Module, x: Tensor, y: Tensor, n_shuffles: int, gen: torch.Generator | None, *, by_class: bool
) -> tuple[Tensor, Tensor]:
    """:func:`scores` of this rank's rows in a batch spread over the ranks of a process group: the joint
    scores of its own rows, and its rows' marginal scores against the columns (y) of every rank.

    Each way pairs as one process pairs the concatenated batch (rank r's rows are rows r B .. (r + 1) B
    - 1 of it): a separable critic scores the rank's rows against all N columns but their own; class
    sums weigh the classes by their counts over all ranks; re-pairings are derangements of all N rows,
    drawn from ``gen``, which every rank holds in the same state, so they are the ones one process draws.
    """
    columns = distributed.gather(y, "y")
    if by_class:
        return class_scores(critic, x, y, columns)
    joint = critic(x, y)
    rows = distributed.own_row_indices(len(x), x.device)
    if getattr(critic, "separable", False):
        matrix = cast(Callable[[Tensor, Tensor], Tensor], critic.pairwise)(x, columns)  # (B, N)
        off = torch.ones_like(matrix, dtype=torch.bool)
        off[torch.arange(len(x), device=x.device), rows] = False
        return joint, matrix[off]
    perms = [perm.to(x.device)[rows] for perm in derangements(len(columns), n_shuffles, gen)]
    return joint, torch.cat([critic(x, columns[perm]) for perm in perms])


def class_scores(
    critic: nn.Module, x: Tensor, y: Tensor, batch: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Joint scores (N,), and log-weighted marginal scores (N * k,) for one-hot labels y (N, k).

    With k classes, the product of the batch's marginals is summed rather than sampled: for sample
    i, the mean of exp T(x_i, y_j) over all j != i is sum_c w_ic exp T(x_i, e_c), with w_ic the
    share of class c among the other samples. Stored as scores + log(k w_ic), the plain log-mean-exp
    over the N k entries is that exact mean (a class absent from the others gets -inf: weight 0).
    The same bound as every off-diagonal pairing, as the separable path computes it, for k critic
    calls a sample, and none of a sampled negative's variance (Rao-Blackwellization): a label drawn
    at random is the sample's own class one time in k. The joint scores are the own-class column.
    ``batch``: the labels of the whole batch the shares are taken over, where x and y are only some of
    its rows (a rank's, under ``torch.distributed``); None: y.
    """
    k = y.shape[1]
    pairs = all_pair_scores(critic, x, torch.eye(k, dtype=y.dtype, device=y.device))  # (N, k)
    # The weights in float32 at least: in bfloat16 they alone moved the bound by 0.01 nats (N = 1,000).
    wide = torch.promote_types(pairs.dtype, torch.float32)
    counts = y.to(wide)
    everyone = counts if batch is None else batch.to(wide)
    others = (everyone.sum(0, keepdim=True) - counts) / (len(everyone) - 1)  # rows sum to 1
    return (pairs * y).sum(1), (pairs.to(wide) + torch.log(others * k)).flatten()


def all_pair_scores(critic: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """Scores ``(N, M)`` of every pair (x_i, y_j): one matrix product for a separable critic, the
    critic's own ``all_pairs`` where it has one (:class:`~iblearn.estimators.critics.ConcatCritic`),
    else the critic called on all N M pairings."""
    if getattr(critic, "separable", False):
        return cast(Callable[[Tensor, Tensor], Tensor], critic.pairwise)(x, y)
    each = critic_method(critic, "all_pairs")
    if each is not None:
        return cast(Tensor, each(x, y))
    n, m = len(x), len(y)
    return critic(x.repeat_interleave(m, dim=0), y.repeat(n, *([1] * (y.ndim - 1)))).reshape(n, m)


def derangements(n: int, count: int, gen: torch.Generator | None) -> list[Tensor]:
    """Up to ``count`` random permutations of ``range(n)`` without fixed points, no two alike anywhere.

    A negative pair (x_i, y_perm[i]) with perm[i] = i is a joint sample: its score is that of a positive,
    about MI larger than a negative's, and one such pair among B negatives adds about
    E_P[p/q] / B >= e^MI / B to the mean of exp(T) in the DV, NWJ and JS terms. A plain ``randperm`` has one
    fixed point per batch on average: at 8 nats and B = 1,024 that lowers the DV estimate by over a nat.
    Here the samples are put in a random order and paired with the one ``s`` places further on,
    cyclically, for distinct shifts ``s`` in [1, n - 1]: no fixed point, and no pair used twice
    (at most n - 1 permutations exist with this property).
    """
    if n < 2:
        raise ValueError(f"x: at least 2 samples are needed to form negative pairs, got {n}")
    order = torch.randperm(n, generator=gen)
    shifts = 1 + torch.randperm(n - 1, generator=gen)[:count]
    perms = []
    for s in shifts.tolist():
        perm = torch.empty_like(order)
        perm[order] = order.roll(-s)
        perms.append(perm)
    return perms
