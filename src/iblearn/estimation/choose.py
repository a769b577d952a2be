"""Choosing an estimator from the data: the one chooser of every caller of ``method="auto"``.

Each rule reads the data's :func:`features` (dimensions, ties, a point mass, the columns' skew and
kurtosis, Mardia's kurtosis of the normal scores), or a sample's counts, and answers with a method and
why: :func:`choose_discrete_method` for the entropy of labels, :func:`choose` for MI and conditional MI
of continuous variables (the rule of :mod:`iblearn.estimation.auto`; conditional MI names its own
variables, :data:`CMI_NAMES`), :func:`choose_labels` for measures of class labels, :func:`choose_many`
for the measures among many variables and the series, :func:`choose_pid` for the PID, and
:func:`choose_network` for ``infer_network(method="auto")``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, NamedTuple

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from iblearn.estimation.autocheck import FLOOR, MI, NONLINEAR_P, SHARE, Check, not_applicable
from iblearn.functional.discrete import counts_of
from iblearn.functional.linearity import ROWS, bend_between, canonical_bend, strongest_bend
from iblearn.functional.multivariate.inputs import copula_normal
from iblearn.functional.scale import power_of_two_scale

__all__ = [
    "CMI_NAMES",
    "MI_NAMES",
    "Names",
    "choose",
    "choose_classes",
    "choose_discrete_method",
    "choose_labels",
    "choose_many",
    "choose_network",
    "choose_pid",
    "classes_check",
    "features",
    "looks_gaussian",
    "marginals_gaussian",
    "quadratic_check",
    "quadratic_rows",
]

#: Mardia's multivariate kurtosis of the normal scores, relative to a Gaussian's D (D + 2), within which
#: the joint is taken as Gaussian (a 5x5 Gaussian at N = 5,000 reads within 0.01; Student-t 5x5 with
#: 3 degrees of freedom, through its scores, 0.08 and more).
JOINT_GAUSSIAN = 0.03

#: Joint dimensions up to which KSG is a candidate (the rows: 11 - 40% off at 3 - 10, 35 - 87% above).
KNN_DIMS = 10

#: Standard errors of a Gaussian's skew and kurtosis within which a column counts as Gaussian (the
#: largest of 200 Gaussian columns at N = 2,000 is about 3).
MARGINAL_SDS = 5

#: Columns a side that the joint's Gaussianity and the cross-covariance's rank are measured on.
FEATURE_COLUMNS = 32

#: Values a block of the columns' moments holds (:func:`_moments`): 512 KiB of float64, in cache.
MOMENT_BLOCK = 1 << 16

#: Share of the rows on one value of a continuous column from which it has a point mass (zero-inflated
#: counts, censoring, a floor): its copula is not unique there (Sklar's theorem needs continuous
#: marginals), so normal scores do not make it Gaussian and the Gaussian estimate is not its MI. A
#: Gaussian column rounded to 0.01 puts about 0.4% of its rows on its commonest value.
ATOM = 0.05


#: Unseen mass (Good-Turing, f1 / N) and samples a symbol seen beyond which a sample with K unknown is
#: well sampled (:func:`choose_discrete_method`).
WELL_SAMPLED_UNSEEN, WELL_SAMPLED_RATIO = 0.01, 10.0
#: Singletons over the symbols seen (f1 / m) from which the counts read as a power-law tail: a
#: Pitman-Yor sample's f1 / m tends to its discount (0.9 for Zipf 1.1), a Dirichlet's falls to 0 as
#: it is sampled (:func:`choose_discrete_method` takes PYM there).
HEAVY_TAIL = 0.5


class Names(NamedTuple):
    """How :func:`choose`'s ``why`` names a measure's variables and its KSG."""

    variables: str
    ksg: str


#: MI's names, and conditional MI's: the same rule, read for its own variables.
MI_NAMES = Names("x and y", "KSG")
CMI_NAMES = Names("x, y and z", "KSG's conditional MI")


def features(
    x: Tensor,
    y: Tensor,
    scores: Callable[[], tuple[Tensor, Tensor]] | None,
    ascending: Callable[[], NDArray[np.float64]] | None = None,
    bend: bool = True,
    joint: bool = True,
) -> dict[str, float]:
    """What the rule looks at: rows, dimensions, ties, tails (largest excess kurtosis of a column),
    skew, and where both variables are continuous (``scores`` gives their normal scores) how Gaussian
    the joint looks (Mardia's kurtosis over a Gaussian's, minus 1) and the rank of the
    cross-covariance (canonical correlations above the largest of shuffled pairs), both on at most
    :data:`FEATURE_COLUMNS` columns a side, and the strongest dependence of a column of one side on a
    column of the other through its square or cube (``bend``, the score statistic, ``bend p``, its
    corrected p-value, and ``bend x column`` and ``bend y column``, the two columns:
    :func:`~iblearn.functional.linearity.bend_between`; with ``bend``, and more than one column in
    all). ``ascending`` gives the columns of x and y sorted, ``(d, N)`` float64, where the scores' sort
    leaves them (read where the scores are made anyway). ``joint`` False leaves the joint's features
    (Mardia's kurtosis, the rank, the bend) out: :func:`choose` reads none of them for one column a side."""
    out = {"n": float(len(x)), "dx": float(x[0].numel()), "dy": float(y[0].numel())}
    flat = [t.reshape(len(t), -1) for t in (x, y)]
    floats = [t for t in flat if t.is_floating_point()]
    # Each column in units of an exact power of two: fourth powers of 1e100 overflow, of 1e-100 vanish.
    # Per column, so a side's scale is its own (labels' codes are scaled too, where the raw joint reads them).
    scales = [power_of_two_scale(t if t.is_floating_point() else t.double(), dim=0) for t in flat]
    if floats:
        moments = [_moments(t, s) for t, s in zip(flat, scales, strict=True) if t.is_floating_point()]
        skew, kurtosis = max(m[0] for m in moments), max(m[1] for m in moments)
        # Equal neighbours in each sorted column: 1 - distinct / N, without a unique per column (numpy
        # sorts contiguous rows faster than torch sorts columns).
        # The scores are made anyway where a column is not Gaussian, and wherever KSG could be chosen.
        if (
            scores is not None
            and ascending is not None
            and (
                out["dx"] + out["dy"] <= KNN_DIMS
                or not marginals_gaussian(out | {"kurtosis": kurtosis, "skew": skew})
            )
        ):
            ordered = ascending()[:64]
        else:  # the first 64 columns, x's then y's, one row each, sorted in place
            ordered = torch.cat([t[:, :64].T for t in floats])[:64].cpu().to(torch.float64).numpy()
            ordered.sort(axis=1)
        same = ordered[:, 1:] == ordered[:, :-1]
        out["ties"] = float(same.sum(1).max()) / len(x)
        # The largest share of rows on one value of a column (a point mass): its longest run of equals,
        # the longest gap between the places where a sorted column changes value, in each column with a
        # tie (in one without, every run is 1).
        longest = 1
        for equal in same[same.any(1)]:
            bounds = np.flatnonzero(np.concatenate(([True], ~equal, [True])))
            longest = max(longest, int(np.diff(bounds).max()))
        out["atom"] = longest / len(x)
        out["kurtosis"], out["skew"] = kurtosis, skew
    if scores is not None and joint:
        raw = marginals_gaussian(out)  # raw: a Gaussian on fewer dimensions than it has keeps its rank
        zx, zy = flat if raw else scores()

        def coordinates(side: int, rows: slice, columns: Tensor | None) -> Tensor:
            # Rows and columns of a side in the coordinates the Gaussian would estimate in, the raw
            # columns each over its scale: only those read, not a copy of every row and column.
            t = (zx, zy)[side][rows]
            if columns is not None:
                t = t[:, columns]
            if raw:
                t = t.double() / (scales[side] if columns is None else scales[side][columns])
            return t.contiguous()

        # A dependence through a square or cube, in the coordinates the Gaussian would estimate in: where
        # the rule could take the Gaussian (not for one column a side, which always takes KSG). On the
        # rows it reads (:data:`~iblearn.functional.linearity.ROWS`, spread evenly).
        bent = None
        if bend and out["dx"] + out["dy"] > 2:
            every = slice(None, None, max(1, -(-len(zx) // ROWS)))
            bent = bend_between(*(coordinates(i, every, None).double().cpu().numpy() for i in (0, 1)))
        if bent is not None:
            top, side = bent
            out["bend"], out["bend p"] = top.statistic, top.p_value
            ends = (top.regressor, top.response) if side == "y on x" else (top.response, top.regressor)
            out["bend x column"], out["bend y column"] = float(ends[0]), float(ends[1])
        # At most FEATURE_COLUMNS a side, spread evenly: the SVDs of hundreds cost more than the estimate.
        # A side of no more keeps them all, rows contiguous (the centring's sums, and so the features'
        # bits, follow the layout).
        spread = [
            None if t.shape[1] <= FEATURE_COLUMNS else torch.linspace(0, t.shape[1] - 1, FEATURE_COLUMNS)
            for t in (zx, zy)
        ]
        zx, zy = (coordinates(i, slice(None), None if c is None else c.long()) for i, c in enumerate(spread))
        wx, wy = _whiten(zx), _whiten(zy)
        # The joint in the sides' bases, whose Gram matrix is [[I, C], [C', I]] with C = wx' wy: the
        # Mahalanobis norms of the joint's rows are (N - 1) w G^+ w', without an SVD of the joint.
        w = torch.cat([wx, wy], dim=1)
        gram = w.T @ w
        d = int(torch.linalg.matrix_rank(gram, hermitian=True))
        if d < len(w) // 2:
            m = (w @ torch.linalg.pinv(gram, hermitian=True)).mul_(w).sum(1).mul_(len(w) - 1)
            out["mardia"] = float((m**2).mean()) / (d * (d + 2)) - 1
            shuffled = wy[torch.randperm(len(zy), generator=torch.Generator().manual_seed(0))]
            rho, null = (torch.linalg.svdvals(wx.T @ v).clamp(0, 1) for v in (wy, shuffled))
            # A side of no rank (a constant column) shares nothing: rank 0.
            out["rank"] = float((rho > null.max()).sum()) if null.numel() else 0.0
    return out


def canonical_features(x: Tensor, y: Tensor) -> dict[str, float]:
    """The canonical test of a Gaussian estimate of I(X; Y) on its coordinates ``x`` and ``y`` (the raw
    rows or their normal scores, more than one column in all): how far a side's canonical variates
    depend on the cubes of the other's and their turning with its magnitude (``canonical bend``, the
    share of the residual those explain, and ``canonical bend p``, its corrected p-value:
    :func:`~iblearn.functional.linearity.canonical_bend`), on the columns Mardia's kurtosis reads (at
    most :data:`FEATURE_COLUMNS` a side, spread evenly) and the rows the bend reads; empty where it
    gives none. Read once the Gaussian is chosen: KSG's checks have no use for it."""
    every = slice(None, None, max(1, -(-len(x) // ROWS)))
    sides = []
    for t in (x, y):
        t = t.reshape(len(t), -1)[every]
        if t.shape[1] > FEATURE_COLUMNS:
            t = t[:, torch.linspace(0, t.shape[1] - 1, FEATURE_COLUMNS).long()]
        sides.append(t.double().cpu().numpy())
    bent = canonical_bend(*sides)
    return {} if bent is None else {"canonical bend": bent.share, "canonical bend p": bent.p_value}


def _moments(t: Tensor, scale: Tensor) -> tuple[float, float]:
    """The largest |skew| and excess kurtosis of the columns of ``t (N, d)`` over ``scale`` (sample
    variance, N - 1), in blocks of :data:`MOMENT_BLOCK` values: one pass for the means, one for the
    central moments, and no buffer of ``t``'s size (a table of many wide columns would take several)."""
    n = len(t)
    rows = max(1, MOMENT_BLOCK // max(1, t.shape[1]))
    blocks = [slice(i, i + rows) for i in range(0, n, rows)]
    # Each block's rows contiguous: the sums' order, and so their bits, do not follow t's layout.
    mean = torch.stack([(t[b].contiguous().double() / scale).sum(0) for b in blocks]).sum(0) / n
    sums = torch.zeros(3, t.shape[1], dtype=torch.float64, device=t.device)
    for b in blocks:
        centred = t[b].contiguous().double() / scale - mean
        squares = centred.square()
        sums[0] += squares.sum(0)
        sums[1] += centred.mul_(squares).sum(0)  # the cubes overwrite the deviations
        sums[2] += squares.square_().sum(0)
    var = (sums[0] / (n - 1)).clamp_min(1e-300)  # the sample variance
    skew = float((sums[1] / n / var**1.5).abs().max())
    return skew, float((sums[2] / n / var.square()).max()) - 3


def marginals_gaussian(feats: dict[str, float]) -> bool:
    """Every column's skew and excess kurtosis within :data:`MARGINAL_SDS` standard errors of a
    Gaussian's (sqrt(6 / N) and sqrt(24 / N)): then the Gaussian estimator takes the raw rows."""
    n = feats["n"]
    return feats.get("skew", math.inf) <= MARGINAL_SDS * math.sqrt(6 / n) and abs(
        feats.get("kurtosis", math.inf)
    ) <= MARGINAL_SDS * math.sqrt(24 / n)


def _whiten(t: Tensor) -> Tensor:
    """An orthonormal basis of t's centred columns, of their rank (the canonical correlations of two
    variables are the singular values of their bases' product; a row order permutes the basis's rows)."""
    u, sv, _ = torch.linalg.svd(t - t.mean(0), full_matrices=False)
    return u[:, sv > 1e-9 * sv[0]]


def looks_gaussian(feats: dict[str, float]) -> bool:
    """The normal scores' Mardia kurtosis within :data:`JOINT_GAUSSIAN` of a Gaussian's."""
    return abs(feats.get("mardia", math.inf)) <= JOINT_GAUSSIAN


def choose(
    scores: Callable[[], tuple[Tensor, Tensor]],
    feats: dict[str, float],
    candidates: tuple[MI, MI],
    names: Names = MI_NAMES,
    given_from: int | None = None,
) -> tuple[str, str, MI, Check | None, float | None]:
    """(registry name, why, estimator on normal scores, the candidates' agreement and the chosen one's
    estimate on the scores where both ran) for continuous x and y (the module's rule); ``candidates``:
    the measure's (KSG, bias-corrected Gaussian) on the same rows; ``names``, how ``why`` names that
    measure's variables and its KSG; ``given_from``, for conditional MI, y's first column that is z's
    (y then z). A Gaussian whose columns all look Gaussian runs on the raw rows, and ``why`` says so."""
    ksg, gaussian = candidates

    dims = int(feats["dx"] + feats["dy"])
    on = "the raw rows, as every column looks Gaussian" if marginals_gaussian(feats) else "normal scores"
    among, ksg_name = names
    if dims == 2:
        why = (
            f"{among} are one column each, where {ksg_name} (nearest neighbours) on normal scores is "
            "most accurate"
        )
        return "ksg", why, ksg, None, None
    if dims > KNN_DIMS:
        why = (
            f"{among} have {dims} columns together, too many for nearest neighbours: the bias-corrected "
            f"Gaussian estimate on {on}"
        )
        return "gaussian", why, gaussian, None, None
    if feats.get("atom", 0.0) >= ATOM:
        why = (
            f"a column has a point mass, {feats['atom']:.0%} of its rows on one value, where normal scores "
            f"cannot be Gaussian: {ksg_name} (nearest neighbours) on normal scores"
        )
        return "ksg", why, ksg, None, None
    g, kn = gaussian(*scores()), ksg(*scores())
    tolerance = max(FLOOR, SHARE * abs(kn))
    gaussian_like = looks_gaussian(feats)
    # Where the scores look Gaussian, KSG reading below the Gaussian is its own downward bias in 3 - 10
    # dims (the rows: -10% on average, 20 - 30% on Gaussian 5 x 5s whose Gaussian estimate is within
    # 2%); reading above it, it sees dependence the Gaussian misses (a spiral whose scores look Gaussian).
    agree = kn - g <= tolerance if gaussian_like else abs(g - kn) <= tolerance
    shape = f"{among} have {dims} columns together" + (
        " whose normal scores look jointly Gaussian" if gaussian_like else ""
    )
    check = Check(
        "agreement",
        agree,
        {"ksg": kn, "gaussian": g},
        "KSG and the Gaussian estimate agree; where the normal scores look jointly Gaussian only KSG "
        "reading above the Gaussian counts, as KSG reads low there",
        tolerance,
    )
    if feats.get("bend p", 1.0) < NONLINEAR_P:
        why = (
            f"{shape}, but a column of one side depends on a column of the other through its square or "
            f"cube (score statistic {feats['bend']:.1f}), which a Gaussian estimate misses: {ksg_name} "
            "on normal scores"
        )
        if given_from is not None and feats["bend y column"] >= given_from:
            # The Gaussian conditions on z by a line: what a square or cube of z adds to x or y stays in
            # both residuals, so it may read any amount of dependence (0.21 nats for 0 with sin(2 z) in
            # x and y) and KSG's disagreement with it says nothing of KSG.
            check = not_applicable(
                "agreement",
                check.expects,
                "z enters through its square or cube (the linearity test), which the Gaussian's linear "
                "conditioning on z leaves in x and y: its estimate is no reference for KSG's",
            )
        return "ksg", why, ksg, check, kn
    if agree:
        return (
            "gaussian",
            f"{shape}, and the Gaussian estimate {g:.4f} agrees with KSG's {kn:.4f}: the bias-corrected "
            f"Gaussian estimate on {on}",
            gaussian,
            check,
            g,
        )
    why = (
        f"{shape}, and the Gaussian estimate {g:.4f} disagrees with KSG's {kn:.4f}: {ksg_name} on normal "
        "scores"
    )
    return "ksg", why, ksg, check, kn


def choose_discrete_method(counts: Any, alphabet: int | None = None) -> tuple[str, str]:
    """The entropy estimator for a sample's counts, by its coincidence regime, and one sentence why.

    With N samples, m distinct symbols and f1 singletons: where no symbol repeats, no estimator can
    tell the entropy from the sample (it is at least about log N): ``"nsb"`` if K is known (the prior
    over K symbols decides, with a wide interval), else the plug-in (log N), with a warning either
    way. Where symbols repeat and K is known, ``"nsb"``: on the discrete benchmark's Dirichlet draws
    (``benchmarks/results/discrete``) its RMSE is the least or close to it from 100 to 10^6 symbols
    and 100 to 10^5 samples, and its posterior gives an interval. With K unknown: where each symbol is
    seen ``WELL_SAMPLED_RATIO`` times on average and the unseen mass f1 / N (Good-Turing) is under
    ``WELL_SAMPLED_UNSEEN``, ``"cwj"`` (Chao, Wang & Jost: on those cells its RMSE is at or below
    Miller-Madow's, which falls behind where many rare symbols hold a little mass each); otherwise
    ``"nsb"`` with K guessed from the sample, or ``"pym"`` where at least :data:`HEAVY_TAIL` of the
    symbols seen are seen once (a power-law tail: on the power-law benchmark,
    ``benchmarks/results/pym_powerlaw``, PYM's interval covered 64% of the draws and NSB's 41%).

    Example:
        >>> choose_discrete_method([500, 300, 200])[0]
        'cwj'
        >>> choose_discrete_method([3, 1, 2, 3, 1, 2, 2, 1, 3, 2])[0]
        'nsb'
        >>> choose_discrete_method([3, 1, 2, 1, 1, 2, 1, 1, 1, 1])[0]
        'pym'
    """
    c = counts_of(counts=counts)
    n, m = int(c.sum()), int((c > 0).sum())
    f1 = int((c == 1).sum())
    if n == m:
        warnings.warn(
            f"counts: no symbol repeats among {n} samples: the entropy is not identified (at least about "
            f"log N = {math.log(n):.3g} nats)",
            stacklevel=2,
        )
        if alphabet is not None:
            return "nsb", f"no coincidences among N = {n}: NSB's prior over K = {alphabet} symbols decides"
        return "plugin", f"no coincidences among N = {n}: the sample gives log N and no more"
    if alphabet is not None:
        return "nsb", (
            f"K = {alphabet} known and {n - m} coincidences among N = {n}: NSB's posterior over K symbols, "
            "with an interval"
        )
    if n >= WELL_SAMPLED_RATIO * m and f1 / n <= WELL_SAMPLED_UNSEEN:
        return "cwj", (
            f"well sampled: N = {n} is {n / m:.3g} times the {m} symbols seen and the unseen mass f1/N is "
            f"{f1 / n:.2g}: Chao-Wang-Jost's correction, with the unseen symbols' share from f1 and f2"
        )
    if f1 >= HEAVY_TAIL * m:
        return "pym", (
            f"heavy tail: {f1} of the {m} symbols seen are seen once (f1/m = {f1 / m:.2g}), as a power law "
            "keeps finding new ones: PYM's Pitman-Yor prior describes such a tail, with an interval"
        )
    return "nsb", (
        f"undersampled: N = {n} over {m} symbols seen with {n - m} coincidences and unseen mass f1/N = "
        f"{f1 / n:.2g}: NSB's posterior (K guessed) uses the coincidences and gives an interval"
    )


#: |z| of :func:`~iblearn.functional.classes_shape` within which the classes are taken as Gaussian with
#: one covariance. Under that model both figures centre on 0 with a spread of about 1 (100 draws of ten
#: classes in 5 and 20 dimensions, N = 300 and 1,000: sd 0.97 - 1.06 and 0.89 - 0.99); over 30 draws
#: each at N = 300 - 5,000 the largest |z| read 2.7 (kurtosis) and 3.6 (spread), while classes of
#: spreads 1 and 3 read 8 - 31 and Student-t classes (3 degrees of freedom) 60 - 7,000 on average.
CLASSES_Z = 4.0
#: Rows a class needs a column of X, at the least, on average, in the rows an estimate of the Gaussian
#: classes reads (all of them; the copies the checks make of two halves, twice the columns and the
#: classes' pairs). Each class's mean then carries noise of at most one unit of squared whitened
#: distance summed over the columns. Ten classes on a line in 20 dimensions (truth 1.057, 15 draws):
#: -0.010 +- 0.050 at N = 200, -0.022 +- 0.024 at 400; at two units a class -0.064 +- 0.058, and at
#: eight (a 10 x 10 grid of classes in 40 dimensions on 500 rows) +0.25 +- 0.08. The automatic estimate
#: at one unit, ten classes on the diagonal: 100 columns on 1,000 rows, reliable 20 of 20, the truth
#: held 19 times (mean error 0.000); 50 on 500, 19 reliable, all holding it; 20 on 200, 19 and 19.
CLASSES_ROWS = 1
#: The fewest rows a class needs, at the least, for the Gaussian classes of their own covariances: a
#: row a column and four more (the shape figure then reads every class; the shrinkage and the bootstrap
#: carry the fit below that in the halves), and never fewer than this many (a random half then leaves no
#: class with one row). Ten classes of spreads 1 to 2 in 20 columns, N = 500 (about 50 rows a class), 20
#: draws: all take them, reliable, the truth held 19 times (mean error -0.010), where the mixed KSG
#: reads 0.35 - 0.45 low.
QUADRATIC_LEAST = 20


def quadratic_rows(columns: int) -> int:
    """The rows each class needs for the Gaussian classes of their own covariances in ``columns``
    columns: :data:`QUADRATIC_LEAST`, and a row a column and four more."""
    return max(QUADRATIC_LEAST, columns + 4)


def choose_classes(
    n: int,
    classes: int,
    dx: int,
    shape: Callable[[], dict[str, float]],
    sides: tuple[str, str],
    smallest: int = 0,
    own_shape: Callable[[], float] | None = None,
) -> tuple[str, str, dict[str, float]]:
    """The estimator of I(X; Y) for ``n`` rows of a continuous X of ``dx`` columns and ``classes``
    labels Y (``sides`` names them as the caller did), why, and the classes' shape where it was read
    (``shape``: :func:`~iblearn.functional.classes_shape`): the Gaussian classes
    (:func:`~iblearn.functional.gaussian_classes_mi`) where X has more than one column, the classes look
    Gaussian with one covariance, and the rows number at least X's columns times the classes
    (:data:`CLASSES_ROWS`; and each half has more than the classes and twice the columns, for the
    correction there); where the classes look Gaussian each but not with one covariance
    (``own_shape``: :func:`~iblearn.functional.quadratic_classes.quadratic_shape`, the kurtosis against
    each class's own fit) and the ``smallest`` class has :data:`QUADRATIC_LEAST` rows and a row a column
    and four more, the Gaussian classes of their own covariances
    (:func:`~iblearn.functional.quadratic_classes_mi`); else the mixed KSG, which needs no model and
    reads low as dimensions grow (flagged from about five at N = 1,000; ten classes of spreads 1 to 2 in
    20 columns, N = 1,000: -0.38)."""
    given = f"{sides[0]} ({dx} columns) is continuous and {sides[1]} is labels"
    mixed = "the mixed KSG, nearest neighbours within each class"
    if dx < 2:
        return "mixed_ksg", f"{given}: {mixed}", {}
    if n < CLASSES_ROWS * dx * classes or n // 2 < classes + 2 * dx + 2:
        return (
            "mixed_ksg",
            f"{given}, and the rows are fewer than its columns times the classes, too few for the means "
            f"of Gaussian classes: {mixed}",
            {},
        )
    figures = shape()
    if max(abs(v) for v in figures.values()) > CLASSES_Z:
        off = (
            f"{given}, and the classes do not look Gaussian with one covariance (|z| of their shape "
            f"above {CLASSES_Z:g})"
        )
        if own_shape is None or smallest < quadratic_rows(dx):
            return "mixed_ksg", f"{off}: {mixed}", figures
        figures["own kurtosis z"] = own_shape()
        if abs(figures["own kurtosis z"]) > CLASSES_Z:
            return (
                "mixed_ksg",
                f"{off}, nor each with its own (|kurtosis z| above {CLASSES_Z:g}): {mixed}",
                figures,
            )
        return (
            "quadratic_classes",
            f"{off}, but each with its own (|kurtosis z| within {CLASSES_Z:g}): the MI of Gaussian classes "
            "of their own covariances, the fit's bias taken off by the parametric bootstrap",
            figures,
        )
    return (
        "gaussian_classes",
        f"{given}, and the classes look Gaussian with one covariance (|z| of their shape within "
        f"{CLASSES_Z:g}): the MI of Gaussian classes, exact under that model in any dimension",
        figures,
    )


def classes_check(feats: dict[str, float]) -> Check:
    """The Gaussian classes' check: the classes' shape figures in ``feats`` (``"classes kurtosis z"``,
    ``"classes spread z"``, as :func:`choose_classes` read them) within :data:`CLASSES_Z`."""
    figures = {name: feats[f"classes {name}"] for name in ("kurtosis z", "spread z")}
    return Check(
        "gaussian classes",
        max(abs(v) for v in figures.values()) <= CLASSES_Z,
        figures,
        "each class is Gaussian, with one covariance for all: the classes' tails (Mardia's kurtosis) and "
        "spreads (their studentized residuals' analysis of variance) as under that model",
        CLASSES_Z,
    )


def quadratic_check(feats: dict[str, float]) -> Check:
    """The Gaussian classes of their own covariances' check: the kurtosis against each class's own fit
    (``"classes own kurtosis z"``, as :func:`choose_classes` read it) within :data:`CLASSES_Z`."""
    z = feats["classes own kurtosis z"]
    return Check(
        "gaussian classes",
        abs(z) <= CLASSES_Z,
        {"own kurtosis z": z},
        "each class is Gaussian, with a covariance of its own: the classes' tails (Mardia's kurtosis "
        "against each class's own mean and covariance) as under that model",
        CLASSES_Z,
    )


def choose_labels(cells: np.ndarray) -> tuple[str, str]:
    """The entropy estimator for the terms of a measure whose finest joint has the counts ``cells``, and
    why: :func:`choose_discrete_method`'s, Chao-Wang-Jost where it takes NSB with K
    unknown or PYM (module notes)."""
    method, regime = choose_discrete_method(cells)
    if method not in ("nsb", "pym"):
        return method, regime
    # NSB with K unknown guesses K anew for each entropy (PYM its prior's tail), and the guesses do not
    # cancel in the difference: its MI reads low where Chao-Wang-Jost's stays near the truth.
    return "cwj", (
        f"{regime}; for a difference of entropies, Chao-Wang-Jost's correction instead, as "
        f"{method.upper()} fits its prior anew for each entropy and the fits do not cancel"
    )


def choose_many(
    cols: Tensor, normal: Callable[[], Tensor] | None = None, responses: Sequence[int] | None = None
) -> tuple[str, str, dict[str, float]]:
    """(method, why, features) for the rows ``cols`` ``(N, d)`` of every variable, for the measures among
    many variables and the series: Gaussian where the columns and the joint look Gaussian, the Gaussian
    copula where the normal scores do or there are more than :data:`KNN_DIMS` columns, else KSG; KSG
    also where a column of ``responses`` depends on another through its square or cube (:func:`_bent`).
    ``normal`` gives their normal scores where the caller keeps them for its estimate; ``responses``,
    the columns whose mean given the others is tested: every column of independent rows (None), a
    series' present (the others' residuals are its own autocorrelated values, whose correlations with
    any function of another autocorrelated series vary beyond the test's null)."""
    n, d = cols.shape
    joint = cache(lambda: copula_normal(cols)) if normal is None else normal

    def scores() -> tuple[Tensor, Tensor]:
        z = joint()
        return z[:, :1], z[:, 1:]

    feats = features(cols[:, :1], cols[:, 1:], scores, bend=False)  # its own test, on every column
    shape = f"{d} dims, N = {n}, Mardia {feats.get('mardia', math.nan):+.3f}"
    if feats.get("atom", 0.0) >= ATOM:
        return "ksg", f"{shape}; a column has a point mass ({feats['atom']:.0%} of the rows): KSG", feats
    # Mardia's statistic over d (d + 2) has sd sqrt(8 / (d (d + 2) N)) for a Gaussian (Mardia 1970):
    # at a few hundred rows that is more than the fixed tolerance, which is then 3 of them.
    spread = 3 * math.sqrt(8 / (d * (d + 2) * n))
    if looks_gaussian(feats) or abs(feats.get("mardia", math.inf)) <= spread:
        raw = marginals_gaussian(feats)
        bent = _bent((cols if raw else joint()).double().cpu().numpy(), responses, feats)
        if bent and d <= KNN_DIMS:  # beyond, no estimator reads it: the verdict says so
            return "ksg", f"{shape}: the joint looks Gaussian, but {bent}: KSG", feats
        if raw:
            return (
                "gaussian",
                f"{shape}: the columns and the joint look Gaussian: bias-corrected Gaussian",
                feats,
            )
        return "copula", f"{shape}: the normal scores look jointly Gaussian: Gaussian copula", feats
    if d > KNN_DIMS:
        return (
            "copula",
            f"{shape}: not Gaussian, but more than {KNN_DIMS} dims for KSG: Gaussian copula",
            feats,
        )
    return "ksg", f"{shape}: not jointly Gaussian in any monotone coordinates: KSG", feats


def _bent(cols: np.ndarray, responses: Sequence[int] | None, feats: dict[str, float]) -> str | None:
    """Where a column of ``responses`` (None: every column) of ``cols`` ``(N, d)`` depends on another
    through its square or cube beyond :data:`~iblearn.estimation.autocheck.NONLINEAR_P` over all the
    pairs tested (:func:`~iblearn.functional.linearity.strongest_bend` of each on the others), which a
    Gaussian estimate misses: the pair in words; else None. The test's figures go to ``feats``."""
    bend = strongest_bend(cols, cols, responses)
    if bend is not None:
        feats["bend"], feats["bend p"] = bend.statistic, bend.p_value
    if bend is None or bend.p_value >= NONLINEAR_P:
        return None
    return (
        f"column {bend.response} depends on column {bend.regressor} through its square or cube "
        f"(score statistic {bend.statistic:.1f})"
    )


def choose_pid(redundancy: str, chosen: str, why: str, vector: bool) -> tuple[str, str, str | None]:
    """(method, why, doubt) of the PID by ``redundancy`` of continuous samples, from
    the rule's choice ``chosen`` (:func:`choose_many`, ``why``) and whether the target is a vector:

    - ``"mmi"``: the rule's choice, KSG on normal scores; with a vector target it is the minimum-MI PID
      only, not BROJA's (Barrett's equivalence holds for a univariate target; Venkatesh & Schamberg
      2022).
    - ``"sx"``: nearest neighbours on the samples as given (each column at unit variance), whatever
      the rule chose: I_sx weighs each source by its density, which a monotone map changes.
    - ``"broja"``, ``"ccs"``, ``"dep"``: the Gaussian PID of the sample covariance where the data look
      Gaussian, else of the normal scores (each measure is unchanged by a monotone map of each
      variable); where no monotone map makes them Gaussian, ``doubt`` says why the copula's PID is not
      the data's, as no nearest-neighbour estimator of these measures exists.
    """
    if redundancy == "sx":
        sx = (
            "shared exclusion by nearest neighbours on the samples as given, each column at unit variance "
            f"(I_sx weighs each source by its density, which a monotone map changes; the data: {why})"
        )
        return "ksg", sx, None
    if redundancy == "mmi":
        why += " on normal scores" if chosen == "ksg" else ""
        if vector:
            why += (
                "; a vector target: this is the minimum-MI PID only, not BROJA's (their equivalence for "
                "Gaussian sources holds for a univariate target; Venkatesh & Schamberg 2022): "
                "redundancy='broja' gives the Gaussian BROJA PID"
            )
        return chosen, why, None
    method = "gaussian" if chosen == "gaussian" else "copula"
    of = "sample covariance" if method == "gaussian" else "normal scores' covariance"
    why = f"{why}; redundancy {redundancy!r}: the Gaussian {redundancy} PID of the {of}"
    if redundancy == "broja" and not vector:
        why += " (for Gaussian sources and a univariate target, BROJA's redundancy is MMI's: Barrett 2015)"
    doubt = None
    if chosen == "ksg":
        doubt = (
            f"the data are not jointly Gaussian in any monotone coordinates and {redundancy!r} has no "
            "nearest-neighbour estimator: the Gaussian copula's PID reads only the normal scores' "
            "correlations; redundancy='sx' or 'mmi' take nearest neighbours"
        )
    return method, why, doubt


def choose_network(
    now: np.ndarray,
    before: np.ndarray,
    scores: list[np.ndarray],
    lagged: tuple[np.ndarray, np.ndarray, Sequence[int]] | None = None,
) -> tuple[str, str]:
    """``infer_network(method="auto")``'s method and why: ``"gaussian"`` where the processes' present
    ``now`` and one-step past ``before`` (their normal ``scores``) look jointly Gaussian by
    :func:`features` and no process reaches another mostly through a nonlinear function of its past,
    else ``"ksg"``. ``lagged``: :func:`~iblearn.functional.serial.lag_linearity`'s statistics at
    the lags searched, and the lags; a target and lagged column whose square and cube explain more of
    the target than the column does linearly, beyond :data:`~iblearn.estimation.autocheck.NONLINEAR_P`
    over all of them, is a dependence a Gaussian estimate would mostly miss (a coupling ``sin(2 x)``),
    and a conditioning on it that removes little of it (false edges through it)."""
    x, y = torch.from_numpy(now), torch.from_numpy(before)
    feats = features(x, y, lambda: (torch.from_numpy(scores[0]), torch.from_numpy(scores[1])), bend=False)
    mardia = feats.get("mardia", float("inf"))
    if not (marginals_gaussian(feats) and abs(mardia) <= JOINT_GAUSSIAN):
        shape = f"skew {feats['skew']:.2f}, kurtosis {feats['kurtosis']:+.2f}"
        return "ksg", f"not Gaussian (Mardia {mardia:+.3f}, {shape})"
    gaussian = f"Gaussian: marginals within a Gaussian's skew and kurtosis, Mardia {mardia:+.3f}"
    if lagged is None:
        return "gaussian", gaussian
    linear, nonlinear, lags = lagged
    # chi-square with 2 degrees of freedom: its survival function is exp(-s / 2)
    dominant = (np.exp(-nonlinear / 2) * nonlinear.size < NONLINEAR_P) & (nonlinear > linear)
    if not dominant.any():
        return "gaussian", gaussian + ", and each lagged value acts on the others mostly linearly"
    excess = np.where(dominant, nonlinear - linear, -np.inf)
    target, source, lag = (int(i) for i in np.unravel_index(int(np.argmax(excess)), excess.shape))
    return "ksg", (
        f"process {source} at lag {lags[lag]} acts on process {target} more through its square and cube "
        f"than linearly (score statistic {nonlinear[target, source, lag]:.1f} against "
        f"{linear[target, source, lag]:.1f}; {int(dominant.sum())} such lagged pairs), which a Gaussian "
        "estimate would mostly miss"
    )
