"""The evidence behind ``method="auto"``'s rule (:mod:`iblearn.estimation.auto`): from the committed
benchmark rows (benchmark-mi's 40 tasks, ``results/bmi_suite/rows-iblearn.jsonl``, and the 19
high-dimensional tasks, ``results/high_dim_mi/results.json``; N = 10,000, up to 3 seeds), the mean
absolute relative error of each estimator in each data regime, and which was smallest::

    python benchmarks/auto_rule.py            # the table, markdown, and the ceiling below

It also prints the ceiling that any choice among these estimators has on benchmark-mi's 40 tasks: on
how many of each seed's tasks the best committed estimate (iblearn's and benchmark-mi's estimators,
the best picked by looking at the truth) is within 10% of the truth.

A regime is what ``auto`` can see without the truth: the joint dimension (1 x 1, 3 to 10, or more) and
the kind of dependence, named from the task: ``gaussian`` (a Gaussian, or each column of one through
a monotone map: the normal CDF, the half-cube, a bimodal marginal; its copula is Gaussian),
``heavy-tailed`` (Student-t, also after asinh: its copula is not Gaussian) and ``other`` (a spiral,
a wiggly or swiss-roll map, additive uniform noise: not Gaussian in any monotone coordinates).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
GAUSSIAN_COPULA = (
    "multinormal",
    "normal_cdf-multinormal",
    "half_cube-",
    "1v1-normal",
    "normal_cdf-1v1",
    "1v1-bimodal",
    "high-mi",
)


def kind(task: str) -> str:
    """The regime's kind of dependence, from a task's name."""
    if "student" in task:
        return "heavy-tailed"
    if task.startswith(GAUSSIAN_COPULA):
        return "gaussian"
    return "other"


def rows() -> list[dict[str, object]]:
    """(task, dims, estimator, seed, truth, estimate) of every committed row with a finite estimate."""
    out: list[dict[str, object]] = []
    for line in (RESULTS / "bmi_suite" / "rows-iblearn.jsonl").read_text().splitlines():
        r = json.loads(line)
        dims = _dims(r["task"])
        out.append(
            {
                "task": r["task"],
                "dims": dims,
                "estimator": r["estimator"],
                "seed": r["seed"],
                "truth": r["truth"],
                "estimate": r["estimate"],
                "source": "bmi_suite",
            }
        )
    for r in json.loads((RESULTS / "high_dim_mi" / "results.json").read_text())["rows"]:
        out.append(
            {
                "task": r["task"],
                "dims": r["dims"],
                "estimator": r["method"],
                "seed": r["seed"],
                "truth": r["truth"],
                "estimate": r["estimate"],
                "source": "high_dim_mi",
            }
        )
    return [r for r in out if isinstance(r["estimate"], float) and math.isfinite(r["estimate"])]


def _dims(task: str) -> int:
    """dx + dy of a benchmark-mi task, from its name (``...-5-5-...``, ``1v1``, ``swissroll_x``: 2 + 1)."""
    if "swissroll" in task:
        return 3
    if "1v1" in task:
        return 2
    numbers = [int(p) for p in task.split("-") if p.isdigit()]
    return numbers[0] + numbers[1]


def regimes(data: list[dict[str, object]]) -> dict[str, dict[str, list[float]]]:
    """regime -> estimator -> the relative errors (estimate - truth) / truth of its rows."""
    table: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in data:
        dims = int(r["dims"])  # type: ignore[call-overload]
        size = "1 x 1" if dims == 2 else "3 - 10 dims" if dims <= 10 else "> 10 dims"
        regime = f"{kind(str(r['task']))}, {size}"
        truth = float(r["truth"])  # type: ignore[arg-type]
        table[regime][str(r["estimator"])].append((float(r["estimate"]) - truth) / truth)  # type: ignore[arg-type]
    return table


def summary(table: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    """regime -> estimator -> its mean absolute relative error, and ``ksg_signed``: KSG's mean signed one."""
    out = {}
    for regime, by in table.items():
        out[regime] = {e: sum(map(abs, v)) / len(v) for e, v in by.items()}
        if by.get("ksg"):
            out[regime]["ksg_signed"] = sum(by["ksg"]) / len(by["ksg"])
    return out


def report(table: dict[str, dict[str, list[float]]]) -> str:
    lines = [
        "| regime | rows an estimator | best (mean abs. rel. error) "
        "| every estimator's mean abs. rel. error | KSG's mean signed rel. error |",
        "|---|---|---|---|---|",
    ]
    for regime in sorted(table):
        errors = {e: sum(map(abs, v)) / len(v) for e, v in table[regime].items()}
        ksg = table[regime].get("ksg", [])
        best = min(errors, key=errors.__getitem__)
        n = max(len(v) for v in table[regime].values())
        cells = ", ".join(f"{e} {100 * m:.0f}%" for e, m in sorted(errors.items(), key=lambda kv: kv[1]))
        signed = f"{100 * sum(ksg) / len(ksg):+.0f}%" if ksg else "-"
        lines.append(f"| {regime} | {n} | {best} {100 * errors[best]:.1f}% | {cells} | {signed} |")
    return "\n".join(lines)


def best_within() -> dict[int, dict[str, Any]]:
    """Per seed of benchmark-mi's tasks: the estimators run (``estimators``, their count), the tasks
    (``tasks``) and on how many the best estimate, picked by the truth, is within 10% (``within``)."""
    best: dict[tuple[str, int], float] = {}
    names: dict[int, set[str]] = defaultdict(set)
    for name in ("rows-iblearn.jsonl", "rows-bmi.jsonl"):
        for line in (RESULTS / "bmi_suite" / name).read_text().splitlines():
            r = json.loads(line)
            if not isinstance(r["estimate"], float) or not math.isfinite(r["estimate"]):
                continue
            error = abs(r["estimate"] - r["truth"]) / r["truth"]
            key = (r["task"], r["seed"])
            best[key] = min(best.get(key, math.inf), error)
            names[r["seed"]].add(f"{r['library']} {r['estimator']}")
    out = {}
    for seed in sorted(names):
        errors = [e for (_, s), e in best.items() if s == seed]
        out[seed] = {
            "within": sum(e <= 0.1 for e in errors),
            "tasks": len(errors),
            "estimators": len(names[seed]),
            "names": sorted(names[seed]),
        }
    return out


def ceiling() -> str:
    """:func:`best_within`, one line a seed."""
    return "\n".join(
        f"- seed {seed}: within 10% on {b['within']} of {b['tasks']} tasks, the best of "
        f"{b['estimators']} estimators ({', '.join(b['names'])}) by the truth"
        for seed, b in best_within().items()
    )


def main() -> None:
    print(report(regimes(rows())))
    print("\nThe ceiling on benchmark-mi's 40 tasks (N = 10,000):\n")
    print(ceiling())


if __name__ == "__main__":
    main()
