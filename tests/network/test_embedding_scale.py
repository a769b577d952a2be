"""Network inference reads each process up to its scale: 1e-300 and 1e300 data give the network of
the same data at unit scale (their variances would underflow or overflow if taken first)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iblearn.network import infer_network

torch.set_num_threads(1)


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_the_network_of_scaled_data_is_the_network_of_the_data(scale: float) -> None:
    rng = np.random.default_rng(0)
    data = np.zeros((300, 3))
    for t in range(1, 300):
        data[t] = rng.normal(size=3)
        data[t, 1] += 0.8 * data[t - 1, 0]
    plain = infer_network(data, method="gaussian", n_permutations=20, seed=0)
    scaled = infer_network(data * scale, method="gaussian", n_permutations=20, seed=0)
    assert [t.sources for t in scaled.targets] == [t.sources for t in plain.targets]
    for a, b in zip(plain.targets, scaled.targets, strict=True):
        assert np.allclose(a.te, b.te, atol=1e-9)
