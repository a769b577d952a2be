"""Fuzzing the surfaces of information among many variables: the measures and the PID on degenerate
columns (copies, linear combinations, scales at float64's ends, repeated rows), the subset search and
its checkpoint, the batches of a pairwise checkpoint, and the command's ``--measure``. One family per
way an input has gone wrong before:

* a degenerate input: a clear error naming the variables, or a finite value; a value that is not
  finite, or that comes from repeated rows, is never ``reliable=True``;
* a measure that does not depend on scale: the same value at any scale float64 holds;
* a checkpoint that its run could not have written: refused naming the checkpoint, or read as the run
  that wrote it;
* a setting given to the command: used as given, or refused naming the option, never a traceback.

Derandomized and small, like ``test_fuzz.py``: the file takes a few seconds on two cores.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from iblearn import functional as ibf
from iblearn.cli import main
from iblearn.estimation.verdict import figures_verdict
from tests.test_fuzz import FUZZ

torch.set_num_threads(1)
FEW = settings(FUZZ, max_examples=12)
METHODS = ("ksg", "gaussian", "copula")


@st.composite
def degenerate(draw: st.DrawFn) -> np.ndarray:
    """Columns of a few noisy copies of one source, then made degenerate one way or another."""
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    n, d = draw(st.integers(12, 80)), draw(st.integers(2, 5))
    x = rng.normal(size=(n, 1)) + rng.normal(size=(n, d))
    how = draw(st.sampled_from(["none", "copy", "sum", "scale", "repeat", "constant", "rounded"]))
    if how == "copy":
        x = np.column_stack([x, x[:, draw(st.integers(0, d - 1))]])
    elif how == "sum":
        x = np.column_stack([x, x[:, 0] + 2 * x[:, -1]])
    elif how == "scale":
        x = x * draw(st.sampled_from([1e-300, 1e-200, 1e-160, 1e160, 1e200, 1e300]))
    elif how == "repeat":
        x = np.repeat(x, draw(st.integers(2, 5)), axis=0)
    elif how == "constant":
        x[:, draw(st.integers(0, d - 1))] = 1 / 3
    elif how == "rounded":
        x = np.round(x, 1)
    return x


def _judged(call, names: tuple[str, ...]) -> list:
    """The estimates of ``call()`` judged by the front door's verdict on their figures, or [] after a
    ValueError that names one of ``names``."""
    try:
        out = call()
    except ValueError as err:
        assert any(name in str(err) for name in names), f"no argument named in: {err}"
        return []
    return [figures_verdict(est) for est in (out.values() if isinstance(out, dict) else [out])]


@pytest.mark.parametrize("method", METHODS)
@FEW
@given(x=degenerate(), measure=st.sampled_from(["total_correlation", "o_information", "s_information"]))
def test_measures_of_degenerate_columns_are_finite_or_refused(method, x, measure):
    with np.errstate(all="ignore"):
        estimates = _judged(
            lambda: ibf.multivariate_estimate(measure, x, method=method, n_resamples=3),
            ("x", "variable", "n_resamples", "k"),
        )
    for est in estimates:
        assert math.isfinite(float(est)) or est.reliable is False, est
        if method == "ksg" and len(np.unique(x, axis=0)) < 0.99 * len(x):
            assert est.reliable is False, f"repeated rows, yet reliable: {est}"


@pytest.mark.parametrize("method", ["gaussian", "copula"])
@FEW
@given(x=degenerate(), scale=st.sampled_from([1e-300, 1e-200, 1e-150, 1e150, 1e200, 1e300]))
def test_gaussian_measures_do_not_depend_on_scale(method, x, scale):
    with np.errstate(all="ignore"):
        scaled = x * scale
    magnitudes = np.abs(scaled[scaled != 0])
    if (scaled == 0).sum() > (x == 0).sum() or not (1e-290 < magnitudes.min() and magnitudes.max() < 1e290):
        return  # the scale took digits: no longer the same data
    try:
        expected = float(ibf.o_information(x, method=method))
    except ValueError:
        return
    assert float(ibf.o_information(scaled, method=method)) == pytest.approx(expected, rel=1e-7, abs=1e-9)


@pytest.mark.parametrize("method", METHODS)
@FEW
@given(x=degenerate(), labels=st.booleans())
def test_pid_of_degenerate_sources_is_finite_or_refused(method, x, labels):
    target = (x[:, -1] > 0).astype(np.int64) if labels else x[:, -1:]
    names = ("x1", "x2", "target", "x", "k")
    with np.errstate(all="ignore"):
        for est in _judged(lambda: ibf.pid_estimate(x[:, :1], x[:, 1:2], target, method=method), names):
            assert math.isfinite(float(est)) or est.reliable is False, est


_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 10**10), st.floats(), st.text(max_size=3)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@FEW
@given(edit=st.sampled_from(["done", "highest", "lowest", "whole"]), value=_JSON)
def test_a_search_checkpoint_is_read_as_written_or_refused(tmp_path_factory, edit, value):
    x = np.random.default_rng(0).normal(size=(60, 5))
    folder = tmp_path_factory.mktemp("search")
    fresh = ibf.o_information_search(x, sizes=(2, 3), method="gaussian", top=3, checkpoint=folder)
    saved = json.loads((folder / "search.json").read_text())
    changed = value if edit == "whole" else saved | {edit: value}
    (folder / "search.json").write_text(json.dumps(changed))
    try:
        again = ibf.o_information_search(x, sizes=(2, 3), method="gaussian", top=3, checkpoint=folder)
    except ValueError as err:
        assert "checkpoint" in str(err) and "search.json" in str(err)
        return
    assert changed == saved and again == fresh  # only what the search wrote is read


@FEW
@given(
    shape=st.sampled_from([(), (1,), (6,), (5,), (6, 1), (2, 3)]),
    kind=st.sampled_from(["f8", "f4", "i8", "U1", "bool"]),
    fill=st.sampled_from([0.5, math.nan, math.inf]),
)
def test_a_pairwise_batch_is_read_as_written_or_refused(tmp_path_factory, shape, kind, fill):
    x = np.random.default_rng(0).normal(size=(60, 4))
    folder = tmp_path_factory.mktemp("pairs")
    fresh = ibf.pairwise_mi(x, checkpoint=folder)
    np.save(folder / "batch-0000000.npy", np.full(shape, fill).astype(kind))
    try:
        again = ibf.pairwise_mi(x, checkpoint=folder)
    except ValueError as err:
        assert "checkpoint" in str(err) and "batch-0000000.npy" in str(err)
        return
    assert shape == (6,) and kind in ("f8", "f4") and math.isfinite(fill)  # a batch its run could write
    off = ~torch.eye(4, dtype=torch.bool)
    assert torch.equal(again[off] == 0.5, torch.ones(12, dtype=torch.bool)) or torch.equal(again, fresh)


_SETTINGS = st.one_of(
    st.sampled_from(["k", "seed", "method", "n_resamples", "n_permutations", "x", "blocks", "measure"]),
    st.sampled_from(["standardize", "ties", "bias_correction", "backend", "n_jobs", "colour"]),
)
_VALUES = st.one_of(
    st.integers(-2, 25), st.sampled_from(["ksg", "gaussian", "mine", "jitter", "raise", "true", "1.5", "[1]"])
)


@FEW
@given(
    measure=st.sampled_from(["total_correlation", "o_information", "pid"]),
    options=st.lists(st.tuples(_SETTINGS, _VALUES), max_size=3),
)
def test_command_measure_settings_are_used_or_refused_by_name(tmp_path_factory, capsys, measure, options):
    folder = tmp_path_factory.mktemp("cli")
    np.save(folder / "x.npy", np.random.default_rng(0).normal(size=(40, 3)))
    args = ["estimate", str(folder / "x.npy"), "--measure", measure, "--json"]
    if measure == "pid":
        args += ["--groups", "0;1;2"]
    for key, value in options:
        args += ["--option", f"{key}={value}"]
    capsys.readouterr()
    code = main(args)  # any exception but an ordinary exit is a traceback for the user
    out, err = capsys.readouterr()
    if code == 2:
        assert err.startswith("error: ") and any(
            o in err for o in ("--option", "--groups", "X:", "k:", "seed")
        ), err
        return
    assert code == 0, err
    record = json.loads(out)
    for key, value in dict(options).items():  # the last of a repeated key is the one given
        if key in ("k", "n_resamples", "n_permutations", "standardize", "ties", "bias_correction"):
            assert record["settings"][key] == json.loads(json.dumps(value)) or isinstance(value, str)
        if key == "seed":
            assert record["seed"] == value
