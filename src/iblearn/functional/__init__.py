"""Pure tensor math of the estimators: no state, nothing else of iblearn imported.

Every function returns a 0-d tensor in nats.
"""

from iblearn.functional.discrete import bin_values, discrete_entropy, discrete_mi
from iblearn.functional.gaussian import (
    canonical_correlations,
    gaussian_entropy_from_cov,
    gaussian_mi,
    gaussian_mi_from_cov,
)
from iblearn.functional.knn import kl_entropy, ksg_mi, mixed_ksg_mi
from iblearn.functional.renyi import (
    gram_matrix,
    joint_gram,
    kernel_width,
    matrix_entropy,
    renyi_entropy,
    renyi_joint_entropy,
    renyi_mi,
)

__all__ = [
    "bin_values",
    "canonical_correlations",
    "discrete_entropy",
    "discrete_mi",
    "gaussian_entropy_from_cov",
    "gaussian_mi",
    "gaussian_mi_from_cov",
    "gram_matrix",
    "joint_gram",
    "kernel_width",
    "kl_entropy",
    "ksg_mi",
    "matrix_entropy",
    "mixed_ksg_mi",
    "renyi_entropy",
    "renyi_joint_entropy",
    "renyi_mi",
]
