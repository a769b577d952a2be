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
def build(
    points: NDArray[np.float64],
    n: int,
    dim: int,
    depth: int,
    out_order: NDArray[np.int64],
    out_span: NDArray[np.int64],
    out_boxes: NDArray[np.float64],
    out_data: NDArray[np.float64],
) -> None: ...
def tree_knn(
    data: NDArray[np.float64],
    n: int,
    dim: int,
    depth: int,
    span: NDArray[np.int64],
    boxes: NDArray[np.float64],
    k: int,
    first: int,
    last: int,
    out_dist: NDArray[np.float64],
    out_idx: NDArray[np.int64],
) -> None: ...
def tree_count(
    data: NDArray[np.float64],
    n: int,
    dim: int,
    depth: int,
    span: NDArray[np.int64],
    boxes: NDArray[np.float64],
    radius: NDArray[np.float64],
    inclusive: bool,
    first: int,
    last: int,
    out: NDArray[np.int64],
) -> None: ...
def band_count(
    values: NDArray[np.float32],
    rows: int,
    cols: int,
    sure: NDArray[np.float32],
    maybe: NDArray[np.float32],
    own0: int,
    own1: int,
    out_sure: NDArray[np.int64],
    out_maybe: NDArray[np.int64],
) -> None: ...
