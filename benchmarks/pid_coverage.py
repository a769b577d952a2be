"""Coverage of the intervals of :func:`~iblearn.functional.pid_interval` on the PID tasks with known
atoms (:func:`~iblearn.data.tasks.exact_tasks` ``("pid")``): for each task, redundancy measure, N and
part, the share of seeds whose interval holds the exact atom, with the mean estimate, its bias and the
median width. Run by ``python -m benchmarks.pid --coverage`` (see there), written to coverage.json.

Each cell also says whether the part is smooth at the truth (:func:`regimes`). A resampled interval
rests on the estimate being a smooth function of the sample's joint distribution, so that its spread
about the truth is nearly symmetric and its bias follows the half-samples' trend. Where the measure
has a kink at the truth (a minimum at a tie, ``I(X1; T) = I(X2; T)``, or a part at its boundary 0)
the estimate is the minimum of noisy branches: biased towards one side by a fraction of its spread, a
bias that halves only as ``N^-1/2`` and that the half-samples' trend barely shows above its noise; where
it jumps (I_ccs at an exact zero of the local co-information) no interval from the one sample can
follow it. Coverage is judged against the goal only where the part is smooth.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from iblearn.data.tasks import exact_tasks
from iblearn.data.tasks.pid import PID_TABLE
from iblearn.functional import gaussian_pid, pid_distribution, pid_interval

PARTS = ("redundancy", "unique_1", "unique_2", "synergy")
#: The tasks and measures measured: the discrete ones by every measure of two sources but I_min (whose
#: interval is MMI's kind), the Gaussian ones by the measures with a Gaussian estimator from samples.
TASKS = (
    "pid-xor",
    "pid-and",
    "pid-noisy-and",
    "pid-unq",
    "pid-copy",
    "pid-gauss-sum",
    "pid-gauss-2d-sources",
)
TABLE_MEASURES = ("mmi", "broja", "ccs", "dep", "sx")
GAUSSIAN_MEASURES = ("mmi", "broja")
#: A coverage is reliable in this band (the goal for a 95% interval).
GOAL = (0.90, 0.98)
#: The steps of the second differences of :func:`regimes` (relative perturbations of the joint) and
#: the second difference (nats) below which a part counts as flat, well above the solvers' round-off.
STEP, FLAT = 2.5e-3, 1e-8
#: Random directions of the perturbations per task.
DIRECTIONS = 6
#: Why a part is unreliable, by its regime.
REASONS = {
    "kink": "a kink at the truth (a minimum at a tie, or a part at its boundary)",
    "jump": "a jump at the truth (the measure is discontinuous there)",
}


def _perturbed(joint: tuple[Any, ...], step: float, rng: np.random.Generator) -> list[Any]:
    """The joint moved by ``+step`` and ``-step`` along one random direction that keeps it a joint
    distribution of the same support (tables) or a covariance (Gaussians)."""
    kind, base, *rest = joint
    g = rng.normal(size=base.shape)
    if kind == "table":
        out = [base * np.exp(sign * step * g) for sign in (1, -1)]
        return [("table", q / q.sum()) for q in out]
    sym = (g + g.T) / 2 * np.sqrt(np.outer(np.diag(base), np.diag(base)))
    return [("gaussian", base + sign * step * sym, *rest) for sign in (1, -1)]


def _atoms(joint: tuple[Any, ...], measure: str) -> np.ndarray:
    kind, base, *rest = joint
    parts = pid_distribution(base, measure) if kind == "table" else gaussian_pid(base, *rest, measure)  # type: ignore[arg-type]
    return np.array([float(v) for v in parts])


def regimes(joint: tuple[Any, ...], measure: str, seed: int = 0) -> list[str]:
    """Each part's regime at the exact joint: ``"smooth"``, ``"kink"`` or ``"jump"``, from the second
    difference ``D(h) = f(p + h d) + f(p - h d) - 2 f(p)`` along random directions d at ``h = STEP``
    and ``STEP / 4``: ``D`` falls 16-fold where f is smooth, 4-fold at a kink (``D ~ h``) and not at
    all at a jump; a part flat to ``FLAT`` in every direction is smooth."""
    rng = np.random.default_rng(seed)
    centre = _atoms(joint, measure)
    ratio = np.full(len(centre), np.inf)
    for _ in range(DIRECTIONS):
        state = rng.bit_generator.state
        d2 = []
        for step in (STEP, STEP / 4):
            rng.bit_generator.state = state  # the same direction at both steps
            plus, minus = (_atoms(q, measure) for q in _perturbed(joint, step, rng))
            d2.append(np.abs(plus + minus - 2 * centre))
        bent = d2[0] > FLAT
        ratio = np.where(bent, np.minimum(ratio, d2[0] / np.maximum(d2[1], 1e-300)), ratio)
    return ["smooth" if r >= 8 else "kink" if r >= 2 else "jump" for r in ratio]


def _measures(task: Any) -> tuple[str, ...]:
    return TABLE_MEASURES if task.labels else GAUSSIAN_MEASURES


def coverage_rows(ns: tuple[int, ...], seeds: int, n_resamples: int) -> list[dict[str, Any]]:
    """One row per (task, measure, N, part)."""
    tasks = [t for t in exact_tasks("pid") if t.name in TASKS]
    joints = {row.name: row.joint for row in PID_TABLE}
    rows = []
    for task in tasks:
        method = None if task.labels else "gaussian"
        regime = {m: regimes(joints[task.name], m) for m in _measures(task)}
        for n in ns:
            got: dict[str, list[Any]] = {m: [] for m in _measures(task)}
            start = time.process_time()
            for seed in range(seeds):
                data = task.sample(n, seed)
                for m in got:
                    got[m].append(
                        pid_interval(*data, redundancy=m, method=method, n_resamples=n_resamples, seed=seed)  # type: ignore[arg-type]
                    )
            spent = time.process_time() - start
            for m, draws in got.items():
                truth = task.options["atoms"][m]
                for j, part in enumerate(PARTS):
                    vals = [d[part] for d in draws]
                    hits = [v.low <= truth[j] <= v.high for v in vals]
                    rows.append(
                        {
                            "task": task.name,
                            "measure": m,
                            "n": n,
                            "part": part,
                            "truth": truth[j],
                            "regime": regime[m][j],
                            "seeds": seeds,
                            "coverage": float(np.mean(hits)),
                            "mean_estimate": float(np.mean([v.value for v in vals])),
                            "bias": float(np.mean([v.value for v in vals]) - truth[j]),
                            "mean_stderr": float(np.mean([v.stderr for v in vals])),
                            "median_width": float(statistics.median(v.high - v.low for v in vals)),
                            "cpu_s_all_measures": spent,
                        }
                    )
    return rows


def _cell(value: float, regime: str) -> str:
    lo, hi = GOAL
    if regime != "smooth":
        return f"*{value:.0%}*"
    return f"{value:.0%}" if lo <= value <= hi else f"**{value:.0%}**"


def render_coverage(record: dict[str, Any]) -> str:
    """coverage.md: the coverage table of record's rows, each cell judged by its regime."""
    cfg = record["config"]
    lo, hi = GOAL
    rows = record["rows"]
    smooth = [r for r in rows if r.get("regime", "smooth") == "smooth"]
    inside = sum(lo <= r["coverage"] <= hi for r in smooth)
    lines = [
        f"Coverage of `pid_interval` ({cfg['n_resamples']} half-samples, 95%) over {cfg['seeds']} seeds. "
        "Columns: redundancy / unique 1 / unique 2 / synergy. In italics where the part is not smooth "
        "at the truth, where a resampled interval is unreliable (" + "; ".join(REASONS.values()) + "); "
        f"in bold where smooth and outside {lo:.0%}-{hi:.0%}: {inside} of {len(smooth)} smooth cells are "
        "inside.",
        "",
        "| task | measure | " + " | ".join(f"N = {n}" for n in cfg["ns"]) + " |",
        "|---|---|" + "---|" * len(cfg["ns"]),
    ]
    keys = dict.fromkeys((r["task"], r["measure"]) for r in rows)
    for task, m in keys:
        cells = []
        for n in cfg["ns"]:
            parts = {r["part"]: r for r in rows if (r["task"], r["measure"], r["n"]) == (task, m, n)}
            cells.append(
                " / ".join(_cell(parts[p]["coverage"], parts[p].get("regime", "smooth")) for p in PARTS)
            )
        lines.append(f"| {task} | `{m}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
