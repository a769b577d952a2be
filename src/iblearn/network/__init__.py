"""Network inference by multivariate transfer entropy, and the information dynamics of one process:
active information storage and (conditional) transfer entropy with intervals.

:func:`infer_network` follows Novelli et al. (2019) and IDTxl's ``MultivariateTE``;
:func:`active_information_storage` and :func:`transfer_entropy` are the measures of one target's past
and of one source's contribution, with blockwise-jackknife intervals.
"""

from iblearn.functional.information_dynamics import active_information_storage, transfer_entropy
from iblearn.network.inference import benjamini_hochberg, holm, infer_network
from iblearn.network.result import NetworkResult
from iblearn.network.target import TargetResult

__all__ = [
    "NetworkResult",
    "TargetResult",
    "active_information_storage",
    "benjamini_hochberg",
    "holm",
    "infer_network",
    "transfer_entropy",
]
