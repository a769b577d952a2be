"""Estimators that learn a representation first: latent MI (KSG on a cross-
predictive autoencoder's embeddings) and MIENF (flows into a canonical Gaussian), each trained briefly on
a 3 x 3 Gaussian (all six coordinates correlated at 0.5; truth 0.4133 nats) and checked against it,
under an invertible map of x, for pointwise values, state round trips and bad input.

Tolerances (N = 3,000: 2,000 to fit, 1,000 to estimate; 300 steps; 5 seeds of data and network, one
thread, under load): LMI (hidden 32, latent 2) 0.408 +- 0.034 (0.356-0.439), on x mapped by
A (x + 0.3 x^3) 0.394 +- 0.021; MIENF (MAF, 2 couplings of 32) 0.406 +- 0.021 (0.369-0.419), on the
mapped x 0.369 +- 0.018; with spline couplings (NSF, 5 s a fit here, so marked slow) 0.403 +- 0.026
and 0.366 +- 0.027.
"""

from __future__ import annotations

import builtins

import pytest
import torch

from iblearn.data import dense_gaussian
from iblearn.estimators import LMI, MIENF, get_estimator
from iblearn.estimators.neural import UnreliableEstimateWarning
from iblearn.functional import canonical_gaussian_pmi, ksg_mi
from tests.estimators.round_trip import assert_state_round_trips

TASK = dense_gaussian(3)
TRUTH = TASK.mutual_information  # 0.4133
A = torch.randn(3, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)


def _mapped(x: torch.Tensor) -> torch.Tensor:
    """An invertible map of x: a monotone map of each coordinate, then an invertible linear one."""
    return (x + 0.3 * x**3) @ A.T


@pytest.fixture(scope="module")
def data():
    x, y = TASK.sample(3000, seed=0)
    return x.float(), y.float()


def _lmi(seed: int = 0) -> LMI:
    return LMI(3, 3, hidden=(32,), latent=2, lr=3e-3, seed=seed)


def _mienf(flow: str = "maf", seed: int = 0) -> MIENF:
    return MIENF(3, 3, hidden=(32,), transforms=2, flow=flow, lr=3e-3, seed=seed)


@pytest.fixture(scope="module")
def fitted(data):
    x, y = data
    return {
        "lmi": _lmi().fit(x[:2000], y[:2000], steps=300),
        "mienf": _mienf().fit(x[:2000], y[:2000], steps=300),
    }


@pytest.mark.parametrize("name", ["lmi", "mienf"])
def test_estimates_reach_the_truth(name, fitted, data):
    x, y = data
    result = fitted[name](x[2000:], y[2000:])
    assert float(result) == pytest.approx(TRUTH, abs=0.08)  # about 2.5 sd of the seeds' spread
    assert result.bound is None and result.estimator == name and result.n_samples == 1000


def test_lmi_is_about_invariant_under_an_invertible_map_of_x(data):
    x, y = data
    xm = _mapped(x.double()).float()
    value = float(_lmi().fit(xm[:2000], y[:2000], steps=300)(xm[2000:], y[2000:]))
    assert value == pytest.approx(TRUTH, abs=0.08)


def test_mienf_is_about_invariant_under_an_invertible_linear_map(data):
    x, y = data
    xm = (x.double() @ A.T).float()  # the flows' last layer is linear: learned outright
    value = float(_mienf().fit(xm[:2000], y[:2000], steps=300)(xm[2000:], y[2000:]))
    assert value == pytest.approx(TRUTH, abs=0.08)


@pytest.mark.slow
def test_mienf_with_splines_is_about_invariant_under_a_nonlinear_map(data):
    x, y = data
    xm = _mapped(x.double()).float()
    value = float(_mienf("nsf").fit(xm[:2000], y[:2000], steps=300)(xm[2000:], y[2000:]))
    assert value == pytest.approx(TRUTH, abs=0.1)


def test_lmi_is_ksg_on_its_embeddings_and_its_pointwise_values_average_to_it(fitted, data):
    x, y = data
    est = fitted["lmi"]
    zx, zy = est.embed(x[2000:], y[2000:])
    assert zx.shape == (1000, 2) and zy.shape == (1000, 2)
    value = float(est(x[2000:], y[2000:]))
    assert value == pytest.approx(float(ksg_mi(zx, zy, 4)), abs=1e-12)
    pmi = est.pointwise(x[2000:], y[2000:])
    assert pmi.shape == (1000,) and float(pmi.mean()) == pytest.approx(value, abs=1e-12)
    assert est.history is not None and all(v < 0 for v in est.history.validation)  # minus the loss


def test_mienf_is_the_canonical_pmi_of_its_latents(fitted, data):
    x, y = data
    est = fitted["mienf"]
    xi, eta = est.latents(x[2000:], y[2000:])
    pmi = canonical_gaussian_pmi(xi, eta, est.critic.rho.detach())
    value = float(est(x[2000:], y[2000:]))
    assert value == pytest.approx(float(pmi.mean()), abs=1e-5)
    assert float(est.pointwise(x[2000:], y[2000:]).mean()) == pytest.approx(value, abs=1e-5)
    # where the flows fit, the closed form of the learned base is near the truth too
    assert float(est.closed_form()) == pytest.approx(TRUTH, abs=0.1)
    bits = MIENF(**est.settings() | {"base": 2.0})
    bits.load_state_dict(est.state_dict())
    assert float(bits(x[2000:], y[2000:])) == pytest.approx(value / 0.6931471805599453, rel=1e-6)


def test_mienf_with_a_weight_average_reads_its_latents_and_base_from_the_average(data):
    """With ``average`` set the estimate is the averaged flows' and base's: the latents, the pointwise
    values and the closed form must read the same networks, not the live ones."""
    x, y = data
    est = MIENF(3, 3, hidden=(16,), transforms=1, lr=3e-3, average=0.5, seed=0)
    est.fit(x[:500], y[:500], steps=30)
    xv, yv = x[2000:2300], y[2000:2300]
    value = float(est(xv, yv))
    assert float(est.pointwise(xv, yv).mean()) == pytest.approx(value, abs=1e-6)
    with est.reporting():
        averaged = est.scorer
    xi, eta = est.latents(xv, yv)
    pmi = canonical_gaussian_pmi(xi, eta, averaged.rho.detach())
    assert float(pmi.mean()) == pytest.approx(value, abs=1e-6)
    expected = -0.5 * float(torch.log1p(-(averaged.rho.detach().double() ** 2)).sum())
    assert float(est.closed_form()) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("name", ["lmi", "mienf"])
def test_state_dict_and_settings_round_trip(name, data):
    x, y = data
    make = {"lmi": _lmi, "mienf": _mienf}[name]
    est = make(seed=3).fit(x[:600].double(), y[:600].double(), steps=20, batch_size=64)
    assert_state_round_trips(est, x, y)
    assert get_estimator(name, x_dim=3, y_dim=3).name == name


def test_fit_standardizes_the_inputs_once(data):
    x, y = data
    est = _lmi().fit(100 * x[:600] + 7, y[:600], steps=5)
    assert torch.allclose(est.critic.x_scale.mean, (100 * x[:600] + 7).mean(0), rtol=1e-4)
    before = est.critic.x_scale.mean.clone()
    est.fit(x[:600], y[:600], steps=5)
    assert torch.equal(est.critic.x_scale.mean, before)  # a second fit continues, as it trained


def test_mienf_warns_of_a_variable_without_density(data):
    x, y = data
    flat = torch.cat([x[:600], x[:600, :1] + x[:600, 1:2]], dim=1)  # 4 columns spanning 3 dimensions
    with pytest.warns(UnreliableEstimateWarning, match="x's rows span 3 of its 4 dimensions"):
        MIENF(4, 3, hidden=(8,), flow="maf", transforms=1).fit(flat, y[:600], steps=2)


def test_mienf_without_zuko_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_zuko(name, *args, **kwargs):
        if name == "zuko" or name.startswith("zuko."):
            raise ImportError("No module named 'zuko'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_zuko)
    with pytest.raises(ImportError, match=r"iblearn\[flows\]"):
        MIENF(2, 2)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: LMI(3), "y_dim: the autoencoder reconstructs both"),
        (lambda: LMI(None, 3), "x_dim: the autoencoder"),
        (lambda: LMI(3, 3, latent=0), "latent: "),
        (lambda: LMI(3, 3, alpha=-1.0), "alpha: expected a finite weight"),
        (lambda: LMI(3, 3, alpha=0, lam=0), "alpha, lam: both 0"),
        (lambda: LMI(3, 3, dropout=1.0), r"dropout: expected a rate in \[0, 1\)"),
        (lambda: LMI(3, 3, critic="concat"), "critic: expected one of"),
        (lambda: get_estimator("lmi", x_dim=3, y_dim=3, y_classes=4), "y_classes: not a setting of lmi"),
        (lambda: LMI(3, 2)(torch.randn(10, 3), torch.randn(10, 3)), "y: the critic takes 2 features"),
        (lambda: LMI(3, 3)(torch.randn(10, 3), torch.randn(9, 3)), "x has 10, y has 9"),
        (lambda: MIENF(3), "y_dim: a flow per variable"),
        (lambda: MIENF(3, 3, flow="glow"), "flow: expected one of"),
        (lambda: MIENF(3, 3, transforms=0), "transforms: "),
        (lambda: MIENF(3, 3)(torch.randn(10, 3), torch.full((10, 3), float("nan"))), "y: contains NaN"),
    ],
)
def test_bad_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_lmis_dropout_masks_drawn_on_the_host_are_torchs_cpu_masks():
    """The cross-decoders' masks come from a CPU generator (the same on any device), drawn as torch's
    CPU dropout draws them: on the CPU, training is what ``nn.Dropout`` under that seed gave."""
    from torch import nn

    from iblearn.estimators.neural.lmi import HostDropout, host_masks

    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    layers = nn.Sequential(HostDropout(0.5, 4), nn.Linear(4, 3), HostDropout(0.5, 3))
    with host_masks(layers, 6, torch.Generator().manual_seed(3), x):
        ours = layers(x)
    torch.manual_seed(3)
    plain = nn.Sequential(nn.Dropout(0.5), layers[1], nn.Dropout(0.5))
    assert torch.equal(ours, plain(x)) and layers[0].mask is None


def test_lmis_batch_mi_refuses_to_stand_as_a_training_loss():
    """LMI counts neighbours of its embeddings: no gradient reaches inputs that ask for one, and a loss
    built on it would fail at backward with torch's 'does not require grad'."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 2, generator=g, requires_grad=True)
    y = torch.randn(40, 2, generator=g)
    with pytest.raises(ValueError, match="x, y: LMI's batch_mi is not differentiable"):
        LMI(x_dim=2, y_dim=2).batch_mi(x, y)
    assert torch.isfinite(LMI(x_dim=2, y_dim=2).batch_mi(x.detach(), y))
