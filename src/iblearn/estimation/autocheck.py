"""Checks that need no truth, for an estimate that ``method="auto"`` (:mod:`iblearn.estimation.auto`)
made; the estimate carries them in ``MIEstimate.report.checks``.

Each check reruns the chosen estimator on data whose MI is known from the original's: independently
shuffled pairs (0), an invertible map of x and of y (unchanged), two independent copies side by side
(twice), half the rows (the same, but for the estimator's bias at N / 2), and a ceiling no MI exceeds
(H(Y) of labels, log N). What a check reveals widens the interval (:func:`interval`); a failed one
makes the estimate unreliable, with the check named in the caveat.

The checks whose figures widen the interval (the map, the copies, half the rows) always run. The
shuffled pairs only decide whether the estimate is reliable, so they run only where every other check
passed: where one has already failed, the estimate is unreliable whatever they read, and the report
says the check was not run and why (a shuffled half costs as much as a half's estimate).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from iblearn.functional import inference
from iblearn.functional.multivariate.inputs import copula_normal

#: Below this many nats, every gap a check measures is noise (KSG on independent normals at N = 2,500
#: reads within +-0.02).
FLOOR = 0.03
#: Share of the estimate a check may move it by and still pass: below the 10% asked of an estimate,
#: so that an estimate more than 25% off moves some check by more.
SHARE = 0.1
#: Level, corrected over every pair tested (Bonferroni), below which a column's square and cube explain
#: part of another that a linear regression leaves (:mod:`iblearn.functional.linearity`): a dependence
#: a Gaussian estimate misses. The automatic choices take KSG there where they can; a Gaussian estimate
#: whose test reads below it is not reliable. The network's choice takes KSG where, beyond it, the
#: square and cube explain more than the column does linearly: on every sin(2 x) network of
#: benchmarks/network_rates.py and on none of its linear or tanh(2 x) ones (the rows say which it chose).
NONLINEAR_P = 1e-3

#: Random splits of the rows in two halves behind the standard error: the spread of two halves alone
#: has one degree of freedom, and reads 10x too small in about 8% of runs (P(|Z| < 0.1)); four
#: halves have three.
SPLITS = 2

#: The most rows a copy of the additivity check reads. Its two copies side by side hold twice the
#: dimensions, where a neighbour search prunes little: on 3 x 3 MI in normal scores at 10,000 rows a
#: half, the copies cost 1.5x the whole estimate on twice the rows. From more rows a half, the check
#: reads copies of this many (and their own two estimates) and scales what they show to a half's rows
#: (:data:`ROWS_SCALE`).
COPY_ROWS = 5_000

#: How many times the change from half the rows to all of them may remain as bias at N: a bias that
#: falls as N^(-1/2), as a kNN estimate's does on two dimensions (Gao, Oh & Viswanath 2018: N^(-1/d)
#: up to logarithms), leaves 1 / (sqrt(2) - 1) times the change; one falling as 1 / N, the change
#: once. On the calibration's additive uniform noise of one column a side (1.7 and 3.9 nats), KSG's
#: bias falls as N^(-0.56) to N^(-0.75) from 1,000 to 10,000 rows.
REMAINS = 1 / (math.sqrt(2) - 1)

#: What the half-data check expects, in words.
HALF_DATA = "half the rows give about the same; a change is a bias that shrinks as rows are added"

#: How the checks' standard error is found, in words.
HALVES = (
    f"half-sampling jackknife: the spread of {2 * SPLITS} estimates on random halves of the rows, so few "
    "that it changes from one seed to another (the interval's width allows for that)"
)

#: How :func:`interval` is made, in words (the report's ``interval_method``).
INTERVAL = "widened by the bias the self-checks measured"

#: Estimate on (x, y) rows: the chosen estimator, in nats.
MI = Callable[[Tensor, Tensor], float]


@dataclass(frozen=True)
class Check:
    """One self-check: its name, whether it passed (None: not applicable, it could not move on these
    data, or not run, as nothing it could read would change the verdict), the figures behind it (nats),
    what it tests, the largest gap it allows, where it did not pass or fail why, and whether it ran."""

    name: str
    passed: bool | None
    figures: dict[str, float]
    expects: str
    tolerance: float | None = None
    why_not: str | None = None
    ran: bool = True

    def __str__(self) -> str:
        if self.passed is None:
            return f"{self.name}: {'not applicable' if self.ran else 'not run'} — {self.why_not}"
        numbers = ", ".join(f"{k} {v:.4g}" for k, v in self.figures.items())
        allowed = "" if self.tolerance is None else f"; tolerance {self.tolerance:.3g}"
        return f"{self.name}: {'pass' if self.passed else 'FAIL'} — {self.expects} ({numbers}{allowed})"


#: What the linearity check expects, in words.
LINEARITY = (
    "no column depends on another through its square or cube beyond the corrected level, and no side's "
    "canonical variates on the cubes of the other's or their turning with its magnitude, as a Gaussian's "
    "do not: the Gaussian estimate misses such a dependence"
)


def linearity_check(feats: dict[str, float]) -> Check | None:
    """The linearity check of a Gaussian (or Gaussian copula) estimate, from the tests the rule read
    (:mod:`iblearn.functional.linearity`): the score test of squares and cubes (``feats["bend"]``, its
    statistic, and ``feats["bend p"]``, its p-value corrected over the pairs tested) and, where it ran,
    the canonical test (``feats["canonical bend"]``, the share of the residual it explains, and
    ``feats["canonical bend p"]``); passes where each p-value is at or above :data:`NONLINEAR_P`. None
    where the rule measured neither."""
    figures = {}
    if "bend p" in feats:
        figures = {"score statistic": feats["bend"], "p (corrected)": feats["bend p"]}
    if "canonical bend p" in feats:
        figures |= {
            "canonical share": feats["canonical bend"],
            "canonical p (corrected)": feats["canonical bend p"],
        }
    ps = [figures[name] for name in ("p (corrected)", "canonical p (corrected)") if name in figures]
    if not ps:
        return None
    return Check("linearity", min(ps) >= NONLINEAR_P, figures, LINEARITY, NONLINEAR_P)


def not_applicable(name: str, expects: str, why: str) -> Check:
    """A check that cannot move on the data at hand, with why: never reported as passed."""
    return Check(name, None, {}, expects, why_not=why)


def _floor(n: int) -> float:
    """The gap below which a check cannot tell bias from noise on n rows: :data:`FLOOR`, or 1.5 / sqrt(n)
    where that is larger (KSG on 150 independent rows reads as low as -0.10)."""
    return max(FLOOR, 1.5 / math.sqrt(n))


def _tolerance(value: float, stderr: float, n: int) -> float:
    return max(_floor(n), SHARE * abs(value)) + 2 * stderr


class Reruns:
    """The chosen estimator rerun on what the checks need of the rows ``x``, ``y``: halves, a half with
    its pairs shuffled, a half through an invertible map, two halves side by side. This one slices the
    rows and calls ``mi``; an estimator with a cheaper way (the Gaussian, from second moments) overrides
    the methods, with the same values."""

    def __init__(
        self,
        mi: MI,
        x: Tensor,
        y: Tensor,
        remap: Callable[[Tensor, Tensor, torch.Generator], tuple[Tensor, Tensor]],
    ) -> None:
        self.mi, self.x, self.y, self.remap = mi, x, y, remap

    def half(self, rows: Tensor) -> float:
        return self.mi(self.x[rows], self.y[rows])

    def halves(self, splits: list[tuple[Tensor, Tensor]]) -> list[float]:
        """Each split's two halves, in order."""
        return [self.half(rows) for pair in splits for rows in pair]

    def shuffled(self, rows: Tensor, order: Tensor) -> float:
        return self.mi(self.x[rows], self.y[rows][order])

    def mapped(self, rows: Tensor, gen: torch.Generator) -> float | None:
        """On the rows through the invertible map drawn from ``gen``; None where the map leaves the
        estimator's input as it is."""
        xa, ya = self.x[rows], self.y[rows]
        xm, ym = self.remap(xa, ya, gen)
        return None if xm is xa and ym is ya else self.mi(xm, ym)

    def doubled(self, a: Tensor, b: Tensor) -> float:
        return self.mi(side_by_side(self.x[a], self.x[b]), side_by_side(self.y[a], self.y[b]))


def run_checks(
    mi: MI | Reruns,
    x: Tensor,
    y: Tensor,
    value: float,
    *,
    ceiling: tuple[str, float],
    remap: Callable[[Tensor, Tensor, torch.Generator], tuple[Tensor, Tensor]],
    seed: int,
    settled: Sequence[str] = (),
    reference: bool = False,
) -> tuple[dict[str, Check], float, float]:
    """Every check of ``mi`` at ``(x, y)``, whose estimate is ``value``; with the standard error from
    the halves of :data:`SPLITS` random splits (delete-half jackknife: the halves' spread) and the
    half-data mean.

    Args:
        mi: the chosen estimator, or its :class:`Reruns` on ``(x, y)``.
        x, y: the rows it estimated from (already in the coordinates it estimates in).
        value: ``mi(x, y)``.
        ceiling: (its name, nats) that no MI of these data exceeds; infinite where the estimator has
            none (its name then says why).
        remap: an invertible map of x and of y (MI unchanged), drawn from the generator.
        seed: seeds the shuffle, the halves and the map.
        settled: the caller's checks that already failed (the candidates' agreement): the estimate is
            then unreliable whatever the shuffled pairs read, and they are not run (module notes).
        reference: whether the additivity check may set a gap beyond its tolerance against the
            estimator's own on a Gaussian holding as much (:func:`gaussian_gap`): for a kNN estimate
            of MI on normal scores of one column a side.
    """
    reruns = mi if isinstance(mi, Reruns) else Reruns(mi, x, y, remap)
    gen = torch.Generator().manual_seed(seed)  # the invertible map's draw
    n = len(x)
    # Each split's two halves, drawn as the inference core draws its resamples.
    orders = [
        torch.from_numpy(inference.rng(seed, inference.RESAMPLE, i).permutation(n)) for i in range(SPLITS)
    ]
    splits = [(order[: n // 2], order[n // 2 : 2 * (n // 2)]) for order in orders]
    a, b = splits[0]
    halves = reruns.halves(splits)
    half_a, half_b = halves[:2]
    # Delete-half jackknife (Shao & Wu 1989): the halves' sd, times sqrt(kept / left) = 1.
    resampled = inference.summarize(halves, n, "half", constant=True)
    stderr, half = resampled.stderr, float(resampled.half or 0.0)
    tol = _tolerance(value, stderr, n // 2)
    # The map on the first half too, beside that half's estimate.
    mapped = reruns.mapped(a, gen)
    invariance = "an invertible map of x and of y leaves it unchanged"
    checks = []
    if mapped is None:
        checks.append(not_applicable("invariance", invariance, _unmoved(x, y)))
    else:
        checks.append(
            Check(
                "invariance", abs(mapped - half_a) <= tol, {"mapped": mapped, "half": half_a}, invariance, tol
            )
        )
    checks.append(_additivity(reruns, (a, b), (half_a, half_b), (half, stderr), seed if reference else None))
    checks.append(
        Check(
            "half data",
            abs(value - half) <= tol,
            {"half": half, "estimate": value},
            HALF_DATA,
            tol,
        )
    )
    checks.append(_ceiling(ceiling, value, n, stderr))
    failed = [*settled, *(c.name for c in checks if c.passed is False)]
    independent = max(_floor(n // 2), SHARE * abs(value)) + 2 * stderr
    checks.insert(0, _independence(reruns, a, seed, independent, failed))
    return {c.name: c for c in checks}, stderr, half


#: What the independence check expects, in words.
INDEPENDENCE = "shuffled pairs, which share nothing, read about 0"


def _independence(reruns: Reruns, rows: Tensor, seed: int, tolerance: float, failed: Sequence[str]) -> Check:
    """The independence check: the pairs of the half ``rows`` shuffled (as telling as on all the rows,
    and cheaper) read within ``tolerance`` of 0; not run where the checks ``failed`` already make the
    estimate unreliable, which no reading of it would change."""
    if failed:
        return Check(
            "independence",
            None,
            {},
            INDEPENDENCE,
            why_not=f"the estimate is unreliable whatever it reads, as {', '.join(failed)} failed",
            ran=False,
        )
    shuffle = torch.from_numpy(inference.rng(seed, inference.PERMUTATION, 0).permutation(len(rows)))
    shuffled = reruns.shuffled(rows, shuffle)
    return Check("independence", abs(shuffled) <= tolerance, {"shuffled": shuffled}, INDEPENDENCE, tolerance)


def _additivity(
    reruns: Reruns,
    halves: tuple[Tensor, Tensor],
    values: tuple[float, float],
    spread: tuple[float, float],
    reference: int | None,
) -> Check:
    """The additivity check: the estimator on two independent copies side by side (the two halves of a
    split, rows ``halves``, whose estimates are ``values``) reads their sum, within twice the half-data
    tolerance (``spread``: the halves' mean and standard error); not applicable where the doubled
    dimensions are more than the estimator takes. Halves of more than :data:`COPY_ROWS` rows give
    copies of that many, estimated again, whose gap is scaled to a half's rows. Where the gap is beyond
    six standard errors (or the floor) and ``reference`` seeds one, the part of it the estimator shows
    on a Gaussian holding as much (:func:`gaussian_gap`) is its own and not counted
    (:func:`unexplained`)."""
    a, b = halves
    half_a, half_b = values
    rows = len(a)
    additivity = "two independent copies side by side hold twice the information"
    scale = 1.0
    if rows > COPY_ROWS:  # copies of fewer rows, each with its own estimate
        a, b = a[:COPY_ROWS], b[:COPY_ROWS]
        half_a, half_b = reruns.half(a), reruns.half(b)
        scale = math.sqrt(COPY_ROWS / rows)
        additivity += f" (copies of {COPY_ROWS} rows, their gap scaled to a half's {rows} rows)"
    try:
        doubled = reruns.doubled(a, b)
    except ValueError as err:  # twice the dimensions on half the rows: more than the estimator takes
        return not_applicable(
            "additivity",
            additivity,
            f"two copies of a half are too many dimensions for {len(a)} rows: {err}",
        )
    tolerance = 2 * _tolerance(*spread, rows)
    figures = {"two copies": doubled, "sum of the halves": half_a + half_b}
    if scale < 1.0:
        figures[ROWS_SCALE] = scale
    # The reference costs two copies' estimate and two halves': run where the gap would fail the check
    # or widen the interval by more than its standard errors (half the gap beyond one, over two).
    if abs(unexplained(figures)) > max(_floor(rows), 6 * spread[1]) and reference is not None:
        nats = (half_a + half_b) / 2
        gap, bias = gaussian_gap(reruns.mi, len(a), nats, reference)
        figures[OWN_GAP], figures[OWN_BIAS] = gap, bias * scale
        additivity += f", beyond the gap the estimator itself shows there on a Gaussian of {nats:.4g} nats"
    return Check("additivity", abs(unexplained(figures)) <= tolerance, figures, additivity, tolerance)


#: The additivity check's figure for the estimator's gap on a Gaussian holding as much.
OWN_GAP = "a Gaussian's gap"
#: The additivity check's figure for the estimator's bias on that Gaussian: its halves' mean less the
#: Gaussian's MI, at a half's rows (:data:`ROWS_SCALE`).
OWN_BIAS = "a Gaussian's bias"
#: The additivity check's figure, where its copies read fewer rows than a half (:data:`COPY_ROWS`):
#: sqrt(their rows over a half's), the factor that takes the gap and the bias they show to a half's
#: rows. Both are taken to fall as N^(-1/2), as :data:`REMAINS` takes the bias; the gap's noise falls
#: so too. At N = 20,000 and 50,000 (40 seeds of the calibration's tasks), against copies of whole
#: halves, the coverage where reliable moved by at most a point and the median width over the oracle's
#: by at most 7%, but for the strong family's, which the bias on a Gaussian widens: 32% and 46%
#: narrower (docs/benchmarks/calibration.md, "Many rows").
ROWS_SCALE = "scale to a half's rows"


def unexplained(figures: dict[str, float]) -> float:
    """The additivity gap (two copies less the halves' sum) less the part of it the estimator shows on
    a Gaussian (:data:`OWN_GAP`, where it was found), which counts only as far as it goes the gap's way
    and no further: the result is never farther from 0 than the gap; at a half's rows
    (:data:`ROWS_SCALE`)."""
    gap = figures["two copies"] - figures["sum of the halves"]
    own = figures.get(OWN_GAP, 0.0)
    return figures.get(ROWS_SCALE, 1.0) * (gap - min(max(own, min(gap, 0.0)), max(gap, 0.0)))


def gaussian_gap(mi: MI, rows: int, nats: float, seed: int) -> tuple[float, float]:
    """The additivity gap of ``mi`` on one column a side where no feature of the data can cause one:
    on a bivariate normal holding ``nats``, ``2 * rows`` rows put to normal scores as the automatic
    estimates read their data: the estimate of its two halves side by side less theirs, one half each,
    and the halves' mean less ``nats`` (the estimator's bias there).

    A kNN estimate reads further below the truth the more information its neighbours span (Kraskov et
    al. 2004, Gao et al. 2015), and two copies side by side hold twice as much in twice the dimensions,
    so they read less than their halves' sum even where nothing is amiss: on a bivariate normal of 3.1
    nats, about 0.9 nats less at 2,500 rows a half. That gap is the estimator's, as large on any pair
    of columns holding as much; the check counts only what the data show beyond it. Drawn from the
    inference core's ``REFERENCE`` stream under ``seed``."""
    if nats <= 0:
        return 0.0, 0.0
    rho = math.sqrt(-math.expm1(-2 * nats))  # I = -log(1 - rho^2) / 2
    g = torch.from_numpy(inference.rng(seed, inference.REFERENCE, 0).standard_normal((2 * rows, 2)))
    x, y = copula_normal(g[:, :1]), copula_normal(rho * g[:, :1] + math.sqrt(1 - rho**2) * g[:, 1:])
    a, b = slice(0, rows), slice(rows, 2 * rows)
    halves = mi(x[a], y[a]) + mi(x[b], y[b])
    return mi(side_by_side(x[a], x[b]), side_by_side(y[a], y[b])) - halves, halves / 2 - nats


def _ceiling(ceiling: tuple[str, float], value: float, n: int, stderr: float) -> Check:
    """The ceiling check: ``value`` from ``n`` rows exceeds no ``ceiling`` (name, nats) by more than
    the noise; not applicable where the ceiling is infinite (its name says why)."""
    name, top = ceiling
    if math.isinf(top):
        return not_applicable("ceiling", "no MI exceeds what the data can show", name)
    slack = max(_floor(n), 2 * stderr)
    return Check(
        "ceiling",
        value <= top + slack,
        {"estimate": value, name: top},
        f"no MI exceeds {name}",
        slack,
    )


def _unmoved(x: Tensor, y: Tensor) -> str:
    """Why no invertible map of ``x`` and ``y`` can move the estimator's input, in words."""
    kinds = ["one column" if t.is_floating_point() else "labels" for t in (x, y)]
    what = f"x and y are {kinds[0]} each" if kinds[0] == kinds[1] else f"x is {kinds[0]} and y {kinds[1]}"
    read = [
        text
        for kind, text in (("one column", "a column's normal scores"), ("labels", "which rows share a label"))
        if kind in kinds
    ]
    return f"{what}: the estimator reads {' and '.join(read)}, which an invertible map leaves as they are"


def side_by_side(a: Tensor, b: Tensor) -> Tensor:
    """Rows of ``a`` beside rows of ``b`` as one variable: columns side by side, or for integer codes
    one code a pair."""
    if a.is_floating_point():
        return torch.cat([a, b], dim=1)
    return a * (int(b.max()) + 1) + b


def interval(value: float, stderr: float, checks: dict[str, Check], ceiling: float) -> tuple[float, float]:
    """``value`` widened by two standard errors and by the bias the checks reveal: the change from half
    the rows (the estimate's trend with N; :data:`REMAINS` times it may remain at N), half the additivity
    gap beyond the estimator's own (the copies' error is that of two estimates; :func:`unexplained`),
    the estimator's bias on a Gaussian holding as much where the additivity check found it, and the
    change under the invertible map (on a half), each where it was run and each beyond one standard
    error, the sampling error a gap between two estimates carries with no bias at all; that bias on a
    Gaussian, whole on the side it points to (the estimator reading high there, the truth lies below
    its estimate); within [0, ceiling], its top at least its half-width above 0
    (:func:`~iblearn.functional.inference.clipped`: an estimate below 0 is not a certain 0).

    Against labels (the mixed KSG) the same two standard errors hold: the standard error there is at
    least the per-row terms' spread over sqrt(N), which barely moves from one draw to the next (the
    calibration's labels family: docs/benchmarks/calibration.md)."""
    fig = {name: check.figures for name, check in checks.items() if check.passed is not None}

    def excess(gap: float) -> float:
        # Counted whole, a gap's own noise widens the interval beside the standard errors that
        # already hold it (the guide's reliability page gives the widths and coverage).
        return max(0.0, gap - stderr)

    trend = excess(abs(value - fig["half data"]["half"]))
    gap = moved = own = bias = 0.0
    if "additivity" in fig:
        gap = excess(abs(unexplained(fig["additivity"])) / 2)
        bias = fig["additivity"].get(OWN_BIAS, 0.0)
        own = excess(abs(bias))
    if "invariance" in fig:
        moved = excess(abs(fig["invariance"]["mapped"] - fig["invariance"]["half"]))
    width = 2 * stderr + trend + gap + moved + own
    # The rest of the bias on a Gaussian, on its side: over 150 seeds of the calibration's strong tasks
    # (N = 5,000), a bivariate normal of correlation 0.999 held 93% against 87% with the bias beyond one
    # standard error alone, 0.99 97% against 92%, no task lower; its whole on its side alone, without
    # the other side's share, dropped additive uniform noise of 0.01 from 85% to 79%.
    below, above = (abs(bias) - own, 0.0) if bias > 0 else (0.0, abs(bias) - own)
    # An estimate that grows with N is low (kNN estimators' bias is downward in dimension): the truth
    # lies further above it than below.
    up = width + above + (REMAINS * trend if value > fig["half data"]["half"] else 0.0)
    return inference.clipped(value - width - below, value + up, 0.0, ceiling)
