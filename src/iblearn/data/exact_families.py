"""The four families of :mod:`iblearn.data.exact_tasks`: conditional MI, transfer entropy, the
multivariate measures and MI. Each function returns its tasks in a fixed order; the covariances and
maps of a task are fixed by its name, the draws by the sample seed.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from iblearn.data import _exact_math as M
from iblearn.data.exact_task import (
    Array,
    ExactTask,
    _cycle,
    _rng_for,
    _warp,
    discrete_task,
    embed,
    gaussian_task,
    student_task,
)


def _random_correlation(d: int, name: str, strength: float) -> Array:
    """A fixed random correlation matrix: ``A A' + I`` normalized, A of entries N(0, strength^2 / d)."""
    a = _rng_for(name).standard_normal((d, d)) * strength / math.sqrt(d)
    cov = a @ a.T + np.eye(d)
    s = np.sqrt(np.diag(cov))
    return cov / np.outer(s, s)


def _groups(*dims: int) -> list[list[int]]:
    edges = np.cumsum([0, *dims]).tolist()
    return [list(range(a, b)) for a, b in itertools.pairwise(edges)]


# -------------------------------------------------------------------------------------- conditional MI
CMI_DIMS = ((1, 1, 1), (1, 1, 3), (2, 2, 2), (3, 3, 3), (1, 1, 10), (2, 2, 5), (5, 5, 5), (10, 10, 10))
WARPED_DIMS = ((1, 1, 1), (2, 2, 2), (3, 3, 3), (1, 1, 3), (5, 5, 5), (2, 2, 5))


def _cmi_cov(dx: int, dy: int, dz: int) -> Array:
    """x = A z + u, y = B z + w, z ~ N(0, I): (u, w) a fixed random correlation R, so that I(X; Y | Z)
    is the MI of R between u and w, and A, B of entries N(0, 1 / dz)."""
    name = f"cmi-gauss-{dx}x{dy}x{dz}"
    rng = _rng_for(name)
    load = np.vstack([rng.standard_normal((dx + dy, dz)) / math.sqrt(dz), np.eye(dz)])
    cov = load @ load.T
    cov[: dx + dy, : dx + dy] += _random_correlation(dx + dy, name, 2.0)
    return cov


def _common_cause_cov(dx: int, dy: int, dz: int, name: str) -> Array:
    """x = A z + u, y = B z + v with u, v, z independent: I(X; Y | Z) = 0, I(X; Y) > 0."""
    rng = _rng_for(name)
    a, b = rng.standard_normal((dx, dz)), rng.standard_normal((dy, dz))
    load = np.vstack([a, b, np.eye(dz)])
    cov = load @ load.T
    cov[: dx + dy, : dx + dy] += np.eye(dx + dy)
    return cov


def _high_cmi_cov(pairs: int, rho: float, dz: int, name: str) -> Array:
    """x = A z + u, y = B z + w, each (u_i, w_i) at correlation rho: I(X; Y | Z) = -pairs/2 log(1 - rho^2)."""
    rng = _rng_for(name)
    a, b = rng.standard_normal((pairs, dz)), rng.standard_normal((pairs, dz))
    noise = np.block([[np.eye(pairs), rho * np.eye(pairs)], [rho * np.eye(pairs), np.eye(pairs)]])
    load = np.vstack([a, b, np.eye(dz)])
    cov = load @ load.T
    cov[: 2 * pairs, : 2 * pairs] += noise
    return cov


def _entropy_of(cov: Array, cols: tuple[int, ...]) -> float:
    return M.gaussian_entropy(cov, cols)


def _class_mixture_task(
    name: str, weights: Sequence[float], classes: Sequence[tuple[Array, Array]], dx: int, description: str
) -> ExactTask:
    """Discrete Z: Z = k with probability ``weights[k]``, then (X, Y) ~ N(mean_k, cov_k), X the first
    ``dx`` coordinates. I(X; Y | Z) = sum_k w_k I_k, I_k the Gaussian MI within class k: a sum."""
    w = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    d = classes[0][1].shape[0]
    groups = [list(range(dx)), list(range(dx, d))]
    terms = M.entropy_terms("mi", groups)
    per_class = [M.measure_value(terms, functools.partial(_entropy_of, cov)) for _, cov in classes]
    truth = float(np.dot(w, per_class))
    chols = [np.linalg.cholesky(cov) for _, cov in classes]

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        z = rng.choice(len(w), size=n, p=w)
        v = rng.standard_normal((n, d))
        out = np.empty((n, d))
        for k, ((mean, _), chol) in enumerate(zip(classes, chols, strict=True)):
            rows = z == k
            out[rows] = v[rows] @ chol.T + mean
        return out[:, :dx], out[:, dx:], z.astype(np.int64)

    def pointwise(x: Any, y: Any, z: Any) -> Array:
        v = np.hstack([np.asarray(x).reshape(len(x), -1), np.asarray(y).reshape(len(y), -1)])
        z = np.asarray(z)
        out = np.zeros(len(v))
        for k, (mean, cov) in enumerate(classes):
            rows = z == k
            if rows.any():

                def logpdf(cols: tuple[int, ...], r: Any = rows, m: Any = mean, c: Any = cov) -> Array:
                    idx = list(cols)
                    return M.gaussian_logpdf(v[r][:, idx], c[np.ix_(idx, idx)], m[idx])

                out[rows] = M.pointwise_value(terms, logpdf)
        return out

    return ExactTask(name, "cmi", "cmi", truth, description, sampler, (2,), {}, pointwise)


def _nonlinear_common_cause() -> ExactTask:
    """x = sin(2 z) + 0.3 u, y = z^2 + 0.3 v, z, u, v independent N(0, 1): X and Y are conditionally
    independent given Z (truth 0) yet strongly dependent, and not linearly through z."""

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        z, u, v = rng.standard_normal((3, n, 1))
        return np.sin(2 * z) + 0.3 * u, z**2 + 0.3 * v, z

    def pointwise(x: Any, y: Any, z: Any) -> Array:
        return np.zeros(len(x))  # p(x, y | z) = p(x | z) p(y | z) by construction

    return ExactTask(
        "cmi-nonlinear-common-cause-0",
        "cmi",
        "cmi",
        0.0,
        "x = sin(2z) + 0.3u, y = z^2 + 0.3v: conditionally independent given z (truth 0), dependent "
        "through a "
        "non-linear z, which a linear regression on z does not remove",
        sampler,
        (),
        {},
        pointwise,
    )


def cmi_tasks() -> list[ExactTask]:
    """Conditional MI I(X; Y | Z): Gaussians of 1-10 dimensions a variable; the same after invertible
    maps of each column; Z that explains all the dependence (truth 0); discrete Z (class-wise Gaussian
    mixtures); Student-t (heavy tails) and t copulas; high CMI (over 3 nats)."""
    tasks = []
    for dims in CMI_DIMS:
        name = "cmi-gauss-{}x{}x{}".format(*dims)
        tasks.append(
            gaussian_task(
                name,
                "cmi",
                "cmi",
                _cmi_cov(*dims),
                _groups(*dims),
                f"Gaussian X, Y, Z of {dims} dimensions: x = Az + u, y = Bz + w, (u, w) of "
                "a fixed random correlation; truth from the four log-determinants",
            )
        )
    for i, dims in enumerate(WARPED_DIMS):
        d = sum(dims)
        warps = _cycle(("cube", "exp", "sinh", "sigmoid")[i % 2 :], d)
        name = "cmi-gauss-{}x{}x{}-warped".format(*dims)
        tasks.append(
            gaussian_task(
                name,
                "cmi",
                "cmi",
                _cmi_cov(*dims),
                _groups(*dims),
                f"cmi-gauss-{dims[0]}x{dims[1]}x{dims[2]} with each column through an invertible "
                f"map ({', '.join(sorted(set(warps)))}): the same truth",
                warps,
            )
        )
    for dims in ((1, 1, 1), (3, 3, 3), (2, 2, 5)):
        name = "cmi-common-cause-{}x{}x{}-0".format(*dims)
        tasks.append(
            gaussian_task(
                name,
                "cmi",
                "cmi",
                _common_cause_cov(*dims, name),
                _groups(*dims),
                "x = Az + u, y = Bz + v: Z explains all the dependence, truth 0",
            )
        )
    tasks.append(_nonlinear_common_cause())
    name = "cmi-common-cause-3x3x3-warped-0"
    tasks.append(
        gaussian_task(
            name,
            "cmi",
            "cmi",
            _common_cause_cov(3, 3, 3, "cmi-common-cause-3x3x3-0"),
            _groups(3, 3, 3),
            "cmi-common-cause-3x3x3-0 with each column warped: truth 0",
            _cycle(("exp", "cube", "sinh"), 9),
        )
    )
    # Discrete Z: class-wise Gaussians whose means move with the class (dependence through Z).
    tasks.append(
        _class_mixture_task(
            "cmi-discrete-z-2class",
            [0.5, 0.5],
            [
                (np.array([-1.0, -1.0]), np.array([[1.0, 0.6], [0.6, 1.0]])),
                (np.array([1.0, 1.0]), np.array([[1.0, -0.3], [-0.3, 1.0]])),
            ],
            1,
            "Z in {0, 1}; (X, Y) | Z=k Gaussian with correlation 0.6 or -0.3 and means +-1; truth the "
            "class-weighted "
            "sum of the Gaussian MIs",
        )
    )
    tasks.append(
        _class_mixture_task(
            "cmi-discrete-z-3class",
            [0.2, 0.3, 0.5],
            [
                (np.array([0.0, 0.0]), np.array([[1.0, 0.9], [0.9, 1.0]])),
                (np.array([2.0, -2.0]), np.array([[1.0, 0.0], [0.0, 1.0]])),
                (np.array([-2.0, 2.0]), np.array([[2.0, -0.8], [-0.8, 1.0]])),
            ],
            1,
            "Z in {0, 1, 2} (0.2, 0.3, 0.5); class-wise Gaussians of correlation 0.9, 0 and -0.57",
        )
    )
    rng = _rng_for("cmi-discrete-z-5class-2x2")
    five = []
    for k in range(5):
        c = _random_correlation(4, f"cmi-discrete-z-5class-2x2-{k}", 1.0 + 0.5 * k)
        five.append((rng.normal(0, 1.5, 4), c))
    tasks.append(
        _class_mixture_task(
            "cmi-discrete-z-5class-2x2",
            [1, 1, 1, 1, 1],
            five,
            2,
            "Z uniform on 5 classes; X, Y 2-dimensional, a random Gaussian per class",
        )
    )
    tasks.append(
        _class_mixture_task(
            "cmi-discrete-z-common-cause-0",
            [0.25, 0.25, 0.5],
            [
                (np.array([-2.0, -2.0]), np.eye(2)),
                (np.array([0.0, 0.0]), np.eye(2)),
                (np.array([2.0, 2.0]), np.diag([1.0, 2.0])),
            ],
            1,
            "Z in {0, 1, 2} moves the means of X and Y together: I(X; Y) > 0 but independent within a "
            "class, truth 0",
        )
    )
    # Heavy tails: multivariate Student-t (and t copulas with Gaussian margins).
    for dims, dof in (((1, 1, 1), 1.0), ((1, 1, 1), 3.0), ((2, 2, 2), 2.0), ((3, 3, 3), 5.0)):
        disp = _cmi_cov(*dims)
        name = "cmi-student-{}x{}x{}-dof{:g}".format(*dims, dof)
        tasks.append(
            student_task(
                name,
                "cmi",
                "cmi",
                disp,
                dof,
                _groups(*dims),
                f"multivariate Student-t, {dof:g} degrees of freedom, the dispersion of "
                "cmi-gauss of these dimensions; the Gaussian part plus e(d) terms",
            )
        )
    tasks.append(
        student_task(
            "cmi-student-2x2x2-dof1-identity",
            "cmi",
            "cmi",
            np.eye(6),
            1.0,
            _groups(2, 2, 2),
            "Student-t with identity dispersion, 1 degree of freedom: uncorrelated, dependent "
            "through the shared scale; truth e(4) + e(4) - e(2) - e(6)",
        )
    )
    for dims, dof in (((1, 1, 1), 2.0), ((2, 2, 2), 3.0)):
        name = "cmi-t-copula-{}x{}x{}-dof{:g}".format(*dims, dof)
        tasks.append(
            student_task(
                name,
                "cmi",
                "cmi",
                _cmi_cov(*dims),
                dof,
                _groups(*dims),
                f"a Student-t copula ({dof:g} degrees of freedom) with N(0, 1) margins",
                normal_margins=True,
            )
        )
    for pairs, rho, dz in ((3, 0.97, 2), (1, 0.999, 1), (5, 0.95, 5)):
        name = f"cmi-high-{pairs}pairs-rho{rho:g}"
        tasks.append(
            gaussian_task(
                name,
                "cmi",
                "cmi",
                _high_cmi_cov(pairs, rho, dz, name),
                _groups(pairs, pairs, dz),
                f"x = Az + u, y = Bz + w, {pairs} pairs (u_i, w_i) at correlation {rho:g}: "
                f"truth {pairs}/2 log(1/(1 - rho^2))",
            )
        )
    return tasks


# ------------------------------------------------------------------------------------- transfer entropy
def var_task(
    name: str,
    measure: str,
    coefs: Sequence[Array],
    noise: Array,
    source: Sequence[int],
    target: Sequence[int],
    lag: int,
    history: int,
    description: str,
    condition: Sequence[int] = (),
    warps: Sequence[str] | None = None,
) -> ExactTask:
    """Transfer entropy (``"te"``) or conditional TE (``"cte"``) of a stationary linear Gaussian VAR(p)
    between its components ``source`` and ``target`` (given ``condition``): the CMI of the Gaussian
    whose covariance is read from the process's autocovariances (:func:`~._exact_math.var_autocovariances`,
    the discrete Lyapunov equation), over the samples :func:`~.exact_tasks.te_samples` builds."""
    coefs = [np.asarray(a, dtype=np.float64) for a in coefs]
    noise = np.asarray(noise, dtype=np.float64)
    d = noise.shape[0]
    warps = tuple(warps or ("none",) * d)
    picks = [(c, 0) for c in target] + [(c, lag) for c in source]
    picks += [(c, j) for j in range(1, history + 1) for c in target]
    picks += [(c, j) for j in range(1, history + 1) for c in condition]
    gammas = M.var_autocovariances(coefs, noise, max(lag, history))
    cov = M.lagged_covariance(gammas, picks)
    ds, dt = len(source), len(target)
    groups = [list(range(dt)), list(range(dt, dt + ds)), list(range(dt + ds, len(picks)))]
    terms = M.entropy_terms("cmi", groups)
    truth = M.measure_value(terms, lambda cols: M.gaussian_entropy(cov, cols))
    parts = [list(source), list(target)] + ([list(condition)] if measure == "cte" else [])
    start = max(lag, history)

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        series = _warp(M.simulate_var(coefs, noise, n + start, rng), warps)
        return tuple(series[:, p] for p in parts)

    def pointwise(*series: Any) -> Array:
        raw = [
            _warp(np.asarray(s, dtype=np.float64).reshape(len(s), -1), [warps[c] for c in p], inverse=True)
            for s, p in zip(series, parts, strict=True)
        ]
        v = np.hstack(embed(raw, lag, history))
        return M.pointwise_value(
            terms, lambda cols: M.gaussian_logpdf(v[:, list(cols)], cov[np.ix_(cols, cols)])
        )

    options = {"lag": lag, "history": history}
    return ExactTask(name, "te", measure, truth, description, sampler, (), options, pointwise)


def _pair(a: float, b: float, c_xy: float, c_yx: float = 0.0) -> Array:
    """VAR(1) coefficients of (x, y): x_t = a x_{t-1} + c_yx y_{t-1}, y_t = b y_{t-1} + c_xy x_{t-1}."""
    return np.array([[a, c_yx], [c_xy, b]])


def te_tasks() -> list[ExactTask]:
    """Transfer entropy of linear Gaussian VAR processes (unit noise), exact from the stationary
    covariance for the ``lag`` and ``history`` of :func:`~iblearn.functional.transfer_entropy`: coupled
    pairs, a coupling at lag 3, coupling 0, both directions, a chain x -> z -> y (conditional TE 0),
    two-dimensional series and warped series."""
    eye2, eye3 = np.eye(2), np.eye(3)
    tasks = []
    for c in (0.1, 0.5, 0.9):
        tasks.append(
            var_task(
                f"te-var1-c{c:g}",
                "te",
                [_pair(0.6, 0.5, c)],
                eye2,
                [0],
                [1],
                1,
                1,
                f"x_t = 0.6 x_(t-1) + e, y_t = 0.5 y_(t-1) + {c:g} x_(t-1) + e': TE x -> y, lag 1",
            )
        )
    tasks.append(
        var_task(
            "te-var1-c0.5-reverse-0",
            "te",
            [_pair(0.6, 0.5, 0.5)],
            eye2,
            [1],
            [0],
            1,
            1,
            "te-var1-c0.5 in the direction y -> x, which does not act: truth 0",
        )
    )
    tasks.append(
        var_task(
            "te-var1-c0.5-history2",
            "te",
            [_pair(0.6, 0.5, 0.5)],
            eye2,
            [0],
            [1],
            1,
            2,
            "te-var1-c0.5 with two past target samples conditioned on",
        )
    )
    lag3 = [np.diag([0.6, 0.5]), np.zeros((2, 2)), np.array([[0.0, 0.0], [0.6, 0.0]])]
    tasks.append(
        var_task(
            "te-lag3",
            "te",
            lag3,
            eye2,
            [0],
            [1],
            3,
            1,
            "y_t = 0.5 y_(t-1) + 0.6 x_(t-3) + e': TE x -> y at lag 3",
        )
    )
    tasks.append(
        var_task(
            "te-lag3-at-lag1",
            "te",
            lag3,
            eye2,
            [0],
            [1],
            1,
            1,
            "te-lag3 read at lag 1: the autocorrelated x_(t-1) tells of x_(t-3); a smaller truth",
        )
    )
    tasks.append(
        var_task(
            "te-independent-ar0.9-0",
            "te",
            [np.diag([0.9, 0.9])],
            eye2,
            [0],
            [1],
            1,
            1,
            "two independent AR(1) series at 0.9: coupling 0, truth 0",
        )
    )
    both = [_pair(0.5, 0.4, 0.4, 0.3)]
    tasks.append(
        var_task(
            "te-bidirectional-xy",
            "te",
            both,
            eye2,
            [0],
            [1],
            1,
            1,
            "x and y drive each other (0.4 x -> y, 0.3 y -> x): TE x -> y",
        )
    )
    tasks.append(
        var_task(
            "te-bidirectional-yx",
            "te",
            both,
            eye2,
            [1],
            [0],
            1,
            1,
            "x and y drive each other (0.4 x -> y, 0.3 y -> x): TE y -> x",
        )
    )
    # (x, z, y): x drives z, z drives y.
    chain = [np.array([[0.6, 0.0, 0.0], [0.7, 0.5, 0.0], [0.0, 0.7, 0.5]])]
    tasks.append(
        var_task(
            "te-chain-x-to-y",
            "te",
            chain,
            eye3,
            [0],
            [2],
            2,
            1,
            "chain x -> z -> y; the TE x -> y at lag 2, through z",
        )
    )
    tasks.append(
        var_task(
            "te-chain-given-z-0",
            "cte",
            chain,
            eye3,
            [0],
            [2],
            2,
            1,
            "chain x -> z -> y; the TE x -> y given z's past: truth 0 (x acts only through z)",
            condition=[1],
        )
    )
    direct = [np.array([[0.6, 0.0, 0.0], [0.7, 0.5, 0.0], [0.4, 0.5, 0.5]])]
    tasks.append(
        var_task(
            "te-chain-direct-given-z",
            "cte",
            direct,
            eye3,
            [0],
            [2],
            1,
            1,
            "x drives y directly (0.4) and through z; the TE x -> y given z's past",
            condition=[1],
        )
    )
    four = np.diag([0.5, 0.4, 0.5, 0.3])
    four[2, 0], four[3, 1], four[3, 0] = 0.5, 0.4, -0.3
    tasks.append(
        var_task(
            "te-2d-series",
            "te",
            [four],
            np.eye(4),
            [0, 1],
            [2, 3],
            1,
            1,
            "two-dimensional source and target series of a VAR(1)",
        )
    )
    tasks.append(
        var_task(
            "te-var1-c0.5-warped",
            "te",
            [_pair(0.6, 0.5, 0.5)],
            eye2,
            [0],
            [1],
            1,
            1,
            "te-var1-c0.5 with the source through exp and the target cubed: the same truth",
            warps=("exp", "cube"),
        )
    )
    tasks.append(
        var_task(
            "te-lag3-warped",
            "te",
            lag3,
            eye2,
            [0],
            [1],
            3,
            1,
            "te-lag3 with the source through sinh(2x) and the target through exp: the same truth",
            warps=("sinh", "exp"),
        )
    )
    return tasks


# --------------------------------------------------------------------------------------- multivariate
def _redundant_cov(m: int, noise: float) -> Array:
    """m noisy copies of one source, x_i = s + noise e_i."""
    return np.ones((m, m)) + noise**2 * np.eye(m)


def _synergy_cov(m: int, noise: float) -> Array:
    """x_1 .. x_(m-1) independent N(0, 1), x_m = their sum + noise e."""
    load = np.vstack([np.eye(m - 1), np.ones((1, m - 1))])
    cov = load @ load.T
    cov[-1, -1] += noise**2
    return cov


def _pid_cov(r: float, a: float, b: float, noise: float) -> Array:
    """Sources x1, x2 at correlation r, target t = a x1 + b x2 + noise e."""
    sources = np.array([[1.0, r], [r, 1.0]])
    w = np.array([a, b])
    cross = sources @ w
    return np.block([[sources, cross[:, None]], [cross[None, :], np.array([[w @ sources @ w + noise**2]])]])


def _bits(n: int) -> Array:
    return np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.int64)


def _gate(f: Callable[[Array], Array], n_bits: int) -> tuple[Array, Array]:
    """Outcomes ``f(bits)`` of ``n_bits`` uniform bits, each with probability 2^-n_bits."""
    bits = _bits(n_bits)
    return f(bits), np.full(len(bits), 1.0 / len(bits))


GATES: dict[str, tuple[Callable[[Array], Array], int, str]] = {
    "xor": (lambda b: np.c_[b[:, 0], b[:, 1], b[:, 0] ^ b[:, 1]], 2, "Y = X1 xor X2"),
    "and": (lambda b: np.c_[b[:, 0], b[:, 1], b[:, 0] & b[:, 1]], 2, "Y = X1 and X2"),
    "or": (lambda b: np.c_[b[:, 0], b[:, 1], b[:, 0] | b[:, 1]], 2, "Y = X1 or X2"),
    "copy": (lambda b: np.c_[b[:, 0], b[:, 1], 2 * b[:, 0] + b[:, 1]], 2, "Y = (X1, X2), four symbols"),
    "rdn": (lambda b: np.c_[b[:, 0], b[:, 0], b[:, 0]], 1, "X1 = X2 = Y, one bit"),
    "unq": (lambda b: np.c_[b[:, 0], b[:, 1], b[:, 0]], 2, "Y = X1, X2 independent"),
    "sum": (lambda b: np.c_[b[:, 0], b[:, 1], b[:, 0] + b[:, 1]], 2, "Y = X1 + X2 in {0, 1, 2}"),
    "rdnxor": (
        lambda b: np.c_[2 * b[:, 0] + b[:, 1], 2 * b[:, 0] + b[:, 2], 2 * b[:, 0] + (b[:, 1] ^ b[:, 2])],
        3,
        "X1 = (r, a), X2 = (r, b), Y = (r, a xor b): one bit redundant, one synergistic",
    ),
}


def multivariate_tasks() -> list[ExactTask]:
    """TC, DTC, O-, S- and interaction information of Gaussian systems (random, redundancy- and
    synergy-dominated, 3-10 variables, blocks, warped); the MMI PID of Gaussian sources with a univariate
    target (Barrett 2015, exact from the covariance); discrete systems (dit's gates, parity, copies) by
    sums over their pmf, the arrays int64 labels."""
    tasks = []

    def gauss(
        name: str,
        measure: str,
        cov: Array,
        groups: list[list[int]],
        what: str,
        warps: Sequence[str] | None = None,
    ) -> None:
        tasks.append(gaussian_task(name, "multivariate", measure, cov, groups, what, warps))

    one = _groups
    sizes: list[tuple[int, tuple[str, ...]]] = [
        (3, ("tc", "dtc", "o", "s", "ii")),
        (5, ("tc", "dtc", "o", "s")),
        (8, ("o",)),
    ]
    for m, measures in sizes:
        cov = _random_correlation(m, f"multi-gauss-{m}", 1.5)
        groups = one(*([1] * m))
        for measure in measures:
            gauss(
                f"{measure}-gauss-{m}",
                measure,
                cov,
                groups,
                f"{m} Gaussian variables, a fixed random "
                "correlation; the closed form from the log-determinants",
            )
    for m in (3, 5, 10):
        gauss(
            f"o-redundant-{m}",
            "o",
            _redundant_cov(m, 1.0),
            one(*([1] * m)),
            f"{m} noisy copies x_i = s + e_i of one Gaussian source: redundancy, O > 0",
        )
        gauss(
            f"o-synergy-{m}",
            "o",
            _synergy_cov(m, 0.5),
            one(*([1] * m)),
            f"{m - 1} independent Gaussians and their sum + 0.5 e: synergy, O < 0",
        )
    gauss("tc-redundant-10", "tc", _redundant_cov(10, 1.0), one(*([1] * 10)), "10 noisy copies of one source")
    gauss(
        "dtc-synergy-5", "dtc", _synergy_cov(5, 0.5), one(*([1] * 5)), "4 independent Gaussians and their sum"
    )
    gauss("s-redundant-5", "s", _redundant_cov(5, 1.0), one(*([1] * 5)), "5 noisy copies of one source")
    gauss("ii-synergy-3", "ii", _synergy_cov(3, 0.5), one(1, 1, 1), "x, y independent, z = x + y + 0.5 e")
    gauss("ii-redundant-3", "ii", _redundant_cov(3, 1.0), one(1, 1, 1), "three noisy copies of one source")
    cov5 = _random_correlation(5, "multi-gauss-5", 1.5)
    gauss(
        "o-gauss-5-warped",
        "o",
        cov5,
        one(*([1] * 5)),
        "o-gauss-5 with each column warped (same truth)",
        _cycle(("cube", "exp", "sinh", "sigmoid"), 5),
    )
    gauss(
        "tc-gauss-5-warped",
        "tc",
        cov5,
        one(*([1] * 5)),
        "tc-gauss-5 with each column warped (same truth)",
        _cycle(("exp", "sinh", "cube"), 5),
    )
    gauss(
        "o-redundant-5-warped",
        "o",
        _redundant_cov(5, 1.0),
        one(*([1] * 5)),
        "o-redundant-5 with each column warped",
        _cycle(("exp", "cube", "sigmoid"), 5),
    )
    gauss(
        "ii-synergy-3-warped",
        "ii",
        _synergy_cov(3, 0.5),
        one(1, 1, 1),
        "ii-synergy-3 with x, y, z warped",
        ("cube", "exp", "sinh"),
    )
    cov6 = _random_correlation(6, "multi-gauss-blocks-3x2", 1.5)
    for measure in ("tc", "o"):
        gauss(
            f"{measure}-gauss-blocks-3x2",
            measure,
            cov6,
            one(2, 2, 2),
            "three variables of two columns each (blocks), a fixed random correlation",
        )
    # The MMI PID of Gaussian sources and a univariate target.
    pid_systems: list[tuple[str, Array | None, tuple[str, ...]]] = [
        ("pid-gauss-sum", _pid_cov(0.0, 1.0, 1.0, 0.5), ("pid-redundancy", "pid-synergy")),
        (
            "pid-gauss-correlated",
            _pid_cov(0.5, 1.0, 0.5, 0.5),
            ("pid-redundancy", "pid-unique-1", "pid-synergy"),
        ),
        ("pid-gauss-second", _pid_cov(0.3, 0.3, 1.0, 0.7), ("pid-unique-2",)),
        ("pid-gauss-2d-sources", None, ("pid-synergy",)),
    ]
    for name, given, parts in pid_systems:
        if given is None:  # two 2-dimensional sources, a random joint with the target
            cov, groups = _random_correlation(5, name, 1.5), one(2, 2, 1)
        else:
            cov, groups = given, one(1, 1, 1)
        for part in parts:
            gauss(
                f"{name}-{part.removeprefix('pid-')}",
                part,
                cov,
                groups,
                "Gaussian sources, univariate target; the minimum-MI PID (Barrett 2015) from the covariance",
            )
    # Discrete systems (labels).
    systems: list[tuple[str, tuple[str, ...]]] = [
        ("xor", ("tc", "dtc", "o", "s", "ii", "pid-synergy")),
        ("and", ("tc", "ii", "pid-redundancy", "pid-synergy")),
        ("or", ("pid-synergy",)),
        ("copy", ("tc", "pid-redundancy")),
        ("rdn", ("o", "pid-redundancy")),
        ("unq", ("pid-unique-1",)),
        ("sum", ("ii", "pid-synergy")),
        ("rdnxor", ("pid-redundancy", "pid-synergy")),
    ]
    for gate, measures in systems:
        f, n_bits, what = GATES[gate]
        outcomes, probs = _gate(f, n_bits)
        for measure in measures:
            tasks.append(
                discrete_task(
                    f"{measure}-discrete-{gate}",
                    measure,
                    outcomes,
                    probs,
                    one(1, 1, 1),
                    f"dit's {gate.upper()} distribution: {what}; truth by sums over the pmf",
                )
            )
    parity, probs = _gate(lambda b: np.c_[b, b.sum(1) % 2], 4)
    for measure in ("o", "tc"):
        tasks.append(
            discrete_task(
                f"{measure}-discrete-parity-5",
                measure,
                parity,
                probs,
                one(*([1] * 5)),
                "4 uniform bits and their parity: synergy of 5 variables",
            )
        )
    copies, probs = _gate(lambda b: np.repeat(b, 5, axis=1), 1)
    tasks.append(
        discrete_task(
            "o-discrete-copies-5",
            "o",
            copies,
            probs,
            one(*([1] * 5)),
            "5 copies of one bit: redundancy of 5 variables",
        )
    )
    return tasks


# ------------------------------------------------------------------------------------------------- MI
def mi_tasks() -> list[ExactTask]:
    """The MI tasks of :mod:`iblearn.data.synthetic` (its :func:`~iblearn.data.synthetic.standard_tasks`
    and the mixtures) as exact tasks of measure ``mi``."""
    from iblearn.data import synthetic as S

    tasks = [
        *S.standard_tasks(),
        S.sign_mixture(1),
        S.sign_mixture(3),
        S.zero_inflated(1),
        S.zero_inflated(3),
    ]
    out = []
    for t in tasks:

        def sampler(n: int, rng: np.random.Generator, task: Any = t) -> tuple[Array, ...]:
            x, y = task.sampler(n, rng)
            return np.asarray(x), np.asarray(y)

        out.append(
            ExactTask(
                t.name,
                "mi",
                "mi",
                float(t.mutual_information),
                t.description,
                sampler,
                (1,) if t.y_discrete else (),
            )
        )
    return out
