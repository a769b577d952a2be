"""MIFeatureSelector and the score functions: scikit-learn's estimator checks, Pipeline and GridSearchCV,
pandas column names, the features it picks on tasks whose relevant features are known, the same
result for any n_jobs, and bad input named."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from joblib import parallel_config
from sklearn.datasets import make_classification, make_friedman1
from sklearn.feature_selection import SelectKBest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from iblearn.sklearn import MIFeatureSelector, mutual_info_classif, mutual_info_regression
from sklearn import feature_selection as skfs


def friedman_with_copies(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """make_friedman1's 10 columns (y depends on 0 - 4 only) and a noisy copy of each of 0 - 4 (10 - 14,
    correlation 0.95 with its original)."""
    X, y = make_friedman1(n_samples=n, n_features=10, noise=1.0, random_state=seed)
    copies = X[:, :5] + 0.1 * np.random.default_rng(seed).normal(size=(n, 5))
    return np.c_[X, copies], y


def informative_rank(X: np.ndarray, picked: list[int], n_informative: int) -> int:
    """How many of the informative directions the picked columns of make_classification (shuffle=False:
    informative first, then their linear combinations) determine."""
    coef, *_ = np.linalg.lstsq(X[:, :n_informative], X[:, picked], rcond=None)
    return int(np.linalg.matrix_rank(coef, tol=1e-6))


@parametrize_with_checks(
    [MIFeatureSelector(), MIFeatureSelector(2, method="jmi"), MIFeatureSelector(method="cmim")]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_in_a_pipeline():
    X, y = friedman_with_copies(300, 0)
    model = make_pipeline(StandardScaler(), MIFeatureSelector(4), LinearRegression()).fit(X, y)
    assert model.predict(X).shape == (300,)
    selector = model[1]
    assert selector.selected_.shape == (4,) and selector.transform(X).shape == (300, 4)
    assert selector.get_support().sum() == 4 and set(np.flatnonzero(selector.get_support())) == set(
        selector.selected_
    )
    assert selector.scores_[0] == selector.relevance_.max()  # the first pick is the most relevant


def test_in_grid_search():
    X, y = make_classification(n_samples=150, n_features=6, n_informative=2, n_redundant=1, random_state=0)
    pipe = make_pipeline(MIFeatureSelector(), LogisticRegression())
    grid = {"mifeatureselector__method": ["mrmr", "cmim"], "mifeatureselector__n_features_to_select": [1, 3]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    assert len(search.cv_results_["params"]) == 4 and search.best_score_ > 0.7


def test_pandas_column_names():
    pd = pytest.importorskip("pandas")
    X, y = friedman_with_copies(300, 0)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    selector = MIFeatureSelector(3).fit(frame, y)
    assert list(selector.feature_names_in_) == list(frame.columns)
    assert list(selector.get_feature_names_out()) == [f"f{j}" for j in sorted(selector.selected_)]
    out = selector.set_output(transform="pandas").transform(frame)
    assert list(out.columns) == list(selector.get_feature_names_out())


def test_mrmr_picks_the_relevant_features_not_their_copies():
    X, y = friedman_with_copies(1000, 0)
    assert sorted(MIFeatureSelector(5, method="mrmr").fit(X, y).selected_) == [0, 1, 2, 3, 4]
    # SelectKBest ranks by relevance alone and takes copies of the strongest features
    ranked = (
        SelectKBest(partial(mutual_info_regression, random_state=0), k=5).fit(X, y).get_support(indices=True)
    )
    assert set(ranked) & set(range(10, 15))


@pytest.mark.parametrize("method", ["jmi", "cmim"])
def test_conditional_methods_pick_informative_features(method):
    X, y = make_classification(
        n_samples=1000, n_features=20, n_informative=5, n_redundant=5, shuffle=False, random_state=0
    )
    picked = MIFeatureSelector(5, method=method).fit(X, y).selected_.tolist()
    assert max(picked) < 10  # informative or redundant, no noise column
    assert informative_rank(X, picked, 5) == 5  # together they determine all five informative features


def test_discrete_target_rule():
    X, y = friedman_with_copies(200, 0)
    labels = (y > np.median(y)).astype(float)  # integral floats with 2 values: read as classes
    assert MIFeatureSelector(2).fit(X, labels).relevance_.max() < np.log(2) + 0.1
    continuous = MIFeatureSelector(2, discrete_target=False).fit(X, y)
    assert continuous.relevance_.max() > 0.3
    with pytest.raises(ValueError, match="y: read as class labels, but no class occurs more than once"):
        MIFeatureSelector(2, discrete_target=True).fit(X, y)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["mrmr", "jmi", "cmim"])
def test_the_same_selection_for_any_n_jobs(method):
    X, y = friedman_with_copies(300, 1)
    one = MIFeatureSelector(5, method=method, n_jobs=1).fit(X, y)
    two = MIFeatureSelector(5, method=method, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(one.selected_, two.selected_)
    np.testing.assert_array_equal(one.scores_, two.scores_)
    np.testing.assert_array_equal(one.relevance_, two.relevance_)
    np.testing.assert_array_equal(
        mutual_info_regression(X, y, random_state=0), mutual_info_regression(X, y, random_state=0, n_jobs=2)
    )


def test_the_same_selection_for_two_threads():
    X, y = friedman_with_copies(200, 1)
    one = MIFeatureSelector(4, method="cmim").fit(X, y)
    with parallel_config(backend="threading"):
        two = MIFeatureSelector(4, method="cmim", n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(one.selected_, two.selected_)
    np.testing.assert_array_equal(one.scores_, two.scores_)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"n_jobs": 0}, "n_jobs: expected None or a nonzero integer"),
        ({"n_features_to_select": 16}, "n_features_to_select: asked for 16 features, but X has 15"),
        ({"n_features_to_select": 0}, "n_features_to_select: expected a positive integer"),
        ({"method": "mifs"}, "method: expected one of 'mrmr', 'jmi', 'cmim'"),
        ({"n_neighbors": 0}, "n_neighbors: expected a positive integer"),
        ({"discrete_target": "yes"}, "discrete_target: expected one of"),
    ],
)
def test_bad_settings_are_named(settings, message):
    X, y = friedman_with_copies(50, 0)
    with pytest.raises(ValueError, match=message):
        MIFeatureSelector(**settings).fit(X, y)


def test_nan_is_refused():
    X, y = friedman_with_copies(50, 0)
    X[3, 2] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        MIFeatureSelector(2).fit(X, y)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        MIFeatureSelector(2).fit(np.nan_to_num(X), np.where(np.arange(50) == 7, np.nan, y))


# ----------------------------------------------------------------------------------- the score functions
def test_score_function_matches_the_truth_and_scikit_learn():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 1))
    y = 0.75 * x[:, 0] + np.sqrt(1 - 0.75**2) * rng.normal(size=2000)
    X = np.c_[x, rng.normal(size=(2000, 2))]
    ours = mutual_info_regression(X, y, random_state=0)
    theirs = skfs.mutual_info_regression(X, y, random_state=0)
    assert abs(ours[0] - 0.4133) < 0.05  # -log(1 - 0.75^2) / 2
    np.testing.assert_allclose(ours, theirs, atol=0.02)  # both KSG's algorithm 1 with k = 3
    assert (ours >= 0).all()  # clipped at 0, as scikit-learn's


def test_score_function_in_select_k_best():
    X, y = make_classification(
        n_samples=300, n_features=8, n_informative=2, n_redundant=0, shuffle=False, random_state=0
    )
    selector = SelectKBest(partial(mutual_info_classif, random_state=0), k=2).fit(X, y)
    assert list(selector.get_support(indices=True)) == [0, 1]
    same = mutual_info_classif(X, y, random_state=0)
    np.testing.assert_array_equal(selector.scores_, same)
    with parallel_config(backend="threading"):  # worker processes take seconds to start
        np.testing.assert_array_equal(same, mutual_info_classif(X, y, random_state=0, n_jobs=2))


def test_score_function_discrete_features():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 600)
    X = np.c_[labels, rng.integers(0, 3, 600)].astype(float)
    y = labels + 0.3 * rng.normal(size=600)
    mi = mutual_info_regression(X, y, discrete_features=[0, 1], random_state=0)
    assert mi[0] > 0.9 and mi[1] < 0.05  # truth: about log 3 = 1.10 and 0
    plug_in = mutual_info_classif(X, labels, discrete_features=True)
    assert plug_in[0] == pytest.approx(np.log(3), abs=0.01) and plug_in[1] < 0.02


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_jobs": 0}, "n_jobs"),
        ({"n_neighbors": 0}, "n_neighbors"),
        ({"discrete_features": "yes"}, "discrete_features"),
        ({"discrete_features": [99]}, "discrete_features"),
        ({"discrete_features": [9]}, "X: column 9, read as discrete, has no value that occurs twice"),
    ],
)
def test_score_function_bad_input(kwargs, message):
    X, y = friedman_with_copies(50, 0)
    with pytest.raises(ValueError, match=message):
        mutual_info_regression(X, y, **kwargs)
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        mutual_info_regression(X, y)


def test_each_term_runs_on_one_thread_under_the_threading_backend(monkeypatch):
    import torch

    from iblearn.sklearn import _terms

    seen: list[int] = []
    relevance = _terms.relevance

    def counted(*args):
        seen.append(torch.get_num_threads())
        return relevance(*args)

    monkeypatch.setattr(_terms, "relevance", counted)
    X, y = friedman_with_copies(100, 1)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with parallel_config(backend="threading"):
            mutual_info_regression(X[:, :3], y, random_state=0, n_jobs=2)
            MIFeatureSelector(2, method="jmi", n_jobs=2).fit(X[:, :3], y)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert len(seen) == 3 + 3 + 2 and set(seen) == {1}
    with pytest.raises(ValueError, match="n_jobs"):
        mutual_info_regression(X, y, n_jobs=10**6)
    with pytest.raises(ValueError, match="n_jobs"):
        MIFeatureSelector(2, n_jobs=10**6).fit(X, y)
