"""The checkpoint folder of many-variable work cut into batches (:class:`BatchStore`), with the key it
must match (:func:`fingerprint`)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from iblearn.records import atomic

T = TypeVar("T")


def fingerprint(arrays: Sequence[Any], settings: dict[str, Any]) -> str:
    """What a checkpoint must match: the settings and the data's bytes."""
    # numpy's scalars (an np.int64 k or seed) as the Python numbers they equal.
    plain = json.dumps(
        settings, sort_keys=True, default=lambda v: v.item() if isinstance(v, np.generic) else repr(v)
    )
    h = hashlib.sha256(plain.encode())
    for a in arrays:
        t = torch.as_tensor(a).detach().cpu().to(torch.float64).contiguous()
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def read_checkpoint(path: Path, read: Callable[[Path], T]) -> T | None:
    """``read(path)``, or None when nothing is there; a FIFO, folder or device in its place, or a file
    ``read`` cannot make sense of (``ValueError``, ``KeyError``, ``TypeError``, ``OSError``), raises
    ValueError naming the checkpoint's file."""
    try:
        return read(path) if atomic.present(path) else None
    except (ValueError, KeyError, TypeError, OSError, EOFError, RecursionError) as err:
        raise ValueError(
            f"checkpoint: {path} is not a readable part of a checkpoint ({err!r}); delete it"
        ) from None


class BatchStore:
    """The checkpoint folder of many-variable work cut into batches (``iblearn.functional``'s pairwise
    matrices, transfer entropies and subset searches, network inference's targets): ``key`` (the run's
    :func:`fingerprint`), one ``.npy`` file a finished batch, named JSON files of a search's state, and
    records that carry the key themselves (:meth:`save_arrays`, :meth:`write_record`), each written
    atomically. A folder that holds another run's key is refused, never mixed in; so is a folder that
    holds files but no key, which the run did not make and whose files it must neither read nor
    overwrite."""

    def __init__(self, path: str | os.PathLike[str], key: str) -> None:
        self.path, self.key = Path(path), key
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"checkpoint: {self.path} exists and is not a folder")
        if file := next((p for p in self.path.parents if p.exists() and not p.is_dir()), None):
            raise ValueError(f"checkpoint: {self.path} lies under {file}, a file, not a folder")
        saved = self._saved_key()
        if saved is None:
            # Jobs of one run started together (a job array): another may be writing the key (its
            # temporary file), or have written it since the look above.
            others = self.path.is_dir() and any(not f.name.startswith(".key.") for f in self.path.iterdir())
            if others and (saved := self._saved_key()) is None:
                raise ValueError(
                    f"checkpoint: {self.path} holds files but no 'key' file, so no run of this library made "
                    "it, and a run would read or overwrite files it did not write; give checkpoint= a new "
                    "or empty folder"
                )
        if saved is None:
            atomic.atomic_write_text(self.path / "key", key + "\n")
        elif saved != key:
            raise ValueError(
                f"checkpoint: {self.path / 'key'} is expected to hold this run's fingerprint (the data's and "
                "settings' hash a checkpoint folder starts with), and holds "
                + (
                    "another run's"
                    if len(saved) == 64 and set(saved) <= set("0123456789abcdef")
                    else "something else"
                )
                + "; give checkpoint= a folder of its own (a new one, or this run's)"
            )

    def _saved_key(self) -> str | None:
        return read_checkpoint(self.path / "key", lambda f: f.read_text(encoding="utf-8").strip())

    def _file(self, i: int) -> Path:
        return self.path / f"batch-{i:07d}.npy"

    def load(self, i: int, size: int) -> np.ndarray | None:
        """Batch ``i``'s ``size`` values, None where it is not done; a file of another shape, or of
        values that are not finite numbers, raises ValueError naming it."""

        def read(f: Path) -> np.ndarray:
            values = np.load(f, allow_pickle=False)
            if values.shape != (size,) or values.dtype.kind != "f" or not np.isfinite(values).all():
                raise ValueError(
                    f"expected {size} finite numbers, got {values.dtype} of shape {values.shape}"
                )
            return values

        return read_checkpoint(self._file(i), read)

    def save(self, i: int, values: Any) -> None:
        buf = io.BytesIO()
        np.save(buf, np.asarray(values), allow_pickle=False)
        atomic.atomic_write_bytes(self._file(i), buf.getvalue())

    def read_json(self, name: str, check: Callable[[Any], T]) -> T | None:
        """``check`` of the JSON held in the folder's file ``name``, or None where there is none; a file
        that is not JSON, or that ``check`` refuses (``ValueError``, ``KeyError``, ``TypeError``), raises
        ValueError naming it (:func:`read_checkpoint`)."""
        return read_checkpoint(self.path / name, lambda f: check(json.loads(f.read_text(encoding="utf-8"))))

    def write_json(self, name: str, data: Any) -> None:
        """``data`` as JSON in the folder's file ``name``, atomically."""
        atomic.atomic_write_text(self.path / name, json.dumps(data))

    def _own(self, key: Any, name: str) -> None:
        """Refuse a record whose key is not this run's (copied from another run's folder, or edited)."""
        if not isinstance(key, str) or key != self.key:
            raise ValueError(f"{name} does not carry this run's key: another run's record, or an edited one")

    def write_record(self, name: str, data: dict[str, Any]) -> None:
        """``data`` and the run's key as JSON in the folder's file ``name``, atomically."""
        self.write_json(name, {"key": self.key, **data})

    def read_record(self, name: str, check: Callable[[dict[str, Any]], T]) -> T | None:
        """``check`` of the fields of the record ``name`` (its key taken out), or None where there is none;
        a record without this run's key, or that ``check`` refuses, raises ValueError naming its file."""

        def own(data: Any) -> T:
            if not isinstance(data, dict):
                raise TypeError(f"expected a JSON object, got {type(data).__name__}")
            fields = dict(data)
            self._own(fields.pop("key", None), name)
            return check(fields)

        return self.read_json(name, own)

    def save_arrays(self, name: str, arrays: dict[str, Any]) -> None:
        """``arrays`` and the run's key as the ``.npz`` file ``name`` in the folder, atomically."""
        buf = io.BytesIO()
        np.savez(buf, key=np.array(self.key), **arrays)
        atomic.atomic_write_bytes(self.path / name, buf.getvalue())

    def load_arrays(self, name: str, check: Callable[[dict[str, np.ndarray]], T]) -> T | None:
        """``check`` of the arrays of the ``.npz`` file ``name`` (its key taken out), or None where there
        is none; a file without this run's key, or that ``check`` refuses, raises ValueError naming it."""

        def read(f: Path) -> T:
            try:
                with np.load(f, allow_pickle=False) as z:
                    arrays = {field: z[field] for field in z.files}
            except zipfile.BadZipFile as err:  # a torn or edited archive: not one of the errors below
                raise ValueError(f"not an .npz archive ({err})") from None
            key = arrays.pop("key", None)
            self._own(None if key is None or key.shape != () else str(key), name)
            return check(arrays)

        return read_checkpoint(self.path / name, read)
