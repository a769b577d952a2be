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
import torch

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


#: A truth inside an interval up to floating-point round-off (a part of a deterministic gate is
#: computed as 2e-16 where it is exactly 0, on every half-sample too), in nats.
ROUND_OFF = 1e-12


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
                    hits = [v.low - ROUND_OFF <= truth[j] <= v.high + ROUND_OFF for v in vals]
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


# ------------------------------------------------------------------- continuous PIDs through the door
#: Continuous systems whose PID is known, measured through the front door (``estimate("pid", ...,
#: redundancy=m)``, auto): two-bit gates on uniform cells (sources ``A_i + U_i``, target ``tau + U``,
#: every U uniform on [0, 1)), whose shared-exclusion redundancy has a closed form (Ehrlich et al.
#: 2024: the local limit ``log sum_i p(s_i, t) / (p(t) sum_i p(s_i))`` is a sum over the gate's table)
#: and whose informations are the gate's; and the Gaussian PID tasks, by the measures with closed-form
#: atoms (MMI, BROJA for a univariate target, I_dep) and, on unit-variance sources, I_sx (its local
#: limit averaged over :data:`SX_DRAWS` Monte Carlo draws).
DOOR_GATES = ("and", "xor", "rdn", "unq")
DOOR_GAUSSIAN = {
    "pid-gauss-sum": ("mmi", "broja", "dep", "sx"),
    "pid-gauss-correlated": ("mmi", "broja", "dep", "sx"),
    "pid-gauss-2d-sources": ("mmi", "broja", "dep"),
}
#: Monte Carlo draws of the Gaussian I_sx's local limit (its standard error is about 1e-3 nats).
SX_DRAWS = 400_000
DOOR_PARTS = (*PARTS, "total")


def gate_skeleton(name: str) -> np.ndarray:
    """``p[a1, a2, tau]`` of two uniform bits through the gate ``name`` (RDN: one bit copied to all)."""
    rule = {
        "and": lambda a, b: a & b,
        "xor": lambda a, b: a ^ b,
        "rdn": lambda a, b: a,
        "unq": lambda a, b: a,
    }
    p = np.zeros((2, 2, 2))
    for a in (0, 1):
        for b in (0, 1) if name != "rdn" else (a,):
            p[a, b, rule[name](a, b)] += 1.0
    return p / p.sum()


def _table_mi(p: np.ndarray) -> float:
    outer = p.sum(1, keepdims=True) * p.sum(0, keepdims=True)
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / outer[nz])))


def _sx_parts(red: float, one: float, two: float, joint: float) -> tuple[float, ...]:
    return (red, one - red, two - red, joint - one - two + red, joint)


def cells_sx_atoms(p: np.ndarray) -> tuple[float, ...]:
    """The shared-exclusion PID (and total) of the uniform cells of ``p[a1, a2, tau]``, nats."""
    p1t, p2t, pt = p.sum(1), p.sum(0), p.sum((0, 1))
    p1, p2 = p.sum((1, 2)), p.sum((0, 2))
    a, b, t = np.nonzero(p)
    local = np.log((p1t[a, t] + p2t[b, t]) / (pt[t] * (p1[a] + p2[b])))
    joint = _table_mi(p.reshape(4, 2))
    return _sx_parts(float(np.sum(p[a, b, t] * local)), _table_mi(p1t), _table_mi(p2t), joint)


def gaussian_sx_atoms(cov: np.ndarray) -> tuple[float, ...]:
    """The shared-exclusion PID (and total) of two unit-variance scalar sources and a scalar target of
    correlation ``cov`` (standardized first), the redundancy by Monte Carlo."""
    from scipy.stats import multivariate_normal, norm

    sd = np.sqrt(np.diag(cov))
    c = cov / np.outer(sd, sd)
    z = np.random.default_rng(1).multivariate_normal(np.zeros(3), c, size=SX_DRAWS)
    p1t, p2t = (multivariate_normal(cov=c[np.ix_([i, 2], [i, 2])]).pdf(z[:, [i, 2]]) for i in (0, 1))
    p1, p2, pt = (norm.pdf(z[:, i]) for i in range(3))
    red = float(np.mean(np.log((p1t + p2t) / (pt * (p1 + p2)))))

    def mi(rows: list[int]) -> float:
        sub = c[np.ix_([*rows, 2], [*rows, 2])]
        return 0.5 * float(np.log(np.linalg.det(sub[:-1, :-1]) / np.linalg.det(sub)))

    return _sx_parts(red, mi([0]), mi([1]), mi([0, 1]))


def door_systems() -> list[tuple[str, str, Any, tuple[float, ...]]]:
    """(system, redundancy, sampler(n, seed) -> (x1, x2, target), exact parts and total)."""
    out: list[tuple[str, str, Any, tuple[float, ...]]] = []
    for gate in DOOR_GATES:
        p = gate_skeleton(gate)

        def cells(n: int, seed: int, p: np.ndarray = p) -> tuple[np.ndarray, ...]:
            rng = np.random.default_rng(seed)
            codes = np.unravel_index(rng.choice(p.size, size=n, p=p.ravel()), p.shape)
            return tuple((c + rng.random(n))[:, None] for c in codes)

        out.append((f"cells-{gate}", "sx", cells, cells_sx_atoms(p)))
    tasks = {t.name: t for t in exact_tasks("pid")}
    joints = {row.name: row.joint for row in PID_TABLE}
    for name, measures in DOOR_GAUSSIAN.items():
        task = tasks[name]
        for m in measures:
            atoms = (
                gaussian_sx_atoms(joints[name][1]) if m == "sx" else (*task.options["atoms"][m], task.truth)
            )
            out.append((name, m, task.sample, tuple(float(v) for v in atoms)))
    return out


def door_rows(ns: tuple[int, ...], seeds: int) -> list[dict[str, Any]]:
    """One row per (system, redundancy, N, part): the coverage of the door's intervals over all seeds
    and over the reliable ones, the median width against the spread of the estimates over seeds
    (``width_over_oracle``: median width over 2 x 1.96 x their standard deviation), and what auto
    chose."""
    import warnings

    from iblearn import estimate

    rows = []
    for system, m, sample, truth in door_systems():
        for n in ns:
            start = time.process_time()
            draws = []
            for seed in range(seeds):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    draws.append(estimate("pid", *sample(n, seed), redundancy=m, seed=seed))
            spent = time.process_time() - start
            for j, part in enumerate(DOOR_PARTS):
                ests = [d[part] for d in draws]
                values = np.array([float(e) for e in ests])
                hits = np.array(
                    [e.interval[0] - ROUND_OFF <= truth[j] <= e.interval[1] + ROUND_OFF for e in ests]
                )
                kept = np.array([e.reliable is True for e in ests])
                widths = [e.interval[1] - e.interval[0] for e in ests]
                sd = float(values.std(ddof=1))
                rows.append(
                    {
                        "system": system,
                        "measure": m,
                        "n": n,
                        "part": part,
                        "truth": truth[j],
                        "seeds": seeds,
                        "chosen": sorted({e.report.chosen for e in ests}),
                        "coverage": float(hits.mean()),
                        "reliable": int(kept.sum()),
                        "coverage_reliable": float(hits[kept].mean()) if kept.any() else None,
                        "mean_estimate": float(values.mean()),
                        "bias": float(values.mean() - truth[j]),
                        "sd_over_seeds": sd,
                        "median_width": float(statistics.median(widths)),
                        "width_over_oracle": float(statistics.median(widths)) / (2 * 1.96 * sd)
                        if sd
                        else None,
                        "cpu_s_all_parts": spent,
                    }
                )
    return rows


def render_door(record: dict[str, Any]) -> str:
    """door.md: per system, redundancy and part, each N's coverage where reliable (reliable seeds),
    over all seeds, and the median width over the oracle's (2 x 1.96 x the sd over seeds)."""
    cfg = record["config"]
    lines = [
        f"The front door's PID of continuous samples (`estimate('pid', ..., redundancy=m)`, auto) over "
        f"{cfg['seeds']} seeds: per N, coverage of the reliable intervals (reliable seeds) / over all seeds "
        "/ median width over 2 x 1.96 x the sd of the estimates over seeds.",
        "",
        "| system | measure | part | truth | " + " | ".join(f"N = {n}" for n in cfg["ns"]) + " |",
        "|---|---|---|---|" + "---|" * len(cfg["ns"]),
    ]
    keys = dict.fromkeys((r["system"], r["measure"], r["part"]) for r in record["rows"])
    for system, m, part in keys:
        cells, truth = [], None
        for n in cfg["ns"]:
            (r,) = [
                r
                for r in record["rows"]
                if (r["system"], r["measure"], r["part"], r["n"]) == (system, m, part, n)
            ]
            truth = r["truth"]
            rel = "-" if r["coverage_reliable"] is None else f"{r['coverage_reliable']:.0%}"
            ratio = "-" if r["width_over_oracle"] is None else f"{r['width_over_oracle']:.2f}"
            cells.append(f"{rel} ({r['reliable']}) / {r['coverage']:.0%} / {ratio}")
        lines.append(f"| {system} | `{m}` | {part} | {truth:.3f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def coverage_record(config: dict[str, Any], rows: list[dict[str, Any]], start: float) -> dict[str, Any]:
    """A coverage run's record: its ``config``, its provenance (commit, date, machine, versions, the
    process CPU seconds since ``start``) and its ``rows``."""
    from benchmarks.runners.script import machine_provenance
    from iblearn.records import environment

    env = environment()
    return {
        "config": config,
        "provenance": {
            **machine_provenance(),
            "versions": {"iblearn": env["iblearn"], "python": env["python"]},
            "cpu_s": time.process_time() - start,
        },
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.pid_coverage [--seeds 30] [--ns 1000 5000] [--out DIR | --write-results]``:
    the door's rows (:func:`door_rows`) to door.json and door.md."""
    import sys

    from benchmarks.runners.script import RESULTS, parser, positive_int
    from iblearn.records import atomic_write_text, write_json

    p = parser(__doc__)
    p.add_argument("--seeds", type=positive_int, default=30)
    p.add_argument("--ns", type=positive_int, nargs="+", default=[1000, 5000])
    p.add_output(RESULTS / "pid", "--out")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    start = time.process_time()
    rows = door_rows(tuple(args.ns), args.seeds)
    config = {"ns": args.ns, "seeds": args.seeds, "confidence": 0.95, "front_door": "auto"}
    record = coverage_record(config, rows, start)
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "door.json", record)
    atomic_write_text(args.out / "door.md", render_door(record))
    print(args.out / "door.md", file=sys.stderr)


if __name__ == "__main__":
    main()
