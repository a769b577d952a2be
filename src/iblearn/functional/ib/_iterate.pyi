# The compiled kernel of _iterate.c (see its header comment); buffers are C-contiguous numpy arrays.
import numpy as np
from numpy.typing import NDArray

def iterate(
    p: NDArray[np.float64],
    q: NDArray[np.float64],
    betas: NDArray[np.float64],
    n_x: int,
    n_y: int,
    n_t: int,
    alpha: float,
    tol: float,
    max_iter: int,
    bounded: bool,
) -> None: ...
