"""Permutation tests of the kNN estimators that prepare the samples once and count every permutation of
the prepared rows: KSG's I(X; Y) against y's rows shuffled, the Frenzel-Pompe I(X; Y | Z) against x
permuted locally in z (Runge 2018, Algorithm 1), and transfer entropy against the source's past
permuted locally in the target's own past.

The samples are standardized and jittered on the CPU, once, so the jitter that breaks ties belongs to a
sample, not to where a permutation puts it, and every device counts the same numbers. On a GPU blocks of
permutations are counted by batched kernels; on the CPU each permutation by the tree search (or, with
``backend="brute"`` or in high dimension, by the same batched brute-force counts as on a GPU), in
blocks run through joblib as ``n_jobs`` says. The neighbour counts are exact on every path (max-norm
distances in float64), and each statistic is computed from its counts on the host by one function in
one order of summation, so the same seed gives the same null and p-value, bit for bit, on every device,
backend and number of jobs.

Runge's local draw repeats some rows (see :func:`~iblearn.functional.local_permutations`); a repeated
row would tie its twin's distances exactly, so the permuted variable gets noise of the jitter's size
fixed per position (seeded from ``seed + 3``), as re-preparing each permuted sample did. A discrete
(integer) z is left to the estimators, which shuffle within classes one estimate at a time.

References:
    A. Kraskov, H. Stoegbauer, P. Grassberger. Phys. Rev. E 69, 066138 (2004): eqs. (8) and (9).
    J. Runge. Conditional independence testing based on a nearest-neighbor estimator of conditional
    mutual information. AISTATS 2018, PMLR 84: the local permutation test.
    T. Schreiber. Phys. Rev. Lett. 85, 461 (2000): transfer entropy, a conditional MI.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal, Unpack

import numpy as np
import torch
from scipy.special import digamma
from torch import Tensor

from iblearn import _checks as V
from iblearn._settings import resampling_counts, setting
from iblearn.functional import inference
from iblearn.functional.inference import block_length
from iblearn.functional.knn.batched import ksg_counts_permuted
from iblearn.functional.knn.cmi import (
    PreparedCondition,
    cmi_counts_brute,
    condition_counts,
    continuous_samples,
    indexed_condition,
    ksg_cmi,
    ksg_cmi_ranked,
    z_classes,
)
from iblearn.functional.knn.counts import ksg_constant, ksg_counts_tree, ksg_from_counts
from iblearn.functional.knn.ksg import JITTER, column_ranks, ksg_counts, prepare_samples, ready
from iblearn.functional.knn.neighbors import knn_max_tree_dim, listed_counts_many, pick_backend
from iblearn.functional.knn.options import KNNKeywords, KNNOptions
from iblearn.functional.knn.permutations import iter_local_permutations
from iblearn.functional.knn.transfer import embedding, ksg_transfer_entropy, partialled
from iblearn.functional.serial import series_blocks
from iblearn.parallel import PERMUTATIONS_PER_BATCH, check_n_jobs, iter_batches

#: Permutations counted together on a GPU (on the CPU, a job takes ``PERMUTATIONS_PER_BATCH`` of
#: :mod:`iblearn.parallel`). The null does not depend on it.
DEVICE_PERMUTATIONS_PER_BLOCK = 64


@dataclass(frozen=True)
class PermutationTest:
    """An estimate and its permutation test; ``float(test)`` is the value.

    Attributes:
        value: the estimate in nats, from the same counts and the same host formula as the null (it
            may differ from the plain estimate on a GPU in the last bits, or by the jitter's effect).
        p_value: ``(1 + #{null >= value}) / (1 + n_permutations)``.
        null: ``(n_permutations,)`` float64 CPU tensor, the estimate of each permutation, in the order
            drawn.
        n_permutations: permutations behind ``p_value``.
    """

    value: float
    p_value: float
    null: Tensor
    n_permutations: int

    def __float__(self) -> float:
        return self.value

    @classmethod
    def of(cls, value: float, null: Tensor) -> PermutationTest:
        """The test of ``value`` against ``null``."""
        hits = int((null >= value).sum())
        p = inference.count_p_value(hits, len(null))
        return cls(value=value, p_value=p, null=null, n_permutations=len(null))


def ksg_statistic(nx: Tensor, ny: Tensor, k: int, variant: int) -> float:
    """KSG eq. (8) (``variant=1``) or (9) from the counts n_x, n_y, on the host in float64 with numpy's
    summation (pairwise, one order whatever the threads), so the same counts give the same bits whatever
    counted them."""
    shift = 1 if variant == 1 else 0
    terms = _psi(nx + shift) + _psi(ny + shift)
    return ksg_constant(len(nx), k, variant) - float(np.mean(terms))


def cmi_statistic(nxz: Tensor, nyz: Tensor, nz: Tensor, k: int) -> float:
    """The Frenzel-Pompe I(X; Y | Z) from its counts (see :func:`~iblearn.functional.ksg_cmi`), on the
    host as :func:`ksg_statistic` computes."""
    terms = _psi(nxz + 1) + _psi(nyz + 1) - _psi(nz + 1)
    return float(digamma(k)) - float(np.mean(terms))


def _psi(counts: Tensor) -> np.ndarray:
    return np.asarray(digamma(counts.cpu().numpy().astype(np.float64)))


def ksg_mi_test(
    x: Any,
    y: Any,
    k: int = 3,
    variant: int = 1,
    *,
    n_permutations: int,
    n_jobs: int | None = None,
    permutation_seed: int | None = None,
    generator: torch.Generator | None = None,
    **options: Unpack[KNNKeywords],
) -> PermutationTest:
    """:func:`~iblearn.functional.ksg_mi` and its permutation test of independence: the estimate of
    ``(x, y[perm])`` for each of ``n_permutations`` permutations of the prepared rows of y.

    Args:
        x, y, k, variant, **options: as for :func:`~iblearn.functional.ksg_mi`
            (``seed`` seeds the jitter, and the permutations if ``permutation_seed`` is None).
        n_permutations: how many permutations, at least 1.
        n_jobs: jobs for the CPU's blocks of permutations through joblib (see
            :func:`~iblearn.functional.pairwise_mi`); on a GPU the blocks run in this process.
        permutation_seed: seeds the permutations, permutation i drawn by
            :func:`iblearn.functional.inference.rng` (the estimators' scheme); None: ``seed``.
        generator: a CPU generator that draws the permutations instead, ``torch.randperm(N)`` one after
            another.

    Returns:
        A :class:`PermutationTest`; the same seed gives the same one on every device and backend.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(500, 2, generator=g)
        >>> test = ksg_mi_test(x, x + torch.randn(500, 2, generator=g), n_permutations=19)
        >>> test.p_value  # no shuffle reaches the estimate: 1 / (1 + 19)
        0.05
    """
    opts = KNNOptions(**options)
    V.ksg_variant(variant)
    n_permutations, device = _checked(n_permutations, n_jobs, ("x", x), ("y", y))
    (xp, yp), k = prepare_samples(
        [("x", _host(x, "x")), ("y", _host(y, "y"))],
        k,
        standardize=opts.standardize,
        ties=opts.ties,
        seed=opts.seed,
    )
    how = pick_backend(opts.backend, device, xp.shape[1] + yp.shape[1], knn_max_tree_dim("chebyshev"))
    n = xp.shape[0]
    if generator is not None:
        draws: Iterator[Tensor] = (torch.randperm(n, generator=generator) for _ in range(n_permutations))
    else:
        start = setting("seed", opts.seed if permutation_seed is None else permutation_seed)
        draws = (
            torch.from_numpy(inference.rng(start, inference.PERMUTATION, i).permutation(n))
            for i in range(n_permutations)
        )
    args = (xp.to(device), yp.to(device), k, variant, how)
    value = float(_mi_block(*args, torch.arange(n)[None])[0])
    return PermutationTest.of(value, _null(_mi_block, args, draws, device, n_jobs))


def ksg_cmi_test(
    x: Any,
    y: Any,
    z: Any,
    k: int = 3,
    *,
    n_permutations: int,
    n_jobs: int | None = None,
    permutation_seed: int | None = None,
    alpha: float | None = None,
    **options: Unpack[KNNKeywords],
) -> PermutationTest:
    """:func:`~iblearn.functional.ksg_cmi` and its local permutation test of conditional independence
    (Runge 2018, Algorithm 1): the estimate of ``(x[perm], y, z)`` for each permutation of
    :func:`~iblearn.functional.local_permutations` of z, which moves each sample's
    x only among its 5 nearest neighbours in z, so that p(x | z) is kept and only a dependence on y
    beyond z is broken.

    Args:
        x, y, z, k, **options: as for :func:`~iblearn.functional.ksg_cmi`, with a
            continuous z (``(N, dz)`` floats).
        n_permutations, n_jobs: as for :func:`ksg_mi_test`.
        permutation_seed: seeds the local permutations; None: ``seed``.
        alpha: a level at which the test stops drawing permutations as soon as its p-value is settled
            above it (:func:`~iblearn.functional.inference.can_reach`, ``p <= alpha``): the test at that level
            decides as the test of all ``n_permutations``, in fewer of them where X and Y are
            independent given Z. The null then holds the permutations drawn, and the p-value is
            theirs, above alpha. None: all of them.

    Returns:
        A :class:`PermutationTest`; the same seed gives the same one on every device and backend.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> z = torch.randn(500, 1, generator=g)
        >>> x, y = z + 0.5 * torch.randn(500, 1, generator=g), z + 0.5 * torch.randn(500, 1, generator=g)
        >>> ksg_cmi_test(x, y, z, n_permutations=19).p_value > 0.05  # independent given z
        True
    """
    opts = KNNOptions(**options)
    samples, names = (x, y, z), ("x", "y", "z")
    return _local_test(samples, names, 0, k, n_permutations, opts, n_jobs, permutation_seed, alpha)


def transfer_entropy_test(
    source: Any,
    target: Any,
    lag: int = 1,
    history: int = 1,
    k: int = 3,
    *,
    n_permutations: int,
    n_jobs: int | None = None,
    permutation_seed: int | None = None,
    **options: Unpack[KNNKeywords],
) -> PermutationTest:
    """:func:`~iblearn.functional.knn.transfer.ksg_transfer_entropy` and its surrogate test of no transfer: TE
    is the conditional MI I(target_t; source_{t-lag} | target's past), and its surrogates permute the source's
    past locally among near neighbours in the target's past (Runge 2018's local permutations of a CMI test),
    which keeps the target's own dynamics and the source's dependence on the target's past, and breaks only
    what the source adds. A global shuffle of the source (IDTxl's default surrogates) tests the source's
    independence of the target's past too, so it rejects wherever the target drives the source.

    Args:
        source, target, lag, history, k, **options: as for
            :func:`~iblearn.functional.knn.transfer.ksg_transfer_entropy`.
        n_permutations, n_jobs, permutation_seed: as for :func:`ksg_cmi_test`.

    Returns:
        A :class:`PermutationTest`; the same seed gives the same one on every device and backend.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(1000, generator=g)
        >>> y = torch.zeros(1000)
        >>> y[1:] = 0.8 * x[:-1] + 0.6 * torch.randn(999, generator=g)  # x drives y one step later
        >>> transfer_entropy_test(x, y, n_permutations=19).p_value  # 1 / (1 + 19)
        0.05
    """
    opts = KNNOptions(**options)
    present, past_source, past_target = partialled(*embedding(source, target, lag, history, k))
    names = ("target", "source", "target")  # its present, the source's past, its own past
    samples = (present, past_source, past_target)
    return _local_test(samples, names, 1, k, n_permutations, opts, n_jobs, permutation_seed)


def ksg_mi_shifted(
    x: Any, y: Any, shifts: Iterable[int], k: int = 3, **options: Unpack[KNNKeywords]
) -> Tensor:
    """``ksg_mi(torch.roll(x, s, 0), y, k, **options)`` for every shift s, the same numbers bit for bit,
    with y checked and made ready once: the surrogates of a series null that shifts x circularly against
    y (:func:`iblearn.functional.inference.circular_shifts`), which keeps each series' own dependence
    and breaks only their alignment. Each shifted x is made ready as :func:`~iblearn.functional.ksg_mi`
    makes it, its jitter drawn from ``seed`` at each position, not carried with the sample.

    Args:
        x, y, k, **options: as for :func:`~iblearn.functional.ksg_mi` (variant 1).
        shifts: steps of each circular shift of x.

    Returns:
        ``(len(shifts),)`` float64 CPU tensor, nats.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(300, 1, generator=g)
        >>> y = x + torch.randn(300, 1, generator=g)
        >>> null = ksg_mi_shifted(x, y, [50, 120])
        >>> from iblearn.functional import ksg_mi
        >>> bool(null[1] == ksg_mi(torch.roll(x, 120, 0), y))
        True
    """
    opts = KNNOptions(**options)
    (_, yt), k = prepare_samples(
        [("x", x), ("y", y)], k, standardize=opts.standardize, ties=opts.ties, seed=opts.seed
    )
    xt = V.continuous(x, "x").detach().to(torch.float64)
    values = []
    for s in shifts:
        xs = ready(
            torch.roll(xt, int(s), 0), "x", standardize=opts.standardize, ties=opts.ties, seed=opts.seed
        )
        values.append(float(ksg_from_counts(*ksg_counts(xs, yt, k, opts.backend, 1), k, 1)))
    return torch.tensor(values, dtype=torch.float64)


def _local_test(
    samples: tuple[Any, Any, Any],
    names: tuple[str, str, str],
    moved: int,
    k: int,
    n_permutations: int,
    opts: KNNOptions,
    n_jobs: int | None,
    permutation_seed: int | None,
    alpha: float | None = None,
) -> PermutationTest:
    """The local permutation test of I(X; Y | Z) for ``samples`` (x, y, z), of which x (``moved=0``) or
    y (1) is permuted in z; with ``alpha``, stopped once its p-value is settled above it."""
    n_permutations, device = _checked(n_permutations, n_jobs, *zip(names, samples, strict=True))
    if alpha is not None and not 0 < V.real_number(alpha, "alpha") < 1:
        raise ValueError(f"alpha: expected a level in (0, 1), got {alpha!r}")
    if z_classes(samples[2]) is not None:
        raise ValueError(
            f"{names[2]}: integer classes; this test takes a continuous condition (the estimators' "
            "n_permutations shuffles within classes)"
        )
    host = [_host(s, name) for s, name in zip(samples, names, strict=True)]
    x, y, z, k = continuous_samples(
        host[0], host[1], host[2], k, opts.standardize, opts.ties, opts.seed, names
    )
    seed = opts.seed
    how = pick_backend(
        opts.backend, device, x.shape[1] + y.shape[1] + z.shape[1], knn_max_tree_dim("chebyshev")
    )
    # Drawn on the CPU, so every device gets the same permutations (the neighbours in z come out the same).
    drawn = seed if permutation_seed is None else V.seed(permutation_seed, "permutation_seed")
    draws = iter_local_permutations(host[2], standardize=opts.standardize, seed=drawn)
    perms = (torch.from_numpy(next(draws)) for _ in range(n_permutations))
    pair = (x, y) if moved == 0 else (y, x)
    # Repeated rows of the local draw would tie their twins' distances exactly, and strict counts would
    # drop neighbours at the radius: noise fixed per position parts them (see the module's notes).
    noise = torch.randn(pair[0].shape, generator=torch.Generator().manual_seed(seed + 3), dtype=torch.float64)
    shake = JITTER * pair[0].std(dim=0, unbiased=False) * noise
    args = (pair[0], shake, _Spaces(pair[1].to(device), z.to(device), k, pair[0].shape[1]), how)
    value = float(_cmi_block(*args, torch.arange(x.shape[0])[None])[0])
    stop = None if alpha is None else _settled(value, n_permutations, alpha)
    return PermutationTest.of(value, _null(_cmi_block, args, perms, device, n_jobs, stop))


def _settled(value: float, n_permutations: int, alpha: float) -> Callable[[np.ndarray], bool]:
    """Fed the null's values block by block, whether the p-value of ``value`` against
    ``n_permutations`` of them is settled above ``alpha``: it can no longer reach ``p <= alpha``
    (:func:`~iblearn.functional.inference.can_reach`)."""
    hits = 0

    def stop(block: np.ndarray) -> bool:
        nonlocal hits
        hits += int((block >= value).sum())
        return not inference.can_reach(hits, n_permutations, alpha, at_alpha=True)

    return stop


def _checked(n_permutations: Any, n_jobs: Any, *named: tuple[str, Any]) -> tuple[int, torch.device]:
    """``n_permutations`` (at least 1) and ``n_jobs`` checked; the device of the samples ``named``."""
    resampling_counts(0, n_permutations)
    check_n_jobs(n_jobs)
    tensors = [(name, V.as_tensor(value, name)) for name, value in named]
    return V.positive_int(n_permutations, "n_permutations"), V.same_device(*tensors)


def _host(value: Any, name: str) -> Tensor:
    return V.as_tensor(value, name).detach().cpu()


def _mi_block(x: Tensor, y: Tensor, k: int, variant: int, how: str, perms: Tensor) -> np.ndarray:
    """KSG of ``(x, y[p])`` for each row p of ``perms`` by :func:`ksg_statistic`."""
    if how == "tree":
        counts: Any = (ksg_counts_tree(x, y[p], k, variant) for p in perms)
    else:
        nx, ny = ksg_counts_permuted(x, y, perms, k, variant)
        counts = zip(nx.cpu(), ny.cpu(), strict=True)
    return np.array([ksg_statistic(a, b, k, variant) for a, b in counts])


class _Spaces:
    """The samples no permutation moves, ``kept`` and ``z``, with the compiled kernel's layouts of their
    (kept, z) and z spaces made on first use in each process: once a test (a job in another process
    receives the samples and makes its own)."""

    def __init__(self, kept: Tensor, z: Tensor, k: int, moved_dim: int) -> None:
        self.kept, self.z, self.k, self.moved_dim = kept, z, k, moved_dim
        self._cond: PreparedCondition | None = None

    def condition(self) -> PreparedCondition:
        if self._cond is None:
            self._cond = indexed_condition(self.kept, self.z, self.k, self.moved_dim)
        return self._cond

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__ | {"_cond": None}


def _cmi_block(moved: Tensor, shake: Tensor, spaces: _Spaces, how: str, perms: Tensor) -> np.ndarray:
    """The CMI of ``(moved[p] + shake, kept, z)`` for each row p of ``perms`` by :func:`cmi_statistic`
    (symmetric in the first two, so ``moved`` may be either); ``moved`` and ``shake`` on the CPU. A 1-d
    ``moved`` on the tree's path has every row's radii and counts read off the (kept, z) and z spaces'
    neighbour lists in one kernel call (:func:`~iblearn.functional.knn.neighbors.listed_counts_many`),
    the counts of :func:`~iblearn.functional.knn.cmi.condition_counts`."""
    k, kept = spaces.k, spaces.kept
    xs = (moved[perms] + shake).to(kept.device)
    if how != "tree":
        counts = zip(*(c.cpu() for c in cmi_counts_brute(xs, kept, spaces.z, k)), strict=True)
        return np.array([cmi_statistic(a, b, c, k) for a, b, c in counts])
    cond = spaces.condition()
    listed: list[np.ndarray] | None = None
    fine = np.zeros(len(xs), dtype=bool)
    if cond.lists is not None and cond.yz is not None and xs.shape[2] == 1:
        eps, listed = listed_counts_many(xs[:, :, 0].numpy(), k, cond.yz, kept.shape[1], *cond.lists)
        fine = np.asarray(((eps > 0) & np.isfinite(eps)).all(axis=1))
    values = []
    for b in range(len(xs)):
        if listed is not None and bool(fine[b]):
            row = [c[b] for c in listed]
        else:  # x of several columns, or a zero radius: the searches of condition_counts
            row = [np.asarray(c) for c in condition_counts(cond, xs[b])]
        nxz, nyz, nz = (torch.from_numpy(c) for c in row)
        values.append(cmi_statistic(nxz, nyz, nz, k))
    return np.array(values)


def _null(
    block: Callable[..., np.ndarray],
    args: tuple[Any, ...],
    perms: Iterator[Tensor],
    device: torch.device,
    n_jobs: int | None,
    stop: Callable[[np.ndarray], bool] | None = None,
) -> Tensor:
    """``block(*args, perms)`` over consecutive blocks of ``perms``, drawn in order as needed: on the CPU
    through :func:`~iblearn.parallel.iter_batches`, on a GPU in this process; until ``stop`` of a
    block's values says so, where given."""
    on_cpu = device.type == "cpu"
    size = PERMUTATIONS_PER_BATCH if on_cpu else DEVICE_PERMUTATIONS_PER_BLOCK

    def batches() -> Iterator[tuple[Any, ...]]:
        while chunk := list(itertools.islice(perms, size)):
            yield (*args, torch.stack(chunk))

    values = iter_batches(block, batches(), n_jobs) if on_cpu else (block(*b) for b in batches())
    done = []
    for chunk in values:
        done.append(chunk)
        if stop is not None and stop(chunk):
            break
    return torch.from_numpy(np.concatenate(done))


def transfer_entropy_estimate(
    source: Any,
    target: Any,
    lag: int = 1,
    history: int = 1,
    k: int = 3,
    *,
    n_resamples: int = 0,
    n_permutations: int = 0,
    n_jobs: int | None = None,
    null: Literal["local", "shift"] = "local",
    **options: Unpack[KNNKeywords],
) -> inference.Estimate:
    """:func:`~iblearn.functional.knn.transfer.ksg_transfer_entropy` with what is known of it, as the one
    result type (:class:`~iblearn.functional.inference.Estimate`): with ``n_resamples``, a standard error, a
    bias and a 95% interval from the blockwise jackknife of :mod:`iblearn.functional.inference` (half of the
    blocks of successive samples, so the series' own dependence stays in each resample; a block as long as the
    series' autocorrelation asks, :func:`iblearn.functional.serial.series_blocks`), and in
    ``report.features`` the figures that say whether to believe it (the series' mixing where it is too
    slow for enough blocks, the halves' trend, the series' tails), which the front door's verdict reads
    (:func:`iblearn.estimation.verdict.series_figures_verdict`); with ``n_permutations``, the p-value of
    :func:`transfer_entropy_test`.

    Args:
        source, target, lag, history, k, **options: as for
            :func:`~iblearn.functional.knn.transfer.ksg_transfer_entropy` (``seed`` seeds the resamples
            and the permutations too).
        n_resamples: blockwise resamples behind the standard error and the interval (0: none).
        n_permutations: surrogates behind the p-value (0: none).
        n_jobs: jobs for the local permutations, as in :func:`transfer_entropy_test`.
        null: the surrogates: ``"local"``, the source's past permuted locally in the target's past
            (:func:`transfer_entropy_test`); or ``"shift"``, the whole source series circularly
            shifted against the target by at least :func:`iblearn.functional.inference.block_length`
            plus ``max(lag, history)`` steps (:func:`iblearn.functional.inference.circular_shifts`),
            which keeps each series' own dynamics whole and breaks only their alignment.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(1000, generator=g)
        >>> y = torch.zeros(1000)
        >>> y[1:] = 0.8 * x[:-1] + 0.6 * torch.randn(999, generator=g)
        >>> est = transfer_entropy_estimate(x, y, n_resamples=20)
        >>> est.measure, est.stderr_method, est.interval[0] < float(est) < est.interval[1]
        ('transfer_entropy', 'blockwise jackknife', True)
    """
    opts = KNNOptions(**options)
    resampling_counts(n_resamples, n_permutations)
    samples = partialled(*embedding(source, target, lag, history, k))
    te = _cmi_of_rows(samples, k, opts)
    value = te(None)
    n = len(samples[0])
    V.null_asked(V.choice(null, "null", ("local", "shift")), n_permutations, "local")
    fields = _te_spread(te, value, n, (source, target), n_resamples, opts.seed) if n_resamples else {}
    if n_permutations:
        series, embed = (source, target), (lag, history, k)
        fields |= _te_null(null, value, series, embed, n_permutations, n_jobs, opts)
    features = fields.pop("features", {})
    est = inference.Estimate(
        torch.tensor(value, dtype=torch.float64), n, "ksg", measure="transfer_entropy", **fields
    )
    return replace(est, report=replace(est.report, features=features)) if features else est


def _cmi_of_rows(
    samples: tuple[Tensor, Tensor, Tensor], k: int, opts: KNNOptions
) -> Callable[[np.ndarray | None], float]:
    """``ksg_cmi(x, y, z, k)`` of the rows of ``samples`` (None: all of them) with ``opts``. Where they
    are single CPU columns and the settings the defaults, each column's order on the rows is taken from
    its ranks among all of them, sorted once (:func:`~iblearn.functional.knn.cmi.ksg_cmi_ranked`, the
    same value to the last bit): the resamples then sort nothing."""
    keywords = opts.keywords()
    ranks = column_ranks(samples) if opts.default_settings() else None
    size = len(samples[0])

    def cmi(rows: np.ndarray | None) -> float:
        x, y, z = (t if rows is None else t[torch.from_numpy(rows).to(t.device)] for t in samples)
        if ranks is not None:
            keys = list(ranks) if rows is None else [r[rows] for r in ranks]
            value = ksg_cmi_ranked(x, y, z, keys, size, k, opts.seed)
            if value is not None:
                return value
        return float(ksg_cmi(x, y, z, k, **keywords))

    return cmi


def _te_spread(
    te: Callable[[np.ndarray | None], float],
    value: float,
    n: int,
    series: tuple[Any, Any],
    n_resamples: int,
    seed: int,
) -> dict[str, Any]:
    """The blockwise standard error, interval and bias of a transfer entropy ``value`` of ``n`` rows,
    and the figures a verdict reads (``"features"``): the series' mixing where it is too slow for a
    blockwise error (:func:`~iblearn.functional.serial.slow_figures`), the halves' mean and count
    (``"half"``, ``"resamples"``) and each series' tail share (``"tails source"``, ``"tails
    target"``: :func:`~iblearn.functional.inference.tail_share`)."""
    block, slow = series_blocks(list(series), n)
    res = inference.resampled(te, n, n_resamples, "block", seed, block)
    # A blockwise spread rests on the blocks: with fewer blocks than resamples, theirs are its degrees
    # of freedom.
    blocks = -(-n // block)
    span, bias = inference.interval(
        value, res.stderr, half=res.half, n_resamples=min(res.n_resamples, blocks), floor=0.0
    )
    features = dict(slow)
    if res.half is not None:
        features |= {"half": res.half, "resamples": float(res.n_resamples)}
    names = ("source", "target")
    features |= {f"tails {name}": inference.tail_share(s) for name, s in zip(names, series, strict=True)}
    return dict(
        stderr=res.stderr,
        stderr_method=res.method,
        interval=span,
        confidence=inference.CONFIDENCE,
        bias=bias,
        features=features,
    )


def _te_null(
    null: str,
    value: float,
    series: tuple[Any, Any],
    embed: tuple[int, int, int],
    n_permutations: int,
    n_jobs: int | None,
    opts: KNNOptions,
) -> dict[str, Any]:
    """The permutation p-value of a transfer entropy ``value`` against ``null``: the source's past
    permuted locally in the target's past, or the source circularly shifted."""
    (source, target), (lag, history, k) = series, embed
    if null == "local":
        test = transfer_entropy_test(
            source, target, *embed, n_permutations=n_permutations, n_jobs=n_jobs,
            permutation_seed=opts.seed, **opts.keywords(),
        )  # fmt: skip
        what, p = "no transfer: the source's past permuted locally in the target's past", test.p_value
    else:
        src = V.series(source, "source")
        length = len(src)
        shifts = inference.circular_shifts(
            length, n_permutations, opts.seed, max(lag, history) + block_length(length)
        )
        nulls = [
            float(
                ksg_transfer_entropy(torch.roll(src, int(s), 0), target, lag, history, k, **opts.keywords())
            )
            for s in shifts
        ]
        what, p = (
            "no transfer: the source series circularly shifted against the target",
            inference.p_value(value, nulls),
        )
    return dict(p_value=p, n_permutations=n_permutations, null=what)
