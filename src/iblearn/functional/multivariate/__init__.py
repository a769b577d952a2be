"""The measures among many variables: total correlation, dual total correlation, O- and S-information,
interaction information, the two-source partial information decomposition, their standard errors and
permutation p-values, and the search for the subsets of most redundancy or synergy.

Floors, each importing only those below it: the variables and the checks on them (:mod:`.inputs`); the
entropies' sums by each estimator (:mod:`.core`); the measures (:mod:`.measures`) and the PID
(:mod:`.pid_mmi`: minimum-MI of samples; :mod:`.pid_discrete`: every redundancy measure of a joint
table on the shared lattice of :mod:`._pid_lattice`, each measure a function of :mod:`._pid_measures`;
:mod:`.pid_samples`: :func:`pid`, the one entry for samples); their inference (:mod:`.estimate`) and
the subset search (:mod:`.search`). The room
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
from iblearn.functional.multivariate.pid_mmi import conditional_entropy, interaction_information
from iblearn.functional.multivariate.pid_samples import PartInterval, local_pid, pid, pid_interval
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
    "local_pid",
    "multivariate_estimate",
    "o_information",
    "o_information_search",
    "phiid",
    "pid",
    "pid_distribution",
    "pid_estimate",
    "pid_interval",
    "pid_lattice",
    "s_information",
    "total_correlation",
]
