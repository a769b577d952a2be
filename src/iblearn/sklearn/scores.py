"""Score functions with scikit-learn's signatures, estimating each column's MI with iblearn's kNN
estimators: drop-in replacements for ``sklearn.feature_selection.mutual_info_regression`` and
``mutual_info_classif``, in ``SelectKBest(score_func=...)`` or called directly.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.utils import check_array, check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_X_y

from iblearn import _checks as V
from iblearn._threads import one_thread
from iblearn.estimation.reading import label_columns, read_samples, read_variable, same_row_order
from iblearn.functional.knn.neighbors import PART_POINTS
from iblearn.parallel import check_n_jobs, iter_batches
from iblearn.sklearn import _terms


def _discrete_mask(discrete_features: Any, X: Any, n_features: int) -> np.ndarray:
    """scikit-learn's reading of ``discrete_features``: "auto" (discrete exactly when X is sparse), a
    bool for every column, or a boolean mask or indices."""
    if isinstance(discrete_features, str):
        if discrete_features != "auto":
            raise ValueError(
                f"discrete_features: expected 'auto', a bool, a mask or indices, got {discrete_features!r}"
            )
        return np.full(n_features, sparse.issparse(X))
    if isinstance(discrete_features, bool | np.bool_):
        return np.full(n_features, bool(discrete_features))
    given = check_array(discrete_features, ensure_2d=False, dtype=None)
    if given.dtype == bool:
        if given.shape != (n_features,):
            raise ValueError(f"discrete_features: a mask needs {n_features} entries, got {given.shape}")
        return given
    mask = np.zeros(n_features, dtype=bool)
    if given.dtype.kind not in "iu" or (
        given.size and (given.min() < -n_features or given.max() >= n_features)
    ):
        raise ValueError(f"discrete_features: expected column indices below {n_features}, got {given!r}")
    mask[given] = True
    return mask


def _features(X: Any) -> tuple[Any, list[bool] | None]:
    """X's numbers, a frame (pandas, Polars, ...) read by the conversion layer with its columns of
    names or categories as class codes; and which of its columns those are (None for an array)."""
    labels = label_columns(X, "X")
    if labels is None:
        return X, None
    values = read_samples(X, "X")[0]
    return (values.to_numpy() if hasattr(values, "to_numpy") else values), labels


def _target(y: Any, discrete: bool) -> Any:
    """y's numbers; class labels given as names or categories (text, a Categorical, a Polars series)
    as codes for the classif scores, and refused for the regression ones."""
    labels = label_columns(y, "y")
    if labels is None and not isinstance(y, np.ndarray | list | tuple):
        return y
    values = read_variable(y, "y")
    values = values.to_numpy() if hasattr(values, "to_numpy") else values
    if labels is None:  # an array: names are what reading turned into codes
        labels = [np.asarray(y).dtype.kind in "OUS" and np.asarray(values).dtype == np.int64]
    if not discrete and labels[0] and "bool" not in str(y.dtype).lower():
        raise ValueError("y: holds class labels (names or categories); mutual_info_classif scores them")
    return values


def _call(fn: Any, args: tuple[Any, ...]) -> float:
    return float(fn(*args))


def _estimate(
    X: Any,
    y: Any,
    discrete_target: bool,
    discrete_features: Any,
    n_neighbors: int,
    random_state: Any,
    n_jobs: Any,
) -> np.ndarray:
    n_jobs = check_n_jobs(n_jobs)
    # At least k + 1 samples: the kNN estimators need k neighbours besides each sample.
    k = V.positive_int(n_neighbors, "n_neighbors")
    same_row_order([X, y], ["X", "y"])
    X, labels = _features(X)
    y = _target(y, discrete_target)
    X, y = check_X_y(X, y, accept_sparse="csc", y_numeric=not discrete_target, ensure_min_samples=k + 1)
    n_features = X.shape[1]
    mask = _discrete_mask(discrete_features, X, n_features) | np.asarray(labels or [False] * n_features)
    X = X.toarray() if sparse.issparse(X) else X
    X = np.asarray(X, dtype=np.float64)
    if discrete_target:
        check_classification_targets(y)
        target = _terms.class_codes(y)
    else:
        target = np.asarray(y, dtype=np.float64).reshape(-1, 1)
    # One jitter seed a column, drawn once: the same scores for any n_jobs.
    base = int(check_random_state(random_state).randint(2**31 - n_features))
    jobs: list[tuple[Any, tuple[Any, ...]]] = []
    for j in range(n_features):
        if mask[j]:
            codes, counts = np.unique(X[:, j], return_inverse=True, return_counts=True)[1:]
            if not discrete_target and counts.max() < 2:  # the mixed estimator leaves singletons out
                raise ValueError(f"X: column {j}, read as discrete, has no value that occurs twice")
            codes = codes.reshape(-1)
            jobs.append((_terms.discrete_relevance, (codes, target, discrete_target, k, base + j)))
        else:
            jobs.append((_terms.relevance, (X[:, [j]], target, discrete_target, k, base + j)))
    # Up to PART_POINTS rows the kNN engine counts on one thread: more threads only add waits.
    with one_thread() if X.shape[0] <= PART_POINTS else contextlib.nullcontext():
        scores = list(iter_batches(_call, jobs, n_jobs))
    return np.maximum(np.asarray(scores, dtype=np.float64), 0.0)


def mutual_info_regression(
    X: Any,
    y: Any,
    *,
    discrete_features: Any = "auto",
    n_neighbors: int = 3,
    copy: bool = True,
    random_state: Any = None,
    n_jobs: int | None = None,
) -> np.ndarray:
    """I(X_j; y) in nats for each column X_j and a continuous target, by iblearn's kNN estimators.

    A continuous column gets KSG's algorithm 1 (Kraskov et al. 2004, eq. 8: ``psi(k) + psi(N) -
    < psi(n_x + 1) + psi(n_y + 1) >``, max-norm, each variable standardized and jittered by 1e-10 of
    its standard deviation); a discrete one the mixed estimator of Ross (2014) with the column as the
    labels. As in scikit-learn, each score is clipped at 0: a kNN estimate of an independent pair
    scatters around 0, and a negative value is that scatter, not information. Dense or sparse X, or a
    frame (pandas, Polars, ...) read by the conversion layer
    (:func:`iblearn.estimation.reading.read_samples`): a column of names, booleans or categories is
    class labels, always discrete; "auto" means discrete for those and for sparse X, as in scikit-learn.

    Args:
        X: ``(n_samples, n_features)`` features: an array, a sparse matrix or a frame.
        y: ``(n_samples,)`` continuous target: an array or a series.
        discrete_features: "auto", a bool for all columns, or a boolean mask or indices of the
            discrete ones (their values are read as categories).
        n_neighbors: k of the kNN estimators (KSG recommend 2 - 4).
        copy: accepted for scikit-learn's signature; X is never changed in place.
        random_state: seeds the jitter that breaks ties (an int gives the same scores on every call;
            None draws from numpy's global generator, as scikit-learn does).
        n_jobs: columns estimated in parallel through joblib: None is one job unless a
            ``joblib.parallel_config`` context says otherwise (scikit-learn's convention), -1 all cores.
            The scores do not depend on it.

    Returns:
        ``(n_features,)`` float64 array of nats, each at least 0.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(500, 3))
        >>> y = X[:, 0] + 0.5 * rng.normal(size=500)
        >>> scores = mutual_info_regression(X, y, random_state=0)
        >>> bool(scores[0] > 0.5 and scores[1:].max() < 0.05)  # truth: 0.80 and 0 nats
        True
    """
    return _estimate(X, y, False, discrete_features, n_neighbors, random_state, n_jobs)


def mutual_info_classif(
    X: Any,
    y: Any,
    *,
    discrete_features: Any = "auto",
    n_neighbors: int = 3,
    copy: bool = True,
    random_state: Any = None,
    n_jobs: int | None = None,
) -> np.ndarray:
    """I(X_j; y) in nats for each column X_j and class labels y, by iblearn's estimators.

    A continuous column gets the mixed estimator of Ross (2014): ``psi(N) - < psi(N_c) > + psi(k) -
    < psi(m) >``, with the k-th neighbour searched within the sample's class and m counting samples of
    every class within that distance (samples of a class seen once are left out); a discrete column the
    plug-in ``H(X) + H(Y) - H(X, Y)``. Clipped at 0 as in scikit-learn. Arguments as in
    :func:`mutual_info_regression`, with ``y`` ``(n_samples,)`` class labels: integers, names, or a
    series of text or categories (pandas, Polars), read as the front door reads them.

    Returns:
        ``(n_features,)`` float64 array of nats, each at least 0.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> y = rng.integers(0, 2, 500)
        >>> X = np.c_[y + 0.3 * rng.normal(size=500), rng.normal(size=500)]
        >>> scores = mutual_info_classif(X, y, random_state=0)
        >>> bool(scores[0] > 0.5 and scores[1] < 0.05)  # truth: about log 2 = 0.69 and 0 nats
        True
    """
    return _estimate(X, y, True, discrete_features, n_neighbors, random_state, n_jobs)
