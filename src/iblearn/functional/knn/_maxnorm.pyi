# The compiled kernel of _maxnorm.c (see its header comment); buffers are C-contiguous numpy arrays. Each
# function's arguments stand in the order of its docstring there, a line to a group where they are many:
# what is searched, how, and the outputs.
# fmt: off
from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

F64: TypeAlias = NDArray[np.float64]
F32: TypeAlias = NDArray[np.float32]
I64: TypeAlias = NDArray[np.int64]

#: The instruction set every kernel call runs: "avx512", "avx2" or "portable" (IBLEARN_SIMD, the CPU).
ISA: str

#: The slabs: (coords, n, dim, bcol, width).
Slabs: TypeAlias = tuple[F64, int, int, int, int]
#: The k-d tree: (data, n, dim, depth, span, boxes), as build makes it, and for the float32 first pass of
#: knn and count optionally data rounded to float32 and each leaf's largest |coordinate| (2^depth of them).
Tree: TypeAlias = tuple[F64, int, int, int, I64, F64] | tuple[F64, int, int, int, I64, F64, F32, F64]
#: The grid of cells_knn: (data, n, dim, g, bounds, start), as cells makes it.
Cells: TypeAlias = tuple[F64, int, int, int, F64, I64]
#: The plane of plane_count: (sorted, ranks), two coordinates each sorted and the points' ranks in them
#: (three for cmi_plane_count).
Plane: TypeAlias = tuple[F64, I64]

def knn(
    layout: Slabs | Tree, order: I64, k: int, first: int, last: int, out_dist: F64, out_idx: I64
) -> None: ...
def count(layout: Slabs | Tree, radius: F64, inclusive: bool, first: int, last: int, out: I64) -> None: ...
def cells(
    points: F64, n: int, dim: int, g: int, out_order: I64, out_bounds: F64, out_start: I64, out_data: F64
) -> None: ...
def cells_knn(
    layout: Cells, order: I64, k: int, first: int, last: int, out_dist: F64, out_idx: I64
) -> None: ...
def cells_count(layout: Cells, radius: F64, inclusive: bool, first: int, last: int, out: I64) -> None: ...
def plane_count(sorted: F64, ranks: I64, n: int, radius: F64, inclusive: bool, out: I64) -> None: ...
def cmi_plane_count(
    sorted: F64, ranks: I64, n: int, radius: F64, inclusive: bool, out_nxz: I64, out_nyz: I64, out_nz: I64
) -> None: ...
def build(
    points: F64, n: int, dim: int, depth: int, out_order: I64, out_span: I64, out_boxes: F64, out_data: F64
) -> None: ...
def pairs(
    sorted: F64, ranks: I64, n: int, pairs: I64, k: int, variant: int, cell: int, out_nx: I64, out_ny: I64
) -> int: ...

#: The largest k that scan takes.
SCAN_KMAX: int
#: The highest autoregressive order that sieve takes.
SIEVE_ORDER: int

# level: the widest copy of the scans to run, capped at the module's set: -2 the compiler's generic
# vectors (scalar C where it has none), -1 scalar C, 0 the portable set (SSE2 on x86-64, the generic
# vectors elsewhere), 1 AVX2, 2 AVX-512.
def scan(
    sorted: F64, ranks: I64, n: int, pairs: I64, k: int, table: F64 | None,
    out_a: I64 | F64, out_b: I64 | F64, level: int = 2,
) -> int: ...
def band_count(
    values: F32, rows: int, cols: int, sure: F32, maybe: F32, shift: F32, col_sure: F32, col_maybe: F32,
    out_sure: I64, out_maybe: I64, out_col_sure: I64, out_col_maybe: I64,
) -> None: ...
def _set_isa(name: str) -> str: ...
def listed(
    x: F64, points: F64, n: int, dim: int, ydim: int, k: int,
    nbr_yz: I64, d_yz: F64, bound_yz: F64, my: int, nbr_z: I64, d_z: F64, bound_z: F64, mz: int,
    out_eps: F64, out_nxz: I64, out_nyz: I64, out_nz: I64,
) -> int: ...
def listed_many(
    xs: F64, count: int, points: F64, n: int, dim: int, ydim: int, k: int,
    nbr_yz: I64, d_yz: F64, bound_yz: F64, my: int, nbr_z: I64, d_z: F64, bound_z: F64, mz: int,
    out_eps: F64, out_nxz: I64, out_nyz: I64, out_nz: I64,
) -> int: ...
def sieve(
    x: F64, n: int, seeds: NDArray[np.uint64], rows: int, c: float, phi: F64, q: int, e: F64, m: int, out: F64
) -> None: ...
