# The compiled kernel of _maxnorm.c (see its header comment); buffers are C-contiguous numpy arrays.
import numpy as np
from numpy.typing import NDArray

def knn(
    coords: NDArray[np.float64],
    n: int,
    dim: int,
    bcol: int,
    width: int,
    k: int,
    first: int,
    last: int,
    out_dist: NDArray[np.float64],
    out_idx: NDArray[np.int64],
) -> None: ...
def count(
    coords: NDArray[np.float64],
    n: int,
    dim: int,
    bcol: int,
    width: int,
    radius: NDArray[np.float64],
    inclusive: bool,
    first: int,
    last: int,
    out: NDArray[np.int64],
) -> None: ...
