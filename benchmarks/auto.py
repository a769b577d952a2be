"""``method="auto"`` (:func:`iblearn.estimators.auto.auto_estimate`) on tasks with known MI: how often it
is within 10% of the truth (no allowance in nats), how often its interval covers the truth, how often it
says ``reliable=False`` where it is more than 25% off (and how often it is more than 25% off while
saying reliable: the goal is never), and its thread CPU time beside the chosen estimator's alone::

    python benchmarks/auto.py [--n 5000] [--seeds 0] [--max-dim 200] [--out benchmarks/results/auto]

Tasks: iblearn's synthetic tasks (:func:`iblearn.data.standard_tasks`, closed-form MI; the 784-d ones
left out above ``--max-dim``), Student-t 5 x 5 with 3 degrees of freedom, and, reported separately,
tasks the rule was not derived from: invertible maps of those samples within x and within y, which
keep the MI (benchmark-mi's half-cube and normal-CDF maps of each column, its spiral, a rotation by an
angle growing with the norm, and a random invertible two-layer MLP: rotation, a strictly increasing
map of each column, rotation).

The chosen estimator alone is its registry estimator on the raw rows with its defaults
(``GaussianMI(bias_correction=True)`` for the Gaussian); auto and it are timed alternately, best of
``--repeats``, one thread.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch

import _prelude  # noqa: F401  (one thread, before numpy and torch)
from iblearn._provenance import environment
from iblearn.data import standard_tasks
from iblearn.data.synthetic import Task, student_t
from iblearn.estimators import get_estimator
from iblearn.estimators.auto import auto_estimate
from iblearn.estimators.reliability import UnreliableEstimateWarning

Map = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def half_cube(t: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    return t * t.abs().sqrt()


def normal_cdf(t: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    return torch.special.ndtr(t)


def spiral(t: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """A rotation of the first two columns by an angle growing with the row's norm (invertible: the norm
    is kept). On one column: the identity."""
    if t.shape[1] < 2:
        return t
    angle = t.norm(dim=1)
    c, s = angle.cos(), angle.sin()
    out = t.clone()
    out[:, 0], out[:, 1] = c * t[:, 0] - s * t[:, 1], s * t[:, 0] + c * t[:, 1]
    return out


def mlp(t: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Rotation, a strictly increasing map of each column, rotation: an invertible two-layer network."""
    d = t.shape[1]
    q1 = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=t.dtype)).Q
    q2 = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=t.dtype)).Q
    h = t @ q1
    return (h + 0.8 * torch.tanh(2 * h) + 0.1 * h**3) @ q2


MAPS: dict[str, Map] = {"half_cube": half_cube, "normal_cdf": normal_cdf, "spiral": spiral, "mlp": mlp}
#: The tasks each map is applied to (continuous, up to 10 joint dims: where the rule has a choice).
MAPPED = ("bivariate-normal-0.75", "dense-gaussian-5x5", "2-pair-gaussian-3x3", "2-pair-gaussian-5x5")


def tasks(max_dim: int) -> list[tuple[str, str, Task, Map | None]]:
    """(family, name, task, map) of the run."""
    base = [t for t in standard_tasks() if t.dim_x + t.dim_y <= max_dim] + [student_t(5, 5, dof=3.0)]
    out: list[tuple[str, str, Task, Map | None]] = [("synthetic", t.name, t, None) for t in base]
    named = {t.name: t for t in base}
    for map_name, f in MAPS.items():
        out += [("transformed", f"{map_name}-{name}", named[name], f) for name in MAPPED if name in named]
    return out


def timed(f: Callable[[], Any], repeats: int) -> tuple[Any, float]:
    best, result = math.inf, None
    for _ in range(repeats):
        start = time.thread_time()
        result = f()
        best = min(best, time.thread_time() - start)
    return result, best


def alone(chosen: str) -> Any:
    if chosen == "gaussian":
        return get_estimator("gaussian", bias_correction=True)
    if chosen == "binning":
        return get_estimator("binning", correction="miller-madow")
    return get_estimator(chosen)


def row(family: str, name: str, task: Task, f: Map | None, n: int, seed: int, repeats: int) -> dict[str, Any]:
    x, y = task.sample(n, seed=seed)
    if f is not None:
        gen = torch.Generator().manual_seed(seed)
        x, y = f(x.double(), gen), f(y.double(), gen)
    truth = float(task.mutual_information)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreliableEstimateWarning)
        auto_seconds, alone_seconds = math.inf, math.inf
        result = single = None
        for _ in range(repeats):  # interleaved: auto, then the chosen estimator alone
            result, s = timed(lambda: auto_estimate(x, y, seed=seed), 1)
            auto_seconds = min(auto_seconds, s)
            single, s = timed(partial(alone(result.chosen), x, y), 1)
            alone_seconds = min(alone_seconds, s)
    assert result is not None and single is not None
    value, (low, high) = float(result), result.interval
    error = (value - truth) / truth
    return {
        "family": family,
        "task": name,
        "seed": seed,
        "n": n,
        "dims": int(x[0].numel() + y[0].numel()),
        "truth": truth,
        "chosen": result.chosen,
        "estimate": value,
        "low": low,
        "high": high,
        "reliable": result.reliable,
        "error": error,
        "within_10": abs(error) <= 0.10,
        "covers": low <= truth <= high,
        "off_25": abs(error) > 0.25,
        "failed": [c for c, check in result.checks.items() if not check.passed],
        "alone": float(single),
        "auto_seconds": auto_seconds,
        "alone_seconds": alone_seconds,
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = []
    for family in dict.fromkeys(r["family"] for r in rows):
        mine = [r for r in rows if r["family"] == family]
        off = [r for r in mine if r["off_25"]]
        ratio = sorted(r["auto_seconds"] / max(r["alone_seconds"], 1e-6) for r in mine)
        lines += [
            f"### {family} ({len(mine)} task-seeds)",
            "",
            f"- within 10%: {sum(r['within_10'] for r in mine)} of {len(mine)}",
            f"- interval covers the truth: {sum(r['covers'] for r in mine)} of {len(mine)}",
            f"- more than 25% off: {len(off)}; of those flagged reliable=False: "
            f"{sum(not r['reliable'] for r in off)}; **more than 25% off while reliable: "
            f"{sum(r['reliable'] for r in off)}**",
            f"- reliable=False in all: {sum(not r['reliable'] for r in mine)} of {len(mine)}",
            f"- CPU time of auto over the chosen estimator alone: median {ratio[len(ratio) // 2]:.1f}x, "
            f"range {ratio[0]:.1f} - {ratio[-1]:.1f}x",
            "",
            "| task | dims | truth | chosen | auto [interval] | error | reliable | failed checks | alone | "
            "auto s | alone s |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in mine:
            lines.append(
                f"| {r['task']} | {r['dims']} | {r['truth']:.3f} | {r['chosen']} | {r['estimate']:.3f} "
                f"[{r['low']:.3f}, {r['high']:.3f}] | {100 * r['error']:+.1f}% | {r['reliable']} | "
                f"{', '.join(r['failed']) or '-'} | {r['alone']:.3f} | {r['auto_seconds']:.3f} | "
                f"{r['alone_seconds']:.3f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--max-dim", type=int, default=200, help="leave out tasks of more joint dims")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "auto")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for seed in args.seeds:
        for family, name, task, f in tasks(args.max_dim):
            rows.append(row(family, name, task, f, args.n, seed, args.repeats))
            r = rows[-1]
            print(
                f"{name}: {r['estimate']:.3f} for {r['truth']:.3f} ({r['chosen']}, reliable {r['reliable']}, "
                f"failed {r['failed']}) {r['auto_seconds']:.2f}s / {r['alone_seconds']:.2f}s",
                flush=True,
            )
    settings = {
        "n": args.n,
        "seeds": args.seeds,
        "max_dim": args.max_dim,
        "repeats": args.repeats,
        "threads": 1,
        "timing": "time.thread_time, best of repeats, auto and alone interleaved",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"settings": settings, "provenance": environment(), "rows": rows}
    (args.out / "results.json").write_text(json.dumps(record, indent=1) + "\n")
    header = (
        f'# method="auto" on tasks with known MI\n\n`python benchmarks/auto.py --n {args.n} --seeds '
        f"{' '.join(map(str, args.seeds))} --max-dim {args.max_dim} --repeats {args.repeats}`; one "
        "thread, thread CPU time; commit and versions in results.json.\n\n"
    )
    (args.out / "table.md").write_text(header + table(rows))
    print(table(rows))


if __name__ == "__main__":
    main()
