"""The summary, table and figure of ``iblearn reproduce aamine-noise`` (Elad et al. 2019, Fig. 1): the
paper's two claims checked on the run's rows."""

from __future__ import annotations

import itertools
import math
from typing import Any

from iblearn import _plotting
from iblearn.experiments.aamine_noise.config import MIN_STEPS_FOR_GROWTH_CLAIM, Config
from iblearn.records import RunFolder, markdown_table


def summarize(rows: list[dict[str, str]], config: Config) -> dict[str, Any]:
    final = {
        (float(r["noise_var"]), r["critic"]): float(r["estimate"])
        for r in rows
        if int(r["round"]) == config.rounds
    }
    trace = {
        kind: [float(r["estimate"]) for r in rows if float(r["noise_var"]) == 0 and r["critic"] == kind]
        for kind in ("AA-MINE", "MINE")
    }
    half = config.rounds // 2
    growth = {k: (v[-1] - v[half - 1]) if len(v) == config.rounds else math.nan for k, v in trace.items()}
    aa = [final[(v, "AA-MINE")] for v in config.noise_vars if (v, "AA-MINE") in final]
    # Early in training both estimates climb fast; whether one levels off shows only after a few
    # thousand steps (in the --quick run, at 3,000).
    long_enough = config.rounds * config.steps >= MIN_STEPS_FOR_GROWTH_CLAIM
    return {
        "final": [{"noise_var": v, "critic": k, "estimate": e} for (v, k), e in final.items()],
        "zero_noise_trace": trace,
        "zero_noise_growth_second_half": growth,
        "claim_aa_above_mine_at_zero_noise": final.get((0.0, "AA-MINE"), math.nan)
        > final.get((0.0, "MINE"), math.inf),
        "claim_aa_keeps_growing_at_zero_noise": (growth["AA-MINE"] > 2 * max(growth["MINE"], 0.0))
        if long_enough
        else None,
        "claim_aa_falls_with_noise": all(a >= b for a, b in itertools.pairwise(aa)),
    }


def table(results: dict[str, Any]) -> str:
    by_var: dict[float, dict[str, float]] = {}
    for e in results["final"]:
        by_var.setdefault(e["noise_var"], {})[e["critic"]] = e["estimate"]
    rows = [
        [f"{v:g}", f"{d.get('AA-MINE', math.nan):.3f}", f"{d.get('MINE', math.nan):.3f}"]
        for v, d in sorted(by_var.items())
    ]
    g = results["zero_noise_growth_second_half"]
    growing = results["claim_aa_keeps_growing_at_zero_noise"]
    claims = markdown_table(
        ["Elad et al. 2019, Fig. 1", "here"],
        [
            [
                "At zero noise (infinite MI) AA-MINE estimates more than plain MINE",
                str(results["claim_aa_above_mine_at_zero_noise"]),
            ],
            [
                "... and keeps growing with training while plain MINE levels off",
                ("not checked: too few steps" if growing is None else str(growing))
                + f" (second-half growth: AA-MINE {g['AA-MINE']:+.2f}, MINE {g['MINE']:+.2f} nats)",
            ],
            ["AA-MINE's estimate falls as the noise grows", str(results["claim_aa_falls_with_noise"])],
        ],
    )
    return (
        "## I(X; L + eps) of a random 3-layer MLP (nats, after training)\n\n"
        + markdown_table(["noise variance", "AA-MINE", "plain MINE"], rows)
        + "\n"
        + claims
    )


def plot(run: RunFolder, config: Config) -> Any:
    """Estimate against noise variance, and against training steps at zero noise (the figure, or None
    without matplotlib)."""
    if not _plotting.available():
        return None
    rows = run.metrics()
    fig, ((left, right),) = _plotting.figure(1, 2, figsize=(10, 4))
    # Zero on a log axis: a decade below the smallest positive variance (below 1 where there is none).
    zero = min((x for x in config.noise_vars if x > 0), default=1.0) / 10
    for kind, marker in (("AA-MINE", "o"), ("MINE", "s")):
        pts = sorted(
            (float(r["noise_var"]), float(r["estimate"]))
            for r in rows
            if r["critic"] == kind and int(r["round"]) == config.rounds
        )
        xs = [max(v, zero) for v, _ in pts]
        left.plot(xs, [e for _, e in pts], marker=marker, label=kind)
        steps = [
            (int(r["step"]), float(r["estimate"]))
            for r in rows
            if r["critic"] == kind and float(r["noise_var"]) == 0
        ]
        right.plot([s for s, _ in steps], [e for _, e in steps], marker=marker, label=kind)
    left.set_xscale("log")
    left.set_xlabel("noise variance (leftmost point: 0)")
    left.set_ylabel("estimated I(X; L + eps), nats")
    left.legend()
    right.set_xlabel("training steps")
    _plotting.integer_ticks(right)
    right.set_title("zero noise: the true MI is infinite")
    right.legend()
    return _plotting.finish(fig, run.file("aamine_noise.png"))
