"""Pure tensor math of the estimators, with no state, in rooms (docs/design.md, "The rooms of
`functional`"): ``knn`` (the neighbour engine and the measures on it), ``multivariate``, ``renyi``,
``ib`` (the exact IB), ``discrete``, and the modules ``bounds``, ``gaussian``, ``canonical``, ``noisy``
and ``inference``. It imports only iblearn's shared helpers, never the records layer: the
many-variable functions run their batches, progress and checkpoint folders through
:mod:`iblearn.parallel`.

Functions return 0-d tensors in nats, or a result that says more: :class:`Estimate` (the one result of
an estimate with its uncertainty), :class:`IBCurve`, :class:`SpectrumEntropy`, :class:`SearchResult`,
:class:`PermutationTest`, :class:`PIDParts`.
"""

from iblearn.functional import knn, multivariate
from iblearn.functional.bounds import (
    club_bound,
    club_sampled_bound,
    doe_mi,
    dv_bound,
    flo_bound,
    gaussian_log_likelihood,
    infonce_bound,
    infonce_bound_chunked,
    js_bound,
    log_mean_exp,
    nwj_bound,
    smile_bound,
)
from iblearn.functional.canonical import (
    canonical_basis,
    canonical_gaussian_log_prob,
    canonical_gaussian_mi,
    canonical_gaussian_pmi,
)
from iblearn.functional.discrete import (
    bin_values,
    class_codes,
    discrete_cmi,
    discrete_entropy,
    discrete_entropy_estimate,
    discrete_mi,
    discrete_mi_estimate,
    nsb_entropy,
    pym_entropy,
)
from iblearn.functional.gaussian import (
    Canonical,
    canonical_analysis,
    canonical_bases,
    canonical_correlations,
    gaussian_entropy_from_cov,
    gaussian_mi,
    gaussian_mi_from_cov,
)
from iblearn.functional.gaussian_classes import classes_mi, classes_shape, gaussian_classes_mi
from iblearn.functional.ib import IBCurve, dib_exhaustive, gaussian_ib_curve, ib_curve
from iblearn.functional.inference import Estimate
from iblearn.functional.information_dynamics import transfer_entropy
from iblearn.functional.knn import *  # noqa: F403
from iblearn.functional.multivariate import *  # noqa: F403
from iblearn.functional.noisy import linear_gaussian_noisy_mi, noisy_mi_bounds
from iblearn.functional.quadratic_classes import quadratic_classes_mi
from iblearn.functional.renyi import (
    SpectrumEntropy,
    gram_matrix,
    joint_gram,
    kernel_width,
    matrix_entropy,
    renyi_entropy,
    renyi_joint_entropy,
    renyi_mi,
    truncated_entropy,
)

__all__ = [
    "Canonical",
    "Estimate",
    "IBCurve",
    "SpectrumEntropy",
    "bin_values",
    "canonical_analysis",
    "canonical_bases",
    "canonical_basis",
    "canonical_correlations",
    "canonical_gaussian_log_prob",
    "canonical_gaussian_mi",
    "canonical_gaussian_pmi",
    "class_codes",
    "classes_mi",
    "classes_shape",
    "club_bound",
    "club_sampled_bound",
    "dib_exhaustive",
    "discrete_cmi",
    "discrete_entropy",
    "discrete_entropy_estimate",
    "discrete_mi",
    "discrete_mi_estimate",
    "doe_mi",
    "dv_bound",
    "flo_bound",
    "gaussian_classes_mi",
    "gaussian_entropy_from_cov",
    "gaussian_ib_curve",
    "gaussian_log_likelihood",
    "gaussian_mi",
    "gaussian_mi_from_cov",
    "gram_matrix",
    "ib_curve",
    "infonce_bound",
    "infonce_bound_chunked",
    "joint_gram",
    "js_bound",
    "kernel_width",
    "linear_gaussian_noisy_mi",
    "log_mean_exp",
    "matrix_entropy",
    "noisy_mi_bounds",
    "nsb_entropy",
    "nwj_bound",
    "pym_entropy",
    "quadratic_classes_mi",
    "renyi_entropy",
    "renyi_joint_entropy",
    "renyi_mi",
    "smile_bound",
    "transfer_entropy",
    "truncated_entropy",
]
# The rooms' names, listed once: in their own __all__.
__all__ += knn.__all__
__all__ += multivariate.__all__
