"""The kNN CMI of many variables against one (y, z) at once in torch: the exact estimator's counts and
numbers for every b, whatever the chunking."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iblearn.functional import ksg_cmi, ksg_mi
from iblearn.functional.knn import cmi_batched as cb
from iblearn.functional.knn import counts, ksg
from iblearn.functional.knn.cmi import cmi_counts_brute, prepared_condition
from iblearn.functional.knn.ksg import prepare

torch.set_num_threads(1)


def _samples(n: int, b: int, dx: int, dz: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = np.random.default_rng(seed)
    z = torch.from_numpy(g.standard_normal((n, dz)))
    y = torch.from_numpy(g.standard_normal((n, 1))) + z.sum(dim=1, keepdim=True)
    x = torch.from_numpy(g.standard_normal((b, n, dx))) + 0.5 * y + z[:, :1].sum(dim=1, keepdim=True)
    return x, y, z


@pytest.mark.parametrize(
    ("n", "b", "dx", "dz"), [(300, 4, 1, 0), (300, 3, 1, 1), (400, 5, 1, 3), (200, 3, 2, 2)]
)
def test_each_b_is_ksg_cmi_bit_for_bit(n, b, dx, dz):
    x, y, z = _samples(n, b, dx, dz, seed=n + dz)
    cond = prepared_condition(y, z if dz else None, 4)
    got = cb.ksg_cmi_prepared_batched(cond, x, torch.device("cpu"))
    want = [ksg_cmi(xb, y, z, 4) if dz else ksg_mi(xb, y, 4) for xb in x]
    assert got.shape == (b,) and got.dtype == torch.float64
    assert torch.equal(got, torch.stack(want))


@pytest.mark.parametrize("dz", [0, 2])
def test_counts_the_same_in_small_chunks_and_several_b_a_step(monkeypatch, dz):
    n, b, k = 150, 5, 3
    x, y, z = _samples(n, b, 1, max(dz, 1), seed=7)
    ready = [prepare(v, "v", standardize=True, ties="jitter", seed=0) for v in (*x, y, z)]
    xs, yt, zt = torch.stack(ready[:b]), ready[b], ready[b + 1] if dz else None
    whole = cb.cmi_counts_batched(xs, yt, zt, k)
    # Chunks of a few rows, and three b a step (as a GPU would take them).
    monkeypatch.setattr(counts, "chunk_bytes", lambda device: 8 * n * 40)
    monkeypatch.setattr(cb, "CPU_PAIRINGS", 3)
    chunked = cb.cmi_counts_batched(xs, yt, zt, k)
    assert all(torch.equal(a, c) for a, c in zip(whole, chunked, strict=True))
    if dz:
        brute = cmi_counts_brute(xs, yt, zt, k)
        assert all(torch.equal(a, c) for a, c in zip(whole, brute, strict=True))


def test_the_step_fills_a_chunk_off_the_cpu(monkeypatch):
    monkeypatch.setattr(cb, "chunk_bytes", lambda device: 8 * 100 * 100 * 14)
    assert cb._step(50, 100, torch.device("cuda")) == 3  # (14 - 2 shared) / 4 blocks
    assert cb._step(2, 100, torch.device("cuda")) == 2
    assert cb._step(50, 1000, torch.device("cuda")) == 1
    assert cb._step(50, 100, torch.device("cpu")) == cb.CPU_PAIRINGS


@pytest.mark.parametrize("together", [True, False])
def test_samples_made_ready_together_are_those_made_ready_alone(monkeypatch, together):
    """1-d samples made ready at once (or, rows too long for that, each alone): each the exact path's
    bits; samples of two columns too; a constant sample refused as alone."""
    if not together:
        monkeypatch.setattr(ksg, "READY_COLUMNS_MAX_N", 100)
    g = np.random.default_rng(3)
    x = g.standard_normal((6, 500, 1)) * g.uniform(0.01, 100.0, (6, 1, 1)) + 7.0
    for sample in (torch.from_numpy(x), torch.from_numpy(g.standard_normal((3, 400, 2)))):
        alone = [ksg.ready(xb, "x", standardize=True, ties="jitter", seed=0) for xb in sample]
        assert all(torch.equal(a, b) for a, b in zip(alone, cb.ready_samples(sample), strict=True))
    x[2] = 4.0
    with pytest.raises(ValueError, match="x: every column is constant"):
        cb.ready_samples(torch.from_numpy(x))
