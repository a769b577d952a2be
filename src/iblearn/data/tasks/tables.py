"""The tables of tasks with exact answers, as data: one row a task, its joint distribution named by a
recipe (:func:`build` reads it). The covariances and maps of a task are fixed by its name, the draws by
the sample seed; the order of the rows is the order :func:`~iblearn.data.tasks.exact_tasks` lists."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from iblearn.data.tasks.base import Array, Task, cycle, groups_of, rng_for
from iblearn.data.tasks.discrete import GATES, discrete_task, gate
from iblearn.data.tasks.gaussian import (
    cmi_cov,
    common_cause_cov,
    gaussian_task,
    high_cmi_cov,
    pid_cov,
    random_correlation,
    redundant_cov,
    synergy_cov,
)
from iblearn.data.tasks.mixtures import class_mixture_task, nonlinear_common_cause
from iblearn.data.tasks.series import var_task
from iblearn.data.tasks.student import student_task

#: The covariance (or dispersion) recipes a row names: ``(recipe, *arguments)``.
COVARIANCES: dict[str, Callable[..., Array]] = {
    "cmi": cmi_cov,
    "common-cause": common_cause_cov,
    "high-cmi": high_cmi_cov,
    "random": random_correlation,
    "redundant": redundant_cov,
    "synergy": synergy_cov,
    "pid": pid_cov,
    "identity": np.eye,
}


class Row(NamedTuple):
    """One task of a table.

    ``joint`` names the distribution: ``("gaussian", recipe, *args)``, ``("student", dof, recipe, *args)``,
    ``("t-copula", dof, recipe, *args)`` (a recipe of :data:`COVARIANCES`), ``("gate", name)`` (of
    :data:`~iblearn.data.tasks.discrete.GATES`), ``("classes", name)`` (of :data:`CLASS_MIXTURES`) or
    ``("nonlinear",)``; ``dims`` the widths of its variables, in column order.
    """

    name: str
    measure: str
    joint: tuple[Any, ...]
    dims: tuple[int, ...]
    description: str
    warps: tuple[str, ...] | None = None


def _five_classes() -> list[tuple[Array, Array]]:
    rng = rng_for("cmi-discrete-z-5class-2x2")
    out = []
    for k in range(5):
        c = random_correlation(4, f"cmi-discrete-z-5class-2x2-{k}", 1.0 + 0.5 * k)
        out.append((rng.normal(0, 1.5, 4), c))
    return out


#: Class-wise Gaussians given a discrete Z: ``name: (weights, [(mean, cov) a class], dx, what)``.
CLASS_MIXTURES: dict[str, tuple[list[float], Callable[[], list[tuple[Array, Array]]], int, str]] = {
    "cmi-discrete-z-2class": (
        [0.5, 0.5],
        lambda: [
            (np.array([-1.0, -1.0]), np.array([[1.0, 0.6], [0.6, 1.0]])),
            (np.array([1.0, 1.0]), np.array([[1.0, -0.3], [-0.3, 1.0]])),
        ],
        1,
        "Z in {0, 1}; (X, Y) | Z=k Gaussian with correlation 0.6 or -0.3 and means +-1; truth the "
        "class-weighted sum of the Gaussian MIs",
    ),
    "cmi-discrete-z-3class": (
        [0.2, 0.3, 0.5],
        lambda: [
            (np.array([0.0, 0.0]), np.array([[1.0, 0.9], [0.9, 1.0]])),
            (np.array([2.0, -2.0]), np.array([[1.0, 0.0], [0.0, 1.0]])),
            (np.array([-2.0, 2.0]), np.array([[2.0, -0.8], [-0.8, 1.0]])),
        ],
        1,
        "Z in {0, 1, 2} (0.2, 0.3, 0.5); class-wise Gaussians of correlation 0.9, 0 and -0.57",
    ),
    "cmi-discrete-z-5class-2x2": (
        [1, 1, 1, 1, 1],
        _five_classes,
        2,
        "Z uniform on 5 classes; X, Y 2-dimensional, a random Gaussian per class",
    ),
    "cmi-discrete-z-common-cause-0": (
        [0.25, 0.25, 0.5],
        lambda: [
            (np.array([-2.0, -2.0]), np.eye(2)),
            (np.array([0.0, 0.0]), np.eye(2)),
            (np.array([2.0, 2.0]), np.diag([1.0, 2.0])),
        ],
        1,
        "Z in {0, 1, 2} moves the means of X and Y together: I(X; Y) > 0 but independent within a "
        "class, truth 0",
    ),
}


def _name(prefix: str, dims: Sequence[int], suffix: str = "") -> str:
    return prefix + "x".join(str(d) for d in dims) + suffix


CMI_DIMS = ((1, 1, 1), (1, 1, 3), (2, 2, 2), (3, 3, 3), (1, 1, 10), (2, 2, 5), (5, 5, 5), (10, 10, 10))
WARPED_DIMS = ((1, 1, 1), (2, 2, 2), (3, 3, 3), (1, 1, 3), (5, 5, 5), (2, 2, 5))
WARPED_MAPS = (("cube", "exp", "sinh", "sigmoid"), ("exp", "sinh", "sigmoid"))
_GAUSS = "x = Az + u, y = Bz + w, (u, w) of a fixed random correlation; truth from the four log-determinants"
_STUDENT = "the dispersion of cmi-gauss of these dimensions; the Gaussian part plus e(d) terms"


def _warped(i: int, dims: tuple[int, ...]) -> Row:
    warps = cycle(WARPED_MAPS[i % 2], sum(dims))
    what = f"{_name('cmi-gauss-', dims)} with each column through an invertible map"
    return Row(
        _name("cmi-gauss-", dims, "-warped"),
        "cmi",
        ("gaussian", "cmi", *dims),
        dims,
        f"{what} ({', '.join(sorted(set(warps)))}): the same truth",
        warps,
    )


#: Conditional MI I(X; Y | Z): Gaussians of 1-10 dimensions a variable; the same after invertible maps
#: of each column; Z that explains all the dependence (truth 0); discrete Z (class-wise Gaussian
#: mixtures); Student-t (heavy tails) and t copulas; high CMI (over 3 nats).
CMI_TABLE: tuple[Row, ...] = (
    *(
        Row(
            _name("cmi-gauss-", d),
            "cmi",
            ("gaussian", "cmi", *d),
            d,
            f"Gaussian X, Y, Z of {d} dimensions: {_GAUSS}",
        )
        for d in CMI_DIMS
    ),
    *(_warped(i, d) for i, d in enumerate(WARPED_DIMS)),
    *(
        Row(
            _name("cmi-common-cause-", d, "-0"),
            "cmi",
            ("gaussian", "common-cause", *d, _name("cmi-common-cause-", d, "-0")),
            d,
            "x = Az + u, y = Bz + v: Z explains all the dependence, truth 0",
        )
        for d in ((1, 1, 1), (3, 3, 3), (2, 2, 5))
    ),
    Row("cmi-nonlinear-common-cause-0", "cmi", ("nonlinear",), (1, 1, 1), ""),
    Row(
        "cmi-common-cause-3x3x3-warped-0",
        "cmi",
        ("gaussian", "common-cause", 3, 3, 3, "cmi-common-cause-3x3x3-0"),
        (3, 3, 3),
        "cmi-common-cause-3x3x3-0 with each column warped: truth 0",
        cycle(("exp", "cube", "sinh"), 9),
    ),
    *(Row(name, "cmi", ("classes", name), (), "") for name in CLASS_MIXTURES),
    *(
        Row(
            _name("cmi-student-", d, f"-dof{dof:g}"),
            "cmi",
            ("student", dof, "cmi", *d),
            d,
            f"multivariate Student-t, {dof:g} degrees of freedom, {_STUDENT}",
        )
        for d, dof in (((1, 1, 1), 1.0), ((1, 1, 1), 3.0), ((2, 2, 2), 2.0), ((3, 3, 3), 5.0))
    ),
    Row(
        "cmi-student-2x2x2-dof1-identity",
        "cmi",
        ("student", 1.0, "identity", 6),
        (2, 2, 2),
        "Student-t with identity dispersion, 1 degree of freedom: uncorrelated, dependent "
        "through the shared scale; truth e(4) + e(4) - e(2) - e(6)",
    ),
    *(
        Row(
            _name("cmi-t-copula-", d, f"-dof{dof:g}"),
            "cmi",
            ("t-copula", dof, "cmi", *d),
            d,
            f"a Student-t copula ({dof:g} degrees of freedom) with N(0, 1) margins",
        )
        for d, dof in (((1, 1, 1), 2.0), ((2, 2, 2), 3.0))
    ),
    *(
        Row(
            f"cmi-high-{pairs}pairs-rho{rho:g}",
            "cmi",
            ("gaussian", "high-cmi", pairs, rho, dz, f"cmi-high-{pairs}pairs-rho{rho:g}"),
            (pairs, pairs, dz),
            f"x = Az + u, y = Bz + w, {pairs} pairs (u_i, w_i) at correlation {rho:g}: "
            f"truth {pairs}/2 log(1/(1 - rho^2))",
        )
        for pairs, rho, dz in ((3, 0.97, 2), (1, 0.999, 1), (5, 0.95, 5))
    ),
)


# ------------------------------------------------------------------------------------- transfer entropy
def _pair(a: float, b: float, c_xy: float, c_yx: float = 0.0) -> Array:
    """VAR(1) coefficients of (x, y): x_t = a x_{t-1} + c_yx y_{t-1}, y_t = b y_{t-1} + c_xy x_{t-1}."""
    return np.array([[a, c_yx], [c_xy, b]])


#: The VAR(p) processes (unit noise) of the TE table: their coefficient matrices A_1 .. A_p.
PROCESSES: dict[str, list[Array]] = {
    **{f"var1-c{c:g}": [_pair(0.6, 0.5, c)] for c in (0.1, 0.5, 0.9)},
    "lag3": [np.diag([0.6, 0.5]), np.zeros((2, 2)), np.array([[0.0, 0.0], [0.6, 0.0]])],
    "independent-ar0.9": [np.diag([0.9, 0.9])],
    "bidirectional": [_pair(0.5, 0.4, 0.4, 0.3)],
    # (x, z, y): x drives z, z drives y; "direct": x drives y as well.
    "chain": [np.array([[0.6, 0.0, 0.0], [0.7, 0.5, 0.0], [0.0, 0.7, 0.5]])],
    "direct": [np.array([[0.6, 0.0, 0.0], [0.7, 0.5, 0.0], [0.4, 0.5, 0.5]])],
    "2d": [
        np.array([[0.5, 0.0, 0.0, 0.0], [0.0, 0.4, 0.0, 0.0], [0.5, 0.0, 0.5, 0.0], [-0.3, 0.4, 0.0, 0.3]])
    ],
}


class SeriesRow(NamedTuple):
    """One task of :data:`TE_TABLE` or :data:`AIS_TABLE`: the TE (``"te"``) or conditional TE (``"cte"``)
    of a process of :data:`PROCESSES` from the components ``source`` to ``target`` (given
    ``condition``), or the active information storage (``"ais"``, ``source`` empty) of ``target``."""

    name: str
    measure: str
    process: str
    source: tuple[int, ...]
    target: tuple[int, ...]
    lag: int
    history: int
    description: str
    condition: tuple[int, ...] = ()
    warps: tuple[str, ...] | None = None


_VAR1 = "x_t = 0.6 x_(t-1) + e, y_t = 0.5 y_(t-1) + {:g} x_(t-1) + e': TE x -> y, lag 1"
_BOTH = "x and y drive each other (0.4 x -> y, 0.3 y -> x): TE {}"

#: Transfer entropy of linear Gaussian VAR processes, exact from the stationary covariance for the
#: ``lag`` and ``history`` of :func:`~iblearn.functional.transfer_entropy`: coupled pairs, a coupling at
#: lag 3, coupling 0, both directions, a chain x -> z -> y (conditional TE 0), two-dimensional series
#: and warped series.
TE_TABLE: tuple[SeriesRow, ...] = (
    *(
        SeriesRow(f"te-var1-c{c:g}", "te", f"var1-c{c:g}", (0,), (1,), 1, 1, _VAR1.format(c))
        for c in (0.1, 0.5, 0.9)
    ),
    SeriesRow(
        "te-var1-c0.5-reverse-0", "te", "var1-c0.5", (1,), (0,), 1, 1,
        "te-var1-c0.5 in the direction y -> x, which does not act: truth 0",
    ),
    SeriesRow(
        "te-var1-c0.5-history2", "te", "var1-c0.5", (0,), (1,), 1, 2,
        "te-var1-c0.5 with two past target samples conditioned on",
    ),
    SeriesRow(
        "te-lag3", "te", "lag3", (0,), (1,), 3, 1, "y_t = 0.5 y_(t-1) + 0.6 x_(t-3) + e': TE x -> y at lag 3"
    ),
    SeriesRow(
        "te-lag3-at-lag1", "te", "lag3", (0,), (1,), 1, 1,
        "te-lag3 read at lag 1: the autocorrelated x_(t-1) tells of x_(t-3); a smaller truth",
    ),
    SeriesRow(
        "te-independent-ar0.9-0", "te", "independent-ar0.9", (0,), (1,), 1, 1,
        "two independent AR(1) series at 0.9: coupling 0, truth 0",
    ),
    SeriesRow("te-bidirectional-xy", "te", "bidirectional", (0,), (1,), 1, 1, _BOTH.format("x -> y")),
    SeriesRow("te-bidirectional-yx", "te", "bidirectional", (1,), (0,), 1, 1, _BOTH.format("y -> x")),
    SeriesRow(
        "te-chain-x-to-y", "te", "chain", (0,), (2,), 2, 1,
        "chain x -> z -> y; the TE x -> y at lag 2, through z",
    ),
    SeriesRow(
        "te-chain-given-z-0", "cte", "chain", (0,), (2,), 2, 1,
        "chain x -> z -> y; the TE x -> y given z's past: truth 0 (x acts only through z)",
        condition=(1,),
    ),
    SeriesRow(
        "te-chain-direct-given-z", "cte", "direct", (0,), (2,), 1, 1,
        "x drives y directly (0.4) and through z; the TE x -> y given z's past",
        condition=(1,),
    ),
    SeriesRow(
        "te-2d-series", "te", "2d", (0, 1), (2, 3), 1, 1,
        "two-dimensional source and target series of a VAR(1)",
    ),
    SeriesRow(
        "te-var1-c0.5-warped", "te", "var1-c0.5", (0,), (1,), 1, 1,
        "te-var1-c0.5 with the source through exp and the target cubed: the same truth",
        warps=("exp", "cube"),
    ),
    SeriesRow(
        "te-lag3-warped", "te", "lag3", (0,), (1,), 3, 1,
        "te-lag3 with the source through sinh(2x) and the target through exp: the same truth",
        warps=("sinh", "exp"),
    ),
)  # fmt: skip


#: Active information storage of components of the same processes, exact from their stationary
#: covariance for the ``history`` of
#: :func:`~iblearn.functional.information_dynamics.active_information_storage`: an AR(1) alone (a longer
#: history adds nothing), a series driven by another (its own past tells less than the pair's does), a
#: coupling at lag 3 read with three past samples, the end of a chain and warped series (the same
#: truths: a monotone map of a series changes none).
AIS_TABLE: tuple[SeriesRow, ...] = tuple(
    SeriesRow(name, "ais", process, (), target, 1, history, description, warps=warps)
    for name, process, target, history, description, warps in (
        ("ais-ar0.9", "independent-ar0.9", (0,), 1, "x_t = 0.9 x_(t-1) + e", None),
        ("ais-ar0.9-history2", "independent-ar0.9", (0,), 2, "ais-ar0.9, a second past step: no more", None),
        ("ais-var1-x", "var1-c0.5", (0,), 1, "x of te-var1-c0.5, an AR(1) at 0.6", None),
        ("ais-var1-y", "var1-c0.5", (1,), 1, "y of te-var1-c0.5, driven by x", None),
        ("ais-var1-y-history3", "var1-c0.5", (1,), 3, "ais-var1-y with three past steps", None),
        ("ais-lag3-y-history3", "lag3", (1,), 3, "y of te-lag3 (x acts at lag 3), three past steps", None),
        ("ais-bidirectional-x-history2", "bidirectional", (0,), 2, "x of te-bidirectional-xy", None),
        ("ais-chain-y-history2", "chain", (2,), 2, "y of the chain x -> z -> y, two past steps", None),
        ("ais-ar0.9-warped", "independent-ar0.9", (0,), 1, "ais-ar0.9 cubed", ("cube", "none")),
        ("ais-var1-y-history3-warped", "var1-c0.5", (1,), 3, "ais-var1-y-history3, exp", ("none", "exp")),
    )
)  # fmt: skip


# --------------------------------------------------------------------------------------- multivariate
_CLOSED = "{} Gaussian variables, a fixed random correlation; the closed form from the log-determinants"
_PID = "Gaussian sources, univariate target; the minimum-MI PID (Barrett 2015) from the covariance"


def _ones(m: int) -> tuple[int, ...]:
    return (1,) * m


#: Discrete systems (dit's gates) and the measures of each in the table.
SYSTEMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("xor", ("tc", "dtc", "o", "s", "ii", "pid-synergy")),
    ("and", ("tc", "ii", "pid-redundancy", "pid-synergy")),
    ("or", ("pid-synergy",)),
    ("copy", ("tc", "pid-redundancy")),
    ("rdn", ("o", "pid-redundancy")),
    ("unq", ("pid-unique-1",)),
    ("sum", ("ii", "pid-synergy")),
    ("rdnxor", ("pid-redundancy", "pid-synergy")),
)
#: Gaussian systems for the minimum-MI PID: ``(name, covariance recipe, dims, parts)``.
PID_SYSTEMS: tuple[tuple[str, tuple[Any, ...], tuple[int, ...], tuple[str, ...]], ...] = (
    ("pid-gauss-sum", ("pid", 0.0, 1.0, 1.0, 0.5), (1, 1, 1), ("pid-redundancy", "pid-synergy")),
    (
        "pid-gauss-correlated",
        ("pid", 0.5, 1.0, 0.5, 0.5),
        (1, 1, 1),
        ("pid-redundancy", "pid-unique-1", "pid-synergy"),
    ),
    ("pid-gauss-second", ("pid", 0.3, 0.3, 1.0, 0.7), (1, 1, 1), ("pid-unique-2",)),
    # two 2-dimensional sources, a random joint with the target
    ("pid-gauss-2d-sources", ("random", 5, "pid-gauss-2d-sources", 1.5), (2, 2, 1), ("pid-synergy",)),
)

#: TC, DTC, O-, S- and interaction information of Gaussian systems (random, redundancy- and
#: synergy-dominated, 3-10 variables, blocks, warped); the MMI PID of Gaussian sources with a univariate
#: target (Barrett 2015, exact from the covariance); discrete systems (dit's gates, parity, copies) by
#: sums over their pmf, the arrays int64 labels.
MULTIVARIATE_TABLE: tuple[Row, ...] = (
    *(
        Row(
            f"{measure}-gauss-{m}", measure, ("gaussian", "random", m, f"multi-gauss-{m}", 1.5), _ones(m),
            _CLOSED.format(m),
        )
        for m, measures in ((3, ("tc", "dtc", "o", "s", "ii")), (5, ("tc", "dtc", "o", "s")), (8, ("o",)))
        for measure in measures
    ),
    *(
        row
        for m in (3, 5, 10)
        for row in (
            Row(
                f"o-redundant-{m}", "o", ("gaussian", "redundant", m, 1.0), _ones(m),
                f"{m} noisy copies x_i = s + e_i of one Gaussian source: redundancy, O > 0",
            ),
            Row(
                f"o-synergy-{m}", "o", ("gaussian", "synergy", m, 0.5), _ones(m),
                f"{m - 1} independent Gaussians and their sum + 0.5 e: synergy, O < 0",
            ),
        )
    ),
    Row(
        "tc-redundant-10", "tc", ("gaussian", "redundant", 10, 1.0), _ones(10),
        "10 noisy copies of one source",
    ),
    Row(
        "dtc-synergy-5", "dtc", ("gaussian", "synergy", 5, 0.5), _ones(5),
        "4 independent Gaussians and their sum"
    ),
    Row("s-redundant-5", "s", ("gaussian", "redundant", 5, 1.0), _ones(5), "5 noisy copies of one source"),
    Row(
        "ii-synergy-3", "ii", ("gaussian", "synergy", 3, 0.5), _ones(3), "x, y independent, z = x + y + 0.5 e"
    ),
    Row(
        "ii-redundant-3", "ii", ("gaussian", "redundant", 3, 1.0), _ones(3),
        "three noisy copies of one source"
    ),
    Row(
        "o-gauss-5-warped", "o", ("gaussian", "random", 5, "multi-gauss-5", 1.5), _ones(5),
        "o-gauss-5 with each column warped (same truth)", cycle(("cube", "exp", "sinh", "sigmoid"), 5),
    ),
    Row(
        "tc-gauss-5-warped", "tc", ("gaussian", "random", 5, "multi-gauss-5", 1.5), _ones(5),
        "tc-gauss-5 with each column warped (same truth)", cycle(("exp", "sinh", "cube"), 5),
    ),
    Row(
        "o-redundant-5-warped", "o", ("gaussian", "redundant", 5, 1.0), _ones(5),
        "o-redundant-5 with each column warped", cycle(("exp", "cube", "sigmoid"), 5),
    ),
    Row(
        "ii-synergy-3-warped", "ii", ("gaussian", "synergy", 3, 0.5), _ones(3),
        "ii-synergy-3 with x, y, z warped", ("cube", "exp", "sinh"),
    ),
    *(
        Row(
            f"{measure}-gauss-blocks-3x2", measure, ("gaussian", "random", 6, "multi-gauss-blocks-3x2", 1.5),
            (2, 2, 2), "three variables of two columns each (blocks), a fixed random correlation",
        )
        for measure in ("tc", "o")
    ),
    *(
        Row(f"{name}-{part.removeprefix('pid-')}", part, ("gaussian", *recipe), dims, _PID)
        for name, recipe, dims, parts in PID_SYSTEMS
        for part in parts
    ),
    *(
        Row(
            f"{measure}-discrete-{name}", measure, ("gate", name), (1, 1, 1),
            f"dit's {name.upper()} distribution: {GATES[name][2]}; truth by sums over the pmf",
        )
        for name, measures in SYSTEMS
        for measure in measures
    ),
    *(
        Row(
            f"{measure}-discrete-parity-5", measure, ("gate", "parity-5"), _ones(5),
            "4 uniform bits and their parity: synergy of 5 variables",
        )
        for measure in ("o", "tc")
    ),
    Row(
        "o-discrete-copies-5", "o", ("gate", "copies-5"), _ones(5),
        "5 copies of one bit: redundancy of 5 variables",
    ),
)  # fmt: skip


# ------------------------------------------------------------------------------------------ the reader
def build(row: Row | SeriesRow) -> Task:
    """The task a row of a table describes."""
    if isinstance(row, SeriesRow):
        return var_task(
            row.name,
            row.measure,
            PROCESSES[row.process],
            row.source,
            row.target,
            row.lag,
            row.history,
            row.description,
            row.condition,
            row.warps,
        )
    kind, *args = row.joint
    groups = groups_of(*row.dims)
    if kind == "gaussian":
        cov = COVARIANCES[args[0]](*args[1:])
        return gaussian_task(row.name, row.measure, cov, groups, row.description, row.warps)
    if kind in ("student", "t-copula"):
        disp = COVARIANCES[args[1]](*args[2:])
        copula = kind == "t-copula"
        return student_task(
            row.name, row.measure, disp, args[0], groups, row.description, normal_margins=copula
        )
    if kind == "gate":
        outcomes, probs = gate(*GATES[args[0]][:2])
        return discrete_task(row.name, row.measure, outcomes, probs, groups, row.description)
    if kind == "classes":
        weights, classes, dx, what = CLASS_MIXTURES[row.name]
        return class_mixture_task(row.name, weights, classes(), dx, what)
    if kind == "nonlinear":
        return nonlinear_common_cause()
    raise ValueError(f"row: unknown joint {kind!r} in {row.name!r}")


def expand(rows: Sequence[Row | SeriesRow]) -> list[Task]:
    """The tasks of ``rows``, in order."""
    return [build(row) for row in rows]
