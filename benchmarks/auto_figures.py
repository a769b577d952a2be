"""The figures the pages quote from the committed rows of ``auto.py`` (``results/auto/rows.jsonl``),
computed from those rows alone: the guide's page on ``method="auto"`` and the benchmarks page render
them with ``script("auto_figures", "figures")``, so that they cannot drift from the rows.

The time goal is the one the speed work set: auto within 4x of its chosen estimator alone wherever
that estimator takes more than 0.05 s of CPU, and under 0.1 s where it takes less.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import auto_rule

ROWS = Path(__file__).parent / "results" / "auto" / "rows.jsonl"
SLOW = 0.05  # seconds of the chosen estimator alone above which the goal is a ratio
RATIO_GOAL = 4.0
FAST_GOAL = 0.1  # seconds of auto where the estimator alone takes SLOW or less
FLOOR, SHARE = 0.03, 0.1  # the agreement check's tolerance: max(FLOOR, SHARE * |KSG|)


def rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in ROWS.read_text().splitlines() if line.strip()]


def _time_goal(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per chosen estimator: how many rows meet the goal, in each regime of the estimator's cost."""
    out: dict[str, Any] = {}
    for chosen in sorted({r["chosen"] for r in rows}):
        mine = [r for r in rows if r["chosen"] == chosen]
        slow = [r for r in mine if r["alone_seconds"] > SLOW]
        fast = [r for r in mine if r["alone_seconds"] <= SLOW]
        ratio = [r["auto_seconds"] / r["alone_seconds"] for r in slow]
        out[chosen] = {
            "slow": len(slow),
            "slow_met": sum(x <= RATIO_GOAL for x in ratio),
            "slow_median": statistics.median(ratio) if ratio else None,
            "slow_max": max(ratio) if ratio else None,
            "fast": len(fast),
            "fast_met": sum(r["auto_seconds"] < FAST_GOAL for r in fast),
            "fast_max": max((r["auto_seconds"] for r in fast), default=None),
            "fast_median": statistics.median(r["auto_seconds"] for r in fast) if fast else None,
        }
    return out


def _below(candidates: dict[str, float]) -> bool:
    """KSG below the Gaussian by more than the agreement check's tolerance."""
    return candidates["gaussian"] - candidates["ksg"] > max(FLOOR, SHARE * abs(candidates["ksg"]))


def figures(data: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Everything the pages quote, by name."""
    data = rows() if data is None else data
    reliable = [r for r in data if r["reliable"]]
    worst = max(reliable, key=lambda r: abs(r["error"]))
    off = [r for r in data if r["off_25"]]
    kept = [r for r in data if r["chosen"] == "gaussian" and r["candidates"]]
    below = [r for r in kept if _below(r["candidates"])]
    bmi_seed0 = [r for r in data if r["family"] == "benchmark-mi" and r["seed"] == 0 and r["n"] == 10_000]
    best = auto_rule.best_within()[0]
    return {
        "rows": len(data),
        "commits": sorted({r["commit"][:7] for r in data}),
        "off_25": len(off),
        "off_25_reliable": sum(r["reliable"] for r in off),
        "off_25_tasks": sorted({r["task"] for r in off}),
        "off_25_checks": sorted({c for r in off for c in r["failed"]}),
        "worst_reliable": {k: worst[k] for k in ("task", "dims", "error", "n", "seed", "chosen")},
        "off_10_reliable": sum(not r["within_10"] for r in reliable),
        "off_10_reliable_tasks": sorted({r["task"] for r in reliable if not r["within_10"]}),
        "gaussian_kept_with_ksg": len(kept),
        "ksg_below_gaussian": len(below),
        "bmi_seed0_within": sum(r["within_10"] for r in bmi_seed0),
        "bmi_seed0_tasks": len(bmi_seed0),
        "best_of_all_within": best["within"],
        "best_of_all_tasks": best["tasks"],
        "best_of_all_estimators": best["estimators"],
        "time": _time_goal(data),
    }


if __name__ == "__main__":
    print(json.dumps(figures(), indent=1))
