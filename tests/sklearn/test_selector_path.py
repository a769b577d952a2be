"""MIFeatureSelector's greedy path: the selections of the search as it was before the memory (recorded
on these data), the same with a memory, a smaller count read from the path of a larger one without new
estimates, and a grid search's results unchanged by the memory."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, make_classification, make_friedman1
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from iblearn.sklearn import MIFeatureSelector, _terms

#: (data, method): the path and its scores, as the search gave them when each fit estimated every term.
RECORDED = {
    ("cancer", "mrmr"): (
        [22, 21, 5, 10, 27, 24, 14, 28, 3, 13],
        [
            0.5357685759036535,
            0.0928132291391548,
            0.08802591907646051,
            0.07582555917056055,
            0.034498312864996494,
            0.016001813993217068,
            -0.002392009790397699,
            0.015773560301057685,
            0.04666804496902066,
            -0.0073382006886036355,
        ],
    ),
    ("cancer", "jmi"): (
        [22, 21, 23, 27, 20, 2, 0, 7, 3, 6],
        [
            0.5357685759036535,
            0.5840370071952758,
            1.0782411768892874,
            1.6317502018767842,
            2.1312074561184264,
            2.6135719345257,
            3.066475450189007,
            3.5717725885834675,
            3.9970827272710503,
            4.3952346637824125,
        ],
    ),
    ("cancer", "cmim"): (
        [22, 21, 28, 27, 3, 8, 10, 2, 24, 0],
        [
            0.5357685759036535,
            0.04826843129162239,
            0.025764652188200454,
            0.023474252472861945,
            0.020592143227095905,
            0.016513476039155428,
            0.014890353089743513,
            0.007730842215429634,
            0.004928852782226878,
            0.004270848203048683,
        ],
    ),
    ("friedman", "mrmr"): (
        [3, 1, 4, 0, 5, 8],
        [
            0.1913822733969246,
            0.13754184748495657,
            0.0813943313695753,
            0.08896796971226184,
            0.08252684386330844,
            0.06652712065802095,
        ],
    ),
    ("friedman", "jmi"): (
        [3, 1, 0, 2, 4, 10],
        [
            0.1913822733969246,
            0.36137780531056674,
            0.5425141284332007,
            0.5661774162311897,
            0.5932007861423143,
            0.5331445520116525,
        ],
    ),
    ("friedman", "cmim"): (
        [3, 1, 0, 2, 4, 10],
        [
            0.1913822733969246,
            0.17020193065905653,
            0.11472410410261025,
            0.03780115036010678,
            0.005634293261844836,
            -0.016883393145141756,
        ],
    ),
}


def _data(name: str) -> tuple[np.ndarray, np.ndarray, int]:
    if name == "cancer":
        X, y = load_breast_cancer(return_X_y=True)
        return X[::2], y[::2], 10
    X, y = make_friedman1(n_samples=300, n_features=12, random_state=0)
    return X, y, 6


@pytest.mark.parametrize(("name", "method"), list(RECORDED))
def test_the_recorded_selections_with_and_without_a_memory(name, method, tmp_path):
    X, y, count = _data(name)
    path, scores = RECORDED[(name, method)]
    for memory in (None, tmp_path):
        selector = MIFeatureSelector(count, method=method, memory=memory).fit(X, y)
        assert selector.selected_.tolist() == path
        np.testing.assert_allclose(selector.scores_, scores, rtol=0, atol=1e-12)


def _counting(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count the estimates of each kind of term from now on."""
    calls = {"relevance": 0, "redundancy": 0, "redundancies": 0, "conditional": 0}
    for name in calls:
        real = getattr(_terms, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(_terms, name, counted)
    return calls


@pytest.mark.parametrize("method", ["mrmr", "jmi", "cmim"])
def test_a_smaller_count_is_cut_from_the_path_of_a_larger_one(method, tmp_path, monkeypatch):
    X, y = make_friedman1(n_samples=200, n_features=8, random_state=1)
    calls = _counting(monkeypatch)
    long = MIFeatureSelector(6, method=method, memory=str(tmp_path)).fit(X, y)
    assert sum(calls.values()) > 0
    calls.update(dict.fromkeys(calls, 0))
    short = MIFeatureSelector(3, method=method, memory=str(tmp_path)).fit(X, y)
    assert sum(calls.values()) == 0  # nothing estimated again
    assert short.selected_.tolist() == long.selected_[:3].tolist()
    np.testing.assert_array_equal(short.scores_, long.scores_[:3])
    np.testing.assert_array_equal(short.relevance_, long.relevance_)
    # other rows: estimated afresh
    MIFeatureSelector(3, method=method, memory=str(tmp_path)).fit(X[1:], y[1:])
    assert calls["relevance"] >= X.shape[1]


def test_a_larger_count_extends_the_path_of_a_smaller_one(tmp_path, monkeypatch):
    X, y = make_friedman1(n_samples=200, n_features=8, random_state=2)
    fresh = MIFeatureSelector(6, method="mrmr").fit(X, y)
    MIFeatureSelector(3, method="mrmr", memory=tmp_path).fit(X, y)
    calls = _counting(monkeypatch)
    longer = MIFeatureSelector(6, method="mrmr", memory=tmp_path).fit(X, y)
    assert calls["relevance"] == 0 and calls["redundancies"] == 3  # steps 3 - 5 only
    assert longer.selected_.tolist() == fresh.selected_.tolist()
    np.testing.assert_array_equal(longer.scores_, fresh.scores_)


def test_a_grid_search_is_the_same_with_a_memory(tmp_path):
    X, y = make_classification(n_samples=150, n_features=6, n_informative=2, n_redundant=1, random_state=0)
    grid = {"mifeatureselector__method": ["mrmr", "cmim"], "mifeatureselector__n_features_to_select": [1, 3]}
    results = []
    for memory in (None, tmp_path):
        pipe = make_pipeline(StandardScaler(), MIFeatureSelector(memory=memory), LogisticRegression())
        results.append(GridSearchCV(pipe, grid, cv=3).fit(X, y).cv_results_)
    for key in ("mean_test_score", "split0_test_score", "rank_test_score"):
        np.testing.assert_array_equal(results[0][key], results[1][key])


def test_a_step_of_redundancies_is_each_term_estimated_alone(monkeypatch):
    from iblearn.functional.knn import neighbors as _neighbors

    X, _ = make_friedman1(n_samples=150, n_features=6, random_state=3)
    X[:, 2] = 1.0  # constant: no information
    X[:, 4] = np.round(X[:, 4], 1)  # ties
    cols = [X[:, [j]] for j in range(6)]
    for k in (1, 3, 8):
        alone = [_terms.redundancy(cols[j], cols[5], k) for j in range(5)]
        assert _terms.redundancies(cols[:5], cols[5], k).tolist() == alone
    assert _terms.redundancies(cols[:2], cols[2], 3).tolist() == [0.0, 0.0]
    monkeypatch.setattr(_neighbors, "HAVE_KERNEL", False)
    np.testing.assert_allclose(_terms.redundancies(cols[:5], cols[5], 8), alone, rtol=0, atol=1e-12)
