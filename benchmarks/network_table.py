"""The side-by-side table of ``benchmarks/network.py`` and its goals, from the rows of a
``summary.json`` (the committed one by default): imports nothing heavier than the standard library,
so the documentation builds it from the data.

- a cell of the table: one library on one size (nodes, samples), the mean precision and recall over
  the seeds measured and the median CPU seconds of the whole network (a subset of targets' time scaled
  to all targets, where ``targets_measured`` is below ``nodes``);
- against IDTxl, per size where both ran: iblearn's KSG (the same estimator, k, surrogates, alpha and
  lags) on the same seeds and targets, precision and recall at least IDTxl's, and IDTxl's CPU time over
  iblearn's (the goal: 10x);
- the 100-process network at T = 1,000: iblearn's KSG CPU seconds a target at the largest sizes
  measured, carried to 100 processes by the power law through the two largest (the time measured
  there, where 100 processes ran), times 100 targets.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

SUMMARY = Path(__file__).resolve().parent / "results" / "network" / "summary.json"
#: The speed goal against IDTxl, and the size whose CPU time is predicted.
SPEED_GOAL = 10.0
PREDICT_NODES = 100


def committed() -> dict[str, Any]:
    """The committed ``summary.json``."""
    return json.loads(SUMMARY.read_text(encoding="utf-8"))


def cells(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per (samples, nodes, library), in that order: seeds, mean precision and recall, the
    median of ``seconds``, the targets measured and the commits the rows ran at."""
    groups: dict[tuple[int, int, str], list[dict[str, Any]]] = {}
    for r in summary["rows"]:
        groups.setdefault((r["samples"], r["nodes"], r["library"]), []).append(r)
    out = []
    for (samples, nodes, library), found in sorted(groups.items()):
        out.append(
            {
                "library": library,
                "nodes": nodes,
                "samples": samples,
                "seeds": sorted(r["seed"] for r in found),
                "precision": statistics.fmean(r["precision"] for r in found),
                "recall": statistics.fmean(r["recall"] for r in found),
                "seconds": statistics.median(r["seconds"] for r in found),
                "targets_measured": min(r["targets_measured"] for r in found),
                "commits": sorted({str(r.get("commit") or "")[:7] for r in found}),
            }
        )
    return out


def against_idtxl(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Per size where both ran: iblearn's KSG and IDTxl on their common seeds, with the ratio of IDTxl's
    CPU seconds to iblearn's (medians over those seeds) and whether each goal is met."""
    by = {(r["library"], r["nodes"], r["samples"], r["seed"]): r for r in summary["rows"]}
    sizes = sorted({(n, s) for lib, n, s, _ in by if lib == "idtxl"})
    out = []
    for nodes, samples in sizes:
        seeds = [
            seed
            for lib, n, s, seed in sorted(by)
            if (lib, n, s) == ("idtxl", nodes, samples) and ("iblearn-ksg", nodes, samples, seed) in by
        ]
        if not seeds:
            continue
        ours = [by["iblearn-ksg", nodes, samples, seed] for seed in seeds]
        theirs = [by["idtxl", nodes, samples, seed] for seed in seeds]
        p = [
            statistics.fmean(r[key] for r in rows)
            for rows in (ours, theirs)
            for key in ("precision", "recall")
        ]
        seconds = [statistics.median(r["seconds"] for r in rows) for rows in (ours, theirs)]
        ratio = seconds[1] / seconds[0]
        # Both libraries' seconds are their measured targets' time scaled to all targets alike.
        per_target = [x / nodes for x in seconds]
        out.append(
            {
                "nodes": nodes,
                "samples": samples,
                "seeds": seeds,
                "targets_measured": min(r["targets_measured"] for r in ours + theirs),
                "precision": p[0],
                "recall": p[1],
                "idtxl_precision": p[2],
                "idtxl_recall": p[3],
                "accuracy_met": p[0] >= p[2] and p[1] >= p[3],
                "seconds": seconds[0],
                "idtxl_seconds": seconds[1],
                "target_seconds": per_target[0],
                "idtxl_target_seconds": per_target[1],
                "speed_ratio": ratio,
                "speed_met": ratio >= SPEED_GOAL,
            }
        )
    return out


def prediction(summary: dict[str, Any], samples: int = 1000) -> dict[str, Any] | None:
    """iblearn's KSG CPU time for :data:`PREDICT_NODES` processes at ``samples``: the median seconds a
    target at each size measured, the exponent of the power law through the two largest sizes, and the
    whole network's seconds (None with fewer than two sizes); ``measured`` where that size itself ran,
    its seconds a target then being the measured ones."""
    per_target = {
        c["nodes"]: c["seconds"] / c["nodes"]
        for c in cells(summary)
        if c["library"] == "iblearn-ksg" and c["samples"] == samples
    }
    if len(per_target) < 2:
        return None
    small, large = sorted(per_target)[-2:]
    exponent = math.log(per_target[large] / per_target[small]) / math.log(large / small)
    target = per_target[large] * (PREDICT_NODES / large) ** exponent
    return {
        "samples": samples,
        "per_target": {str(n): s for n, s in sorted(per_target.items())},
        "from_nodes": [small, large],
        "measured": PREDICT_NODES in per_target,
        "exponent": exponent,
        "target_seconds": target,
        "network_seconds": PREDICT_NODES * target,
    }


def summarize(summary: dict[str, Any]) -> dict[str, Any]:
    """Everything the benchmarks page prints: the cells, the comparison with IDTxl, the prediction and
    the cells left out, and the sizes iblearn's KSG ran at without IDTxl."""
    compared = {(g["nodes"], g["samples"]) for g in against_idtxl(summary)}
    ksg = [c for c in cells(summary) if c["library"] == "iblearn-ksg"]
    return {
        "cells": cells(summary),
        "idtxl": against_idtxl(summary),
        "without_idtxl": [
            [c["nodes"], c["samples"]] for c in ksg if (c["nodes"], c["samples"]) not in compared
        ],
        "prediction": prediction(summary),
        "left_out": summary.get("left_out", []),
    }


def markdown(summary: dict[str, Any]) -> str:
    """``table.md``: one line per cell."""
    lines = [
        "| library | nodes | samples | seeds | precision | recall | CPU s a target | CPU s (all targets) "
        "| targets measured |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells(summary):
        lines.append(
            f"| {c['library']} | {c['nodes']} | {c['samples']:,} | {len(c['seeds'])} | "
            f"{c['precision']:.3f} | {c['recall']:.3f} | {c['seconds'] / c['nodes']:,.1f} | "
            f"{c['seconds']:,.1f} | {c['targets_measured']} |"
        )
    for x in summary.get("left_out", []):
        lines.append(
            f"| {x['library']} | {x['nodes']} | {x['samples']:,} | - | - | - | - | {x['reason']} | - |"
        )
    return "\n".join(lines) + "\n"
