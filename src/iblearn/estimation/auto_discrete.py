"""``method="auto"`` where every variable is labels: I(X; Y) = H(X) + H(Y) - H(X, Y) and
I(X; Y | Z) = H(X, Z) + H(Y, Z) - H(X, Y, Z) - H(Z), each entropy by one discrete estimator that
:func:`~iblearn.estimation.choose.choose_discrete_method` chooses from the counts of the finest joint (the
most undersampled of the terms), with the bootstrap's interval (the joint cells drawn again from their
multinomial, as :func:`~iblearn.functional.discrete_mi_estimate` draws them). Where that rule takes
NSB with the number of symbols unknown, the measure takes Chao-Wang-Jost's correction instead (Chao,
Wang & Jost 2013): NSB guesses the number of symbols anew for each entropy, and in their difference
the guesses do not cancel, so its MI reads low on noisy channels where Chao-Wang-Jost's does not.

No estimator's interval holds where the joint is far undersampled: with few rows a joint symbol and
many joint symbols seen once, every entropy estimator's bias in H(X, Y) is larger than its spread over
resamples, so there the estimate is marked unreliable, with the joint's counts in the caveat.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch
from torch import Tensor

from iblearn.estimation.autocheck import FLOOR, Check
from iblearn.estimation.choose import HEAVY_TAIL, choose_labels
from iblearn.functional import inference
from iblearn.functional.discrete.entropies import entropy_of_counts, nsb_entropy
from iblearn.functional.discrete.inference import NSB_RESAMPLES, RESAMPLES, discrete_entropy_estimate
from iblearn.functional.discrete.pym import pym_entropy
from iblearn.functional.inference import Estimate

#: Rows a joint symbol seen, on average, under which the joint is too undersampled for any interval
#: to hold its bias.
JOINT_RATIO = 4.0
#: The share of rows on joint symbols seen once (the unseen mass by Good-Turing) beyond which the joint
#: is too undersampled for any interval to hold its bias.
JOINT_UNSEEN = 0.1

#: The share of the rows on symbols seen once (the unseen mass by Good-Turing, 1 - coverage) beyond
#: which an entropy is not identified by the sample: the symbols not seen hold that much of the mass,
#: and only a prior says what they are (NSB with K guessed covered the truth in 1 of 5 Dirichlet draws
#: over 1,000 symbols at N = 1,000, f1 / N = 0.25; in 5 of 5 at f1 / N = 0.08).
ENTROPY_UNSEEN = 0.2
#: The unseen mass f1 / N under which a PYM estimate is read from the sample: beyond it, its prior, not
#: the sample, decides how far the tail goes (on the power-law benchmark, Zipf 1.0 - 1.5, 10^3 - 10^5
#: symbols, N 200 - 5,000, ``benchmarks/results/pym_powerlaw``, PYM's interval covers the truth in
#: under nine draws in ten beyond it).
PYM_UNSEEN = 0.05
#: How far the doubletons f2 may exceed a Pitman-Yor tail's: with discount d, f1 / m tends to d and
#: f2 / f1 to (1 - d) / 2, so a sample drawn from one has f2 near f1 (m - f1) / (2 m). A law over
#: finitely many symbols that the sample starts to exhaust has more doubletons than that, and PYM's
#: tail runs on past its last symbol (on the power-law benchmark, Zipf over 10^3 symbols at N = 5,000
#: read 1 to 1.5 posterior sds high, with f2 about 1.3 times the tail's).
PYM_DOUBLETONS = 1.3
#: How far apart, in their combined posterior sds, NSB's (K guessed) and PYM's means may lie for NSB to
#: be read from the sample: where they differ more, the Dirichlet prior and the Pitman-Yor prior read
#: the tail differently and the tail's shape, not the sample, decides the entropy. On the power-law
#: benchmark (``benchmarks/results/pym_powerlaw``), NSB's interval covered the truth in 65% of the
#: draws where it was chosen and passed the other checks, and all but 10 of those 272 lay beyond this;
#: on Dirichlet draws over 100 to 10^6 symbols (concentration 0.01 to 10, N 100 to 10^5) where it was
#: chosen and passed, they lay at most 0.25 sds apart.
NSB_PYM_SDS = 0.3

#: The entropy terms of each measure: (sign, the variables whose joint it is).
TERMS = {
    "mi": ((1, (0,)), (1, (1,)), (-1, (0, 1))),
    "cmi": ((1, (0, 2)), (1, (1, 2)), (-1, (0, 1, 2)), (-1, (2,))),
}


def _cells(codes: list[Tensor], measure: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """The joint cells' counts and, for each of the measure's terms, each cell's symbol in that term's
    joint."""
    stacked = torch.stack([c.reshape(-1).long().cpu() for c in codes], dim=1)
    cells, counts = torch.unique(stacked, dim=0, return_counts=True)
    return counts.numpy().astype(np.int64), [
        torch.unique(cells[:, list(vs)], dim=0, return_inverse=True)[1].numpy() for _, vs in TERMS[measure]
    ]


def _value(cells: np.ndarray, index: list[np.ndarray], measure: str, method: str) -> float:
    """The measure of the cell counts ``cells``: the signed sum of its terms' entropies."""
    total = 0.0
    for (sign, _), symbols in zip(TERMS[measure], index, strict=True):
        counts = np.bincount(symbols, weights=cells).astype(np.int64)
        total += sign * entropy_of_counts(counts[counts > 0], method, None)[0]
    return total


def sampling_check(cells: np.ndarray, joint: str) -> Check:
    """Whether the joint ``joint`` whose cells hold ``cells`` rows is sampled well enough for an interval
    to hold the estimators' bias: :data:`JOINT_RATIO` rows a joint symbol, :data:`JOINT_UNSEEN`."""
    n, m, once = int(cells.sum()), len(cells), int((cells == 1).sum())
    return Check(
        "sampling",
        n >= JOINT_RATIO * m and once <= JOINT_UNSEEN * n,
        {"rows a joint symbol": n / m, "share of rows on joint symbols seen once": once / n},
        f"the joint {joint} is seen often enough for the bias to stay inside the interval: at least "
        f"{JOINT_RATIO:g} rows a joint symbol and at most {JOINT_UNSEEN:.0%} of the rows on symbols seen "
        "once",
    )


def entropy_checks(
    counts: np.ndarray,
    chosen: str = "nsb",
    alphabet: int | None = None,
    posteriors: dict[str, tuple[float, float]] | None = None,
) -> dict[str, Check]:
    """The checks an entropy of labels with symbol counts ``counts`` needs to be read from the sample
    by the ``chosen`` estimator: some symbol repeats (with none, the entropy is not identified: at
    least about log N); the unseen mass f1 / N (Good-Turing) at most :data:`ENTROPY_UNSEEN`
    (:data:`PYM_UNSEEN` for PYM, whose prior extends a power law past the symbols seen); and, for the
    others, singletons over the symbols seen, f1 / m, at most :data:`HEAVY_TAIL` (a power-law tail,
    which NSB's Dirichlet prior cannot describe), and for PYM, whose Pitman-Yor prior is built for such
    a tail, the doubletons f2 at most :data:`PYM_DOUBLETONS` times that tail's (a law over finitely
    many symbols that the sample starts to exhaust); and for NSB with the number of symbols
    ``alphabet`` unknown, that PYM reads about the same (:func:`priors_check`, given ``posteriors``
    where they are known)."""
    c = np.asarray(counts)
    c = c[c > 0]
    n, m, once = int(c.sum()), len(c), int((c == 1).sum())
    unseen = PYM_UNSEEN if chosen == "pym" else ENTROPY_UNSEEN
    tail_expects = (
        f"at most {HEAVY_TAIL:.0%} of the symbols seen are seen once; beyond, a heavy tail: NSB's prior "
        "cannot describe these counts"
    )
    if chosen == "pym":
        twice = int((c == 2).sum())
        tail = Check(
            "tail",
            twice <= PYM_DOUBLETONS * once * (m - once) / (2 * m),
            {"doubletons over a Pitman-Yor tail's": twice / max(once * (m - once) / (2 * m), 1e-300)},
            f"the symbols seen twice at most {PYM_DOUBLETONS:g} times a Pitman-Yor tail's, f1 (m - f1) / 2m; "
            "beyond, the law runs out of symbols the prior's tail goes on finding",
        )
    else:
        tail = Check("tail", once <= HEAVY_TAIL * m, {"share of symbols seen once": once / m}, tail_expects)
    checks = {
        "coincidences": Check(
            "coincidences",
            n > m,
            {"symbols seen": float(m), "rows": float(n)},
            "some symbol repeats; where none does, the entropy is not identified (at least about log N)",
        ),
        "unseen mass": Check(
            "unseen mass",
            once <= unseen * n,
            {"share of rows on symbols seen once": once / n},
            f"at most {unseen:.0%} of the mass is on symbols not seen (Good-Turing: singletons over "
            "N); beyond, a prior decides the entropy, not the sample",
        ),
        "tail": tail,
    }
    if chosen == "nsb" and alphabet is None and n > m:
        checks["priors"] = priors_check(c, posteriors)
    return checks


def priors_check(counts: np.ndarray, posteriors: dict[str, tuple[float, float]] | None = None) -> Check:
    """Whether NSB's (K guessed) and PYM's posterior means of the entropy of the symbol ``counts`` lie
    within :data:`NSB_PYM_SDS` of their combined posterior sds: where they do not, the Dirichlet prior
    does not describe the tail the counts show. ``posteriors``: each one's (mean, sd) where already
    computed, by the estimator's name."""
    known = posteriors or {}
    nsb, nsb_sd = known["nsb"] if "nsb" in known else nsb_entropy(counts=counts)
    pym, pym_sd = known["pym"] if "pym" in known else pym_entropy(counts)
    apart = abs(pym - nsb) / math.hypot(nsb_sd, pym_sd)
    return Check(
        "priors",
        apart <= NSB_PYM_SDS,
        {"NSB and PYM apart, in sds": apart, "NSB": nsb, "PYM": pym},
        f"NSB's and PYM's posterior means within {NSB_PYM_SDS:g} of their combined sds; beyond, NSB's "
        "Dirichlet prior and PYM's Pitman-Yor prior read the tail differently: the tail's shape decides "
        "the entropy, not the sample",
    )


def class_check(codes: Tensor, k: int) -> Check:
    """Whether every class of the labels ``codes`` has ``2 (k + 1)`` rows: a class seen fewer times has
    too few neighbours within it for the mixed KSG to read what it carries (a class seen once: no
    neighbour at all, and the estimate reads 0 however much it carries)."""
    counts = torch.bincount(codes.reshape(-1))
    least = int(counts[counts > 0].min())
    need = 2 * (k + 1)
    return Check(
        "classes",
        least >= need,
        {"fewest rows of a class": float(least)},
        f"every class has at least {need} rows, k + 1 neighbours within it in each half; a rarer class's "
        "information is not read (integers are read as class labels; pass counts as floats to read them "
        "as numbers)",
    )


def entropy_ceiling(codes: Tensor, seed: int) -> float:
    """The top of the 95% interval of the entropy of the labels ``codes`` (Miller-Madow, the bootstrap's
    interval over the class counts, seeded by ``seed``): what an interval of an MI with these labels is
    clipped to. No MI exceeds H(Y), but the sample's H(Y) is itself an estimate: where the classes are
    nearly separated the MI lies just under it, and a clip at the sample's value cuts the truth off
    whenever the class shares read the entropy low (225 of 500 rows in one of two equally likely
    classes read 0.689, against log 2 = 0.693)."""
    counts = torch.bincount(codes.reshape(-1).long().cpu()).numpy()
    est = discrete_entropy_estimate(counts=counts[counts > 0], method="miller_madow", seed=seed)
    return math.inf if est.interval is None else est.interval[1]


def joint_cells(codes: list[Tensor]) -> np.ndarray:
    """The counts of the joint symbols of ``codes`` (one code a row each)."""
    stacked = torch.stack([c.reshape(-1).long().cpu() for c in codes], dim=1)
    return torch.unique(stacked, dim=0, return_counts=True)[1].numpy().astype(np.int64)


def labels_estimate(codes: list[Tensor], measure: str, seed: int) -> Estimate:
    """I(X; Y) (``codes`` of x, y) or I(X; Y | Z) (x, y, z) of labels, by the estimator chosen on the
    finest joint's counts, with the bootstrap's interval at 95%, the report (``chosen``, ``why``,
    ``features``) and the checks: the joint sampled well enough for an interval to hold (``sampling``),
    and y shuffled against x (and z) reading about 0 (``independence``). Reliability is the caller's.
    """
    cells, index = _cells(codes, measure)
    n, m = int(cells.sum()), len(cells)
    once = int((cells == 1).sum())
    method, regime = choose_labels(cells)
    value = _value(cells, index, measure, method)
    count = NSB_RESAMPLES if method == "nsb" else RESAMPLES
    p = cells / n
    draws = [
        _value(inference.rng(seed, inference.RESAMPLE, i).multinomial(n, p), index, measure, method)
        for i in range(count)
    ]
    sd = float(np.std(draws, ddof=1))
    (low, high), _ = inference.interval(value, sd, n_resamples=count, confidence=inference.CONFIDENCE)
    joint = "(x, y, z)" if measure == "cmi" else "(x, y)"
    checks = {
        "sampling": sampling_check(cells, joint),
        "independence": _shuffled(codes, measure, method, seed, sd),
    }
    terms = "H(X) + H(Y) - H(X, Y)" if measure == "mi" else "H(X, Z) + H(Y, Z) - H(X, Y, Z) - H(Z)"
    why = (
        f"{'x, y and z' if measure == 'cmi' else 'x and y'} are labels: {terms}, each entropy by {method}, "
        f"chosen on the joint's counts: {regime}"
    )
    est = Estimate(
        torch.tensor(value, dtype=torch.float64),
        n,
        method,
        measure=measure,
        stderr=sd,
        stderr_method=f"bootstrap over {count} resamples of the joint cells",
        interval=inference.clipped(low, high, 0.0),
        confidence=inference.CONFIDENCE,
    )
    feats = {"n": float(n), "joint symbols": float(m), "joint symbols seen once": float(once)}
    report = replace(est.report, chosen=method, why=why, checks=checks, features=feats)
    return replace(est, report=report)


def _shuffled(codes: list[Tensor], measure: str, method: str, seed: int, sd: float) -> Check:
    """The measure with y's rows shuffled (against x, and z): about 0."""
    order = torch.from_numpy(inference.rng(seed, inference.PERMUTATION, 0).permutation(len(codes[1])))
    shuffled = [codes[0], codes[1].reshape(-1)[order], *codes[2:]]
    if measure == "cmi":  # within each z, y shuffled apart from x keeps I(Y; Z)
        shuffled[1] = _within(codes[1].reshape(-1), codes[2].reshape(-1), order)
    cells, index = _cells(shuffled, measure)
    null = _value(cells, index, measure, method)
    tolerance = max(FLOOR, 1.5 / math.sqrt(int(cells.sum()))) + 2 * sd
    return Check(
        "independence",
        abs(null) <= tolerance,
        {"shuffled": null},
        "y shuffled against x"
        + (" within each z" if measure == "cmi" else "")
        + ", which then share nothing, "
        "reads about 0",
        tolerance,
    )


def _within(y: Tensor, z: Tensor, order: Tensor) -> Tensor:
    """``y`` permuted within each value of ``z`` (in the random ``order``): Y | Z kept, X | Z cut."""
    out = y.clone()
    ranked = z[order]
    for value in torch.unique(z):
        rows = order[ranked == value]
        out[torch.sort(rows).values] = y[rows]
    return out
