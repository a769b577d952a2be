"""Discrete tasks: any measure of a pmf over integer outcomes, exact by sums over it, and the gates of
dit's distributions (XOR, AND, copies, ...) they are drawn from."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np

from iblearn.data.tasks.base import Array, Task, arrays_of, options_of, pointwise_of, truth_of


def discrete_entropy(outcomes: Array, probs: Array, cols: tuple[int, ...]) -> float:
    """H(X_S) in nats of a pmf given as distinct ``outcomes (K, d)`` with ``probs (K,)``."""
    _, inverse = np.unique(outcomes[:, list(cols)], axis=0, return_inverse=True)
    p = np.bincount(inverse.ravel(), weights=probs)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def discrete_logpmf(v: Array, outcomes: Array, probs: Array, cols: tuple[int, ...]) -> Array:
    """log p(x_S) of each row of ``v (N, d)`` (integer outcomes) under the pmf."""
    sub = outcomes[:, list(cols)]
    keys, inverse = np.unique(sub, axis=0, return_inverse=True)
    p = np.bincount(inverse.ravel(), weights=probs)
    lookup = {tuple(k): math.log(q) for k, q in zip(keys.tolist(), p.tolist(), strict=True) if q > 0}
    return np.array([lookup[tuple(row)] for row in v[:, list(cols)].tolist()])


def discrete_task(
    name: str, measure: str, outcomes: Array, probs: Array, groups: Sequence[Sequence[int]], description: str
) -> Task:
    """A pmf over integer ``outcomes (K, d)`` with ``probs (K,)``; the truth by sums over it,
    ``H(X_S) = -sum p log p`` in nats. The arrays are int64 labels (one ``(N, d)`` array for TC, DTC, O
    and S, a ``(N,)`` per variable otherwise).

    Example:
        >>> xor = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]])
        >>> t = discrete_task("xor", "o", xor, np.ones(4), [[0], [1], [2]], "XOR")
        >>> round(t.truth / float(np.log(2)), 6)  # -1 bit: synergy
        -1.0
    """
    outcomes = np.asarray(outcomes, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64) / np.sum(probs)
    truth = truth_of(measure, groups, lambda cols: discrete_entropy(outcomes, probs, cols))
    arrays = arrays_of(measure, groups)

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        v = outcomes[rng.choice(len(probs), size=n, p=probs)]
        return tuple(v[:, cols] if len(arrays) == 1 else v[:, cols[0]] for cols in arrays)

    def logpdf(v: Array, cols: tuple[int, ...]) -> Array:
        return discrete_logpmf(v.astype(np.int64), outcomes, probs, cols)

    pointwise = pointwise_of(measure, groups, logpdf, lambda v: v)
    dims = tuple(len(cols) if len(arrays) == 1 else 1 for cols in arrays)
    labels = tuple(range(len(arrays)))
    return Task(
        name, measure, truth, description, sampler, dims, labels, options_of(measure, groups), pointwise
    )


def gate(f: Callable[[Array], Array], n_bits: int) -> tuple[Array, Array]:
    """Outcomes ``f(bits)`` of ``n_bits`` uniform bits, each with probability 2^-n_bits."""
    bits = np.array(list(itertools.product((0, 1), repeat=n_bits)), dtype=np.int64)
    return f(bits), np.full(len(bits), 1.0 / len(bits))


#: dit's distributions, ``name: (outcomes of the bits, number of bits, what it is)``, and the
#: many-variable systems (parity, copies).
GATES: dict[str, tuple[Callable[[Array], Array], int, str]] = {
    "xor": (lambda b: np.c_[b[:, 0], b[:, 1], b[:, 0] ^ b[:, 1]], 2, "Y = X1 xor X2"),
    "and": (lambda b: np.c_[b[:, 0], b[:, 1], b[:, 0] & b[:, 1]], 2, "Y = X1 and X2"),
    "or": (lambda b: np.c_[b[:, 0], b[:, 1], b[:, 0] | b[:, 1]], 2, "Y = X1 or X2"),
    "copy": (lambda b: np.c_[b[:, 0], b[:, 1], 2 * b[:, 0] + b[:, 1]], 2, "Y = (X1, X2), four symbols"),
    "rdn": (lambda b: np.c_[b[:, 0], b[:, 0], b[:, 0]], 1, "X1 = X2 = Y, one bit"),
    "unq": (lambda b: np.c_[b[:, 0], b[:, 1], b[:, 0]], 2, "Y = X1, X2 independent"),
    "sum": (lambda b: np.c_[b[:, 0], b[:, 1], b[:, 0] + b[:, 1]], 2, "Y = X1 + X2 in {0, 1, 2}"),
    "rdnxor": (
        lambda b: np.c_[2 * b[:, 0] + b[:, 1], 2 * b[:, 0] + b[:, 2], 2 * b[:, 0] + (b[:, 1] ^ b[:, 2])],
        3,
        "X1 = (r, a), X2 = (r, b), Y = (r, a xor b): one bit redundant, one synergistic",
    ),
    "parity-5": (lambda b: np.c_[b, b.sum(1) % 2], 4, "4 uniform bits and their parity"),
    "copies-5": (lambda b: np.repeat(b, 5, axis=1), 1, "5 copies of one bit"),
}
