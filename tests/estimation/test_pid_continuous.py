"""The PID of continuous samples through the front door by every redundancy measure: shared exclusion by
nearest neighbours, BROJA, I_ccs and I_dep by the Gaussian PID (of the normal scores where the data do
not look Gaussian), each part with its half-sampling interval, checks and report."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

import iblearn.functional as ibf
from iblearn import estimate
from iblearn.functional.multivariate.pid_sx_knn import ksg_sx_pid

torch.set_num_threads(1)


def _sum(n: int = 800, seed: int = 0, d_target: int = 1) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    x1, x2 = (torch.randn(n, 1, generator=g, dtype=torch.float64) for _ in range(2))
    t = x1 + x2 + 0.5 * torch.randn(n, 1, generator=g, dtype=torch.float64)
    if d_target > 1:
        t = torch.cat([t, x1 - x2 + torch.randn(n, d_target - 1, generator=g, dtype=torch.float64)], 1)
    return x1, x2, t


def quiet(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimate(*args, **kw)


@pytest.mark.parametrize(
    ("redundancy", "chosen"),
    [
        ("sx", "ksg"),
        ("broja", "gaussian"),
        pytest.param("ccs", "gaussian", marks=pytest.mark.slow),  # I_ccs's solver on 22 resamples
        ("dep", "gaussian"),
    ],
)
def test_each_part_carries_a_finite_interval_around_its_value(redundancy, chosen):
    parts = quiet("pid", *_sum(), redundancy=redundancy)
    assert set(parts) == {"redundancy", "unique_1", "unique_2", "synergy", "total"}
    for part in parts.values():
        low, high = part.interval
        assert math.isfinite(low) and math.isfinite(high) and low <= float(part) <= high
        assert part.report.chosen == chosen and part.confidence == 0.95 and part.stderr > 0
        assert set(part.report.checks) >= {"independence"}
    total = sum(float(parts[p]) for p in ("redundancy", "unique_1", "unique_2", "synergy"))
    assert total == pytest.approx(float(parts["total"]), abs=1e-9)
    low, high = parts["total"].interval
    assert low < math.log(1 + 2 / 0.25) / 2 < high  # I(X1, X2; T)


def test_sx_through_the_door_is_the_nearest_neighbour_estimator_on_the_same_seed():
    x1, x2, t = _sum(seed=1)
    door = quiet("pid", x1, x2, t, redundancy="sx", k=4, seed=3)
    direct = ksg_sx_pid(x1, x2, t, k=4, seed=3)
    for name, value in direct._asdict().items():
        assert float(door[name]) == float(value)
    assert "shared exclusion by nearest neighbours" in door["redundancy"].report.why
    named = estimate("pid", x1, x2, t, method="ksg", redundancy="sx", k=4, seed=3, n_resamples=4)
    assert float(named["synergy"]) == float(direct.synergy) and named["synergy"].interval is not None


@pytest.mark.parametrize(("redundancy", "method"), [("sx", "ksg"), ("ccs", "gaussian")])
def test_the_door_s_intervals_are_pid_interval_s(redundancy, method):
    # pid_interval draws the same halves and reads them by the same inference core.
    x1, x2, t = _sum(600, seed=2)
    door = quiet("pid", x1, x2, t, method=method, redundancy=redundancy, n_resamples=2)
    ref = ibf.pid_interval(x1, x2, t, redundancy=redundancy, method=method, n_resamples=2)
    for name, part in ref.items():
        assert door[name].interval == pytest.approx((part.low, part.high), abs=1e-12)
        assert door[name].stderr == pytest.approx(part.stderr, abs=1e-12)


def test_not_gaussian_looking_data_take_the_copula_and_say_so():
    x1, x2, t = _sum(seed=3)
    parts = quiet("pid", x1.exp(), x2**3, t, redundancy="dep")
    assert parts["synergy"].report.chosen == "copula" and "normal scores" in parts["synergy"].report.why
    gaussian = quiet("pid", x1, x2, t, redundancy="dep")
    assert abs(float(parts["synergy"]) - float(gaussian["synergy"])) < 0.05


def test_data_gaussian_in_no_coordinates_flag_a_copula_pid():
    g = torch.Generator().manual_seed(4)
    x1, x2 = (torch.rand(800, 1, generator=g, dtype=torch.float64) - 0.5 for _ in range(2))
    parts = quiet(
        "pid",
        x1,
        x2,
        x1 * x2 + 0.01 * torch.randn(800, 1, generator=g, dtype=torch.float64),
        redundancy="dep",
    )
    assert not parts["synergy"].reliable and "no nearest-neighbour estimator" in parts["synergy"].caveat


def test_mmi_with_a_vector_target_says_what_it_is():
    parts = quiet("pid", *_sum(d_target=2))
    assert "minimum-MI PID only, not BROJA's" in parts["redundancy"].report.why
    scalar = quiet("pid", *_sum(), redundancy="broja")
    assert "BROJA's redundancy is MMI's" in scalar["redundancy"].report.why


def test_a_bad_redundancy_is_refused_naming_the_argument():
    x1, x2, t = _sum(200)
    with pytest.raises(ValueError, match=r"^redundancy: expected one of"):
        estimate("pid", x1, x2, t, redundancy="nope")
    with pytest.raises(ValueError, match=r"^redundancy: 'min' with method='gaussian' is not available"):
        estimate("pid", x1, x2, t, redundancy="min")
    with pytest.raises(ValueError, match=r"^redundancy: 'sx' with method='gaussian' is not available"):
        estimate("pid", x1, x2, t, method="gaussian", redundancy="sx")
    with pytest.raises(ValueError, match=r"^redundancy: expected one of"):
        estimate("pid", x1, x2, t, method="ksg", redundancy="nope")
    with pytest.raises(ValueError, match=r"^n_permutations: redundancy='ccs' takes n_resamples and seed"):
        estimate("pid", x1, x2, t, method="gaussian", redundancy="ccs", n_permutations=10)


def test_a_target_of_integral_numbers_reads_as_the_same_labels_as_integers():
    # MI's rule reads a column of few integral values as class labels whatever its dtype; so does the
    # PID's, and its parts are those of the integer labels.
    x1, x2, t = _sum(600)
    labels = (t[:, 0] > 0).long() + (x1[:, 0] > 1).long()
    as_int = quiet("pid", x1, x2, labels)
    as_float = quiet("pid", x1, x2, labels.double())
    assert as_int["total"].report.chosen == "ksg"
    for name in ("redundancy", "unique_1", "unique_2", "synergy", "total"):
        assert float(as_float[name]) == float(as_int[name])
