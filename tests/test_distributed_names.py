"""iblearn.distributed's names, each saying what it gives, and what they give outside a process group
(the two-rank behaviour is tested in tests/estimators/test_neural_ddp.py and the other *_ddp tests)."""

from __future__ import annotations

import torch

from iblearn import distributed

NAMES = {
    "rank",
    "world_size",
    "is_distributed",
    "in_process_group",
    "single_process",
    "across_ranks",
    "gather",
    "every_rank_rows",
    "offset_and_total",
    "own_row_indices",
    "rank_weight",
    "share_of_mean",
    "mean_over_ranks",
    "sum_over_ranks",
    "average_gradients",
}


def test_the_public_names_are_the_ones_the_module_lists():
    public = {n for n, v in vars(distributed).items() if callable(v) and not n.startswith("_")}
    public -= {"cast", "ContextVar", "Iterator", "Any", "Tensor"}
    assert public == NAMES


def test_outside_a_process_group_every_collective_is_the_one_process_value():
    torch.set_num_threads(1)
    values = torch.tensor([1.0, 2.0, 6.0])
    assert (distributed.rank(), distributed.world_size()) == (0, 1)
    assert not distributed.is_distributed() and not distributed.in_process_group()
    with distributed.single_process(), distributed.across_ranks():
        assert not distributed.is_distributed()
    assert distributed.gather(values) is values
    assert distributed.offset_and_total(3) == (0, 3)
    assert torch.equal(distributed.own_row_indices(3, values.device), torch.arange(3))
    assert distributed.rank_weight(3) == 1.0
    assert float(distributed.share_of_mean(values)) == 3.0
    assert distributed.mean_over_ranks(values) is values
    one = values.sum()
    assert distributed.sum_over_ranks(one) is one
