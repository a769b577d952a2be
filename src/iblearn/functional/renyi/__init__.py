"""The matrix-based Renyi room: Gram matrices and their kernel widths (:mod:`.gram`), the truncated
spectrum of a large one (:mod:`.spectrum`), and the entropies and MI on them (:mod:`.entropy`), each
module importing only those before it.
"""

from iblearn.functional.renyi.entropy import (
    matrix_entropy,
    renyi_entropy,
    renyi_graph_mi,
    renyi_joint_entropy,
    renyi_mi,
)
from iblearn.functional.renyi.gram import adjacency_gram, gram_matrix, joint_gram, kernel_width
from iblearn.functional.renyi.spectrum import SpectrumEntropy, truncated_entropy

__all__ = [
    "SpectrumEntropy",
    "adjacency_gram",
    "gram_matrix",
    "joint_gram",
    "kernel_width",
    "matrix_entropy",
    "renyi_entropy",
    "renyi_graph_mi",
    "renyi_joint_entropy",
    "renyi_mi",
    "truncated_entropy",
]
