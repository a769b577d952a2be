"""iblearn's input checks, one place for every layer (internal: not a public API).

DESIGN.md's contract on bad input is kept here: a wrong shape, a sample-count mismatch, NaN/Inf, too
few samples for ``k``, an unsupported dtype or a setting out of range raises ``ValueError`` naming the
argument; nothing here asserts or returns NaN. Samples are rows: a continuous variable is ``(N, d)``
(a ``(N,)`` vector is read as ``(N, 1)``), labels are ``(N,)`` integers. Each check returns the value
it accepted, converted (``continuous`` gives a float tensor ``(N, d)``, ``positive_int`` an ``int``).

Any module of iblearn may import it, like ``records`` (it imports nothing of iblearn), by one name::

    from iblearn import _checks as V

    n = V.positive_int(n, "n")   # ValueError: n: expected a positive integer, got 0

Use these instead of writing a check by hand, so that the same mistake gets the same message
everywhere; a check two modules need belongs here.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np
import torch
from torch import Tensor

T = TypeVar("T")


def as_tensor(value: Any, name: str) -> Tensor:
    """``value`` as a tensor (numpy arrays and nested lists are converted, tensors kept as they are)."""
    if isinstance(value, Tensor):
        return materialized(value, name)
    try:
        array = np.asarray(value)
        if array.dtype.kind == "f" and array.dtype.itemsize > 8:  # numpy's longdouble: torch has none
            array = array.astype(np.float64)
        # A read-only array (a pandas frame's .to_numpy(), a memory map) is copied: a tensor sharing
        # its memory would be writable, which torch warns of. So is a view with a negative stride
        # (x[::-1]), which torch cannot hold.
        if not array.flags.writeable or any(s < 0 for s in array.strides):
            array = array.copy()
        return torch.as_tensor(array)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{name}: cannot be read as an array of samples ({err})") from err


def materialized(t: Tensor, name: str) -> Tensor:
    """``t``, unless it lives on a device that holds no values (``meta``): every check and estimate
    reads values, and torch's own error there names no argument."""
    if t.device.type == "meta":
        raise ValueError(f"{name}: is on the meta device, which holds shapes but no values; pass real data")
    return t


def given(value: T, name: str) -> T:
    """``value``, unless it is None: a variable left out, named."""
    if value is None:
        raise ValueError(f"{name}: is None; pass its samples as rows")
    return value


def readable_rows(value: Any, name: str) -> Any:
    """``value`` if an estimate can read samples from it, else a ValueError naming it: complex values,
    a single value (0-d) and no samples are refused; a tensor that requires grad is detached (an
    estimate reads values, it is not a training loss). What numpy cannot read as numbers (a frame of
    mixed columns, a container of its own) is passed on to the measure's reader unchanged; a sparse
    tensor is made dense and bfloat16 read as float32."""
    given(value, name)
    if isinstance(value, Tensor):
        value = materialized(value, name).detach()
        if value.layout != torch.strided:  # a sparse tensor, as the values it stands for
            value = value.to_dense()
        if value.dtype == torch.bfloat16:  # numpy has none; float32 holds its values exactly
            value = value.float()
        shape, complex_ = tuple(value.shape), value.is_complex()
    else:
        try:
            array = np.asarray(value)
        except (TypeError, ValueError, RuntimeError):
            return value
        if array.dtype.kind not in "biufc":
            return value
        shape, complex_ = array.shape, array.dtype.kind == "c"
    if complex_:
        raise ValueError(
            f"{name}: holds complex values; pass the real and imaginary parts as separate columns "
            "(torch.view_as_real or numpy's .real and .imag)"
        )
    if len(shape) == 0:
        raise ValueError(f"{name}: expected samples as rows, got a single value (shape ())")
    if shape[0] == 0 or math.prod(shape) == 0:
        raise ValueError(f"{name}: is empty, shape {shape}")
    return value


def not_constant(value: Any, name: str, *, columns: bool = False) -> None:
    """Refuse a variable whose rows are all equal (with ``columns``, a matrix of several variables
    with one such column, named): a constant carries no information, so every measure of it is 0 by
    definition and an estimator would divide by its zero spread. What is not numbers is left to the
    measure's reader."""
    if isinstance(value, Tensor):
        rows = value.detach().reshape(len(value), -1).cpu().numpy() if value.ndim else None
    else:
        try:
            array = np.asarray(value)
        except (TypeError, ValueError, RuntimeError):
            return
        rows = array.reshape(len(array), -1) if array.ndim and array.dtype.kind in "biuf" else None
    if rows is None or len(rows) < 2:
        return
    same = (rows == rows[0]).all(axis=0)
    if columns and same.any():
        j = int(np.flatnonzero(same)[0])
        raise ValueError(f"{name}: column {j} is constant; it shares no information with anything (drop it)")
    if same.all():
        labels = rows.shape[1] == 1 and rows.dtype.kind in "biu"
        what = "every sample has the same label" if labels else "every column is constant"
        raise ValueError(f"{name}: {what}; it shares no information with anything")


def device(value: Any, name: str = "device") -> torch.device:
    """A device that holds values and exists on this machine: ``meta`` holds none, and a CUDA or MPS
    device this machine lacks would fail deep inside torch with a message naming no argument."""
    try:
        dev = torch.device(value)
    except (TypeError, RuntimeError) as err:
        raise ValueError(f"{name}: not a device, got {value!r} ({err})") from err
    if dev.type == "meta":
        raise ValueError(f"{name}: the meta device holds shapes but no values; name a real device")
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (dev.index or 0) >= count:
            raise ValueError(f"{name}: {dev} is not available here ({count} CUDA devices); use 'cpu'")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{name}: mps is not available here; use 'cpu'")
    return dev


#: What the refusal of an integer series says where the measure is of series (transfer entropy, information
#: storage, network inference): none of their estimators here reads symbols.
DISCRETE_SERIES = (
    "a discrete series (spikes as 0 and 1, symbols) has no estimator of transfer entropy or information "
    "storage here, whose estimators read continuous series; cast with .astype(float) where the integers "
    "are measurements (counts, levels)"
)


def continuous(value: Any, name: str, *, allow_grid: bool = False, integers: str | None = None) -> Tensor:
    """A finite, floating-point sample matrix ``(N, d)``.

    Args:
        value: the samples; ``(N,)`` is read as ``(N, 1)``.
        name: the argument's name, for the error message.
        allow_grid: accept ``(N, C, H, W)``-like shapes (more than two dimensions) unchanged.
        integers: what the refusal of integer samples says to do (None: cast them, or pass them as
            labels to an estimator for discrete variables).
    """
    t = as_tensor(value, name)
    if t.is_complex():  # .float() would drop the imaginary parts without a word
        raise ValueError(
            f"{name}: holds complex values; pass the real and imaginary parts as separate columns "
            "(torch.view_as_real or numpy's .real and .imag)"
        )
    if not torch.is_floating_point(t):
        raise ValueError(
            f"{name}: expected continuous samples as a floating-point tensor, got dtype {t.dtype}; "
            + (
                integers
                or "cast with .float() if the values are really continuous, or pass them as labels "
                "to an estimator for discrete variables"
            )
        )
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim == 0 or (t.ndim > 2 and not allow_grid):
        raise ValueError(f"{name}: expected shape (N, d) or (N,), got {tuple(t.shape)}")
    if t.shape[0] == 0 or t[0].numel() == 0:
        raise ValueError(f"{name}: is empty, shape {tuple(t.shape)}")
    return finite_rows(t, name)


def series(value: Any, name: str) -> Tensor:
    """:func:`continuous` of a series a transfer entropy, an information storage or a network reads: an
    integer one is refused with :data:`DISCRETE_SERIES`."""
    return continuous(value, name, integers=DISCRETE_SERIES)


def finite_rows(t: Tensor, name: str) -> Tensor:
    """``t`` (rows first) where every value is finite; else a ValueError naming ``name`` and the first
    row that is not (its position in ``t``, so check before any reordering of the rows). A NaN or an
    infinity makes the sum NaN or infinite, so a finite sum clears ``t`` in one pass with no mask
    (docs/design.md, "Measurements behind the code"); a sum that overflows is checked value by value."""
    if not t.is_floating_point() or bool(torch.isfinite(t.detach().sum())):
        return t
    if not bool(torch.isfinite(t).all()):
        bad = int((~torch.isfinite(t)).reshape(len(t), -1).any(dim=1).nonzero()[0, 0])
        raise ValueError(f"{name}: contains NaN or Inf (first at sample {bad})")
    return t


def not_a_pair(batch: Any) -> str | None:
    """What ``batch`` is, in words, where it is no ``(x, y)`` pair (a dict's keys would be read as the
    samples); None for a pair."""
    if isinstance(batch, Mapping) or not (isinstance(batch, tuple | list) and len(batch) == 2):
        return type(batch).__name__ + (f" of {len(batch)}" if isinstance(batch, tuple | list) else "")
    return None


def labels(value: Any, name: str) -> Tensor:
    """Class labels as an integer vector ``(N,)`` (``(N, 1)`` is squeezed; bool counts as integer)."""
    t = as_tensor(value, name)
    if torch.is_floating_point(t) or torch.is_complex(t):
        raise ValueError(
            f"{name}: expected integer labels, got dtype {t.dtype}; discrete labels must not be floats "
            "(use .long() if they are class indices, or a continuous estimator if they are not)"
        )
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim != 1:
        raise ValueError(f"{name}: expected labels of shape (N,), got {tuple(t.shape)}")
    if t.shape[0] == 0:
        raise ValueError(f"{name}: is empty")
    return t.long()


def symbols(value: Any, name: str) -> Tensor:
    """Discrete symbols as an integer matrix ``(N, d)``: each row is one outcome (of more axes than two,
    its other axes flattened into columns, as the front door reads every variable)."""
    t = as_tensor(value, name)
    if torch.is_floating_point(t) or torch.is_complex(t):
        raise ValueError(
            f"{name}: expected integer symbols, got dtype {t.dtype}; discrete symbols must not be floats "
            "(use .long() if they are codes; for continuous samples, a continuous estimator: "
            "iblearn.functional.kl_entropy for a differential entropy)"
        )
    if t.ndim == 1:
        t = t[:, None]
    elif t.ndim > 2 and len(t):
        t = t.reshape(len(t), -1)
    if t.ndim != 2 or t.shape[0] == 0:
        raise ValueError(f"{name}: expected shape (N,) or (N, d), got {tuple(t.shape)}")
    return t.long()


def same_length(*pairs: tuple[str, Tensor]) -> int:
    """The common sample count N; raises if the arguments disagree."""
    for name, t in pairs:
        if t.ndim == 0:
            raise ValueError(f"{name}: expected samples as rows, got a single value (shape ())")
    sizes = {name: int(t.shape[0]) for name, t in pairs}
    if len(set(sizes.values())) != 1:
        listed = ", ".join(f"{k} has {v}" for k, v in sizes.items())
        raise ValueError(f"sample counts differ: {listed} (samples are rows)")
    return next(iter(sizes.values()))


def same_device(*pairs: tuple[str, Tensor]) -> torch.device:
    devices = {name: t.device for name, t in pairs}
    if len(set(devices.values())) != 1:
        listed = ", ".join(f"{k} on {v}" for k, v in devices.items())
        raise ValueError(f"arguments are on different devices: {listed}")
    return next(iter(devices.values()))


def neighbours(k: int, n: int, name: str = "k", *, rows: str = "") -> int:
    """A neighbour count with 1 <= k < n; ``rows`` says what the n rows are where they are not the
    samples given (a half of them, the rows left after a lag)."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise ValueError(f"{name}: expected an integer, got {k!r}")
    if k < 1:
        raise ValueError(f"{name}: must be at least 1, got {k}")
    if k >= n:
        raise ValueError(f"{name}={k} needs more than {k} samples, got N={n}{rows}")
    return int(k)


def ksg_variant(value: int, name: str = "variant") -> int:
    """KSG's algorithm: the integer 1 or 2 (Kraskov et al. 2004, eqs. 8 and 9); not True, nor 2.0."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value not in (1, 2):
        raise ValueError(f"{name}: expected 1 or 2 (the two algorithms of KSG), got {value!r}")
    return int(value)


def positive(value: float, name: str) -> float:
    """A positive finite number (numpy scalars too; a bool is not a number here)."""
    number = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    try:  # a Python int has any size: 10**30 has no numpy dtype (np.isfinite raised TypeError)
        as_float = float(value) if number else math.nan
    except OverflowError:  # 10**400
        as_float = math.inf
    if not (math.isfinite(as_float) and as_float > 0):
        raise ValueError(f"{name}: must be a positive finite number, got {value!r}")
    return as_float


def nonnegative(value: Any, name: str) -> float:
    """A finite number >= 0, as a float (a bool is not a number here)."""
    if isinstance(value, bool) or not (
        isinstance(value, int | float) and math.isfinite(value) and value >= 0
    ):
        raise ValueError(f"{name}: must be a finite number >= 0, got {value!r}")
    return float(value)


def real_number(value: Any, name: str) -> float:
    """A real number as a float: Python's, numpy's (``np.float32(2.5)``, ``np.int64(2)``) or a 0-d real
    tensor's (``torch.tensor(2.0)``); not a bool, a complex number or a string. NaN and infinities
    pass: the caller says what range it takes."""
    if (
        isinstance(value, Tensor)
        and value.ndim == 0
        and not (value.is_complex() or value.dtype == torch.bool)
    ):
        value = value.item()
    elif isinstance(value, np.integer | np.floating):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name}: expected a real number, got {value!r}")
    try:
        return float(value)
    except OverflowError:  # an int beyond float64's range: 10**400
        return math.inf if value > 0 else -math.inf


def log_base(value: Any, name: str) -> float:
    """The base of a logarithm: a real number (numpy's and 0-d tensors' too), finite, positive and not
    1 (log 1 = 0 would divide every estimate); the message says which of these ``value`` is not."""
    b = real_number(value, name)
    if not math.isfinite(b):
        raise ValueError(f"{name}: the logarithm's base must be finite, got {value!r}")
    if b <= 0 or b == 1:
        raise ValueError(f"{name}: the logarithm's base must be positive and not 1, got {value!r}")
    return b


def one_of(*options: Any) -> Callable[[Any, str], Any]:
    """The check that a setting is one of ``options`` (:func:`choice`), for a table of checks by name."""

    def check(value: Any, name: str) -> Any:
        return choice(value, name, options)

    return check


def optional(check: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    """The check of a setting that may also be None (off): None passes, anything else goes to ``check``."""

    def checked(value: Any, name: str) -> Any:
        return None if value is None else check(value, name)

    return checked


def positive_int(value: int, name: str) -> int:
    """A count of at least 1 (numpy integers too; a bool is not a count)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def seed(value: int, name: str = "seed") -> int:
    """A seed for ``torch.Generator.manual_seed``: an integer (numpy's too, not a bool) in its range."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name}: expected an integer seed, got {value!r}")
    if not -(2**63) <= value < 2**64:
        raise ValueError(f"{name}: must lie in [-2^63, 2^64), got {value}")
    return int(value)


def flag(value: bool, name: str) -> bool:
    """A yes/no setting: True or False (numpy's bool too); a string such as 'no' is truthy: refused."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


def covariance(value: Any, name: str) -> Tensor:
    """A covariance matrix in float64: square, finite, symmetric up to round-off, positive definite
    (tested by a Cholesky factorization; the sign of the determinant alone passes -I in even size)."""
    c = as_tensor(value, name).to(torch.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] == 0:
        raise ValueError(f"{name}: expected a square matrix, got shape {tuple(c.shape)}")
    if not bool(torch.isfinite(c).all()):
        raise ValueError(f"{name}: contains NaN or Inf")
    if not torch.allclose(c, c.T):
        raise ValueError(f"{name}: is not symmetric")
    if int(torch.linalg.cholesky_ex(c).info) != 0:
        raise ValueError(f"{name}: is not positive definite")
    return c


def choice(value: T, name: str, options: tuple[T, ...]) -> T:
    if value not in options:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, options))}, got {value!r}")
    return value


def null_asked(null: str, n_permutations: int, default: str) -> str:
    """``null``, refused where it is not ``default`` and ``n_permutations`` is 0: it names the
    surrogates of a permutation test, which runs only with ``n_permutations``, so it would change
    nothing."""
    if null != default and not n_permutations:
        raise ValueError(
            f"null: {null!r} chooses the surrogates of the permutation test, which runs only with "
            "n_permutations > 0; pass n_permutations (e.g. 200), or leave null out"
        )
    return null


def several_rows(t: Tensor, name: str) -> Tensor:
    """``t`` if it holds at least 2 samples (rows): one sample has no spread and no neighbour, and a check
    for constant columns would call it constant."""
    if t.shape[0] < 2:
        raise ValueError(
            f"{name}: has {t.shape[0]} sample (row); an estimate needs at least 2, "
            "and a nearest-neighbour estimate more than k"
        )
    return t


def outside_stacklevel() -> int:
    """The ``stacklevel`` that points a warning issued by the caller at the first frame outside iblearn
    and torch: the user's ``est(x, y)``, however many estimator and Module layers lie between."""
    frame, level = sys._getframe(2), 2
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(("iblearn.", "torch.")):
        frame, level = frame.f_back, level + 1
    return level
