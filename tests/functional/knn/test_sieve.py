"""The compiled sieve bootstrap's series against the numpy path of
:func:`iblearn.functional.cmi_surrogates.renewed`: the same series up to rounding, for every order the
kernel takes, trials short and long, and ``out`` laid out or not."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from iblearn.functional import cmi_surrogates
from iblearn.functional.knn import sieve
from iblearn.functional.knn.neighbors import HAVE_KERNEL

pytestmark = pytest.mark.skipif(not HAVE_KERNEL, reason="the compiled kernel was not built")


def _numpy(x: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    fit = cmi_surrogates.autoregression(x)
    return cmi_surrogates._renewed_rows(x, seeds, *fit)


@pytest.mark.parametrize(
    ("a", "length"),
    [([1, -0.5], 60), ([1, -0.6, 0.2], 1000), ([1, -0.99], 400), ([1, -1.2, 0.5, -0.1, 0.05], 3000)],
)
def test_the_kernel_draws_the_numpy_series(a, length):
    rng = np.random.default_rng(length)
    x = lfilter([1.0], a, rng.standard_normal(length)) + 2.0
    seeds = rng.integers(0, 2**63, size=37, dtype=np.uint64)
    seeds[0] = 2**64 - 1  # the stream's words wrap around
    want = _numpy(x, seeds)
    got = cmi_surrogates.renewed(x, seeds)
    assert np.allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())
    wide = np.zeros((len(seeds), length, 2))
    cmi_surrogates.renewed(x, seeds, wide[:, :, 1])  # written through a view that is not contiguous
    assert np.array_equal(wide[:, :, 1], got) and not wide[:, :, 0].any()


def test_every_order_the_kernel_takes_and_none_above(monkeypatch):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(300)
    seeds = np.arange(9, dtype=np.uint64)
    c, _, e = cmi_surrogates.autoregression(x)
    for q in range(1, sieve._maxnorm.SIEVE_ORDER + 1):
        phi = 0.5 ** np.arange(1, q + 1) * (-1) ** np.arange(q)
        out = np.empty((len(seeds), len(x)))
        assert sieve.sieve_series(x, seeds, c, phi, e, out)
        want = cmi_surrogates._renewed_rows(x, seeds, c, phi, e)
        assert np.allclose(out, want, rtol=0, atol=1e-12)
    assert not sieve.sieve_series(x, seeds, c, np.full(sieve._maxnorm.SIEVE_ORDER + 1, 0.01), e, out)
    monkeypatch.setattr(sieve, "HAVE_KERNEL", False)
    assert not sieve.sieve_series(x, seeds, c, phi, e, out)
