"""Pure tensor math of the estimators: no state, nothing else of iblearn imported.

Every function returns a 0-d tensor in nats.
"""

from iblearn.functional._discrete_inference import (
    choose_discrete_method,
    discrete_entropy_estimate,
    discrete_mi_estimate,
)
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
from iblearn.functional.cmi import gaussian_cmi, gaussian_cmi_from_cov, ksg_cmi
from iblearn.functional.cmi_permutations import local_permutations
from iblearn.functional.discrete import (
    bin_values,
    class_codes,
    discrete_cmi,
    discrete_entropy,
    discrete_mi,
    nsb_entropy,
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
from iblearn.functional.ib_exact import IBCurve, dib_exhaustive, gaussian_ib_curve, ib_curve
from iblearn.functional.inference import Estimate
from iblearn.functional.knn import kl_entropy, ksg_mi, ksg_pmi, mixed_ksg_mi
from iblearn.functional.multivariate import (
    PIDParts,
    dual_total_correlation,
    o_information,
    s_information,
    total_correlation,
)
from iblearn.functional.multivariate_inference import (
    MultivariateEstimate,
    multivariate_estimate,
    pid_estimate,
)
from iblearn.functional.multivariate_pid import conditional_entropy, interaction_information, pid
from iblearn.functional.multivariate_search import SearchResult, o_information_search
from iblearn.functional.noisy import linear_gaussian_noisy_mi, noisy_mi_bounds
from iblearn.functional.nulls import (
    PermutationTest,
    ksg_cmi_test,
    ksg_mi_test,
    transfer_entropy_estimate,
    transfer_entropy_test,
)
from iblearn.functional.pairwise import ksg_mi_pairs, layerwise_mi, pairwise_mi
from iblearn.functional.renyi import matrix_entropy, renyi_entropy, renyi_joint_entropy, renyi_mi
from iblearn.functional.renyi_gram import gram_matrix, joint_gram, kernel_width
from iblearn.functional.spectrum import SpectrumEntropy, truncated_entropy
from iblearn.functional.transfer import transfer_entropy, transfer_entropy_matrix

__all__ = [
    "Canonical",
    "Estimate",
    "IBCurve",
    "MultivariateEstimate",
    "PIDParts",
    "PermutationTest",
    "SearchResult",
    "SpectrumEntropy",
    "bin_values",
    "canonical_analysis",
    "canonical_bases",
    "canonical_basis",
    "canonical_correlations",
    "canonical_gaussian_log_prob",
    "canonical_gaussian_mi",
    "canonical_gaussian_pmi",
    "choose_discrete_method",
    "class_codes",
    "club_bound",
    "club_sampled_bound",
    "conditional_entropy",
    "dib_exhaustive",
    "discrete_cmi",
    "discrete_entropy",
    "discrete_entropy_estimate",
    "discrete_mi",
    "discrete_mi_estimate",
    "doe_mi",
    "dual_total_correlation",
    "dv_bound",
    "flo_bound",
    "gaussian_cmi",
    "gaussian_cmi_from_cov",
    "gaussian_entropy_from_cov",
    "gaussian_ib_curve",
    "gaussian_log_likelihood",
    "gaussian_mi",
    "gaussian_mi_from_cov",
    "gram_matrix",
    "ib_curve",
    "infonce_bound",
    "infonce_bound_chunked",
    "interaction_information",
    "joint_gram",
    "js_bound",
    "kernel_width",
    "kl_entropy",
    "ksg_cmi",
    "ksg_cmi_test",
    "ksg_mi",
    "ksg_mi_pairs",
    "ksg_mi_test",
    "ksg_pmi",
    "layerwise_mi",
    "linear_gaussian_noisy_mi",
    "local_permutations",
    "log_mean_exp",
    "matrix_entropy",
    "mixed_ksg_mi",
    "multivariate_estimate",
    "noisy_mi_bounds",
    "nsb_entropy",
    "nwj_bound",
    "o_information",
    "o_information_search",
    "pairwise_mi",
    "pid",
    "pid_estimate",
    "renyi_entropy",
    "renyi_joint_entropy",
    "renyi_mi",
    "s_information",
    "smile_bound",
    "total_correlation",
    "transfer_entropy",
    "transfer_entropy_estimate",
    "transfer_entropy_matrix",
    "transfer_entropy_test",
    "truncated_entropy",
]
