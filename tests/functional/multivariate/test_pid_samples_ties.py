"""PID intervals where the sources' informations tie: the minimum-MI parts' intervals composed from
smooth functions of the sample (BROJA's of labels at the minimum-MI corner), separated sources and
BROJA away from the corner unchanged."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from iblearn.functional import pid, pid_interval
from iblearn.functional.inference import resample_rows
from iblearn.functional.multivariate.pid_intervals import minimum_mi_spans, part_spans
from iblearn.functional.multivariate.pid_samples import PART_NAMES, broja_spans

torch.set_num_threads(1)
#: I(X1; T) = I(X2; T) = the minimum-MI redundancy of t = x1 + x2 + 0.5 e, nats.
TIED = 0.5 * math.log(2.25 / 1.25)


def _gaussians(n: int, seed: int, weight: float = 1.0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    x1, x2, e = (torch.randn(n, 1, generator=g, dtype=torch.float64) for _ in range(3))
    return x1, x2, weight * x1 + x2 + 0.5 * e


def _resampled(data: tuple[torch.Tensor, ...], n_resamples: int, **kwargs) -> tuple[np.ndarray, ...]:
    def parts(rows):
        got = pid(*(d[rows] for d in data), **kwargs)
        return [*map(float, got), float(got.total)]

    n = len(data[0])
    draws = [parts(torch.from_numpy(resample_rows(n, "half", 0, i))) for i in range(n_resamples)]
    return np.array(parts(slice(None))), np.array(draws)


@pytest.mark.parametrize("seed", [21, 22])
def test_a_tie_s_redundancy_interval_holds_the_truth_the_part_s_own_misses(seed: int) -> None:
    data = _gaussians(1000, seed)
    whole, draws = _resampled(data, 20, method="gaussian")
    _, low, high = part_spans(whole, draws, 1000, "half")[0]
    assert not low <= TIED <= high  # the minimum of two noisy branches reads low
    got = pid_interval(*data, method="gaussian", n_resamples=20)["redundancy"]
    assert got.low <= TIED <= got.high


@pytest.mark.parametrize("redundancy", ["mmi", "broja"])
def test_separated_sources_keep_each_part_s_own_interval(redundancy: str) -> None:
    data = _gaussians(1000, 3, weight=2.0)
    whole, draws = _resampled(data, 20, redundancy=redundancy, method="gaussian")
    got = pid_interval(*data, redundancy=redundancy, method="gaussian", n_resamples=20)
    for name, (stderr, low, high) in zip(PART_NAMES, part_spans(whole, draws, 1000, "half"), strict=True):
        if float(got[name].value) == 0.0:  # a unique part held at 0: [0, a width], not the point 0
            assert got[name].low == 0.0 and got[name].high > high
            continue
        assert (got[name].stderr, got[name].low, got[name].high) == pytest.approx(
            (stderr, low, high), abs=1e-12
        )


def test_composed_intervals_hold_each_estimate_and_unique_parts_stay_non_negative() -> None:
    for seed in range(4):
        whole, draws = _resampled(_gaussians(400, seed), 10, method="gaussian")
        spans = minimum_mi_spans(whole, draws, 400, "half")
        for value, (_, low, high) in zip(whole, spans, strict=True):
            assert low <= value <= high
        assert spans[1][1] >= 0 and spans[2][1] >= 0
        assert spans[4] == part_spans(whole, draws, 400, "half")[4]  # the total is smooth


def test_broja_of_labels_at_the_minimum_mi_corner_takes_the_composed_intervals() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randint(0, 2, (500,), generator=g), torch.randint(0, 2, (500,), generator=g)
    broja, mmi = (pid_interval(a, b, a & b, redundancy=m, n_resamples=20) for m in ("broja", "mmi"))
    for name in PART_NAMES:  # AND: a unique part is 0 on every resample, BROJA's parts are MMI's
        assert (broja[name].low, broja[name].high) == pytest.approx((mmi[name].low, mmi[name].high), abs=1e-9)
    assert broja["unique_1"].low >= 0 and broja["unique_2"].low >= 0


def test_broja_of_labels_off_the_corner_keeps_each_part_s_own_interval() -> None:
    g = torch.Generator().manual_seed(1)
    a, b = torch.randint(0, 2, (600,), generator=g), torch.randint(0, 2, (600,), generator=g)
    data = (a, b, 2 * a + b)  # two-bit copy: each unique part log 2
    whole, draws = _resampled(data, 10, redundancy="broja")
    assert broja_spans(whole, draws, 600, "half") == part_spans(whole, draws, 600, "half")
    straddling = draws.copy()
    straddling[0, 1] = 0.0  # one resample at the corner: the union of both intervals
    union = broja_spans(whole, straddling, 600, "half")
    for (_, low, high), (_, own_low, own_high) in zip(
        union, part_spans(whole, straddling, 600, "half"), strict=True
    ):
        assert low <= own_low and high >= own_high


@pytest.mark.slow
def test_a_tie_s_redundancy_covers_at_the_nominal_rate_over_seeds() -> None:
    hits = [
        pid_interval(*_gaussians(1000, seed), method="gaussian", n_resamples=20, seed=seed)["redundancy"]
        for seed in range(200)
    ]
    assert np.mean([p.low <= TIED <= p.high for p in hits]) >= 0.92


def test_a_unique_part_held_at_zero_keeps_a_width() -> None:
    # X1 carries clearly more about T than X2: u2 = max(0, I2 - I1) is 0 with every resample's D > 0.
    data = _gaussians(1000, 3, weight=2.0)
    got = pid_interval(*data, redundancy="mmi", method="gaussian", n_resamples=20)
    u1, u2 = got[PART_NAMES[1]], got[PART_NAMES[2]]
    assert float(u2.value) == 0.0 and u1.low > 0
    # Its interval is [0, half-width of D's] (not the point 0), as for any part held at 0.
    assert u2.low == 0.0
    assert u2.high == pytest.approx((u1.high - u1.low) / 2, rel=1e-9)


def test_pid_estimate_composes_its_parts_intervals_as_pid_interval_does():
    # x1 + x2 with equal weights: I(X1; T) = I(X2; T), the tie where a minimum's own resamples read low.
    # The estimate's parts take the intervals composed from the smooth functions, on the same resamples.
    from iblearn.data import get_exact_task
    from iblearn.functional import pid_estimate
    from iblearn.functional.multivariate.pid_samples import pid_interval

    x1, x2, t = get_exact_task("pid-gauss-sum-synergy").sample(1000, seed=0)
    parts = pid_estimate(x1, x2, t, method="gaussian", n_resamples=50, seed=0)
    composed = pid_interval(x1, x2, t, method="gaussian", n_resamples=50, scheme="bootstrap", seed=0)
    for name in PART_NAMES:
        assert parts[name].interval == pytest.approx((composed[name].low, composed[name].high), rel=1e-12)
