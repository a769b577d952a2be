"""The one front door: ``estimate(measure, *variables, method="auto", **options)`` chooses an estimator
from the data, checks it and bounds it, for every measure (:data:`MEASURES`); :func:`estimate_mi` is
its MI and conditional MI.

It is what ``from iblearn import estimate`` gives::

    from iblearn import estimate
    est = estimate("cmi", x, y, z)

:func:`pairwise_mi` is the MI of every pair of variables of data as its users hold it, their names kept.

Adding a measure is one entry of :data:`MEASURES` (its variables, its automatic rule, its named
methods) and the functions it names.
"""

from __future__ import annotations

from iblearn.estimation.all_pairs import PairwiseMI, pairwise_mi
from iblearn.estimation.door import MEASURES, Measure, estimate, estimate_mi, with_names

__all__ = ["MEASURES", "Measure", "PairwiseMI", "estimate", "estimate_mi", "pairwise_mi", "with_names"]
