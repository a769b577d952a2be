"""iblearn's neural estimators against torch-mist's on the synthetic tasks: same critic size, batch,
steps, learning rate and optimizer, trained on the very same batches in one loop.

Each library keeps its own estimator-specific defaults (MINE's moving-average rate: 0.01 here, 0.1 in
torch-mist; negatives) and its own way of reporting an estimate on the held-out sample, since both
are part of what an estimator is. Error is the root-mean-square error over seeds; speed is training
steps per second, timed alternately (ours, theirs, ours, ...) on one thread.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from scipy.stats import t as student_t

from iblearn._threads import limit_threads
from iblearn.data import Task, get_task
from iblearn.estimators import JS, MINE, NWJ, InfoNCE
from iblearn.records import environment, markdown_table

KINDS = ("mine", "nwj", "js", "infonce")
TASKS = (
    "bivariate-normal-0.75",
    "dense-gaussian-5x5",
    "2-pair-gaussian-5x5",
    "additive-uniform-0.1",
    "student-t-2x2-dof1",
    "high-mi-2nats-100d",
    "high-mi-4nats-100d",
    "high-mi-8nats-100d",
    "high-mi-2nats-784d",
    "high-mi-4nats-784d",
    "high-mi-8nats-784d",
)
HIDDEN, EMBED, BATCH, LR = 128, 32, 256, 5e-4


def ours(kind: str, dx: int, dy: int, seed: int) -> Any:
    cls = {"mine": MINE, "nwj": NWJ, "js": JS, "infonce": InfoNCE}[kind]
    return cls(dx, dy, hidden=(HIDDEN,), lr=LR, seed=seed)


def theirs(kind: str, dx: int, dy: int, seed: int) -> Any:
    from torch_mist.estimators import infonce, js, mine, nwj

    torch.manual_seed(seed)
    if kind == "infonce":
        return infonce(x_dim=dx, y_dim=dy, hidden_dims=[HIDDEN, EMBED])  # separable: x -> 128 -> 32
    return {"mine": mine, "nwj": nwj, "js": js}[kind](x_dim=dx, y_dim=dy, hidden_dims=[HIDDEN])


def _standardized(t: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    return ((t - ref.mean(0)) / ref.std(0).clamp_min(1e-12)).float()


def train_pair(
    task: Task, kind: str, seed: int, steps: int, n_train: int, n_test: int
) -> tuple[Any, Any, torch.Tensor, torch.Tensor, dict[str, float]]:
    """Both libraries' estimators trained on the very same batches (timed alternately), in eval mode;
    with the standardized held-out sample and the seconds each spent training."""
    x, y = task.sample(n_train, seed)
    xt, yt = task.sample(n_test, seed + 10_000)
    x, xt = _standardized(x, x), _standardized(xt, x)
    y, yt = _standardized(y, y), _standardized(yt, y)
    a, b = ours(kind, task.dim_x, task.dim_y, seed), theirs(kind, task.dim_x, task.dim_y, seed)
    opt_b = torch.optim.Adam(b.parameters(), lr=LR)

    def step_b(xb: torch.Tensor, yb: torch.Tensor) -> None:
        opt_b.zero_grad()
        b.loss(xb, yb).backward()
        opt_b.step()

    gen = torch.Generator().manual_seed(seed)
    seconds = {"iblearn": 0.0, "torch-mist": 0.0}
    steppers: dict[str, Callable[[torch.Tensor, torch.Tensor], Any]] = {
        "iblearn": a.train_step,
        "torch-mist": step_b,
    }
    a.train()
    b.train()
    for _ in range(steps):
        idx = torch.randint(0, n_train, (BATCH,), generator=gen)
        for name, step in steppers.items():
            start = time.perf_counter()
            step(x[idx], y[idx])
            seconds[name] += time.perf_counter() - start
    a.eval()
    b.eval()
    return a, b, xt, yt, seconds


def theirs_reported(b: Any, xt: torch.Tensor, yt: torch.Tensor) -> float:
    """torch-mist's figure as it reports it: each chunk of 1,024 test samples with one negative per
    sample, the chunks' values averaged."""
    with torch.no_grad():
        values = [
            float(b.mutual_information(xt[i : i + 1024], yt[i : i + 1024])) for i in range(0, len(xt), 1024)
        ]
    return statistics.fmean(values)


def run_pair(task: Task, kind: str, seed: int, steps: int, n_train: int, n_test: int) -> dict[str, Any]:
    a, b, xt, yt, seconds = train_pair(task, kind, seed, steps, n_train, n_test)
    with torch.no_grad():
        mine_value = float(a(xt, yt))
    return {
        "task": task.name,
        "estimator": kind,
        "seed": seed,
        "truth": task.mutual_information,
        "iblearn": mine_value,
        "torch-mist": theirs_reported(b, xt, yt),
        "iblearn_steps_per_s": steps / seconds["iblearn"],
        "torch-mist_steps_per_s": steps / seconds["torch-mist"],
    }


def run_neural(
    *,
    quick: bool = False,
    kinds: Sequence[str] = KINDS,
    tasks: Sequence[str] = (),
    seeds: int | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    limit_threads(1)
    grid, default_seeds, steps = (TASKS[:2], 1, 300) if quick else (TASKS, 3, 2000)
    seeds = default_seeds if seeds is None else seeds
    tasks = [t for t in grid if t in tasks] if tasks else grid
    commit = environment()["git_commit"]
    rows = []
    for name in tasks:
        for kind in kinds:
            for seed in range(seeds):
                row = run_pair(get_task(name), kind, seed, steps, n_train=20_000, n_test=10_000)
                rows.append({**row, "commit": commit})
                if on_row:
                    on_row(rows[-1])
    return rows


def summarize(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per (task, estimator): mean, sd, RMSE and speed of each library, and a paired verdict.

    Both libraries train on the very same batches and are tested on the same samples, so their errors
    are paired by seed. The verdict is a paired t-test (two-sided, 5%) on the per-seed differences of
    absolute error, |ours - truth| - |theirs - truth|: "worse" or "better" where it rejects a zero mean,
    else "tie" (always with one seed). A library that diverged loses to one that did not; two that
    diverged tie.
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["task"], r["estimator"]), []).append(r)
    out = []
    for (task, kind), rs in groups.items():
        truth = rs[0]["truth"]
        entry: dict[str, Any] = {"task": task, "estimator": kind, "truth": truth}
        for lib in ("iblearn", "torch-mist"):
            vals = [r[lib] for r in rs]
            entry[f"{lib}_mean"] = statistics.fmean(vals)
            entry[f"{lib}_sd"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
            entry[f"{lib}_rmse"] = math.sqrt(statistics.fmean((v - truth) ** 2 for v in vals))
            entry[f"{lib}_steps_per_s"] = statistics.fmean(r[f"{lib}_steps_per_s"] for r in rs)
        entry["verdict"] = _verdict(entry, rs)
        out.append(entry)
    wins = sum(_error(e, "iblearn") <= _error(e, "torch-mist") for e in out)  # both diverged: a tie
    speed = statistics.fmean(e["iblearn_steps_per_s"] / e["torch-mist_steps_per_s"] for e in out)
    return out, {
        "pairs": len(out),
        "iblearn_error_no_worse": wins,
        "share": wins / len(out),
        "significantly_worse": sum(e["verdict"] == "worse" for e in out),
        "significantly_better": sum(e["verdict"] == "better" for e in out),
        "mean_speed_ratio": speed,
    }


def _verdict(entry: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    ours, theirs = _diverged(entry["iblearn_mean"]), _diverged(entry["torch-mist_mean"])
    if ours or theirs:
        return "tie" if ours and theirs else "worse" if ours else "better"
    if len(rows) < 2:
        return "tie"  # one seed says nothing about noise
    truth = entry["truth"]
    diffs = [abs(r["iblearn"] - truth) - abs(r["torch-mist"] - truth) for r in rows]
    mean = statistics.fmean(diffs)
    se = statistics.stdev(diffs) / math.sqrt(len(diffs))
    if abs(mean) <= student_t.ppf(0.975, len(diffs) - 1) * se:
        return "tie"
    return "worse" if mean > 0 else "better"


def _diverged(mean: float) -> bool:
    # NWJ's exp term overflows on heavy tails (Student-t, 1 dof): say so instead of printing 1e33
    return not abs(mean) <= 1e6


def _error(entry: dict[str, Any], lib: str) -> float:
    return math.inf if _diverged(entry[f"{lib}_mean"]) else entry[f"{lib}_rmse"]


def _value(mean: float, sd: float) -> str:
    return "diverged" if _diverged(mean) else f"{mean:.3f} ± {sd:.3f}"


def neural_table(summary: list[dict[str, Any]], totals: dict[str, Any]) -> str:
    rows = [
        [
            e["task"],
            e["estimator"],
            f"{e['truth']:.3f}",
            _value(e["iblearn_mean"], e["iblearn_sd"]),
            "" if _diverged(e["iblearn_mean"]) else f"{e['iblearn_rmse']:.3f}",
            _value(e["torch-mist_mean"], e["torch-mist_sd"]),
            "" if _diverged(e["torch-mist_mean"]) else f"{e['torch-mist_rmse']:.3f}",
            e["verdict"],
            f"{e['iblearn_steps_per_s']:.0f}",
            f"{e['torch-mist_steps_per_s']:.0f}",
        ]
        for e in summary
    ]
    table = markdown_table(
        [
            "task",
            "estimator",
            "truth",
            "iblearn",
            "RMSE",
            "torch-mist",
            "RMSE",
            "ours vs theirs (paired)",
            "steps/s ours",
            "steps/s torch-mist",
        ],
        rows,
    )
    return table + (
        f"\niblearn's error no worse on {totals['iblearn_error_no_worse']} of {totals['pairs']} "
        f"(task, estimator) pairs ({100 * totals['share']:.0f}%; where both diverged, a tie); by a paired "
        f"t-test over seeds (5%), worse on {totals['significantly_worse']} and better on "
        f"{totals['significantly_better']}; "
        f"mean speed ratio {totals['mean_speed_ratio']:.2f}x.\n"
    )
