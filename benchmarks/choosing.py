"""The figures of the guide "Which estimator should I use?" that no other benchmark measures: each
non-parametric estimator's value and time on two tasks of known MI, a MINE and an InfoNCE fit, the
bounds for an IB objective (SMILE, FLO, CLUB, DoE) over 5 seeds, and MixedKSG against scikit-learn's
``mutual_info_classif`` on tied values (the digits' pixels). One torch thread, a few minutes of CPU.

    python benchmarks/choosing.py                # all parts, into benchmarks/results/choosing/
    python benchmarks/choosing.py --parts basic  # one part (the others are left out of the record)
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import _prelude  # noqa: F401  (one thread for every library, the checkout's root on sys.path)
from benchmarks.runners.script import cpu_model, parser
from iblearn.data import get_task
from iblearn.estimators import CLUB, FLO, KSG, MINE, SMILE, Binning, DoE, GaussianMI, InfoNCE, RenyiMI
from iblearn.records import environment, markdown_table, write_json

TASKS = ("bivariate-normal-0.75", "dense-gaussian-5x5")
PARTS = ("basic", "neural", "bounds", "digits")


def best_of(calls: int, run: Callable[[], Any]) -> tuple[float, float]:
    """The value of ``run()`` and its best wall-clock time over ``calls`` calls."""
    seconds = []
    for _ in range(calls):
        start = time.perf_counter()
        value = float(run())
        seconds.append(time.perf_counter() - start)
    return value, min(seconds)


def basic() -> list[dict[str, Any]]:
    """KSG, GaussianMI, Binning (and RenyiMI at N = 1,000) on each task, seed 0, best of 3 calls."""
    rows = []
    for name in TASKS:
        task = get_task(name)
        for n in (1000, 10000):
            x, y = task.sample(n, seed=0)
            methods = {"KSG": KSG(), "GaussianMI": GaussianMI(), "Binning": Binning()}
            if n == 1000:
                methods["RenyiMI"] = RenyiMI()
            for method, est in methods.items():
                value, seconds = best_of(3, lambda est=est, x=x, y=y: est(x, y))
                rows.append(
                    {
                        "task": name,
                        "truth": task.mutual_information,
                        "n": n,
                        "method": method,
                        "estimate": value,
                        "seconds": seconds,
                    }
                )
                print(rows[-1], flush=True)
    return rows


def neural() -> list[dict[str, Any]]:
    """MINE and InfoNCE with their defaults, ``fit(steps=2000)`` on 10,000 rows of the 5x5 Gaussian
    (seed 0; fit holds out its own 20% to stop early), the estimate on 2,000 rows of seed 1."""
    task = get_task("dense-gaussian-5x5")
    x, y = (t.float() for t in task.sample(10000, seed=0))
    xt, yt = (t.float() for t in task.sample(2000, seed=1))
    rows = []
    for method, cls in (("MINE", MINE), ("InfoNCE", InfoNCE)):
        start = time.perf_counter()
        est = cls(5, 5, seed=0).fit(x, y, steps=2000)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "task": task.name,
                "truth": task.mutual_information,
                "n": 10000,
                "method": method,
                "steps": 2000,
                "steps_done": int(est.steps_done),
                "estimate": float(est(xt, yt)),
                "seconds": seconds,
            }
        )
        print(rows[-1], flush=True)
    return rows


BOUNDS = {"bivariate-normal-0.75": (3000, 300), "dense-gaussian-5x5": (5000, 2000)}


def bounds(seeds: int = 5) -> list[dict[str, Any]]:
    """SMILE, FLO, CLUB and DoE, one hidden layer of 64, lr 3e-3, batch 256; seed s of the data, the
    network and ``fit``, the estimate on 2,000 rows of seed 1000 + s."""
    rows = []
    for name, (n, steps) in BOUNDS.items():
        task = get_task(name)
        for seed in range(seeds):
            x, y = (t.float() for t in task.sample(n, seed=seed))
            xt, yt = (t.float() for t in task.sample(2000, seed=1000 + seed))
            for cls in (SMILE, FLO, CLUB, DoE):
                start = time.perf_counter()
                est = cls(task.dim_x, task.dim_y, hidden=(64,), lr=3e-3, seed=seed)
                est.fit(x, y, steps=steps, batch_size=256, seed=seed)
                rows.append(
                    {
                        "task": name,
                        "truth": task.mutual_information,
                        "n": n,
                        "steps": steps,
                        "method": cls.__name__,
                        "seed": seed,
                        "estimate": float(est(xt, yt)),
                        "seconds": time.perf_counter() - start,
                    }
                )
                print(rows[-1], flush=True)
    return rows


def digits() -> dict[str, Any]:
    """Each non-constant pixel of scikit-learn's digits against the labels, alone: MixedKSG (k = 3)
    with seeds 0 and 1, ``mutual_info_classif`` with ``random_state`` 0 and 1."""
    from sklearn.datasets import load_digits
    from sklearn.feature_selection import mutual_info_classif

    import sklearn
    from iblearn.functional import mixed_ksg_mi

    data = load_digits()
    pixels, labels = data.data, data.target
    keep = [j for j in range(pixels.shape[1]) if pixels[:, j].std() > 0]
    x = torch.as_tensor(pixels[:, keep], dtype=torch.float64)
    t = torch.as_tensor(labels)
    ours = {s: [float(mixed_ksg_mi(x[:, j : j + 1], t, 3, seed=s)) for j in range(len(keep))] for s in (0, 1)}
    theirs = {
        r: [float(v) for v in mutual_info_classif(pixels[:, keep], labels, n_neighbors=3, random_state=r)]
        for r in (0, 1)
    }

    def gaps(a: list[float], b: list[float]) -> list[float]:
        return [abs(p - q) for p, q in zip(a, b, strict=True)]

    pairs = {
        "MixedKSG seed 0 against scikit-learn random_state 0": gaps(ours[0], theirs[0]),
        "MixedKSG seeds 0 and 1": gaps(ours[0], ours[1]),
        "scikit-learn random_state 0 and 1": gaps(theirs[0], theirs[1]),
    }
    summary = [{"pair": k, "max": max(v), "median": statistics.median(v)} for k, v in pairs.items()]
    for row in summary:
        print(row, flush=True)
    return {
        "rows": pixels.shape[0],
        "pixels": len(keep),
        "classes": len(set(labels.tolist())),
        "scikit_learn": sklearn.__version__,
        "summary": summary,
        "mixed_ksg": ours,
        "mutual_info_classif": theirs,
    }


#: The parts with a row a run: the table's header, and each cell as a format of the run's row.
RUN_TABLES = {
    "basic": (
        ["task", "N", "method", "estimate", "seconds"],
        ["{task} ({truth:.4f})", "{n:,}", "{method}", "{estimate:.4f}", "{seconds:.4f}"],
    ),
    "neural": (
        ["task", "method", "steps done", "held-out estimate", "seconds"],
        ["{task} ({truth:.4f})", "{method}", "{steps_done}", "{estimate:.4f}", "{seconds:.1f}"],
    ),
}


def table(record: dict[str, Any]) -> str:
    parts = ["# Figures of the guide's measurement (`benchmarks/choosing.py`)\n"]
    for part, (header, cells) in RUN_TABLES.items():
        if part in record:
            rows = [[cell.format(**r) for cell in cells] for r in record[part]]
            parts.append(markdown_table(header, rows))
    if "bounds" in record:
        rows = []
        for name in BOUNDS:
            for method in ("SMILE", "FLO", "CLUB", "DoE"):
                values = [
                    r["estimate"] for r in record["bounds"] if r["task"] == name and r["method"] == method
                ]
                rows.append(
                    [
                        name,
                        method,
                        f"{statistics.fmean(values):.3f}",
                        f"{statistics.stdev(values):.3f}",
                        len(values),
                    ]
                )
        parts.append(markdown_table(["task", "method", "mean", "sd", "seeds"], rows))
    if "digits" in record:
        rows = [[r["pair"], f"{r['max']:.3f}", f"{r['median']:.3f}"] for r in record["digits"]["summary"]]
        parts.append(markdown_table(["pixels compared", "largest difference", "median"], rows))
    return "\n".join(parts)


def main() -> None:
    p = parser(__doc__, threads=True)
    p.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    started = time.time()
    record: dict[str, Any] = {}
    for part in args.parts:
        record[part] = {"basic": basic, "neural": neural, "bounds": bounds, "digits": digits}[part]()
    record["seconds"] = time.time() - started
    record["environment"] = {**environment(), "cpu": cpu_model(), "cpu_threads": args.threads}
    out = Path(args.results) / "choosing"
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", record)
    text = table(record)
    (out / "table.md").write_text(
        text + f"\n_Run on {record['environment']['machine']} ({record['environment']['cpu']}), one torch "
        f"thread, commit {record['environment']['git_commit'][:7]}, {record['environment']['date']}._\n",
        encoding="utf-8",
    )
    print(text)


if __name__ == "__main__":
    main()
