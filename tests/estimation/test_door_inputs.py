"""The front door's common reading of variables: complex values, single values, no samples, missing
values and constants refused naming the variable, for every measure; tensors that require grad
detached."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iblearn import estimate
from iblearn.estimation.door import MEASURES

torch.set_num_threads(1)
N = 200
RNG = np.random.default_rng(0)
GOOD = {name: RNG.normal(size=N) for name in ("x", "y", "z", "source", "target", "series", "x1", "x2")}
GOOD["y"] = GOOD["x"] + RNG.normal(size=N)
GOOD["data"] = RNG.normal(size=(N, 3))
GOOD["labels"] = RNG.integers(0, 3, N)


def _call(measure: str, bad_name: str, bad: object, **options: object) -> object:
    names = MEASURES[measure].variables
    return estimate(measure, *(bad if n == bad_name else GOOD[n] for n in names), **options)


CASES = [(m, n) for m, spec in MEASURES.items() for n in spec.variables]


@pytest.mark.parametrize(("measure", "name"), CASES)
def test_complex_values_are_refused_naming_the_variable(measure: str, name: str) -> None:
    with pytest.raises(ValueError, match=f"^{name}: holds complex values"):
        _call(measure, name, GOOD[name] + 1j)


@pytest.mark.parametrize(("measure", "name"), CASES)
def test_a_single_value_is_refused_naming_the_variable(measure: str, name: str) -> None:
    with pytest.raises(ValueError, match=f"^{name}: expected samples as rows, got a single value"):
        _call(measure, name, np.float64(1.0))


@pytest.mark.parametrize(("measure", "name"), CASES)
def test_no_samples_are_refused_naming_the_variable(measure: str, name: str) -> None:
    empty = np.zeros((0, *np.shape(GOOD[name])[1:]))
    with pytest.raises(ValueError, match=f"^{name}: is empty"):
        _call(measure, name, empty)


@pytest.mark.parametrize(("measure", "name"), [(m, n) for m, n in CASES if m != "entropy"])
@pytest.mark.parametrize("method", ["auto", "ksg"])
def test_a_missing_value_is_refused_naming_the_variable_by_every_method(
    measure: str, name: str, method: str
) -> None:
    holed = GOOD[name].copy()
    holed[1::2] = np.nan  # half the rows: no path may reach a decomposition before its check
    with pytest.raises(ValueError, match=f"^{name}: contains NaN or Inf"):
        _call(measure, name, holed, method=method)


@pytest.mark.parametrize(("measure", "name"), [(m, n) for m, n in CASES if m != "entropy"])
def test_a_constant_variable_is_refused_as_sharing_nothing(measure: str, name: str) -> None:
    constant = np.ones_like(GOOD[name])
    what = "(column 0 is constant|every column is constant|every sample has the same label)"
    with pytest.raises(ValueError, match=f"^{name}: {what}; it shares"):
        _call(measure, name, constant)


def test_one_constant_column_among_several_variables_is_named() -> None:
    data = GOOD["data"].copy()
    data[:, 2] = 5.0
    with pytest.raises(ValueError, match=r"^data: column 2 is constant"):
        estimate("total_correlation", data)


def test_the_entropy_of_a_constant_is_estimated_as_zero() -> None:
    assert float(estimate("entropy", np.zeros(N, dtype=int), method="plugin").value) == 0


@pytest.mark.parametrize("measure", ["mi", "ais"])
def test_a_tensor_that_requires_grad_is_read_as_its_values(measure: str) -> None:
    names = MEASURES[measure].variables
    plain = [torch.tensor(GOOD[n]) for n in names]
    tracked = [t.clone().requires_grad_(True) for t in plain]
    a, b = estimate(measure, *plain), estimate(measure, *tracked)
    assert float(a.value) == pytest.approx(float(b.value), abs=1e-12)


def test_a_bfloat16_tensor_is_read_as_its_values() -> None:
    x = torch.tensor(GOOD["x"]).bfloat16()
    plain = estimate("mi", x.float(), GOOD["y"], method="ksg")
    assert float(estimate("mi", x, GOOD["y"], method="ksg")) == pytest.approx(float(plain), abs=1e-12)


def test_a_sparse_tensor_is_read_as_its_values() -> None:
    x = torch.tensor(np.c_[GOOD["x"], GOOD["z"]])
    plain = estimate("mi", x, GOOD["y"], method="ksg")
    assert float(estimate("mi", x.to_sparse(), GOOD["y"], method="ksg")) == pytest.approx(
        float(plain), abs=1e-12
    )


def test_a_scipy_sparse_matrix_is_read_as_its_values() -> None:
    from scipy import sparse

    x = np.c_[GOOD["x"], GOOD["z"]]
    plain = estimate("mi", x, GOOD["y"], method="ksg")
    assert float(estimate("mi", sparse.csr_matrix(x), GOOD["y"], method="ksg")) == pytest.approx(float(plain))


@pytest.mark.parametrize(("measure", "method"), [("mi", "ksg"), ("te", "gaussian"), ("entropy", "plugin")])
def test_a_reversed_view_is_read_as_its_values(measure: str, method: str) -> None:
    names = MEASURES[measure].variables
    reversed_views = [GOOD[n][::-1] for n in names]
    a = estimate(measure, *reversed_views, method=method)
    b = estimate(measure, *(v.copy() for v in reversed_views), method=method)
    assert float(a) == float(b)


def test_a_longdouble_array_is_read_as_float64() -> None:
    plain = estimate("mi", GOOD["x"], GOOD["y"], method="ksg")
    long = estimate("mi", GOOD["x"].astype(np.longdouble), GOOD["y"], method="ksg")
    assert float(long) == pytest.approx(float(plain), abs=1e-12)


@pytest.mark.parametrize("method", ["auto", "plugin"])
def test_labels_of_more_axes_are_read_one_row_an_outcome(method: str) -> None:
    labels = np.random.default_rng(0).integers(0, 2, size=(300, 2, 2))
    flat = estimate("entropy", labels.reshape(300, -1), method=method)
    assert float(estimate("entropy", labels, method=method)) == float(flat)


def test_masked_rows_and_iterators_are_refused_with_what_to_do() -> None:
    masked = np.ma.masked_array(GOOD["x"], mask=np.arange(N) % 50 == 7)
    with pytest.raises(ValueError, match=r"^x: a masked array, 4 of its rows masked \(the first at row 7\)"):
        estimate("mi", masked, GOOD["y"])
    with pytest.raises(ValueError, match=r"^y: expected samples as rows .* got a generator"):
        estimate("mi", GOOD["x"], (v for v in GOOD["y"]))


def test_labels_that_are_not_integers_are_refused_naming_labels() -> None:
    for method in ("auto", "plugin"):
        with pytest.raises(ValueError, match=r"^labels: expected integer symbols.*kl_entropy"):
            estimate("entropy", GOOD["labels"].astype(float), method=method)


@pytest.mark.parametrize("method", ["auto", "gaussian", "ksg"])
def test_data_of_one_column_is_refused_naming_data(method: str) -> None:
    with pytest.raises(ValueError, match=r"^data: information among variables needs at least 2"):
        estimate("total_correlation", GOOD["data"][:, :1], method=method)


def test_a_source_of_one_value_and_missing_ones_is_refused_before_the_pid_rule_reads_it() -> None:
    x1 = np.tile([1.0, np.nan], N // 2)  # the rule's decomposition read it before any check
    with pytest.raises(ValueError, match=r"^x1: contains NaN or Inf \(first at sample 1\)"):
        estimate("pid", x1, GOOD["x2"], GOOD["target"])


@pytest.mark.parametrize("method", ["auto", "gaussian"])
def test_blocks_of_a_table_may_name_its_columns(method: str) -> None:
    pd = pytest.importorskip("pandas")
    table = pd.DataFrame(GOOD["data"], columns=["a", "b", "c"])
    named = estimate("total_correlation", table, blocks=[["a", "b"], ["c"]], method=method)
    indexed = estimate("total_correlation", table, blocks=[[0, 1], [2]], method=method)
    assert float(named) == float(indexed) and named.interval == indexed.interval
    with pytest.raises(ValueError, match=r"^blocks: no column 'd'; the columns are a, b, c$"):
        estimate("total_correlation", table, blocks=[["a", "d"], ["c"]], method=method)


def test_an_integer_series_is_refused_saying_that_no_series_estimator_reads_symbols() -> None:
    from iblearn.network import infer_network

    spikes = RNG.integers(0, 2, (N, 3))
    said = r"got dtype torch\.int64; a discrete series \(spikes as 0 and 1, symbols\) has no estimator"
    for method in ("auto", "ksg", "gaussian"):
        with pytest.raises(ValueError, match=rf"^source: .*{said}"):
            estimate("te", spikes[:, 0], spikes[:, 1], method=method)
        with pytest.raises(ValueError, match=rf"^series: .*{said}"):
            estimate("ais", spikes[:, 0], method=method)
    with pytest.raises(ValueError, match=rf"^data: .*{said}"):
        infer_network(spikes, method="gaussian")
