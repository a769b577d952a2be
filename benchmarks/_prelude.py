"""What a script in benchmarks/ imports first, before numpy or torch: ``import _prelude`` (found because
Python puts a script's own folder on sys.path: run the scripts as ``python benchmarks/NAME.py``).

It sets one thread for every numerical library that reads its count from the environment at import
(BLAS through OpenMP, MKL or OpenBLAS; numba), so that every method is timed alike on shared cores, and
puts the checkout's root on sys.path, so that ``benchmarks.runners`` imports. A variable already set
is left as it is.
"""

import os
import sys
from pathlib import Path

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
