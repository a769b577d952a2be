"""scikit-learn adapters: a feature selector and score functions on iblearn's kNN MI estimators.

:class:`MIFeatureSelector` selects features greedily by relevance and redundancy (mRMR, JMI or CMIM)
inside a ``Pipeline`` or ``GridSearchCV``; :func:`mutual_info_regression` and
:func:`mutual_info_classif` take scikit-learn's signatures and drop into
``SelectKBest(score_func=...)``. Needs scikit-learn (``pip install scikit-learn``).

Example:
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), MIFeatureSelector(5), LogisticRegression())
    >>> bool(model.fit(X, y).score(X, y) > 0.9)
    True
"""

from __future__ import annotations

try:
    import sklearn  # noqa: F401
except ImportError as err:  # pragma: no cover - scikit-learn is an optional dependency
    raise ImportError("iblearn.sklearn needs scikit-learn: pip install scikit-learn") from err

from iblearn.sklearn.scores import mutual_info_classif, mutual_info_regression
from iblearn.sklearn.selector import MIFeatureSelector

__all__ = ["MIFeatureSelector", "mutual_info_classif", "mutual_info_regression"]
