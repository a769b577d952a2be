"""Conditional mutual information I(X; Y | Z): the nearest-neighbour estimator of Frenzel & Pompe, its
Gaussian closed form; the local permutation scheme that tests conditional independence with it is in
:mod:`iblearn.functional.knn.permutations`.

    I(X; Y | Z) = h(X, Z) + h(Y, Z) - h(X, Y, Z) - h(Z)

is the information X and Y share beyond what Z tells about either: 0 exactly when X and Y are
independent given Z.

References:
    S. Frenzel, B. Pompe. Partial mutual information for coupling analysis of multivariate time series.
    Phys. Rev. Lett. 99, 204101 (2007): KSG's algorithm 1 (Kraskov et al. 2004, eq. 8) carried over to
    the four entropies above, with one neighbour radius per sample from the joint (x, y, z) space.
    J. Runge. Conditional independence testing based on a nearest-neighbor estimator of conditional
    mutual information. AISTATS 2018, PMLR 84: the estimator as a test statistic.

All estimates are 0-d float64 tensors in nats on the input's device.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Unpack

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from iblearn import _checks as V
from iblearn._settings import setting
from iblearn.functional.gaussian import (
    canonical_bases,
    determined,
    gaussian_local_mi_of_bases,
    gaussian_mi,
    gaussian_mi_from_cov,
    logdet,
)
from iblearn.functional.knn import fused_cmi
from iblearn.functional.knn.counts import digamma_f64, ksg_from_counts, psi, row_chunks
from iblearn.functional.knn.formula import digamma_table
from iblearn.functional.knn.ksg import ksg_counts, ksg_mi, prepare, ranked_columns, ready, ready_columns
from iblearn.functional.knn.neighbors import (
    HAVE_KERNEL,
    LISTED_KMAX,
    Backend,
    CountIndex,
    Lists,
    chebyshev,
    check_radius,
    cmi_column_counts,
    column_keys,
    count_in_index,
    count_index,
    count_within,
    fill_self,
    knn_max_tree_dim,
    kth_neighbour,
    listed_counts,
    listed_counts_many,
    nested_lists,
    pick_backend,
    uses_tree,
)
from iblearn.functional.knn.options import KNNKeywords, KNNOptions, Ties
from iblearn.functional.scale import constant_columns, power_of_two_scale


def z_classes(z: Any) -> Tensor | None:
    """``z`` as class indices ``(N,)`` if it holds integers (or bools), else None (continuous).

    Integer rows ``(N, d)`` are one class per distinct row, so a z of several discrete variables
    conditions on all of them at once.
    """
    t = V.as_tensor(z, "z")
    if torch.is_floating_point(t):
        return None
    symbols = V.symbols(t, "z")
    return torch.unique(symbols, dim=0, return_inverse=True)[1]


def continuous_z(z: Any, name: str = "z") -> Tensor:
    """A continuous z, refused if it is constant: conditioning on a constant is no conditioning."""
    t = V.several_rows(V.continuous(z, name), name).detach()
    if bool(constant_columns(t).all()):
        raise ValueError(
            f"{name}: every column is constant, so conditioning on it changes nothing; "
            "estimate I(X; Y) instead (ksg_mi, gaussian_mi)"
        )
    return t


def _per_class(classes: Tensor, need: int, estimate: Callable[[Tensor], Tensor], what: str) -> Tensor:
    """``sum_c p(c) estimate(rows of class c)``: I(X; Y | Z) for a discrete Z, whose every class is a
    separate conditional distribution. ``need`` is the fewest samples a class may have."""
    n = classes.shape[0]
    total = torch.zeros((), dtype=torch.float64)
    values, counts = torch.unique(classes, return_counts=True)
    if len(values) == 1:
        raise ValueError("z: every sample is in one class, so conditioning on it changes nothing")
    for c, count in zip(values.tolist(), counts.tolist(), strict=True):
        if count < need:
            raise ValueError(
                f"z: class {c} (of {len(values)}) has {count} of the {n} samples; {what} needs at least "
                f"{need} in every class (merge rare classes or lower k)"
            )
        members = (classes == c).nonzero()[:, 0]
        try:
            value = estimate(members)
        except ValueError as err:  # name the class: 'x: is constant' alone would point at all of x
            raise ValueError(f"z: within class {c}: {err}") from err
        total = total.to(value.device) + (count / n) * value.to(torch.float64)
    return total


def _per_class_local(classes: Tensor, need: int, local: Callable[[Tensor], Tensor], what: str) -> Tensor:
    """The local values ``(N,)`` of :func:`_per_class`: each sample's value within its class, so that
    their mean is ``sum_c p(c) <local values of class c>``, the estimate."""
    out: list[Tensor] = []

    def placed(rows: Tensor) -> Tensor:
        values = local(rows)
        out.append(torch.zeros(classes.shape[0], dtype=torch.float64, device=values.device))
        out[-1][rows.to(values.device)] = values.to(torch.float64)
        return values.mean()

    _per_class(classes, need, placed, what)
    return torch.stack(out).sum(dim=0)


# -------------------------------------------------------------------------------------- the kNN estimator
def ksg_cmi(
    x: Any,
    y: Any,
    z: Any,
    k: int = 3,
    *,
    local: bool = False,
    **options: Unpack[KNNKeywords],
) -> Tensor:
    """Frenzel-Pompe estimate of the conditional mutual information I(X; Y | Z) in nats, max-norm.

    With eps_i the max-norm distance from sample i to its k-th nearest neighbour in the joint
    (x, y, z) space, and strict counts in three subspaces,

        ``n_xz(i) = #{j != i : max(|x_j - x_i|, |z_j - z_i|) < eps_i}``, likewise n_yz and n_z,

    the estimate is (Frenzel & Pompe 2007; the same form in Runge 2018)

        ``I(X; Y | Z) = psi(k) - < psi(n_xz + 1) + psi(n_yz + 1) - psi(n_z + 1) >``,

    KSG's algorithm 1 (:func:`iblearn.functional.ksg_mi`, KSG eq. 8) applied to the decomposition
    I(X; Y | Z) = h(X, Z) + h(Y, Z) - h(X, Y, Z) - h(Z) with one radius per sample, so that the
    entropy estimators' biases largely cancel.

    Integer (or bool) ``z`` is a discrete condition: ``I = sum_c p(c) I(X; Y | Z = c)`` with each term
    the KSG estimate on the samples of class c (standardized and jittered with all samples, not per
    class). Each class needs more than ``k`` samples.

    Args:
        x: ``(N, dx)`` or ``(N,)`` floating-point samples.
        y: ``(N, dy)`` or ``(N,)`` floating-point samples.
        z: ``(N, dz)`` or ``(N,)`` floating-point samples, or integer class labels ``(N,)`` (or integer
            rows ``(N, d)``, one class per distinct row).
        k: neighbours in the joint space, 1 <= k < N (KSG recommend 2 - 4 for estimation; for a
            test, Runge 2018 takes k as a fraction of N, up to about 20%, for more power).
        local: return the local (pointwise) values, one per sample, whose mean is the estimate:
            ``psi(k) - psi(n_xz(i) + 1) - psi(n_yz(i) + 1) + psi(n_z(i) + 1)`` (the local CMI of
            Lizier's JIDT); for integer z, the pointwise KSG MI
            (:func:`~iblearn.functional.ksg_mi` with ``local=True``) of each sample within its class.
        **options: the kNN settings (:class:`~iblearn.functional.knn.options.KNNKeywords`): x is jittered
            from ``seed``, y from ``seed + 1``, as in :func:`iblearn.functional.ksg_mi`, and z from
            ``seed + 2``.

    Returns:
        0-d float64 tensor, nats, not clipped at 0; with ``local``, ``(N,)`` float64.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> z = torch.randn(2000, 1, generator=g)
        >>> x = z + 0.5 * torch.randn(2000, 1, generator=g)   # x and y share only z
        >>> y = z + 0.5 * torch.randn(2000, 1, generator=g)
        >>> float(ksg_mi(x, y)) > 0.4, abs(float(ksg_cmi(x, y, z))) < 0.05  # truths 0.51 and 0
        (True, True)
    """
    opts = KNNOptions(**options)
    return ksg_cmi_named(x, y, z, k, opts, ("x", "y", "z"), local=V.flag(local, "local"))


def ksg_cmi_named(
    x: Any,
    y: Any,
    z: Any,
    k: int,
    opts: KNNOptions,
    names: tuple[str, str, str],
    local: bool = False,
) -> Tensor:
    """:func:`ksg_cmi` with the names that errors give x, y and a continuous z (transfer entropy's
    series), so that a message names what the caller passed; ``local`` as for :func:`ksg_cmi`."""
    classes = z_classes(z)
    if classes is not None:
        x = prepare(x, names[0], standardize=opts.standardize, ties=opts.ties, seed=opts.seed)
        y = prepare(y, names[1], standardize=opts.standardize, ties=opts.ties, seed=opts.seed + 1)
        n = V.same_length(("x", x), ("y", y), ("z", classes))
        V.same_device(("x", x), ("y", y))
        k = V.neighbours(k, n)

        def within(rows: Tensor) -> Tensor:
            # Already standardized and jittered: ties="raise" only checks, adding no second jitter.
            rows = rows.to(x.device)
            return ksg_mi(
                x[rows], y[rows], k, local=local, standardize=False, ties="raise", backend=opts.backend
            )

        if local:
            return _per_class_local(classes, k + 1, within, f"k={k}")
        return _per_class(classes, k + 1, within, f"k={k}")
    x, y, zt, k = continuous_samples(x, y, z, k, opts.standardize, opts.ties, opts.seed, names)
    nxz, nyz, nz = cmi_counts(x, y, zt, k, opts.backend)
    terms = psi(k) - (digamma_f64(nxz + 1) + digamma_f64(nyz + 1) - digamma_f64(nz + 1))
    return terms if local else terms.mean()


def continuous_samples(
    x: Any,
    y: Any,
    z: Any,
    k: int,
    standardize: bool,
    ties: Ties,
    seed: int,
    names: tuple[str, str, str],
) -> tuple[Tensor, Tensor, Tensor, int]:
    """x, y and a continuous z made ready as :func:`ksg_cmi` does (jittered from ``seed``, ``seed + 1``
    and ``seed + 2``), checked to hold the same N rows on one device, and ``k`` checked against N."""
    x = prepare(x, names[0], standardize=standardize, ties=ties, seed=setting("seed", seed))
    y = prepare(y, names[1], standardize=standardize, ties=ties, seed=seed + 1)
    zt = prepare(continuous_z(z, names[2]), names[2], standardize=standardize, ties=ties, seed=seed + 2)
    named = list(zip(names, (x, y, zt), strict=True))
    n = V.same_length(*named)
    V.same_device(*named)
    return x, y, zt, V.neighbours(k, n)


def cmi_counts(x: Tensor, y: Tensor, z: Tensor, k: int, backend: Backend) -> tuple[Tensor, Tensor, Tensor]:
    """n_xz, n_yz and n_z of :func:`ksg_cmi` on prepared samples."""
    joint_dim = x.shape[1] + y.shape[1] + z.shape[1]
    if pick_backend(backend, x.device, joint_dim, knn_max_tree_dim("chebyshev")) == "brute":
        nxz, nyz, nz = cmi_counts_brute(x, y, z, k)
        return nxz[0], nyz[0], nz[0]
    eps, _ = kth_neighbour([x, y, z], k, "chebyshev", "tree")
    if HAVE_KERNEL and x.shape[1] == y.shape[1] == z.shape[1] == 1:
        check_radius(eps)
        counts = cmi_column_counts([x.numpy(), y.numpy(), z.numpy()], eps.numpy())
        return torch.from_numpy(counts[0]), torch.from_numpy(counts[1]), torch.from_numpy(counts[2])
    nxz = count_within(torch.cat([x, z], dim=1), eps, "chebyshev", "tree", inclusive=False)
    nyz = count_within(torch.cat([y, z], dim=1), eps, "chebyshev", "tree", inclusive=False)
    nz = count_within(z, eps, "chebyshev", "tree", inclusive=False)
    return nxz, nyz, nz


def ksg_cmi_ranked(
    x: Tensor,
    y: Tensor,
    z: Tensor,
    keys: Sequence[NDArray[np.int64]],
    size: int,
    k: int,
    seed: int,
    orders: Sequence[NDArray[np.int64] | None] | None = None,
) -> float | None:
    """``ksg_cmi(x, y, z, k, seed=seed)`` (the default settings) of three single CPU columns whose
    orders are known, the same value to the last bit without sorting them: ``keys`` as for
    :func:`~iblearn.functional.knn.ksg.ranked_column`, one a column, and ``orders`` as for
    :func:`~iblearn.functional.knn.ksg.ksg_mi_ranked`. None where the shortcut does not
    hold (:func:`~iblearn.functional.knn.ksg.ranked_column` declines, another shape, ``k`` out of
    range, a radius of 0 or inf): the caller then calls :func:`ksg_cmi`, which gives that value or
    the error."""
    terms = cmi_terms_ranked(x, y, z, keys, size, k, seed, orders)
    return None if terms is None else float(torch.from_numpy(terms).mean())


def cmi_terms_ranked(
    x: Tensor,
    y: Tensor,
    z: Tensor,
    keys: Sequence[NDArray[np.int64]],
    size: int,
    k: int,
    seed: int,
    orders: Sequence[NDArray[np.int64] | None] | None = None,
) -> NDArray[np.float64] | None:
    """The per-row terms of :func:`ksg_cmi_ranked` (its arguments), ``psi(k) - psi(n_xz + 1) -
    psi(n_yz + 1) + psi(n_z + 1)`` ``(N,)``, as ``ksg_cmi(..., local=True)`` gives them: their mean
    (torch's) is the estimate. None where the shortcut does not hold."""
    n = len(x)
    columns = (x, y, z)
    if not HAVE_KERNEL or any(c.ndim != 2 or c.shape != (n, 1) for c in columns):
        return None
    if not (isinstance(k, int) and 1 <= k < n):
        return None
    found = ranked_columns(columns, keys, size, seed, orders)
    if found is None:
        return None
    prepared, ascending = found
    eps, _ = kth_neighbour([torch.from_numpy(a) for a in prepared], k, "chebyshev", "tree")
    if not bool(((eps > 0) & torch.isfinite(eps)).all()):
        return None
    # Radii positive and finite, what count_within checks; each space's layout from the columns' orders,
    # known from the keys.
    nxz, nyz, nz = cmi_column_counts(prepared, eps.numpy(), ascending)
    # digamma_f64's numbers looked up, as ksg_cmi forms the terms.
    table = digamma_table(n)
    return psi(k) - (table[nxz + 1] + table[nyz + 1] - table[nz + 1])


@dataclass(frozen=True)
class PreparedCondition:
    """y and a continuous z of :func:`ksg_cmi` made ready once (with the default settings: standardized,
    jittered from seeds 1 and 2), and the compiled kernel's layouts of the (y, z) and z spaces, whose
    counts every x estimated against them asks for (None where the kernel does not count them). With
    no z (None), the estimate is :func:`~iblearn.functional.ksg_mi`'s of x and y."""

    y: Tensor
    z: Tensor | None
    k: int
    yz_index: CountIndex | None
    z_index: CountIndex | None
    #: :func:`~iblearn.functional.knn.neighbors.column_keys` of y and z (where the kernel counts).
    keys: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
    #: ``psi(m + 1)`` for every count m of N points, ``(N,)``: the terms' digammas, looked up.
    digammas: NDArray[np.float64] | None = None
    #: Each point's nearest neighbours in the (y, z) and z spaces (:func:`neighbour_lists`), where N is
    #: at most :data:`LISTED_MAX_N`: a 1-d x's radius and counts are read off them.
    lists: tuple[Lists, Lists] | None = None
    #: The (y, z) space's points ``(N, dy + dz)``, where the lists are made.
    yz: NDArray[np.float64] | None = None
    #: y and z copied to a device, by device, once for the many x counted there.
    moved: dict[torch.device, tuple[Tensor, Tensor | None]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def on(self, device: torch.device) -> tuple[Tensor, Tensor | None]:
        """y and z on ``device``, copied once."""
        if device not in self.moved:
            self.moved[device] = (self.y.to(device), None if self.z is None else self.z.to(device))
        return self.moved[device]


#: Neighbours listed a point in the (y, z) space and in the z space. A 1-d x's k-th joint neighbour
#: lies among a point's nearest in (y, z), since the joint distance is at least the (y, z) one, and the
#: counts within its radius are read off both lists, all within them where the radius is at most the
#: next neighbour's distance (:func:`~iblearn.functional.knn.neighbors.listed_counts`; the few points
#: whose radius reaches further, in sparse regions, are measured against all points). Against the k-d
#: tree's search and counts a candidate, one thread, N = 1,000, k = 4: see benchmarks/network_target.py.
#: The lengths trade two costs: longer lists leave fewer points to be measured against all, which
#: speeds each x counted, but cost more to make, once a conditioning set. So a conditioning set that
#: serves fewer than :data:`LISTED_MANY` estimates (one candidate and its surrogates) gets the short
#: lists, one that serves more (many candidates' surrogates, a permutation test) the long ones.
LISTED_SHORT, LISTED_LONG = (128, 512), (384, 768)
LISTED_MANY = 2000
#: The lists are made for at most this many points (the z list's N x 768 indices and distances).
LISTED_MAX_N = 4096


def prepared_condition(y: Any, z: Any, k: int, estimates: int = LISTED_MANY) -> PreparedCondition:
    """The :class:`PreparedCondition` of ``y`` and a continuous ``z`` (None or no columns: no condition),
    checked as :func:`ksg_cmi` checks them (``k`` against their rows); x of one dimension is assumed
    for the choice of the search, and ``estimates`` of them for the lists' lengths."""
    yt = prepare(y, "y", standardize=True, ties="jitter", seed=1)
    if z is None or (z.ndim == 2 and z.shape[1] == 0):
        return PreparedCondition(yt, None, V.neighbours(k, yt.shape[0]), None, None)
    zt = prepare(continuous_z(z), "z", standardize=True, ties="jitter", seed=2)
    V.same_device(("y", yt), ("z", zt))
    return indexed_condition(yt, zt, V.neighbours(k, V.same_length(("y", yt), ("z", zt))), 1, estimates)


def indexed_condition(
    y: Tensor, z: Tensor, k: int, x_dim: int = 1, estimates: int = LISTED_MANY
) -> PreparedCondition:
    """The :class:`PreparedCondition` of samples ``y`` and ``z`` already made ready (``(N, d)`` float64 on
    one device, ``k`` checked), with the compiled kernel's layouts of the (y, z) and z spaces where it
    counts an x of ``x_dim`` columns against them, and neighbour lists as long as ``estimates`` such
    x's call for (:data:`LISTED_MANY`)."""
    kernel = HAVE_KERNEL and y.device.type == "cpu"
    kernel = kernel and x_dim + y.shape[1] + z.shape[1] <= knn_max_tree_dim("chebyshev")
    if not kernel:
        return PreparedCondition(y, z, k, None, None)
    yz = torch.cat([y, z], dim=1).numpy()
    ky, kz = column_keys(y.numpy()), column_keys(z.numpy())
    yz_index, z_index = count_index(yz, np.hstack([ky, kz])), count_index(z.numpy(), kz)
    digammas = digamma_f64(torch.arange(1, y.shape[0] + 1)).numpy()
    n, lists = y.shape[0], None
    if k + 2 <= n <= LISTED_MAX_N and k <= LISTED_KMAX:
        yz = np.ascontiguousarray(yz)
        m_yz, m_z = LISTED_LONG if estimates >= LISTED_MANY else LISTED_SHORT
        lists = nested_lists(yz, y.shape[1], min(m_yz, n - 2), min(m_z, n - 2))
    return PreparedCondition(y, z, k, yz_index, z_index, (ky, kz), digammas, lists, yz if lists else None)


def ksg_cmi_prepared(cond: PreparedCondition, x: Tensor) -> Tensor:
    """``ksg_cmi(x, y, z, k)`` of ``cond``'s y, z and k, the same number bit for bit, with no checks:
    ``x`` is finite float64 ``(N, dx)`` on their device, its N rows theirs, and not constant (as the
    caller's own checks ensure). For the greedy search of network inference, which estimates thousands
    of candidates and their surrogates against one conditioning set."""
    xt = ready(x, "x", standardize=True, ties="jitter", seed=0)
    k = cond.k
    if cond.z is None:
        return ksg_from_counts(*ksg_counts(xt, cond.y, k, "auto", 1), k, 1)
    counts = condition_counts(cond, xt)
    if cond.digammas is None or isinstance(counts[0], Tensor):
        nxz, nyz, nz = (torch.as_tensor(c) for c in counts)
        return (psi(k) - (digamma_f64(nxz + 1) + digamma_f64(nyz + 1) - digamma_f64(nz + 1))).mean()
    # The digammas looked up are torch's of each count, and the differences are exact roundings on
    # any library: only the mean needs torch's own order of summation.
    cxz, cyz, cz = counts
    psis = cond.digammas
    return torch.from_numpy(psi(k) - (psis[cxz] + psis[cyz] - psis[cz])).mean()


def ksg_cmi_prepared_many(cond: PreparedCondition, xs: NDArray[np.float64]) -> NDArray[np.float64]:
    """:func:`ksg_cmi_prepared` of each row of ``xs`` ``(B, N)`` as a 1-d x, ``(B,)``: the same numbers
    bit for bit, with the rows made ready together (:func:`~iblearn.functional.knn.ksg.ready_columns`)
    and their radii and counts read off ``cond``'s neighbour lists in one kernel call
    (:func:`~iblearn.functional.knn.neighbors.listed_counts_many`). Rows that need more (a condition
    without lists, a row the jitter leaves tied, a zero radius) take :func:`ksg_cmi_prepared` each."""
    xs = np.asarray(xs, dtype=np.float64)
    out, alone = np.empty(len(xs)), np.ones(len(xs), dtype=bool)
    lists, yz, psis = cond.lists, cond.yz, cond.digammas
    if lists is not None and yz is not None and psis is not None and len(xs) and _listed_tree(cond):
        ready_xs, done = ready_columns(xs, seed=0)
        rows = np.flatnonzero(done)
        eps, (cxz, cyz, cz) = listed_counts_many(ready_xs[rows], cond.k, yz, cond.y.shape[1], *lists)
        fine = ((eps > 0) & np.isfinite(eps)).all(axis=1)
        terms = psi(cond.k) - (psis[cxz[fine]] + psis[cyz[fine]] - psis[cz[fine]])
        out[rows[fine]] = torch.from_numpy(terms).mean(dim=1).numpy()
        alone[rows[fine]] = False
    for b in np.flatnonzero(alone):
        out[b] = float(ksg_cmi_prepared(cond, torch.from_numpy(np.ascontiguousarray(xs[b, :, None]))))
    return out


def _listed_tree(cond: PreparedCondition) -> bool:
    """Whether :func:`condition_counts` reads a 1-d x's counts off ``cond``'s lists (where it has them):
    a z, the kernel's layouts and the tree's search in the joint space."""
    if cond.z is None or cond.yz_index is None or cond.z_index is None:
        return False
    joint_dim = 1 + cond.y.shape[1] + cond.z.shape[1]
    return pick_backend("auto", cond.y.device, joint_dim, knn_max_tree_dim("chebyshev")) == "tree"


def condition_counts(cond: PreparedCondition, xt: Tensor) -> list[Any]:
    """n_xz, n_yz and n_z of :func:`ksg_cmi` of a prepared ``xt`` against ``cond``'s y and z (not None):
    by the compiled kernel in ``cond``'s layouts of the (y, z) and z spaces where it has them (numpy
    int64), else by :func:`cmi_counts` (tensors); the same counts either way."""
    if cond.z is None:
        raise ValueError("cond: no z, so no conditional counts (an MI's are ksg_counts')")
    joint_dim = xt.shape[1] + cond.y.shape[1] + cond.z.shape[1]
    tree = pick_backend("auto", xt.device, joint_dim, knn_max_tree_dim("chebyshev")) == "tree"
    if cond.yz_index is None or cond.z_index is None or not tree:
        return list(cmi_counts(xt, cond.y, cond.z, cond.k, "auto"))
    if cond.lists is not None and cond.yz is not None and xt.shape[1] == 1:
        column = np.ascontiguousarray(xt.numpy()[:, 0])
        listed = listed_counts(column, cond.k, cond.yz, cond.y.shape[1], *cond.lists)
        if listed is not None and bool(((listed[0] > 0) & np.isfinite(listed[0])).all()):
            return list(listed[1])
    # x of several columns, or a zero radius (the search raises on it)
    return _kernel_counts(cond, xt, cond.z, (cond.yz_index, cond.z_index), joint_dim)


def _kernel_counts(
    cond: PreparedCondition, xt: Tensor, z: Tensor, indices: tuple[CountIndex, CountIndex], joint_dim: int
) -> list[NDArray[np.int64]]:
    """n_xz, n_yz and n_z of :func:`ksg_cmi_prepared` by the compiled kernel, with ``cond``'s layouts
    of the (y, z) and z spaces (``indices``)."""
    # Each column's keys of the slabs' layout computed once (x's here, y's and z's in cond), and none
    # where the k-d tree searches both spaces of x.
    n, xz_dim = xt.shape[0], xt.shape[1] + z.shape[1]
    keys = None if uses_tree(n, joint_dim) and uses_tree(n, xz_dim) else cond.keys
    joint_keys = xz_keys = None
    if keys is not None:
        kx = column_keys(xt.numpy())
        joint_keys, xz_keys = np.hstack([kx, *keys]), np.hstack([kx, keys[1]])
    eps = kth_neighbour([xt, cond.y, z], cond.k, "chebyshev", "tree", joint_keys)[0].numpy()
    check_radius(eps)
    xz = count_index(torch.cat([xt, z], dim=1).numpy(), xz_keys)
    return [count_in_index(index, eps, False).numpy() for index in (xz, *indices)]


def cmi_counts_brute(x: Tensor, y: Tensor, z: Tensor, k: int) -> tuple[Tensor, Tensor, Tensor]:
    """n_xz, n_yz and n_z ``(B, N)`` of ``(x[b], y, z)`` for each of B copies of x ``(B, N, dx)`` (or of
    x itself, ``(N, dx)``: B = 1), in one pass over chunks of the distance matrices; radius and counts
    come from the same numbers, so the k-th neighbour falls on the intended side of every strict test.
    On a GPU with Triton the fused kernel counts them (:mod:`~iblearn.functional.knn.fused_cmi`), the
    same numbers."""
    xs = x if x.ndim == 3 else x[None]
    if fused_cmi.usable(xs, y, z, k):
        fused_xz, fused_yz, fused_z = fused_cmi.cmi_counts_fused(xs, y, z, k)
        return fused_xz, fused_yz, fused_z
    b, n = xs.shape[:2]
    nxz, nyz, nz = [], [], []
    for rows in row_chunks(n, 4 * b + 2, x.device):
        dz = chebyshev(z[rows], z)
        dy = chebyshev(y[rows], y)
        dxz = torch.maximum(chebyshev(xs[:, rows], xs), dz)
        joint = torch.maximum(dxz, dy)
        fill_self(joint, rows, -1.0)  # self first
        eps = torch.topk(joint, k + 1, dim=2, largest=False).values[..., k, None]
        nxz.append((dxz < eps).sum(dim=2) - 1)
        nyz.append((torch.maximum(dy, dz) < eps).sum(dim=2) - 1)
        nz.append((dz < eps).sum(dim=2) - 1)
    return torch.cat(nxz, dim=1), torch.cat(nyz, dim=1), torch.cat(nz, dim=1)


# ----------------------------------------------------------------------------------- the Gaussian closed form
def gaussian_cmi_from_cov(cov: Any, dim_x: int, dim_y: int) -> Tensor:
    """I(X; Y | Z) in nats of a Gaussian with covariance ``cov`` ordered (X, Y, Z), Z the last
    ``d - dim_x - dim_y`` coordinates:

        ``1/2 (log det S_xz + log det S_yz - log det S - log det S_z)``.

    Example:
        >>> c = torch.tensor([[1.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 1.0]])
        >>> round(float(gaussian_cmi_from_cov(c, 1, 1)), 4)  # partial correlation 1/3
        0.0589
    """
    c = V.covariance(cov, "cov")
    d = c.shape[0]
    dim_x, dim_y = V.positive_int(dim_x, "dim_x"), V.positive_int(dim_y, "dim_y")
    if dim_x + dim_y > d:
        raise ValueError(f"dim_x, dim_y: {dim_x} + {dim_y} exceed the covariance's {d} coordinates")
    if dim_x + dim_y == d:  # no Z
        return gaussian_mi_from_cov(c, dim_x)
    xz = torch.cat([torch.arange(dim_x), torch.arange(dim_x + dim_y, d)])
    yz = torch.arange(dim_x, d)
    z = torch.arange(dim_x + dim_y, d)
    return 0.5 * (logdet(c[xz][:, xz]) + logdet(c[yz][:, yz]) - logdet(c) - logdet(c[z][:, z]))


def _whiten(t: Tensor, threshold: float) -> Tensor:
    """Centred ``t`` in coordinates of unit covariance on the span of the covariance's eigenvectors
    with eigenvalue above ``threshold`` (relative to the largest): rank-deficient variables and
    constant columns drop out, as in :func:`iblearn.functional.canonical_correlations`."""
    evals, evecs = torch.linalg.eigh(t.T @ t / t.shape[0])
    keep = evals > threshold * evals.max().clamp_min(torch.finfo(torch.float64).tiny)
    return t @ (evecs[:, keep] / evals[keep].sqrt())


def _centred(value: Any, name: str) -> Tensor:
    # In units of an exact power of two (products overflow from about 1e154); constant columns zeroed
    # exactly, since their mean can round off the value.
    t = V.several_rows(V.continuous(value, name), name).to(torch.float64)
    constant = constant_columns(t)
    if bool(constant.all()):
        raise ValueError(f"{name}: is constant; its (conditional) MI with anything is 0")
    t = t / power_of_two_scale(t)
    t = t - t.mean(dim=0)
    t[:, constant] = 0.0
    return t


def gaussian_cmi(x: Any, y: Any, z: Any, *, rtol: float = 1e-9, local: bool = False) -> Tensor:
    """Plug-in Gaussian estimate of I(X; Y | Z) in nats: the CMI of the Gaussian with the sample's
    joint covariance,

        ``I = -1/2 sum_i log(1 - r_i^2)``,

    r_i the canonical correlations of the residuals of x and of y after linear regression on z (the
    partial canonical correlations); this is :func:`gaussian_cmi_from_cov` of the sample covariance,
    and it stays defined when a variable is rank deficient. Each variable is whitened on the span of
    its covariance's eigenvectors with eigenvalue above ``rtol`` times the largest; directions of x or
    y that z determines (residual variance below ``rtol`` of the whitened unit) carry no information
    given z and are dropped, so ``x = A z`` gives 0. A partial correlation whose ``1 - r^2`` (a
    direction's variance given z and the other side, the Schur complement) is at most ``rtol`` is 1
    (:func:`~iblearn.functional.gaussian.determined`), so ``y = A x + B z`` gives ``inf`` rather than
    the logarithm of its round-off (about 17 nats). Integer ``z`` is a discrete condition: the
    class-weighted sum of :func:`iblearn.functional.gaussian_mi` within each class.

    Args:
        x: ``(N, dx)`` or ``(N,)`` floating-point samples.
        y: ``(N, dy)`` or ``(N,)`` floating-point samples.
        z: ``(N, dz)`` or ``(N,)`` floating-point samples, or integer class labels.
        rtol: relative eigenvalue below which a direction counts as absent.
        local: return the local values ``(N,)`` instead, whose mean is the estimate: the log-density
            ratio ``log p(x, y | z) / (p(x | z) p(y | z))`` of the same fitted Gaussian, on the same
            residual directions (:func:`~iblearn.functional.gaussian.gaussian_local_mi_of_bases`);
            for integer z each sample's value within its class.

    Returns:
        0-d float64 tensor, nats (``(N,)`` with ``local``); ``inf`` for a deterministic linear
        relation given z (to ``rtol``).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> z = torch.randn(20000, 1, generator=g)
        >>> x = z + torch.randn(20000, 1, generator=g)
        >>> y = x + z + torch.randn(20000, 1, generator=g)
        >>> abs(float(gaussian_cmi(x, y, z)) - 0.3466) < 0.02  # truth log(2) / 2; sd about 0.005
        True
    """
    if isinstance(rtol, bool) or not isinstance(rtol, int | float) or not 0 <= rtol < 1:
        raise ValueError(f"rtol: must be a number in [0, 1), got {rtol!r}")
    local = V.flag(local, "local")
    classes = z_classes(z)
    xt, yt = _centred(x, "x"), _centred(y, "y")
    if classes is not None:
        V.same_length(("x", xt), ("y", yt), ("z", classes))

        def within(rows: Tensor) -> Tensor:
            xs, ys = xt[rows.to(xt.device)], yt[rows.to(yt.device)]
            if local:
                return gaussian_local_mi_of_bases(*canonical_bases(xs, ys, rtol=rtol), rtol=rtol)
            return gaussian_mi(xs, ys, rtol=rtol)

        return (_per_class_local if local else _per_class)(classes, 2, within, "gaussian_cmi")
    zt = _centred(continuous_z(z), "z")
    n = V.same_length(("x", xt), ("y", yt), ("z", zt))
    V.same_device(("x", xt), ("y", yt), ("z", zt))
    wx, wy, wz = _whiten(xt, rtol), _whiten(yt, rtol), _whiten(zt, rtol)
    if wx.shape[1] + wy.shape[1] + wz.shape[1] >= n:
        raise ValueError(
            f"x, y, z: {wx.shape[1]} + {wy.shape[1]} + {wz.shape[1]} effective dimensions need more "
            f"than that many samples, got N={n}; with so few samples every partial correlation is 1"
        )

    def residual(w: Tensor) -> Tensor:
        # wz has identity covariance, so the regression coefficients are a cross-covariance.
        r = w - wz @ (wz.T @ w / n)
        evals, evecs = torch.linalg.eigh(r.T @ r / n)
        keep = evals > rtol  # relative to w's unit variance, not to the residual's own largest
        return r @ (evecs[:, keep] / evals[keep].sqrt())

    rx, ry = residual(wx), residual(wy)
    if rx.shape[1] == 0 or ry.shape[1] == 0:  # z determines x or y: nothing is left to share
        return torch.zeros((n,) if local else (), dtype=torch.float64, device=xt.device)
    if local:
        return gaussian_local_mi_of_bases(rx, ry, rtol=rtol)
    rho = determined(torch.linalg.svdvals(rx.T @ ry / n), rtol)
    return -0.5 * torch.log1p(-(rho**2)).sum()
