"""Entropy, MI and conditional MI of discrete variables by nine estimators, from symbols or counts, and
the binning that turns a continuous layer into symbols.

The estimators themselves work on the counts of counts (``_entropy_estimators``, ``_jvhw``, ``_nsb``).

The binning estimator of the information plane (Shwartz-Ziv & Tishby 2017) discretizes each unit of a
layer and treats every distinct row of bin indices as one symbol. Its bins are set from the data
(the layer's range, or its quantiles), never from a fixed interval such as [-1, 1], which fits tanh
but silently saturates ReLU layers (Saxe et al. 2018).
"""

from __future__ import annotations

import math
import typing
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn._settings import setting
from iblearn.functional.discrete import estimators as E
from iblearn.functional.discrete.estimators import Fingerprint, fingerprint
from iblearn.functional.discrete.jvhw import jvhw
from iblearn.functional.discrete.nsb import nsb, nsb_unknown
from iblearn.functional.discrete.pym import pym
from iblearn.functional.scale import power_of_two_scale

Correction = Literal["none", "miller-madow"]
Strategy = Literal["uniform", "quantile"]


#: The most classes a floating-point column may hold to be read as class labels (:func:`class_codes`).
MAX_CLASSES = 20


def class_codes(y: Any, name: str = "y") -> Tensor | None:
    """``y``'s classes as codes 0..C-1 (in sorted order of its distinct rows) where ``y`` reads as class
    labels, else None. Labels are bool or integer, or floats whose values are all integral with at most
    :data:`MAX_CLASSES` distinct rows and 2 rows or more a class on average (a float target of many
    integral levels, such as a count, is a quantity). Each row of ``(N, d)`` is one label.

    Example:
        >>> class_codes(torch.tensor([3.0, 1.0, 3.0, 1.0])).tolist()
        [1, 0, 1, 0]
        >>> class_codes(torch.tensor([0.5, 1.0, 0.5, 1.0])) is None
        True
    """
    t = V.as_tensor(y, name)
    if t.numel() == 0:
        raise ValueError(f"{name}: empty (shape {tuple(t.shape)}); class labels need a row at least")
    rows = t.reshape(len(t), -1)
    floats = t.is_floating_point()
    head = rows[:64]  # continuous values show a fraction in the first rows: no pass over all of them
    if floats and not (torch.equal(head, head.round()) and torch.equal(rows, rows.round())):
        return None
    if floats and not bool(torch.isfinite(rows).all()):
        return None
    codes = row_codes(rows)
    if floats and int(codes.max()) + 1 > min(MAX_CLASSES, len(rows) // 2):
        return None
    return codes


def row_codes(t: Tensor) -> Tensor:
    """One code per distinct row of an integer matrix ``(N, d)``, 0 to (distinct rows - 1): column by
    column, the codes so far times the next column's count plus its code, made dense again (a unique of
    integers per column: ``torch.unique(t, dim=0)`` sorts rows lexicographically, tens of times slower)."""
    codes = torch.zeros(len(t), dtype=torch.long, device=t.device)
    for column in t.T:
        _, inverse = torch.unique(column, return_inverse=True)
        _, codes = torch.unique(codes * (int(inverse.max()) + 1) + inverse, return_inverse=True)
    return codes


Method = Literal[
    "plugin", "miller_madow", "grassberger", "chao_shen", "zhang", "cwj", "shrinkage", "jvhw", "nsb", "pym"
]
METHODS: tuple[Method, ...] = typing.get_args(Method)
_ESTIMATORS: dict[str, Callable[[Fingerprint], float]] = {
    "plugin": E.plugin,
    "miller_madow": E.miller_madow,
    "grassberger": E.grassberger,
    "chao_shen": E.chao_shen,
    "zhang": E.zhang,
    "cwj": E.cwj,
    "shrinkage": E.shrinkage,
    "jvhw": jvhw,
}


def _method(method: str, correction: Correction | None) -> str:
    """``method``, or the one the older keyword ``correction`` names."""
    if correction is None:
        return V.choice(method, "method", METHODS)
    V.choice(correction, "correction", ("none", "miller-madow"))
    named = "plugin" if correction == "none" else "miller_madow"
    if method not in ("plugin", named):
        raise ValueError(f"correction: give method= alone (method={method!r}, correction={correction!r})")
    return named


def _log_base(base: float) -> float:
    if V.positive(base, "base") == 1:
        raise ValueError("base: a logarithm's base must not be 1")
    return math.log(base)


def _device(*given: Any) -> torch.device:
    """The device of the first tensor given (CPU for lists and arrays)."""
    return next((g.device for g in given if isinstance(g, Tensor)), torch.device("cpu"))


def counts_of(x: Any = None, counts: Any = None) -> np.ndarray:
    """The counts of the symbols of ``x`` (rows are outcomes), or ``counts`` checked: exactly one given."""
    if (x is None) == (counts is None):
        raise ValueError("x: give the symbols x or their counts=, not both and not neither")
    if x is not None:
        return torch.bincount(row_codes(V.symbols(x, "x"))).cpu().numpy().astype(np.int64)
    if isinstance(counts, Tensor):
        V.materialized(counts, "counts")
        c = counts.detach().cpu().resolve_conj().resolve_neg().numpy()
    else:
        try:
            c = np.asarray(counts)
        except (TypeError, ValueError) as err:
            raise ValueError(f"counts: cannot be read as an array of samples ({err})") from err
    # An integer vector is checked and kept as it is: a float64 copy of 10^6 counts and a comparison
    # with its rounding cost more than every estimator's work on the counts of counts.
    if c.dtype.kind in "iu":
        bad = bool(c.ndim != 1 or len(c) == 0 or (c.dtype.kind == "i" and int(c.min()) < 0) or not c.any())
    elif c.dtype.kind == "b":
        bad, c = bool(c.ndim != 1 or not c.any()), c.astype(np.int64)
    elif c.dtype.kind in "fO":
        c = _float_counts(c)
        bad = bool(c.ndim != 1 or len(c) == 0 or not np.isfinite(c).all() or (c < 0).any() or c.max() < 1)
    else:
        bad = True
    if bad:
        raise ValueError(
            f"counts: expected a 1-D vector of non-negative counts with at least one sample, got {counts}"
        )
    return _exact_or_float(c)


def _float_counts(c: np.ndarray) -> np.ndarray:
    """Float or object (Python integers past 2^64) counts as float64, whole numbers checked."""
    try:
        f = c.astype(np.float64)
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"counts: expected whole numbers within float64's range ({err})") from err
    finite = np.isfinite(f)
    if not np.array_equal(f[finite], np.round(f[finite])):
        raise ValueError("counts: expected whole numbers of samples per symbol")
    return f


#: Counts are kept as int64 while their total stays below this; above it they are float64, where
#: every estimator reaches its plug-in limit (an int64 total would wrap around).
EXACT_TOTAL = 2**53


def _exact_or_float(c: np.ndarray) -> np.ndarray:
    """int64 counts where their total is exact and cannot overflow, else float64 counts."""
    if c.dtype.kind in "iu" and int(c.max()) * len(c) < EXACT_TOTAL:
        return c.astype(np.int64, copy=False)  # the common case: no pass over the counts
    with np.errstate(over="ignore"):
        total = float(c.sum(dtype=np.float64))
    if not math.isfinite(total):
        raise ValueError("counts: their total exceeds float64's range; divide them by a common factor")
    return c.astype(np.int64) if total < EXACT_TOTAL else c.astype(np.float64)


def entropy_of_counts(c: np.ndarray, method: str, alphabet: int | None) -> tuple[float, float | None]:
    """H in nats of the counts ``c`` by ``method``, and NSB's or PYM's posterior sd (None for the others)."""
    f = fingerprint(c, alphabet)
    if alphabet is not None and f.observed > alphabet:
        raise ValueError(f"alphabet: {alphabet} symbols, but {f.observed} distinct symbols were seen")
    if method in ("nsb", "pym") and isinstance(f.n, float):
        return E.plugin(f), 0.0  # past 2^53 samples either posterior is a point at the plug-in
    if method == "nsb":
        return nsb(f, float(alphabet)) if alphabet is not None else nsb_unknown(f)
    if method == "pym":
        return pym(f)
    return _ESTIMATORS[method](f), None


def discrete_entropy(
    x: Any = None,
    *,
    counts: Any = None,
    method: Method = "plugin",
    alphabet: int | None = None,
    base: float = math.e,
    correction: Correction | None = None,
) -> Tensor:
    r"""Entropy H(X) of integer symbols ``x`` ``(N,)`` or ``(N, d)`` (each row one outcome), or of the
    ``counts`` of each symbol (zeros are symbols not seen), by ``method``:

    * ``"plugin"``: :math:`-\sum_i \hat p_i \log \hat p_i`, biased low by about (m - 1) / (2N).
    * ``"miller_madow"``: plug-in plus (m - 1) / (2N), m the symbols seen (Miller 1955).
    * ``"grassberger"``: :math:`\log N - \frac1N \sum_i n_i G(n_i)`, G_n = psi(n) + (-1)^n / 2
      (psi((n+1)/2) - psi(n/2)) (Grassberger 2003, eq. 35).
    * ``"chao_shen"``: the coverage-adjusted Horvitz-Thompson sum (Chao & Shen 2003): the frequencies
      scaled by the Good-Turing coverage 1 - f1/N, each term divided by the chance its symbol is seen.
    * ``"zhang"``: Zhang (2012), :math:`\sum_i \frac{n_i}{N}(\psi(N) - \psi(n_i))`.
    * ``"cwj"``: Chao, Wang & Jost (2013): Zhang's sum plus the unseen symbols' part from f1 and f2.
    * ``"shrinkage"``: James-Stein shrinkage toward 1/K (Hausser & Strimmer 2009).
    * ``"jvhw"``: the minimax polynomial estimator of Jiao, Venkat, Han & Weissman (2015).
    * ``"nsb"``: the posterior mean of Nemenman, Shafee & Bialek (2002) (:func:`nsb_entropy` gives
      its posterior sd too).
    * ``"pym"``: the posterior mean under the Pitman-Yor mixture prior of Archer, Park & Pillow (2014),
      for a countable alphabet with a heavy tail (:func:`pym_entropy` gives its posterior sd too).

    Args:
        x: integer symbols; or give ``counts`` instead.
        counts: a 1-D vector of non-negative counts, one per symbol.
        method: the estimator (above).
        alphabet: the number K of possible symbols, where known: NSB's prior and the shrinkage target
            use it; with None, NSB follows ndd's rule for an unknown K (a guessed K, or the asymptotic
            NSB of Nemenman 2011 when coincidences are under a tenth of N) and shrinkage uses the
            symbols seen; PYM reads no alphabet (its prior is over countable ones). The other
            estimators read only the counts seen (Chao-Shen, Chao-Wang-Jost and JVHW estimate the
            unseen mass from the singletons and doubletons).
        base: of the logarithm (2 for bits).
        correction: the older spelling of ``method``: ``"none"`` (plug-in) or ``"miller-madow"``.

    Example:
        >>> round(float(discrete_entropy(torch.tensor([0, 1, 2, 3]))), 4)  # log 4
        1.3863
        >>> round(float(discrete_entropy(counts=[3, 1], method="miller_madow")), 4)  # 0.5623 + 1/8
        0.6873
    """
    chosen = _method(method, correction)
    alphabet = setting("alphabet", alphabet)
    h, _ = entropy_of_counts(counts_of(x, counts), chosen, alphabet)
    return torch.tensor(h / _log_base(base), dtype=torch.float64, device=_device(x, counts))


def nsb_entropy(x: Any = None, *, counts: Any = None, alphabet: int | None = None) -> tuple[float, float]:
    """NSB's posterior mean and standard deviation of H in nats (Nemenman, Shafee & Bialek 2002), by
    the exact integral over the Dirichlet concentration (``_nsb``'s notes). With no coincidences and
    ``alphabet`` unknown the sd is infinite: the sample says nothing of H beyond log N.

    Example:
        >>> mean, sd = nsb_entropy(counts=[4, 12, 4, 5, 3, 1, 5, 1, 2, 2, 2, 2, 11, 3, 4, 12, 12, 1, 2],
        ...                        alphabet=100)
        >>> round(mean, 3), round(sd, 3)
        (2.806, 0.119)
    """
    alphabet = setting("alphabet", alphabet)
    mean, sd = entropy_of_counts(counts_of(x, counts), "nsb", alphabet)
    return mean, float(sd if sd is not None else 0.0)


def joint_codes(*variables: tuple[str, Any]) -> list[Tensor]:
    """Each variable's row codes, checked for one length and device."""
    tensors = [(name, V.symbols(v, name)) for name, v in variables]
    V.same_length(*tensors)
    V.same_device(*tensors)
    return [row_codes(t) for _, t in tensors]


def _pair(a: Tensor, b: Tensor) -> Tensor:
    return torch.unique(a * (int(b.max()) + 1) + b, return_inverse=True)[1]


def _h(codes: Tensor, method: str) -> float:
    return entropy_of_counts(torch.bincount(codes).cpu().numpy(), method, None)[0]


def discrete_mi(
    x: Any, y: Any, *, method: Method = "plugin", base: float = math.e, correction: Correction | None = None
) -> Tensor:
    """I(X; Y) = H(X) + H(Y) - H(X, Y) of integer symbols (rows are outcomes), each entropy by
    ``method`` (:func:`discrete_entropy`; NSB's terms are its posterior means, K unknown). The plug-in
    form is always within [0, min(H(X), H(Y))]; a bias-corrected one may fall below 0.

    Example:
        >>> x = torch.tensor([0, 0, 1, 1])
        >>> round(float(discrete_mi(x, x)), 4), round(float(discrete_mi(x, torch.tensor([0, 1, 0, 1]))), 4)
        (0.6931, 0.0)
    """
    chosen = _method(method, correction)
    cx, cy = joint_codes(("x", x), ("y", y))
    mi = _h(cx, chosen) + _h(cy, chosen) - _h(_pair(cx, cy), chosen)
    return torch.tensor(mi / _log_base(base), dtype=torch.float64, device=cx.device)


def discrete_cmi(x: Any, y: Any, z: Any, *, method: Method = "plugin", base: float = math.e) -> Tensor:
    """I(X; Y | Z) = H(X, Z) + H(Y, Z) - H(X, Y, Z) - H(Z) of integer symbols, each entropy by ``method``.

    Example:
        >>> x, z = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1]), torch.tensor([0, 0, 1, 1, 0, 0, 1, 1])
        >>> round(float(discrete_cmi(x, x, z)), 4)  # H(X | Z) = log 2
        0.6931
    """
    chosen = V.choice(method, "method", METHODS)
    cx, cy, cz = joint_codes(("x", x), ("y", y), ("z", z))
    xz, yz = _pair(cx, cz), _pair(cy, cz)
    cmi = _h(xz, chosen) + _h(yz, chosen) - _h(_pair(xz, cy), chosen) - _h(cz, chosen)
    return torch.tensor(cmi / _log_base(base), dtype=torch.float64, device=cx.device)


#: The most bins a column: far beyond any sample's count of distinct values, so a larger count is a
#: typo; beyond int64's range the bins' edges cannot even be laid out.
MAX_BINS = 10**6


def bin_count(value: Any, name: str = "n_bins") -> int:
    """A count of bins: a positive integer of at most :data:`MAX_BINS`, or a ValueError naming ``name``."""
    count = V.positive_int(value, name)
    if count > MAX_BINS:
        raise ValueError(f"{name}: at most {MAX_BINS:,} bins a column, got {count:,}")
    return count


def bin_values(
    x: Any,
    n_bins: int = 30,
    *,
    strategy: Strategy = "uniform",
    value_range: tuple[float, float] | None = None,
) -> Tensor:
    """Bin a continuous ``(N, d)`` sample into integer codes ``(N, d)``.

    Args:
        x: floating-point samples.
        n_bins: bins per unit (Shwartz-Ziv & Tishby used 30), at most :data:`MAX_BINS`.
        strategy: ``"uniform"``: equal-width bins over ``value_range`` (default: the sample's min to max
            over all units, so units of one layer share bins); ``"quantile"``: equal-mass bins per unit,
            from that unit's empirical quantiles (adaptive binning).
        value_range: ``(low, high)`` for ``"uniform"``; values outside go to the end bins.

    Example:
        >>> bin_values(torch.tensor([[0.0], [0.5], [1.0]]), n_bins=2).flatten().tolist()
        [0, 1, 1]
    """
    n_bins = bin_count(n_bins)
    V.choice(strategy, "strategy", ("uniform", "quantile"))
    t = V.continuous(x, "x").to(torch.float64)
    if strategy == "quantile":
        if value_range is not None:
            raise ValueError("value_range: only used with strategy='uniform'")
        # Each unit's quantiles, interpolated linearly between order statistics as torch.quantile does
        # (which refuses inputs of more than 2^24 values: 60,000 activations of 280 units).
        pos = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64, device=t.device)[1:-1] * (len(t) - 1)
        below = pos.floor().long()
        ordered = t.sort(dim=0).values
        inner = torch.lerp(ordered[below], ordered[(below + 1).clamp_max(len(t) - 1)], (pos - below)[:, None])
        return torch.searchsorted(inner.T.contiguous(), t.T.contiguous(), right=True).T
    if value_range is not None and (isinstance(value_range, str) or len(value_range) != 2):
        raise ValueError(f"value_range: expected (low, high), got {value_range!r}")
    lo, hi = (
        (float(t.min()), float(t.max()))
        if value_range is None
        else (V.real_number(value_range[0], "value_range"), V.real_number(value_range[1], "value_range"))
    )
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"value_range: must be finite, got {value_range}")
    if not hi > lo:
        if value_range is not None:
            raise ValueError(f"value_range: high must exceed low, got {value_range}")
        return torch.zeros_like(t, dtype=torch.long)  # a constant layer is one bin
    # Edges and values over an exact power of two: hi - lo overflows from 9e307 (every value in one bin).
    scale = float(power_of_two_scale(torch.tensor([lo, hi], dtype=torch.float64)))
    inner = torch.linspace(lo / scale, hi / scale, n_bins + 1, dtype=torch.float64, device=t.device)[1:-1]
    return torch.bucketize((t / scale).contiguous(), inner, right=True)
