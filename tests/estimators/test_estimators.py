"""Every registered estimator through the same checks (the torchmetrics pattern), then each against its
task's truth, and the resampling standard error and permutation test."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from iblearn import functional as ibf
from iblearn.data import bivariate_normal, categorical_uniform, dense_gaussian
from iblearn.estimators import (
    KSG,
    REGISTRY,
    Binning,
    Estimator,
    GaussianClasses,
    GaussianMI,
    MIEstimate,
    MixedKSG,
    QuadraticClasses,
    RenyiMI,
    get_estimator,
    register,
)

# Bounds of critics that never trained, read on purpose (how a bound is computed, agrees, or is judged,
# not what it estimates): the warning that such an estimate says nothing of the data is expected.
pytestmark = pytest.mark.filterwarnings("ignore:.*taken no training step:UserWarning")

# For each registry name: sample data it accepts, and the functional call it must agree with.
CASES = {
    "ksg": (bivariate_normal().sample(400, 0), lambda x, y: ibf.ksg_mi(x, y, 3)),
    "mixed_ksg": (categorical_uniform().sample(400, 0), lambda x, y: ibf.mixed_ksg_mi(x, y, 3)),
    "binning": (categorical_uniform().sample(400, 0), lambda x, y: ibf.discrete_mi(ibf.bin_values(x, 30), y)),
    "gaussian": (dense_gaussian(5).sample(400, 0), ibf.gaussian_mi),
    "gaussian_classes": (categorical_uniform().sample(400, 0), ibf.gaussian_classes_mi),
    "quadratic_classes": (categorical_uniform().sample(400, 0), ibf.quadratic_classes_mi),
    "renyi": (bivariate_normal().sample(200, 0), ibf.renyi_mi),
}


def test_every_non_parametric_estimator_has_a_case():
    assert set(CASES) == {name for name, cls in REGISTRY.items() if not cls.trainable}


@pytest.mark.parametrize("name", sorted(CASES))
def test_object_agrees_with_function_and_reports_what_it_knows(name):
    (x, y), functional = CASES[name]
    est = get_estimator(name)
    result = est(x, y)
    assert isinstance(result, MIEstimate)
    assert result.value.ndim == 0 and result.unit == "nats" and result.n_samples == len(x)
    assert result.estimator == name and result.bound == type(est).bound
    assert float(result) == pytest.approx(float(functional(x, y)), abs=1e-12)
    assert name in str(result) and f"N={len(x)}" in str(result)
    assert float(get_estimator(name, base=2)(x, y)) == pytest.approx(float(result) / math.log(2), rel=1e-9)
    assert "base" in est.settings()


@pytest.mark.parametrize("name", sorted(CASES))
def test_standard_error_and_permutation_test(name):
    (x, y), _ = CASES[name]
    est = get_estimator(name)
    result = est(x, y, n_resamples=8, n_permutations=19, seed=1)
    assert result.stderr is not None and 0 < result.stderr < 1
    assert result.stderr_method == ("half-sampling jackknife" if est.resampling == "half" else "bootstrap")
    assert result.p_value == pytest.approx(1 / 20)  # clearly dependent data: no permutation reaches it
    again = est(x, y, n_resamples=8, n_permutations=19, seed=1)
    assert (again.stderr, again.p_value) == (result.stderr, result.p_value)


def test_traits():
    assert RenyiMI.differentiable and not KSG.differentiable
    assert not any(REGISTRY[name].trainable for name in CASES)
    x = torch.randn(50, 2, requires_grad=True)
    RenyiMI()(x, x[:, :1].detach() + torch.randn(50, 1)).value.backward()
    assert x.grad is not None


def test_estimators_reach_their_tasks_truth():
    # Tolerances: about four standard deviations at these N (see tests/functional for the measurements).
    x, y = bivariate_normal().sample(2000, 3)
    assert float(KSG()(x, y)) == pytest.approx(0.4133, abs=0.1)
    x, y = categorical_uniform().sample(2000, 2)
    assert float(MixedKSG()(x, y)) == pytest.approx(1.0549, abs=0.04)
    # 30 bins over U(0, 6) against 5 labels: plug-in bias about (bins - 1)(labels - 1)/(2N) = 0.03 at N=2000.
    assert float(Binning(30)(x, y)) == pytest.approx(1.0549, abs=0.07)
    x, y = dense_gaussian(5).sample(2000, 0)
    assert float(GaussianMI()(x, y)) == pytest.approx(0.5928, abs=0.07)
    corrected = GaussianMI(bias_correction=True)
    assert float(corrected(x, y)) == pytest.approx(
        float(ibf.gaussian_mi(x, y, bias_correction=True)), abs=1e-12
    )
    assert corrected.settings()["bias_correction"] is True
    with pytest.raises(ValueError, match="bias_correction: corrects I\\(X; Y\\) only"):
        corrected(x, y, z=x[:, :1])


def test_registry_and_settings_errors():
    with pytest.raises(ValueError, match="name: unknown estimator 'kraskov'"):
        get_estimator("kraskov")
    with pytest.raises(ValueError, match="name: 'ksg' is already registered"):
        register("ksg", KSG)
    with pytest.raises(ValueError, match="cls: expected an Estimator subclass"):
        register("thing", dict)  # type: ignore[arg-type]
    for make, match in [
        (lambda: KSG(k=0), "k: expected a positive integer"),
        (lambda: KSG(variant=3), "variant: expected 1 or 2"),
        (lambda: MixedKSG(metric="cosine"), "metric: expected one of"),
        (lambda: Binning(n_bins=0), "n_bins: expected a positive integer"),
        (lambda: RenyiMI(alpha=-1), "alpha: must be a positive"),
        (lambda: RenyiMI(sigma_x="scott"), "sigma_x: expected one of"),
        (lambda: GaussianMI(base=1), "base: the logarithm's base must be positive and not 1"),
        (lambda: GaussianMI(bias_correction="yes"), "bias_correction: expected True or False"),
        (lambda: KSG(base=math.inf), "base: the logarithm's base must be finite"),
        (lambda: MixedKSG()(torch.randn(20, 1), torch.randn(20)), "y: expected integer labels"),
        (lambda: GaussianClasses()(torch.randn(20, 1), torch.randn(20)), "y: expected integer labels"),
        (lambda: GaussianClasses(bias_correction=1), "bias_correction: expected True or False"),
        (lambda: get_estimator("ksg", kk=3), "kk: not a setting of ksg"),
    ]:
        with pytest.raises(ValueError, match=match):
            make()
    x, y = bivariate_normal().sample(50, 0)
    with pytest.raises(ValueError, match="n_resamples: a standard error needs at least 2"):
        KSG()(x, y, n_resamples=1)
    with pytest.raises(ValueError, match="n_permutations: expected a non-negative integer"):
        KSG()(x, y, n_permutations=-1)
    # Halves of 4 rows with k = 3 always agree: a standard error of exactly 0 would be no error at all.
    with pytest.raises(ValueError, match="n_resamples: every resample of the 8 rows gives the same"):
        KSG()(x[:8], y[:8], n_resamples=10)


def test_a_user_estimator_can_be_registered():
    class Zero(Estimator):
        name = "zero"

        def mi(self, x, y):
            return torch.zeros((), dtype=torch.float64)

    register("zero-test", Zero)
    try:
        assert float(get_estimator("zero-test")(torch.randn(5, 1), torch.randn(5, 1))) == 0.0
    finally:
        del REGISTRY["zero-test"]


@pytest.mark.slow
def test_half_sampling_standard_error_matches_the_spread_over_seeds():
    task = bivariate_normal()
    values, errors = [], []
    for seed in range(30):
        x, y = task.sample(1000, seed)
        r = KSG()(x, y, n_resamples=30, seed=seed)
        values.append(float(r))
        errors.append(r.stderr)
    spread = float(torch.tensor(values).std())
    assert 0.6 * spread < sum(errors) / len(errors) < 1.6 * spread


def _ring(n: int) -> torch.Tensor:
    return torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])


_VEC = (torch.randn(64, 2, generator=torch.Generator().manual_seed(0)), torch.randn(64, 1))
_NET = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh())


class _Encoder(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(2, 3)

    def forward(self, x, edge_index):
        return self.lin(x)


_ENCODER = _Encoder()
# Each registry entry with settings other than its defaults, and data to compare the two on.
REBUILD = {
    "ksg": (lambda: KSG(k=4, variant=2, seed=3, base=2), _VEC),
    "mixed_ksg": (lambda: MixedKSG(k=2, metric="chebyshev"), (_VEC[0], torch.arange(64) % 3)),
    "binning": (lambda: Binning(8, strategy="quantile", correction="miller-madow"), _VEC),
    "gaussian": (lambda: GaussianMI(rtol=1e-6), _VEC),
    "gaussian_classes": (lambda: GaussianClasses(bias_correction=False), (_VEC[0], torch.arange(64) % 3)),
    "quadratic_classes": (lambda: QuadraticClasses(resamples=2, seed=4), (_VEC[0], torch.arange(64) % 3)),
    "renyi": (lambda: RenyiMI(1.5, sigma_x=0.5, normalize=True), _VEC),
    "mine": (lambda: get_estimator("mine", hidden=(8,), rate=0.1, n_negatives=2, seed=3), _VEC),
    "mine_f": (lambda: get_estimator("mine_f", x_dim=2, y_dim=1, hidden=(8,), lr=1e-3), _VEC),
    "nwj": (lambda: get_estimator("nwj", x_dim=2, y_dim=1, critic="separable", hidden=(8, 4), seed=5), _VEC),
    "js": (lambda: get_estimator("js", hidden=(8,), eval_batch_size=32), _VEC),
    "infonce": (lambda: get_estimator("infonce", x_dim=2, y_dim=1, hidden=(8,), chunk=16, seed=2), _VEC),
    "smile": (lambda: get_estimator("smile", hidden=(8,), clip=2.0, n_negatives=3, seed=9), _VEC),
    "flo": (lambda: get_estimator("flo", x_dim=2, y_dim=1, critic="separable", hidden=(8,), seed=10), _VEC),
    "club": (lambda: get_estimator("club", y_dim=1, hidden=(8, 4), eval_batch_size=16, seed=11), _VEC),
    "doe": (lambda: get_estimator("doe", x_dim=2, y_dim=1, hidden=(8,), average=None, seed=12), _VEC),
    "lmi": (
        lambda: get_estimator("lmi", x_dim=2, y_dim=1, hidden=(8,), latent=2, k=3, alpha=0.5, seed=13),
        _VEC,
    ),
    "mienf": (
        lambda: get_estimator("mienf", x_dim=2, y_dim=1, hidden=(8,), flow="maf", transforms=1, seed=14),
        _VEC,
    ),
    "minde": (
        lambda: get_estimator("minde", x_dim=2, y_dim=1, hidden=(8,), p_cond=0.3, draws=2, seed=15),
        _VEC,
    ),
    "aamine": (lambda: get_estimator("aamine", subnet=_NET, noise_std=0.2, hidden=(8,), seed=4), _VEC[:1]),
    "dim": (
        lambda: get_estimator("dim", mode="global", hidden=8, seed=6),
        (torch.randn(16, 2, 3, 3), torch.randn(16, 2)),
    ),
    "gmi": (lambda: get_estimator("gmi", rep_dim=4, feature_dim=2, tmi_weight=0.5, seed=7), None),
    "dgi": (lambda: get_estimator("dgi", encoder=_ENCODER, rep_dim=3, lr=1e-2, seed=8), None),
}


def test_every_registry_entry_has_a_rebuild_case():
    assert set(REBUILD) == set(REGISTRY) - {"zero-test"}


@pytest.mark.parametrize("name", sorted(REBUILD))
def test_settings_rebuild_an_equivalent_estimator(name):
    """``cls(**est.settings())`` (plus the network it measures, which is not a setting) gives the same
    estimator: the same settings, and the same estimate on the same data."""
    make, data = REBUILD[name]
    est = make()
    network = {"aamine": {"subnet": _NET}, "dgi": {"encoder": _ENCODER}}.get(name, {})
    rebuilt = type(est)(**network, **est.settings())
    assert rebuilt.settings() == est.settings()
    if data is None:  # graphs
        x = torch.randn(10, 2)
        h = torch.randn(10, 4) if name == "gmi" else _ENCODER(x, None).detach()
        data = (h, (x, _ring(10)))
    assert float(rebuilt(*data)) == float(est(*data))


_X = torch.randn(60, 1, generator=torch.Generator().manual_seed(70))
_Y_NAN = _X.clone()
_Y_NAN[7] = float("nan")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        # The setting's name, not a torch error or a truthy string read as True.
        (lambda: KSG(seed="a"), "seed: expected an integer seed"),
        (lambda: KSG(seed=1.5), "seed: expected an integer seed"),
        (lambda: ibf.ksg_mi(_X, _X, seed="a"), "seed: expected an integer seed"),
        (lambda: KSG()(_X, _X, seed=None), "seed: expected an integer seed"),
        (lambda: KSG(standardize="no"), "standardize: expected True or False"),
        (lambda: ibf.ksg_mi(_X, _X, standardize="no"), "standardize: expected True or False"),
        (lambda: MixedKSG(standardize="no"), "standardize: expected True or False"),
        (lambda: RenyiMI(normalize="yes"), "normalize: expected True or False"),
        # Binning said x for a NaN in y; MixedKSG said labels for its y.
        (lambda: Binning()(_X, _Y_NAN), "y: contains NaN or Inf"),
        (lambda: MixedKSG()(_X, torch.zeros(50, dtype=torch.long)), "x has 60, y has 50"),
        # The meta device holds no values; torch's own errors named no argument.
        (lambda: KSG()(_X.to("meta"), _X), "x: is on the meta device"),
        (lambda: GaussianMI()(_X, _X.to("meta")), "y: is on the meta device"),
        (lambda: ibf.renyi_mi(_X.to("meta"), _X), "x: is on the meta device"),
        (lambda: ibf.dv_bound(_X.to("meta"), _X), "joint: is on the meta device"),
        (lambda: ibf.infonce_bound(torch.ones(3, 3, device="meta")), "scores: is on the meta device"),
        (lambda: ibf.matrix_entropy(torch.eye(3, device="meta")), "k: is on the meta device"),
        (
            lambda: ibf.discrete_mi(torch.zeros(4, dtype=torch.long, device="meta"), [0, 1, 0, 1]),
            "x: is on the meta",
        ),
    ],
)
def test_settings_and_inputs_are_checked_and_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


class _DefaultDraws(TorchDispatchMode):
    """Records the random ops that draw from torch's default generator (no ``generator`` given)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        for i, arg in enumerate(func._schema.arguments):
            given = kwargs.get("generator", args[i] if i < len(args) else None)
            if arg.name == "generator" and given is None:
                self.found.add(str(func))
        return func(*args, **kwargs)


@pytest.mark.parametrize("name", sorted(n for n in REBUILD if REGISTRY[n].trainable))
def test_a_training_step_draws_nothing_from_torchs_default_generators(name):
    """A training step's randomness (negatives, noise, times, dropout) comes from the estimator's own CPU
    generators, so a seed gives the same steps on any device: a GPU's generator draws other numbers
    than the CPU's, and the global ones are the caller's."""
    make, data = REBUILD[name]
    est = make()
    if data is None:  # graphs
        x = torch.randn(10, 2)
        h = torch.randn(10, 4) if name == "gmi" else _ENCODER(x, None).detach()
        data = (h, (x, _ring(10)))
    est.train_step(*data)  # lazy layers draw their (seeded) weights at the first call
    with _DefaultDraws() as seen:
        est.train_step(*data)
    assert not seen.found


def test_settings_are_read_from_the_declaration_made_once() -> None:
    """A class's settings are read from its signature once, when it is defined: ``declared`` lists
    each keyword with its default, and the registry and ``settings()`` go by it."""
    from iblearn.estimators.base import REQUIRED, Estimator

    class Tiny(Estimator):
        def __init__(self, *, width: int, k: int = 3, base: float = 2.0) -> None:
            super().__init__(base=base)
            self.width, self.k = width, k

    assert Tiny.declared.defaults == {"width": REQUIRED, "k": 3, "base": 2.0}
    assert not Tiny.declared.open
    assert Tiny(width=4).settings() == {"width": 4, "k": 3, "base": 2.0}
    from iblearn.estimators import registry

    registry.REGISTRY["tiny-test"] = Tiny
    try:
        with pytest.raises(ValueError, match="tiny-test needs width"):
            get_estimator("tiny-test", k=5)
        assert get_estimator("tiny-test", width=2).settings()["width"] == 2
    finally:
        del registry.REGISTRY["tiny-test"]
