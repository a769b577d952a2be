"""``method="auto"``: an estimator chosen from the data, checked without the truth, with an interval.

The rule, from the committed benchmark rows (``benchmarks/auto_rule.py`` prints them per regime:
benchmark-mi's 40 tasks and the 19 high-dimensional ones, N = 10,000, mean absolute relative error):

1. **Labels.** y (or x) is class labels by :func:`iblearn.functional.class_codes` (integers, or few
   integral floats). Continuous against discrete: ``gaussian_classes`` where x has more than one
   column, the classes look Gaussian with one covariance and the rows suffice for their means
   (:func:`~iblearn.estimation.choose.choose_classes`); ``quadratic_classes`` where they look Gaussian
   each but not with one covariance and every class has the rows for its own; else ``mixed_ksg`` (Ross
   2014; the command's rule). Both discrete: ``binning``'s plug-in MI of the labels, with Miller and
   Madow's correction.
2. **Every continuous column goes to its normal scores** first (the Gaussian copula): a monotone map
   of each column, which leaves the MI unchanged and makes heavy tails Gaussian ones.
3. **1 x 1**: ``ksg`` (the rows: 2% on 1 x 1 Gaussians and 2% on the other 1 x 1 maps, the best).
4. **3 to 10 joint dimensions**: ``gaussian`` with ``bias_correction`` on the scores (3% on
   Gaussian-copula tasks, the best; KSG 11%) where it and KSG on the scores agree (``agreement``);
   else ``ksg`` (heavy-tailed 40% and other 20% against the Gaussian's 88% and 53%), and as those
   rows put KSG alone 20 - 40% off there, the disagreement is a failed check. Where the scores look
   jointly Gaussian (Mardia's kurtosis within :data:`~iblearn.estimation.choose.JOINT_GAUSSIAN` of a
   Gaussian's) only KSG reading more than the Gaussian is a disagreement: KSG reads low in dimension
   (the rows: -10% on average on those Gaussian-copula tasks, 11% absolute), and above the Gaussian it
   sees dependence the Gaussian misses (a spiral). A column with a point mass (at least
   :data:`~iblearn.estimation.choose.ATOM` of its rows on one value: zero-inflated data) takes ``ksg``
   without the Gaussian: a variable with an atom has no unique copula, so its normal scores are not
   Gaussian ones (this part of the rule comes from the benchmark's held-out mixtures, where the
   Gaussian read a 3 x 3 zero-inflated task 14 - 16% low
   and said reliable; the guide gives the runs with and without it).
5. **More than 10**: ``gaussian`` with ``bias_correction`` on the scores (1% on the Gaussian-copula
   tasks where KSG is 35% off; 12 - 19% on the others, where KSG is 87% off). Where the scores do not
   look jointly Gaussian and ``neural_steps`` allows, MINE is fitted too (on the rows, 25% there) and
   the larger of the two reported: both read low where they fail.

The chosen estimator is then checked (:mod:`iblearn.estimation.autocheck`): shuffled pairs, an
invertible map, two copies, half the rows, the ceiling; the interval widens by what they reveal, and a
failed check makes the estimate unreliable. Where the Gaussian is chosen, the standard error is at
least its asymptotic one (:func:`gaussian_stderr`): four halves give it 3 degrees of freedom, and
it reads small on some draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from iblearn import _checks as V
from iblearn import functional as ibf
from iblearn._settings import setting
from iblearn.estimation.auto_discrete import class_check, entropy_ceiling, labels_estimate
from iblearn.estimation.auto_gaussian import GaussianReruns, copula_check, delta_stderr, gaussian_on_bases
from iblearn.estimation.auto_gaussian import gaussian_stderr as gaussian_stderr
from iblearn.estimation.autocheck import (
    HALVES,
    INTERVAL,
    MI,
    OWN_BIAS,
    Check,
    Reruns,
    interval,
    linearity_check,
    run_checks,
    side_by_side,
)
from iblearn.estimation.choose import (
    CLASSES_ROWS,
    KNN_DIMS,
    canonical_features,
    choose,
    choose_classes,
    classes_check,
    features,
    looks_gaussian,
    marginals_gaussian,
    quadratic_check,
    quadratic_rows,
)
from iblearn.estimation.reading import MIN_ROWS, not_transposed
from iblearn.estimation.split import split_estimate
from iblearn.estimation.verdict import LABELS_ADVICE, LINEAR, LINEAR_GIVEN, flagged, mi_verdict
from iblearn.estimators import reliability
from iblearn.estimators.base import MIEstimate
from iblearn.functional import inference
from iblearn.functional.gaussian import Canonical, canonical_bases, canonical_of_bases, gaussian_mi_of
from iblearn.functional.gaussian_classes import classes_pointwise
from iblearn.functional.knn.engine import (
    key_order,
    ksg_mi_ranked,
    ksg_of_terms,
    mixed_ksg_counts,
    pair_terms,
    pair_terms_ranked,
)
from iblearn.functional.multivariate.inputs import Ranked, copula_normal, ranked_normal
from iblearn.functional.quadratic_classes import quadratic_pointwise, quadratic_reference, quadratic_shape

#: An invertible map of x and of y (MI unchanged), drawn from the generator.
Remap = Callable[[Tensor, Tensor, torch.Generator], tuple[Tensor, Tensor]]

#: The rows a neighbour count is checked against where the checks estimate on halves of ``n`` rows.
HALF_ROWS = " in each half of the {} rows that the checks estimate on"


def rotate(t: Tensor, gen: torch.Generator, scores: bool = True) -> Tensor:
    """``t``'s columns mixed by a random rotation, then (``scores``) each put to its normal scores."""
    d = t.shape[1]
    # Drawn on the generator's CPU, so that a seed mixes alike on any device.
    q = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=torch.float64)).Q.to(t.device)
    if d == 1:
        return t
    return copula_normal(t.double() @ q) if scores else t.double() @ q


def auto_estimate(x: Any, y: Any, *, k: int = 3, neural_steps: int = 0, seed: int = 0) -> MIEstimate:
    """I(X; Y) by an estimator chosen from the data (the module's rule), checked without the truth.

    Args:
        x, y: samples as rows, ``(N, ...)``; either may be integer labels ``(N,)``.
        k: neighbours for the kNN estimators.
        neural_steps: where more than 10 joint dimensions do not look Gaussian, fit MINE for at most this
            many steps as well (0, the default: no neural fit).
        seed: seeds the jitter, the checks' shuffles, halves and rotations, and MINE.

    Returns:
        The chosen estimator's :class:`~iblearn.estimators.MIEstimate` with ``interval``, ``chosen``,
        ``why``, ``checks`` and ``features`` filled in, ``reliable`` and ``caveat`` from its checks;
        ``str`` is one line, :meth:`~iblearn.functional.inference.Estimate.describe` the whole report.

    Raises:
        ValueError: naming ``x``, ``y``, ``k``, ``neural_steps`` or ``seed``: NaN or Inf, a constant
            variable, mismatched or too few rows (fewer than :data:`MIN_ROWS`), a bad count.

    Example:
        >>> from iblearn.data import dense_gaussian
        >>> x, y = dense_gaussian(3).sample(2000, seed=0)
        >>> result = auto_estimate(x, y)
        >>> result.report.chosen, result.reliable, abs(float(result) - 0.4133) < 0.05
        ('gaussian', True, True)
    """
    seed = setting("seed", seed)
    xt, yt, n = _checked_samples(x, y, k, neural_steps)
    cx, cy = ibf.class_codes(xt, "x"), ibf.class_codes(yt, "y")
    for name, codes in (("x", cx), ("y", cy)):
        if codes is not None:
            _repeating_classes(codes, name)
    if cx is not None and cy is not None:
        est = labels_estimate([cx, cy], "mi", seed)
        ceiling = reliability.discrete_ceiling(xt, yt)
        return mi_verdict(est, est.report.checks, (xt, yt), ("x", "y"), ceiling, advice=LABELS_ADVICE)
    sides = ("x", "y")
    if cx is not None and cy is None:  # the labels go second
        xt, yt, cx, cy, sides = yt, xt, cy, cx, ("y", "x")

    @cache
    def ranked() -> tuple[Ranked, Ranked]:
        # Only where an estimator takes them: a sort per column, whose ranks the KSG reruns keep.
        return ranked_normal(xt.reshape(n, -1)), ranked_normal(yt.reshape(n, -1))

    def scores() -> tuple[Tensor, Tensor]:
        return ranked()[0].scores, ranked()[1].scores

    def ascending() -> NDArray[np.float64]:
        return np.concatenate([ranked()[0].ascending, ranked()[1].ascending])

    # The spread of KSG's per-row terms over sqrt(N), from the count that makes its estimate on all the
    # scores (where it ran): the floor of its standard error, as for conditional MI.
    spread: list[float] = []

    def ksg(a: Tensor, b: Tensor) -> float:
        if a is not scores()[0] or b is not scores()[1]:
            return float(ibf.ksg_mi(a, b, k, seed=seed))
        terms = pair_terms(a, b, k, seed)
        spread.append(float(terms.std()) / math.sqrt(n))
        return ksg_of_terms(terms, k)

    # One column a side always takes KSG (choose): the joint's features would be read by nothing.
    joint = xt[0].numel() + yt[0].numel() > 2
    feats = features(xt, yt, scores if cx is None and cy is None else None, ascending, joint=joint)
    planned = _plan(xt, yt, cy, feats, scores, ksg, k, seed, sides)
    chosen, why, mi, data, remap, top, agreement, value = planned
    analysis = None
    if chosen == "gaussian":
        if joint:  # the linearity check's canonical test, on the coordinates the Gaussian reads
            feats.update(canonical_features(*data))
        # Every Gaussian estimate is unchanged by an invertible linear map of each side: the checks run
        # on the rows' whitened coordinates, made once, where the covariance has full rank (a variable on
        # a subspace, such as a wide layer's activations, keeps only its rank's columns).
        data = canonical_bases(*data)
        analysis = canonical_of_bases(*data)
        value, mi = float(gaussian_mi_of(analysis, bias_correction=True)), gaussian_on_bases
        if math.isinf(value):
            return linear_estimate(n, xt.device, "mi", why, feats)
    reruns: MI | Reruns = mi
    if analysis is not None:
        reruns = GaussianReruns(*data, remap, marginals_gaussian(feats))
    elif chosen == "ksg" and cy is None:  # on the scores, whose ranks are known
        rx, ry = ranked()[0].ranks, ranked()[1].ranks
        if rx is not None and ry is not None and len(rx) == len(ry) == 1:
            reruns = RankedReruns(
                mi,
                *data,
                remap,
                [rx[0], ry[0]],
                lambda a, b, keys, orders: ksg_mi_ranked(a, b, keys, n, k, seed, orders),
            )
    elif chosen == "gaussian_classes":
        reruns = ClassesReruns(mi, *data, remap)
    elif chosen == "quadratic_classes":
        reruns = QuadraticReruns(mi, *data, remap)
    terms_stderr = None
    if chosen == "mixed_ksg":
        value, terms_stderr = _mixed_whole(*data, k, seed)
    elif chosen == "gaussian_classes":
        terms_stderr = float(classes_pointwise(*data).std()) / math.sqrt(n)
    elif chosen == "quadratic_classes":
        terms_stderr = float(quadratic_pointwise(*data).std()) / math.sqrt(n)
    elif value is None and isinstance(reruns, RankedReruns):
        value, terms_stderr = _ksg_whole(reruns, k, seed)
    if value is None:
        value = reruns.whole() if isinstance(reruns, RankedReruns) else mi(*data)
    if chosen == "ksg" and terms_stderr is None and spread:
        terms_stderr = spread[-1]
    settled = [agreement.name] if agreement is not None and agreement.passed is False else []
    # KSG on normal scores of one column a side reads two copies low on strong dependence, as on a
    # bivariate normal holding as much: its additivity check sets its gap against that
    # (autocheck.gaussian_gap).
    own = chosen == "ksg" and cy is None and data[0].shape[1] == data[1].shape[1] == 1
    checks, stderr, _ = run_checks(
        reruns, *data, value, ceiling=top, remap=remap, seed=seed, settled=settled, reference=own
    )
    stderr, method = _floored(stderr, analysis, terms_stderr)
    if analysis is not None:
        checks["gaussian copula"] = copula_check(*data)
        if (linear := linearity_check(feats)) is not None:
            checks["linearity"] = linear
    if agreement is not None:
        checks[agreement.name] = agreement
    if chosen == "mixed_ksg" and cy is not None:
        checks["classes"] = class_check(cy, k)
        if "classes spread z" in feats and checks["additivity"].passed is not None:
            checks["additivity"] = _with_own_bias(checks["additivity"], data[0], cy, k, seed)
    elif chosen == "gaussian_classes":
        checks["gaussian classes"] = classes_check(feats)
    elif chosen == "quadratic_classes":
        checks["gaussian classes"] = quadratic_check(feats)
    low, high = interval(value, stderr, checks, top[1])
    if cy is not None and high >= top[1]:
        # The labels' entropy of the sample is an estimate: an interval it clips stops at the top of the
        # entropy's own interval instead (found only here, where it binds: a bootstrap of the counts).
        low, high = interval(value, stderr, checks, entropy_ceiling(cy, seed))
    est = MIEstimate(
        torch.tensor(value, dtype=torch.float64, device=xt.device),
        n,
        chosen,
        stderr=stderr,
        stderr_method=method,
    )
    if neural_steps and cy is None and feats["dx"] + feats["dy"] > KNN_DIMS and not looks_gaussian(feats):
        est, chosen, why = _neural(xt, yt, est, chosen, why, neural_steps, seed)
        low, high = min(low, float(est)), max(high, float(est) + 2 * (est.stderr or 0.0))
    est = mi_verdict(est, checks, (xt, yt), ("x", "y"), reliability.discrete_ceiling(xt, yt))
    report = replace(
        est.report, chosen=chosen, why=why, checks=checks, features=feats, interval_method=INTERVAL
    )
    return replace(est, interval=(low, high), confidence=inference.CONFIDENCE, report=report)


def _with_own_bias(additivity: Check, x: Tensor, labels: Tensor, k: int, seed: int) -> Check:
    """The mixed KSG's additivity check on several columns of classes that are not Gaussian with one
    covariance, with the estimator's own bias on Gaussian classes each of its own fitted mean and
    (shrunk) covariance (:func:`~iblearn.functional.quadratic_classes.quadratic_reference`) as its "a
    Gaussian's bias" figure, which the interval takes whole on the side it points to. Five classes of
    spreads 1 to 2 on a line in ten columns (N = 1,000), where the mixed KSG reads 0.17 low and the
    checks pass, read 0.17 low there too (five draws). Unchanged where a class has one row."""
    reference = quadratic_reference(x, labels, seed)
    if reference is None:
        return additivity
    sample, truth = reference
    own = float(ibf.mixed_ksg_mi(copula_normal(sample), labels, k, seed=seed)) - truth
    return replace(additivity, figures={**additivity.figures, OWN_BIAS: own})


def _mixed_whole(x: Tensor, labels: Tensor, k: int, seed: int) -> tuple[float, float]:
    """The mixed KSG on all the rows, as the checks' estimator gives it, and the standard deviation of
    its per-row terms over sqrt(N) (:meth:`~iblearn.functional.knn.ksg.MixedCounts.local`), from one
    count of the neighbours."""
    counts = mixed_ksg_counts(x, labels, k, seed=seed)
    return float(counts.mi()), float(counts.local().std()) / math.sqrt(counts.n)


def _ksg_whole(reruns: RankedReruns, k: int, seed: int) -> tuple[float | None, float | None]:
    """KSG on all the rows of two single columns of scores, as ``reruns.whole()`` gives it, and the
    standard deviation of its per-row terms over sqrt(N), from one scan
    (:func:`~iblearn.functional.knn.engine.pair_terms_ranked`); (None, None) where that shortcut does
    not hold."""
    n = len(reruns.x)
    terms = pair_terms_ranked(reruns.x, reruns.y, reruns.ranks, n, k, seed, [None, None])
    if terms is None:
        return None, None
    return ksg_of_terms(terms, k), float(torch.from_numpy(terms).std()) / math.sqrt(n)


#: What a kNN estimate's standard error is held at, where its neighbour counts give it.
TERMS_FLOOR = "the standard deviation of the estimate's per-row terms over sqrt(N)"


def _floored(stderr: float, analysis: Canonical | None, terms_stderr: float | None) -> tuple[float, str]:
    """The half-samples' standard error and how it was found, held at least at a first-order one where
    the estimate has it: the Gaussian's by the delta method (``analysis``), KSG's, the mixed KSG's and
    the Gaussian classes' from their per-row terms. The half-samples' few degrees of
    freedom let their figure read far below the spread on some draws; the first-order figure barely
    moves from one draw to the next."""
    if analysis is not None:
        floor, why = delta_stderr(analysis), "the Gaussian's asymptotic standard error by the delta method"
    elif terms_stderr is not None:
        floor, why = terms_stderr, TERMS_FLOOR
    else:
        return stderr, HALVES
    return max(stderr, floor), f"{HALVES}; at least {why}"


#: KSG of rows of single columns of scores given each column's keys (the rows' ranks among all
#: rows) and, where known, their order (:func:`~iblearn.functional.knn.engine.key_order`; None: not
#: known): the value, or None where the ranks do not give the order (the caller then calls the estimator).
RankedMI = Callable[[Tensor, Tensor, list[NDArray[np.int64]], list[NDArray[np.int64] | None]], float | None]


class ClassesReruns(Reruns):
    """The Gaussian classes' reruns. Two copies side by side pair the labels' classes (ten become a
    hundred) in twice the columns: where a half's rows are then fewer than the columns times the
    classes (:data:`~iblearn.estimation.choose.CLASSES_ROWS`), the copies' estimate stands in a regime
    of much noisier class means than the estimate on the rows given, and its gap says nothing of that
    estimate (ten classes on a line in 20 dimensions, N = 1,000: the copies, 100 classes of 5 rows in
    40 dimensions, read 0.44 above the halves' sum while the estimate's bias is -0.010 +- 0.004 over 40
    draws), so the additivity check does not apply there."""

    def doubled(self, a: Tensor, b: Tensor) -> float:
        pairs = int(torch.unique(torch.stack([self.y[a], self.y[b]], dim=1), dim=0).shape[0])
        columns = 2 * self.x.shape[1]
        if len(a) < CLASSES_ROWS * columns * pairs:
            raise ValueError(
                f"they pair the labels into {pairs} classes of {columns} columns, more than the rows "
                "hold for the means of Gaussian classes"
            )
        return super().doubled(a, b)


class QuadraticReruns(Reruns):
    """The reruns of the Gaussian classes of their own covariances. The copies side by side pair the
    labels' classes, each needing the rows for a covariance of its own in twice the columns: where the
    smallest pair has fewer than :func:`~iblearn.estimation.choose.quadratic_rows` in the doubled
    columns, the additivity check does not apply (ten classes of 1,000 rows: a hundred
    pairs of about five rows)."""

    def doubled(self, a: Tensor, b: Tensor) -> float:
        _, counts = torch.unique(torch.stack([self.y[a], self.y[b]], dim=1), dim=0, return_counts=True)
        columns = 2 * self.x.shape[1]
        if int(counts.min()) < quadratic_rows(columns):
            raise ValueError(
                f"they pair the labels into classes of as few as {int(counts.min())} rows in {columns} "
                "columns, too few for a covariance of each class's own"
            )
        return super().doubled(a, b)


class RankedReruns(Reruns):
    """The checks' reruns of KSG on single columns of normal scores whose ranks among the rows are
    known (``ranks``: x's columns', then y's): the estimate on all rows, a half, a shuffled half and two
    halves side by side by ``ranked`` (:func:`~iblearn.functional.knn.engine.ksg_mi_ranked`,
    ``ksg_cmi_ranked``), which takes the order of the rows from the ranks instead of sorting them, with
    the values of ``mi``; ``mi`` itself where it does not apply. A column's order on a set of rows is
    found once: the shuffled half keeps x's rows of the first half, and the copies side by side are
    the first split's two halves."""

    def __init__(
        self, mi: MI, x: Tensor, y: Tensor, remap: Remap, ranks: list[NDArray[np.int64]], ranked: RankedMI
    ) -> None:
        super().__init__(mi, x, y, remap)
        self.ranks, self.ranked = ranks, ranked
        # (column, id of the rows) -> the rows, held so that the id stays theirs, their keys and order.
        self.keyed: dict[tuple[int, int], tuple[Tensor, NDArray[np.int64], NDArray[np.int64] | None]] = {}

    def key(self, column: int, rows: Tensor | None) -> tuple[NDArray[np.int64], NDArray[np.int64] | None]:
        """The ranks of ``column`` (of ``ranks``) on ``rows`` (None: all) and their order (None where
        it is not found here)."""
        if rows is None:
            return self.ranks[column], None
        held = self.keyed.get((column, id(rows)))
        if held is None or held[0] is not rows:
            key = self.ranks[column][rows.numpy()]
            held = self.keyed[column, id(rows)] = (rows, key, key_order(key, len(self.ranks[column])))
        return held[1], held[2]

    def rows(self, ix: Tensor | None, iy: Tensor | None) -> float:
        """KSG of the rows ``ix`` of x beside the rows ``iy`` of y (None: all of them)."""
        x = self.x if ix is None else self.x[ix]
        y = self.y if iy is None else self.y[iy]
        dx = self.x.shape[1]
        return self.on(x, y, [(c, ix if c < dx else iy) for c in range(len(self.ranks))])

    def on(self, x: Tensor, y: Tensor, columns: list[tuple[int, Tensor | None]]) -> float:
        """KSG of ``x`` beside ``y``, whose columns are those of ``ranks`` on rows: (which, rows)."""
        keyed = [self.key(c, rows) for c, rows in columns]
        value = self.ranked(x, y, [key for key, _ in keyed], [order for _, order in keyed])
        return self.mi(x, y) if value is None else value

    def whole(self) -> float:
        return self.rows(None, None)

    def half(self, rows: Tensor) -> float:
        return self.rows(rows, rows)

    def shuffled(self, rows: Tensor, order: Tensor) -> float:
        return self.rows(rows, rows[order])

    def doubled(self, a: Tensor, b: Tensor) -> float:
        x, y = side_by_side(self.x[a], self.x[b]), side_by_side(self.y[a], self.y[b])
        # Each side's columns on the rows a, then on the rows b, as side_by_side lays them.
        dx = self.x.shape[1]
        sides = (range(dx), range(dx, len(self.ranks)))
        return self.on(x, y, [(c, rows) for side in sides for rows in (a, b) for c in side])


def linear_estimate(
    n: int, device: torch.device, measure: str, why: str, feats: dict[str, float]
) -> MIEstimate:
    """The Gaussian estimate chosen for ``n`` rows of which one side is a linear function of the other
    (given z, for ``measure="cmi"``): ``inf`` with the interval ``(inf, inf)``, flagged with that reason
    (:data:`~iblearn.estimation.verdict.LINEAR`, :data:`~iblearn.estimation.verdict.LINEAR_GIVEN`);
    the checks, which would rerun an infinite estimate, are not run."""
    est = MIEstimate(
        torch.tensor(math.inf, dtype=torch.float64, device=device),
        n,
        "gaussian",
        measure=measure,
        stderr=0.0,
        interval=(math.inf, math.inf),
        confidence=inference.CONFIDENCE,
    )
    est = flagged(est, "auto", LINEAR if measure == "mi" else LINEAR_GIVEN)
    report = replace(est.report, chosen="gaussian", why=why, features=feats | {"linear": 1.0})
    return replace(est, report=replace(report, interval_method=INTERVAL))


def _checked_samples(x: Any, y: Any, k: int, neural_steps: int) -> tuple[Tensor, Tensor, int]:
    """``x`` and ``y`` as tensors and their row count, refused (ValueError naming the argument) where
    ``neural_steps`` is no count, the rows are too few for the checks' halves or for ``k`` neighbours
    in a half, or a side holds NaN, Inf or one value only."""
    setting("neural_steps", neural_steps)
    xt, yt = V.as_tensor(x, "x"), V.as_tensor(y, "y")
    n = V.same_length(("x", xt), ("y", yt))
    enough_rows(n, x=xt, y=yt)
    V.neighbours(k, n // 2 - 1, rows=HALF_ROWS.format(n))
    for name, t in (("x", xt), ("y", yt)):
        if t.is_floating_point():
            V.continuous(t, name, allow_grid=True)
        V.not_constant(t, name)
    return xt, yt, n


def enough_rows(n: int, **variables: Tensor) -> None:
    """Refuse fewer than :data:`MIN_ROWS` rows, asking first whether a table is transposed
    (:func:`not_transposed`)."""
    if n >= MIN_ROWS:
        return
    not_transposed(variables)
    raise ValueError(f"x: {n} rows; the checks need at least {MIN_ROWS} (halves of {MIN_ROWS // 2})")


def _plan(
    xt: Tensor,
    yt: Tensor,
    cy: Tensor | None,
    feats: dict[str, float],
    scores: Callable[[], tuple[Tensor, Tensor]],
    ksg: MI,
    k: int,
    seed: int,
    sides: tuple[str, str] = ("x", "y"),
) -> tuple[str, str, MI, tuple[Tensor, Tensor], Remap, tuple[str, float], Check | None, float | None]:
    """What :func:`auto_estimate` runs for continuous x and y, or continuous x and labels ``cy`` (the
    module's rule): (registry name, why, the estimator, the rows it estimates from, the invertible map
    its checks draw, the ceiling (name, nats), the candidates' agreement, and the chosen estimate where
    the candidates already gave it on those rows). ``ksg``: KSG on rows of x and y (its candidate);
    ``sides`` names the continuous side and the labels' as the caller gave them."""
    n = len(xt)
    agreement: Check | None = None
    value: float | None = None
    mi: MI
    remap: Remap
    if cy is not None:
        top = (f"H({sides[1].upper()})", float(ibf.discrete_entropy(cy, correction="miller-madow")))
        rows = xt.reshape(n, -1)
        counts = torch.unique(cy, return_counts=True)[1]
        chosen, why, shape = choose_classes(
            n,
            len(counts),
            rows.shape[1],
            lambda: ibf.classes_shape(rows, cy),
            sides,
            int(counts.min()),
            lambda: quadratic_shape(rows, cy),
        )
        feats.update({f"classes {name}": z for name, z in shape.items()})
        if chosen in ("gaussian_classes", "quadratic_classes"):
            # Unchanged by any invertible linear map of x: the rows as they are, the map a rotation.
            if chosen == "gaussian_classes":
                mi = lambda a, b: float(ibf.gaussian_classes_mi(a, b))  # noqa: E731
            else:
                mi = lambda a, b: float(ibf.quadratic_classes_mi(a, b, seed=seed))  # noqa: E731
            data = (rows.double(), cy)
            remap = lambda a, b, g: (rotate(a, g, False) if a.is_floating_point() else a, b)  # noqa: E731
            return chosen, why, mi, data, remap, top, agreement, value
        mi = lambda a, b: float(ibf.mixed_ksg_mi(a, b, k, seed=seed))  # noqa: E731
        data = (copula_normal(rows), cy)
        remap = lambda a, b, g: (rotate(a, g) if a.is_floating_point() else a, b)  # noqa: E731
        return chosen, why, mi, data, remap, top, agreement, value
    gaussian = lambda a, b: float(ibf.gaussian_mi(a, b, bias_correction=True))  # noqa: E731
    chosen, why, mi, agreement, value = choose(scores, feats, (ksg, gaussian))
    # KSG cannot read above about log N; a Gaussian's MI from N rows has no such ceiling.
    top = (
        ("log N", math.log(n))
        if chosen == "ksg"
        else ("a Gaussian estimate has no ceiling at log N", math.inf)
    )
    remap = lambda a, b, g: (rotate(a, g), rotate(b, g))  # noqa: E731
    if chosen == "gaussian" and marginals_gaussian(feats):
        # Gaussian columns need no scores; a random rotation keeps a Gaussian one.
        data = (xt.reshape(n, -1).double(), yt.reshape(n, -1).double())
        remap = lambda a, b, g: (rotate(a, g, False), rotate(b, g, False))  # noqa: E731
        value = None  # the candidates ran on the scores
    else:
        data = scores()
    return chosen, why, mi, data, remap, top, agreement, value


def _repeating_classes(codes: Tensor, name: str) -> None:
    """Refuse labels most of whose rows are in a class seen once: such a class has no neighbour within
    it and no probability a plug-in can estimate, so its rows carry no estimable information (and the
    checks' halves may hold no class seen twice)."""
    counts = torch.bincount(codes.reshape(-1))
    repeating = int(counts[counts > 1].sum())
    if repeating < len(codes) / 2:
        raise ValueError(
            f"{name}: only {repeating} of the {len(codes)} rows are in a class that occurs more than once "
            f"({int((counts > 0).sum())} classes): labels that rarely repeat carry no information an "
            "estimate can see; merge rare classes, or pass the values as numbers"
        )


def _neural(
    x: Tensor, y: Tensor, est: MIEstimate, chosen: str, why: str, steps: int, seed: int
) -> tuple[MIEstimate, str, str]:
    """MINE beside the Gaussian where neither KSG nor a Gaussian fits: the larger, as both read low."""
    mine = split_estimate(
        x.float().reshape(len(x), -1),
        y.float().reshape(len(y), -1),
        "mine",
        steps=steps,
        n_resamples=0,
        seed=seed,
    )
    # MINE on held-out rows runs no self-checks: not flagged is all that can be asked of it.
    if mine.reliable is not False and float(mine) > float(est):
        return mine, "mine", f"{why}; MINE ({steps} steps) read more, {float(mine):.4f}: MINE"
    return est, chosen, f"{why}; MINE ({steps} steps) read {float(mine):.4f}, not more"
