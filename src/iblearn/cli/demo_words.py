"""What each ``iblearn demo`` section's numbers say, written from the run's results.json.

Each function takes the results a reproduction wrote and returns the sentence the demo prints under its
table: which row won, by how much, over how many seeds. Numbers are rounded as the table prints them
before they are compared or subtracted, so the sentence and the table cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def _seeds(n: int) -> str:
    return f"{n} seed" if n == 1 else f"{n} seeds"


def within(bias: float, truth: float) -> bool:
    """The estimators table's green: a bias within 5% of the truth (of 1 nat below 1 nat)."""
    return abs(bias) <= 0.05 * max(1.0, truth)


def estimators_words(results: dict[str, Any]) -> str:
    """The estimators grid: how many rows are within 5% of the truth, and the largest bias."""
    rows = [s for s in results["summary"] if "mean" in s]
    if not rows:
        return "No estimator returned a finite estimate here."
    close = sum(within(s["bias"], s["truth"]) for s in rows)
    worst = max(rows, key=lambda s: abs(round(s["bias"], 4)))
    runs = max(int(s.get("runs", 1)) for s in rows)
    return (
        f"Here {close} of {len(rows)} rows are within 5% of the truth (mean of {_seeds(runs)}); the largest "
        f"bias is {round(worst['bias'], 4):+.4f} nats, {worst['method'].replace('iblearn ', '')} on "
        f"{worst['task']} (truth {worst['truth']:.4f})."
    )


def aamine_words(results: dict[str, Any]) -> str:
    """AA-MINE against MINE: which is higher at zero noise, and whether AA-MINE falls as noise grows."""
    by_var: dict[float, dict[str, float]] = {}
    for e in results["final"]:
        by_var.setdefault(float(e["noise_var"]), {})[e["critic"]] = round(float(e["estimate"]), 3)
    levels = sorted(v for v, d in by_var.items() if {"AA-MINE", "MINE"} <= set(d))
    if not levels:
        return "The run has no noise level with both critics' estimates."
    low, high = by_var[levels[0]], by_var[levels[-1]]
    aa, plain = low["AA-MINE"], low["MINE"]
    order = "above" if aa > plain else "below" if aa < plain else "level with"
    sentence = (
        f"Here AA-MINE ends {order} plain MINE at noise variance {levels[0]:g} ({aa:.3f} against "
        f"{plain:.3f} nats)"
    )
    if len(levels) > 1:
        trend = "falls" if high["AA-MINE"] < aa else "does not fall"
        sentence += (
            f"; at {levels[-1]:g} AA-MINE {trend} ({high['AA-MINE']:.3f} nats) and the two lie "
            f"{abs(high['AA-MINE'] - high['MINE']):.3f} nats apart"
        )
    return sentence + "."


def _binary(row: dict[str, Any]) -> str:
    """One proximal binary row as its table prints it: runs reaching 95%, when, what it did after (the
    iterations below 90% and the lowest accuracy once it had reached 95%), and final accuracy."""
    reached, seeds = int(row.get("reached_95", 0)), int(row["seeds"])
    acc = row.get("train_acc")
    final = "-" if acc is None else f"{acc[0]:.1f}%"
    if reached and row.get("iterations_to_95") is not None:
        when = f"reached 95% in {reached} of {seeds} at iteration {row['iterations_to_95'][0]:.0f}"
        drops, worst = row.get("drops_after_95"), row.get("worst_after_95")
        if drops is not None and round(drops[0]) > 0:
            when += f", then {drops[0]:.0f} iterations below 90%"
            if worst is not None:
                when += f" (worst {worst[0]:.1f}%)"
    else:
        when = f"reached 95% in 0 of {seeds}"
    return f"{when}, final accuracy {final}"


def _unstable(rows: Sequence[dict[str, Any]]) -> str:
    """The rows that fell below 90% after reaching 95%, the most iterations there first."""
    fell = [s for s in rows if s.get("drops_after_95") is not None and round(s["drops_after_95"][0]) > 0]
    if not fell:
        return "no row fell below 90% after reaching 95%"
    fell.sort(key=lambda s: -round(s["drops_after_95"][0]))
    names = ", ".join(f"{s['method']} ({s['drops_after_95'][0]:.0f} iterations)" for s in fell)
    return f"after reaching 95%, {names} fell below 90%"


def proximal_words(results: dict[str, Any]) -> str:
    """Fig. 3's binary task: each row's convergence, and which row reached 95% first."""
    rows = [s for s in results["summary"] if s.get("part") == "binary"]
    if not rows:
        return "The run has no row of the binary task."
    parts = [f"{s['method']} {_binary(s)}" for s in rows]
    reached = [s for s in rows if s.get("reached_95") and s.get("iterations_to_95") is not None]
    seeds = max(int(s["seeds"]) for s in rows)
    if reached:
        first = min(reached, key=lambda s: round(s["iterations_to_95"][0]))
        verdict = f"the first to 95% is {first['method']}"
        ours = next((s for s in rows if s["method"].startswith("ours gamma")), None)
        base = next((s for s in rows if s["method"].startswith("baseline")), None)
        if ours is not None and base is not None:
            verdict += f"; {ours['method']} is {_faster(ours, base)} {base['method']}, the paper's comparison"
        verdict += f"; {_unstable(rows)}"
    else:
        verdict = "no row reached 95%"
    return f"Here ({_seeds(seeds)}): {'; '.join(parts)}. So {verdict}."


def _faster(a: dict[str, Any], b: dict[str, Any]) -> str:
    """How row ``a`` converged against row ``b``, by iterations to 95% as the table prints them."""

    def when(s: dict[str, Any]) -> float | None:
        done = s.get("reached_95") and s.get("iterations_to_95") is not None
        return round(s["iterations_to_95"][0]) if done else None

    ta, tb = when(a), when(b)
    if ta is None:
        return "not faster than" if tb is not None else "no faster than"
    if tb is None or ta < tb:
        return "faster than"
    return "as fast as" if ta == tb else "slower than"


def mi_lr_words(results: dict[str, Any]) -> str:
    """MIDecayLR against Adam: best test accuracy, the gap, and the range the LR test found."""
    rows = {s["method"]: s for s in results["summary"] if " n=" not in s["method"]}
    ours, adam = rows.get("mi-global"), rows.get("adam")
    if ours is None or adam is None:
        return f"The run has rows for {', '.join(rows) or 'no method'}, not both MIDecayLR and Adam."
    a, b = round(ours["best_test_acc"], 2), round(adam["best_test_acc"], 2)
    gap = round(a - b, 2)
    side = f"{abs(gap):.2f} points {'below' if gap < 0 else 'above'}" if gap else "level with"
    sentence = (
        f"Here MIDecayLR ended {side} Adam ({a:.2f} against {b:.2f}, best test accuracy over "
        f"{_seeds(int(ours['seeds']))})"
    )
    ranges = list(results.get("ranges", {}).values())
    if ranges:
        sentence += f"; the range test found [{ranges[0]['lr_min']:g}, {ranges[0]['lr_max']:g}]"
    return sentence + "."


def _against(
    rows: Sequence[dict[str, Any]], base_name: str, base_label: str, label: Callable[[str], str]
) -> str:
    """Each row's test accuracy against the baseline row's, per task, as the table's 'vs' column prints
    it (the difference of the unrounded means)."""
    sentences = []
    for task in dict.fromkeys(s["task"] for s in rows):
        base = next((s for s in rows if s["task"] == task and s["method"] == base_name), None)
        if base is None:
            continue
        b = round(base["test_acc"][0], 2)
        others = [s for s in rows if s["task"] == task and s["method"] != base_name]
        gaps = [f"{label(s['method'])} {s['test_acc'][0] - base['test_acc'][0]:+.2f} points" for s in others]
        best = max([base, *others], key=lambda s: round(s["test_acc"][0], 2))
        sentences.append(
            f"on {task}, against {base_label} ({b:.2f}% test accuracy, {_seeds(int(base['seeds']))}): "
            f"{', '.join(gaps)}; the best is {label(best['method'])}"
        )
    return "Here, " + "; ".join(sentences) + "." if sentences else f"The run has no {base_label} row."


def mole_words(results: dict[str, Any]) -> str:
    """MOLE's modules against backpropagation of the same net."""
    return _against(results["summary"], "bp", "backpropagation", _mole)


def _mole(method: str) -> str:
    return "backpropagation" if method == "bp" else f"MOLE ({method})"


_LAYERWISE = {"ce": "cross-entropy", "iyl": "I(Y;L) layer by layer", "ib": "the IB objective layer by layer"}


def layerwise_words(results: dict[str, Any]) -> str:
    """The layer-wise objectives against cross-entropy end to end, then Fig. 3's first layer at each beta:
    dead (most images on one output) or not, with its active units and majority-label accuracy."""
    sentence = _against(results["summary"], "ce", "cross-entropy", lambda m: _LAYERWISE.get(m, m))
    figure = results.get("figure_3") or {}
    parts = []
    for beta, v in sorted(figure.items(), key=lambda kv: -float(kv[0])):
        if not {"distinct", "samples", "commonest", "active_units", "units", "majority_acc"} <= set(v):
            continue
        units = f"{v['active_units']} of {v['units']} units active"
        acc = f"majority-label accuracy {v['majority_acc']:.1f}%"
        if 2 * int(v["commonest"]) > int(v["samples"]):
            parts.append(
                f"at beta = {beta} the first layer is dead: {v['commonest']} of {v['samples']} test images "
                f"share one output, {units}, {acc}"
            )
        else:
            parts.append(
                f"at beta = {beta} it keeps {v['distinct']} distinct outputs of {v['samples']}, "
                f"{units}, {acc}"
            )
    if parts:
        sentence += " Fig. 3: " + "; ".join(parts) + "."
    return sentence


def ib_theory_words(results: dict[str, Any]) -> str:
    """Eq. (5) against KSG, and how far the planes' estimators disagree on the same layers."""
    parts = []
    linear = results.get("linear") or []
    if linear:
        gaps = [abs(round(r["KSG"], 3) - round(r["eq. (5)"], 3)) for r in linear]
        parts.append(f"eq. (5) and KSG differ by at most {max(gaps):.3f} nats over {len(linear)} scales of W")
    compression = [
        (round(s["compression"], 3), est, net)
        for net, per_est in (results.get("plane") or {}).items()
        for est, per_layer in per_est.items()
        if est != "eval_acc"
        for s in per_layer.values()
    ]
    if compression:
        low, high = min(compression), max(compression)
        parts.append(
            f"the planes' compression of I(X;T) runs from {low[0]:.3f} ({low[1]}, {low[2]}) to "
            f"{high[0]:.3f} nats ({high[1]}, {high[2]})"
        )
    return "Here " + "; ".join(parts) + "." if parts else "The run has no linear or plane results."
