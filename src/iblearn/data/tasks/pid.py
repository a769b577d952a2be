"""PID tasks: two sources and a target whose partial information decomposition is known exactly, by
every redundancy measure the system allows.

A task's ``measure`` is ``"pid"``, its ``truth`` ``I(X1, X2; T)`` in nats, its arrays ``(x1, x2,
target)``, and ``options["atoms"]`` maps each redundancy measure to the exact ``(redundancy, unique_1,
unique_2, synergy)`` in nats:

- discrete systems (dit's gates, and noisy ones): int64 labels; the atoms of every measure of
  :func:`~iblearn.functional.pid_distribution` on the table ``p[x1, x2, t]``.
- Gaussian systems with a univariate target: float64; ``"mmi"`` and ``"broja"`` (equal, Barrett
  2015) and ``"dep"`` (Kay & Ince 2018) in closed form from the covariance
  (:func:`~iblearn.functional.gaussian_pid`).
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

import numpy as np

from iblearn.data.tasks.base import Array, Task
from iblearn.data.tasks.gaussian import pid_cov, random_correlation
from iblearn.functional.multivariate.pid_discrete import REDUNDANCIES, pid_distribution
from iblearn.functional.multivariate.pid_gaussian import gaussian_pid


class PIDRow(NamedTuple):
    """One PID task: ``joint`` is ``("table", p[x1, x2, t])`` or ``("gaussian", cov, dims)``."""

    name: str
    joint: tuple[Any, ...]
    description: str


def _gate(rule: Any, flip: float = 0.0) -> Array:
    """``p[x1, x2, t]`` of two uniform bits and ``t = rule(x1, x2)``, the target's bit flipped with
    probability ``flip`` (a binary target)."""
    outs = {(a, b): rule(a, b) for a in (0, 1) for b in (0, 1)}
    p = np.zeros((2, 2, max(outs.values()) + 1))
    for (a, b), t in outs.items():
        p[a, b, t] += 0.25 * (1 - flip)
        if flip:
            p[a, b, 1 - t] += 0.25 * flip
    return p


def _rdnxor() -> Array:
    p = np.zeros((4, 4, 4))
    for r in (0, 1):
        for a in (0, 1):
            for b in (0, 1):
                p[2 * r + a, 2 * r + b, 2 * r + (a ^ b)] = 0.125
    return p


#: The systems, in order.
PID_TABLE: tuple[PIDRow, ...] = (
    PIDRow("pid-xor", ("table", _gate(lambda a, b: a ^ b)), "T = X1 xor X2: synergy"),
    PIDRow("pid-and", ("table", _gate(lambda a, b: a & b)), "T = X1 and X2"),
    PIDRow("pid-noisy-and", ("table", _gate(lambda a, b: a & b, 0.1)), "T = X1 and X2, flipped w.p. 0.1"),
    PIDRow("pid-noisy-xor", ("table", _gate(lambda a, b: a ^ b, 0.1)), "T = X1 xor X2, flipped w.p. 0.1"),
    PIDRow("pid-unq", ("table", _gate(lambda a, b: a)), "T = X1, X2 independent: unique to X1"),
    PIDRow("pid-copy", ("table", _gate(lambda a, b: 2 * a + b)), "T = (X1, X2), four symbols"),
    PIDRow("pid-rdnxor", ("table", _rdnxor()), "X1 = (r, a), X2 = (r, b), T = (r, a xor b)"),
    PIDRow(
        "pid-gauss-sum", ("gaussian", pid_cov(0.0, 1.0, 1.0, 0.5), (1, 1, 1)),
        "x1, x2 independent N(0, 1), t = x1 + x2 + 0.5 e",
    ),
    PIDRow(
        "pid-gauss-correlated", ("gaussian", pid_cov(0.5, 1.0, 0.5, 0.5), (1, 1, 1)),
        "x1, x2 at correlation 0.5, t = x1 + 0.5 x2 + 0.5 e",
    ),
    PIDRow(
        "pid-gauss-2d-sources", ("gaussian", random_correlation(5, "pid-gauss-2d-sources", 1.5), (2, 2, 1)),
        "two 2-dimensional sources and a target of a fixed random correlation",
    ),
)  # fmt: skip


def _atoms(parts: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in parts)


def _table_task(row: PIDRow, p: Array) -> Task:
    atoms = {m: _atoms(pid_distribution(p, m)) for m in REDUNDANCIES}
    flat = p.ravel()
    cells = np.argwhere(p > -1)

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        v = cells[rng.choice(len(flat), size=n, p=flat)].astype(np.int64)
        return v[:, 0], v[:, 1], v[:, 2]

    total = sum(atoms["mmi"])
    return Task(row.name, "pid", total, row.description, sampler, (1, 1, 1), (0, 1, 2), {"atoms": atoms})


def _gaussian_task(row: PIDRow, cov: Array, dims: tuple[int, int, int]) -> Task:
    mmi = _atoms(gaussian_pid(cov, dims, "mmi"))
    atoms = {"mmi": mmi, "broja": mmi, "dep": _atoms(gaussian_pid(cov, dims, "dep"))}
    edges = np.cumsum([0, *dims])

    def sampler(n: int, rng: np.random.Generator) -> tuple[Array, ...]:
        v = rng.multivariate_normal(np.zeros(len(cov)), cov, size=n)
        return tuple(v[:, a:b] for a, b in itertools.pairwise(edges))

    description = f"{row.description}; MMI = BROJA (Barrett 2015) and I_dep from the covariance"
    return Task(row.name, "pid", sum(mmi), description, sampler, dims, (), {"atoms": atoms})


def pid_tasks() -> list[Task]:
    """The PID tasks of :data:`PID_TABLE`, in order.

    Example:
        >>> task = {t.name: t for t in pid_tasks()}["pid-copy"]
        >>> [round(v / float(np.log(2)), 6) for v in task.options["atoms"]["broja"]]  # bits
        [0.0, 1.0, 1.0, 0.0]
    """
    out = []
    for row in PID_TABLE:
        kind, *args = row.joint
        out.append(_table_task(row, args[0]) if kind == "table" else _gaussian_task(row, *args))
    return out
