"""The collectives of neural estimators under ``torch.distributed``, under the name the estimators' guide
gives: the functions of :mod:`iblearn.distributed`, the one module of them below every layer that uses
them (the same objects, so either name serves)."""

from iblearn.distributed import (
    active,
    average_gradients,
    every_rank_rows,
    gather,
    grouped,
    local,
    mean_over_ranks,
    own_rows,
    rank_mean,
    rank_sum,
    row_share,
    share,
    spread,
    world,
)

__all__ = [
    "active",
    "average_gradients",
    "every_rank_rows",
    "gather",
    "grouped",
    "local",
    "mean_over_ranks",
    "own_rows",
    "rank_mean",
    "rank_sum",
    "row_share",
    "share",
    "spread",
    "world",
]
