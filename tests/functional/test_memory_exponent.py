"""The memory exponent of a series (Geweke & Porter-Hudak's log-periodogram regression): d for a
spectrum rising as f^(-2d) (1/2 for 1/f noise), about 0 for short memory, and the trials of a process
pooled."""

from __future__ import annotations

import numpy as np
import pytest

from iblearn.functional.serial import LONG_MEMORY, memory_exponent


def power_law(t: int, rng: np.random.Generator, d: float = 0.5) -> np.ndarray:
    """White noise shaped to a power spectrum falling as f^(-2d) (1/f noise for d = 1/2), ``t`` steps of
    a longer run."""
    spectrum = np.fft.rfft(rng.standard_normal(4 * t))
    f = np.fft.rfftfreq(4 * t)
    f[0] = f[1]
    return np.fft.irfft(spectrum / f**d, n=4 * t)[t : 2 * t]


def ar1(t: int, a: float, rng: np.random.Generator) -> np.ndarray:
    x = rng.standard_normal(t + 100)
    for step in range(1, len(x)):
        x[step] += a * x[step - 1]
    return x[100:]


@pytest.mark.parametrize("seed", range(3))
def test_the_exponent_of_power_law_noise_and_of_an_ar_half(seed):
    # Eight trials of 1,000 samples pooled: 248 frequencies, a standard error of about 0.04.
    rng = np.random.default_rng(seed)
    exponents = [memory_exponent([power_law(1000, rng, d) for _ in range(8)]) for d in (0.5, 0.8)]
    short = memory_exponent([ar1(1000, 0.5, rng) for _ in range(8)])
    assert exponents == [pytest.approx(0.5, abs=0.1), pytest.approx(0.8, abs=0.1)]
    assert short == pytest.approx(0.0, abs=0.1)


@pytest.mark.parametrize("seed", range(3))
def test_a_steep_long_memory_is_flagged_and_an_ar_half_is_not(seed):
    rng = np.random.default_rng(seed)
    steep = memory_exponent([power_law(300, rng, 0.9)])
    short = memory_exponent([ar1(300, 0.5, rng)])
    assert steep is not None and short is not None
    assert short < LONG_MEMORY < steep


def test_trials_are_pooled_into_one_regression():
    rng = np.random.default_rng(5)
    trials = [power_law(400, rng) for _ in range(10)]
    pooled = memory_exponent(trials)
    alone = [memory_exponent([t]) for t in trials]
    # Ten trials' frequencies in one regression: between the trials' own, nearer 1/2 than most.
    assert pooled is not None and min(alone) < pooled < max(alone)
    assert abs(pooled - 0.5) < 0.15


@pytest.mark.parametrize("scale", [1e-300, 1e6, 1e300])
def test_the_exponent_does_not_depend_on_scale_or_level(scale):
    x = power_law(500, np.random.default_rng(2))
    assert memory_exponent([scale * x + 3.0 * scale]) == pytest.approx(memory_exponent([x]), abs=1e-9)


def test_too_few_frequencies_or_no_variation_read_nothing():
    rng = np.random.default_rng(1)
    assert memory_exponent([rng.standard_normal(99)]) is None  # floor(sqrt(99)) = 9 frequencies
    assert memory_exponent([rng.standard_normal(100)]) is not None
    # Short trials pooled: 4 trials of 30 samples, 5 frequencies each.
    assert memory_exponent([rng.standard_normal(30) for _ in range(4)]) is not None
    assert memory_exponent([np.ones(100)]) is None
