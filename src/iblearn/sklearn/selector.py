"""Greedy feature selection by relevance and redundancy, a scikit-learn selector on iblearn's kNN
estimators.

References:
    H. Peng, F. Long, C. Ding. Feature selection based on mutual information: criteria of
    max-dependency, max-relevance, and min-redundancy. IEEE TPAMI 27(8), 1226-1238 (2005): mRMR, the
    incremental search that adds argmax_f [I(f; y) - 1/|S| sum_{s in S} I(f; s)].
    H. H. Yang, J. Moody. Data visualization and feature selection: new algorithms for nongaussian data.
    NIPS 12 (1999): joint mutual information, argmax_f sum_{s in S} I(f, s; y).
    F. Fleuret. Fast binary feature selection with conditional mutual information. JMLR 5, 1531-1555
    (2004): CMIM, argmax_f min_{s in S} I(f; y | s).
    G. Brown, A. Pocock, M.-J. Zhao, M. Lujan. Conditional likelihood maximisation: a unifying framework
    for information theoretic feature selection. JMLR 13, 27-66 (2012): the three as one greedy search.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import check_is_fitted

from iblearn import _checks as V
from iblearn._threads import one_thread
from iblearn.estimation.libraries import library
from iblearn.estimation.reading import label_columns, read_samples, read_variable, same_row_order
from iblearn.functional.knn.neighbors import PART_POINTS
from iblearn.parallel import check_n_jobs, iter_batches
from iblearn.sklearn import _cache, _terms

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # pragma: no cover - older scikit-learn validates through a method

    def validate_data(estimator: Any, /, *args: Any, **kwargs: Any) -> Any:
        return estimator._validate_data(*args, **kwargs)


METHODS = ("mrmr", "jmi", "cmim")
#: The pair term each method's step estimates for every candidate f and the last feature picked s:
#: I(f; s), I(f, s; y) or I(f; y | s) (for class labels the latter is I(f, s; y) less the relevance of s).
_KINDS = {"mrmr": "redundancy", "jmi": "joint", "cmim": "conditional"}


def _named_rows(X: Any) -> Any:
    """An ``AnnData``, MNE object or xarray ``DataArray`` as a pandas DataFrame of its samples, its
    columns named as the conversion layer names them (:func:`iblearn.estimation.reading.read_samples`),
    so that scikit-learn keeps the names; anything else as it is."""
    if library(X) not in ("anndata", "mne", "xarray"):
        return X
    values, names = read_samples(X, "X")
    try:
        import pandas as pd  # type: ignore[import-untyped]
    except ImportError:  # the names go where pandas is missing; the numbers do not
        return values
    return pd.DataFrame(values, columns=names)


def _refuse_labels(X: Any) -> None:
    """Where a frame's columns of names or categories kept scikit-learn from reading it as numbers, a
    ValueError naming them and what to do: the selector scores continuous features."""
    labels = label_columns(X, "X")
    if not labels or not any(labels):
        return
    names = read_samples(X, "X")[1] or []
    which = ", ".join(repr(n) for n, is_label in zip(names, labels, strict=True) if is_label)
    raise ValueError(
        f"X: columns {which} hold class labels (names, categories or booleans); MIFeatureSelector "
        "scores continuous features: encode them as numbers (one column a class), or score them with "
        "mutual_info_classif, which reads them as discrete features"
    )


def _relevance(discrete: bool, k: int, X: np.ndarray, target: np.ndarray, jobs: int | None) -> np.ndarray:
    """I(f; y) of every column of ``X``."""
    terms = ((X[:, [j]], target, discrete, k) for j in range(X.shape[1]))
    return np.asarray(list(iter_batches(_terms.relevance, terms, jobs)))


def _step_terms(
    kind: str,
    s: int,
    left: tuple[int, ...],
    discrete: bool,
    k: int,
    X: np.ndarray,
    target: np.ndarray,
    jobs: int | None,
) -> np.ndarray:
    """The pair term ``kind`` (see :data:`_KINDS`) of each candidate in ``left`` with feature ``s``."""
    col = [X[:, [j]] for j in range(X.shape[1])]
    if kind == "redundancy":  # one batch: the kernel counts a step's pairs in one call
        return _terms.redundancies([col[j] for j in left], col[s], k)
    if kind == "joint":
        pairs = ((np.hstack([col[j], col[s]]), target, discrete, k) for j in left)
        return np.asarray(list(iter_batches(_terms.relevance, pairs, jobs)))
    given = ((col[j], target, col[s], discrete, k) for j in left)
    return np.asarray(list(iter_batches(_terms.conditional, given, jobs)))


class MIFeatureSelector(SelectorMixin, BaseEstimator):  # type: ignore[misc]
    """Select features one at a time by their information about the target and their redundancy with
    those already selected, every term a kNN estimate in nats.

    The first feature is the most relevant, argmax_f I(f; y). With S the features selected so far, the
    next is the candidate f that maximizes

    * ``method="mrmr"`` (Peng et al. 2005, the incremental mRMR search):
      ``I(f; y) - 1/|S| sum_{s in S} I(f; s)``, relevance less mean redundancy;
    * ``method="jmi"`` (Yang and Moody 1999): ``sum_{s in S} I(f, s; y)``, the information each pair
      of f and a selected feature carries together, so that features useful only jointly count;
    * ``method="cmim"`` (Fleuret 2004): ``min_{s in S} I(f; y | s)``, what f tells about y that the
      selected feature most like it does not.

    I(f; y) and I(f, s; y) are KSG estimates (Kraskov et al. 2004, eq. 8) for a continuous target and
    mixed kNN estimates (Ross 2014) for class labels; I(f; s) is KSG; I(f; y | s) is the Frenzel-Pompe
    KSG estimate (``iblearn.functional.ksg_cmi``) for a continuous target and I(f, s; y) - I(s; y) for
    class labels. Each variable is standardized and jittered by 1e-10 of its standard deviation from a
    fixed seed, so a fit is deterministic. Features are treated as continuous; a constant feature has 0
    information with anything. Ties between candidates go to the lower column index.

    Args:
        n_features_to_select: how many features to keep: an int, a fraction of the features in (0, 1),
            or None for half of them (as ``sklearn.feature_selection.RFE``).
        method: ``"mrmr"``, ``"jmi"`` or ``"cmim"``.
        discrete_target: whether y holds class labels: True, False, or ``"auto"``, which reads bool,
            integer and string targets as labels, and float targets as labels when every value is
            integral and there are at most 20 distinct values (and 2 samples a value on average).
        n_jobs: candidates' terms estimated in parallel through joblib: None is one job unless a
            ``joblib.parallel_config`` context says otherwise (scikit-learn's convention), -1 all cores.
            (An mRMR step's redundancies are counted in one call of the compiled kernel, on torch's
            threads, where it is built.) The selection does not depend on it.
        n_neighbors: neighbours of the kNN estimators (KSG recommend 2 - 4), as in
            ``sklearn.feature_selection.mutual_info_classif``.
        memory: a folder where to keep the relevance and each step's terms between fits, as
            scikit-learn's ``Pipeline(memory=...)``: None keeps nothing; a path (or a ``joblib.Memory``,
            whose ``location`` is the folder) keeps them on disk. Fits on the same rows (a fold of a
            ``GridSearchCV``) then estimate each term once: the relevance once for every method and
            count, and the greedy path once for the largest count, the smaller counts reading its first
            steps. The selection does not depend on it. The terms are kept as ``.npy`` arrays of
            numbers, named by a hash of the rows, the target and the settings, and read back without
            pickle: a file in the folder cannot run code, and one that is not such an array is
            estimated afresh and replaced.
        k: not a setting: read as ``SelectKBest``'s number of features or as the kNN estimators'
            neighbours it would be wrong one way, so ``fit`` refuses any value but None, naming
            ``n_features_to_select`` and ``n_neighbors``.

    Attributes:
        selected_: ``(n_features_to_select,)`` column indices in the order picked: the greedy path, whose
            first j entries are the selection of j features.
        scores_: the criterion of each selected feature when it was picked, in nats, in that order.
        relevance_: ``(n_features_in_,)`` I(f; y) of every feature, in nats (not clipped).
        n_features_in_: the number of columns seen in ``fit``.
        feature_names_in_: the column names, when X had string column names (a pandas DataFrame).

    Example:
        >>> from sklearn.datasets import make_friedman1
        >>> X, y = make_friedman1(n_samples=500, n_features=8, random_state=0)
        >>> sel = MIFeatureSelector(5, method="mrmr").fit(X, y)
        >>> sel.selected_.tolist()  # y depends on columns 0 - 4, most on 3
        [3, 2, 1, 4, 0]
        >>> sel.transform(X).shape
        (500, 5)
    """

    def __init__(
        self,
        n_features_to_select: int | float | None = None,
        *,
        method: str = "mrmr",
        discrete_target: bool | str = "auto",
        n_jobs: int | None = None,
        n_neighbors: int = 3,
        memory: Any = None,
        k: None = None,
    ) -> None:
        self.n_features_to_select = n_features_to_select
        self.method = method
        self.discrete_target = discrete_target
        self.n_jobs = n_jobs
        self.n_neighbors = n_neighbors
        self.memory = memory
        self.k = k

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        return {"requires_y": True}

    def _how_many(self, n_features: int) -> int:
        n = self.n_features_to_select
        if n is None:
            return max(1, n_features // 2)
        if isinstance(n, float) and not isinstance(n, bool) and 0 < n < 1:
            return max(1, int(n * n_features))
        count = V.positive_int(n, "n_features_to_select")  # type: ignore[arg-type]
        if count > n_features:
            raise ValueError(
                f"n_features_to_select: asked for {count} features, but X has {n_features} feature(s)"
            )
        return count

    def _checked_settings(self) -> tuple[int | None, int, Path | None]:
        """The jobs, the neighbours and the memory's folder, each setting checked (ValueError naming it)."""
        if self.k is not None:
            raise ValueError(
                f"k: is not a setting of MIFeatureSelector, got k={self.k!r}: pass the number of features "
                "to keep as n_features_to_select (SelectKBest's k), the kNN estimators' neighbours as "
                "n_neighbors"
            )
        V.choice(self.method, "method", METHODS)
        jobs = check_n_jobs(self.n_jobs)
        return jobs, V.positive_int(self.n_neighbors, "n_neighbors"), _cache.folder(self.memory)

    def fit(self, X: Any, y: Any) -> MIFeatureSelector:
        """Pick the features greedily.

        Args:
            X: ``(n_samples, n_features)`` features: an array, a pandas or Polars frame, or data as
                :func:`iblearn.estimate` reads it (an ``AnnData``'s genes, an MNE object's channels, an
                xarray ``DataArray``), whose names become ``feature_names_in_``.
            y: ``(n_samples,)`` target: continuous values or class labels.

        Returns:
            self, fitted.
        """
        jobs, k, where = self._checked_settings()
        if y is not None:
            same_row_order([X, y], ["X", "y"])
            read_variable(y, "y")  # class labels missing or mixed, named by their rows
        try:
            X, y = validate_data(self, _named_rows(X), y, ensure_min_samples=k + 1, dtype=np.float64)
        except ValueError:
            _refuse_labels(X)
            raise
        # Up to PART_POINTS rows the kNN engine counts on one thread: more threads only add waits.
        with one_thread() if X.shape[0] <= PART_POINTS else contextlib.nullcontext():
            return self._fit(X, y, jobs, k, where)

    def _fit(self, X: np.ndarray, y: Any, jobs: int | None, k: int, where: Path | None) -> MIFeatureSelector:
        """``fit`` on the validated ``X`` and ``y`` with the checked settings."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        n_features = X.shape[1]
        count = self._how_many(n_features)
        discrete = _terms.discrete_target(np.asarray(y), self.discrete_target)
        if discrete:
            target = _terms.class_codes(np.asarray(y))
        else:
            target = np.asarray(y, dtype=np.float64).reshape(-1, 1)
        # The terms depend on the rows, the target and k alone: a search over the method and the count on
        # the same rows (a fold) finds the relevance and each step of the path in the memory.
        rows = "" if where is None else _cache.rows_key(X, target, settings=(discrete, k))
        self.relevance_ = _cache.cached(
            where,
            _cache.key(rows, "relevance"),
            (n_features,),
            lambda: _relevance(discrete, k, X, target, jobs),
        )

        def step_terms(kind: str, s: int, among: tuple[int, ...]) -> np.ndarray:
            return _cache.cached(
                where,
                _cache.key(rows, kind, s, among),
                (len(among),),
                lambda: _step_terms(kind, s, among, discrete, k, X, target, jobs),
            )

        first = int(np.argmax(self.relevance_))
        selected, scores = [first], [float(self.relevance_[first])]
        # Sum (mrmr, jmi) or minimum (cmim) over the selected features of each candidate's pair term.
        pooled = np.full(n_features, np.inf) if self.method == "cmim" else np.zeros(n_features)
        kind = _KINDS[self.method] if self.method != "cmim" or not discrete else "joint"
        while len(selected) < count:
            s = selected[-1]
            left = [j for j in range(n_features) if j not in selected]
            if kind == "joint" and where is not None:
                # I(f, s; y) for every f: JMI and CMIM on class labels both read it, on other paths
                others = [j for j in range(n_features) if j != s]
                every = step_terms(kind, s, tuple(others))
                new = every[[j - (j > s) for j in left]]
            else:
                new = step_terms(kind, s, tuple(left))
            if self.method == "cmim":
                if discrete:  # I(f; y | s) = I(f, s; y) - I(s; y), the latter the relevance of s
                    new = new - self.relevance_[s]
                pooled[left] = np.minimum(pooled[left], new)
                criterion = pooled[left]
            elif self.method == "jmi":
                pooled[left] += new
                criterion = pooled[left]
            else:
                pooled[left] += new
                criterion = self.relevance_[left] - pooled[left] / len(selected)
            best = int(np.argmax(criterion))
            selected.append(left[best])
            scores.append(float(criterion[best]))
        self.selected_ = np.asarray(selected, dtype=np.intp)
        self.scores_ = np.asarray(scores)
        return self

    def transform(self, X: Any) -> Any:
        """The selected columns of ``X`` (read as :meth:`fit` reads it)."""
        return super().transform(_named_rows(X))

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "selected_")
        mask = np.zeros(self.n_features_in_, dtype=bool)
        mask[self.selected_] = True
        return mask
