"""A conditional-independence test for tigramite's causal discovery (PCMCI, PCMCI+, LPCMCI) on iblearn's
conditional mutual information: :class:`CMITest` drops in wherever tigramite takes a ``CondIndTest``.

The statistic of a test X _|_ Y | Z is I(X; Y | Z) in nats (I(X; Y) where Z is empty), by one of:

* ``"ksg"``: the Frenzel-Pompe nearest-neighbour estimate (:func:`iblearn.functional.ksg_cmi`; KSG's
  :func:`~iblearn.functional.ksg_mi` where Z is empty), as tigramite's CMIknn;
* ``"gaussian"``: the Gaussian closed form, I(X; (Y, Z)) - I(X; Z) (:func:`iblearn.functional.gaussian_mi`),
  a monotone map of the partial correlation where X and Y are one column each, as tigramite's ParCorr;
* ``"copula"``: the same on each column's normal scores (the Gaussian-copula estimate);
* ``"auto"``: the front door's choice (:func:`iblearn.estimate`), which picks KSG or the Gaussian from
  the data and checks it.

Significance ``"shuffle"`` is a permutation null, seeded by ``seed`` and the same on every run: x
permuted locally among near neighbours in z (Runge 2018; :func:`iblearn.functional.local_permutations`),
which keeps x's dependence on z and breaks only that on y beyond z; where Z is empty, x circularly
shifted against y by at least a block of the series, which keeps each series' own autocorrelation
(tigramite's block shuffle keeps it only within blocks). ``"auto"`` tests the method it chose, on the
normal scores it chose it on. The nearest-neighbour null of a test at a level
(:meth:`CMITest.run_test`'s ``alpha_or_thres``, as PCMCI asks) stops drawing permutations once its
p-value can no longer reach ``p <= alpha`` (:func:`iblearn.functional.inference.can_reach`): the test
decides as that of all ``sig_samples`` permutations, and its p-value is that of those drawn.
Significance ``"analytic"`` is the partial-correlation test for ``"gaussian"`` (Student's t with
T - dim degrees of freedom where X and Y are one column each, as ParCorr; Wilks' chi-square with
dx * dy degrees of freedom for 2 T I otherwise) and the same test on the normal scores for
``"copula"``; a kNN estimate has no null distribution in closed form, so ``"ksg"`` and
``"auto"`` refuse it.

This module needs tigramite (``pip install 'iblearn[tigramite]'``); ``import iblearn`` does not import it.

Reference:
    J. Runge. Conditional independence testing based on a nearest-neighbor estimator of conditional
    mutual information. AISTATS 2018, PMLR 84.
    J. Runge, P. Nowack, M. Kretschmer, S. Flaxman, D. Sejdinovic. Detecting and quantifying causal
    associations in large nonlinear time series datasets. Science Advances 5, eaau4996 (2019).
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import Tensor

from iblearn import _checks as V
from iblearn import functional as ibf
from iblearn.estimation import estimate
from iblearn.estimators.reliability import UnreliableEstimateWarning
from iblearn.functional import inference
from iblearn.functional.multivariate.inputs import copula_normal

try:
    from tigramite.independence_tests.independence_tests_base import (  # type: ignore[import-untyped]
        CondIndTest,
    )
except ImportError as err:  # pragma: no cover - the message is the point
    raise ImportError("iblearn.tigramite needs tigramite: pip install 'iblearn[tigramite]'") from err

__all__ = ["METHODS", "SIGNIFICANCES", "CMITest"]

#: The statistics :class:`CMITest` computes.
METHODS = ("auto", "ksg", "gaussian", "copula")
#: Its significance tests; ``"shuffle_test"`` is tigramite's own name for ``"shuffle"``.
SIGNIFICANCES = ("shuffle", "shuffle_test", "analytic")
#: The share of a test's samples that are the kNN estimate's neighbours by default (Runge 2018: 0.1 - 0.2).
KSG_SHARE = 0.1
#: Circular shifts estimated together in the null of a test without a condition, before the test
#: checks whether its p-value is settled.
SHIFTS_PER_BLOCK = 16
#: The methods whose null distribution has a closed form.
_ANALYTIC = ("gaussian", "copula")

Statistic = Callable[[Tensor, Tensor, Tensor], float]


class CMITest(CondIndTest):  # type: ignore[misc]
    """Tigramite's conditional-independence test on I(X; Y | Z) in nats (the module's notes).

    Args:
        method: ``"auto"``, ``"ksg"``, ``"gaussian"`` or ``"copula"`` (the module's notes).
        significance: ``"shuffle"`` (a seeded permutation null) or ``"analytic"`` (``"gaussian"`` and
            ``"copula"`` only).
        k: neighbours of the kNN estimate: a count, or a share of each test's T samples in (0, 1),
            rounded (tigramite's CMIknn takes its ``knn`` so, 0.2 T by default). None: a tenth of
            the samples for ``"ksg"``, at the low end of the 0.1 to 0.2 T Runge (2018) recommends,
            where the estimate's spread, and its null's, is small enough to see weak links; 3 for
            ``"auto"``, the front door's default.
        sig_samples: permutations of the shuffle null; its least p-value, ``1 / (sig_samples + 1)``
            (:attr:`p_floor`), is warned of before a test at a level it cannot reach.
        seed: seeds the jitter of the kNN estimate and the permutations: the same seed, the same
            p-values.
        **kwargs: the other settings of tigramite's ``CondIndTest`` (``mask_type``, ``verbosity``, ...).

    Raises:
        ValueError: naming ``method``, ``significance``, ``k``, ``sig_samples`` or ``seed``.

    Example:
        >>> import numpy as np
        >>> from tigramite import data_processing as pp
        >>> from tigramite.pcmci import PCMCI
        >>> rng = np.random.default_rng(0)
        >>> data = rng.standard_normal((500, 3))
        >>> for t in range(1, 500):
        ...     data[t, 1] += 0.6 * data[t - 1, 0]
        ...     data[t, 2] += 0.6 * data[t - 1, 1]
        >>> test = CMITest(method="gaussian", significance="analytic")
        >>> pcmci = PCMCI(pp.DataFrame(data), cond_ind_test=test)
        >>> graph = pcmci.run_pcmci(tau_max=2, pc_alpha=0.05, alpha_level=0.01)["graph"]
        >>> [(int(i), int(j)) for i, j, lag in zip(*np.nonzero(graph == "-->")) if lag == 1]
        [(0, 1), (1, 2)]
    """

    def __init__(
        self,
        method: str = "auto",
        significance: str = "shuffle",
        *,
        k: float | None = None,
        sig_samples: int = 200,
        seed: int = 42,
        **kwargs: Any,
    ) -> None:
        self.method = V.choice(method, "method", METHODS)
        V.choice(significance, "significance", SIGNIFICANCES)
        if significance == "analytic" and method not in _ANALYTIC:
            raise ValueError(
                f"significance: 'analytic' has no closed-form null for method={method!r} (a kNN estimate's "
                f"null is known only by permutation); use significance='shuffle', or method 'gaussian' or "
                "'copula'"
            )
        self.k = None if k is None else _neighbours(k)
        self.seed = V.seed(seed)
        #: The levels the shuffle null could not reach, each with the permutations that would.
        self.unreachable: dict[float, int] = {}
        # The level of the test under way (run_test's alpha_or_thres), whether its shuffle null
        # stopped once settled there, and tigramite's cache keys of such tests by that level.
        self._level: float | None = None
        self._stopped = False
        self._settled_keys: dict[float, list[Any]] = {}
        self._measure = f"cmi_{method}"
        self.two_sided = False
        self.residual_based = False
        # tigramite dispatches its p-value on its own name of the shuffle test.
        tig = "shuffle_test" if significance.startswith("shuffle") else significance
        super().__init__(
            seed=self.seed,
            significance=tig,
            sig_samples=V.positive_int(sig_samples, "sig_samples"),
            **kwargs,
        )

    @property
    def p_floor(self) -> float | None:
        """The least p-value the shuffle null can give, ``1 / (sig_samples + 1)`` (None for the analytic
        test)."""
        return 1 / (self.sig_samples + 1) if self.significance == "shuffle_test" else None

    def run_test(
        self,
        X: Any,
        Y: Any,
        Z: Any = None,
        tau_max: int = 0,
        cut_off: str = "2xtau_max",
        alpha_or_thres: Any = None,
    ) -> Any:
        """tigramite's test of X _|_ Y | Z, after a warning where the shuffle null cannot reach the level
        ``alpha_or_thres`` (tigramite's ``pval <= alpha``); such a level is kept in :attr:`unreachable`
        with the permutations that would reach it.

        The shuffle null of a test at a level stops as soon as its p-value is settled above it (the
        module's notes): the decision is that of all ``sig_samples`` permutations, the p-value that of
        those drawn. tigramite keeps each test's p-value for the same samples asked again; one settled
        at a lower level is dropped from that cache before a test at a higher one, and drawn again."""
        self._check_level(alpha_or_thres)
        level = alpha_or_thres if self.significance == "shuffle_test" else None
        for settled in [a for a in self._settled_keys if level is None or level > a]:
            for key in self._settled_keys.pop(settled):
                self.cached_ci_results.pop(key, None)
        self._level, self._stopped = level, False
        try:
            return super().run_test(X, Y, Z, tau_max=tau_max, cut_off=cut_off, alpha_or_thres=alpha_or_thres)
        finally:
            if self._stopped and level is not None and self.cached_ci_results:
                # tigramite caches a computed test's result last, under a hash of its samples.
                self._settled_keys.setdefault(level, []).append(next(reversed(self.cached_ci_results)))
            self._level, self._stopped = None, False

    def _check_level(self, alpha: Any) -> None:
        """Warn, once a level, where ``1 / (sig_samples + 1)`` is above ``alpha``: no test at that level
        can then find a dependence."""
        floor = self.p_floor
        if floor is None or alpha is None or floor <= alpha or alpha in self.unreachable:
            return
        needed = max(1, math.ceil(1 / alpha) - 1)
        while 1 / (needed + 1) > alpha:
            needed += 1
        self.unreachable[alpha] = needed
        warnings.warn(
            f"sig_samples: {self.sig_samples} permutations give p-values of at least "
            f"1/{self.sig_samples + 1} = {floor:.3g}, above the level alpha = {alpha:g}: no test at that "
            f"level finds a dependence; use at least {needed} permutations",
            UserWarning,
            stacklevel=3,
        )

    @property
    def measure(self) -> str:
        """The name tigramite shows for this test: ``"cmi_"`` and the method."""
        return self._measure

    def get_dependence_measure(self, array: np.ndarray, xyz: np.ndarray, data_type: Any = None) -> float:
        """I(X; Y | Z) in nats of ``array`` (``(dim, T)``, one row a variable at a lag), whose rows
        ``xyz`` says are X (0), Y (1) or Z (2)."""
        x, y, z = _split(array, xyz)
        if self.method == "auto":
            return float(self._front_door(x, y, z).value)
        return self._statistic(self.method)(x, y, z)

    def get_shuffle_significance(
        self,
        array: np.ndarray,
        xyz: np.ndarray,
        value: float,
        return_null_dist: bool = False,
        data_type: Any = None,
    ) -> float | tuple[float, np.ndarray]:
        """The permutation p-value ``(1 + #{null >= statistic}) / (1 + sig_samples)`` of the module's
        notes, the "ksg" null stopped once settled above the level of :meth:`run_test` (None: all of
        it); with ``return_null_dist``, the null too, sorted, all of it."""
        x, y, z = _split(array, xyz)
        method = self.method
        if method == "auto":
            x, y, z = (copula_normal(t) if t.shape[1] else t for t in (x, y, z))
            method = self._chosen(x, y, z)
        level = None if return_null_dist else self._level
        if method == "ksg" and z.shape[1]:
            test = ibf.ksg_cmi_test(
                x,
                y,
                z,
                self._k(x),
                n_permutations=self.sig_samples,
                permutation_seed=self.seed,
                seed=self.seed,
                alpha=level,
            )
            observed, null = test.value, test.null.numpy()
        elif method == "ksg":
            observed = self._statistic(method)(x, y, z)
            null = self._shifted_null(x, y, observed, level)
        else:
            observed = self._statistic(method)(x, y, z)
            surrogates = self._surrogates(x, z)
            if method == "copula":  # y and z, which no surrogate moves, get their normal scores once
                y, z = (copula_normal(t) if t.shape[1] else t for t in (y, z))
                method, surrogates = "gaussian", [copula_normal(xs) for xs in surrogates]
            stat = self._statistic(method)
            null = np.array([stat(xs, y, z) for xs in surrogates])
        self._stopped = len(null) < self.sig_samples
        p = inference.p_value(observed, null.tolist())
        return (p, np.sort(null)) if return_null_dist else p

    def _shifted_null(self, x: Tensor, y: Tensor, observed: float, level: float | None) -> np.ndarray:
        """KSG's I(X; Y) of x circularly shifted against y, a block of shifts at a time until the
        p-value of ``observed`` is settled above ``level`` (all of them where it is None or never)."""
        shifts, k, n = self._shifts(x.shape[0]), self._k(x), self.sig_samples
        null: list[float] = []
        hits = 0
        for start in range(0, n, SHIFTS_PER_BLOCK):
            block = ibf.ksg_mi_shifted(x, y, shifts[start : start + SHIFTS_PER_BLOCK], k, seed=self.seed)
            null.extend(block.tolist())
            hits += int((block >= observed).sum())
            if level is not None and not inference.can_reach(hits, n, level, at_alpha=True):
                break
        return np.array(null)

    def get_analytic_significance(self, value: float, T: int, dim: int, xyz: np.ndarray) -> float:
        """The p-value of the partial-correlation test for a Gaussian I = ``value`` (the module's notes)."""
        dx, dy = int(np.sum(xyz == 0)), int(np.sum(xyz == 1))
        dof = T - dim
        if dof < 1:
            return float("nan")
        if dx * dy > 1:
            return float(stats.chi2.sf(2.0 * T * max(value, 0.0), dx * dy))
        # I = -1/2 log(1 - rho^2) for one column each: the t statistic of the partial correlation rho.
        rho2 = -np.expm1(-2.0 * max(value, 0.0))
        if abs(1.0 - rho2) <= sys.float_info.min:
            return 0.0
        t = np.sqrt(rho2 * dof / (1.0 - rho2))
        return float(2.0 * stats.t.sf(t, dof))

    def _statistic(self, method: str) -> Statistic:
        """The estimate of a named method as a function of (x, y, z) tensors."""
        seed = self.seed

        def ksg(x: Tensor, y: Tensor, z: Tensor) -> float:
            k = self._k(x)
            if z.shape[1] == 0:
                return float(ibf.ksg_mi(x, y, k, seed=seed))
            return float(ibf.ksg_cmi(x, y, z, k, seed=seed))

        def gaussian(x: Tensor, y: Tensor, z: Tensor) -> float:
            if z.shape[1] == 0:
                return float(ibf.gaussian_mi(x, y))
            return float(ibf.gaussian_mi(x, torch.cat([y, z], dim=1)) - ibf.gaussian_mi(x, z))

        def copula(x: Tensor, y: Tensor, z: Tensor) -> float:
            return gaussian(*(copula_normal(t) if t.shape[1] else t for t in (x, y, z)))

        return {"ksg": ksg, "gaussian": gaussian, "copula": copula}[method]

    def _chosen(self, x: Tensor, y: Tensor, z: Tensor) -> str:
        """The method the front door picks for these rows: ``"ksg"``, or ``"copula"`` where it picks the
        Gaussian (tested on the normal scores, as its checks see them)."""
        return "ksg" if self._front_door(x, y, z).report.chosen == "ksg" else "copula"

    def _front_door(self, x: Tensor, y: Tensor, z: Tensor) -> Any:
        """The front door's automatic estimate of I(X; Y | Z), or of I(X; Y) where z is empty."""
        with warnings.catch_warnings():
            # A test near independence is where an estimate of nearly 0 is judged unreliable; the
            # test's answer is its p-value, not that verdict.
            warnings.simplefilter("ignore", UnreliableEstimateWarning)
            if z.shape[1] == 0:
                return estimate("mi", x, y, k=self._k(x), seed=self.seed)
            return estimate("cmi", x, y, z, k=self._k(x), seed=self.seed)

    def _k(self, x: Tensor) -> int:
        """The neighbours of a test on ``x``'s rows: ``k`` or its share of them (at least 1), by default
        :data:`KSG_SHARE` of them for ``"ksg"`` and 3 (the front door's) for ``"auto"``."""
        k = self.k if self.k is not None else KSG_SHARE if self.method == "ksg" else 3
        return k if isinstance(k, int) else max(1, round(k * x.shape[0]))

    def _surrogates(self, x: Tensor, z: Tensor) -> list[Tensor]:
        """``sig_samples`` surrogates of x: permuted locally in z, or circularly shifted where z is empty."""
        n = x.shape[0]
        if z.shape[1]:
            perms = ibf.local_permutations(z, self.sig_samples, seed=self.seed)
            return [x[p] for p in perms]
        return [torch.roll(x, int(s), 0) for s in self._shifts(n)]

    def _shifts(self, n: int) -> np.ndarray:
        """``sig_samples`` seeded circular shifts of a series of ``n`` steps, each at least a block of
        the series (:func:`iblearn.functional.inference.block_length`) from the alignment either way."""
        least = inference.block_length(n)
        if n - 2 * least < 1:
            least = max(1, (n - 1) // 2)
        return inference.circular_shifts(n, self.sig_samples, self.seed, least)


def _neighbours(k: Any) -> int | float:
    """``k`` checked: a positive count, or a share of the samples in (0, 1)."""
    if isinstance(k, float | np.floating) and 0 < k < 1:
        return float(k)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k: expected a positive integer or a share of the samples in (0, 1), got {k!r}")
    return int(k)


def _split(array: np.ndarray, xyz: np.ndarray) -> tuple[Tensor, Tensor, Tensor]:
    """The rows of tigramite's ``array`` (``(dim, T)``) as float64 samples ``(T, d)`` of X, Y and Z."""
    a = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float64))
    rows = np.asarray(xyz)
    return tuple(a[torch.from_numpy(np.flatnonzero(rows == i))].T.contiguous() for i in range(3))  # type: ignore[return-value]
