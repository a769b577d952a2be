"""The discrete room: entropies and MI of class labels and binned values, plug-in and bias-corrected.

Floors, each importing only those below it: the fingerprint of a sample and the simple corrections
(:mod:`.estimators`); NSB's posterior (:mod:`.nsb`), the Pitman-Yor mixture's (:mod:`.pym`) and the
JVHW polynomial estimator (:mod:`.jvhw`); the functions on samples (:mod:`.entropies`); their standard
errors and intervals (:mod:`.inference`).
"""

from iblearn.functional.discrete.entropies import (
    MAX_BINS,
    METHODS,
    Correction,
    Method,
    Strategy,
    bin_count,
    bin_values,
    class_codes,
    counts_of,
    discrete_cmi,
    discrete_entropy,
    discrete_mi,
    entropy_of_counts,
    joint_codes,
    nsb_entropy,
    row_codes,
)
from iblearn.functional.discrete.inference import (
    discrete_entropy_estimate,
    discrete_mi_estimate,
)
from iblearn.functional.discrete.pym import pym_entropy

__all__ = [
    "MAX_BINS",
    "METHODS",
    "Correction",
    "Method",
    "Strategy",
    "bin_count",
    "bin_values",
    "class_codes",
    "counts_of",
    "discrete_cmi",
    "discrete_entropy",
    "discrete_entropy_estimate",
    "discrete_mi",
    "discrete_mi_estimate",
    "entropy_of_counts",
    "joint_codes",
    "nsb_entropy",
    "pym_entropy",
    "row_codes",
]
