"""The measures among many variables: total correlation, dual total correlation, O- and S-information,
interaction information, the two-source partial information decomposition, their standard errors and
permutation p-values, and the search for the subsets of most redundancy or synergy.

Floors, each importing only those below it: the variables and the checks on them (:mod:`.inputs`); the
entropies' sums by each estimator (:mod:`.core`); the measures (:mod:`.measures`) and the PID
(:mod:`.pid_mmi`); their inference (:mod:`.estimate`) and the subset search (:mod:`.search`). The room
builds on the neighbour engine through :mod:`iblearn.functional.knn.engine` only.
"""

from iblearn.functional.multivariate.core import PIDParts
from iblearn.functional.multivariate.estimate import MultivariateEstimate, multivariate_estimate, pid_estimate
from iblearn.functional.multivariate.measures import (
    dual_total_correlation,
    o_information,
    s_information,
    total_correlation,
)
from iblearn.functional.multivariate.phiid_atoms import PhiIDResult, phiid
from iblearn.functional.multivariate.pid_discrete import broja_pid, pid_distribution, pid_lattice
from iblearn.functional.multivariate.pid_gaussian import gaussian_broja_pid, gaussian_pid
from iblearn.functional.multivariate.pid_mmi import conditional_entropy, interaction_information, pid
from iblearn.functional.multivariate.pid_samples import (
    PartInterval,
    local_pid,
    pid_from_samples,
    pid_interval,
    pid_resamples,
    pid_spans,
)
from iblearn.functional.multivariate.pid_sx_knn import ksg_sx_pid, ksg_sx_redundancy
from iblearn.functional.multivariate.search import SearchResult, o_information_search

__all__ = [
    "MultivariateEstimate",
    "PIDParts",
    "PartInterval",
    "PhiIDResult",
    "SearchResult",
    "broja_pid",
    "conditional_entropy",
    "dual_total_correlation",
    "gaussian_broja_pid",
    "gaussian_pid",
    "interaction_information",
    "ksg_sx_pid",
    "ksg_sx_redundancy",
    "local_pid",
    "multivariate_estimate",
    "o_information",
    "o_information_search",
    "phiid",
    "pid",
    "pid_distribution",
    "pid_estimate",
    "pid_from_samples",
    "pid_interval",
    "pid_lattice",
    "pid_resamples",
    "pid_spans",
    "s_information",
    "total_correlation",
]
