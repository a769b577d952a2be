"""The score functions on frames and series (pandas, Polars): the scores of the arrays they hold, a
column of names or categories read as discrete class labels, and text or categorical targets read as
labels by the classif scores and refused by the regression ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iblearn.sklearn import mutual_info_classif, mutual_info_regression

torch.set_num_threads(1)
KINDS = np.array(["ant", "bee", "cat"])


def _data(n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Column 0 follows the class, column 1 is noise; the class codes 0..2."""
    r = np.random.default_rng(0)
    c = r.integers(0, 3, n)
    return np.c_[c + 0.3 * r.normal(size=n), r.normal(size=n)], c


def _reference(x: np.ndarray, c: np.ndarray, discrete_target: bool) -> np.ndarray:
    """The scores of the arrays: x's columns, then the class codes as a discrete feature."""
    score = mutual_info_classif if discrete_target else mutual_info_regression
    target = c if discrete_target else x[:, 0] + x[:, 1]
    return score(np.c_[x, c], target, discrete_features=[2], random_state=0)


@pytest.mark.parametrize("discrete_target", [True, False])
def test_a_pandas_frame_with_names_and_categories_scores_as_its_codes(discrete_target):
    pd = pytest.importorskip("pandas")
    x, c = _data()
    for labels in (KINDS[c], pd.Categorical(KINDS[c])):
        frame = pd.DataFrame({"f": x[:, 0], "g": x[:, 1], "kind": labels})
        target = pd.Series(KINDS[c]) if discrete_target else pd.Series(x[:, 0] + x[:, 1], name="t")
        score = mutual_info_classif if discrete_target else mutual_info_regression
        np.testing.assert_allclose(
            score(frame, target, random_state=0), _reference(x, c, discrete_target), rtol=1e-12
        )


@pytest.mark.parametrize("discrete_target", [True, False])
def test_a_polars_frame_with_names_and_categories_scores_as_its_codes(discrete_target):
    pl = pytest.importorskip("polars")
    pytest.importorskip("narwhals")
    x, c = _data()
    for dtype in (pl.String, pl.Categorical):
        frame = pl.DataFrame({"f": x[:, 0], "g": x[:, 1], "kind": pl.Series(KINDS[c]).cast(dtype)})
        if discrete_target:
            target, score = pl.Series("y", KINDS[c]).cast(dtype), mutual_info_classif
        else:
            target, score = pl.Series("t", x[:, 0] + x[:, 1]), mutual_info_regression
        np.testing.assert_allclose(
            score(frame, target, random_state=0), _reference(x, c, discrete_target), rtol=1e-12
        )


def test_arrays_and_lists_of_names_keep_scoring_as_before():
    x, c = _data()
    by_codes = mutual_info_classif(x, c, random_state=0)
    np.testing.assert_allclose(mutual_info_classif(x, list(KINDS[c]), random_state=0), by_codes)
    np.testing.assert_allclose(mutual_info_classif(x, KINDS[c].astype(object), random_state=0), by_codes)
    assert by_codes[0] > 0.5 and by_codes[1] < 0.05


def test_labels_as_a_regression_target_and_missing_labels_are_refused_naming_y():
    pd = pytest.importorskip("pandas")
    x, c = _data()
    for target in (KINDS[c], pd.Series(pd.Categorical(KINDS[c]))):
        with pytest.raises(ValueError, match=r"^y: holds class labels"):
            mutual_info_regression(x, target)
    missing = pd.Series(pd.Categorical([None, *KINDS[c][1:]]))
    with pytest.raises(ValueError, match=r"^y: a missing value at row 0"):
        mutual_info_classif(x, missing)
