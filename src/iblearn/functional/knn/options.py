"""The settings every kNN measure shares, written once.

Every measure built on the neighbour engine (KSG and its pointwise, pairwise and conditional forms,
transfer entropy, the permutation nulls, the measures among many variables) takes the same four
settings as keywords, typed by :class:`KNNKeywords` (so ``ksg_mi(x, y, k=3, ties="raise")`` reads as
before, and an IDE or mypy knows each keyword and refuses an unknown one), and builds one
:class:`KNNOptions` from them, which checks them once and is what the measure passes on.

    >>> KNNOptions(ties="raise")
    KNNOptions(standardize=True, ties='raise', backend='auto', seed=0)
    >>> KNNOptions(backend="gpu")
    Traceback (most recent call last):
    ...
    ValueError: backend: expected one of 'auto', 'tree', 'brute', got 'gpu'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

from iblearn import _checks as V
from iblearn._settings import setting
from iblearn.functional.knn.neighbors import Backend

#: What to do with tied rows: break them with a relative noise of ``JITTER`` (``"jitter"``), or raise.
Ties = Literal["jitter", "raise"]
TIES: tuple[Ties, ...] = ("jitter", "raise")
BACKENDS: tuple[Backend, ...] = ("auto", "tree", "brute")


class KNNKeywords(TypedDict, total=False):
    """The keywords of :class:`KNNOptions`, as a kNN measure's ``**options`` take them.

    Keys:
        standardize: scale each column to unit variance first (MI is invariant to it; the neighbour
            search is not).
        ties: ``"jitter"`` breaks tied rows with a tiny seeded noise; ``"raise"`` refuses them.
        backend: ``"auto"``, ``"tree"`` (exact k-d tree / compiled search on the CPU) or ``"brute"``
            (blocks of distances, for a GPU).
        seed: seed of the jitter (and of every other draw of the measure).
    """

    standardize: bool
    ties: Ties
    backend: Backend
    seed: int


@dataclass(frozen=True)
class KNNOptions:
    """The shared settings of a kNN measure, checked (a bad one raises ValueError naming it).

    Attributes: as the keys of :class:`KNNKeywords`, with their defaults.
    """

    standardize: bool = True
    ties: Ties = "jitter"
    backend: Backend = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "standardize", V.flag(self.standardize, "standardize"))
        V.choice(self.ties, "ties", TIES)
        V.choice(self.backend, "backend", BACKENDS)
        object.__setattr__(self, "seed", setting("seed", self.seed))

    def default_settings(self) -> bool:
        """Whether the settings are the defaults, but for the seed: the settings that the shortcuts of
        known orders (:func:`~iblearn.functional.knn.ksg.ranked_column`) reproduce."""
        return self.standardize is True and self.ties == "jitter" and self.backend == "auto"

    def keywords(self) -> KNNKeywords:
        """The settings as keywords, to pass on to another kNN measure."""
        return KNNKeywords(standardize=self.standardize, ties=self.ties, backend=self.backend, seed=self.seed)
