"""The selector and the score functions on Polars frames: the same selection as on arrays, the names
kept in ``feature_names_in_`` and ``get_feature_names_out()``, and ``set_output(transform="polars")``
returning a Polars frame of the selected columns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iblearn.sklearn import MIFeatureSelector, mutual_info_classif
from tests.sklearn.conftest import signal_and_echo

pl = pytest.importorskip("polars")
torch.set_num_threads(1)

COLUMNS = ["noise_a", "signal", "noise_b", "echo"]


def test_a_polars_frame_gives_the_selection_of_its_array_and_keeps_the_names():
    x, y = signal_and_echo()
    reference = MIFeatureSelector(2).fit(x, y)
    frame = pl.DataFrame(x, schema=COLUMNS)
    selector = MIFeatureSelector(2).fit(frame, pl.Series("y", np.where(y == 1, "yes", "no")))
    np.testing.assert_array_equal(selector.selected_, reference.selected_)
    assert list(selector.feature_names_in_) == COLUMNS
    assert list(selector.get_feature_names_out()) == [COLUMNS[j] for j in sorted(reference.selected_)]


def test_set_output_polars_returns_a_polars_frame_of_the_selected_columns():
    x, y = signal_and_echo()
    frame = pl.DataFrame(x, schema=COLUMNS)
    selector = MIFeatureSelector(2).set_output(transform="polars").fit(frame, y)
    out = selector.transform(frame)
    assert isinstance(out, pl.DataFrame)
    assert out.columns == list(selector.get_feature_names_out())
    assert "signal" in out.columns
    np.testing.assert_array_equal(out.to_numpy(), x[:, selector.get_support()])


def test_the_scores_take_polars_frames_and_text_labels():
    x, y = signal_and_echo()
    frame = pl.DataFrame(x, schema=COLUMNS)
    by_frame = mutual_info_classif(frame, pl.Series("y", np.where(y == 1, "yes", "no")), random_state=0)
    np.testing.assert_allclose(by_frame, mutual_info_classif(x, y, random_state=0))


def test_columns_of_names_are_refused_naming_them_and_what_to_do():
    pd = pytest.importorskip("pandas")
    x, y = signal_and_echo()
    kinds = np.where(x[:, 1] > 0, "high", "low")
    for frame in (
        pd.DataFrame({"signal": x[:, 1], "kind": pd.Categorical(kinds)}),
        pl.DataFrame({"signal": x[:, 1], "kind": kinds}),
    ):
        with pytest.raises(ValueError, match=r"^X: columns 'kind' hold class labels .* mutual_info_classif"):
            MIFeatureSelector(1).fit(frame, y)


def test_a_missing_class_label_is_named_by_its_row():
    pd = pytest.importorskip("pandas")
    x, y = signal_and_echo()
    for labels in (
        pd.Series(pd.Categorical(np.where(y == 1, "yes", "no"))),
        pd.Series(y == 1, dtype="boolean"),
        pl.Series("y", np.where(y == 1, "yes", "no")),
    ):
        labels[3] = None
        with pytest.raises(ValueError, match=r"^y: a missing value (\(.*\) )?at row 3; drop or fill it"):
            MIFeatureSelector(1).fit(x, labels)


def test_a_target_whose_index_orders_the_rows_otherwise_is_refused():
    pd = pytest.importorskip("pandas")
    x, y = signal_and_echo()
    frame = pd.DataFrame(x, columns=COLUMNS)
    shuffled = pd.Series(y, index=frame.index).sample(frac=1.0, random_state=0)
    with pytest.raises(ValueError, match=r"^y: its index holds the labels of X's rows \(X\.index\)"):
        MIFeatureSelector(1).fit(frame, shuffled)
    with pytest.raises(ValueError, match=r"^y: its index holds the labels of X's rows"):
        mutual_info_classif(frame, shuffled)
