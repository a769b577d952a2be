"""Many-variable work in batches through joblib: the same numbers, bit for bit, whatever the number of
jobs and the backend; one thread a job; bad n_jobs named; progress and checkpoints."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
import torch

import iblearn.functional as ibf
from iblearn.estimators import KSG
from iblearn.functional import _parallel

torch.set_num_threads(1)


def _columns(n: int = 300, m: int = 20, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, m, generator=g, dtype=torch.float64)
    x[:, 1] += x[:, 0]
    if m > 17:
        x[:, 17] += x[:, 3] ** 2  # a pair across two tiles
    return x


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.equal(a.nan_to_num(), b.nan_to_num()) and torch.equal(a.isnan(), b.isnan())


@pytest.mark.parametrize("backend", ["tree", "brute"])
def test_pairwise_matrix_is_the_same_for_any_number_of_jobs_and_backend(backend):
    x = _columns()
    serial = ibf.pairwise_mi(x, backend=backend, n_jobs=1)
    assert _same(serial, ibf.pairwise_mi(x, backend=backend))  # in this process, torch's threads
    with joblib.parallel_backend("threading"):
        assert _same(serial, ibf.pairwise_mi(x, backend=backend, n_jobs=2))
        assert _same(serial, ibf.pairwise_mi(x, backend=backend))  # None takes the context's jobs
    assert float(serial[3, 17]) > 0.3 and float(serial[0, 1]) > 0.2  # truth 0.35 for the second
    one = ibf.ksg_mi(x[:, 3], x[:, 17], backend=backend, seed=0)
    assert float(serial[3, 17]) == pytest.approx(float(one), abs=1e-12)


def test_pairs_transfer_entropy_and_search_are_the_same_in_jobs():
    x = _columns(n=250, m=6)
    pairs = [(0, 1), (2, 5), (4, 3)]
    with joblib.parallel_backend("threading", n_jobs=2):
        pairs_jobs = ibf.ksg_mi_pairs([x[:, i] for i in range(6)], pairs)
        te_jobs = ibf.transfer_entropy_matrix(x[:, :4])
        search_jobs = ibf.o_information_search(x, sizes=(3,), top=3)
    assert torch.equal(pairs_jobs, ibf.ksg_mi_pairs([x[:, i] for i in range(6)], pairs, n_jobs=1))
    te = ibf.transfer_entropy_matrix(x[:, :4], n_jobs=1)
    assert _same(te, te_jobs) and bool(te.diagonal().isnan().all())
    assert float(te[2, 0]) == float(ibf.transfer_entropy(x[:, 2], x[:, 0]))
    assert search_jobs == ibf.o_information_search(x, sizes=(3,), top=3, n_jobs=1)


def test_permutation_nulls_are_the_same_in_jobs():
    g = torch.Generator().manual_seed(1)
    x, z = torch.randn(200, 1, generator=g), torch.randn(200, 1, generator=g)
    y = 0.3 * x + z + torch.randn(200, 1, generator=g)
    serial = KSG()(x, y, n_permutations=40, seed=3, n_jobs=1)
    local = KSG()(x, y, z=z, n_permutations=40, seed=3, n_jobs=1)
    with joblib.parallel_backend("threading", n_jobs=2):
        assert KSG()(x, y, n_permutations=40, seed=3).p_value == serial.p_value
        assert KSG()(x, y, z=z, n_permutations=40, seed=3).p_value == local.p_value
    assert KSG()(x, y, n_permutations=40, seed=3).p_value == serial.p_value
    assert serial.p_value == KSG()(x, y, n_permutations=40, seed=3).p_value  # None: in this process


def _threads() -> int:
    return torch.get_num_threads()


def test_a_job_runs_on_one_thread_and_this_process_keeps_its_threads():
    torch.set_num_threads(2)
    try:
        assert list(_parallel.iter_batches(_threads, [()] * 3, None)) == [2, 2, 2]
        with joblib.parallel_backend("threading"):
            assert list(_parallel.iter_batches(_threads, [()] * 3, 2)) == [1, 1, 1]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)


@pytest.mark.parametrize("bad", [0, 1.5, True, "2"])
def test_bad_n_jobs_is_named(bad):
    x = _columns(n=100, m=3)
    calls = [
        lambda: ibf.pairwise_mi(x, n_jobs=bad),
        lambda: ibf.ksg_mi_pairs([x[:, 0], x[:, 1]], [(0, 1)], n_jobs=bad),
        lambda: ibf.transfer_entropy_matrix(x, n_jobs=bad),
        lambda: ibf.o_information_search(x, n_jobs=bad),
        lambda: KSG()(x[:, 0], x[:, 1], n_permutations=3, n_jobs=bad),
        lambda: KSG()(x[:, 0], x[:, 1], z=x[:, 2], n_jobs=bad),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="n_jobs"):
            call()


def test_progress_reports_pairs_and_the_time_left(capsys):
    x = _columns(m=20)
    seen: list[tuple[int, int]] = []
    ibf.pairwise_mi(x, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (190, 190) and len(seen) == 3  # tiles of 16: 120 + 64 + 6 pairs
    ibf.pairwise_mi(x, progress=True)
    err = capsys.readouterr().err
    assert err.strip().endswith("190/190 pairs") and "left" in err
    with pytest.raises(ValueError, match="progress"):
        ibf.pairwise_mi(x, progress="yes")


class _Killed(Exception):
    pass


def test_a_killed_run_resumes_from_its_checkpoint(tmp_path):
    x = _columns(m=20)
    folder = tmp_path / "mi"

    def kill_after_first(done: int, total: int) -> None:
        raise _Killed

    with pytest.raises(_Killed):
        ibf.pairwise_mi(x, checkpoint=folder, progress=kill_after_first)
    seen: list[int] = []
    resumed = ibf.pairwise_mi(x, checkpoint=folder, progress=lambda done, total: seen.append(done))
    assert seen == [120 + 64, 190]  # the first tile was read back, not computed again
    assert _same(resumed, ibf.pairwise_mi(x))
    with pytest.raises(ValueError, match="checkpoint"):
        ibf.pairwise_mi(x, k=4, checkpoint=folder)  # other settings: refused, not mixed in
    te_folder = tmp_path / "te"
    te = ibf.transfer_entropy_matrix(x[:, :3], checkpoint=te_folder)
    assert _same(te, ibf.transfer_entropy_matrix(x[:, :3], checkpoint=te_folder))


@pytest.mark.slow
def test_pairwise_matrix_on_a_dask_cluster_equals_the_serial_one():
    """A real cluster of 2 worker processes, one thread each, through joblib's Dask backend."""
    distributed = pytest.importorskip("distributed")
    x = _columns(n=400, m=40)
    serial = ibf.pairwise_mi(x, n_jobs=1)
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        joblib.parallel_backend("dask"),
    ):
        on_cluster = ibf.pairwise_mi(x)
    assert _same(serial, on_cluster)
    assert np.isfinite(serial.numpy()[~np.eye(40, dtype=bool)]).all()
