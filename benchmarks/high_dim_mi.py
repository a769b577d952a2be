"""MI in hundreds of dimensions: latent MI (``"lmi"``), MIENF (``"mienf"``) and MINDE
(``"minde"``) beside KSG, the Gaussian (CCA) estimate (plug-in, and ``"gaussian_bc"`` with its
bias correction), MINE and InfoNCE on benchmark-mi's
high-dimensional tasks (Czyz et al. 2023: 25 x 25 and 50 x 50 dense and sparse Gaussians, half-cube and
spiral of the sparse 25 x 25, Student-t) and on Gaussians of 100 to 784 dimensions a side holding 1 to 8
nats (``iblearn.data.high_mi``: 4 correlated pairs mapped into the dimension), N = 10,000
rows, 3 seeds. A neural estimator is fitted on 80% of the rows (holding out a fifth of those to stop
early) and reports on the other 20%; KSG and the Gaussian estimate use every row. MIENF and MINDE model
densities, which a variable on a subspace lacks: they see each side of the ``high_mi`` Gaussians on its
principal axes (4 of them), the remedy MIENF's rank warning names.

benchmark-mi needs numpy<2 and jax (the ``bench`` extra), so its samples are drawn once, in an
environment that has it (as ``bmi_suite.py`` says), and saved as ``.npy``; the estimators run in
iblearn's own. The draw imports iblearn and torch too: ``pip install torch==2.13.0`` there and
``PYTHONPATH=src``::

    python benchmarks/high_dim_mi.py --draw DIR [--quick]            # with benchmark-mi installed
    python benchmarks/high_dim_mi.py --bmi DIR [--quick] [--out results.json] [--plot errors.png] [--resume]
        [--methods M ...] [--only-seeds S ...] [--merge part.json ...] [--table table.md]
        [--peers rows-bmi.jsonl ...]

Without ``--bmi`` only the Gaussians of 100 to 784 dimensions run. ``--quick``: 2,000 rows, one seed,
a few hundred steps and small networks, two benchmark-mi tasks and one 100-d Gaussian: minutes on two
loaded cores, figures to check that everything runs, not to rank the estimators. Runs seed by
seed, so a partial run covers every task. Writes the rows (one per task, method and seed) as JSON after
each row, atomically; ``--resume`` keeps the rows of an earlier run of the same settings in ``--out``
and runs only the missing ones; ``--merge`` folds in first the rows of other runs of the same settings
(a run per core, each with its own ``--out`` and ``--methods`` or ``--only-seeds``). ``lmi_cross`` is
LMI with ``alpha = 0`` (cross-prediction only) and ``minde_long`` MINDE trained 20,000 steps with a
weight average, neither run by default. Prints a table (mean and sd of the estimate over seeds, and
the error; ``--peers``: a column of benchmark-mi's best on the same samples, from
``benchmarks/bmi_suite.py``'s rows), writes it to ``--table``, and plots the error against the
dimension.
"""

from __future__ import annotations

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import argparse
import json
import math
import os
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.runners import script

#: benchmark-mi's high-dimensional tasks: its BENCHMARK_TASKS names, and the 50 x 50 sparse Gaussian
#: built with its own task function (BENCHMARK_TASKS has the sparse one at 25 x 25 only).
BMI_TASKS = (
    "multinormal-dense-25-25-0.5",
    "multinormal-dense-50-50-0.5",
    "multinormal-sparse-25-25-2-2.0",
    "multinormal-sparse-50-50-2-2.0",
    "half_cube-multinormal-sparse-25-25-2-2.0",
    "spiral-multinormal-sparse-25-25-2-2.0",
    "student-identity-5-5-3",
)
QUICK_BMI_TASKS = ("multinormal-dense-25-25-0.5", "multinormal-sparse-25-25-2-2.0")
GAUSSIAN_DIMS = (100, 256, 784)
GAUSSIAN_NATS = (1.0, 2.0, 4.0, 8.0)
METHODS = ("ksg", "gaussian", "gaussian_bc", "mine", "infonce", "lmi", "mienf", "minde")
#: Methods that are a registered estimator under another name, with settings of their own.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "gaussian_bc": ("gaussian", {"bias_correction": True}),
    "lmi_cross": ("lmi", {"alpha": 0.0}),  # cross-prediction only: no code spent on reconstruction
    # Trained long, with its authors' rate above 5 dimensions and weight average, and no early stop
    # (``steps`` here overrides ``--steps``): benchmarks/results/minde_gaussian has why.
    "minde_long": ("minde", {"lr": 2e-3, "average": 0.999, "patience": 1000, "steps": 20_000}),
}
#: Methods that model a density, so need full-rank inputs (see ``principal_components``).
DENSITY_METHODS = ("mienf", "minde")


def bmi_task(name: str) -> Any:
    import bmi
    from bmi.benchmark.tasks.multinormal import task_multinormal_sparse

    if name == "multinormal-sparse-50-50-2-2.0":
        return task_multinormal_sparse(50, 50, n_interacting=2, strength=2.0, task_name=name)
    return bmi.benchmark.BENCHMARK_TASKS[name]


def draw(folder: Path, quick: bool) -> None:
    """Samples of benchmark-mi's tasks (every seed), with their true MI and widths in ``truth.json``."""
    n, seeds, names = (2000, 1, QUICK_BMI_TASKS) if quick else (10_000, 3, BMI_TASKS)
    folder.mkdir(parents=True, exist_ok=True)
    truth = {}
    for name in names:
        task = bmi_task(name)
        for seed in range(seeds):
            x, y = task.sample(n, seed=seed)
            np.save(folder / f"{name}.{seed}.x.npy", np.asarray(x, dtype=np.float32))
            np.save(folder / f"{name}.{seed}.y.npy", np.asarray(y, dtype=np.float32))
        truth[name] = {"mi": float(task.mutual_information), "dim_x": task.dim_x, "dim_y": task.dim_y}
        print(f"drew {name}: {seeds} x {n} rows, truth {truth[name]['mi']:.4f}", flush=True)
    (folder / "truth.json").write_text(json.dumps(truth, indent=1))


def settings(method: str, quick: bool) -> dict[str, Any]:
    """Constructor settings of each method. Full runs: the library's defaults for MINE and InfoNCE (two
    layers of 64, lr 2e-3) and the papers' for LMI and MIENF; quick runs: small networks, higher rates."""
    if method in VARIANTS:
        base, own = VARIANTS[method]
        return {**settings(base, quick), **own}
    if not quick:
        return {"k": 3} if method == "ksg" else {}
    quick_settings: dict[str, dict[str, Any]] = {
        "ksg": {"k": 3},
        "gaussian": {},
        "mine": {"hidden": (64,), "lr": 1e-3},
        "infonce": {"hidden": (64,), "lr": 1e-3},
        "lmi": {"hidden": (128, 64), "latent": 8, "lr": 1e-3},
        "mienf": {"hidden": (64,), "flow": "maf", "transforms": 2, "lr": 1e-3},
        "minde": {"hidden": (128, 128), "lr": 1e-3},
    }
    return quick_settings[method]


def estimate(method: str, x: Any, y: Any, seed: int, steps: int, quick: bool) -> tuple[float, int]:
    """The estimate (nats) and the training steps it took."""
    from iblearn.estimators import get_estimator
    from iblearn.estimators.neural import NeuralEstimator

    name = VARIANTS.get(method, (method,))[0]
    own = settings(method, quick)
    if name in ("ksg", "gaussian"):  # nothing to fit: every row
        return float(get_estimator(name, **own)(x, y)), 0
    cut = int(0.8 * len(x))
    if name in DENSITY_METHODS:
        x, y = principal_components(x, cut), principal_components(y, cut)
    long = own.pop("steps", steps)  # a variant's own; a quick run keeps its few
    steps = steps if quick else long
    est = get_estimator(name, x_dim=x.shape[1], y_dim=y.shape[1], seed=seed, **own)
    assert isinstance(est, NeuralEstimator)
    est.fit(x[:cut], y[:cut], steps=steps, batch_size=256, seed=seed)
    return float(est(x[cut:], y[cut:])), int(est.steps_done)


def principal_components(t: Any, cut: int) -> Any:
    """``t`` on the principal axes of its first ``cut`` rows that carry variance, if they are fewer than
    its columns (else ``t`` itself): the remedy MIENF's warning names for a variable on a subspace, which
    has no density. The map is injective on the subspace, so the MI is unchanged. The Gaussians of
    ``high_mi`` lie on 4 of their 100 - 784 dimensions; benchmark-mi's tasks have full rank."""
    import torch

    from iblearn.estimators.neural.mienf import RANK_RTOL

    rows = t[:cut].double()
    centered = rows - rows.mean(0)
    _, sv, vt = torch.linalg.svd(centered, full_matrices=False)
    rank = int((sv > RANK_RTOL * sv[0]).sum())
    return t if rank == t.shape[1] else ((t.double() - rows.mean(0)) @ vt[:rank].T).to(t.dtype)


def samples(args: argparse.Namespace) -> list[tuple[str, float, int, int, Any]]:
    """``(task, truth, dim_x + dim_y, seed, sampler)`` for every task and seed of the run, seed by seed."""
    from iblearn.data import high_mi

    n, seeds = (2000, 1) if args.quick else (args.n, args.seeds)

    def drawn(name: str, seed: int) -> tuple[Any, Any]:
        return tuple(np.load(args.bmi / f"{name}.{seed}.{v}.npy")[:n] for v in "xy")  # type: ignore[return-value]

    def sampled(task: Any, seed: int) -> tuple[Any, Any]:
        return tuple(a.float().numpy() for a in task.sample(n, seed=seed))  # type: ignore[return-value]

    tasks = []  # (task, truth, dims, sampler of a seed)
    if args.bmi is not None:
        for name, info in json.loads((args.bmi / "truth.json").read_text()).items():
            tasks.append((name, info["mi"], info["dim_x"] + info["dim_y"], partial(drawn, name)))
    grid = [(2.0, 100)] if args.quick else [(v, d) for d in GAUSSIAN_DIMS for v in GAUSSIAN_NATS]
    for nats, dim in grid:
        task = high_mi(nats, dim)
        tasks.append((task.name, task.mutual_information, 2 * dim, partial(sampled, task)))
    return [
        (name, truth, dims, s, partial(load, s))
        for s in range(seeds)
        if args.only_seeds is None or s in args.only_seeds
        for name, truth, dims, load in tasks
    ]


def run(args: argparse.Namespace, rows: list[dict[str, Any]], save: Any) -> list[dict[str, Any]]:
    """Every (task, seed, method) not yet in ``rows``, each row added and saved as it comes."""
    import torch

    from iblearn.estimators.neural import CriticDivergedError

    torch.set_num_threads(args.threads)
    steps = 400 if args.quick else args.steps
    finished = {(r["task"], r["seed"], r["method"]) for r in rows}
    for name, truth, dims, seed, load in samples(args):
        todo = [m for m in args.methods if (name, seed, m) not in finished]
        if not todo:
            continue
        x, y = (torch.from_numpy(np.ascontiguousarray(a)) for a in load())
        for method in todo:
            start = time.perf_counter()
            try:
                value, done = estimate(method, x, y, seed, steps, args.quick)
            except (CriticDivergedError, ValueError) as error:  # a diverged critic is a result too
                value, done = math.nan, -1
                print(f"{name} {method} seed {seed}: {error}", flush=True)
            seconds = time.perf_counter() - start
            row = {"task": name, "truth": truth, "dims": dims, "method": method, "seed": seed,
                   "estimate": value, "seconds": seconds, "steps": done, "n": len(x)}  # fmt: skip
            rows.append(row)
            save(rows)
            print(f"{name:42s} {truth:6.3f} {method:8s} s{seed} {value:9.3f} {seconds:7.1f} s", flush=True)
    return rows


def peer_best(paths: list[Path]) -> dict[str, str]:
    """Per task, benchmark-mi's estimator whose mean over the seeds it ran is nearest the truth, as a
    table cell, from the ``rows-bmi.jsonl`` files of ``benchmarks/bmi_suite.py`` (the same samples)."""
    runs: dict[tuple[str, str], list[float]] = {}
    truth: dict[str, float] = {}
    for path in paths:
        for line in path.read_text().splitlines():
            r = json.loads(line)
            runs.setdefault((r["task"], r["estimator"]), []).append(r["estimate"])
            truth[r["task"]] = r["truth"]
    best: dict[str, tuple[float, str]] = {}
    for (task, method), values in runs.items():
        mean = float(np.mean(values))
        if math.isfinite(mean) and abs(mean - truth[task]) < best.get(task, (math.inf, ""))[0]:
            error = f"{100 * (mean - truth[task]) / truth[task]:+.0f}%"
            best[task] = (abs(mean - truth[task]), f"{mean:.2f} ({error}, {method}, seeds: {len(values)})")
    return {task: cell for task, (_, cell) in best.items()}


def table(rows: list[dict[str, Any]], peers: dict[str, str] | None = None) -> str:
    """Markdown: per task, the truth and each method's mean estimate (sd over seeds) and relative error,
    the estimate nearest the truth in bold; with ``peers`` (:func:`peer_best`) a last column of
    benchmark-mi's best (not in the bold race; "-" where it did not run the task)."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    peer = [] if peers is None else ["benchmark-mi's best"]
    lines = [
        "| task | dims | truth | " + " | ".join(methods + peer) + " |",
        "|---|---|---|" + "---|" * (len(methods) + len(peer)),
    ]
    for task in dict.fromkeys(r["task"] for r in rows):
        mine = [r for r in rows if r["task"] == task]
        truth = mine[0]["truth"]
        cells, errors = [], {}
        for m in methods:
            values = np.array([r["estimate"] for r in mine if r["method"] == m], dtype=float)
            mean = float(np.nanmean(values)) if np.isfinite(values).any() else math.nan
            sd = float(np.nanstd(values, ddof=1)) if np.isfinite(values).sum() > 1 else None
            errors[m] = abs(mean - truth) if math.isfinite(mean) else math.inf
            spread = f" ± {sd:.2f}" if sd is not None else ""
            cells.append(f"{mean:.2f}{spread} ({100 * (mean - truth) / truth:+.0f}%)")
        best = min(errors, key=errors.get)  # type: ignore[arg-type]
        cells = [f"**{c}**" if m == best else c for m, c in zip(methods, cells, strict=True)]
        if peers is not None:
            cells.append(peers.get(task, "-"))
        lines.append(f"| {task} | {mine[0]['dims']} | {truth:.3f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Relative error (estimate / truth - 1) of each method against the joint dimension."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for m in dict.fromkeys(r["method"] for r in rows):
        pts = [(r["dims"], r["estimate"] / r["truth"] - 1) for r in rows if r["method"] == m]
        dims, errs = zip(*pts, strict=True)
        ax.scatter(dims, errs, label=m, alpha=0.7, s=18)
    ax.axhline(0, color="k", lw=0.8)
    ax.axhspan(-0.1, 0.1, color="0.9", zorder=0, label="within 10%")
    ax.set_xscale("log")
    ax.set_xlabel("dimension of (x, y)")
    ax.set_ylabel("relative error of the estimate")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main() -> None:
    parser = script.Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draw", type=Path, help="draw benchmark-mi's samples into this folder, then stop")
    parser.add_argument("--bmi", type=Path, help="the folder --draw filled")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=sorted({*METHODS, *VARIANTS}))
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument(
        "--only-seeds", type=int, nargs="+", help="run only these of the seeds (a run per core, each its own)"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_output(Path(__file__).parent / "results" / "high_dim_mi.json")
    parser.add_output(Path(__file__).parent / "results" / "high_dim_mi.png", "--plot")
    parser.add_argument("--resume", action="store_true", help="keep the rows already in --out")
    parser.add_argument(
        "--merge", type=Path, nargs="+", default=[],
        help="with --resume: fold in the rows of other runs of the same settings (one per core) first",
    )  # fmt: skip
    parser.add_argument("--table", type=Path, help="write the markdown table here too")
    parser.add_argument(
        "--peers", type=Path, nargs="+", default=[],
        help="rows-bmi.jsonl files of benchmarks/bmi_suite.py: a column of benchmark-mi's best",
    )  # fmt: skip
    args = parser.parse_args()
    if args.draw is not None:
        draw(args.draw, args.quick)
        return
    run_settings = {"quick": args.quick, "n": args.n, "seeds": args.seeds, "steps": args.steps,
                    "methods": {m: settings(m, args.quick) for m in args.methods}}  # fmt: skip
    run_settings = json.loads(json.dumps(run_settings))  # tuples as lists, as read back
    rows: list[dict[str, Any]] = []
    if args.resume and args.out.exists():
        earlier = json.loads(args.out.read_text())
        methods = {**earlier["settings"]["methods"], **run_settings["methods"]}
        if {**earlier["settings"], "methods": methods} != {**run_settings, "methods": methods} or any(
            earlier["settings"]["methods"][m] != methods[m] for m in earlier["settings"]["methods"]
        ):
            raise SystemExit(f"--resume: {args.out} was written with other settings: {earlier['settings']}")
        run_settings["methods"], rows = methods, earlier["rows"]
    for path in args.merge:
        if not args.resume:
            raise SystemExit("--merge: folds other runs into a resumed one; add --resume")
        other = json.loads(path.read_text())
        clash = [m for m, v in other["settings"]["methods"].items() if run_settings["methods"].get(m, v) != v]
        if clash or {**other["settings"], "methods": {}} != {**run_settings, "methods": {}}:
            raise SystemExit(f"--merge: {path} was written with other settings: {other['settings']}")
        run_settings["methods"] = {**other["settings"]["methods"], **run_settings["methods"]}
        have = {(r["task"], r["seed"], r["method"]) for r in rows}
        rows += [r for r in other["rows"] if (r["task"], r["seed"], r["method"]) not in have]

    def save(rows: list[dict[str, Any]]) -> None:
        seconds = sum(r["seconds"] for r in rows)  # of estimation, over every resumed part of the run
        record = {"settings": run_settings, "seconds": seconds, "rows": rows}
        write_atomic(args.out, json.dumps(record, indent=1, default=str))

    rows = run(args, rows, save)
    save(rows)
    text = table(rows, peer_best(args.peers) if args.peers else None)
    if args.table is not None:
        write_atomic(args.table, text + "\n")
    print(text)
    plot(rows, args.plot)
    print(f"wrote {args.out} and {args.plot} ({sum(r['seconds'] for r in rows):.0f} s of estimation)")


if __name__ == "__main__":
    main()
