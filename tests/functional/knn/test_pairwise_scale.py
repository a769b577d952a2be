"""All pairs streamed: top K, threshold and FDR edges equal the dense matrix's, resumable, the same for
any job count, memory that does not grow as P^2, and bad input named."""

import time
import tracemalloc

import joblib
import numpy as np
import pytest
import torch
from scipy import stats

import iblearn.functional as ibf
from iblearn.functional.knn import pairwise_stream
from iblearn.functional.knn.options import KNNOptions
from iblearn.functional.knn.pairwise_edges import PairwiseEdges, aracne_kept, bh_kept
from iblearn.functional.knn.pairwise_stream import ksg_null, normal_scores, null_tail

torch.set_num_threads(1)


def planted(n: int = 120, p: int = 30, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, p, generator=g, dtype=torch.float64)
    x[:, 1] += x[:, 0]
    x[:, 5] = torch.sin(3 * x[:, 4]) + 0.1 * x[:, 5]
    x[:, 9] = x[:, 8] ** 2 + 0.3 * x[:, 9]
    return x


def dense_top_k(matrix: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    d = matrix.clone()
    d.fill_diagonal_(-float("inf"))
    values, indices = torch.sort(d, dim=1, descending=True, stable=True)  # stable: ties to the smaller column
    return values[:, :k], indices[:, :k]


@pytest.mark.parametrize("tile", [4, 7, 256])
def test_top_k_is_the_dense_matrix_top_k(tile):
    x = planted()
    values, indices = dense_top_k(ibf.pairwise_mi(x), 5)
    got = pairwise_stream.streamed_pairwise_mi(x, 3, 1, KNNOptions(), "top_k", 5, tile=tile)
    assert torch.equal(got.values, values) and torch.equal(got.indices, indices)
    assert torch.equal(ibf.pairwise_mi(x, top_k=5).indices, indices)


def test_top_k_ties_go_to_the_smaller_column():
    x = planted(p=12)
    x[:, 7] = x[:, 3]  # column 3 and 7 carry the same values: equal MI with every other column
    got = ibf.pairwise_mi(x, top_k=11, ties="jitter")
    dense_values, dense_indices = dense_top_k(ibf.pairwise_mi(x), 11)
    assert torch.equal(got.indices, dense_indices) and torch.equal(got.values, dense_values)


def test_threshold_edges_are_the_dense_ones():
    x = planted()
    matrix = ibf.pairwise_mi(x)
    got = ibf.pairwise_mi(x, threshold=0.1)
    i, j = torch.triu_indices(30, 30, 1)
    above = matrix[i, j] > 0.1
    assert torch.equal(got.edges, torch.stack([i[above], j[above]], 1))
    assert torch.equal(got.values, matrix[i, j][above])
    assert torch.equal(got.to_dense().isnan(), ~((matrix > 0.1) & ~matrix.isnan()))


def test_fdr_edges_are_bh_over_the_dense_matrix_of_normal_scores():
    x = planted(n=150, p=40)
    got = pairwise_stream.streamed_pairwise_mi(x, 3, 1, KNNOptions(), "fdr", 0.05, n_permutations=600)
    matrix = ibf.pairwise_mi(normal_scores(x))
    i, j = torch.triu_indices(40, 40, 1)
    p_values = null_tail(got.settings).sf(matrix[i, j].numpy())
    kept = torch.from_numpy(bh_kept(p_values, len(p_values), 0.05))
    assert torch.equal(got.edges, torch.stack([i[kept], j[kept]], 1))
    assert {(0, 1), (4, 5), (8, 9)} <= {tuple(e) for e in got.edges.tolist()}
    assert np.allclose(got.p_values.numpy(), p_values[kept.numpy()])


@pytest.mark.slow
def test_the_null_of_normal_scores_depends_only_on_n_and_the_fitted_tail_holds_its_mass():
    """Independent columns of any continuous law, normal-scored, give the permutation null's law."""
    n, draws = 60, 3000
    null = ksg_null(n, 3, 1, 3000, seed=1)
    g = torch.Generator().manual_seed(2)
    for law in (lambda s: torch.randn(s, generator=g), lambda s: torch.rand(s, generator=g) ** 8):
        x = torch.stack([law((n,)) for _ in range(2 * 60)], 1).double()
        m = ibf.pairwise_mi(normal_scores(x))
        values = m[torch.arange(0, 120, 2), torch.arange(1, 120, 2)].numpy()  # 60 independent pairs
        assert stats.ks_2samp(values, null).pvalue > 0.01
    reference = ksg_null(n, 3, 1, draws * 10, seed=3)
    tail = null_tail(pairwise_stream.null_moments(null))
    for q in (0.05, 0.01):
        assert (reference > tail.isf(q)).mean() == pytest.approx(q, rel=0.35)


def test_a_killed_run_resumes_from_its_finished_tiles(tmp_path, monkeypatch):
    x = planted()
    full = pairwise_stream.streamed_pairwise_mi(x, 3, 1, KNNOptions(), "top_k", 3, tile=8, out=tmp_path / "a")
    shards = sorted((tmp_path / "a").glob("tile-*.npz"))
    assert len(shards) == 10 and (tmp_path / "a" / "result.npz").exists()
    calls = []
    real = pairwise_stream._tile_job

    def dying(*args):
        if len(calls) == 4:
            raise KeyboardInterrupt
        calls.append(args[2])
        return real(*args)

    monkeypatch.setattr(pairwise_stream, "_tile_job", dying)
    with pytest.raises(KeyboardInterrupt):
        pairwise_stream.streamed_pairwise_mi(x, 3, 1, KNNOptions(), "top_k", 3, tile=8, out=tmp_path / "b")
    assert len(list((tmp_path / "b").glob("tile-*.npz"))) == 4
    calls.clear()
    monkeypatch.setattr(pairwise_stream, "_tile_job", lambda *a: calls.append(a[2]) or real(*a))
    again = pairwise_stream.streamed_pairwise_mi(
        x, 3, 1, KNNOptions(), "top_k", 3, tile=8, out=tmp_path / "b"
    )
    assert len(calls) == 6  # only the tiles not finished before
    assert torch.equal(again.values, full.values) and torch.equal(again.indices, full.indices)
    with pytest.raises(ValueError, match="checkpoint"):  # another run's folder is refused
        ibf.pairwise_mi(x, top_k=4, checkpoint=tmp_path / "b")


@pytest.mark.parametrize("mode", ["top_k", "threshold"])
def test_the_result_is_the_same_for_any_job_count(mode):
    x = planted()
    parameter = 3 if mode == "top_k" else 0.05
    one = pairwise_stream.streamed_pairwise_mi(x, 3, 1, KNNOptions(), mode, parameter, tile=8)
    with joblib.parallel_config(backend="threading", n_jobs=2):
        two = pairwise_stream.streamed_pairwise_mi(x, 3, 1, KNNOptions(), mode, parameter, tile=8)
    assert_same(one, two)


@pytest.mark.slow
def test_the_result_is_the_same_on_two_processes():
    x = planted()
    one = pairwise_stream.streamed_pairwise_mi(x, 3, 1, KNNOptions(), "top_k", 3, tile=8)
    two = pairwise_stream.streamed_pairwise_mi(x, 3, 1, KNNOptions(), "top_k", 3, tile=8, n_jobs=2)
    assert_same(one, two)


def assert_same(one: PairwiseEdges, two: PairwiseEdges) -> None:
    assert torch.equal(one.values, two.values)
    for name in ("indices", "edges", "p_values"):
        a, b = getattr(one, name), getattr(two, name)
        assert (a is None and b is None) or torch.equal(a, b)


def test_top_k_at_3000_variables_holds_no_dense_matrix(monkeypatch):
    """The reduction's memory: the tiles' values stand in for the kernel's (deterministic, cheap)."""

    def fake(sorted_values, ranks, pairs, k, variant):
        return np.sin(sorted_values[pairs[:, 0], 0] * 7.0 + sorted_values[pairs[:, 1], 1] * 3.0)

    monkeypatch.setattr(pairwise_stream, "_pairs_values", fake)
    x = torch.randn(50, 3000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    tracemalloc.start()
    start = time.perf_counter()
    got = pairwise_stream.streamed_pairwise_mi(x, 3, 1, KNNOptions(), "top_k", 5, tile=500)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert got.values.shape == (3000, 5) and (got.indices >= 0).all()
    assert peak < 8 * 3000 * 3000 / 2  # half the dense float64 matrix (36 MB)
    assert seconds < 20
    with pytest.raises(ValueError, match="to_dense: a 3,000 x 3,000"):
        got.to_dense(max_variables=2000)


def test_aracne_drops_the_weakest_edge_of_each_triangle():
    edges = np.array([[0, 1], [1, 2], [0, 2], [2, 3]])
    values = np.array([0.9, 0.8, 0.3, 0.5])
    assert aracne_kept(edges, values, 0.0).tolist() == [True, True, False, True]
    assert aracne_kept(edges, values, 0.6).tolist() == [True, True, True, True]
    x = planted()
    x[:, 1] = x[:, 0] + 0.5 * x[:, 1]
    x[:, 2] = x[:, 1] + 0.7 * x[:, 2]  # a chain 0 -> 1 -> 2: the indirect edge (0, 2) goes
    pruned = ibf.pairwise_mi(x, threshold=0.2, aracne=0.0)
    kept = {tuple(e) for e in pruned.edges.tolist()}
    assert {(0, 1), (1, 2)} <= kept and (0, 2) not in kept
    top = ibf.pairwise_mi(x, top_k=2, aracne=0.0)
    assert isinstance(top, PairwiseEdges) and (top.indices[0] != 2).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"top_k": 0}, "top_k"),
        ({"top_k": 30}, "top_k"),
        ({"top_k": 2.5}, "top_k"),
        ({"threshold": float("nan")}, "threshold"),
        ({"fdr": 0.0}, "fdr"),
        ({"fdr": 1.0}, "fdr"),
        ({"top_k": 3, "fdr": 0.1}, "top_k, fdr"),
        ({"threshold": 0.1, "top_k": 3}, "top_k, threshold"),
        ({"aracne": 0.0}, "aracne"),
        ({"threshold": 0.1, "aracne": -1.0}, "aracne"),
        ({"top_k": 3, "blocks": [[0, 1], [2]]}, "blocks"),
    ],
)
def test_bad_input_is_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ibf.pairwise_mi(planted(), **kwargs)


@pytest.mark.parametrize("form", [{}, {"top_k": 2}, {"threshold": 0.1}, {"fdr": 0.05}], ids=str)
def test_every_form_refuses_a_constant_column_by_name(form):
    # With fdr too: its normal scores would rank the constant's ties at random into a null column.
    x = planted(p=12)
    x[:, 3] = 2.0
    with pytest.raises(ValueError, match=r"^x\[:, 3\]: every column is constant"):
        ibf.pairwise_mi(x, **form)


def test_the_null_is_drawn_more_often_the_more_pairs_are_tested():
    assert pairwise_stream.null_draws(1_000) == pairwise_stream.NULL_PERMUTATIONS
    assert pairwise_stream.null_draws(20_000_000) == 40_000
    assert pairwise_stream.null_draws(10**9) == pairwise_stream.NULL_PERMUTATIONS_MAX


def test_the_null_in_batches_is_the_null_drawn_at_once(monkeypatch):
    whole = ksg_null(40, 3, 1, 30, seed=2)
    monkeypatch.setattr(pairwise_stream, "NULL_BATCH", 12)
    batched = ksg_null(40, 3, 1, 30, seed=2)
    assert batched.shape == (30,)
    assert np.array_equal(batched[:12], whole[:12])  # the first batch: the same permutations and jitter


@pytest.mark.parametrize("mode", ["top_k", "threshold", "fdr"])
def test_tiles_by_the_device_kernel_are_the_dense_matrix_of_that_kernel(mode):
    # backend="brute" on the CPU takes the path of a GPU: the prepared columns go to the kernel the
    # dense matrix uses there (shared distance blocks; the fused kernel with Triton).
    x = planted(p=20)
    parameter = {"top_k": 4, "threshold": 0.1, "fdr": 0.05}[mode]
    dense = ibf.pairwise_mi(normal_scores(x) if mode == "fdr" else x, backend="brute")
    got = ibf.pairwise_mi(x, backend="brute", **{mode: parameter})
    assert got.settings["device"] == "cpu" and got.settings["backend"] == "brute"
    if mode == "top_k":
        values, indices = dense_top_k(dense, 4)
        assert torch.equal(got.indices, indices)
        assert torch.allclose(got.values, values, rtol=0, atol=1e-12)
        return
    i, j = got.edges.T
    assert torch.allclose(got.values, dense[i, j], rtol=0, atol=1e-12)
    if mode == "threshold":
        above = torch.nonzero(torch.triu(dense.nan_to_num(), 1) > 0.1)
        assert torch.equal(got.edges, above)
    else:
        assert len(got.edges) >= 3  # the three planted pairs at 120 rows


def test_tiles_on_a_gpu_go_to_the_fused_kernel_in_one_launch_a_tile(monkeypatch):
    from tests.functional.knn.test_pairwise_fused import _pretend_fused, _tree_counts

    x = planted(p=12)
    want = ibf.pairwise_mi(x, top_k=3)
    launches = _pretend_fused(monkeypatch, _tree_counts)
    got = pairwise_stream.streamed_pairwise_mi(x, 3, 1, KNNOptions(backend="brute"), "top_k", 3, tile=5)
    assert launches == [10, 25, 10, 10, 10, 1]  # the tiles of 5 + 5 + 2 columns, one launch each
    assert torch.equal(got.indices, want.indices)
    assert torch.allclose(got.values, want.values, rtol=0, atol=1e-12)


def test_a_checkpoint_serves_only_its_own_kernel(tmp_path):
    x = planted(p=10)
    ibf.pairwise_mi(x, top_k=3, checkpoint=tmp_path)
    with pytest.raises(ValueError, match=r"checkpoint: .*another run's"):
        ibf.pairwise_mi(x, top_k=3, checkpoint=tmp_path, backend="brute")


def test_tied_values_are_ranked_at_random_for_each_column_and_seed():
    x = torch.tensor([[0.0, 1.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]] * 50)
    scores = normal_scores(x, seed=3)
    assert torch.equal(scores, normal_scores(x, seed=3)) and not torch.equal(scores, normal_scores(x, seed=4))
    # Each column's scores are a permutation of the 300 scores, tied values among their own ranks ...
    grid = torch.special.ndtri(torch.arange(1, 301, dtype=torch.float64) / 301)
    for j in range(2):
        assert torch.equal(scores[:, j].sort().values, grid)
        assert bool(scores[x[:, j] == 0, j].max() < scores[x[:, j] == 1, j].min())
    # ... in an order that owes nothing to the rows' (ties by row order: a correlation near 0.6).
    rows = torch.arange(300, dtype=torch.float64)
    for j in range(2):
        assert abs(float(torch.corrcoef(torch.stack([scores[:, j], rows]))[0, 1])) < 0.2


@pytest.mark.parametrize(
    "draw",
    [lambda g: np.round(g.standard_normal((300, 20))), lambda g: g.integers(0, 2, (300, 30)).astype(float)],
    ids=["rounded normals", "binary"],
)
def test_independent_columns_of_repeated_values_give_no_fdr_edges(draw):
    x = torch.from_numpy(draw(np.random.default_rng(0)))
    got = pairwise_stream.streamed_pairwise_mi(x, 3, 1, KNNOptions(), "fdr", 0.05, n_permutations=600)
    assert len(got.values) <= 1  # every pair, at over 1 nat, where ties are broken by row order


def test_series_warn_that_their_rows_are_not_independent():
    walks = torch.from_numpy(np.cumsum(np.random.default_rng(0).standard_normal((300, 6)), axis=0))
    with pytest.warns(UserWarning, match=r"pairwise_mi: the rows look like a time series"):
        ibf.pairwise_mi(walks, threshold=0.5)


def _edited_shard(folder, edit):
    shard = sorted(folder.glob("tile-*.npz"))[0]
    with np.load(shard) as z:
        arrays = dict(z)
    edit(arrays)
    np.savez(shard, **arrays)
    return shard.name


def _drop(arrays, name):
    del arrays[name]


@pytest.mark.parametrize(
    "edit",
    [
        lambda a: a.update(i=a["i"] + 1000),  # a pair of variables that do not exist
        lambda a: a.update(v=np.full_like(a["v"], np.nan)),
        lambda a: a.update(v=a["v"] * 0),  # below the threshold
        lambda a: _drop(a, "j"),
        lambda a: _drop(a, "key"),  # no run's key
        lambda a: a.update(key=np.array("0" * 64)),  # another run's
    ],
    ids=["index", "nan", "below", "field", "no key", "other key"],
)
def test_an_edited_shard_is_refused_naming_its_file(tmp_path, edit):
    x = planted(p=12)
    ibf.pairwise_mi(x, threshold=0.05, checkpoint=tmp_path)
    name = _edited_shard(tmp_path, edit)
    with pytest.raises(ValueError, match=rf"^checkpoint: .*{name}"):
        ibf.pairwise_mi(x, threshold=0.05, checkpoint=tmp_path)


def test_a_top_k_shard_pointing_outside_its_tile_is_refused(tmp_path):
    x = planted(p=12)
    pairwise_stream.streamed_pairwise_mi(x, 3, 1, KNNOptions(), "top_k", 3, tile=8, out=tmp_path)
    name = _edited_shard(tmp_path, lambda a: a["row_i"].__setitem__((0, 0), 99))
    with pytest.raises(ValueError, match=rf"^checkpoint: .*{name}"):
        pairwise_stream.streamed_pairwise_mi(x, 3, 1, KNNOptions(), "top_k", 3, tile=8, out=tmp_path)


def test_a_folder_the_run_did_not_make_is_never_written(tmp_path):
    (tmp_path / "result.npz").write_bytes(b"the user's own file")
    with pytest.raises(ValueError, match=r"^checkpoint: .*no 'key' file"):
        ibf.pairwise_mi(planted(p=10), top_k=2, checkpoint=tmp_path)
    assert (tmp_path / "result.npz").read_bytes() == b"the user's own file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.npz"]


@pytest.mark.parametrize("path", ["", " ", b"folder", 5])
def test_a_checkpoint_that_is_no_folder_path_is_refused(path):
    with pytest.raises(ValueError, match=r"^checkpoint: expected a folder's path"):
        ibf.pairwise_mi(planted(p=10), top_k=2, checkpoint=path)


def test_a_columns_scores_do_not_depend_on_the_columns_scored_with_it():
    x = torch.from_numpy(np.random.default_rng(1).integers(0, 3, (100, 6)).astype(float))
    whole = normal_scores(x, seed=2)
    some = normal_scores(x[:, [4, 1]], seed=2, columns=np.array([4, 1]))
    assert torch.equal(some, whole[:, [4, 1]])
    assert not torch.equal(normal_scores(x[:, [4]], seed=2), whole[:, [4]])  # column 0's draw


@pytest.mark.parametrize("mode", ["top_k", "threshold", "fdr"])
def test_columns_read_a_tile_at_a_time_give_the_tensors_edges(mode):
    x = planted(p=20)
    x[:, 11] = torch.round(x[:, 11])  # tied values, broken at random for fdr
    widths = []

    def read(columns):
        widths.append(len(columns))
        return x[:, torch.from_numpy(columns)].clone()

    table = pairwise_stream.Columns((120, 20), read, [x])
    parameter = {"top_k": 4, "threshold": 0.05, "fdr": 0.1}[mode]
    run = {"n_permutations": 300, "tile": 6}
    got = pairwise_stream.streamed_pairwise_mi(table, 3, 1, KNNOptions(seed=4), mode, parameter, **run)
    assert_same(
        got, pairwise_stream.streamed_pairwise_mi(x, 3, 1, KNNOptions(seed=4), mode, parameter, **run)
    )
    assert max(widths) == 12  # two blocks of 6 columns, never all 20
