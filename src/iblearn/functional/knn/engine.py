"""What the other rooms of :mod:`iblearn.functional` build on from the neighbour engine.

The multivariate measures count neighbours in the spaces of many variables with the same exact search,
the same tie rule and the same KSG terms as the estimators on two variables; they import them from here
and from no other module of the room, so that the room's inside can change behind this list.
"""

from iblearn.functional.knn.cmi import (
    LISTED_MANY,
    PreparedCondition,
    cmi_terms_ranked,
    ksg_cmi_prepared,
    ksg_cmi_prepared_many,
    ksg_cmi_ranked,
    prepared_condition,
)
from iblearn.functional.knn.cmi_batched import ksg_cmi_prepared_batched
from iblearn.functional.knn.counts import digamma_f64, ksg_from_counts, psi
from iblearn.functional.knn.ksg import (
    column_ranks,
    duplicated_rows,
    key_order,
    kl_entropy,
    ksg_mi,
    ksg_mi_ranked,
    ksg_of_terms,
    mixed_ksg_counts,
    mixed_ksg_mi,
    pair_terms,
    pair_terms_ranked,
    prepare_samples,
    ranked_columns,
)
from iblearn.functional.knn.neighbors import (
    Backend,
    count_within,
    knn_max_tree_dim,
    kth_neighbour,
    pick_backend,
)
from iblearn.functional.knn.options import KNNKeywords, KNNOptions, Ties
from iblearn.functional.knn.pairwise import checked_blocks
from iblearn.functional.knn.sieve import sieve_series

__all__ = [
    "LISTED_MANY",
    "Backend",
    "KNNKeywords",
    "KNNOptions",
    "PreparedCondition",
    "Ties",
    "checked_blocks",
    "cmi_terms_ranked",
    "column_ranks",
    "count_within",
    "digamma_f64",
    "duplicated_rows",
    "key_order",
    "kl_entropy",
    "knn_max_tree_dim",
    "ksg_cmi_prepared",
    "ksg_cmi_prepared_batched",
    "ksg_cmi_prepared_many",
    "ksg_cmi_ranked",
    "ksg_from_counts",
    "ksg_mi",
    "ksg_mi_ranked",
    "ksg_of_terms",
    "kth_neighbour",
    "mixed_ksg_counts",
    "mixed_ksg_mi",
    "pair_terms",
    "pair_terms_ranked",
    "pick_backend",
    "prepare_samples",
    "prepared_condition",
    "psi",
    "ranked_columns",
    "sieve_series",
]
