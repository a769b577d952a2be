"""The figures the benchmarks page quotes from the committed rows of ``bmi_suite.py``, computed from
``benchmarks/results/bmi_suite/`` alone (no estimation): the page renders them with
``script("bmi_suite_figures", "figures")``, so that they cannot drift from the rows.

The criteria are those of ``bmi_suite.py``: an estimate is within 10% of the truth when
``|estimate - truth| <= 0.1 * truth`` (the looser criterion: or within 0.1 nats); iblearn's estimate is
at least as close as benchmark-mi's when its absolute error is no larger; a task counts for iblearn
when its best neural estimator (each library's smallest error of an estimator's mean over the seeds
paired) is at least as close as benchmark-mi's best.
"""

from __future__ import annotations

import math
import statistics
from functools import cache
from pathlib import Path
from typing import Any

import bmi_suite

RESULTS = Path(__file__).parent / "results" / "bmi_suite"
NONPARAMETRIC = {"ksg", "gaussian", "binning", "cca"}
# The 1-d tasks that are strictly monotone maps of one bivariate normal (the same MI, and one task to
# an estimator that standardizes by ranks).
MONOTONE_MAPS = {
    "1v1-normal-0.75",
    "half_cube-1v1-normal-0.75",
    "normal_cdf-1v1-normal-0.75",
    "wiggly-1v1-normal-0.75",
}

Pair = tuple[dict[str, Any], dict[str, Any]]


RELATIVE, NATS = 0.1, 0.1  # within 10% of the truth; the looser criterion: or within 0.1 nats
NEAR_ZERO = 0.01  # an estimate this close to 0 is counted as a zero


def within(r: dict[str, Any], nats: float = 0.0) -> bool:
    return math.isfinite(r["estimate"]) and abs(r["estimate"] - r["truth"]) <= max(
        nats, RELATIVE * r["truth"]
    )


def error(r: dict[str, Any]) -> float:
    return abs(r["estimate"] - r["truth"])


def paired(pairs: list[Pair]) -> dict[str, Any]:
    """Closeness, wins, within counts and times of a list of (iblearn, benchmark-mi) pairs."""
    ours, theirs = [a for a, _ in pairs], [b for _, b in pairs]
    ratios = [b["seconds"] / a["seconds"] for a, b in pairs]
    best = bmi_suite._best_paired(pairs)
    flagged = [a for a in ours if a.get("reliable") is False]
    return {
        "pairs": len(pairs),
        "tasks": len(best),
        "closer": sum(error(a) <= error(b) for a, b in pairs),
        "won": int(sum(mine <= peer for mine, peer in best.values())),
        "within": sum(map(within, ours)),
        "within_01": sum(within(a, NATS) for a in ours),
        "peer_within": sum(map(within, theirs)),
        "peer_within_01": sum(within(b, NATS) for b in theirs),
        "faster": sum(r > 1 for r in ratios),
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "seconds": sum(a["seconds"] for a in ours),
        "peer_seconds": sum(b["seconds"] for b in theirs),
        "lowest": min(a["estimate"] for a in ours),
        "below": sum(a["estimate"] < -0.05 for a in ours),
        "peer_below": sum(b["estimate"] < -0.05 for b in theirs),
        "peer_near_zero": sum(abs(b["estimate"]) < NEAR_ZERO for b in theirs),
        "flagged": [
            {"estimator": a["estimator"], "task": a["task"], "estimate": a["estimate"], "truth": a["truth"]}
            for a in flagged
        ],
    }


def suite_seed_0() -> dict[str, Any]:
    """Per library, on seed 0 of the unpaired suite: the tasks on which its best estimator (and its
    best non-parametric one) is within 10% (or 0.1 nats) of the truth; iblearn's neural estimates."""
    out: dict[str, Any] = {}
    for lib in bmi_suite.LIBRARIES:
        rows = [r for r in bmi_suite.done_rows(RESULTS / f"rows-{lib}.jsonl") if r["seed"] == 0]
        tasks = {r["task"] for r in rows}

        def hits(
            kinds: set[str], nats: float, rows: list[dict[str, Any]] = rows, tasks: set[str] = tasks
        ) -> int:
            return sum(
                any(within(r, nats) for r in rows if r["task"] == t and r["estimator"] in kinds)
                for t in tasks
            )

        every = {r["estimator"] for r in rows}
        out[lib] = {
            "tasks": len(tasks),
            "best": hits(every, 0.0),
            "best_01": hits(every, NATS),
            "nonparametric": hits(NONPARAMETRIC, 0.0),
            "nonparametric_01": hits(NONPARAMETRIC, NATS),
            "neural_tasks": len({r["task"] for r in rows if r["estimator"] not in NONPARAMETRIC}),
        }
        neural = [r for r in rows if r["estimator"] not in NONPARAMETRIC]
        out[lib]["neural"] = {
            "estimates": len(neural),
            "lowest": min(r["estimate"] for r in neural),
            "below": sum(r["estimate"] < -0.05 for r in neural),
            "flagged": sum(r.get("reliable") is False for r in neural),
        }
    return out


def seed_0_details(pairs: list[Pair]) -> dict[str, Any]:
    """The close calls of seed 0's pairs that the page names: the 1-d maps of one bivariate normal, and
    the pairs where benchmark-mi is within 10% and iblearn is not."""
    one_d = [(a, b) for a, b in pairs if a["task"] in MONOTONE_MAPS]
    only_peer = [(a, b) for a, b in pairs if within(b) and not within(a)]
    tasks = {a["task"] for a, _ in only_peer}
    others = [(a, b) for a, b in pairs if a["task"] in tasks and (a, b) not in only_peer]
    return {
        "one_d_tasks": len({a["task"] for a, _ in one_d}),
        "one_d_truth": one_d[0][0]["truth"],
        "one_d_ours": [a["estimate"] for a, _ in one_d],
        "one_d_ours_above": [a["estimate"] - a["truth"] for a, _ in one_d],
        "one_d_peer_below": [b["truth"] - b["estimate"] for _, b in one_d],
        "only_peer": [
            {
                "task": a["task"],
                "estimator": a["estimator"],
                "ours": a["estimate"],
                "peer": b["estimate"],
                "truth": a["truth"],
            }
            for a, b in only_peer
        ],
        "only_peer_ours_others": [a["estimate"] for a, _ in others],
        "only_peer_ours_others_within": all(within(a) for a, _ in others),
        "only_peer_peer_nwj": [b["estimate"] for a, b in others if b["estimator"] == "nwj"],
    }


def half_held_out(default: list[Pair], half: list[Pair]) -> dict[str, Any]:
    """The default run (20% to report on) and the one with ``test=0.5`` against each other."""
    by_key = {(a["task"], a["estimator"]): a for a, _ in half}
    return {
        "default_closer": sum(error(a) < error(by_key[a["task"], a["estimator"]]) for a, _ in default),
        "half_closer": sum(error(by_key[a["task"], a["estimator"]]) < error(a) for a, _ in default),
    }


def lost_tasks(pairs: list[Pair]) -> dict[str, Any]:
    """The tasks lost on the 3-seed means: their count, the largest margin, whether both libraries'
    best estimates there are within 10% or 0.1 nats."""
    best = bmi_suite._best_paired(pairs)
    truth = {a["task"]: a["truth"] for a, _ in pairs}
    lost = {t: v for t, v in best.items() if v[0] > v[1]}
    return {
        "count": len(lost),
        "tasks": sorted(lost),
        "margin": float(max(mine - peer for mine, peer in lost.values())),
        "both_close": bool(all(max(v) <= max(NATS, RELATIVE * truth[t]) for t, v in lost.items())),
        "errors": {t: [float(e) for e in v] for t, v in lost.items()},
    }


def slower(pairs: list[Pair]) -> list[dict[str, Any]]:
    """The pairs where iblearn's fit took longer than benchmark-mi's, with iblearn's other fits of the
    same task and estimator."""
    out = []
    for a, b in pairs:
        if b["seconds"] < a["seconds"]:
            same = [
                x["seconds"]
                for x, _ in pairs
                if (x["task"], x["estimator"]) == (a["task"], a["estimator"]) and x is not a
            ]
            out.append(
                {
                    "task": a["task"],
                    "estimator": a["estimator"],
                    "seed": a["seed"],
                    "seconds": a["seconds"],
                    "peer_seconds": b["seconds"],
                    "others": same,
                }
            )
    return out


@cache
def figures() -> dict[str, Any]:
    """Everything the page quotes from the suite's committed rows."""
    every = bmi_suite.paired_rows(RESULTS / "paired")
    seed_0 = [p for p in every if p[0]["seed"] == 0]
    half = bmi_suite.paired_rows(RESULTS / "paired-test50")
    seeds = sorted({a["seed"] for a, _ in every})
    unpaired = {
        (r["task"], r["estimator"]): r["estimate"]
        for r in bmi_suite.done_rows(RESULTS / "rows-iblearn.jsonl")
        if r["seed"] == 0 and r["estimator"] not in NONPARAMETRIC
    }
    return {
        "criterion": {"relative": RELATIVE, "nats": NATS, "near_zero": NEAR_ZERO},
        "equal_to_unpaired": sum(
            unpaired.get((a["task"], a["estimator"])) == a["estimate"] for a, _ in seed_0
        ),
        "suite": suite_seed_0(),
        "seed_0": paired(seed_0),
        "seed_0_details": seed_0_details(seed_0),
        "half": paired(half),
        "half_against_default": half_held_out(seed_0, half),
        "all_seeds": paired(every),
        "per_seed": [paired([p for p in every if p[0]["seed"] == s]) for s in seeds],
        "seeds": seeds,
        "lost": lost_tasks(every),
        "slower": slower(every),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(figures(), indent=1, default=str))
