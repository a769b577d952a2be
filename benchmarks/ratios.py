"""Each hot path's time over the time of its own core operation, in one process, so that a change
that slows a hot path (a check run on every call, a slow intermediate) shows whatever the machine.

* ``renyi_mi`` (default alpha 1.01, N = 1,024; 10-d and 3-d Gaussians) over ``torch.linalg.eigvalsh``
  of the same three Gram matrices (x, y and their joint).
* ``renyi_mi`` at alpha = 2 (N = 4,096), which needs no eigendecomposition, over the work of its two
  Gaussian kernel matrices: one N x N matrix product and one ``exp`` each.
* ``ksg_mi`` (k = 3, N = 10,000, 2-d and 2-d Gaussians) over the neighbour searches it makes on the
  prepared samples: the joint k-th neighbour search and the two marginal counts.
* ``pairwise_mi`` (k = 3, 16 Gaussian columns of N = 5,000) over the compiled kernel's scans of its 120
  pairs on the prepared, sorted columns, the kernel's calls the function makes (what it adds:
  preparation, batches, the estimates from the terms; the scans' copy follows the instruction set in
  both); and the kernel's grid of the pairs (which variant 2 and k beyond the scans take) over the
  general tree search's counts of the same pairs (the kernel's own speed, against the search it
  replaces for single columns).
* ``auto_estimate`` over the estimator it chooses, on the same rows: KSG (Student-t 3 x 3, N = 5,000)
  and the bias-corrected Gaussian (four pairs in 100 dimensions a side, N = 5,000).
* ``MIFeatureSelector`` (mRMR, 10 of the 30 breast-cancer features, 455 rows) over the estimates of its
  terms called directly; and a fit that finds its path in a warm ``memory`` (5 features after a fit of
  10) over the hash of its rows that finds them there (a cache that stops working would estimate
  again: a hundred times the hash).
* ``renyi_mi`` with the truncated spectrum (N = 2,048) over the exact one on the same rows.
* ``NWJ.fit`` (100 steps of 128 rows) over its 100 ``train_step`` calls on the same batches.
* a ``ProximalSplit`` step (default reading, Adam, beta 10) over a plain Adam step of the same
  784-256-256-256-256-256-10 ReLU network on one batch of 128, split after its third layer, for 150
  steps, so that the batch becomes fitted as in training.
* the paths built on these (``benchmarks/runners/ratio_cases.py`` says what each is timed against):
  ``pairwise_mi`` with ``top_k`` over the dense matrix, ``ib_curve`` over plain Blahut-Arimoto steps,
  ``iblearn.estimate(..., method="auto")`` over the estimator it chooses for MI (KSG and Gaussian),
  CMI, TE and the O-information, ``infer_network`` over its ``ksg_cmi`` calls, and ``estimate_many``
  (critics stacked) over the same fits one by one.

A row with a goal (``GOALS``: auto at most 4x the estimator it chooses) records it, and the table says
whether the ratio meets it.

Times are thread CPU times (``time.thread_time``), one thread; the path and its core alternate (in
turn first), and each ratio is the median over the repetitions of the ratio of each pair.

    python benchmarks/ratios.py            # measure; write benchmarks/results/ratios/results.json
    python benchmarks/ratios.py --check    # measure; exit 1 if a ratio exceeds the committed one
                                           # by more than --tolerance (1.5x); writes nothing
                                           # (under each instruction set of the compiled kernel
                                           # the CPU runs, a child process each, unless
                                           # IBLEARN_SIMD names one)
    python benchmarks/ratios.py --cases pairwise selection   # measure these; replace their rows only
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import os
import subprocess
import sys
import tempfile
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import torch
from sklearn.datasets import load_breast_cancer
from torch import Tensor

from benchmarks.runners import ratio_cases, script
from benchmarks.runners.paired import paired_ratio, proximal_steps
from benchmarks.runners.ratio_cases import Cases
from benchmarks.runners.script import cpu_model
from iblearn.data import high_mi, student_t
from iblearn.estimation.auto import auto_estimate
from iblearn.estimators import KSG, NWJ
from iblearn.estimators.neural.fitting import sample_batches
from iblearn.estimators.reliability import UnreliableEstimateWarning
from iblearn.functional import gaussian_mi, gram_matrix, ksg_mi, pairwise_mi, renyi_mi
from iblearn.functional.knn import _maxnorm, kernel_isa
from iblearn.functional.knn import bivariate as _bivariate
from iblearn.functional.knn.ksg import prepare_samples
from iblearn.functional.knn.neighbors import count_within, kth_neighbour
from iblearn.records import environment, markdown_table, read_json, write_json
from iblearn.sklearn import MIFeatureSelector, _terms

OUT = Path(__file__).parent / "results" / "ratios" / "results.json"
TOLERANCE = 1.5
#: the most a row's ratio may be to meet its goal: auto within 4x of the estimator it chooses.
GOALS = dict.fromkeys(
    ["auto_ksg", "auto_gaussian", *(n for n in ratio_cases.CASES if n.startswith("door_"))], 4.0
)


def gaussians(n: int, dx: int, dy: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """``x (n, dx)`` standard normal and ``y (n, dy)``, its first ``dy`` columns plus noise."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dx, generator=g)
    return x, x[:, :dy] + 0.5 * torch.randn(n, dy, generator=g)


#: This script's own cases; :data:`CASES` adds those built on them (ratio_cases.py).
OWN = Cases()


@OWN.add("renyi_mi, alpha 1.01, N 1,024", "eigvalsh of its 3 Gram matrices", 15)
def renyi_eig_case(repeats: int) -> dict[str, float]:
    x, y = gaussians(1024, 10, 3)
    ka, kb = gram_matrix(x), gram_matrix(y)
    grams = [ka, kb, ka * kb]

    def core() -> None:
        for k in grams:
            torch.linalg.eigvalsh(k)

    return paired_ratio(lambda: renyi_mi(x, y), core, repeats)


@OWN.add("renyi_mi, alpha 2, N 4,096", "its 2 kernel matrices (mm, exp)", 15)
def renyi_alpha2_case(repeats: int) -> dict[str, float]:
    x, y = gaussians(4096, 10, 3)
    x, y = x / 10, y / 10  # small products: exp of no inf

    def core() -> None:
        for t in (x, y):
            torch.mm(t, t.T).exp_()

    return paired_ratio(lambda: renyi_mi(x, y, alpha=2.0), core, repeats)


@OWN.add("renyi_mi, alpha 2, N 4,096, with its backward", "the same renyi_mi without it", 15)
def renyi_alpha2_backward_case(repeats: int) -> dict[str, float]:
    x, y = gaussians(4096, 10, 3)
    x, y = x / 10, y / 10

    def call(backward: bool) -> None:
        mi = renyi_mi(x.clone().requires_grad_(True), y, alpha=2.0)
        if backward:
            mi.backward()

    return paired_ratio(lambda: call(True), lambda: call(False), repeats)


@OWN.add("ksg_mi, k 3, N 10,000", "kNN search and 2 counts", 51)
def ksg_case(repeats: int) -> dict[str, float]:
    x, y = gaussians(10_000, 2, 2)
    (xp, yp), k = prepare_samples([("x", x), ("y", y)], 3, standardize=True, ties="jitter", seed=0)

    def core() -> None:
        eps, _ = kth_neighbour([xp, yp], k, "chebyshev", "tree")
        count_within(xp, eps, "chebyshev", "tree", inclusive=False)
        count_within(yp, eps, "chebyshev", "tree", inclusive=False)

    return paired_ratio(lambda: ksg_mi(x, y), core, repeats)


@OWN.add("KSG()(x, y), 1 x 1, N 1,000", "ksg_mi on the same rows", 101)
def ksg_object_case(repeats: int) -> dict[str, float]:
    """The estimator object's own work (checks, the judgement of its estimate) over the function's, at
    an N where that work is not lost in the search."""
    x, y = gaussians(1_000, 1, 1)
    est = KSG()
    return paired_ratio(lambda: est(x, y), lambda: ksg_mi(x, y), repeats)


def _auto(x: Tensor, y: Tensor) -> None:
    with warnings.catch_warnings():  # the Student-t's estimate is flagged: the judgement is timed, not shown
        warnings.simplefilter("ignore", UnreliableEstimateWarning)
        auto_estimate(x, y)


@OWN.add("auto_estimate, KSG chosen, 3 x 3, N 5,000", "ksg_mi on the same rows", 11)
def auto_ksg_case(repeats: int) -> dict[str, float]:
    """``auto_estimate`` where it chooses KSG (Student-t 3 x 3, 3 degrees of freedom, N = 5,000) over KSG
    on the same rows: what the choice, the checks and the interval cost."""
    x, y = student_t(3, 3, dof=3.0).sample(5_000, seed=0)
    return paired_ratio(lambda: _auto(x, y), lambda: ksg_mi(x, y), repeats)


@OWN.add("auto_estimate, Gaussian chosen, 100 x 100 of rank 4, N 5,000", "gaussian_mi on the same rows", 11)
def auto_gaussian_case(repeats: int) -> dict[str, float]:
    """``auto_estimate`` where it chooses the Gaussian (four pairs mapped into 100 dimensions a side, N =
    5,000) over the bias-corrected Gaussian estimate on the same rows."""
    x, y = high_mi(2.0, 100).sample(5_000, seed=0)
    return paired_ratio(lambda: _auto(x, y), lambda: gaussian_mi(x, y, bias_correction=True), repeats)


def _pairwise_columns() -> tuple[Tensor, list[Tensor], list[tuple[int, int]]]:
    """16 columns of 5,000 rows, in groups of 4 sharing a Gaussian source; each prepared as
    ``pairwise_mi`` prepares it; the 120 pairs."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5_000, 4, generator=g, dtype=torch.float64).repeat_interleave(4, dim=1)
    x = x + torch.randn(5_000, 16, generator=g, dtype=torch.float64)
    named = [(str(j), x[:, [j]]) for j in range(16)]
    prepared, _ = prepare_samples(named, 3, standardize=True, ties="jitter", seed=0)
    return x, prepared, [(i, j) for i in range(16) for j in range(i + 1, 16)]


def _kernel_scans(prepared: list[Tensor], pairs: list[tuple[int, int]]) -> None:
    """The compiled kernel's work on the pairs as ``pairwise_mi`` asks it (KSG's terms, k = 3, from the
    columns sorted once): the scans of ``_maxnorm.scan``, whose copy follows the instruction set as the
    function's does."""
    values, ranks = _bivariate.sorted_ranks(prepared)
    if _bivariate._terms(np.asarray(pairs), values, ranks, 3, 1) is None:
        raise RuntimeError("pairwise kernel: the distances overflowed")


def _grid_counts(prepared: list[Tensor], pairs: list[tuple[int, int]]) -> None:
    """The pairs kernel's grid (``_maxnorm.pairs``, which KSG's variant 2 and k beyond the scans take)
    on the same pairs: n_x and n_y, k = 3."""
    values, ranks = _bivariate.sorted_ranks(prepared)
    n = values.shape[1]
    nx, ny = np.empty((len(pairs), n), dtype=np.int64), np.empty((len(pairs), n), dtype=np.int64)
    _maxnorm.pairs(values, ranks, n, np.asarray(pairs), 3, 1, _bivariate.cell_ranks(n), nx, ny)


@OWN.add("pairwise_mi, 16 x 5,000", "kernel scans of its 120 pairs", 21)
def pairwise_case(repeats: int) -> dict[str, float]:
    x, prepared, pairs = _pairwise_columns()
    return paired_ratio(lambda: pairwise_mi(x), lambda: _kernel_scans(prepared, pairs), repeats)


@OWN.add("grid kernel counts, 120 pairs of 5,000", "general tree counts, same pairs", 11)
def pairwise_kernel_case(repeats: int) -> dict[str, float]:
    _x, prepared, pairs = _pairwise_columns()

    def general() -> None:
        for a, b in pairs:
            eps, _ = kth_neighbour([prepared[a], prepared[b]], 3, "chebyshev", "tree")
            count_within(prepared[a], eps, "chebyshev", "tree", inclusive=False)
            count_within(prepared[b], eps, "chebyshev", "tree", inclusive=False)

    return paired_ratio(lambda: _grid_counts(prepared, pairs), general, repeats)


def _cancer_fold() -> tuple[np.ndarray, np.ndarray]:
    """Four fifths of the breast-cancer rows (a training fold of a 5-fold search), standardized."""
    X, y = load_breast_cancer(return_X_y=True)
    keep = np.arange(len(y)) % 5 != 0
    X = X[keep]
    return (X - X.mean(axis=0)) / X.std(axis=0), y[keep]


@OWN.add("MIFeatureSelector(10) fit, 455 x 30", "its terms called directly", 11)
def selection_case(repeats: int) -> dict[str, float]:
    X, y = _cancer_fold()
    selector = MIFeatureSelector(10, method="mrmr")

    path = selector.fit(X, y).selected_.tolist()
    cols = [X[:, [j]] for j in range(X.shape[1])]

    def direct() -> None:
        for j in range(X.shape[1]):
            _terms.relevance(cols[j], y, True, 3)
        for step, s in enumerate(path[:-1]):
            _terms.redundancies([cols[j] for j in range(X.shape[1]) if j not in path[: step + 1]], cols[s], 3)

    return paired_ratio(lambda: selector.fit(X, y), direct, repeats)


@OWN.add("the same, 5, warm memory", "joblib.hash of its rows", 31)
def selection_memory_case(repeats: int) -> dict[str, float]:
    X, y = _cancer_fold()
    with tempfile.TemporaryDirectory() as folder:
        MIFeatureSelector(10, method="mrmr", memory=folder).fit(X, y)
        warm = MIFeatureSelector(5, method="mrmr", memory=folder)
        return paired_ratio(lambda: warm.fit(X, y), lambda: joblib.hash((X, y)), repeats)


@OWN.add("NWJ fit, 100 steps of 128", "its 100 train_step calls", 21)
def neural_fit_case(repeats: int) -> dict[str, float]:
    """``NWJ.fit`` (100 steps of 128 rows, nothing held out) over the same 100 ``train_step`` calls on
    the batches ``fit`` draws, each from a new estimator: what the loop adds to its steps."""
    x, y = gaussians(2_000, 2, 2)

    def fit() -> None:
        NWJ(2, 2, validation=0).fit(x, y, steps=100, batch_size=128)

    def steps() -> None:
        est = NWJ(2, 2, validation=0)
        batches = sample_batches(x, y, 128, 0)
        for _ in range(100):
            est.train_step(*next(batches))

    return paired_ratio(fit, steps, repeats)


@OWN.add("renyi_mi, truncated spectrum, N 2,048", "renyi_mi, exact spectrum, same rows", 7)
def renyi_truncated_case(repeats: int) -> dict[str, float]:
    """``renyi_mi`` with the truncated spectrum over the exact one (N = 2,048, the 10-d and 3-d Gaussians
    of ``renyi_eig``): the top eigenpairs and the interval for the rest against three eigendecompositions."""
    x, y = gaussians(2048, 10, 3)
    return paired_ratio(
        lambda: renyi_mi(x, y, spectrum="truncated"), lambda: renyi_mi(x, y, spectrum="exact"), repeats
    )


@OWN.add("ProximalSplit step, MLP", "plain Adam step, same MLP", 150)
def proximal_case(repeats: int) -> dict[str, float]:
    return paired_ratio(*proximal_steps(torch.device("cpu")), repeats)


#: name: (hot path, core operation, measure, repetitions)


CASES = {**OWN, **ratio_cases.CASES}


def goal_verdict(row: dict[str, Any]) -> str:
    """Whether a measured row meets its goal (``"met"``, ``"not met"``), or ``"-"`` where it has none."""
    if row.get("goal") is None:
        return "-"
    return "met" if row["ratio"] <= row["goal"] else "not met"


def measured(name: str, repeats: int) -> dict[str, Any]:
    """Case ``name`` measured, with what it times against what and its goal, if any."""
    hot, core, measure, _ = CASES[name]
    row: dict[str, Any] = {**measure(repeats), "hot_path": hot, "core_operation": core}
    if name in GOALS:
        row["goal"] = GOALS[name]
    return row


def table(ratios: dict[str, dict[str, Any]], committed: dict[str, Any] | None = None) -> str:
    """The measured rows: times, ratio, goal and whether it is met; against ``committed`` (its ratios
    and tolerance), each row's committed ratio and the check's verdict."""
    header = ["hot path", "core operation", "hot ms", "core ms", "ratio", "goal", "goal met"]
    if committed is not None:
        header += ["committed", "check"]
    rows = []
    for name, r in ratios.items():
        hot, core = CASES[name][:2]
        goal = "-" if r.get("goal") is None else f"at most {r['goal']:g}x"
        row = [hot, core, f"{r['hot_s'] * 1e3:.1f}", f"{r['core_s'] * 1e3:.1f}", f"{r['ratio']:.2f}", goal]
        row.append(goal_verdict(r))
        if committed is not None:
            before = committed["ratios"].get(name, {}).get("ratio")
            limit = None if before is None else before * committed["tolerance"]
            verdict = "new" if limit is None else "ok" if r["ratio"] <= limit else "SLOWER"
            row += ["-" if before is None else f"{before:.2f}", verdict]
        rows.append(row)
    return markdown_table(header, rows)


def modified_sources() -> list[str] | None:
    """Files of src/ that differ from the commit checked out (what the commit alone does not say)."""
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=Path(__file__).resolve().parents[1],
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return sorted(line[3:] for line in out.stdout.splitlines()) if out.returncode == 0 else None


def check_every_isa(sets: list[str], argv: list[str]) -> int:
    """The check in a child process under each of these instruction sets (IBLEARN_SIMD), since a hot
    path's share beside its core can differ between the kernel's copies; 1 if any failed."""
    failed = []
    for isa in sets:
        print(f"ratio check under IBLEARN_SIMD={isa}", flush=True)
        if script.under_isa(isa, [__file__, *argv], capture=False).returncode != 0:
            failed.append(isa)
    if failed:
        print(f"ratio check failed under {', '.join(failed)}")
        return 1
    print(f"ratio check passed under every set this CPU runs: {', '.join(sets)}")
    return 0


def main() -> int:
    if "--check" in sys.argv[1:] and not os.environ.get("IBLEARN_SIMD"):
        sets = script.isa_sets()
        if sets:
            return check_every_isa(sets, sys.argv[1:])
    p = script.Parser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--check",
        action="store_true",
        help="compare with the committed ratios, under each instruction set the CPU runs; write nothing",
    )
    p.add_argument("--tolerance", type=float, default=TOLERANCE, help="allowed factor over a committed ratio")
    p.add_output(OUT)
    p.add_argument("--cases", nargs="+", choices=list(CASES), help="only these (a write keeps the others)")
    args = p.parse_args()
    torch.set_num_threads(1)
    committed = None
    if args.check:  # against the committed ratios, or those of the file --out names
        against = OUT if args.out == script.scratch_for(OUT) else args.out
        if not Path(against).is_file():
            print(f"error: no committed ratios at {against}; run without --check first", file=sys.stderr)
            return 2
        committed = read_json(against)
        committed["tolerance"] = args.tolerance
    ratios = {}
    for name, (hot, _core, _measure, repeats) in CASES.items():
        if args.cases and name not in args.cases:
            continue
        ratios[name] = measured(name, repeats)
        print(f"{hot}: {ratios[name]['ratio']:.2f}x its core", flush=True)
    print(table(ratios, committed))
    print(f"compiled kernel's instruction set: {kernel_isa()}")
    if committed is not None:
        slower = [n for n, r in ratios.items() if n in committed["ratios"]]
        slower = [n for n in slower if ratios[n]["ratio"] > committed["ratios"][n]["ratio"] * args.tolerance]
        if slower:
            print(f"ratio check failed: {', '.join(slower)} above {args.tolerance}x the committed ratio")
            return 1
        print(f"ratio check passed: every ratio within {args.tolerance}x of the committed one")
        return 0
    provenance = {
        **environment(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "kernel_isa": kernel_isa(),
        "threads": torch.get_num_threads(),
        "src_modified": modified_sources(),
    }
    if args.cases and Path(args.out).is_file():  # these rows replaced, each with its own provenance
        before = read_json(args.out)
        rows_measured = {**before.get("measured", {}), **dict.fromkeys(ratios, provenance)}
        merged = {**before["ratios"], **ratios}
        ratios = {n: merged[n] for n in CASES if n in merged}  # in the cases' order
        write_json(args.out, {**before, "ratios": ratios, "measured": rows_measured})
        return 0
    write_json(args.out, {"ratios": ratios, "tolerance": args.tolerance, "provenance": provenance})
    return 0


if __name__ == "__main__":
    sys.exit(main())
