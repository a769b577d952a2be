"""MI feature selection inside a scikit-learn Pipeline: which 5 of the breast-cancer set's 30
measurements to keep for a logistic regression.

MIFeatureSelector picks features one at a time by their mutual information with the diagnosis and their
redundancy with those already picked (mRMR, JMI or CMIM, each term a kNN estimate in nats). As a step of
a Pipeline it is refitted on every training fold of the cross-validation, so the selection never sees
the fold it is scored on; GridSearchCV then chooses the method and the number of features.

    python examples/feature_selection.py            # the three methods, 5-fold CV, then a grid search
    python examples/feature_selection.py --quick    # mRMR only, 3-fold CV, a small grid
"""

from __future__ import annotations

import argparse

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from iblearn.sklearn import MIFeatureSelector


def model(n_features: int | None = 5, method: str = "mrmr") -> object:
    """Standardize, keep ``n_features`` columns by MI (all of them for None), fit a logistic regression."""
    steps = [StandardScaler()]
    if n_features is not None:
        steps.append(MIFeatureSelector(n_features, method=method))
    return make_pipeline(*steps, LogisticRegression(max_iter=1000))


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="mRMR only, 3-fold CV, a small grid")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    data = load_breast_cancer()
    X, y = data.data, data.target
    folds = StratifiedKFold(3 if args.quick else 5, shuffle=True, random_state=args.seed)
    results: dict[str, object] = {}
    for method in ["mrmr"] if args.quick else ["mrmr", "jmi", "cmim"]:
        accuracy = cross_val_score(model(5, method), X, y, cv=folds).mean()
        results[method] = float(accuracy)
        print(f"{method}: 5 of 30 features, CV accuracy {accuracy:.3f}")
    results["all"] = float(cross_val_score(model(None), X, y, cv=folds).mean())
    print(f"all 30 features: CV accuracy {results['all']:.3f}")

    # The selector's settings are parameters of the Pipeline, so GridSearchCV can choose them.
    grid = {
        "mifeatureselector__method": ["mrmr"] if args.quick else ["mrmr", "jmi", "cmim"],
        "mifeatureselector__n_features_to_select": [2, 5] if args.quick else [2, 5, 10],
    }
    search = GridSearchCV(model(), grid, cv=folds).fit(X, y)
    selector = search.best_estimator_[1]
    names = list(data.feature_names[selector.selected_])
    print(f"best: {search.best_params_}, CV accuracy {search.best_score_:.3f}")
    print("picked, in order: " + ", ".join(names))
    results |= {"best_params": search.best_params_, "best_score": float(search.best_score_), "picked": names}
    return results


if __name__ == "__main__":
    main()
