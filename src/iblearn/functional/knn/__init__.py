"""The k-nearest-neighbour room: the exact max-norm neighbour engine and the measures built on it.

Floors, each importing only those below it: the neighbour search (:mod:`.neighbors`, with the compiled
``_maxnorm`` kernel), KSG's formula, the counts and their kernels (:mod:`.formula`, :mod:`.bivariate`,
:mod:`.fused`, :mod:`.mixed`, :mod:`.counts`, :mod:`.batched`); the estimators on two variables
(:mod:`.ksg`: KSG, Kozachenko-Leonenko, mixed); conditional MI (:mod:`.cmi`) and its local permutations;
many pairs (:mod:`.pairwise`) and transfer entropy (:mod:`.transfer`); the permutation nulls
(:mod:`.nulls`). Other rooms reach the engine only through :mod:`.engine`.
"""

from iblearn.functional.knn.cmi import gaussian_cmi, gaussian_cmi_from_cov, ksg_cmi
from iblearn.functional.knn.ksg import kl_entropy, ksg_mi, mixed_ksg_mi
from iblearn.functional.knn.neighbors import kernel_isa
from iblearn.functional.knn.nulls import (
    PermutationTest,
    ksg_cmi_test,
    ksg_mi_shifted,
    ksg_mi_test,
    transfer_entropy_estimate,
    transfer_entropy_test,
)
from iblearn.functional.knn.pairwise import ksg_mi_pairs, layerwise_mi, pairwise_mi
from iblearn.functional.knn.pairwise_edges import PairwiseEdges
from iblearn.functional.knn.permutations import local_permutations
from iblearn.functional.knn.transfer import transfer_entropy_matrix

__all__ = [
    "PairwiseEdges",
    "PermutationTest",
    "gaussian_cmi",
    "gaussian_cmi_from_cov",
    "kernel_isa",
    "kl_entropy",
    "ksg_cmi",
    "ksg_cmi_test",
    "ksg_mi",
    "ksg_mi_pairs",
    "ksg_mi_shifted",
    "ksg_mi_test",
    "layerwise_mi",
    "local_permutations",
    "mixed_ksg_mi",
    "pairwise_mi",
    "transfer_entropy_estimate",
    "transfer_entropy_matrix",
    "transfer_entropy_test",
]
