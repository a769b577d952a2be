"""The redundancy lattice of Williams & Beer (2010) and the Moebius inversion from redundancies to atoms.

A node is an antichain: a collection of nonempty sets of sources none of which contains another,
e.g. ``((0,), (1,))`` (what sources 0 and 1 each carry: their redundancy) or ``((0, 1),)`` (what they
carry jointly). ``a <= b`` iff every set of ``b`` contains some set of ``a``. The partial information
atom of a node is its redundancy less the atoms of every node below it:

    I_cap(a) = sum_{b <= a} pi(b).

References:
    P. Williams, R. Beer. Nonnegative decomposition of multivariate information. arXiv:1004.2515 (2010).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from functools import lru_cache

Antichain = tuple[tuple[int, ...], ...]


@lru_cache(maxsize=8)
def antichains(n: int) -> tuple[Antichain, ...]:
    """Every node of the redundancy lattice of ``n`` sources, each below (never after) those above it."""
    sets = [s for r in range(1, n + 1) for s in itertools.combinations(range(n), r)]
    found: list[Antichain] = []
    for r in range(1, len(sets) + 1):
        for combo in itertools.combinations(sets, r):
            if all(not set(a) < set(b) and not set(b) < set(a) for a, b in itertools.combinations(combo, 2)):
                found.append(tuple(sorted(combo)))
    # A node below another has no fewer sets of no more sources: sort by the size of its down-set.
    return tuple(sorted(found, key=lambda a: sum(leq(b, a) for b in found)))


def leq(a: Antichain, b: Antichain) -> bool:
    """``a <= b`` in the redundancy lattice: each set of ``b`` contains a set of ``a``."""
    return all(any(set(x) <= set(y) for x in a) for y in b)


def moebius(redundancy: Callable[[Antichain], float], n: int) -> dict[Antichain, float]:
    """The atoms ``pi`` of the lattice of ``n`` sources from a redundancy function on its nodes."""
    nodes = antichains(n)
    red = {a: redundancy(a) for a in nodes}
    atoms: dict[Antichain, float] = {}
    for a in nodes:
        atoms[a] = red[a] - sum(atoms[b] for b in atoms if b != a and leq(b, a))
    return atoms


def node_name(a: Antichain) -> str:
    """A node's name, sources counted from 1, its smaller sets first: ``{1}{2}``, ``{12}``, ``{3}{12}``."""
    return "".join("{" + "".join(str(i + 1) for i in s) + "}" for s in sorted(a, key=lambda s: (len(s), s)))


def by_name(atoms: Mapping[Antichain, float]) -> dict[str, float]:
    """The atoms keyed by :func:`node_name`."""
    return {node_name(a): v for a, v in atoms.items()}
