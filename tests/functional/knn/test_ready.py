"""A sample made ready for the neighbour searches (standardized, jittered) is, bit for bit, the steps
written out one by one: constant columns found by comparing with the first row, the power-of-two scale
from the largest magnitude, the constant columns zeroed after centring; and the power of two from
ldexp on the CPU is the one built from float64 bits on any device."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iblearn.functional.knn.ksg import JITTER, ready
from iblearn.functional.scale import (
    constant_columns,
    power_of_two_at_most,
    power_of_two_bits,
    power_of_two_scale,
)

torch.set_num_threads(1)


def _stepwise(t: torch.Tensor, seed: int) -> torch.Tensor:
    """:func:`ready` (standardized, jittered) step by step, for samples the first jitter leaves untied."""
    constant = constant_columns(t)
    t = t / power_of_two_scale(t, dim=0)
    t = t - t.mean(dim=0)
    t[:, constant] = 0.0
    std = t.std(dim=0, unbiased=False)
    t = t / torch.where(std > 0, std, torch.ones_like(std))
    std = (std > 0).to(torch.float64)
    noise = torch.randn(t.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return t + JITTER * std * noise


@pytest.mark.parametrize("scale", [1.0, 1e200, 1e-200, -3.0])
def test_ready_is_its_steps_to_the_last_bit(scale):
    g = torch.Generator().manual_seed(4)
    t = scale * torch.randn(700, 4, generator=g, dtype=torch.float64)
    t[:, 2] = 1.0 / 3.0  # constant: its centred value must be exactly 0
    t[:, 3] *= 1e-3
    out = ready(t.clone(), "x", standardize=True, ties="jitter", seed=9)
    assert torch.equal(out.view(torch.int64), _stepwise(t.clone(), 9).view(torch.int64))
    assert bool((out[:, 2] == JITTER * 0.0).all())


def test_every_column_constant_is_refused():
    with pytest.raises(ValueError, match="x: every column is constant"):
        ready(torch.ones(50, 2, dtype=torch.float64), "x", standardize=True, ties="jitter", seed=0)


def test_the_power_of_two_by_ldexp_is_the_one_by_its_bits():
    rng = np.random.default_rng(0)
    tops = np.ldexp(rng.random(5000) + 0.5, rng.integers(-1080, 1024, 5000))
    edges = [0.0, 5e-324, 1e-320, 2.2250738585072014e-308, 1.0, 0.75, 2.0, 1e308, np.finfo(float).max, np.inf]
    top = torch.from_numpy(np.concatenate([tops, edges]))
    by_ldexp, by_bits = power_of_two_at_most(top), power_of_two_bits(top)
    assert torch.equal(by_ldexp.view(torch.int64), by_bits.view(torch.int64))
    assert by_ldexp[-10] == 1.0  # a zero magnitude: no scale
    one = torch.tensor(3.0, dtype=torch.float32)
    assert power_of_two_at_most(one).shape == () and float(power_of_two_at_most(one)) == 2.0


@pytest.mark.parametrize("n", [2, 57, 700])
def test_columns_prepared_together_are_each_prepared_alone(n):
    """prepare_samples makes single CPU float64 columns ready together (ready_columns, a seed a column):
    each is prepare's column alone, bit for bit, at extreme scales and with tied values among them."""
    from iblearn.functional.knn.ksg import prepare, prepare_samples

    g = torch.Generator().manual_seed(n)
    t = torch.randn(n, 6, generator=g, dtype=torch.float64) * torch.tensor(
        [1.0, 1e200, 1e-200, 1.0, 3.0, 1.0], dtype=torch.float64
    )
    t[:, 3] = 0.25 + 1e-15 * t[:, 3]  # the same value up to a few of its last bits
    t[:, 4] = torch.round(t[:, 4])  # tied values
    named = [(f"x[:, {j}]", t[:, j : j + 1]) for j in range(5)] + [("flat", t[:, 5])]
    for seeds in (None, [7, 3, 3, 11, 0, 2]):
        together, _ = prepare_samples(named, 1, standardize=True, ties="jitter", seed=5, seeds=seeds)
        for j, (name, value) in enumerate(named):
            alone = prepare(
                value, name, standardize=True, ties="jitter", seed=5 + j if seeds is None else seeds[j]
            )
            assert torch.equal(together[j], alone) and together[j].shape == (n, 1)


def test_columns_prepared_together_name_a_bad_column_as_alone():
    from iblearn.functional.knn.ksg import prepare_samples

    t = torch.randn(40, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    named = [(f"x[:, {j}]", t[:, j : j + 1]) for j in range(3)]
    t[7, 1] = float("nan")
    with pytest.raises(ValueError, match=r"x\[:, 1\]: contains NaN or Inf \(first at sample 7\)"):
        prepare_samples(named, 3, standardize=True, ties="jitter", seed=0)
    t[7, 1], t[:, 2] = 0.0, 1.5
    with pytest.raises(ValueError, match=r"x\[:, 2\]: every column is constant"):
        prepare_samples(named, 3, standardize=True, ties="jitter", seed=0)
