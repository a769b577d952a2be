"""Feature selection in a grid search, against its goal: a GridSearchCV over MIFeatureSelector's 3
methods x n_features_to_select in {3, 5, 10} within 3x the time of a 9-setting grid over
SelectKBest(mutual_info_classif), by process CPU time.

    python benchmarks/selection_speed.py [--reps 3] [--folds 5]

Both pipelines scale the features, select, and fit a logistic regression, on scikit-learn's breast-cancer
set (569 x 30, 2 classes), with the same stratified folds. SelectKBest's grid is n_neighbors in {3, 4, 5}
x k in {3, 5, 10} (each setting estimates the MI of every feature on each fold again, as scikit-learn
does). MIFeatureSelector runs with a ``memory`` (a new, empty folder for each search: nothing is carried
from one repetition to the next) and without one (each fit estimates its own terms). Times are process
CPU times (``time.process_time``) of ``GridSearchCV.fit`` on one thread, the three alternating in a
rotating order. The two MIFeatureSelector searches must give the same score on every fold for every
setting. Writes benchmarks/results/selection_speed/results.json and table.md.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import importlib.metadata
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.feature_selection import SelectKBest, mutual_info_classif
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks.runners import script
from iblearn.records import environment, markdown_table
from iblearn.sklearn import MIFeatureSelector

OUT = Path(__file__).parent / "results" / "selection_speed"
GOAL = 3.0
COUNTS = [3, 5, 10]


def pipeline(selector: Any) -> Pipeline:
    return Pipeline(
        [("scale", StandardScaler()), ("select", selector), ("model", LogisticRegression(max_iter=1000))]
    )


def iblearn_search(X: np.ndarray, y: np.ndarray, cv: Any, memory: bool) -> GridSearchCV:
    grid = {"select__method": ["mrmr", "jmi", "cmim"], "select__n_features_to_select": COUNTS}
    with tempfile.TemporaryDirectory() as folder:
        selector = MIFeatureSelector(memory=folder if memory else None)
        return GridSearchCV(pipeline(selector), grid, cv=cv).fit(X, y)


def sklearn_search(X: np.ndarray, y: np.ndarray, cv: Any) -> GridSearchCV:
    functions = [partial(mutual_info_classif, n_neighbors=n, random_state=0) for n in (3, 4, 5)]
    grid = {"select__score_func": functions, "select__k": COUNTS}
    return GridSearchCV(pipeline(SelectKBest(mutual_info_classif)), grid, cv=cv).fit(X, y)


def described(params: Any) -> str:
    """A setting as text, score functions by name and neighbours (not by their address)."""
    return re.sub(r"functools\.partial\(<function (\w+) at 0x[0-9a-f]+>, ([^)]*)\)", r"\1(\2)", str(params))


def cpu_seconds(fn: Callable[[], GridSearchCV]) -> tuple[float, GridSearchCV]:
    start = time.process_time()
    out = fn()
    return time.process_time() - start, out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_output(OUT)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    X, y = load_breast_cancer(return_X_y=True)
    cv = StratifiedKFold(args.folds, shuffle=True, random_state=args.seed)
    searches: dict[str, Callable[[], GridSearchCV]] = {
        "MIFeatureSelector, memory": lambda: iblearn_search(X, y, cv, memory=True),
        "MIFeatureSelector, no memory": lambda: iblearn_search(X, y, cv, memory=False),
        "SelectKBest(mutual_info_classif)": lambda: sklearn_search(X, y, cv),
    }
    names = list(searches)
    times: dict[str, list[float]] = {name: [] for name in names}
    scores: dict[str, Any] = {}
    for r in range(args.reps):
        for name in names[r % 3 :] + names[: r % 3]:
            seconds, search = cpu_seconds(searches[name])
            times[name].append(seconds)
            scores[name] = {
                "params": [described(p) for p in search.cv_results_["params"]],
                "fold_scores": np.stack(
                    [search.cv_results_[f"split{f}_test_score"] for f in range(args.folds)]
                ).tolist(),
                "best_params": described(search.best_params_),
                "best_score": float(search.best_score_),
            }
            print(f"  {name}: {seconds:.2f} s CPU", flush=True)
    ours, peer = "MIFeatureSelector, memory", "SelectKBest(mutual_info_classif)"
    median = {name: statistics.median(v) for name, v in times.items()}
    results = {
        "config": {k: v for k, v in vars(args).items() if k != "out"},
        "goal": GOAL,
        "process_cpu_seconds": times,
        "ratio": median[ours] / median[peer],
        "ratio_without_memory": median["MIFeatureSelector, no memory"] / median[peer],
        "same_scores_with_and_without_memory": scores[ours]["fold_scores"]
        == scores["MIFeatureSelector, no memory"]["fold_scores"],
        "searches": scores,
        "versions": {p: importlib.metadata.version(p) for p in ("scikit-learn", "joblib")},
        "provenance": environment(),
    }
    script.write_folder(args.out, results, table(results))
    return results


def table(results: dict[str, Any]) -> str:
    times = results["process_cpu_seconds"]
    peer = statistics.median(times["SelectKBest(mutual_info_classif)"])
    rows = [
        [
            name,
            f"{statistics.median(v):.2f}",
            f"{statistics.median(v) / peer:.2f}x",
            f"{results['searches'][name]['best_score']:.3f}",
            results["searches"][name]["best_params"],
        ]
        for name, v in times.items()
    ]
    header = ["grid search (9 settings, 5 folds)", "CPU s", "vs SelectKBest", "best score", "best setting"]
    prov, config = results["provenance"], results["config"]
    verdict = "met" if results["ratio"] <= results["goal"] else "not met"
    lines = [
        f"Breast cancer (569 x 30), {config['folds']} stratified folds, scaling, selection and logistic "
        f"regression in each pipeline; process CPU time, one thread, medians of {config['reps']} "
        "rotating repetitions.",
        "",
        markdown_table(header, rows),
        "",
        f"MIFeatureSelector's grid with a memory: {results['ratio']:.2f}x SelectKBest's (goal at most "
        f"{results['goal']:.0f}x: {verdict}); without one {results['ratio_without_memory']:.2f}x. The "
        "same score on every fold for every setting with and without the memory: "
        f"{results['same_scores_with_and_without_memory']}.",
        "",
        f"_`python benchmarks/selection_speed.py` with {config}; iblearn at commit {prov['git_commit']}, "
        f"{prov['date']}, {prov['machine']}, torch {prov['torch']}, scikit-learn "
        f"{results['versions']['scikit-learn']}._",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
