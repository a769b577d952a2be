"""Names as class labels at the front door: text, pandas categories and object arrays of strings read
as the integer labels they stand for, with the same estimate as their codes; junk named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from iblearn import estimate
from iblearn.estimation.reading import label_columns, read_variable, sorted_codes
from iblearn.estimators.reliability import UnreliableEstimateWarning

torch.set_num_threads(1)

NAMES = np.array(["cat", "dog", "eel"])


def _labels(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..2 and x that depends on them."""
    r = np.random.default_rng(seed)
    codes = r.integers(0, 3, n)
    return codes, codes + r.normal(size=n)


@pytest.mark.parametrize(
    "wrap",
    [
        lambda c: pd.Series(NAMES[c]),
        lambda c: pd.Categorical(NAMES[c]),
        lambda c: pd.Series(NAMES[c], dtype="category"),
        lambda c: list(NAMES[c]),
        lambda c: NAMES[c].astype(object),
    ],
    ids=["series", "categorical", "series-category", "list", "object-array"],
)
def test_names_give_the_estimate_of_their_codes(wrap):
    codes, x = _labels()
    by_codes = estimate("mi", x, torch.from_numpy(codes))
    by_names = estimate("mi", x, wrap(codes))
    assert by_names.estimator == by_codes.estimator
    assert float(by_names) == pytest.approx(float(by_codes), abs=1e-12)


def test_entropy_and_cmi_of_names():
    codes, _ = _labels()
    h = estimate("entropy", list(NAMES[codes]))
    assert float(h) == pytest.approx(float(estimate("entropy", torch.from_numpy(codes))), abs=1e-12)
    z = np.random.default_rng(1).integers(0, 2, len(codes))
    cmi = estimate("cmi", NAMES[codes], pd.Series(NAMES[codes]), pd.Categorical(["a", "b"])[z])
    same = estimate("cmi", codes, codes, z)
    assert float(cmi) == pytest.approx(float(same), abs=1e-12)


def test_a_frame_keeps_its_names_and_codes_its_text_columns():
    frame = pd.DataFrame({"w": [0.5, 1.5, 2.5], "kind": ["b", "a", "b"]}, index=[7, 8, 9])
    read = read_variable(frame, "x")
    assert list(read.columns) == ["w", "kind"] and list(read.index) == [7, 8, 9]
    assert read["kind"].tolist() == [1, 0, 1] and read["w"].tolist() == [0.5, 1.5, 2.5]
    numbers = pd.DataFrame({"w": [0.5, 1.5]})
    assert read_variable(numbers, "x") is numbers  # nothing to read: the same object


def test_columns_that_share_a_name_are_read_by_position():
    frame = pd.DataFrame({"w": [0.5, 1.5, 2.5], "kind": ["b", "a", "b"]})
    frame.columns = ["v", "v"]
    read = read_variable(frame, "x")
    assert read.iloc[:, 0].tolist() == [0.5, 1.5, 2.5] and read.iloc[:, 1].tolist() == [1, 0, 1]
    assert label_columns(frame, "x") == [False, True]
    codes, x = _labels()
    twice = pd.DataFrame({"a": x, "b": NAMES[codes]}).set_axis(["v", "v"], axis=1)
    est = estimate("mi", twice, x + np.random.default_rng(2).normal(size=len(x)), method="ksg")
    assert est.names == {"x": ("v", "v")}


def test_categories_keep_their_order_and_text_sorts():
    assert read_variable(pd.Categorical(["lo", "hi"], categories=["lo", "hi"]), "y").tolist() == [0, 1]
    assert sorted_codes(["lo", "hi"]).tolist() == [1, 0]


@pytest.mark.parametrize(
    ("junk", "says"),
    [
        (["a", 1, "b", 2], "mixes names and numbers"),
        (
            pd.Series([True, 0, 1, False], dtype=object),
            r"mixes booleans with other values \(True at row 0, 0 at row 1\)",
        ),
        (["a", None, "b", "a"], "missing value"),
        (pd.Categorical(["a", None, "b", "a"]), "missing value"),
        (pd.Series([True, pd.NA, False, True], dtype="boolean"), "missing value"),
        ([{"a": 1}, {"b": 2}, {"a": 1}, {"b": 2}], "neither a number nor a name"),
    ],
)
def test_junk_is_refused_naming_the_argument(junk, says):
    _, x = _labels(4)
    with pytest.raises(ValueError, match=rf"^y: .*{says}"):
        estimate("mi", x, junk)
    with pytest.raises(ValueError, match=rf"^labels: .*{says}"):
        estimate("entropy", junk)


def test_rows_labelled_in_another_order_are_refused_naming_the_variable():
    codes, x = _labels()
    index = [f"cell{i}" for i in range(len(x))]
    frame = pd.DataFrame({"x": x}, index=index)
    shuffled = pd.Series(NAMES[codes], index=index, name="kind").sample(frac=1.0, random_state=0)
    with pytest.raises(ValueError, match=r"^y: its index holds the labels of x's rows \(x\.index\)"):
        estimate("mi", frame, shuffled)
    aligned = estimate("mi", frame, shuffled.loc[frame.index])
    by_position = estimate("mi", frame, pd.Series(NAMES[codes]))  # other labels: paired by position
    assert float(aligned) == pytest.approx(float(by_position), abs=1e-12)


def test_cells_of_an_anndata_and_a_column_in_another_order_are_refused():
    anndata = pytest.importorskip("anndata")
    codes, x = _labels()
    cells = anndata.AnnData(x[:, None], obs=pd.DataFrame(index=[f"c{i}" for i in range(len(x))]))
    kind = pd.Series(NAMES[codes], index=cells.obs_names)
    with pytest.raises(ValueError, match=r"y: .*\(x\.obs_names\) in another order.*y\.loc\[x\.obs_names\]"):
        estimate("mi", cells, kind.iloc[::-1])


def test_nullable_numbers_read_as_numbers_and_their_missing_values_are_named():
    codes, x = _labels()
    frame = pd.DataFrame({"w": pd.array(x, dtype="Float64"), "n": pd.array(codes, dtype="Int64")})
    y = codes + np.random.default_rng(3).normal(size=len(codes))
    plain = estimate("mi", np.c_[x, codes], y, method="ksg")
    assert float(estimate("mi", frame, y, method="ksg")) == pytest.approx(float(plain), abs=1e-12)
    assert read_variable(frame, "x")["n"].dtype == np.int64
    frame.loc[7, "n"] = pd.NA
    with pytest.raises(
        ValueError, match=r"^x: column 'n': a missing value \(<NA>\) at row 7; drop or fill it"
    ):
        estimate("mi", frame, x)
    with pytest.raises(ValueError, match=r"^y: a missing value \(<NA>\) at row 7"):
        estimate("mi", x, frame["n"])


def test_datetimes_and_durations_are_refused_with_what_to_do():
    times = pd.Series(pd.date_range("2024-01-01", periods=4, freq="h"))
    with pytest.raises(
        ValueError, match=r"^x: column 't': holds datetimes, not numbers; pass them as numbers"
    ):
        estimate("mi", pd.DataFrame({"t": times}), [0.0, 1.0, 0.5, 2.0])
    with pytest.raises(ValueError, match=r"^x: holds durations, not numbers"):
        estimate("mi", times - times.iloc[0], [0.0, 1.0, 0.5, 2.0])
    with pytest.raises(ValueError, match=r"^y: holds datetimes, not numbers"):
        estimate("mi", [0.0, 1.0, 0.5, 2.0], times.to_numpy())


def test_integer_counts_are_labels_whose_rare_classes_say_to_pass_floats():
    r = np.random.default_rng(4)
    counts = r.poisson(200, 600)
    y = (counts - 200) / np.sqrt(200) + r.normal(size=600)
    with pytest.warns(UnreliableEstimateWarning):
        as_labels = estimate("mi", counts, y)
    assert as_labels.report.chosen == "mixed_ksg" and not as_labels.report.checks["classes"].passed
    assert "pass counts as floats to read them as numbers" in as_labels.caveat
    assert estimate("mi", counts.astype(float), y).report.chosen != "mixed_ksg"
