"""What a neural estimate is judged against: input it cannot be computed from is refused with a
ValueError naming the argument (NaN or Inf whatever the standardization, values a float32 critic
cannot hold, a constant variable), and a number that is impossible for the data (below 0 beyond its
sampling error, above H(Y) of the labels, above log N for a lower bound, at InfoNCE's log B) comes back
with ``reliable=False`` and a caveat saying why, for every estimator, bound or not."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from iblearn import estimate_mi
from iblearn.estimation.split import measured
from iblearn.estimation.verdict import estimator_verdict, impossible_verdict
from iblearn.estimators import (
    KSG,
    MINDE,
    MINE,
    SMILE,
    Binning,
    DoE,
    GaussianMI,
    InfoNCE,
    MIEstimate,
    MixedKSG,
    reliability,
)
from iblearn.estimators.neural import UnreliableEstimateWarning
from iblearn.estimators.neural.mienf import MIENF

# Bounds of critics that never trained, read on purpose (how a bound is computed, agrees, or is judged,
# not what it estimates): the warning that such an estimate says nothing of the data is expected.
pytestmark = [
    pytest.mark.usefixtures("one_thread"),
    pytest.mark.filterwarnings("ignore:.*taken no training step:UserWarning"),
]


def _pairs(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, generator=g)
    return x, x + torch.randn(n, 1, generator=g)


# ------------------------------------------------------------------------------------ refused input
@pytest.mark.parametrize("standardize", ["ranks", "moments", "none"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("name", ["x", "y"])
def test_nan_or_inf_rows_are_refused_whatever_the_standardization(standardize, bad, name):
    x, y = _pairs(200)
    (x if name == "x" else y)[:20] = bad  # normal scores would map these rows to finite values
    with pytest.raises(ValueError, match=rf"^{name}: contains NaN or Inf"):
        estimate_mi(x, y, "infonce", steps=1, hidden=(4,), standardize=standardize)


@pytest.mark.parametrize("method", ["doe", "mienf", "minde"])
def test_nan_rows_are_a_value_error_for_every_method(method):
    x, y = _pairs(200)
    x[:20] = float("nan")
    with pytest.raises(ValueError, match=r"^x: contains NaN or Inf"):
        estimate_mi(x, y, method, steps=1, hidden=(4,))


def test_values_that_overflow_a_float32_critic_are_named_as_such():
    x, y = _pairs(200)
    with pytest.raises(ValueError, match=r"^x: .*overflow float32.*standardize"):
        estimate_mi(x.double() * 1e200, y, "infonce", steps=1, hidden=(4,), standardize="none")
    with pytest.raises(ValueError, match=r"^y: .*overflow float32"):
        InfoNCE(1, 1, hidden=(4,))(x, y.double() * 1e200)


@pytest.mark.parametrize("method", ["mienf", "minde", "doe", "lmi", "infonce", "smile"])
@pytest.mark.parametrize("name", ["x", "y"])
def test_a_constant_variable_is_refused_by_the_one_call_estimate(method, name):
    x, y = _pairs(100)
    (x if name == "x" else y).fill_(3.0)
    with pytest.raises(ValueError, match=rf"^{name}: every column is constant"):
        estimate_mi(x, y, method, steps=1, hidden=(4,))


@pytest.mark.parametrize("cls", [MIENF, MINDE, DoE])
def test_a_constant_x_is_refused_by_fit_and_by_the_estimate(cls):
    x, y = _pairs(100)
    constant = torch.ones(100, 1)
    with pytest.raises(ValueError, match=r"^x: every column is constant"):
        cls(1, 1, hidden=(4,)).fit(constant, y, steps=1)
    est = cls(1, 1, hidden=(4,)).fit(x, y, steps=1)
    with pytest.raises(ValueError, match=r"^x: every column is constant"):
        est(constant, y)


def test_labels_of_one_class_are_refused():
    x, _ = _pairs(100)
    with pytest.raises(ValueError, match=r"^y: every sample has the same label"):
        estimate_mi(x, torch.zeros(100, dtype=torch.long), "mine", steps=1, hidden=(4,))


def test_too_few_test_rows_for_a_standard_error_are_named_before_fitting():
    x, y = _pairs(12)
    with pytest.raises(ValueError, match=r"^test: .*n_resamples"):
        estimate_mi(x, y, "mienf", steps=1, hidden=(4,))


# --------------------------------------------------------------------------------- the judgement
def _estimate(value: float, *, n: int = 400, bound=None, stderr=None, limit=None) -> MIEstimate:
    return MIEstimate(
        torch.tensor(value), n_samples=n, estimator="e", bound=bound, stderr=stderr, limit=limit
    )


@pytest.mark.parametrize(
    ("result", "entropy", "why"),
    [
        (_estimate(-0.3), None, "below 0"),
        (_estimate(-0.3, bound="upper"), None, "below 0"),
        (_estimate(-0.3, stderr=0.05), None, "below 0"),
        (_estimate(1.5), math.log(3), "above H\\(Y\\)"),
        (_estimate(7.0, n=400, bound="lower"), None, "log N = 5.99"),
        (_estimate(math.log(64) - 0.01, bound="lower", limit=math.log(64)), None, "ceiling"),
    ],
)
def test_an_impossible_value_is_flagged_with_why(result, entropy, why):
    with pytest.warns(UnreliableEstimateWarning, match=why):
        flagged = impossible_verdict(result, "e", math.e, entropy=entropy)
    assert flagged.reliable is False and flagged.caveat is not None
    assert why.replace("\\", "") in flagged.caveat


@pytest.mark.parametrize(
    ("result", "entropy"),
    [
        (_estimate(-0.3, stderr=0.2), None),  # within two standard errors of 0
        (_estimate(-0.02), None),
        (_estimate(1.0), math.log(3)),
        (_estimate(7.0, n=400), None),  # no bound: log N is no ceiling (DoE, MIENF)
        (_estimate(2.0, bound="lower", limit=math.log(64)), None),
    ],
)
def test_a_possible_value_is_left_alone(result, entropy):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # not flagged, not checked
        assert impossible_verdict(result, "e", math.e, entropy=entropy).reliable is None


class _NegativeDoE(DoE):
    def _estimate(self, mean, log_var, y):
        return mean.sum() * 0 - 1.0


class _NegativeMINDE(MINDE):
    def _estimate(self, x, y):
        return x.sum() * 0 - 1.0


class _NegativeMIENF(MIENF):
    def _estimate(self, x, y):
        return x.sum() * 0 - 1.0


class _NegativeSMILE(SMILE):
    def _pooled(self, joint, marginal):
        return joint.sum() * 0 - 1.0


@pytest.mark.parametrize("cls", [_NegativeDoE, _NegativeMINDE, _NegativeMIENF, _NegativeSMILE])
def test_estimators_without_a_bound_are_judged_too(cls):
    x, y = _pairs(100)
    with pytest.warns(UnreliableEstimateWarning, match="below 0"):
        result = measured(cls(1, 1, hidden=(4,)), (x, y))
    assert result.reliable is False and "below 0" in result.caveat


def test_an_estimator_called_alone_returns_the_figures_not_a_verdict():
    # The verdict is the front door's (estimation.verdict): alone, an impossible value is "not checked".
    x, y = _pairs(100)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnreliableEstimateWarning)
        result = _NegativeSMILE(1, 1, hidden=(4,))(x, y)
    assert float(result) == pytest.approx(-1.0) and result.reliable is None and result.caveat is None


class _Confident(MINE):
    def _pooled(self, joint, marginal):
        return joint.sum() * 0 + 5.0


def test_an_estimate_above_the_entropy_of_the_labels_is_flagged():
    x, _ = _pairs(300)
    labels = torch.arange(300) % 3
    with pytest.warns(UnreliableEstimateWarning, match=r"above H\(Y\) = 1.10"):
        result = measured(_Confident(1, y_classes=3, hidden=(4,)), (x, labels))
    assert result.reliable is False


def test_a_lower_bound_above_log_n_is_flagged():
    x, y = _pairs(100)
    with pytest.warns(UnreliableEstimateWarning, match="log N = 4.605"):
        assert measured(_Confident(1, 1, hidden=(4,)), (x, y)).reliable is False


class _Saturated(InfoNCE):
    def mi(self, x, y):
        return torch.tensor(math.log(8.0))


def test_infonce_at_its_ceiling_says_so():
    x, y = _pairs(100)
    with pytest.warns(UnreliableEstimateWarning, match="ceiling log B = 2.079 .*eval_batch_size"):
        result = measured(_Saturated(1, 1, hidden=(4,), eval_batch_size=8), (x, y))
    assert result.reliable is False and result.limit == pytest.approx(math.log(8))


def test_estimate_mi_flags_a_batch_larger_than_the_training_rows():
    x, y = _pairs(200)
    with pytest.warns(UnreliableEstimateWarning, match="batch_size 1000 .* 128 training rows"):
        result = estimate_mi(x, y, "mine", steps=50, hidden=(8,), lr=5e-3, batch_size=1000, n_resamples=0)
    assert result.reliable is False and "batch_size" in result.caveat


def test_a_reasonable_estimate_stays_reliable():
    x, y = _pairs(1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = estimate_mi(x, y, "mine", steps=150, hidden=(16,), lr=5e-3, n_resamples=4)
    assert result.reliable is None and result.caveat is None and float(result) > 0


# ------------------------------------------------------------------------- non-parametric estimates
def test_a_non_parametric_estimate_above_the_entropy_of_a_discrete_variable_is_flagged():
    """GaussianMI on one-hot labels (floats with 10 distinct rows) reads far above H(Y) = log 10."""
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 10, (1000,), generator=g)
    onehot = torch.nn.functional.one_hot(labels, 10).double()
    x = onehot + 0.01 * torch.randn(1000, 10, generator=g, dtype=torch.float64)
    with pytest.warns(UnreliableEstimateWarning, match=r"gaussian: .*above H\(Y\) = 2\.30"):
        result = measured(GaussianMI(), (x, onehot))
    assert result.reliable is False and "discrete values" in result.caveat
    with pytest.warns(UnreliableEstimateWarning, match=r"above H\(X\)"):
        # x discrete: H(X) is the ceiling as well
        assert measured(GaussianMI(), (onehot, x)).reliable is False


@pytest.mark.parametrize(
    "make", [lambda: KSG(), lambda: GaussianMI(), lambda: MixedKSG(), lambda: Binning(4)]
)
def test_non_parametric_estimates_of_ordinary_data_stay_reliable(make):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(500, 2, generator=g, dtype=torch.float64)
    labels = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    y = labels if isinstance(make(), MixedKSG) else x + torch.randn(500, 2, generator=g, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnreliableEstimateWarning)
        assert measured(make(), (x, y)).reliable is None


def test_a_non_parametric_estimate_below_zero_beyond_its_error_is_flagged():
    est = MIEstimate(torch.tensor(-0.3), n_samples=50, estimator="ksg", stderr=0.05)
    with pytest.warns(UnreliableEstimateWarning, match="below 0 beyond its sampling error; the estimator is"):
        flagged = estimator_verdict(KSG(), est, (torch.randn(50, 3), torch.randn(50, 3)), 0)
    assert flagged.reliable is False
    fine = MIEstimate(torch.tensor(-0.3), n_samples=50, estimator="ksg", stderr=0.2)  # within 2 se
    assert estimator_verdict(KSG(), fine, (torch.randn(50, 3), torch.randn(50, 3)), 0).reliable is None


def test_the_gaussian_closed_form_trusts_a_gaussian_on_a_subspace_and_not_a_shared_scale():
    from iblearn.data import high_mi, student_t

    # Four pairs mapped linearly into 100 dimensions a side: whitened in all 200 dimensions their normal
    # scores read magnitudes z 38.7; whitened in their own rank, as the closed form sees them, they pass.
    gaussian = measured(GaussianMI(), high_mi(2.0, 100).sample(5000, seed=0), n_resamples=16)
    assert gaussian.reliable is None, gaussian.caveat
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreliableEstimateWarning)
        shared = measured(GaussianMI(), student_t(3, 3, dof=8, rho=0.5).sample(5000, seed=0), n_resamples=16)
    assert shared.reliable is False and "magnitudes depend" in shared.caveat


def test_the_gaussian_closed_form_on_one_column_a_side_is_checked_against_ksg():
    from iblearn.data import get_exact_task

    x, y = (torch.as_tensor(a) for a in get_exact_task("additive-uniform-0.75").sample(2000, seed=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreliableEstimateWarning)
        est = measured(GaussianMI(), (x, y), n_resamples=16)
    assert est.reliable is False and "KSG on the same columns" in est.caveat


def test_the_discrete_check_reads_few_values_of_continuous_samples(monkeypatch):
    """Continuous samples are told from discrete ones by their first values alone, with the answer of
    the full count of distinct values wherever those do not settle it."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(1000, 2, generator=g), torch.randn(1000, generator=g, dtype=torch.float64)
    levels = torch.randint(0, 5, (1000, 1), generator=g).to(torch.float64)
    late = torch.cat([torch.zeros(150), torch.randn(850, generator=g)])[:, None]  # ties, then many
    expected = [reliability.discrete_ceiling(a, b) for a, b in ((x, y), (levels, y), (late, x), (x, levels))]
    calls = []
    unique = torch.unique
    monkeypatch.setattr(torch, "unique", lambda *a, **kw: calls.append(1) or unique(*a, **kw))
    assert reliability.discrete_ceiling(x, y) is None and not calls  # no sort of all N values
    got = [reliability.discrete_ceiling(a, b) for a, b in ((x, y), (levels, y), (late, x), (x, levels))]
    assert got == expected and expected[1] is not None and expected[2] is None
