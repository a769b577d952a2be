"""Fuzzing what a long run reads back and how it tests: checkpoint files, checkpoint paths, tied values
and noise. One generated family per way these have gone wrong before:

* a network target's file with any field changed: refused naming the file, or read as a result a run
  could give (each edge between two existing processes, no self-edge, a lag within the lags searched);
* a pairwise shard with any array changed: refused naming the file, or read as edges a run could give;
* a checkpoint path that names no folder (empty, blank, bytes, a number): refused naming ``checkpoint``,
  and nothing written where the run was started;
* independent columns of repeated values: no edge kept by the FDR test at more than the null's size;
* ``n_permutations`` beyond the library's bound: refused before any work;
* noise of any shape (slow): a network in at most alpha of the runs, plus two standard errors.

Derandomized and small, like ``test_fuzz.py``; the family over noise runs in ``make test-all``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from iblearn import functional as ibf
from iblearn.functional.knn import pairwise_stream
from iblearn.functional.knn.options import KNNOptions
from iblearn.network import infer_network
from iblearn.network.simulate import random_var_network
from tests.test_fuzz import FUZZ

FEW = settings(FUZZ, max_examples=12)
NETWORK = dict(max_lag=2, method="gaussian", n_permutations=60)

_VALUES = st.one_of(
    st.integers(-3, 100),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(-2, 5), max_size=3),
    st.lists(st.lists(st.integers(-2, 5), max_size=3), max_size=3),
    st.sampled_from([None, True, "1", [], {}, 0.5, 1 / 61, 1.0, 2.0]),
)


@pytest.fixture(scope="module")
def network_run(tmp_path_factory):
    data = random_var_network(4, 400, seed=11).data
    folder = tmp_path_factory.mktemp("network")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 60 surrogates are few for 4 targets, which is said
        infer_network(data, checkpoint=folder, **NETWORK)
    return data, folder


def _copy(folder: Path) -> Path:
    copy = Path(tempfile.mkdtemp(dir=folder.parent)) / "run"
    shutil.copytree(folder, copy)
    return copy


@FEW
@given(
    st.integers(0, 3),
    st.sampled_from(
        ["target", "past", "sources", "te", "p_values", "omnibus_te", "omnibus_p", "key", "extra"]
    ),
    _VALUES,
)
def test_a_target_file_with_a_field_changed(network_run, j, field, value):
    data, base = network_run
    folder = _copy(base)
    path = folder / f"target_{j}.json"
    saved = json.loads(path.read_text())
    saved[field] = value
    path.write_text(json.dumps(saved))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = infer_network(data, checkpoint=folder, **NETWORK)
    except ValueError as err:
        assert str(err).startswith("checkpoint: ") and path.name in str(err), err
        return
    assert [t.target for t in result.targets] == [0, 1, 2, 3]
    for source, target, lag in result.edges:
        assert 0 <= source < 4 and source != target and 1 <= lag <= 2
    for t in result.targets:
        assert all(0 < p <= 1 for p in (*t.p_values, t.omnibus_p))


@pytest.fixture(scope="module")
def pairwise_run(tmp_path_factory):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(80, 10, generator=g, dtype=torch.float64)
    x[:, 1] += x[:, 0]
    folder = tmp_path_factory.mktemp("pairwise")
    pairwise_stream.streamed_pairwise_mi(x, 3, 1, KNNOptions(), "threshold", 0.05, tile=4, out=folder)
    return x, folder


@st.composite
def _arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = draw(st.sampled_from([np.int64, np.float64, np.int32, np.bool_, "<U3"]))
    shape = draw(st.sampled_from([(), (0,), (1,), (3,), (2, 2)]))
    values = draw(st.lists(_VALUES.filter(lambda v: isinstance(v, int | float)), min_size=4, max_size=4))
    with np.errstate(all="ignore"):
        flat = np.resize(np.array(values, dtype=np.float64), max(1, int(np.prod(shape))))
        return flat[: int(np.prod(shape))].reshape(shape).astype(dtype)


@FEW
@given(st.integers(0, 5), st.sampled_from(["i", "j", "v", "key", "extra"]), _arrays())
def test_a_pairwise_shard_with_an_array_changed(pairwise_run, t, name, value):
    x, base = pairwise_run
    folder = _copy(base)
    path = folder / f"tile-{t:07d}.npz"
    with np.load(path) as z:
        arrays = dict(z)
    arrays[name] = value
    np.savez(path, **arrays)
    try:
        got = pairwise_stream.streamed_pairwise_mi(
            x, 3, 1, KNNOptions(), "threshold", 0.05, tile=4, out=folder
        )
    except ValueError as err:
        assert str(err).startswith("checkpoint: ") and path.name in str(err), err
        return
    edges, values = got.edges.numpy(), got.values.numpy()
    assert ((edges >= 0) & (edges < 10)).all() and (edges[:, 0] < edges[:, 1]).all()
    assert len(np.unique(edges, axis=0)) == len(edges)
    assert np.isfinite(values).all() and (values > 0.05).all()


_NO_FOLDER = st.one_of(
    st.sampled_from(["", " ", "\t", "\n", "  \n"]),
    st.binary(max_size=5),
    st.integers(),
    st.floats(),
    st.lists(st.text(max_size=3), max_size=2),
)


@FEW
@given(_NO_FOLDER)
def test_a_checkpoint_path_that_names_no_folder(path):
    where = tempfile.mkdtemp()
    x = np.random.default_rng(0).standard_normal((60, 3))
    with contextlib.chdir(where):
        for call in (
            lambda: ibf.pairwise_mi(x, top_k=1, checkpoint=path),
            lambda: infer_network(x, max_lag=1, method="gaussian", n_permutations=60, checkpoint=path),
        ):
            with pytest.raises(ValueError, match=r"^checkpoint: "), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                call()
    assert os.listdir(where) == []
    os.rmdir(where)


@FEW
@given(st.integers(2, 60), st.integers(4, 7), st.sampled_from([2, 3, 5]), st.integers(0, 2**32 - 1))
def test_independent_columns_of_repeated_values_keep_no_strong_edge(n_rows, p, levels, seed):
    """Independent columns of ``levels`` values: normal scores with ties ranked at random meet the
    null exactly, so a kept edge is one of the rare tail draws, never one of the 1 - 2.5 nats that
    ties ranked by row order gave."""
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.integers(0, levels, (2 * n_rows + 40, p)).astype(np.float64))
    got = pairwise_stream.streamed_pairwise_mi(x, 3, 1, KNNOptions(), "fdr", 0.05, n_permutations=400)
    assert len(got.values) <= 1 and bool((got.values < 0.5).all())


@FUZZ
@given(st.integers(10**6 + 1, 10**18))
def test_permutations_beyond_the_bound_are_refused_before_any_work(count):
    x = np.random.default_rng(0).standard_normal((40, 3))
    with pytest.raises(ValueError, match=r"^n_permutations: at most 1,000,000"):
        infer_network(x, max_lag=1, n_permutations=count)


@pytest.mark.slow
def test_noise_of_any_shape_reads_as_a_network_at_most_alpha_of_the_time():
    rng = np.random.default_rng(2)
    runs, cases = 0, 40
    for case in range(cases):
        t, p = int(rng.integers(40, 400)), int(rng.integers(3, 9))
        noise = rng.standard_normal((t, p))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs += bool(
                infer_network(noise, max_lag=2, method="gaussian", n_permutations=100, seed=case).edges
            )
    assert runs / cases <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / cases)
