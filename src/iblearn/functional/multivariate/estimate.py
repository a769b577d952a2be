"""Standard errors, intervals and permutation p-values of the measures among many variables.

:func:`multivariate_estimate` gives total correlation, dual total correlation, O- and S-information
and the interaction information with what is known of them; :func:`pid_estimate` does the same for each
part of the two-source PID. Both return the one result type,
:class:`~iblearn.functional.inference.Estimate` (``MultivariateEstimate`` here), which reads as its
number (``float(est)``).

Standard errors and intervals come from :mod:`iblearn.functional.inference`, as for the estimator
objects (``est(x, y, n_resamples=...)``): for ``method="ksg"`` the half-sampling jackknife (Shao & Wu
1989, delete-N/2), since the repeated rows of a bootstrap resample are zero distances that corrupt
neighbour counts, and the interval bias-aware, from the estimate's trend between the halves and the
whole; for ``"gaussian"`` and ``"copula"`` the bootstrap, the interval around the estimate.

Permutation p-values, ``(1 + #{null >= observed}) / (1 + n_permutations)``, with the null each
measure can honestly be given:

* total correlation, DTC, S-information: the variables mutually independent, drawn by shuffling the
  rows of every variable but the first, each by its own permutation (a block's columns move together).
  All three are 0 then and positive otherwise, so the test is one-sided.
* O-information and interaction information: the same null of mutual independence, under which they
  are 0, compared by absolute value (two-sided). There is no exchangeable null for "O = 0" among
  dependent variables, so a small p-value says the variables are not independent in a way O reflects;
  it does not say whether redundancy or synergy dominates. For the sign, read the value against its
  standard error.
* PID: the target's rows shuffled, keeping the two sources' dependence on each other: the null of a
  target independent of both sources, under which every part and their total are 0. Each part is held
  against that one null (one-sided), so a small p-value for the synergy says it exceeds what chance
  gives with no information at all, not that it is nonzero beside the other parts.

Resample r and permutation p draw from their own generators (:func:`iblearn.functional.inference.rng`),
in this process; the estimates on them run in batches through
joblib (``n_jobs``, as in :func:`~iblearn.functional.pairwise_mi`), and the results do not depend on
the number of jobs.

Reference:
    J. Shao, C. F. J. Wu. A general theory for jackknife variance estimation. Ann. Statist. 17, 1176
    (1989).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any, Literal, Unpack

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from iblearn import _checks as V
from iblearn._measures import MEASURE_TABLE
from iblearn._settings import resampling_counts
from iblearn.functional import inference
from iblearn.functional.inference import Estimate
from iblearn.functional.knn.engine import column_ranks, duplicated_rows
from iblearn.functional.multivariate.core import (
    MeasureKeywords,
    MeasureOptions,
    gaussian_delta_stderr,
    ksg_tc_dtc_ranked,
    tc_dtc,
)
from iblearn.functional.multivariate.inputs import (
    ScalarCheck,
    copula_normal,
    magnitude_dependence,
    named_variables,
    scalar_check,
    split_variables,
)
from iblearn.functional.multivariate.pid_intervals import minimum_mi_spans
from iblearn.functional.multivariate.pid_mmi import pid_of
from iblearn.parallel import PERMUTATIONS_PER_BATCH, check_n_jobs, iter_batches

Measure = Literal[
    "total_correlation", "dual_total_correlation", "o_information", "s_information", "interaction_information"
]
MEASURES: tuple[str, ...] = tuple(MEASURE_TABLE)
#: Measures that take either sign: their permutation test compares absolute values.
TWO_SIDED = frozenset(name for name, spec in MEASURE_TABLE.items() if spec.signed)


#: What these functions return: the one result type, :class:`~iblearn.functional.inference.Estimate`,
#: whose ``measure`` names the measure and ``method`` (``estimator``) the estimator.
MultivariateEstimate = Estimate


def _values(
    kind: str,
    variables: list[Tensor],
    opts: MeasureOptions,
    ranks: NDArray[np.int64] | None = None,
    rows: Sequence[np.ndarray | None] | None = None,
) -> Tensor:
    """The estimates ``kind`` stands for, as a 1-D tensor: one measure, or the PID's parts and total.
    ``ranks``: each variable's ranks among all the rows (:func:`_ranks`), and ``rows`` each variable's
    rows that ``variables`` hold (None: all of them), which give KSG the columns' orders without a sort."""
    if kind == "pid":
        parts = pid_of(variables[0], variables[1], variables[2], opts)
        return torch.stack([*parts, parts.total])
    spec = MEASURE_TABLE[kind]
    dual = spec.dtc != 0
    found = None
    if ranks is not None:
        taken = [None] * len(ranks) if rows is None else rows
        keys = [a if r is None else a[r] for a, r in zip(ranks, taken, strict=True)]
        found = ksg_tc_dtc_ranked(variables, keys, ranks.shape[1], opts, dual)
    if found is None:
        names = [f"x (variable {i})" for i in range(len(variables))]
        found = tc_dtc(variables, names, opts, dual=dual)
    return spec.of(*found)[None]


def _ranks(kind: str, variables: list[Tensor], opts: MeasureOptions) -> NDArray[np.int64] | None:
    """Each variable's ranks among the rows ``(m, N)``, from which KSG takes its order on any of them
    (:func:`~iblearn.functional.multivariate.core.ksg_tc_dtc_ranked`): the resamples and permutations
    then sort nothing. None where that shortcut does not apply (the PID, the closed forms, other settings
    than the defaults, a variable of several columns)."""
    if kind not in MEASURE_TABLE or opts.method != "ksg" or not opts.default_settings():
        return None
    return column_ranks(variables)


def _batch(
    kind: str,
    variables: list[Tensor],
    opts: MeasureOptions,
    draws: list[list[np.ndarray | None]],
    ranks: NDArray[np.int64] | None = None,
) -> list[Tensor]:
    """:func:`_values` with each variable's rows taken as a draw says (None: as they are); ``ranks`` as
    :func:`_ranks` gives them."""
    out = []
    for rows in draws:
        pairs = zip(variables, rows, strict=True)
        taken = [v if r is None else v[torch.from_numpy(r).to(v.device)] for v, r in pairs]
        out.append(_values(kind, taken, opts, ranks, rows))
    return out


def _run(
    kind: str,
    variables: list[Tensor],
    opts: MeasureOptions,
    draws: Iterator[list[np.ndarray | None]],
    n_jobs: int | None,
    ranks: NDArray[np.int64] | None = None,
) -> Tensor:
    """The estimates on every draw, ``(draws, values)``, in batches run as ``n_jobs`` says."""

    def batches() -> Iterator[tuple[Any, ...]]:
        while batch := list(itertools.islice(draws, PERMUTATIONS_PER_BATCH)):
            yield kind, variables, opts, batch, ranks

    return torch.stack([v for values in iter_batches(_batch, batches(), n_jobs) for v in values])


def _estimates(
    names: list[str],
    kind: str,
    variables: list[Tensor],
    opts: MeasureOptions,
    shuffled: Sequence[int],
    null: str,
    *,
    n_resamples: int,
    n_permutations: int,
    n_jobs: int | None,
    two_sided: bool,
) -> list[Estimate]:
    resampling_counts(n_resamples, n_permutations)
    seed, n_jobs = opts.seed, check_n_jobs(n_jobs)
    method, n = opts.method, int(variables[0].shape[0])
    ranks = _ranks(kind, variables, opts)
    observed = _values(kind, variables, opts, ranks)
    joint = torch.cat([v.reshape(n, -1).to(torch.float64) for v in variables], dim=1)
    scores = None if method == "ksg" else copula_normal(joint)
    scalar = None
    if scores is not None and joint.shape[1] == 2:
        # Two single columns: KSG on the same coordinates as the closed form, beside it.
        pair = scores if method == "copula" else joint
        scalar = scalar_check(pair[:, :1], pair[:, 1:])
    figures = _figures(joint, scores, method, n_resamples, scalar)
    p_value = None
    resampled: list[inference.Resampled] = []
    reached: list[tuple[float, float]] = []
    spans: list[tuple[float, float, float]] | None = None
    if n_resamples:
        resampled, reached, draws = _resampled(kind, variables, opts, n_resamples, n_jobs, ranks)
        if kind == "pid":
            # The minimum-MI parts are minima of smooth functions, biased at a tie: their intervals are
            # composed from those of the smooth functions.
            spans = minimum_mi_spans(np.asarray(observed, dtype=np.float64), draws, n, _scheme(method))
        if scores is not None and kind in MEASURE_TABLE:
            # The closed form reads the rows (the Gaussian's) or their normal scores (the copula's).
            rows = scores if method == "copula" else joint
            widths = [v.reshape(n, -1).shape[1] for v in variables]
            resampled = [_delta_floored(r, kind, list(torch.split(rows, widths, dim=1))) for r in resampled]
    if n_permutations:

        def permutation(p: int) -> list[np.ndarray | None]:
            g = inference.rng(seed, inference.PERMUTATION, p)
            return [g.permutation(n) if i in shuffled else None for i in range(len(variables))]

        null_values = _run(kind, variables, opts, map(permutation, range(n_permutations)), n_jobs, ranks)
        p_value = [
            inference.p_value(float(observed[i]), null_values[:, i].tolist(), two_sided=two_sided)
            for i in range(len(names))
        ]
    out = [
        _estimate_of(
            figures,
            resampled[i] if resampled else None,
            scalar,
            reached[i] if reached else None,
            value=observed[i],
            measure=name,
            estimator=method,
            n_samples=n,
            p_value=None if p_value is None else p_value[i],
            n_permutations=n_permutations,
            null=null if n_permutations else None,
        )
        for i, name in enumerate(names)
    ]
    if spans is None:
        return out
    # A part every resample reads as one value keeps the interval reaching to it (_estimate_of).
    return [
        est if est.stderr == 0 else replace(est, interval=span[1:])
        for est, span in zip(out, spans, strict=True)
    ]


#: Measures that are never negative: an interval is held at 0, and an estimate below 0 beyond its error
#: is impossible.
NON_NEGATIVE = frozenset(name for name, spec in MEASURE_TABLE.items() if not spec.signed) | frozenset(
    {"redundancy", "unique_1", "unique_2", "synergy", "total"}
)


def _scheme(method: str) -> inference.Scheme:
    """How an estimate by ``method`` is resampled: KSG by halves, whose rows are distinct (a bootstrap's
    repeats are zero distances to a kNN estimate); the closed forms by the bootstrap."""
    return "half" if method == "ksg" else "bootstrap"


def _resampled(
    kind: str,
    variables: list[Tensor],
    opts: MeasureOptions,
    n_resamples: int,
    n_jobs: int | None,
    ranks: NDArray[np.int64] | None,
) -> tuple[list[inference.Resampled], list[tuple[float, float]], np.ndarray]:
    """The resampled spread of each estimate ``kind`` stands for, under :func:`_scheme`; with each, the
    least and the largest of its resamples; and every resample's estimates ``(R, estimates)``
    (``ranks`` as :func:`_ranks` gives them)."""
    n = int(variables[0].shape[0])
    scheme = _scheme(opts.method)

    def resample(r: int) -> list[np.ndarray | None]:
        return [inference.resample_rows(n, scheme, opts.seed, r)] * len(variables)

    try:
        values = _run(kind, variables, opts, map(resample, range(n_resamples)), n_jobs, ranks)
    except ValueError as err:  # the whole sample passed its checks; a resample of it did not
        what = f"a half-sample of {n // 2}" if scheme == "half" else f"a bootstrap resample of {n}"
        raise ValueError(f"n_resamples: {what} of the {n} rows: {err}") from err
    if bool((values.std(dim=0) == 0).all()):  # halves of 4 rows with k = 3, say: no error at all
        raise ValueError(
            f"n_resamples: every resample of the {n} rows gives the same estimate: too few rows for a "
            "resampled standard error"
        )
    spreads = [
        inference.summarize(values[:, i].tolist(), n, scheme, constant=True) for i in range(values.shape[1])
    ]
    reached = list(zip(values.min(dim=0).values.tolist(), values.max(dim=0).values.tolist(), strict=True))
    return spreads, reached, values.double().numpy()


#: How a closed form's bootstrap standard error is held at the delta method's.
DELTA_FLOOR = "at least the Gaussian's asymptotic standard error by the delta method"


def _delta_floored(resampled: inference.Resampled, kind: str, variables: list[Tensor]) -> inference.Resampled:
    """The bootstrap's standard error of a closed form held at least at its first-order one
    (:func:`~iblearn.functional.multivariate.core.gaussian_delta_stderr`) on the rows it reads
    (``variables``: the copula's normal scores, the Gaussian's rows). The bootstrap's figure from R
    resamples varies by about 1/sqrt(2R) from one draw to the next and reads low on some; the delta
    method's barely moves. Under independence both exceed the estimate's spread (the plug-in gradient
    is not 0 there), the bootstrap's the more."""
    names = [f"x (variable {i})" for i in range(len(variables))]
    floor = gaussian_delta_stderr(variables, names, MEASURE_TABLE[kind])
    return replace(
        resampled, stderr=max(resampled.stderr, floor), method=f"{resampled.method}; {DELTA_FLOOR}"
    )


def _estimate_of(
    figures: dict[str, float],
    resampled: inference.Resampled | None,
    scalar: ScalarCheck | None = None,
    reached: tuple[float, float] | None = None,
    **fields: Any,
) -> Estimate:
    """The estimate, with its interval where it was resampled
    (:func:`iblearn.functional.inference.interval`, held at 0 for a measure that is never negative;
    for two single columns, reaching what KSG's reading allows where the closed form and KSG agree,
    :meth:`~iblearn.functional.multivariate.inputs.ScalarCheck.reach`), and in its report's
    ``features`` the ``figures`` of the data that a verdict reads (:func:`_figures`) with the
    resampling's: ``"resamples"`` and the halves' mean ``"half"``. Where every resample reads one value
    (``reached``, the least and largest of them: a PID part that is 0 on every resample, as a maximum
    with 0 can be, though not on the whole sample) the interval reaches from the estimate to it, rather
    than being the point of a standard error of 0."""
    if resampled is not None:
        floor = 0.0 if fields["measure"] in NON_NEGATIVE else -math.inf
        span, bias = inference.interval(
            float(fields["value"]),
            resampled.stderr,
            half=resampled.half,
            n_resamples=resampled.n_resamples,
            floor=floor,
        )
        spec = MEASURE_TABLE.get(fields["measure"])
        scale = 0 if spec is None else spec.tc + spec.dtc  # of two variables' MI: TC = DTC = the MI
        if scalar is not None and scale:
            low, high = sorted(scale * v for v in scalar.reach(resampled.stderr / abs(scale)))
            span = (max(floor, min(span[0], low)), max(span[1], high))
        if reached is not None and resampled.stderr == 0:
            span = (max(floor, min(span[0], reached[0])), max(span[1], reached[1]))
        fields |= dict(
            stderr=resampled.stderr,
            stderr_method=resampled.method,
            interval=span,
            confidence=inference.CONFIDENCE,
            bias=None if resampled.half is None else bias,
        )
        figures = figures | {"resamples": float(resampled.n_resamples)}
        if resampled.half is not None:
            figures["half"] = resampled.half
    est = Estimate(**fields)
    return replace(est, report=replace(est.report, features=figures))


def _figures(
    joint: Tensor, scores: Tensor | None, method: str, n_resamples: int, scalar: ScalarCheck | None
) -> dict[str, float]:
    """What a verdict on an estimate by ``method`` reads of the rows ``joint`` (``scores``, their normal
    scores, but for KSG): the share of rows that
    repeat another exactly (``"repeated"``, KSG), the z of the magnitudes' dependence beyond a
    Gaussian copula's (``"magnitudes"``,
    :func:`~iblearn.functional.multivariate.inputs.magnitude_dependence`; the Gaussian and copula
    methods), the largest share of a column's raw rows in its tail (``"tails"``,
    :func:`~iblearn.functional.inference.tail_share`; with an interval, not on the copula's normal
    scores, which have none) and, for two single columns, the closed form and KSG on them
    (``"closed"``, ``"knn"``, ``"tolerance"``:
    :func:`~iblearn.functional.multivariate.inputs.scalar_check`)."""
    figures: dict[str, float] = {}
    if scores is None:
        figures["repeated"] = float(duplicated_rows(joint).double().mean())
    else:
        figures["magnitudes"] = magnitude_dependence(scores, joint.shape[1] // 2)
    if method != "copula" and n_resamples:
        figures["tails"] = inference.tail_share(joint)
    if scalar is not None:
        figures |= {"closed": scalar.closed, "knn": scalar.knn, "tolerance": scalar.tolerance}
    return figures


def estimable(measure: str, count: int, name: str) -> None:
    """Refuse (ValueError naming ``name``) ``count`` variables where ``measure`` is of a fixed number
    of them (the interaction information, of 3) or is 0 by definition (the O-information of 2: no
    resample spreads and no permutation tests it): :class:`~iblearn._measures.MeasureSpec`'s
    ``variables`` and ``fewest``."""
    spec = MEASURE_TABLE[measure]
    if spec.variables is not None and count != spec.variables:
        raise ValueError(f"{name}: the {spec.label} is of {spec.variables} variables, got {count}")
    if count < spec.fewest:
        raise ValueError(
            f"{name}: the {spec.label} of {count} variables is 0 by definition; an estimate of it takes "
            f"at least {spec.fewest}"
        )


def multivariate_estimate(
    measure: Measure,
    x: Any,
    blocks: Sequence[Sequence[int]] | None = None,
    *,
    n_resamples: int = 0,
    n_permutations: int = 0,
    n_jobs: int | None = None,
    **options: Unpack[MeasureKeywords],
) -> MultivariateEstimate:
    """A measure among the variables of ``x`` with its standard error and permutation p-value (see the
    module's notes for the null each measure is tested against).

    Args:
        measure: ``"total_correlation"``, ``"dual_total_correlation"``, ``"o_information"``,
            ``"s_information"`` or ``"interaction_information"`` (exactly three variables).
        x, blocks, **options: as for :func:`~iblearn.functional.total_correlation` (``seed`` also seeds
            the resamples and the permutations).
        n_resamples: if positive, a standard error from that many resamples (at least 2).
        n_permutations: if positive, a permutation p-value from that many permutations.
        n_jobs: jobs for the resamples and permutations through joblib, as in
            :func:`~iblearn.functional.pairwise_mi`; the result does not depend on it.

    Returns:
        :class:`MultivariateEstimate`; its value equals the measure's function's.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> z = torch.randn(1000, 1, generator=g)
        >>> est = multivariate_estimate("o_information", z + torch.randn(1000, 3, generator=g),
        ...                             method="gaussian", n_resamples=50, n_permutations=50)
        >>> 0.05 < float(est) < 0.15, est.p_value < 0.05, 0.005 < est.stderr < 0.05
        (True, True, True)
    """
    V.choice(measure, "measure", MEASURES)
    variables = split_variables(x, blocks)
    estimable(measure, len(variables), "x" if blocks is None else "blocks")
    opts = MeasureOptions(**options)
    null = "the variables mutually independent (every variable's rows shuffled but the first's)"
    return _estimates(
        [measure],
        measure,
        variables,
        opts,
        range(1, len(variables)),
        null,
        n_resamples=n_resamples,
        n_permutations=n_permutations,
        n_jobs=n_jobs,
        two_sided=measure in TWO_SIDED,
    )[0]


def pid_estimate(
    x1: Any,
    x2: Any,
    target: Any,
    *,
    n_resamples: int = 0,
    n_permutations: int = 0,
    n_jobs: int | None = None,
    **options: Unpack[MeasureKeywords],
) -> dict[str, MultivariateEstimate]:
    """The parts of the minimum-MI PID (:func:`~iblearn.functional.multivariate.pid_mmi.mmi_pid`) and
    their total I(X1, X2; T), each with its standard error and a permutation p-value against a target
    independent of both sources; with resamples, each part's interval composed from those of the smooth
    informations it is a minimum or a difference of
    (:func:`~iblearn.functional.multivariate.pid_intervals.minimum_mi_spans`), which holds at a tie
    ``I(X1; T) = I(X2; T)``, as :func:`~iblearn.functional.multivariate.pid_samples.pid_interval`'s do.

    Args:
        x1, x2, target, **options: as for :func:`~iblearn.functional.multivariate.pid_mmi.mmi_pid`
            (the target may be class labels).
        n_resamples, n_permutations, n_jobs: as for :func:`multivariate_estimate`.

    Returns:
        ``{"redundancy", "unique_1", "unique_2", "synergy", "total"}`` to :class:`MultivariateEstimate`.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x1, x2 = torch.randn(1000, 1, generator=g), torch.randn(1000, 1, generator=g)
        >>> target = x1 + x2 + 0.5 * torch.randn(1000, 1, generator=g)
        >>> parts = pid_estimate(x1, x2, target, method="gaussian", n_permutations=20)
        >>> parts["synergy"].p_value == 1 / 21
        True
    """
    t = V.as_tensor(target, "target")
    if t.is_floating_point():
        variables = named_variables(("x1", x1), ("x2", x2), ("target", target))
    else:  # class labels, which pid takes through the mixed KSG
        variables = [*named_variables(("x1", x1), ("x2", x2)), t]
        V.same_length(("x1", variables[0]), ("target", t))
    opts = MeasureOptions(**options)
    names = ["redundancy", "unique_1", "unique_2", "synergy", "total"]
    null = "the target independent of both sources (the target's rows shuffled)"
    out = _estimates(
        names,
        "pid",
        variables,
        opts,
        [2],
        null,
        n_resamples=n_resamples,
        n_permutations=n_permutations,
        n_jobs=n_jobs,
        two_sided=False,
    )
    return dict(zip(names, out, strict=True))
