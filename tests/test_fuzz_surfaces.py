"""Fuzzing the surfaces beyond one estimate: conditional MI, transfer entropy, pairwise MI, every
registry estimator's one-call path, the command line's readers and writers, the data loaders and the
run records. One generated family per way an input has gone wrong before:

* a data file whose structures point outside themselves (sparse indices, array headers, graph ids):
  refused, never read out of bounds;
* NaN or Inf anywhere in the rows: refused, whatever the estimator and its standardization;
* an estimate that is impossible for its data (below 0 beyond its error, above H(Y)): never
  ``reliable=True``;
* machine-readable output: strict JSON, whatever the numbers;
* every resource a user names (threads, file size, permutations, lags): bounded, with an error naming it;
* indices and counts of the wrong type or size: refused naming the argument, never truncated;
* a record that is not a regular file: named, never opened.

Derandomized and small, like ``test_fuzz.py``: the file takes a few seconds on two cores.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import math
import os
import pickle
import re
import struct
import warnings

import numpy as np
import pytest
import scipy.sparse
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from iblearn import estimate_mi
from iblearn import functional as ibf
from iblearn.cli import main
from iblearn.data._pickle import load_data_pickle
from iblearn.data.graphs import load_tu
from iblearn.data.vision import read_idx
from iblearn.estimation.verdict import BELOW_ZERO
from iblearn.estimators import REGISTRY
from iblearn.estimators.reliability import label_entropy
from iblearn.records import RunFolder
from tests.test_fuzz import FUZZ, _check, samples

FEW = settings(FUZZ, max_examples=8)

_COUNTS = st.one_of(st.integers(-2, 40), st.sampled_from([10**12, 10**30, 1.5, "3", None, True, np.int64(5)]))


# ------------------------------------------------------------------ conditional, transfer, pairwise
@FUZZ
@given(samples(), samples(), samples(), st.one_of(st.integers(1, 4), _COUNTS))
def test_conditional_mi(x, y, z, k):
    with np.errstate(all="ignore"):
        _check(lambda: ibf.ksg_cmi(x, y, z, k), ("x", "y", "z", "k", "sample counts"))


@FUZZ
@given(samples(), samples(), _COUNTS, st.one_of(st.integers(1, 3), _COUNTS))
def test_transfer_entropy(source, target, lag, history):
    with np.errstate(all="ignore"):
        _check(
            lambda: ibf.transfer_entropy(source, target, lag, history),
            ("source", "target", "lag", "history", "sample counts"),
        )


_INDICES = st.one_of(
    st.integers(-3, 4), st.sampled_from([0.5, 1.0, np.int64(1), np.int32(0), True, "1", None, 10**30])
)


@FUZZ
@given(samples(n=30), st.lists(st.lists(_INDICES, min_size=0, max_size=3), min_size=0, max_size=4))
def test_pairwise_mi_blocks(x, blocks):
    """Indices of any type: used exactly when integral and inside, refused naming ``blocks`` otherwise
    (``0.5`` used to be truncated to column 0)."""
    with np.errstate(all="ignore"):
        _check(lambda: ibf.pairwise_mi(x, blocks).sum(), ("x", "blocks", "sample counts"))


@FUZZ
@given(samples(n=30), st.lists(st.tuples(_INDICES, _INDICES), min_size=0, max_size=3))
def test_ksg_mi_pairs(x, pairs):
    variables = [x, x] if np.ndim(x) == 2 else [x]
    with np.errstate(all="ignore"):
        _check(lambda: ibf.ksg_mi_pairs(variables, pairs).sum(), ("variables", "pairs", "sample counts"))


@FUZZ
@given(samples(), _COUNTS, st.one_of(st.integers(1, 10), _COUNTS))
def test_local_permutations(z, count, neighbours):
    def call() -> float:
        perms = ibf.local_permutations(z, count, neighbours, seed=0)
        n = len(np.asarray(z))
        assert all(sorted(p.tolist()) == list(range(n)) for p in perms), "not a permutation"
        return 0.0

    _check(call, ("z", "n_permutations", "n_neighbours", "sample counts"))


# --------------------------------------------------------------- every registry estimator, one call
_ROWS_ONLY = sorted(n for n in REGISTRY if n not in ("aamine", "dim", "dgi", "gmi"))  # graphs, sub-nets


@pytest.mark.parametrize("method", _ROWS_ONLY)
@FEW
@given(rows=st.integers(4, 60), bad=st.sampled_from([None, math.nan, math.inf, -math.inf]), data=st.data())
def test_one_call_estimates_refuse_nan_and_are_never_impossible_yet_reliable(method, rows, bad, data):
    gen = torch.Generator().manual_seed(data.draw(st.integers(0, 3)))
    x = torch.randn(rows, 2, generator=gen, dtype=torch.float64)
    labels = method == "mixed_ksg"
    y = torch.randint(0, 3, (rows,), generator=gen) if labels else x + torch.randn(rows, 2, generator=gen)
    if bad is not None:
        x[data.draw(st.integers(0, rows - 1)), data.draw(st.integers(0, 1))] = bad
    if REGISTRY[method].trainable:  # the held-out one-call path, with a few steps
        call = lambda: estimate_mi(x, y, method, steps=5, batch_size=8, n_resamples=2)  # noqa: E731
    else:
        call = lambda: REGISTRY[method]()(x, y, n_resamples=2)  # noqa: E731
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = call()
    except ValueError as err:
        named = re.split(r"[:=]", str(err))[0].split(", ")
        assert set(named) <= {"x", "y", "test", "k", "n_resamples"}, err
        return
    assert bad is None, f"{method} returned {float(result)} from rows holding {bad}"
    if result.reliable is not False:
        nats, allowance = float(result), max(BELOW_ZERO, 2 * (result.stderr or 0.0))
        assert nats >= -allowance, f"{method}: {nats} nats marked reliable"
        ceiling = label_entropy(y)
        assert ceiling is None or nats <= ceiling + allowance, f"{method}: {nats} above H(Y) = {ceiling}"


# ---------------------------------------------------------------------- the command line's files
_CELLS = st.one_of(
    st.floats(-1e6, 1e6).map(repr),
    st.integers(-5, 5).map(str),
    st.sampled_from(['"1,5"', "nan", "inf", "-inf", "", "NA", "1e400", "abc", '"x"', "0x10", "1_0", " 2 "]),
)


def _run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            code = main(args)
        except SystemExit as exit:  # argparse's own refusals: a usage line and the argument, status 2
            code = exit.code
    return code, out.getvalue(), err.getvalue()


def _strict(text: str) -> object:
    def refuse(constant: str) -> object:
        raise AssertionError(f"{constant} in JSON output")

    return json.loads(text, parse_constant=refuse)


@FUZZ
@given(st.lists(st.lists(_CELLS, min_size=3, max_size=3), min_size=0, max_size=30), st.booleans())
def test_cli_reads_any_csv_and_writes_strict_json(tmp_path_factory, rows, header):
    path = tmp_path_factory.mktemp("csv") / "d.csv"
    lines = (["a,b,c"] if header else []) + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    code, out, err = _run(["estimate", str(path), "--y-cols", "-1", "--json"])
    if code == 0:
        record = _strict(out)
        assert isinstance(record, dict) and "value" in record
    else:
        assert code == 2 and err.strip(), "an error without a message"
        assert "Traceback" not in err


@FUZZ
@given(
    st.sampled_from(["--threads", "--max-mb", "--seed", "--permutations", "--resamples", "--k", "--base"]),
    st.sampled_from(["0", "-1", "1e308", "nan", "inf", "abc", "1.5", str(2**62), str(2**70)]),
)
def test_cli_bounds_every_resource_it_is_given(tmp_path_factory, option, value):
    folder = tmp_path_factory.mktemp("cli")
    x = np.random.default_rng(0).normal(size=(40, 2))
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", x + 1)
    code, out, err = _run(["estimate", str(folder / "x.npy"), str(folder / "y.npy"), option, value, "--json"])
    if code == 0:
        _strict(out)
    else:
        assert code == 2 and option.lstrip("-") in err, err
        assert "Traceback" not in err


# ------------------------------------------------------------------------------------ data files
_SPARSE_STATE = st.fixed_dictionaries(
    {},
    optional={
        "indices": hnp.arrays(st.sampled_from([np.int32, np.int64, np.float64]), st.integers(0, 8)),
        "indptr": hnp.arrays(st.sampled_from([np.int32, np.int64]), st.integers(0, 6)),
        "data": hnp.arrays(st.sampled_from([np.float64, np.int8]), st.integers(0, 8)),
        "_shape": st.tuples(st.integers(-2, 6), st.integers(-2, 2**40)),
    },
)


@FUZZ
@given(_SPARSE_STATE)
def test_sparse_matrices_in_data_files_are_checked_before_use(state):
    m = scipy.sparse.csr_matrix(np.eye(4))
    m.__dict__.update(state)
    try:
        loaded = load_data_pickle(io.BytesIO(pickle.dumps(m, protocol=4)))
    except pickle.UnpicklingError:
        return
    dense = loaded.toarray()  # safe only because every index was checked
    assert dense.shape == loaded.shape


@FUZZ
@given(st.binary(min_size=0, max_size=64), st.integers(0, 200))
def test_a_data_pickle_with_changed_bytes_is_refused_or_read(noise, at):
    """Any corruption of a real data pickle gives an UnpicklingError naming the file, or plain data."""
    real = bytearray(pickle.dumps({"x": scipy.sparse.csr_matrix(np.eye(3)), "y": [np.arange(4)]}, protocol=2))
    real[at % len(real) : at % len(real) + len(noise)] = noise
    f = io.BytesIO(bytes(real))
    f.name = "ind.test.x"  # type: ignore[attr-defined]
    try:
        load_data_pickle(f)
    except pickle.UnpicklingError as err:
        assert "ind.test.x" in str(err)


@FUZZ
@given(
    st.integers(0, 0x10),
    st.lists(st.integers(0, 2**32 - 1), min_size=0, max_size=5),
    st.binary(max_size=64),
    st.booleans(),
)
def test_idx_files_with_any_header(tmp_path_factory, code, dims, payload, zipped):
    raw = bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload
    path = tmp_path_factory.mktemp("idx") / ("f.idx.gz" if zipped else "f.idx")
    path.write_bytes(gzip.compress(raw) if zipped else raw)
    try:
        array = read_idx(path)
    except ValueError as err:
        assert "path:" in str(err)
        return
    assert array.shape == tuple(dims)


# -------------------------------------------------------------------------------------- records
@FUZZ
@given(
    st.sampled_from(["checkpoint.pt", "metrics.csv", "config.json", "results.json"]),
    st.sampled_from(["fifo", "folder", "link to fifo"]),
)
def test_a_record_that_is_not_a_regular_file_is_never_opened(tmp_path_factory, name, kind):
    run = RunFolder(tmp_path_factory.mktemp("run"), resume=True)
    path = run.file(name)
    if kind == "folder":
        path.mkdir()
    else:
        fifo = path if kind == "fifo" else run.file("elsewhere")
        os.mkfifo(fifo)
        if kind != "fifo":
            path.symlink_to(fifo)
    calls = {
        "checkpoint.pt": run.load_checkpoint,
        "metrics.csv": run.metrics,
        "config.json": lambda: run.write_config({"a": 1}),
        "results.json": lambda: run.write_table("| a |\n|---|\n"),
    }
    with pytest.raises(ValueError, match=name):
        calls[name]()


@FUZZ
@given(
    st.lists(st.tuples(st.integers(-1, 8), st.integers(-1, 8)), max_size=8),
    st.lists(st.integers(-1, 4), min_size=0, max_size=8),
    st.lists(st.integers(0, 3), min_size=0, max_size=8),
    st.lists(st.integers(-1, 2), min_size=0, max_size=4),
    st.sampled_from(["", "x", "1.5", "99999999999999999999999"]),
)
def test_tu_graph_files_that_do_not_fit_together(tmp_path_factory, edges, indicator, labels, classes, junk):
    """Edges between nodes that are not there, nodes of graphs that are not there: refused naming the file."""
    folder = tmp_path_factory.mktemp("tu") / "T"
    folder.mkdir()
    lines = {
        "A": "\n".join(f"{a}, {b}" for a, b in edges),
        "graph_indicator": "\n".join(map(str, indicator)),
        "node_labels": "\n".join(map(str, labels)) + ("\n" + junk if junk and len(edges) % 2 else ""),
        "graph_labels": "\n".join(map(str, classes)),
    }
    for part, text in lines.items():
        (folder / f"T_{part}.txt").write_text(text + "\n")
    try:
        data = load_tu("T", root=str(folder.parent), download=False)
    except ValueError as err:
        assert str(err).startswith("T"), err
        return
    nodes = len(data.x)
    assert data.edge_index.numel() == 0 or int(data.edge_index.max()) < nodes
    data.batch(torch.arange(len(data)))  # every index it follows lies inside


_RECONSTRUCT = np.ndarray((0,)).__reduce__()[0]


class _Built:
    """Pickles as ``func(*args)`` followed by BUILD with ``state``: what a tampered file can hold."""

    def __init__(self, func: object, args: tuple[object, ...], state: object) -> None:
        self.parts = (func, args, state)

    def __reduce__(self) -> tuple[object, ...]:
        return self.parts


@FUZZ
@given(
    st.sampled_from(["V16", "f8", "i4", "O", "u1", "S4", "c16"]),
    st.sampled_from([">", "<", "|", "=", "!", None]),
    st.sampled_from([("a",), None]),
    st.sampled_from([1 << 28, 1 << 34, 8, -8, None]),
    st.tuples(st.integers(1, 4), st.integers(1, 3)),
    st.sampled_from([0, 0, 0, -1, 1]),
)
def test_array_dtypes_in_data_files_are_built_from_checked_parts(spec, order, names, offset, shape, extra):
    """Field offsets and byte orders from the file: numpy's own dtype.__setstate__ took them, and the
    array's byte swap wrote outside it (a segfault at an offset of 2^28)."""
    size = math.prod(shape) * (16 if spec in ("V16", "O") else np.dtype(spec).itemsize)
    fields = None if offset is None else {"a": (np.dtype(">i8"), offset)}
    dtype = _Built(np.dtype, (spec, False, True), (3, order, None, names, fields, 16, 1, 16))
    array = _Built(_RECONSTRUCT, (np.ndarray, (0,), b"b"), (1, shape, dtype, False, b"\x01" * (size + extra)))
    try:
        loaded = load_data_pickle(io.BytesIO(pickle.dumps(array, protocol=4)))
    except pickle.UnpicklingError:
        return
    assert loaded.dtype.kind in "biuf" and loaded.dtype.fields is None and loaded.shape == shape
    loaded.byteswap(inplace=True)  # touches every byte it claims: inside its own buffer only
