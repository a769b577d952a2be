"""MINDE-C: the diffusion schedule and its importance density, the estimate against
Gaussians of known MI, independence, monotonicity in the correlation, bad input, state round trips.

Tolerances measured (see TOLERANCE below) on a 2 x 2 Gaussian, two pairs at rho = 0.6273 (truth 0.5
nats): 2,000 rows to fit, 1,000 to estimate, hidden (128, 128), lr 3e-3, 600 steps, eval_every 100,
seeds 0 - 2 of data and network: 0.511, 0.359, 0.460 (so abs=0.2). The shared fit takes 27 s on the
loaded cores (one thread, nice 10); the two tests that fit their own networks (80 s and 19 s) are slow.
"""

from __future__ import annotations

import math

import pytest
import torch

from iblearn.data import sparse_gaussian
from iblearn.estimators import MINDE, get_estimator
from iblearn.estimators.neural.minde import T_EPS, VPSchedule
from tests.estimators.round_trip import assert_state_round_trips

RHO = math.sqrt(1 - math.exp(-0.5))  # two pairs: 0.5 nats
TASK = sparse_gaussian(2, 2, RHO)
STEPS = 600


def _minde(seed: int = 0, **kw) -> MINDE:
    return MINDE(2, 2, hidden=(128, 128), lr=3e-3, eval_every=100, seed=seed, **kw)


@pytest.fixture(scope="module")
def data():
    x, y = TASK.sample(3000, seed=0)
    return x.float(), y.float()


@pytest.fixture(scope="module")
def fitted(data):
    x, y = data
    return _minde().fit(x[:2000], y[:2000], steps=STEPS)


def test_schedule_is_variance_preserving_and_its_importance_density_integrates_to_one():
    sde = VPSchedule()
    t = torch.linspace(0, 1, 11, dtype=torch.float64)
    assert torch.allclose(sde.alpha(t) ** 2 + sde.sigma(t) ** 2, torch.ones_like(t))
    assert float(sde.alpha(torch.tensor(1.0))) == pytest.approx(math.exp(-0.25 * 19.9 - 0.05))
    # Z by quadrature of the truncated rate r~(t) = r(max(t, T_EPS))
    grid = torch.linspace(T_EPS, 1, 400_001, dtype=torch.float64)
    z = T_EPS * float(sde.rate(torch.tensor(T_EPS, dtype=torch.float64))) + float(
        torch.trapezoid(sde.rate(grid), grid)
    )
    assert sde.normalizer() == pytest.approx(z, rel=1e-5)
    draws = sde.sample_t(100_000, torch.Generator().manual_seed(0))
    assert 0 < float(draws.min()) and float(draws.max()) <= 1
    for a, b in ((0.0, T_EPS), (T_EPS, 0.01), (0.01, 0.1), (0.1, 0.5), (0.5, 1.0)):
        inside = grid[(grid >= max(a, T_EPS)) & (grid < b)]
        mass = (b - a) * float(sde.rate(torch.tensor(T_EPS))) if b <= T_EPS else 0.0
        if len(inside) > 1:
            mass = float(torch.trapezoid(sde.rate(inside), inside))
        share = float(((draws >= a) & (draws < b)).double().mean())
        assert share == pytest.approx(mass / z, abs=0.005)


def test_the_estimate_reaches_the_truth(fitted, data):
    x, y = data
    result = fitted(x[2000:], y[2000:])
    assert float(result) == pytest.approx(TASK.mutual_information, abs=0.2)
    assert result.bound is None and result.estimator == "minde" and result.n_samples == 1000
    assert fitted.history is not None and all(v < 0 for v in fitted.history.validation)  # minus a loss


class ExactScores(torch.nn.Module):
    """The exact noise prediction ``-sigma(t) * score`` for the standard-normal pairs of ``sparse_gaussian``
    (x given y: ``N(rho y, 1 - rho^2)`` on the paired coordinates): the diffused x given y is
    ``N(alpha rho y, 1 - alpha^2 rho^2)``, unconditionally ``N(0, 1)``. Inputs are used as they are."""

    def __init__(self, rho: torch.Tensor) -> None:
        super().__init__()
        self.rho, self.schedule = rho, VPSchedule()

    def calibrate(self, x: torch.Tensor, y: torch.Tensor) -> None:
        pass

    def standardize(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x, y

    def forward(self, x_t, y, t, cond):
        alpha, sigma = (
            f(t.double())[:, None].to(x_t.dtype) for f in (self.schedule.alpha, self.schedule.sigma)
        )
        given_y = -(x_t - alpha * self.rho * y) / (1 - alpha**2 * self.rho**2)
        score = torch.where(cond[:, None] > 0, given_y, -x_t)
        return -sigma * score


@pytest.mark.parametrize("nats", [1.0, 4.0])
def test_the_estimate_of_exact_scores_is_the_truth(nats):
    """The estimator's integral (importance density, its normalizer, the weights) is exact: with the
    true scores of a 10 x 10 Gaussian, only the Monte Carlo error (and the truncation of the integral at
    T_EPS and T = 1, under 0.003 nats) is left. Measured, seeds 0 - 2 of the draws: 0.997, 0.998, 0.998
    for 1 nat and 4.007, 4.053, 4.006 for 4."""
    rho = math.sqrt(1 - math.exp(-nats))  # two pairs, -log(1 - rho^2) / 2 each
    x, y = (v.double() for v in sparse_gaussian(10, 2, rho).sample(4000, seed=0))
    rhos = torch.zeros(10, dtype=torch.float64)
    rhos[:2] = rho
    est = MINDE(10, 10, critic=ExactScores(rhos), draws=16, seed=0)
    assert float(est(x, y)) == pytest.approx(nats, rel=0.03)


@pytest.mark.slow
def test_independent_variables_give_about_zero(data):
    x, _ = data
    y = sparse_gaussian(2, 2, 0.0).sample(3000, seed=1)[1].float()
    est = _minde().fit(x[:2000], y[:2000], steps=STEPS)
    assert 0 <= float(est(x[2000:], y[2000:])) < 0.1


@pytest.mark.slow
def test_the_estimate_grows_with_the_correlation():
    values = []
    for rho in (0.3, 0.9):
        x, y = sparse_gaussian(2, 2, rho).sample(2000, seed=2)
        est = _minde(seed=2).fit(x[:1500].float(), y[:1500].float(), steps=STEPS)
        values.append(float(est(x[1500:].float(), y[1500:].float())))
    # truths 0.094 and 1.661 nats
    assert values[0] < 0.4 < values[1]


def test_pointwise_terms_average_to_the_estimate_and_bits_are_nats_over_log_2(fitted, data):
    x, y = data
    value = float(fitted(x[2000:], y[2000:]))
    terms = fitted.pointwise(x[2000:], y[2000:])
    assert terms.shape == (1000,) and bool((terms >= 0).all())
    assert float(terms.mean()) == pytest.approx(value, rel=1e-5)
    bits = MINDE(**fitted.settings() | {"base": 2.0})
    bits.load_state_dict(fitted.state_dict())
    assert float(bits(x[2000:], y[2000:])) == pytest.approx(value / math.log(2), rel=1e-6)


def test_the_estimate_is_reproducible_and_more_draws_change_only_the_monte_carlo(fitted, data):
    x, y = data
    assert float(fitted(x[2000:], y[2000:])) == float(fitted(x[2000:], y[2000:]))
    more = MINDE(**fitted.settings() | {"draws": 64})
    more.load_state_dict(fitted.state_dict())
    assert float(more(x[2000:], y[2000:])) == pytest.approx(float(fitted(x[2000:], y[2000:])), abs=0.05)


def test_uniform_times_estimate_the_same_integral(fitted, data):
    x, y = data
    uniform = MINDE(**fitted.settings() | {"importance": False, "draws": 64})
    uniform.load_state_dict(fitted.state_dict())
    assert float(uniform(x[2000:], y[2000:])) == pytest.approx(float(fitted(x[2000:], y[2000:])), abs=0.1)


def test_a_training_step_after_fit_draws_afresh_from_the_estimators_generator(data):
    """``fit`` leaves the estimator in eval mode; a ``train_step`` after it still trains: one draw a row
    from the estimator's generator, not the fixed draws that ``fit`` watches held-out rows with."""
    x, y = data
    est = MINDE(2, 2, hidden=(8,), eval_every=5, seed=1).fit(x[:200], y[:200], steps=5, batch_size=64)
    state = est.trainer.shuffles.get_state()
    est.train_step(x[:64], y[:64])
    assert not torch.equal(est.trainer.shuffles.get_state(), state)


def test_state_dict_and_settings_round_trip(data):
    x, y = data
    est = _minde(seed=3).fit(x[:600].double(), y[:600].double(), steps=20, batch_size=64)
    assert_state_round_trips(est, x, y)
    assert get_estimator("minde", x_dim=2, y_dim=2).name == "minde"


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"p_cond": 0.0}, "p_cond"),
        ({"p_cond": 1.0}, "p_cond"),
        ({"draws": 0}, "draws"),
        ({"beta_min": -1.0}, "beta_min"),
        ({"beta_max": 0.05}, "beta_max"),
        ({"importance": "yes"}, "importance"),
        ({"critic": "concat"}, "critic"),
    ],
)
def test_bad_settings_are_named(settings, match):
    with pytest.raises(ValueError, match=match):
        MINDE(2, 2, **settings)


def test_bad_input_is_named(fitted, data):
    x, y = data
    with pytest.raises(TypeError, match="y_classes"):
        MINDE(2, 2, y_classes=3)  # MINDE() takes no y_classes at all
    with pytest.raises(ValueError, match="x_dim"):
        MINDE(None, 2)
    with pytest.raises(ValueError, match="x"):
        fitted(x[:10, :1], y[:10])  # x of the wrong width
    with pytest.raises(ValueError, match="y"):
        fitted(x[:10], y[:9])  # a row count mismatch
    with pytest.raises(ValueError, match="validation"):
        _minde().fit(x[:3], y[:3], steps=1)  # too few rows to hold any out
