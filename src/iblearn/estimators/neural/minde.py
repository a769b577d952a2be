"""MINDE (Franzese, Bounoua, Michiardi 2024): MI as the gap between a conditional and an unconditional
score of a diffusion on x, one network learning both (MINDE-C)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor, nn

from iblearn import _checks as V
from iblearn.estimators.base import SettingCheck, passed_on
from iblearn.estimators.critics import Hidden
from iblearn.estimators.neural.representation import RepresentationEstimator
from iblearn.estimators.standardize import Standardize

#: Diffusion time below which the importance density of t stays flat (the authors' ``t_epsilon``):
#: q(t) ~ beta(t) / sigma(t)^2 grows as 1/t near 0 and has no finite integral there.
T_EPS = 1e-3
#: Seed of the noise and times that the held-out denoising loss is watched with: ``fit`` compares
#: networks on the same draws, so the comparison sees the networks and not the draws.
WATCH_SEED = 12345


@dataclass(frozen=True)
class VPSchedule:
    """The variance-preserving SDE ``dX = -beta(t)/2 X dt + sqrt(beta(t)) dW`` on [0, 1] (Song et al.
    2021; MINDE's forward diffusion, with its ``beta_min`` 0.1 and ``beta_max`` 20), linear
    ``beta(t) = beta_min + t (beta_max - beta_min)``, and the importance density of t that MINDE samples
    its training and estimation times from.

    ``X_t | X_0 ~ N(alpha(t) X_0, sigma(t)^2 I)`` with ``alpha = exp(-B(t)/2)``, ``sigma^2 = 1 -
    exp(-B(t))``, ``B(t) = int_0^t beta``. The importance density is ``q(t) = r(t) / Z`` with ``r = g^2 /
    sigma^2 = beta / sigma^2`` for ``t >= T_EPS`` and ``r(T_EPS)`` below it: under it the weight
    ``g(t)^2 / 2 ||s - s'||^2 = r(t) / 2 ||eps - eps'||^2`` of the score integral becomes the constant
    ``Z / 2`` times the squared difference of the predicted noises (the authors' truncated sampler).
    """

    beta_min: float = 0.1
    beta_max: float = 20.0

    def integral(self, t: Tensor) -> Tensor:
        return 0.5 * t**2 * (self.beta_max - self.beta_min) + t * self.beta_min

    def beta(self, t: Tensor) -> Tensor:
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def alpha(self, t: Tensor) -> Tensor:
        return torch.exp(-0.5 * self.integral(t))

    def sigma(self, t: Tensor) -> Tensor:
        return torch.sqrt(-torch.expm1(-self.integral(t)))

    def rate(self, t: Tensor) -> Tensor:
        """``r(t) = g(t)^2 / sigma(t)^2``: the weight of the squared noise difference in the integral."""
        return self.beta(t) / -torch.expm1(-self.integral(t))

    def _antiderivative(self, t: Tensor) -> Tensor:
        b = self.integral(t)
        return torch.log(-torch.expm1(-b)) + b  # d/dt = beta / (1 - exp(-B)) = r(t)

    def normalizer(self) -> float:
        """``Z = int_0^1 r~(t) dt`` of the truncated ``r~`` (about 20.2 at the defaults)."""
        eps, one = torch.tensor(T_EPS, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)
        flat = self.rate(eps) * T_EPS
        return float(flat + self._antiderivative(one) - self._antiderivative(eps))

    def sample_t(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` times drawn from ``q`` by inverting its distribution function (float64)."""
        u = torch.rand(n, generator=generator, dtype=torch.float64)
        eps = torch.tensor(T_EPS, dtype=torch.float64)
        z, r_eps = self.normalizer(), self.rate(eps)
        flat = u * z / r_eps
        # above T_EPS: A(t) = Z u - r(eps) eps + A(eps), with A(t) = log(e^B - 1), so B = log1p(e^c)
        c = z * u - r_eps * T_EPS + self._antiderivative(eps)
        b = torch.nn.functional.softplus(c)
        a = self.beta_max - self.beta_min
        steep = (-self.beta_min + torch.sqrt(self.beta_min**2 + 2 * a * b)) / a
        return torch.where(u <= r_eps * T_EPS / z, flat, steep).clamp(max=1.0)


class Draw(NamedTuple):
    """One draw for each row of a batch, on the rows' device: times ``t`` (float64), the weight ``r(t) /
    q(t)`` of each, ``alpha(t)`` and ``sigma(t)`` as columns (in the rows' dtype), which rows are given
    y (bool), and the noise ``eps`` (the rows' shape and dtype)."""

    t: Tensor
    weight: Tensor
    alpha: Tensor
    sigma: Tensor
    given: Tensor
    eps: Tensor


def time_features(t: Tensor, n: int = 8) -> Tensor:
    """Sines and cosines of t at ``n`` frequencies from 1 to 1,000 (a transformer's position code),
    ``(N, 2 n)``: the network tells apart times that the forward diffusion tells apart."""
    freqs = torch.exp(torch.linspace(0.0, math.log(1000.0), n, dtype=t.dtype, device=t.device))
    angles = t[:, None] * freqs
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class ConditionalDenoiser(nn.Module):
    """The score network of MINDE-C: an MLP (SiLU) that predicts the noise ``eps`` in ``x_t = alpha(t)
    x + sigma(t) eps`` from ``x_t``, t and, where ``cond`` is 1, y (with ``cond`` 0, y is zeroed and the
    network learns the unconditional score: amortized, one network for both). The score is ``-eps /
    sigma(t)``. Inputs are standardized by buffers (:class:`~iblearn.estimators.standardize.Standardize`,
    set by :meth:`calibrate`): the diffusion starts from unit-variance coordinates, as the VP SDE assumes.
    """

    def __init__(self, x_dim: int, y_dim: int, hidden: Hidden, frequencies: int = 8) -> None:
        super().__init__()
        self.x_scale, self.y_scale = Standardize(x_dim), Standardize(y_dim)
        self.frequencies = frequencies
        widths = [x_dim + y_dim + 1 + 2 * frequencies, *hidden]
        layers: list[nn.Module] = []
        for a, b in itertools.pairwise(widths):
            layers += [nn.Linear(a, b), nn.SiLU()]
        layers.append(nn.Linear(widths[-1], x_dim))
        self.net = nn.Sequential(*layers)

    def calibrate(self, x: Tensor, y: Tensor) -> None:
        self.x_scale.calibrate(x)
        self.y_scale.calibrate(y)

    def standardize(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return self.x_scale(x), self.y_scale(y)

    def forward(self, x_t: Tensor, y: Tensor, t: Tensor, cond: Tensor) -> Tensor:
        """Predicted noise ``(N, x_dim)`` of noisy standardized ``x_t`` at times ``t`` ``(N,)``, given
        standardized ``y`` where ``cond`` ``(N,)`` is 1 and nothing where it is 0."""
        c = cond.to(x_t.dtype)[:, None]
        feats = time_features(t.to(x_t.dtype), self.frequencies)
        return self.net(torch.cat([x_t, y * c, c, feats], dim=1))  # type: ignore[no-any-return]


def conditioned_share(value: Any, name: str) -> float:
    """The share of rows conditioned on y: both scores need training rows, so in (0, 1)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ValueError(f"{name}: both scores need training rows, so a share in (0, 1); got {value!r}")
    return float(value)


class MINDE(RepresentationEstimator):
    """MI by diffusion (Franzese, Bounoua, Michiardi 2024, "MINDE: Mutual Information Neural Diffusion
    Estimation", ICLR; arXiv 2310.09031): the conditional variant MINDE-C, its "difference of scores"
    estimator.

    By Girsanov's theorem the KL divergence of two densities is the integral over the diffusion time of
    ``g(t)^2 / 2`` times the expected squared difference of the scores of their diffused versions, plus
    the KL of the two at time T (negligible at T = 1 here: alpha(1) = 0.0066). With ``I(X; Y) = E_y
    KL(p(x | y) || p(x))`` this gives MINDE-C::

        I(X; Y) ~ E_{x, y} int_0^T g(t)^2 / 2 E ||s_t(X_t | y) - s_t(X_t)||^2 dt

    with ``s_t(. | y)`` the score of ``X_t`` given y and ``s_t`` its unconditional score. Checked
    against the authors' code (MustaphaBounoua/minde at 4c09b55: ``mi_cond`` in
    ``src/libs/info_measures.py``, the importance density in ``src/libs/importance.py``): the same
    formula, beta 0.1 - 20, T = 1, and normalizer Z to 2.5e-5 relative (theirs rounds in float32). Given the
    exact scores of a 10 x 10 Gaussian (4,000 rows, 16 draws a row, 3 seeds of draws), this reads 0.997 -
    0.998 for 1 nat and 4.006 - 4.053 for 4 (the tests), so a low reading is the network's. An earlier
    version of their code (``Minde_c.mi_compute``, at a1171c2) calls the formula "equation (18)"; the
    paper's text was not at hand to check that number. Both scores
    come from one network (:class:`ConditionalDenoiser`), trained by denoising score matching on
    ``||eps_theta(x_t, t, [y]) - eps||^2`` with t drawn from the importance density (:class:`VPSchedule`)
    and y given to a share ``p_cond`` of the rows (amortized, as the paper's MINDE-C). With ``s = -eps /
    sigma`` and t from ``q``, the integral is ``Z / 2`` times the mean of ``||eps(x_t, t, y) - eps(x_t,
    t)||^2`` over rows and ``draws`` times per row (Monte Carlo). The authors draw y's conditioning per
    batch; here per row (the same expectation, less variance in a step).

    The estimate is neither a lower nor an upper bound (the network's error enters both scores); it is
    0 or more by construction, with a positive bias from the network's noise where X and Y are
    independent. ``fit`` minimizes the denoising loss (``history`` holds minus it, on held-out rows, with
    fixed draws), keeping the network of the best held-out loss; the first fit standardizes x and y from
    its rows. ``est(x, y)`` draws its times and noise from ``seed``, so the same data and network give
    the same estimate.

    Args:
        x_dim, y_dim: input widths, both required.
        critic: ``"denoiser"`` (:class:`ConditionalDenoiser` of ``x_dim``, ``y_dim``, ``hidden``), or a
            module with ``forward(x_t, y, t, cond) -> eps``, ``standardize(x, y)`` and ``calibrate(x, y)``.
        hidden: widths of the score network.
        beta_min, beta_max: the VP SDE's linear noise rate (0.1, 20, the authors').
        importance: draw t from the importance density ``q`` (the authors' "debias", on by default);
            False: uniformly on ``[T_EPS, 1]``, weighting by ``r(t)``.
        p_cond: the share of training rows whose noise is predicted given y (the authors' ``d``, 0.5);
            the others train the unconditional score.
        draws: times (with their noise) drawn per row for an estimate; the Monte Carlo error of the
            integral over t falls as ``1 / sqrt(N draws)``.
        lr, eval_batch_size, average, seed, base, validation, patience, eval_every: as for
            :class:`~iblearn.estimators.neural.base.NeuralEstimator` (``lr`` the authors' 1e-3 for
            up to 5 dimensions; their runs above that take 2e-3, 100,000 rows, 500 epochs and a weight
            average of 0.999. In 10 x 10, 1 and 4 nats, ``benchmarks/minde_gaussian.py`` read 13% and
            8% low with 4,000 rows, 1,500 steps and lr 3e-3, 1.5% and 3% low with 40,000 rows, 20,000
            steps, lr 2e-3, ``average=0.999`` and ``patience=1000``; means of 3 seeds).

    Example:
        >>> from iblearn.data import dense_gaussian
        >>> x, y = dense_gaussian(3).sample(3000, seed=0)  # 3 x 3 dims, all correlated at 0.5
        >>> est = MINDE(3, 3, lr=3e-3, eval_every=50).fit(x[:2000], y[:2000], steps=100)
        >>> float(est(x[2000:], y[2000:])) >= 0  # 0 or more by construction; truth 0.4133, see the tests
        True
    """

    name = "minde"
    continuous_y = "MINDE-C conditions on continuous y"
    both_widths = "the score network predicts x's noise given y"

    setting_checks: ClassVar[Mapping[str, SettingCheck]] = {
        "beta_min": V.positive,
        "beta_max": V.positive,
        "importance": V.flag,
        "p_cond": conditioned_share,
        "draws": V.positive_int,
    }

    def __init__(
        self,
        x_dim: int | None = None,
        y_dim: int | None = None,
        *,
        critic: nn.Module | str = "denoiser",
        hidden: Hidden = (128, 128),
        beta_min: float = 0.1,
        beta_max: float = 20.0,
        importance: bool = True,
        p_cond: float = 0.5,
        draws: int = 8,
        lr: float = 1e-3,  # the authors' at 5 dimensions or fewer (2e-3 above)
        average: float | None = None,
        eval_batch_size: int = 1024,
        seed: int = 0,
        validation: float = 0.2,
        patience: int = 4,
        eval_every: int = 250,
        base: float = math.e,
    ) -> None:
        self.beta_min, self.beta_max = beta_min, beta_max  # each checked on assignment: setting_checks
        if not self.beta_max > self.beta_min:
            raise ValueError(f"beta_max: must exceed beta_min ({self.beta_min}), got {self.beta_max}")
        self.importance = importance
        self.p_cond = p_cond
        self.draws = draws
        super().__init__(**passed_on(locals(), RepresentationEstimator))

    def make_network(self, x_dim: int, y_dim: int, hidden: tuple[int, ...]) -> nn.Module:
        return ConditionalDenoiser(x_dim, y_dim, hidden)

    @property
    def schedule(self) -> VPSchedule:
        return VPSchedule(self.beta_min, self.beta_max)

    def _times(self, n: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        """``n`` diffusion times and the weight ``r(t) / q(t)`` of each (float64)."""
        sde = self.schedule
        if self.importance:
            t = sde.sample_t(n, gen)
            return t, torch.full_like(t, sde.normalizer())
        t = T_EPS + (1 - T_EPS) * torch.rand(n, generator=gen, dtype=torch.float64)
        return t, (1 - T_EPS) * sde.rate(t)

    def _draws(self, x0: Tensor, gen: torch.Generator, count: int, conditioned: bool) -> list[Draw]:
        """``count`` draws for the rows ``x0``, taken from ``gen`` in this order, draw by draw: the
        times, the rows given y (where ``conditioned``; else all), the noise. ``gen`` is a CPU generator,
        so the same seed gives the same numbers on any device; the draws and the schedule's factors at
        those times go to x0's device in one copy, as float64 (which holds each of them exactly)."""
        n, sde = len(x0), self.schedule
        parts: list[Tensor] = []
        for _ in range(count):
            t, weight = self._times(n, gen)
            given = torch.ones(n, dtype=torch.bool)
            if conditioned:
                given = torch.rand(n, generator=gen) < self.p_cond
            eps = torch.randn(x0.shape, generator=gen, dtype=x0.dtype)
            parts += [t, weight, sde.alpha(t), sde.sigma(t), given.double(), eps.double().flatten()]
        moved = torch.cat(parts).to(x0.device).split(([n] * 5 + [x0.numel()]) * count)
        dtype, draws = x0.dtype, []
        for i in range(0, len(moved), 6):
            t, weight, alpha, sigma, given, eps = moved[i : i + 6]
            alpha, sigma = alpha.to(dtype)[:, None], sigma.to(dtype)[:, None]
            draws.append(Draw(t, weight.to(dtype), alpha, sigma, given.bool(), eps.to(dtype).view_as(x0)))
        return draws

    def objective(self, x: Tensor, y: Tensor) -> Tensor:
        """Minus the denoising score-matching loss on a batch: t from ``q``, y given to a share
        ``p_cond`` of the rows. A training step draws once a row from the estimator's generator; ``fit``
        watching held-out rows draws ``draws`` times a row from a fixed one (whatever the mode)."""
        net = self.scorer
        watched = self.trainer.is_watching
        gen = torch.Generator().manual_seed(WATCH_SEED) if watched else self.trainer.shuffles
        x0, y0 = net.standardize(x, y)  # type: ignore[operator]
        losses = []
        for d in self._draws(x0, gen, self.draws if watched else 1, conditioned=True):
            predicted = net(d.alpha * x0 + d.sigma * d.eps, y0, d.t, d.given)
            losses.append(((predicted - d.eps) ** 2).sum(dim=1).mean())
        return -torch.stack(losses).mean()

    def _estimate(self, x: Tensor, y: Tensor) -> Tensor:
        gen = torch.Generator().manual_seed(self.seed)
        terms = torch.cat(self._in_batches(lambda a, b: self._terms(a, b, gen), x, y))
        return terms.mean()

    def _terms(self, x: Tensor, y: Tensor, gen: torch.Generator) -> Tensor:
        """Each row's integrand over ``draws`` times, averaged: ``(r(t) / 2 q(t)) ||eps(x_t, t, y) -
        eps(x_t, t)||^2`` (nats), whose mean over rows is the estimate."""
        net = self.scorer
        x0, y0 = net.standardize(x, y)  # type: ignore[operator]
        n, total = len(x0), x0.new_zeros(len(x0))
        on, off = torch.ones(n, device=x0.device), torch.zeros(n, device=x0.device)
        for d in self._draws(x0, gen, self.draws, conditioned=False):
            x_t = d.alpha * x0 + d.sigma * d.eps
            gap = net(x_t, y0, d.t, on) - net(x_t, y0, d.t, off)
            total = total + 0.5 * d.weight * (gap**2).sum(dim=1)
        return total / self.draws

    def pointwise(self, x: Tensor, y: Tensor) -> Tensor:
        """Each row's Monte Carlo integrand, ``(N,)`` (in ``base``), whose mean is the estimate (not
        the pointwise MI: a row's share of the score gap, 0 or more)."""
        gen = torch.Generator().manual_seed(self.seed)
        parts = self._reported_batches(x, y, lambda a, b: self._terms(a, b, gen))
        return torch.cat(parts) / math.log(self.base)
