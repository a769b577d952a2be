"""KSG's counts for many pairings (x, y[perm]) at once, and the brute-force path's chunks on a GPU."""

from __future__ import annotations

import pytest
import torch

from iblearn.functional.knn import batched as kb
from iblearn.functional.knn import fused as _ksg_triton
from iblearn.functional.knn import neighbors as nb
from iblearn.functional.knn.counts import ksg_counts_brute
from tests.conftest import gen


def _pair(n: int, d: int, tied: bool, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = gen(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = x + torch.randn(n, d, generator=g, dtype=torch.float64)
    if tied:  # a coarse grid: distances tie at eps, so variant 2 depends on which neighbours are taken
        x, y = torch.round(x * 2) / 2, torch.round(y * 2) / 2
    return x, y


def _perms(b: int, n: int, seed: int = 1) -> torch.Tensor:
    g = gen(seed)
    return torch.stack([torch.arange(n)] + [torch.randperm(n, generator=g) for _ in range(b - 1)])


def _loop(x, y, perms, k, variant):
    counts = [ksg_counts_brute(x, y[p], k, variant) for p in perms]
    return torch.stack([c[0] for c in counts]), torch.stack([c[1] for c in counts])


@pytest.mark.parametrize("variant", [1, 2])
@pytest.mark.parametrize("tied", [False, True])
def test_batched_counts_equal_the_loop_over_pairings(monkeypatch, variant, tied):
    x, y = _pair(150, 3, tied)
    perms = _perms(7, 150)
    calls = []
    chebyshev = kb.chebyshev

    def spy(a, b):
        calls.append(tuple(a.shape))
        return chebyshev(a, b)

    monkeypatch.setattr(kb, "chebyshev", spy)
    for k in (1, 3):
        want = _loop(x, y, perms, k, variant)
        for pairings, chunk in ((1, nb.CHUNK_BYTES), (3, nb.CHUNK_BYTES), (3, 2**16), (7, 2**16)):
            monkeypatch.setattr(kb, "CPU_PAIRINGS", pairings)
            monkeypatch.setattr(nb, "CHUNK_BYTES", chunk)  # 2**16: chunks of 13 rows
            calls.clear()
            got = kb.ksg_counts_permuted(x, y, perms, k, variant)
            assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1]), (k, pairings, chunk)
            # x's distances once a chunk of rows, y's a batch of pairings a call.
            row_chunks = -(-150 // min(150, chunk // (8 * 150 * 4)))
            steps = [pairings] * (7 // pairings) + ([7 % pairings] if 7 % pairings else [])
            assert [len(shape) for shape in calls].count(2) == row_chunks
            assert [shape[0] for shape in calls if len(shape) == 3] == steps * row_chunks


def test_batched_counts_take_their_pairings_a_step_from_the_gpus_memory(monkeypatch):
    # On a GPU, as many pairings a step as (pairings, rows, N) matrices fit in a chunk's memory.
    free = {"bytes": 64 * 2**30}
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (free["bytes"], 80 * 2**30))
    cuda = torch.device("cuda")
    assert nb.chunk_bytes(cuda) == nb.GPU_CHUNK_BYTES
    free["bytes"] = 2**30  # an eighth is below the CPU's chunk, which is the least
    assert nb.chunk_bytes(cuda) == nb.CHUNK_BYTES
    free["bytes"] = 8 * 2**30
    assert nb.chunk_bytes(cuda) == 2**30
    assert nb.chunk_bytes(torch.device("cpu")) == nb.CHUNK_BYTES


def test_brute_force_and_batched_counts_hand_cuda_variant_1_to_the_fused_kernel(monkeypatch):
    # Where the kernel is usable the torch path is not taken; where it is not, the torch path answers.
    x, y = _pair(60, 2, tied=False)
    perms = _perms(3, 60)
    marker = (torch.full((3, 60), 7), torch.full((3, 60), 9))
    monkeypatch.setattr(_ksg_triton, "usable", lambda x, y, k, variant: variant == 1)
    monkeypatch.setattr(_ksg_triton, "ksg_counts_fused", lambda x, y, k, perms=None: marker)
    assert torch.equal(ksg_counts_brute(x, y, 3, 1)[0], marker[0][0])
    assert kb.ksg_counts_permuted(x, y, perms, 3, 1) is marker
    assert torch.equal(kb.ksg_counts_permuted(x, y, perms, 3, 2)[0], _loop(x, y, perms, 3, 2)[0])


def test_the_fused_kernel_is_never_taken_on_the_cpu():
    x = torch.zeros(10, 2, dtype=torch.float64)
    assert not _ksg_triton.usable(x, x, 3, 1)


@pytest.mark.gpu
@pytest.mark.parametrize("variant", [1, 2])
def test_batched_torch_counts_on_cuda_equal_the_cpus(monkeypatch, variant):
    monkeypatch.setattr(_ksg_triton, "usable", lambda x, y, k, variant: False)  # the torch path
    x, y = _pair(3000, 5, tied=False)
    perms = _perms(5, 3000)
    want = kb.ksg_counts_permuted(x, y, perms, 3, variant)
    got = kb.ksg_counts_permuted(x.cuda(), y.cuda(), perms, 3, variant)
    assert torch.equal(got[0].cpu(), want[0]) and torch.equal(got[1].cpu(), want[1])


@pytest.mark.gpu
def test_brute_force_variant_1_on_cuda_never_waits_for_the_device(monkeypatch):
    # No scalar read, nonzero or copy to the host between the chunks (the tie pass is variant 2's).
    monkeypatch.setattr(_ksg_triton, "usable", lambda x, y, k, variant: False)
    x, y = _pair(20_000, 5, tied=False)
    xc, yc = x.cuda(), y.cuda()
    ksg_counts_brute(xc, yc, 3, 1)  # warm up: allocator, kernels
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        nx, ny = ksg_counts_brute(xc, yc, 3, 1)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    want = ksg_counts_brute(x[:2000], y[:2000], 3, 1)
    assert torch.equal(ksg_counts_brute(xc[:2000], yc[:2000], 3, 1)[0].cpu(), want[0])
    assert nx.shape == (20_000,) and ny.device.type == "cuda"
