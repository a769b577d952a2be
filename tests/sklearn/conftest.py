"""Data the scikit-learn adapter tests share."""

from __future__ import annotations

import numpy as np


def signal_and_echo(n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Four columns and a class: column 1 decides the class, column 3 a noisy copy of it, columns 0 and
    2 noise."""
    r = np.random.default_rng(0)
    x = r.normal(size=(n, 4))
    x[:, 3] = x[:, 1] + 0.5 * r.normal(size=n)
    return x, (x[:, 1] > 0).astype(int)
