"""The selector's memory: arrays of float64 kept in a folder as ``.npy`` files, read back with
``allow_pickle=False``, so that a file in the folder can never run code (a joblib ``Memory`` stores
pickles, which run whatever a tampered file says when loaded).

Each array is named by a SHA-256 hash of everything it is computed from: the rows and the target (their
bytes, shapes and dtypes), the settings and iblearn's version. A file that cannot be read as an array of
the expected shape (truncated, tampered, left by another program) is computed afresh and replaced.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from iblearn import __version__

#: The folder, under the one a user names, that holds the selector's files.
SUBFOLDER = "iblearn-selector"


def rows_key(*arrays: np.ndarray, settings: tuple[Any, ...] = ()) -> str:
    """A hash of ``arrays`` (bytes, shape, dtype), ``settings`` (by their repr) and iblearn's version."""
    digest = hashlib.sha256(repr((__version__, settings)).encode())
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(repr((a.shape, a.dtype.str)).encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def folder(memory: Any) -> Path | None:
    """The folder that ``memory`` names (a path, or an object with a ``location``, as ``joblib.Memory``),
    created if missing; None for no memory.

    Raises:
        ValueError: naming ``memory``, where it names a file or something that is not a path.
    """
    location = getattr(memory, "location", memory)
    if location is None:
        return None
    if not isinstance(location, str | os.PathLike):
        raise ValueError(f"memory: expected None, a folder's path or a joblib.Memory, got {memory!r}")
    path = Path(location)
    if path.exists() and not path.is_dir():
        raise ValueError(f"memory: {str(path)!r} is a file, not a folder; name a folder to keep the terms in")
    try:
        (path / SUBFOLDER).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"memory: cannot make the folder {str(path)!r} ({err})") from err
    return path / SUBFOLDER


def key(*parts: Any) -> str:
    """A file's name: the hash of ``parts`` (strings and numbers, by their repr)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def cached(
    where: Path | None, name: str, shape: tuple[int, ...], compute: Callable[[], np.ndarray]
) -> np.ndarray:
    """``compute()`` as float64 of ``shape``, kept in ``where`` as ``name``: read back where a file of
    that shape is there, computed and written atomically (a temporary file renamed) where not."""
    if where is None:
        return np.asarray(compute(), dtype=np.float64)
    path = where / f"{name}.npy"
    try:
        found = np.load(path, allow_pickle=False)
        if isinstance(found, np.ndarray) and found.dtype == np.float64 and found.shape == shape:
            return found
        getattr(found, "close", lambda: None)()  # an .npz archive holds its file open
    except (OSError, ValueError, EOFError):  # missing, unreadable, pickled or not an array
        pass
    value = np.asarray(compute(), dtype=np.float64)
    handle, temporary = tempfile.mkstemp(dir=where, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            np.save(out, value, allow_pickle=False)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return value
