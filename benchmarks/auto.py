"""``method="auto"`` (:func:`iblearn.estimation.auto.auto_estimate`) on tasks with known MI: how often it
is within 10% of the truth (no allowance in nats), how often its interval covers the truth, how often it
says ``reliable=False`` where it is more than 25% off (and how often it is more than 25% off while
saying reliable: the goal is never), and its thread CPU time beside the chosen estimator's alone::

    python benchmarks/auto.py [--n 5000 10000] [--seeds 0 1 2] [--max-dim 2000]
        [--bmi-dir DIR] [--high-dim-dir DIR] [--families F ...] [--out benchmarks/results/auto]

Families, each reported apart:

- ``synthetic``: iblearn's synthetic tasks (:func:`iblearn.data.standard_tasks`, closed-form MI; tasks
  of more joint dims than ``--max-dim`` left out) and Student-t 5 x 5 with 3 degrees of freedom, drawn
  by iblearn at each N.
- ``transformed``: tasks the rule was not derived from: invertible maps of four of those samples within
  x and within y, which keep the MI (benchmark-mi's half-cube and normal-CDF maps of each column, its
  spiral, a rotation by an angle growing with the norm, and a random invertible two-layer MLP:
  rotation, a strictly increasing map of each column, rotation).
- ``mixtures``: mixtures the rule was not derived from either, iblearn's, drawn at each N: two
  Gaussians whose pairs correlate at +0.8 in one and -0.8 in the other (no correlation at all; 1 x 1
  and 3 x 3), and a discrete-continuous mixture, each x_i exactly 0 with probability 1/2 (a point
  mass) and y = x + noise (1 x 1 and 3 x 3); their MI by quadrature.
- ``benchmark-mi``: benchmark-mi's 40 tasks, from the folder ``--bmi-dir`` that
  ``benchmarks/bmi_suite.py draw DIR`` filled (N = 10,000 a seed; N = 5,000 is the first 5,000 rows of
  the same draw).
- ``high-dimensional``: the 19 tasks of ``benchmarks/high_dim_mi.py``: benchmark-mi's 7 from the folder
  ``--high-dim-dir`` that ``high_dim_mi.py --draw DIR`` filled (first N rows, as above), and the 12
  Gaussians of 100 to 784 dimensions a side holding 1 to 8 nats (``iblearn.data.high_mi``),
  drawn by iblearn at each N.

The chosen estimator alone is its registry estimator on the raw rows with its defaults
(``GaussianMI(bias_correction=True)`` for the Gaussian); auto and it are timed alternately, best of
``--repeats``, one thread. Each row is appended to ``OUT/rows.jsonl`` as it comes (seeds outermost,
then N, then family), and a run skips the rows already there: kill it and run it again to go on.
``results.json`` and ``table.md`` are written from every row in ``rows.jsonl`` at the end.
"""

from __future__ import annotations

import collections
import json
import math
import statistics
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

import _prelude  # noqa: F401  (one thread, before numpy and torch)
from benchmarks.runners import script
from bmi_suite import append_row, done_rows
from high_dim_mi import GAUSSIAN_DIMS, GAUSSIAN_NATS
from iblearn._provenance import environment, git_commit
from iblearn.data import Task, high_mi, sign_mixture, standard_tasks, student_t, zero_inflated
from iblearn.estimation.auto import auto_estimate
from iblearn.estimators import get_estimator
from iblearn.estimators.reliability import UnreliableEstimateWarning
from iblearn.records import write_json

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


#: (family, name, truth, dims, sampler of (n, seed)) of one task.
Source = tuple[str, str, float, int, Callable[[int, int], tuple[torch.Tensor, torch.Tensor]]]
FAMILIES = ("synthetic", "transformed", "mixtures", "benchmark-mi", "high-dimensional")


def _of_task(task: Task, f: Map | None = None) -> Callable[[int, int], tuple[torch.Tensor, torch.Tensor]]:
    def sample(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = task.sample(n, seed=seed)
        if f is not None:
            gen = torch.Generator().manual_seed(seed)
            x, y = f(x.double(), gen), f(y.double(), gen)
        return x, y

    return sample


def _drawn(folder: Path, stem: str) -> Callable[[int, int], tuple[torch.Tensor, torch.Tensor]]:
    """The first n rows of a seed's draw: ``folder/STEM.{x,y}.npy`` with ``{seed}`` in ``stem``."""

    def sample(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = (np.load(folder / f"{stem.format(seed=seed)}.{v}.npy") for v in "xy")
        if len(x) < n:
            raise ValueError(f"--n: {n} rows asked, {folder} holds {len(x)} a seed")
        return torch.from_numpy(x[:n]), torch.from_numpy(y[:n])

    return sample


def tasks(max_dim: int, bmi_dir: Path | None, high_dim_dir: Path | None) -> list[Source]:
    """Every task of the run, family by family."""
    base = [t for t in standard_tasks() if t.dim_x + t.dim_y <= max_dim] + [student_t(5, 5, dof=3.0)]
    out: list[Source] = [
        ("synthetic", t.name, float(t.mutual_information), t.dim_x + t.dim_y, _of_task(t)) for t in base
    ]
    named = {t.name: t for t in base}
    for map_name, f in MAPS.items():
        out += [
            (
                "transformed",
                f"{map_name}-{name}",
                float(t.mutual_information),
                t.dim_x + t.dim_y,
                _of_task(t, f),
            )
            for name in MAPPED
            if (t := named.get(name)) is not None
        ]
    for t in (sign_mixture(1), sign_mixture(3), zero_inflated(1), zero_inflated(3)):
        out.append(("mixtures", t.name, float(t.mutual_information), t.dim_x + t.dim_y, _of_task(t)))
    if bmi_dir is not None:
        for name, info in json.loads((bmi_dir / "truth.json").read_text()).items():
            dims = info["dx"] + info["dy"]
            out.append(("benchmark-mi", name, info["mi"], dims, _drawn(bmi_dir, name + ".s{seed}")))
    if high_dim_dir is not None:
        for name, info in json.loads((high_dim_dir / "truth.json").read_text()).items():
            dims = info["dim_x"] + info["dim_y"]
            out.append(("high-dimensional", name, info["mi"], dims, _drawn(high_dim_dir, name + ".{seed}")))
        for dim in GAUSSIAN_DIMS:
            for nats in GAUSSIAN_NATS:
                t = high_mi(nats, dim)
                out.append(("high-dimensional", t.name, float(t.mutual_information), 2 * dim, _of_task(t)))
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


def row(source: Source, n: int, seed: int, repeats: int) -> dict[str, Any]:
    family, name, truth, _, sample = source
    x, y = sample(n, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreliableEstimateWarning)
        auto_seconds, alone_seconds = math.inf, math.inf
        result = single = None
        for _ in range(repeats):  # interleaved: auto, then the chosen estimator alone
            result, s = timed(lambda: auto_estimate(x, y, seed=seed), 1)
            auto_seconds = min(auto_seconds, s)
            single, s = timed(partial(alone(result.report.chosen), x, y), 1)
            alone_seconds = min(alone_seconds, s)
    assert result is not None and single is not None
    assert result.interval is not None
    value, (low, high) = float(result), result.interval
    error = (value - truth) / truth
    return {
        "family": family,
        "task": name,
        "seed": seed,
        "n": n,
        "dims": int(x[0].numel() + y[0].numel()),
        "truth": truth,
        "chosen": result.report.chosen,
        "estimate": value,
        "low": low,
        "high": high,
        "reliable": result.reliable,
        "error": error,
        "within_10": abs(error) <= 0.10,
        "covers": low <= truth <= high,
        "off_25": abs(error) > 0.25,
        "failed": [c for c, check in result.report.checks.items() if check.passed is False],
        "candidates": (
            result.report.checks["agreement"].figures if "agreement" in result.report.checks else None
        ),
        "alone": float(single),
        "auto_seconds": auto_seconds,
        "alone_seconds": alone_seconds,
    }


def key(r: dict[str, Any]) -> tuple[str, str, int, int]:
    return r["family"], r["task"], r["seed"], r["n"]


#: Seconds of the chosen estimator alone from which auto's cost is held to :data:`COST_RATIO` times it.
COST_FLOOR = 0.05
#: The most auto may cost over its chosen estimator alone where that takes over :data:`COST_FLOOR`.
COST_RATIO = 4.0


def cost(rows: list[dict[str, Any]]) -> str:
    """Auto's cost on the rows whose chosen estimator alone takes over :data:`COST_FLOOR` seconds: how
    many, the largest ratio, and how many exceed :data:`COST_RATIO`."""
    ratios = [r["auto_seconds"] / r["alone_seconds"] for r in rows if r["alone_seconds"] > COST_FLOOR]
    if not ratios:
        return "-"
    over = sum(ratio > COST_RATIO for ratio in ratios)
    return f"{len(ratios)} rows, at most {max(ratios):.2f}x, {over} over {COST_RATIO:g}x"


def summary(rows: list[dict[str, Any]]) -> str:
    """One line a family and N: the goals' counts."""
    lines = [
        "| family | N | task-seeds | within 10% | interval covers | > 25% off | of those reliable=False "
        "| **> 25% off, reliable** | reliable=False in all | CPU time over the chosen alone (median, range) "
        f"| where the chosen alone takes over {COST_FLOOR:g} s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for family in dict.fromkeys(r["family"] for r in rows):
        for n in sorted({r["n"] for r in rows if r["family"] == family}):
            mine = [r for r in rows if r["family"] == family and r["n"] == n]
            off = [r for r in mine if r["off_25"]]
            ratio = sorted(r["auto_seconds"] / max(r["alone_seconds"], 1e-6) for r in mine)
            m = len(mine)
            lines.append(
                f"| {family} | {n:,} | {m} | {sum(r['within_10'] for r in mine)} "
                f"({100 * sum(r['within_10'] for r in mine) / m:.0f}%) | {sum(r['covers'] for r in mine)} "
                f"({100 * sum(r['covers'] for r in mine) / m:.0f}%) | {len(off)} | "
                f"{sum(not r['reliable'] for r in off)} | **{sum(r['reliable'] for r in off)}** | "
                f"{sum(not r['reliable'] for r in mine)} | {statistics.median(ratio):.1f}x "
                f"({ratio[0]:.1f} - {ratio[-1]:.1f}x) | {cost(mine)} |"
            )
    return "\n".join(lines)


def table(rows: list[dict[str, Any]]) -> str:
    lines = [summary(rows), ""]
    for family, n in dict.fromkeys((r["family"], r["n"]) for r in rows):
        mine = [r for r in rows if r["family"] == family and r["n"] == n]
        off = [r for r in mine if r["off_25"]]
        ratio = sorted(r["auto_seconds"] / max(r["alone_seconds"], 1e-6) for r in mine)
        lines += [
            f"### {family}, N = {n:,} ({len(mine)} task-seeds)",
            "",
            f"- within 10%: {sum(r['within_10'] for r in mine)} of {len(mine)}",
            f"- interval covers the truth: {sum(r['covers'] for r in mine)} of {len(mine)}",
            f"- more than 25% off: {len(off)}; of those flagged reliable=False: "
            f"{sum(not r['reliable'] for r in off)}; **more than 25% off while reliable: "
            f"{sum(r['reliable'] for r in off)}**",
            f"- reliable=False in all: {sum(not r['reliable'] for r in mine)} of {len(mine)}",
            f"- CPU time of auto over the chosen estimator alone: median {statistics.median(ratio):.1f}x, "
            f"range {ratio[0]:.1f} - {ratio[-1]:.1f}x; where the chosen alone takes over {COST_FLOOR:g} s: "
            f"{cost(mine)}",
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


#: The code behind the rows: where one of these changes after a row's commit, the pages that render
#: the rows say so (``sources.json`` beside them, read by the docs' ``changed_since``).
SOURCES = [
    "benchmarks/auto.py",
    "src/iblearn/estimation/auto.py",
    "src/iblearn/estimation/auto_discrete.py",
    "src/iblearn/estimation/auto_gaussian.py",
    "src/iblearn/estimation/autocheck.py",
    "src/iblearn/estimation/choose.py",
    "src/iblearn/estimation/verdict.py",
    "src/iblearn/estimators/reliability.py",
    "src/iblearn/functional/linearity.py",
]


def main(argv: list[str] | None = None) -> None:
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[5000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--max-dim", type=int, default=200, help="leave out synthetic tasks above this")
    parser.add_argument("--bmi-dir", type=Path, help="the folder `bmi_suite.py draw DIR` filled")
    parser.add_argument("--high-dim-dir", type=Path, help="the folder `high_dim_mi.py --draw DIR` filled")
    parser.add_argument("--families", nargs="+", choices=FAMILIES, default=list(FAMILIES))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_output(Path(__file__).parent / "results" / "auto")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "rows.jsonl"
    done = {key(r) for r in done_rows(path)}
    sources = [s for s in tasks(args.max_dim, args.bmi_dir, args.high_dim_dir) if s[0] in args.families]
    commit = git_commit()
    for seed in args.seeds:
        for n in args.n:
            for source in sources:
                if (source[0], source[1], seed, n) in done:
                    continue
                r = {**row(source, n, seed, args.repeats), "commit": commit}
                append_row(path, r)
                print(
                    f"{r['family']} {r['task']} s{seed} N={n}: {r['estimate']:.3f} for {r['truth']:.3f} "
                    f"({r['chosen']}, reliable {r['reliable']}, failed {r['failed']}) "
                    f"{r['auto_seconds']:.2f}s / {r['alone_seconds']:.2f}s",
                    flush=True,
                )
    rows = sorted(done_rows(path), key=lambda r: (FAMILIES.index(r["family"]), r["n"], r["seed"]))
    settings = {
        "n": sorted({r["n"] for r in rows}),
        "seeds": sorted({r["seed"] for r in rows}),
        "families": list(dict.fromkeys(r["family"] for r in rows)),
        "commits": dict(collections.Counter((r.get("commit") or "not recorded")[:9] for r in rows)),
        "max_dim": args.max_dim,
        "repeats": args.repeats,
        "threads": 1,
        "timing": "time.thread_time, best of repeats, auto and alone interleaved",
        "samples": "benchmark-mi's tasks: its 0.1.3's draws of N = 10,000 a seed (bmi_suite.py draw, "
        "high_dim_mi.py --draw), the first N rows; iblearn's tasks (the high_mi Gaussians too): drawn "
        "at each N",
    }
    record = {"settings": settings, "provenance": environment(), "rows": rows}
    (args.out / "results.json").write_text(json.dumps(record, indent=1) + "\n")
    write_json(args.out / "sources.json", SOURCES)
    commits = ", ".join(f"{c} ({k})" for c, k in settings["commits"].items())
    header = (
        f'# method="auto" on tasks with known MI\n\n`python benchmarks/auto.py --n '
        f"{' '.join(map(str, settings['n']))} --seeds {' '.join(map(str, settings['seeds']))} --max-dim "
        f"{args.max_dim} --repeats {args.repeats} --bmi-dir DIR --high-dim-dir DIR`; one thread, thread "
        f"CPU time; rows by commit: {commits}; versions in results.json.\n\n"
    )
    (args.out / "table.md").write_text(header + table(rows))
    print(summary(rows))


if __name__ == "__main__":
    main()
