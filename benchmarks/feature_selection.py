"""MI feature selection: iblearn's MIFeatureSelector (mRMR, JMI, CMIM) and score functions beside
mrmr-selection and scikit-learn's SelectKBest(mutual_info_*), on tasks whose relevant features are known
and on one real data set, in one process, one thread each.

    python benchmarks/feature_selection.py [--seeds 0 1 2 3 4] [--n 1000] [--folds 5]

Tasks (every method picks K = 5 features):

* ``friedman``: scikit-learn's ``make_friedman1`` (10 columns, noise 1; y depends on columns 0 - 4 only)
  with a noisy copy of each of 0 - 4 appended (columns 10 - 14, the original plus Gaussian noise of sd
  0.1, correlation 0.95). Score: how many of the 5 originals are picked.
* ``classification``: ``make_classification`` with 20 columns, 5 informative, 5 redundant (linear
  combinations of the informative ones), 10 noise, ``shuffle=False``. Score: how many of the 5
  informative directions the picked columns determine (the rank of their coefficients on the
  informative columns); noise columns picked are counted too.
* ``breast_cancer``: scikit-learn's bundled Wisconsin breast-cancer set (569 x 30, 2 classes). Score:
  accuracy of a standardized logistic regression on the picked columns, stratified ``--folds``-fold
  cross-validation with the selection made on each training fold (a new shuffle per seed).

Times are thread CPU time (``time.thread_time``) of one selection, the methods alternating in a rotating
order so that the machine's load falls on all alike. Writes
benchmarks/results/feature_selection/results.json (every selection, settings, versions) and table.md.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import importlib.metadata
import statistics
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, make_classification, make_friedman1
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks.runners import script
from iblearn.records import environment, markdown_table, write_json
from iblearn.sklearn import MIFeatureSelector, mutual_info_classif, mutual_info_regression
from sklearn import feature_selection as skfs

K = 5
OUT = Path(__file__).parent / "results" / "feature_selection"
Select = Callable[[np.ndarray, np.ndarray, bool, int], list[int]]


def friedman(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    X, y = make_friedman1(n_samples=n, n_features=10, noise=1.0, random_state=seed)
    copies = X[:, :5] + 0.1 * np.random.default_rng(seed).normal(size=(n, 5))
    return np.c_[X, copies], y


def classification(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    return make_classification(
        n_samples=n, n_features=20, n_informative=5, n_redundant=5, shuffle=False, random_state=seed
    )


def informative_rank(X: np.ndarray, picked: list[int], n_informative: int = 5, n_redundant: int = 5) -> int:
    """The rank of the picked informative and redundant columns' coefficients on the informative ones
    (noise columns determine none of them)."""
    useful = [j for j in picked if j < n_informative + n_redundant]
    coef, *_ = np.linalg.lstsq(X[:, :n_informative], X[:, useful], rcond=None)
    return int(np.linalg.matrix_rank(coef, tol=1e-6))


def _ours(method: str) -> Select:
    def select(X: np.ndarray, y: np.ndarray, discrete: bool, seed: int) -> list[int]:
        return MIFeatureSelector(K, method=method, discrete_target=discrete).fit(X, y).selected_.tolist()

    return select


def _k_best(score: Callable[..., np.ndarray], score_discrete: Callable[..., np.ndarray]) -> Select:
    def select(X: np.ndarray, y: np.ndarray, discrete: bool, seed: int) -> list[int]:
        func = partial(score_discrete if discrete else score, random_state=seed)
        return skfs.SelectKBest(func, k=K).fit(X, y).get_support(indices=True).tolist()

    return select


def _mrmr_selection(X: np.ndarray, y: np.ndarray, discrete: bool, seed: int) -> list[int]:
    import mrmr
    import pandas as pd

    run = mrmr.mrmr_classif if discrete else mrmr.mrmr_regression
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        picked = run(X=pd.DataFrame(X), y=pd.Series(y), K=K, n_jobs=1, show_progress=False)
    return [int(c) for c in picked]


METHODS: dict[str, Select] = {
    "iblearn MIFeatureSelector mrmr": _ours("mrmr"),
    "iblearn MIFeatureSelector jmi": _ours("jmi"),
    "iblearn MIFeatureSelector cmim": _ours("cmim"),
    "iblearn SelectKBest(mutual_info_*)": _k_best(mutual_info_regression, mutual_info_classif),
    "scikit-learn SelectKBest(mutual_info_*)": _k_best(skfs.mutual_info_regression, skfs.mutual_info_classif),
    "mrmr-selection mrmr_* (F-test, correlation)": _mrmr_selection,
}


def timed(select: Select, X: np.ndarray, y: np.ndarray, discrete: bool, seed: int) -> tuple[list[int], float]:
    start = time.thread_time()
    picked = select(X, y, discrete, seed)
    return picked, time.thread_time() - start


def rotated(seed: int) -> list[str]:
    names = list(METHODS)
    return names[seed % len(names) :] + names[: seed % len(names)]


def run(seeds: list[int], n: int, folds: int) -> list[dict[str, Any]]:
    rows = []
    X, y = friedman(200, 99)
    for select in METHODS.values():  # warm-up: imports and first calls
        select(X, y, False, 0)
    for seed in seeds:
        for task, make, discrete in (("friedman", friedman, False), ("classification", classification, True)):
            X, y = make(n, seed)
            for name in rotated(seed):
                picked, seconds = timed(METHODS[name], X, y, discrete, seed)
                row = {"task": task, "seed": seed, "method": name, "picked": picked, "seconds": seconds}
                if task == "friedman":
                    row["score"] = len(set(picked) & set(range(5)))
                    row["noise_picked"] = len(set(picked) & set(range(5, 10)))
                else:
                    row["score"] = informative_rank(X, picked)
                    row["noise_picked"] = len([j for j in picked if j >= 10])
                rows.append(row)
        X, y = load_breast_cancer(return_X_y=True)
        splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y)
        for fold, (train, test) in enumerate(splits):
            for name in rotated(seed + fold):
                picked, seconds = timed(METHODS[name], X[train], y[train], True, seed)
                model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
                accuracy = model.fit(X[train][:, picked], y[train]).score(X[test][:, picked], y[test])
                rows.append(
                    {
                        "task": "breast_cancer",
                        "seed": seed,
                        "fold": fold,
                        "method": name,
                        "picked": picked,
                        "seconds": seconds,
                        "score": float(accuracy),
                    }
                )
        print(f"seed {seed} done", flush=True)
    return rows


def table(rows: list[dict[str, Any]], config: dict[str, Any]) -> str:
    body = []
    for task, what in (
        ("friedman", "originals picked (of 5)"),
        ("classification", "informative directions (of 5)"),
        ("breast_cancer", "CV accuracy"),
    ):
        for name in METHODS:
            mine = [r for r in rows if r["task"] == task and r["method"] == name]
            scores = [r["score"] for r in mine]
            if task == "breast_cancer":
                # the mean over folds of each seed, then the mean and range over seeds
                per_seed = [
                    statistics.mean(r["score"] for r in mine if r["seed"] == s) for s in config["seeds"]
                ]
                score = f"{statistics.mean(per_seed):.3f} ({min(per_seed):.3f} - {max(per_seed):.3f})"
                noise = "-"
            else:
                score = f"{statistics.mean(scores):.1f} ({min(scores)} - {max(scores)})"
                noise = f"{statistics.mean(r['noise_picked'] for r in mine):.1f}"
            seconds = statistics.median(r["seconds"] for r in mine)
            body.append([task, what, name, score, noise, f"{seconds:.3f}"])
    text = markdown_table(
        ["task", "score", "method", "mean score (min - max over seeds)", "noise columns picked", "CPU s"],
        body,
    )
    env = config["environment"]
    versions = ", ".join(f"{p} {v}" for p, v in config["versions"].items())
    return (
        text + f"\nbenchmarks/feature_selection.py, K = {K}, seeds {config['seeds']}, N = {config['n']} "
        f"(synthetic), {config['folds']}-fold CV (breast cancer); CPU s: median thread CPU time of one "
        f"selection, one thread; git {env['git_commit']}, torch {env['torch']}, {versions}\n"
    )


if __name__ == "__main__":
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_output(OUT)
    args = parser.parse_args()
    torch.set_num_threads(1)
    versions = {p: importlib.metadata.version(p) for p in ("scikit-learn", "mrmr-selection", "joblib")}
    config = {
        "k": K,
        "seeds": args.seeds,
        "n": args.n,
        "folds": args.folds,
        "versions": versions,
        "environment": environment(),
    }
    rows = run(args.seeds, args.n, args.folds)
    text = table(rows, config)
    out = Path(args.out)
    write_json(out / "results.json", {"config": config, "rows": rows})
    (out / "table.md").write_text(text, encoding="utf-8")
    print(text)
