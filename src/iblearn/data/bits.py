"""The 12-bit task of Shwartz-Ziv & Tishby (2017): every pattern of 12 bits, equally likely,
and a binary label that is a fixed function of the pattern.

X is discrete and uniform, so H(X) = 12 bits, and Y = f(X), so I(X; Y) = H(Y); the rule splits the
patterns in halves, so I(X; Y) = log 2 exactly. With the full joint known, a network's layers can be
placed against the exact IB curve of p(x, y), and their binned I(X; T) is a well-defined H(T) (Amjad &
Geiger 2019, Sec. 4.2).

References:
    R. Shwartz-Ziv, N. Tishby. Opening the black box of deep neural networks via information.
    arXiv:1703.00810 (2017).
    R. A. Amjad, B. C. Geiger. Learning representations for neural network-based classification using
    the information bottleneck principle. IEEE TPAMI (2019).
"""

from __future__ import annotations

import torch
from torch import Tensor

from iblearn import _checks as V

BITS = 12


def twelve_bit_task(seed: int = 0) -> tuple[Tensor, Tensor]:
    """All ``2**12 = 4,096`` patterns of 12 bits and their labels.

    The label is ``(x . w)^2 > median`` for a Gaussian ``w`` drawn from ``seed``: a quadratic rule, so
    a network needs its hidden layers to learn it. ``x`` and ``-x`` share a score, so the median falls
    between two pairs and exactly half the patterns are labelled 1: ``I(X; Y) = H(Y) = log 2``.

    Args:
        seed: seed of the rule's weights ``w``.

    Returns:
        ``x (4096, 12)`` float32 in {-1, +1}, pattern ``i`` holding the bits of ``i``, and
        ``y (4096,)`` int64 labels in {0, 1}.

    Example:
        >>> x, y = twelve_bit_task()
        >>> tuple(x.shape), int(y.sum())
        ((4096, 12), 2048)
    """
    bits = (torch.arange(2**BITS)[:, None] >> torch.arange(BITS)) & 1
    x = bits.float() * 2 - 1
    w = torch.randn(BITS, generator=torch.Generator().manual_seed(V.seed(seed, "seed")))
    score = (x @ w) ** 2
    return x, (score > score.median()).long()
