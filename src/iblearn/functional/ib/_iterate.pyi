# The compiled kernel of _iterate.c (see its header comment); buffers are C-contiguous numpy arrays.
from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

Buffer: TypeAlias = NDArray[np.float64]

#: The copy of the iteration that runs: "avx512", "avx2" or "portable".
ISA: str

def iterate(
    p: Buffer,
    q: Buffer,
    betas: Buffer,
    n_x: int,
    n_y: int,
    n_t: int,
    alpha: float,
    tol: float,
    max_iter: int,
    bounded: bool,
) -> None: ...
def anneal(
    p: Buffer,
    q0: Buffer,
    out: Buffer,
    settled: Buffer,
    betas: Buffer,
    sizes: tuple[int, int, int],
    alpha: float,
    tol: float,
    max_iter: int,
    limits: tuple[float, float, int],
) -> None: ...
