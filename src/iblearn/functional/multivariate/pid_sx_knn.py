"""The shared-exclusion redundancy I_sx of continuous variables, estimated by nearest neighbours for
any number of sources (Ehrlich et al. 2024), and the two-source PID on it.

Shared exclusion (Makkeh, Gutknecht & Wibral 2021) measures redundancy locally by the information the
*union* (logical or) of the sources' outcomes gives about the target's outcome:
``i_sx(t: s_1; ...; s_m) = log P(t | s_1 or ... or s_m) / P(t)``, ``I_sx`` its mean. For continuous
variables each outcome is a ball of radius eps around the observed value, and the local redundancy is
the limit eps -> 0 of

    log P(T in B(t), S_1 in B(s_1) or ... or S_m in B(s_m)) / (P(T in B(t)) P(S_1 in B(s_1) or ...)).

The overlap of the source events shrinks faster than each of them, so for sources of one dimension
the limit is ``log sum_i p(s_i, t) / (p(t) sum_i p(s_i))``: each source's likelihood weighted by its
density at the observed value (among sources of different dimensions the lowest-dimensional ones
dominate the limit). One radius serves every source, so the measure depends on the sources' relative
scales; with ``standardize=True`` (the default) each column has unit variance first. With one source
it is I(S; T).

The estimator is Kraskov, Stoegbauer & Grassberger's first construction (KSG 2004, eq. 8) with the
union as the sources' event: for sample n, ``eps_n`` is the distance to its k-th neighbour under

    d(n, j) = max( |t_n - t_j|, min_i |s_i,n - s_i,j| )          (max-norm in each variable's space),

whose balls are exactly ``{T in B(t)} and ({S_1 in B(s_1)} or ...)``; ``n_t`` and ``n_or`` count the
other samples strictly within ``eps_n`` in the target's space and in the union of the sources' balls,
and

    i_sx(n) = psi(k) + psi(N) - psi(n_t + 1) - psi(n_or + 1),        I_sx = < i_sx(n) >.

The same construction gives the mutual informations of the PID (one source, or the sources' joint
space, whose max-norm ball is the conjunction of theirs) from the same prepared samples, so that the
parts are differences of estimates that share their neighbourhoods. A redundancy among collections of
sources (a node of the redundancy lattice) is the one of each collection's columns side by side:
their max-norm ball is the collection's event.

The union distance is no norm a tree searches, but its k nearest are among the k nearest of each
source's max-norm joint space with the target (a sample nearer under the minimum of the distances is
nearer under the one that attains it), and the union's count is, by inclusion and exclusion, a signed
sum of counts in the max-norm spaces of the sources' subsets: on the CPU (``backend="auto"`` or
``"tree"``, up to :data:`TREE_MAX_SOURCES` sources) the engine's trees give both. Otherwise (a GPU,
``"brute"``, more sources) they come from blocks of pairwise distances: time O(N^2), memory O(N) a
block row. Both give the same counts.

References:
    D. A. Ehrlich, K. Schick-Poland, A. Makkeh, F. Lanfermann, P. Wollstadt, M. Wibral. Partial
    information decomposition for continuous variables based on shared exclusions: analytical
    formulation and estimation. Phys. Rev. E 110, 014115 (2024), arXiv:2311.06373.
    A. Makkeh, A. J. Gutknecht, M. Wibral. Introducing a differentiable measure of pointwise shared
    information. Phys. Rev. E 103, 032149 (2021).
    A. Kraskov, H. Stoegbauer, P. Grassberger. Estimating mutual information. Phys. Rev. E 69, 066138
    (2004).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Unpack

import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn.functional.knn.engine import (
    KNNKeywords,
    KNNOptions,
    count_within,
    digamma_f64,
    knn_max_tree_dim,
    kth_neighbour,
    pick_backend,
    prepare_samples,
    psi,
)
from iblearn.functional.multivariate.core import PIDParts

#: An event of the sources: a union (``or``) of collections, each the conjunction (``and``) of the
#: sources whose indices it lists.
Event = list[list[int]]

#: Most sources whose union the trees count: its inclusion-exclusion sum has 2^m - 1 terms.
TREE_MAX_SOURCES = 6

#: Pairwise distances held at once per matrix: bounds a block of rows to about 32 MB of float64.
BLOCK_ELEMENTS = 1 << 22


def _maxnorm(a: Tensor, b: Tensor) -> Tensor:
    """Max-norm distances between the rows of ``a (B, d)`` and ``b (N, d)``: ``(B, N)``, one column of
    the variable at a time so that no ``(B, N, d)`` array is held."""
    out = (a[:, :1] - b[:, 0]).abs()
    for c in range(1, a.shape[1]):
        out = torch.maximum(out, (a[:, c : c + 1] - b[:, c]).abs())
    return out


def _event_distance(distances: list[Tensor], event: Event) -> Tensor:
    """The distance whose ball is ``event``: the minimum over its collections of the maximum over each
    collection's sources (pairwise, so that a one-source event is its distances, not a copy)."""
    out: Tensor | None = None
    for collection in event:
        d = distances[collection[0]]
        for i in collection[1:]:
            d = torch.maximum(d, distances[i])
        out = d if out is None else torch.minimum(out, d)
    if out is None:
        raise ValueError("event: expected at least one collection of sources")
    return out


def _block_distances(v: Tensor, start: int, stop: int) -> Tensor:
    """Max-norm distances from rows ``start:stop`` of ``v`` to every row, a row's own set to infinity
    (a sample is not its own neighbour)."""
    d = _maxnorm(v[start:stop], v)
    rows = torch.arange(start, stop, device=v.device)
    d[rows - start, rows] = torch.inf
    return d


def union_counts(target: Tensor, sources: list[Tensor], events: list[Event], k: int) -> list[Tensor]:
    """Per event, the local estimates ``psi(k) + psi(N) - psi(n_t + 1) - psi(n_or + 1)`` ``(N,)``
    (module notes), for prepared ``target`` and ``sources``."""
    n = target.shape[0]
    block = max(1, BLOCK_ELEMENTS // n)
    terms: list[list[Tensor]] = [[] for _ in events]
    for start in range(0, n, block):
        stop = min(start + block, n)
        d_t = _block_distances(target, start, stop)
        d_s = [_block_distances(s, start, stop) for s in sources]
        for j, event in enumerate(events):
            d_or = _event_distance(d_s, event)
            # topk of the k smallest: several times faster than kthvalue on the CPU.
            eps = torch.maximum(d_t, d_or).topk(k, dim=1, largest=False).values[:, -1:]
            n_t, n_or = (d_t < eps).sum(1), (d_or < eps).sum(1)
            terms[j].append(-(digamma_f64(n_t + 1) + digamma_f64(n_or + 1)))
    constant = psi(k) + psi(n)
    return [constant + torch.cat(t) for t in terms]


def _union_tree(target: Tensor, sources: list[Tensor], k: int) -> Tensor:
    """:func:`union_counts` of the union of all ``sources`` by the engine's trees (module notes)."""
    n, m = target.shape[0], len(sources)
    found = [kth_neighbour([target, s], k, "chebyshev", "tree")[1] for s in sources]
    cand = torch.cat(found, dim=1).sort(dim=1).values
    rows = torch.arange(n)[:, None]
    d_or = torch.stack([_rows_maxnorm(s, rows, cand) for s in sources]).amin(0)
    d = torch.maximum(_rows_maxnorm(target, rows, cand), d_or)
    d[:, 1:][cand[:, 1:] == cand[:, :-1]] = torch.inf  # a neighbour found in two spaces counts once
    eps = d.topk(k, dim=1, largest=False).values[:, -1]

    def count(parts: list[Tensor]) -> Tensor:
        return count_within(torch.cat(parts, dim=1), eps, "chebyshev", "tree", inclusive=False)

    n_or = torch.zeros(n, dtype=torch.int64)
    for size in range(1, m + 1):
        for subset in itertools.combinations(sources, size):
            n_or += (-1) ** (size + 1) * count(list(subset)).to(torch.int64)
    return psi(k) + psi(n) - (digamma_f64(count([target]) + 1) + digamma_f64(n_or + 1))


def _rows_maxnorm(v: Tensor, rows: Tensor, cand: Tensor) -> Tensor:
    """Max-norm distances ``(N, c)`` from each row of ``v`` to its candidates ``cand (N, c)``."""
    return (v[cand] - v[rows]).abs().amax(-1)


def _events(target: Tensor, sources: list[Tensor], events: list[Event], k: int, backend: Any) -> list[Tensor]:
    """Local values of each event: by the trees where they serve (module notes), else by blocks."""
    dims = sum(s.shape[1] for s in sources) + target.shape[1]
    how = pick_backend(backend, target.device, dims, knn_max_tree_dim("chebyshev"))
    if how == "brute" or len(sources) > TREE_MAX_SOURCES:
        return union_counts(target, sources, events, k)
    out = []
    for event in events:
        if any(len(c) > 1 for c in event):  # the conjunction of sources is their columns side by side
            event_sources = [torch.cat([sources[i] for i in c], dim=1) for c in event]
        else:
            event_sources = [sources[c[0]] for c in event]
        out.append(_union_tree(target, event_sources, k))
    return out


def _prepared(
    named: list[tuple[str, Any]], k: int, options: KNNKeywords
) -> tuple[list[Tensor], Tensor, int, KNNOptions]:
    """The sources and the target (last of ``named``) prepared as for KSG: the i-th jittered from
    ``seed + i``; ``k`` checked against N."""
    opts = KNNOptions(**options)
    prepared, k = prepare_samples(named, k, standardize=opts.standardize, ties=opts.ties, seed=opts.seed)
    return prepared[:-1], prepared[-1], k, opts


def ksg_sx_redundancy(
    sources: Sequence[Any],
    target: Any,
    *,
    k: int = 3,
    local: bool = False,
    **options: Unpack[KNNKeywords],
) -> Tensor:
    """Shared-exclusion redundancy ``I_sx(T: S_1; ...; S_m)`` of continuous samples in nats, by the
    nearest-neighbour estimator of Ehrlich et al. (2024) (module notes): the mean over the samples of

        ``i_sx(n) = psi(k) + psi(N) - psi(n_t(n) + 1) - psi(n_or(n) + 1)``,

    with ``n_t`` and ``n_or`` the samples strictly within the k-th neighbour's distance
    ``max(|t_n - t_j|, min_i |s_i,n - s_i,j|)`` in the target's space and in the union of the sources'
    balls. With one source it is KSG's I(S; T) (eq. 8); a source passed twice counts once.

    Args:
        sources: a sequence of m >= 1 sources, each ``(N,)`` or ``(N, d_i)`` floating-point samples (a
            collection of sources, as a node of the redundancy lattice names it, is its columns side by
            side).
        target: ``(N,)`` or ``(N, d)`` floating-point samples.
        k: neighbours in the joint space, 1 <= k < N.
        local: return the local values ``(N,)`` (their mean is the estimate) instead of the mean.
        **options: the kNN settings (:class:`~iblearn.functional.knn.options.KNNKeywords`; source i
            jittered from ``seed + i``, the target from ``seed + m``; ``backend`` as the module notes
            say).

    Returns:
        0-d float64 tensor in nats, or ``(N,)`` local values with ``local=True``. It may be negative:
        a misinformative union of sources.

    Raises:
        ValueError: no sources, or a source or the target that is not continuous samples of one length,
            naming it; a bad ``k`` or setting.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> s = torch.randn(1000, 1, generator=g)
        >>> t = s + 0.5 * torch.randn(1000, 1, generator=g)
        >>> same = ksg_sx_redundancy([s, s], t)  # a source's redundancy with itself: I(S; T)
        >>> round(float(same), 2), round(float(ksg_sx_redundancy([s], t)), 2)  # truth 0.80
        (0.82, 0.82)
    """
    if isinstance(sources, (Tensor, str, bytes)) or not isinstance(sources, Sequence) or not sources:
        raise ValueError(
            "sources: expected a non-empty list of variables, each (N,) or (N, d) samples, got "
            f"{type(sources).__name__} of length {len(sources) if isinstance(sources, Sequence) else '-'}"
        )
    local = V.flag(local, "local")
    m = len(sources)
    named = [(f"sources[{i}]", s) for i, s in enumerate(sources)] + [("target", target)]
    prepared, t, k, opts = _prepared(named, k, options)
    (values,) = _events(t, prepared, [[[i] for i in range(m)]], k, opts.backend)
    return values if local else values.mean()


def ksg_sx_pid(
    x1: Any, x2: Any, target: Any, *, k: int = 3, local: bool = False, **options: Unpack[KNNKeywords]
) -> PIDParts:
    """The two-source PID of ``I(X1, X2; T)`` with the shared-exclusion redundancy of continuous
    samples (:func:`ksg_sx_redundancy`), in nats:

        ``redundancy = I_sx(T: X1; X2)``, ``unique_i = I(X_i; T) - redundancy``,
        ``synergy = I(X1, X2; T) - I(X1; T) - I(X2; T) + redundancy``,

    each mutual information by KSG (eq. 8) with the same k on the same prepared samples, so the parts
    sum to the KSG estimate of I(X1, X2; T) (:attr:`PIDParts.total`). I_sx can be negative (a
    misinformative union), and then the unique parts exceed the informations of the sources.

    Args:
        x1, x2, target: ``(N,)`` or ``(N, d)`` floating-point samples, the same N.
        k: neighbours in the joint space, 1 <= k < N.
        local: return each part's local values ``(N,)`` (their means are the parts).
        **options: as for :func:`ksg_sx_redundancy` (x1, x2, target jittered from ``seed``,
            ``seed + 1``, ``seed + 2``).

    Returns:
        :class:`~iblearn.functional.PIDParts` of 0-d float64 tensors, or of ``(N,)`` ones with
        ``local=True``.

    Raises:
        ValueError: samples that are not continuous or not of one length, naming the argument; a bad
            ``k`` or setting.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x1, x2 = torch.randn(1000, 1, generator=g), torch.randn(1000, 1, generator=g)
        >>> parts = ksg_sx_pid(x1, x2, x1 + x2 + 0.3 * torch.randn(1000, 1, generator=g))
        >>> bool(parts.synergy > parts.redundancy), round(float(parts.total), 2)  # truth 1.57 nats
        (True, 1.52)
    """
    local = V.flag(local, "local")
    named = [("x1", x1), ("x2", x2), ("target", target)]
    sources, t, k, opts = _prepared(named, k, options)
    red, one, two, joint = _events(t, sources, [[[0], [1]], [[0]], [[1]], [[0, 1]]], k, opts.backend)
    parts = PIDParts(red, one - red, two - red, joint - one - two + red)
    return parts if local else PIDParts(*(p.mean() for p in parts))
