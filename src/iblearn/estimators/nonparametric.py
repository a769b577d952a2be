"""Estimator objects over the non-parametric functions: KSG, MixedKSG, Binning, GaussianMI, RenyiMI."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn import functional as ibf
from iblearn._settings import SETTINGS
from iblearn.estimators.base import Estimator, MIEstimate, Permutations, SettingCheck, passed_on
from iblearn.estimators.conditional import Conditional
from iblearn.estimators.estimate import unit_name
from iblearn.functional import inference
from iblearn.functional.discrete import Correction, Strategy, bin_count, row_codes
from iblearn.functional.knn.neighbors import Backend, Metric
from iblearn.functional.knn.options import Ties
from iblearn.functional.multivariate.inputs import magnitude_dependence, scalar_check
from iblearn.functional.renyi.entropy import DEFAULT_ALPHA
from iblearn.functional.renyi.gram import DEFAULT_SIGMA, Channels, KernelWidth

#: The settings of a kNN estimator that are keyword arguments of every kNN function.
_SEARCH = ("standardize", "ties", "backend", "seed")


class _KNN(Estimator):
    resampling = "half"
    seeded = True
    setting_checks: ClassVar[Mapping[str, SettingCheck]] = {
        "k": SETTINGS["k"].check,
        "standardize": V.flag,  # "no" is truthy: refused, not read as True
        "ties": V.one_of("jitter", "raise"),
        "backend": V.one_of("auto", "tree", "brute"),
        "seed": SETTINGS["seed"].check,
    }

    # The defaults are the concrete estimators', in their own signatures.
    def __init__(
        self, k: int, *, standardize: bool, ties: Ties, backend: Backend, seed: int, base: float
    ) -> None:
        # Each checked on assignment, here and after construction: setting_checks.
        self.k = k
        self.standardize = standardize
        self.ties = ties
        self.backend = backend
        self.seed = seed
        super().__init__(base=base)

    def _search(self) -> dict[str, Any]:
        """The keyword arguments every kNN function takes from these settings."""
        return {name: getattr(self, name) for name in _SEARCH}

    def _test_keywords(self, asked: Permutations) -> dict[str, Any]:
        """The keyword arguments of a kNN permutation test (:func:`iblearn.functional.ksg_mi_test`)."""
        permutations = {"n_permutations": asked.count, "n_jobs": asked.n_jobs, "permutation_seed": asked.seed}
        return permutations | self._search()

    def coverage(self, samples: Sequence[Any], names: Sequence[str]) -> dict[str, float]:
        """Each sample's tail share (``"tails <name>"``: :func:`iblearn.functional.inference.tail_share`):
        heavy tails bias the neighbour counts and the interval does not cover them."""
        return _tails(samples, names)


def _tails(samples: Sequence[Any], names: Sequence[str]) -> dict[str, float]:
    """Each sample's tail share, under ``"tails <name>"``."""
    return {f"tails {name}": inference.tail_share(s) for s, name in zip(samples, names, strict=True)}


class KSG(Conditional, _KNN):
    """Kraskov-Stoegbauer-Grassberger estimator of I(X; Y) for two continuous variables, and of
    I(X; Y | Z) with ``est(x, y, z=z)``.

    See :func:`iblearn.functional.ksg_mi` and, given ``z``, :func:`iblearn.functional.ksg_cmi`
    (Frenzel & Pompe 2007; ``n_permutations`` then tests conditional independence by Runge's local
    permutations, see :class:`iblearn.estimators.conditional.Conditional`). Picks an exact CPU search
    in low dimension (compiled, or scipy's k-d tree) and chunked brute force in high dimension or on a
    GPU, with memory bounded for N = 100,000.

    ``n_permutations`` runs :func:`iblearn.functional.ksg_mi_test` (with a continuous z,
    :func:`iblearn.functional.ksg_cmi_test`): the rows are prepared once (standardized and jittered on
    the CPU) and every permutation of them is counted, many at once on a GPU, by the tree on the CPU.
    The permutations come from the CPU generator seeded by ``seed`` (after the resampling draws), the
    counts are exact and each null estimate is computed from its counts on the host, so the same seed
    gives the same p-value on every device and backend. The reported value is :meth:`mi`'s, as without
    permutations.

    Example:
        >>> from iblearn.data import bivariate_normal
        >>> x, y = bivariate_normal().sample(5000, seed=0)
        >>> est = KSG(k=3)(x, y)
        >>> abs(float(est) - 0.4133) < 0.05
        True
        >>> import torch
        >>> z = x + 0.1 * torch.randn(5000, 1, generator=torch.Generator().manual_seed(1))
        >>> float(KSG(k=3)(x, y, z=z)) < 0.1  # given a noisy copy of x, y tells little more about x
        True
    """

    name = "ksg"
    setting_checks: ClassVar[Mapping[str, SettingCheck]] = {"variant": V.ksg_variant}

    def __init__(
        self,
        k: int = 3,
        variant: int = 1,
        *,
        standardize: bool = True,
        ties: Ties = "jitter",
        backend: Backend = "auto",
        seed: int = 0,
        base: float = math.e,
    ) -> None:
        self.variant = variant  # checked on assignment: setting_checks
        super().__init__(**passed_on(locals(), _KNN))

    def mi(self, x: Any, y: Any) -> Tensor:
        return ibf.ksg_mi(x, y, self.k, self.variant, **self._search())

    def cmi(self, x: Any, y: Any, z: Any) -> Tensor:
        if self.variant != 1:
            raise ValueError("variant: conditional MI is Frenzel & Pompe's form of variant 1; use variant=1")
        return ibf.ksg_cmi(x, y, z, self.k, **self._search())

    def _p_value(self, x: Tensor, y: Tensor, asked: Permutations) -> float:
        # The rows prepared once and every shuffle counted, in batches on a GPU: ksg_mi_test.
        return ibf.ksg_mi_test(x, y, self.k, self.variant, **self._test_keywords(asked)).p_value

    def _conditional_p_value(self, x: Tensor, y: Tensor, z: Tensor, asked: Permutations) -> float:
        if not z.is_floating_point():  # classes: x shuffled within each, one estimate at a time
            return super()._conditional_p_value(x, y, z, asked)
        return ibf.ksg_cmi_test(x, y, z, self.k, **self._test_keywords(asked)).p_value


class MixedKSG(_KNN):
    """I(X; Y) between continuous ``x (N, d)`` and integer labels ``y (N,)`` (Ross 2014).

    See :func:`iblearn.functional.mixed_ksg_mi`: the estimator of I(T; Y) for a layer T and classes Y.
    """

    name = "mixed_ksg"
    labels_y = True
    setting_checks: ClassVar[Mapping[str, SettingCheck]] = {"metric": V.one_of("euclidean", "chebyshev")}

    def __init__(
        self,
        k: int = 3,
        *,
        metric: Metric = "euclidean",
        standardize: bool = True,
        ties: Ties = "jitter",
        backend: Backend = "auto",
        seed: int = 0,
        base: float = math.e,
    ) -> None:
        self.metric = metric  # checked on assignment: setting_checks
        super().__init__(**passed_on(locals(), _KNN))

    def mi(self, x: Any, y: Any) -> Tensor:
        # Checked here, so that an error names the estimator's arguments (the function's is ``labels``).
        lab = V.labels(y, "y")
        V.same_length(("x", V.continuous(x, "x")), ("y", lab))
        return ibf.mixed_ksg_mi(x, lab, self.k, metric=self.metric, **self._search())


class GaussianClasses(Estimator):
    """I(X; Y) between continuous ``x (N, d)`` and integer labels ``y (N,)`` where each class is Gaussian
    with one covariance for all (linear discriminant analysis's model).

    See :func:`iblearn.functional.gaussian_classes_mi`: exact up to sampling error for such classes in
    any number of dimensions (the expectation is over at most K - 1 of them), and with
    ``bias_correction`` (the default) without the plug-in's upward bias of about ``(K - 1) d / (2 N)``
    nats. On classes of other shapes it is the MI of the model with the same means and pooled
    covariance, which is neither a lower nor an upper bound in general.
    """

    name = "gaussian_classes"
    labels_y = True
    setting_checks: ClassVar[Mapping[str, SettingCheck]] = {"rtol": V.positive, "bias_correction": V.flag}

    def __init__(self, *, rtol: float = 1e-9, bias_correction: bool = True, base: float = math.e) -> None:
        self.rtol = rtol  # each checked on assignment: setting_checks
        self.bias_correction = bias_correction
        super().__init__(base=base)

    def mi(self, x: Any, y: Any) -> Tensor:
        # Checked here, so that an error names the estimator's arguments (the function's is ``labels``).
        lab = V.labels(y, "y")
        V.same_length(("x", V.continuous(x, "x")), ("y", lab))
        return ibf.gaussian_classes_mi(x, lab, bias_correction=self.bias_correction, rtol=self.rtol)


class QuadraticClasses(Estimator):
    """I(X; Y) between continuous ``x (N, d)`` and integer labels ``y (N,)`` where each class is Gaussian
    with a covariance of its own (quadratic discriminant analysis's model).

    See :func:`iblearn.functional.quadratic_classes_mi`: the fitted model's MI by Monte Carlo, each
    class's covariance shrunk toward the pooled one as far as its rows leave it unknown, and with
    ``bias_correction`` (the default) less the parametric bootstrap's estimate of the fit's bias.
    """

    name = "quadratic_classes"
    labels_y = True
    seeded = True
    setting_checks: ClassVar[Mapping[str, SettingCheck]] = {
        "bias_correction": V.flag,
        "resamples": V.positive_int,
        "seed": V.seed,
    }

    def __init__(
        self, *, bias_correction: bool = True, resamples: int = 4, seed: int = 0, base: float = math.e
    ) -> None:
        self.bias_correction = bias_correction  # each checked on assignment: setting_checks
        self.resamples = resamples
        self.seed = seed
        super().__init__(base=base)

    def mi(self, x: Any, y: Any) -> Tensor:
        lab = V.labels(y, "y")
        V.same_length(("x", V.continuous(x, "x")), ("y", lab))
        return ibf.quadratic_classes_mi(
            x, lab, bias_correction=self.bias_correction, resamples=self.resamples, seed=self.seed
        )


#: Binning warns when a binned argument occupies at least this share of N cells.
SPARSE_CELLS = 0.5


class Binning(Estimator):
    """Plug-in MI after discretization: the information-plane estimator of Shwartz-Ziv & Tishby.

    Each argument is binned if it is floating-point (every unit into ``n_bins`` bins set from the data,
    see :func:`iblearn.functional.bin_values`) and taken as symbols if it is integer; then every distinct
    row is one outcome. For I(X; T) over a finite training set, pass X as sample indices
    (``torch.arange(N)``): each input is its own outcome, as in the information-plane papers.
    """

    name = "binning"
    # Half-sampling, not the bootstrap: a plug-in over cells is biased by about its occupied cells over
    # 2N, which a bootstrap (centred on the estimate, and its duplicated rows occupy fewer cells) does
    # not read; the halves' trend with N does (inference.interval).
    resampling = "half"
    setting_checks: ClassVar[Mapping[str, SettingCheck]] = {
        "n_bins": bin_count,
        "strategy": V.one_of("uniform", "quantile"),
        "correction": V.one_of("none", "miller-madow"),
    }

    def __init__(
        self,
        n_bins: int = 30,  # Shwartz-Ziv & Tishby 2017
        *,
        strategy: Strategy = "uniform",
        value_range: tuple[float, float] | None = None,
        correction: Correction = "none",
        base: float = math.e,
    ) -> None:
        self.n_bins = n_bins  # each checked on assignment: setting_checks
        self.strategy = strategy
        self.value_range = value_range
        self.correction = correction
        super().__init__(base=base)

    def discretize(self, v: Any, name: str) -> Tensor:
        t = V.as_tensor(v, name)
        if t.is_floating_point():
            t = V.continuous(t, name)  # checked here, so that an error names y too (bin_values says x)
            return ibf.bin_values(t, self.n_bins, strategy=self.strategy, value_range=self.value_range)
        return V.symbols(t, name)

    def mi(self, x: Any, y: Any) -> Tensor:
        cx, cy = self.discretize(x, "x"), self.discretize(y, "y")
        self._warn_if_sparse(
            cx, cy, V.as_tensor(x, "x").is_floating_point(), V.as_tensor(y, "y").is_floating_point()
        )
        return ibf.discrete_mi(cx, cy, correction=self.correction)

    def _resampled(
        self, n: int, n_resamples: int, seed: int, estimate: Callable[[Tensor], Tensor]
    ) -> inference.Resampled:
        # A half's cells hold half as many rows: whether the bins are sparse is the whole sample's to
        # say, once (mi), not each half's.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Binning: ", category=UserWarning)
            return super()._resampled(n, n_resamples, seed, estimate)

    def _warn_if_sparse(self, cx: Tensor, cy: Tensor, x_binned: bool, y_binned: bool) -> None:
        """Warn when the bins of a binned argument (or of both together) hold fewer than
        ``1 / SPARSE_CELLS`` samples each: the plug-in MI then reads the sample's distinctness, not the
        dependence. Joint bins in d dimensions number ``n_bins ** d``, so in a few dimensions nearly every
        sample has a cell of its own (3.58 nats for a multi-dimensional x whose MI with y is 1.61, where
        KSG reads 1.60).
        Integer arguments are the user's own symbols (sample indices, for the information plane) and
        are not judged."""
        n = len(cx)
        if len(cy) != n:
            return  # discrete_mi refuses it, naming the argument
        sides = [
            (name, row_codes(c.reshape(n, -1)), c.reshape(n, -1).shape[1])
            for name, c, binned in (("x", cx, x_binned), ("y", cy, y_binned))
            if binned
        ]
        if len(sides) == 2:
            (_, a, da), (_, b, db) = sides
            sides.append(("(x, y) jointly", a * (int(b.max()) + 1) + b, da + db))
        for name, codes, columns in sides:
            cells = len(torch.unique(codes))
            if cells >= SPARSE_CELLS * n:
                warnings.warn(
                    f"Binning: {name} occupies {cells} cells for N = {n} samples ({self.n_bins} bins per "
                    f"column, {columns} column(s)); with about one sample per cell the "
                    "plug-in MI measures how many samples fall apart, not the dependence (biased high). "
                    "Use fewer bins (n_bins), more samples, or ksg for continuous data in several "
                    "dimensions.",
                    UserWarning,
                    stacklevel=6,  # the caller of est(x, y), past nn.Module.__call__
                )
                return


class GaussianMI(Conditional):
    """I(X; Y) of the Gaussian with the sample's covariance, from canonical correlations; I(X; Y | Z)
    with ``est(x, y, z=z)``, from partial canonical correlations.

    Exact (up to sampling error) for Gaussian data; see :func:`iblearn.functional.gaussian_mi` and
    :func:`iblearn.functional.gaussian_cmi`. ``bias_correction=True`` removes the plug-in's upward bias
    of about ``dx dy / (2 N)`` nats (Wishart log-determinants; I(X; Y) only), which matters in high
    dimension: 0.125 nats at 50 x 50 and N = 10,000. Where y is a linear function of x (with z, of x
    and z), ``est(x, y)`` is ``inf`` with the interval ``(inf, inf)`` and ``report.features["linear"]``
    1 (:meth:`_without_spread`).
    """

    name = "gaussian"
    setting_checks: ClassVar[Mapping[str, SettingCheck]] = {"rtol": V.positive, "bias_correction": V.flag}

    def __init__(self, *, rtol: float = 1e-9, bias_correction: bool = False, base: float = math.e) -> None:
        self.rtol = rtol  # each checked on assignment: setting_checks
        self.bias_correction = bias_correction
        super().__init__(base=base)

    def mi(self, x: Any, y: Any) -> Tensor:
        return ibf.gaussian_mi(x, y, rtol=self.rtol, bias_correction=self.bias_correction)

    def _without_spread(
        self, value: Tensor, x: Tensor, y: Tensor | None, z: Tensor | None, asked: Permutations
    ) -> MIEstimate | None:
        """Where a canonical correlation of x and y is 1 (y a linear function of x, as for ``y = x``:
        continuous variables so related share infinite information), or with z a partial canonical
        correlation is 1 (y a linear function of x and z, as for ``y = x + z``), the estimate ``inf``
        with the interval ``(inf, inf)`` and ``report.features["linear"]`` 1, rather than resamples of
        ``inf`` whose spread is ``nan``; else None."""
        if not (bool(torch.isinf(value)) and float(value) > 0):
            return None
        p_value = None
        if asked.count and y is not None:
            p_value = self._p_value(x, y, asked) if z is None else self._conditional_p_value(x, y, z, asked)
        result = MIEstimate(
            value=value,
            n_samples=int(x.shape[0]),
            estimator=self.name,
            measure="mi" if z is None else "cmi",
            unit=unit_name(self.base),
            stderr=0.0,
            interval=(math.inf, math.inf),
            confidence=inference.CONFIDENCE,
            p_value=p_value,
        )
        # Not checked here: estimation.verdict reads the figure and says why the value is infinite.
        return replace(result, report=replace(result.report, features={"linear": 1.0}))

    def coverage(self, samples: Sequence[Any], names: Sequence[str]) -> dict[str, float]:
        """Each sample's tail share (``"tails <name>"``); the dependence of the magnitudes
        (``"magnitudes"``: the z of :func:`iblearn.functional.multivariate.inputs.magnitude_dependence`,
        on the rows whitened in their own rank, as the closed form sees them); and, for two single
        columns, the closed form beside KSG on them (``"closed"``, ``"knn"``, ``"tolerance"``:
        :func:`~iblearn.functional.multivariate.inputs.scalar_check`). The closed form misses heavy
        tails, dependent magnitudes and a copula that is not Gaussian."""
        figures = _tails(samples, names)
        floats = [torch.as_tensor(s).reshape(len(s), -1).double() for s in samples if s.is_floating_point()]
        if len(floats) >= 2:
            wx, wy = ibf.canonical_bases(floats[0], torch.cat(floats[1:], dim=1), rtol=self.rtol)
            figures["magnitudes"] = magnitude_dependence(torch.cat([wx, wy], dim=1), wx.shape[1])
        if [f.shape[1] for f in floats] == [1, 1]:
            figures |= scalar_check(*floats)._asdict()
        return figures

    def _unresampleable(self, x: Tensor, y: Tensor, z: Tensor) -> str | None:
        """A continuous z that determines x or y linearly (x or y lies in the span of z's columns, as
        for ``z = [x, x]``): the closed form is then exactly 0 on every resample, which has no spread."""
        if not z.is_floating_point():
            return None
        for t, name in ((x, "x"), (y, "y")):
            try:
                canonical = ibf.canonical_analysis(t, z, rtol=self.rtol)
            except ValueError:  # too few rows, or a constant side: the estimate itself says so
                return None
            determined = int((1 - canonical.rho**2 <= self.rtol).sum())
            if canonical.dx <= canonical.dy and determined == canonical.dx:
                return (
                    f"z: determines {name} linearly ({name} lies in the span of z's columns: z is collinear "
                    f"with {name}), so I(X; Y | Z) is 0 on every resample and has no standard error; "
                    f"leave {name}'s columns out of z"
                )
        return None

    def cmi(self, x: Any, y: Any, z: Any) -> Tensor:
        if self.bias_correction:
            raise ValueError("bias_correction: corrects I(X; Y) only; conditional MI is the plug-in estimate")
        return ibf.gaussian_cmi(x, y, z, rtol=self.rtol)


def _kernel_width(value: Any, name: str) -> KernelWidth:
    """A kernel width: a rule's name or a positive number."""
    if isinstance(value, str):
        return V.choice(value, name, ("silverman", "median"))  # type: ignore[arg-type]
    V.positive(value, name)
    return value


class RenyiMI(Estimator):
    """Matrix-based Renyi alpha-order MI (Giraldo et al. 2014; Yu et al. 2020, 2021), differentiable.

    Note this is a different functional from Shannon's MI: it depends on the kernel widths and on alpha,
    and approaches a Shannon-like quantity only as alpha -> 1. It is at most log N. Use it as a training
    signal (MOLE) or for comparisons at fixed settings, not as an absolute Shannon MI.
    See :func:`iblearn.functional.renyi_mi`.
    """

    accepts = frozenset({"vector", "grid", "graph"})  # graphs: node representations

    name = "renyi"
    differentiable = True
    setting_checks: ClassVar[Mapping[str, SettingCheck]] = {
        "alpha": V.positive,
        "sigma_x": _kernel_width,
        "sigma_y": _kernel_width,
        "channels_x": V.one_of(False, True, "product", "mean"),
        "channels_y": V.one_of(False, True, "product", "mean"),
        "normalize": V.flag,
    }

    def __init__(
        self,
        alpha: float = DEFAULT_ALPHA,
        *,
        sigma_x: KernelWidth = DEFAULT_SIGMA,
        sigma_y: KernelWidth = DEFAULT_SIGMA,
        channels_x: Channels = False,
        channels_y: Channels = False,
        normalize: bool = False,
        base: float = math.e,
    ) -> None:
        # Each checked on assignment, here and after construction: setting_checks.
        self.alpha = alpha
        self.sigma_x, self.sigma_y = sigma_x, sigma_y
        self.channels_x, self.channels_y = channels_x, channels_y
        self.normalize = normalize
        super().__init__(base=base)

    def mi(self, x: Any, y: Any) -> Tensor:
        return ibf.renyi_mi(
            x,
            y,
            self.alpha,
            self.sigma_x,
            self.sigma_y,
            channels_x=self.channels_x,
            channels_y=self.channels_y,
            normalize=self.normalize,
        )
