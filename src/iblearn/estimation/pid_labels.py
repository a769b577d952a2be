"""The PID of labels for the front door: x1, x2 and the target all integer symbols.

Every redundancy measure of :func:`iblearn.functional.pid` is defined on a joint table:
``"min"``, ``"broja"``, ``"ccs"``, ``"dep"`` and ``"sx"`` take the plug-in table of the samples; the
minimum-MI redundancy (``"mmi"``, the default) is made of three MIs, each a difference of entropies
that a bias-corrected estimator takes (the one :mod:`iblearn.estimation.auto_discrete` chooses on the
counts of (x1, x2, target)). Each part's interval is the inference core's bias-aware one over halves of
the rows (:func:`iblearn.functional.pid_interval`): a plug-in part's trend from half the rows to all
of them is its bias. The checks: the joint sampled well enough for an interval to hold, and the
target shuffled against the sources on half the rows (every part about 0).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor

from iblearn import functional as ibf
from iblearn.estimation.auto_discrete import joint_cells, sampling_check
from iblearn.estimation.autocheck import FLOOR, SHARE, Check
from iblearn.estimation.choose import choose_labels
from iblearn.estimation.verdict import LABELS_ADVICE, checks_verdict
from iblearn.functional import Estimate, inference

__all__ = ["REDUNDANCIES", "pid_labels"]

#: The redundancy measures of labels.
REDUNDANCIES = ("mmi", "min", "broja", "ccs", "dep", "sx")
#: Halves of the rows behind each part's interval.
RESAMPLES = 20


def pid_labels(codes: list[Tensor], redundancy: str, seed: int) -> dict[str, Estimate]:
    """The PID's parts (redundancy, unique_1, unique_2, synergy, total) of the labels ``codes`` (x1, x2,
    target) by ``redundancy``, each with its interval, checks and report (module notes)."""
    cells = joint_cells(codes)
    if redundancy == "mmi":
        method, regime = choose_labels(cells)
        why = (
            f"x1, x2 and the target are labels: minimum-MI redundancy, each MI a difference of entropies by "
            f"{method}, chosen on the joint's counts: {regime}"
        )
    else:
        method = "plugin"
        why = (
            f"x1, x2 and the target are labels: the {redundancy} PID of the plug-in joint table (the measure "
            "is defined on a table), its bias read from half the rows to all of them"
        )
    parts = ibf.pid_interval(
        *codes,
        redundancy=redundancy,  # type: ignore[arg-type]
        method=method,
        n_resamples=RESAMPLES,
        scheme="half",
        seed=seed,
    )
    sampling = sampling_check(cells, "(x1, x2, target)")
    n = int(cells.sum())
    rows = torch.from_numpy(inference.rng(seed, inference.PERMUTATION, 0).permutation(n)[: n // 2])
    order = torch.from_numpy(inference.rng(seed, inference.PERMUTATION, 1).permutation(n // 2))
    a, b, t = (c.reshape(-1)[rows] for c in codes)
    null = ibf.pid(a, b, t[order], redundancy=redundancy, method=method)  # type: ignore[arg-type]
    nulls = {**dict(zip(("redundancy", "unique_1", "unique_2", "synergy"), map(float, null), strict=True))}
    nulls["total"] = float(null.total)
    out = {}
    for name, part in parts.items():
        tolerance = max(FLOOR, 1.5 / math.sqrt(n // 2), SHARE * abs(part.value)) + 2 * part.stderr
        checks = {
            "sampling": sampling,
            "independence": Check(
                "independence",
                abs(nulls[name]) <= tolerance,
                {"shuffled": nulls[name]},
                "the target shuffled against the sources (on half the rows) reads about 0",
                tolerance,
            ),
        }
        est = Estimate(
            torch.tensor(part.value, dtype=torch.float64),
            n,
            method,
            measure=name,
            stderr=part.stderr,
            stderr_method=f"half-sampling jackknife over {RESAMPLES} halves of the rows",
            interval=(part.low, part.high),
            confidence=inference.CONFIDENCE,
        )
        est = checks_verdict(est, checks, LABELS_ADVICE)
        feats = {"n": float(n), "joint symbols": float(len(cells))}
        out[name] = replace(
            est, report=replace(est.report, chosen=method, why=why, checks=checks, features=feats)
        )
    return out


def label_codes(*variables: tuple[str, Any]) -> list[Tensor] | None:
    """Each variable's class codes where every one of them is labels, else None."""
    codes = [ibf.class_codes(v, name) for name, v in variables]
    return None if any(c is None for c in codes) else [c for c in codes if c is not None]
