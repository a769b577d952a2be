# The compiled kernel of _maxnorm.c (see its header comment); buffers are C-contiguous numpy arrays.
import numpy as np
from numpy.typing import NDArray

#: The instruction set every kernel call runs: "avx512", "avx2" or "portable" (IBLEARN_SIMD, the CPU).
ISA: str

#: The slabs: (coords, n, dim, bcol, width).
Slabs = tuple[NDArray[np.float64], int, int, int, int]
#: The k-d tree: (data, n, dim, depth, span, boxes), as build makes it.
Tree = tuple[NDArray[np.float64], int, int, int, NDArray[np.int64], NDArray[np.float64]]

def knn(
    layout: Slabs | Tree,
    order: NDArray[np.int64],
    k: int,
    first: int,
    last: int,
    out_dist: NDArray[np.float64],
    out_idx: NDArray[np.int64],
) -> None: ...
def count(
    layout: Slabs | Tree,
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
def pairs(
    sorted: NDArray[np.float64],
    ranks: NDArray[np.int64],
    n: int,
    pairs: NDArray[np.int64],
    k: int,
    variant: int,
    cell: int,
    out_nx: NDArray[np.int64],
    out_ny: NDArray[np.int64],
) -> int: ...

#: The largest k that scan takes.
SCAN_KMAX: int
#: The highest autoregressive order that sieve takes.
SIEVE_ORDER: int

# level: the widest copy of the scans to run, capped at the module's set: -1 scalar C, 0 the portable
# set (SSE2 on x86-64, scalar C elsewhere), 1 AVX2, 2 AVX-512.
def scan(
    sorted: NDArray[np.float64],
    ranks: NDArray[np.int64],
    n: int,
    pairs: NDArray[np.int64],
    k: int,
    table: NDArray[np.float64] | None,
    out_a: NDArray[np.int64] | NDArray[np.float64],
    out_b: NDArray[np.int64] | NDArray[np.float64],
    level: int = 2,
) -> int: ...
def band_count(
    values: NDArray[np.float32],
    rows: int,
    cols: int,
    sure: NDArray[np.float32],
    maybe: NDArray[np.float32],
    shift: NDArray[np.float32],
    col_sure: NDArray[np.float32],
    col_maybe: NDArray[np.float32],
    out_sure: NDArray[np.int64],
    out_maybe: NDArray[np.int64],
    out_col_sure: NDArray[np.int64],
    out_col_maybe: NDArray[np.int64],
) -> None: ...
def _set_isa(name: str) -> str: ...
def listed(
    x: NDArray[np.float64],
    points: NDArray[np.float64],
    n: int,
    dim: int,
    ydim: int,
    k: int,
    nbr_yz: NDArray[np.int64],
    d_yz: NDArray[np.float64],
    bound_yz: NDArray[np.float64],
    my: int,
    nbr_z: NDArray[np.int64],
    d_z: NDArray[np.float64],
    bound_z: NDArray[np.float64],
    mz: int,
    out_eps: NDArray[np.float64],
    out_nxz: NDArray[np.int64],
    out_nyz: NDArray[np.int64],
    out_nz: NDArray[np.int64],
) -> int: ...
def listed_many(
    xs: NDArray[np.float64],
    count: int,
    points: NDArray[np.float64],
    n: int,
    dim: int,
    ydim: int,
    k: int,
    nbr_yz: NDArray[np.int64],
    d_yz: NDArray[np.float64],
    bound_yz: NDArray[np.float64],
    my: int,
    nbr_z: NDArray[np.int64],
    d_z: NDArray[np.float64],
    bound_z: NDArray[np.float64],
    mz: int,
    out_eps: NDArray[np.float64],
    out_nxz: NDArray[np.int64],
    out_nyz: NDArray[np.int64],
    out_nz: NDArray[np.int64],
) -> int: ...
def sieve(
    x: NDArray[np.float64],
    n: int,
    seeds: NDArray[np.uint64],
    rows: int,
    c: float,
    phi: NDArray[np.float64],
    q: int,
    e: NDArray[np.float64],
    m: int,
    out: NDArray[np.float64],
) -> None: ...
