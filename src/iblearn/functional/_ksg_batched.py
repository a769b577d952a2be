"""KSG's neighbour counts for many pairings of the same samples at once: ``(x, y[perm])`` for each row
of a permutation matrix, as permutation nulls need them.
"""

from __future__ import annotations

import torch
from torch import Tensor

from iblearn.functional.knn_counts import ksg_counts_brute


def ksg_counts_permuted(x: Tensor, y: Tensor, perms: Tensor, k: int, variant: int) -> tuple[Tensor, Tensor]:
    """n_x and n_y of KSG (eq. 8 for ``variant=1``, eq. 9 for 2) of ``(x, y[perms[b]])`` for every row b
    of ``perms``.

    Args:
        x, y: prepared float64 samples, ``(N, d_x)`` and ``(N, d_y)``, on one device.
        perms: ``(B, N)`` int64 row indices of y, on any device.
        k: neighbours; variant: 1 or 2.

    Returns:
        ``(B, N)`` int64 counts n_x and n_y on x's device, equal to :func:`ksg_counts_brute` (and the
        tree's counts) of each pairing.
    """
    perms = perms.to(x.device)
    counts = [ksg_counts_brute(x, y[p], k, variant) for p in perms]
    return torch.stack([c[0] for c in counts]), torch.stack([c[1] for c in counts])
