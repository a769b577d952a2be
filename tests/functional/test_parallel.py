"""Many-variable work in batches through joblib: the same numbers, bit for bit, whatever the number of
jobs and the backend; one thread a job; bad n_jobs named; progress and checkpoints."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch

import iblearn.functional as ibf
from iblearn import parallel
from iblearn.estimators import KSG
from iblearn.functional.knn import pairwise

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _tiles_of_16(monkeypatch):
    """pairwise_mi's tiles 16 columns a side at these few rows, as from 10,000 rows on: several batches
    for the jobs, the progress reports and the checkpoints."""
    monkeypatch.setattr(pairwise, "TILE_ROWS", 1)


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
    assert float(te[2, 0]) == float(ibf.transfer_entropy(x[:, 2], x[:, 0], k=3))
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
        assert list(parallel.iter_batches(_threads, [()] * 3, None)) == [2, 2, 2]
        with joblib.parallel_backend("threading"):
            assert list(parallel.iter_batches(_threads, [()] * 3, 2)) == [1, 1, 1]
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


def test_pairwise_matrix_and_network_on_a_dask_cluster_equal_the_serial_ones():
    """A real cluster of 2 worker processes, one thread each, through joblib's Dask backend (the path
    the many-variables guide gives), run from a script with a main guard (dask_cluster.py beside): a
    pairwise MI matrix and infer_network's targets as the cluster's tasks, each the same as in one
    process, bit for bit."""
    pytest.importorskip("distributed")
    script = Path(__file__).resolve().parent / "dask_cluster.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "same", done.stdout + done.stderr[-2000:]


@pytest.mark.slow
def test_a_network_of_100_processes_on_a_dask_cluster_equals_the_serial_one():
    """100 targets as the cluster's tasks, against the serial run: slow for the default suite."""
    pytest.importorskip("distributed")
    script = Path(__file__).resolve().parent / "dask_cluster.py"
    done = subprocess.run(
        [sys.executable, str(script), "network100"], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0 and done.stdout.strip() == "same", done.stdout + done.stderr[-2000:]


def test_the_caller_keeps_its_threads_between_batches_and_after_an_early_exit():
    torch.set_num_threads(2)
    try:
        with joblib.parallel_backend("threading"):
            batches = parallel.iter_batches(_threads, [()] * 3, 1)  # one job: computed in next()
            assert next(batches) == 1
            assert torch.get_num_threads() == 2  # not held across the yield
            assert next(batches) == 1
        del batches  # left unfinished
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)


def _threads_after_a_while() -> int:
    time.sleep(0.02)
    return torch.get_num_threads()


def test_jobs_on_threads_run_on_one_thread_also_while_the_caller_is_between_results():
    """Jobs on threads run ahead of the caller: one that starts while the caller's own code runs between
    two results must still find torch on one thread (they share the setting)."""
    torch.set_num_threads(2)
    try:
        with joblib.parallel_backend("threading"):
            seen = []
            for value in parallel.iter_batches(_threads_after_a_while, [()] * 8, 2):
                seen.append(value)
                time.sleep(0.05)  # the caller's own work, while the next jobs run
        assert seen == [1] * 8
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)


def test_n_jobs_beyond_the_cores_is_refused_by_name():
    cores = os.cpu_count() or 1
    assert parallel.check_n_jobs(-1) == -1 and parallel.check_n_jobs(-cores) == -cores
    assert parallel.check_n_jobs(cores) == cores
    for bad in (cores + 1, -cores - 1, 10**6):
        with pytest.raises(ValueError, match=f"n_jobs: at most the {cores} CPU cores"):
            parallel.check_n_jobs(bad)
    with pytest.raises(ValueError, match="n_jobs"):
        ibf.pairwise_mi(_columns(n=100, m=3), n_jobs=cores + 1)


def _refused_in_time(call) -> str:
    """The message of the ValueError ``call`` raises, failing (not hanging) if it blocks."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
        except BaseException as err:
            outcome.append(err)
        else:
            outcome.append(None)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(20)
    assert outcome, "blocked reading the checkpoint"
    assert isinstance(outcome[0], ValueError), outcome[0]
    return str(outcome[0])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_in_a_checkpoint_is_refused_not_read(tmp_path):
    x = _columns(n=100, m=4)
    folder = tmp_path / "mi"
    folder.mkdir()
    os.mkfifo(folder / "key")
    try:
        assert "checkpoint" in _refused_in_time(lambda: ibf.pairwise_mi(x, checkpoint=folder))
        ibf.pairwise_mi(x, checkpoint=tmp_path / "mi2")
        os.mkfifo(tmp_path / "mi2" / "batch-0000000.npy.fifo")
        (tmp_path / "mi2" / "batch-0000000.npy").unlink()
        os.rename(tmp_path / "mi2" / "batch-0000000.npy.fifo", tmp_path / "mi2" / "batch-0000000.npy")
        message = _refused_in_time(lambda: ibf.pairwise_mi(x, checkpoint=tmp_path / "mi2"))
        assert "checkpoint" in message and "batch-0000000.npy" in message
        search = tmp_path / "search"
        search.mkdir()
        ibf.o_information_search(x, method="gaussian", checkpoint=search)
        (search / "search.json").unlink()
        os.mkfifo(search / "search.json")
        message = _refused_in_time(lambda: ibf.o_information_search(x, method="gaussian", checkpoint=search))
        assert "checkpoint" in message and "search.json" in message
    finally:  # a reader still blocked on a FIFO (before the fix) is let go
        for fifo in (
            folder / "key",
            tmp_path / "mi2" / "batch-0000000.npy",
            tmp_path / "search" / "search.json",
        ):
            if fifo.exists() and not fifo.is_file():
                with contextlib.suppress(OSError):
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


@pytest.mark.parametrize(
    "damage", ["{not json", '{"done": 3}', '{"done": 3, "highest": [[1, 2]], "lowest": []}', "[1, 2]"]
)
def test_a_damaged_search_checkpoint_is_refused_by_name(tmp_path, damage):
    x = _columns(n=100, m=4)
    folder = tmp_path / "search"
    ibf.o_information_search(x, method="gaussian", checkpoint=folder)
    (folder / "search.json").write_text(damage)
    with pytest.raises(ValueError, match=r"checkpoint: .*search\.json"):
        ibf.o_information_search(x, method="gaussian", checkpoint=folder)


def test_a_damaged_batch_is_refused_by_name(tmp_path):
    x = _columns(n=100, m=4)
    folder = tmp_path / "mi"
    ibf.pairwise_mi(x, checkpoint=folder)
    (folder / "batch-0000000.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(ValueError, match=r"checkpoint: .*batch-0000000\.npy"):
        ibf.pairwise_mi(x, checkpoint=folder)
    (folder / "key").write_bytes(b"\xff\xfe")
    with pytest.raises(ValueError, match=r"checkpoint: .*key"):
        ibf.pairwise_mi(x, checkpoint=folder)


def test_the_search_checkpoint_is_a_folder_as_for_the_others(tmp_path):
    x = _columns(n=100, m=4)
    folder = tmp_path / "search"
    found = ibf.o_information_search(x, method="gaussian", checkpoint=folder)
    assert sorted(p.name for p in folder.iterdir()) == ["key", "search.json"]  # no temporary left
    assert ibf.o_information_search(x, method="gaussian", checkpoint=folder) == found
    (tmp_path / "file.json").write_text("{}")
    with pytest.raises(ValueError, match=r"checkpoint: .* is not a folder"):
        ibf.o_information_search(x, method="gaussian", checkpoint=tmp_path / "file.json")


@pytest.mark.parametrize(
    "damage",
    [
        lambda s: s | {"done": 10**9},
        lambda s: s | {"done": True},
        lambda s: s | {"done": 2},  # lowered: its entries come from subsets it says it has not done
        lambda s: s | {"highest": [[[0, 1, 99], v] for _, v in s["highest"]]},  # column 99 of 4
        lambda s: s | {"lowest": [[c, float("nan")] for c, _ in s["lowest"]]},
        lambda s: s | {"highest": s["highest"][:1]},
    ],
)
def test_a_search_checkpoint_that_its_search_could_not_have_written_is_refused(tmp_path, damage):
    x = _columns(n=100, m=4)
    folder = tmp_path / "search"
    ibf.o_information_search(x, method="gaussian", checkpoint=folder)
    saved = json.loads((folder / "search.json").read_text())
    (folder / "search.json").write_text(json.dumps(damage(saved)))
    with pytest.raises(ValueError, match=r"checkpoint: .*search\.json"):
        ibf.o_information_search(x, method="gaussian", checkpoint=folder)


@pytest.mark.parametrize("values", [np.float64(5.0), np.array([5.0]), np.array(["a", "b"])])
def test_a_batch_of_another_shape_or_kind_is_refused(tmp_path, values):
    # A batch file of shape () or (1,) was broadcast: 120 pairs became 5.0.
    x = _columns(n=100, m=4)
    folder = tmp_path / "mi"
    ibf.pairwise_mi(x, checkpoint=folder)
    np.save(folder / "batch-0000000.npy", values)
    with pytest.raises(ValueError, match=r"checkpoint: .*batch-0000000\.npy.*expected 6 finite numbers"):
        ibf.pairwise_mi(x, checkpoint=folder)


def test_an_empty_checkpoint_path_and_numpy_settings(tmp_path, monkeypatch):
    x = _columns(n=100, m=4)
    monkeypatch.chdir(tmp_path)
    for empty in ("", "  "):
        with pytest.raises(ValueError, match="checkpoint: expected a folder's path"):
            ibf.pairwise_mi(x, checkpoint=empty)
        with pytest.raises(ValueError, match="checkpoint: expected a folder's path"):
            ibf.o_information_search(x, method="gaussian", checkpoint=empty)
    assert list(tmp_path.iterdir()) == []  # nothing written where nobody asked
    # numpy's integers as settings were "int64 is not JSON serializable"
    found = ibf.o_information_search(x, checkpoint=tmp_path / "s", k=np.int64(3), seed=np.int64(1))
    assert found == ibf.o_information_search(x, k=3, seed=1)


def test_joblibs_multiprocessing_backend_gives_the_same_values():
    # It returns lists only: "does not support return_as=generator" was raised.
    x = _columns(n=100, m=4)
    with joblib.parallel_backend("multiprocessing", n_jobs=2):
        values = ibf.pairwise_mi(x)
    assert torch.equal(values.nan_to_num(), ibf.pairwise_mi(x).nan_to_num())


@pytest.mark.parametrize("sizes", [[1], [1, 1, 1]])
def test_map_batches_takes_one_size_a_batch(sizes):
    with pytest.raises(ValueError, match=r"sizes: .* for 2 batches"):
        parallel.map_batches(lambda a: a, [(1,), (2,)], 1, sizes=sizes)
    assert parallel.map_batches(lambda a: a, [(1,), (2,)], 1, sizes=[3, 4]) == [1, 2]


@pytest.mark.parametrize("sizes", [[-1, 3], [1.5, 2], "ab", [None, 1], [True, 1]])
def test_map_batches_refuses_sizes_that_are_no_counts(sizes):
    # a negative or fractional size made the progress line count backwards or in halves; a string or
    # None failed inside the sum, naming nothing
    with pytest.raises(ValueError, match=r"^sizes: expected a count of items >= 0"):
        parallel.map_batches(lambda a: a, [(1,), (2,)], 1, sizes=sizes)


def test_map_batches_reads_batches_from_a_generator():
    assert parallel.map_batches(lambda a: a + 1, ((i,) for i in range(3)), 1, sizes=[2, 0, 1]) == [1, 2, 3]
